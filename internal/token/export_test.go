package token

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"unsafe"
)

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

// CacheSlotsOwnTheirText reports an error unless every cached slot's views
// (signed part, kid, and the payload of claims parsed into the slot) lie in
// its own tail, right after the slot, and no two slots' tails overlap.
func (v *Verifier) CacheSlotsOwnTheirText() error {
	type span struct{ lo, hi uintptr }
	var spans []span
	for i := range v.cache.shards {
		sh := &v.cache.shards[i]
		sh.mu.RLock()
		for _, s := range sh.m {
			lo := uintptr(unsafe.Pointer(s)) + unsafe.Sizeof(slot{})
			if uintptr(unsafe.Pointer(unsafe.StringData(s.id.signed))) != lo ||
				len(s.kid) > 0 && uintptr(unsafe.Pointer(unsafe.StringData(s.kid))) != lo+uintptr(len(s.id.signed)) {
				sh.mu.RUnlock()
				return fmt.Errorf("a slot's text is not in its own tail")
			}
			if s.claims == &s.box.c && (s.box.payload == "" ||
				uintptr(unsafe.Pointer(unsafe.StringData(s.box.payload))) != lo+uintptr(len(s.id.signed)+len(s.kid))) {
				sh.mu.RUnlock()
				return fmt.Errorf("a slot's claims are not views of its own payload text")
			}
			spans = append(spans, span{uintptr(unsafe.Pointer(s)), lo + uintptr(len(s.tail()))})
		}
		sh.mu.RUnlock()
	}
	slices.SortFunc(spans, func(a, b span) int { return cmp.Compare(a.lo, b.lo) })
	for i := 1; i < len(spans); i++ {
		if spans[i].lo < spans[i-1].hi {
			return fmt.Errorf("two slots overlap")
		}
	}
	return nil
}

// QueryTokenPairs is queryTokenPairs, QueryToken without its shortcut: the
// reference the shortcut is tested against.
var QueryTokenPairs = queryTokenPairs
