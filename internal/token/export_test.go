package token

import "strings"

// CacheLen exposes the verified-token cache's size to the external tests.
func (v *Verifier) CacheLen() int {
	if v.cache == nil {
		return 0
	}
	return v.cache.len()
}

// SignJWT exposes signJWT to the external tests.
var SignJWT = signJWT

// LocalesRemembered is how many accepted locale tags checkLocale keeps.
func LocalesRemembered() int {
	n := 0
	localesOK.Range(func(any, any) bool { n++; return true })
	return n
}

// ForceCacheHash makes the verified-token caches of verifiers created
// until restore is called find every token under hash(raw): tests force
// collisions with it.
func ForceCacheHash(hash func(raw string) uint64) (restore func()) {
	cacheHashHook = hash
	return func() { cacheHashHook = nil }
}

// CacheHolds reports whether any verified-token cache entry of v holds s
// in what it keeps of its token's text.
func (v *Verifier) CacheHolds(s string) bool {
	for i := range v.cache.shards {
		sh := &v.cache.shards[i]
		sh.mu.RLock()
		for _, e := range sh.m {
			if strings.Contains(e.tail(), s) || strings.Contains(string(e.id.sig[:]), s) {
				sh.mu.RUnlock()
				return true
			}
		}
		sh.mu.RUnlock()
	}
	return false
}
