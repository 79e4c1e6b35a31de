package token

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
