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
