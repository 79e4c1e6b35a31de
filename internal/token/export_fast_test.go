package token

// NewGolangJWTVerifier is NewVerifier without fastParse: every token goes
// through golang-jwt's ParseWithClaims (golangJWTParse), the oracle the
// differential tests compare fastParse with.
func NewGolangJWTVerifier(cfg VerifierConfig) *Verifier {
	v := NewVerifier(cfg)
	v.slowOnly = true
	return v
}
