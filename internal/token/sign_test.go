package token_test

import (
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/stretchr/testify/require"

	"github.com/sigil-dev/sigil/internal/keys"
	"github.com/sigil-dev/sigil/internal/token"
)

// TestSignJWTMatchesGolangJWT: the issuer's signing writes exactly what
// golang-jwt's NewWithClaims + SignedString write for the same claims and
// key, for claims with HTML-special characters, non-ASCII and invalid
// UTF-8 (escaped the same way), every algorithm: the signing strings are
// equal, and for the deterministic algorithms (EdDSA, HS256, RS256) the
// whole tokens; every token verifies with golang-jwt.
func TestSignJWTMatchesGolangJWT(t *testing.T) {
	odd := embedClaims()
	odd.Subject = "<script>&\"ü\xff\u2028"
	odd.Params = map[string]any{"a<b": "x&y", "z": []any{1.5, "é"}, "m": map[string]any{"k": nil}}
	now := time.Unix(1_790_000_000, 0)
	for _, alg := range []string{keys.EdDSA, keys.ES256, keys.RS256, keys.HS256} {
		k := testKey(t, alg, "main")
		method := jwt.GetSigningMethod(alg)
		for _, c := range []token.Claims{embedClaims(), odd} {
			c.Issuer, c.Audience, c.ID = "https://sigil.test", jwt.ClaimStrings{"sigil"}, "0190f4a2-7b8c-7d3e-9f00-123456789abc"
			c.IssuedAt, c.NotBefore, c.ExpiresAt = jwt.NewNumericDate(now), jwt.NewNumericDate(now), jwt.NewNumericDate(now.Add(time.Hour))
			want := jwt.NewWithClaims(method, &c)
			want.Header["kid"] = k.KID
			wantSS, err := want.SigningString()
			require.NoError(t, err)
			got, err := token.SignJWT(method, k.KID, k.SigningKey(), &c)
			require.NoError(t, err)
			require.Equal(t, wantSS, got[:strings.LastIndexByte(got, '.')], alg)
			if alg != keys.ES256 { // ECDSA signatures are randomised
				wantRaw, err := want.SignedString(k.SigningKey())
				require.NoError(t, err)
				require.Equal(t, wantRaw, got, alg)
			}
			_, err = jwt.NewParser(jwt.WithValidMethods([]string{alg}), jwt.WithTimeFunc(func() time.Time { return now })).
				ParseWithClaims(got, jwt.MapClaims{}, func(*jwt.Token) (any, error) { return k.VerificationKey(), nil })
			require.NoError(t, err, alg)
		}
	}
}
