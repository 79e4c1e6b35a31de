package token_test

import (
	"context"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/stretchr/testify/require"

	"github.com/sigil-dev/sigil/internal/keys"
	"github.com/sigil-dev/sigil/internal/token"
)

// noRevocation is an in-memory denylist that holds nothing.
type noRevocation struct{ denied map[string]struct{} }

func (n noRevocation) Check(_ context.Context, c *token.Claims) error {
	if _, ok := n.denied[c.ID]; ok {
		return token.ErrRevoked
	}
	return nil
}

func BenchmarkVerify(b *testing.B) {
	ctx := context.Background()
	for _, alg := range []string{keys.EdDSA, keys.ES256, keys.HS256} {
		k := testKey(b, alg, "main")
		f := newFixture(b, k, func(c *token.VerifierConfig) { c.Revocation = noRevocation{denied: map[string]struct{}{}} })
		raw, _ := f.mint(b, embedClaims(), time.Hour)
		_, err := f.verifier.Verify(ctx, raw)
		require.NoError(b, err)

		b.Run(alg, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := f.verifier.Verify(ctx, raw); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(alg+"-raw-golang-jwt", func(b *testing.B) {
			p := jwt.NewParser(jwt.WithValidMethods([]string{keys.EdDSA, keys.ES256, keys.RS256, keys.HS256}), jwt.WithTimeFunc(f.clock.Now))
			keyfunc := func(*jwt.Token) (any, error) { return k.VerificationKey(), nil }
			b.ReportAllocs()
			for b.Loop() {
				if _, err := p.ParseWithClaims(raw, &token.Claims{}, keyfunc); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkMint(b *testing.B) {
	k := testKey(b, keys.EdDSA, "main")
	f := newFixture(b, k)
	b.Run("EdDSA", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, _, err := f.issuer.Mint(embedClaims(), time.Hour); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("EdDSA-raw-golang-jwt", func(b *testing.B) {
		now := f.clock.Now()
		b.ReportAllocs()
		for b.Loop() {
			c := embedClaims()
			c.Issuer, c.Audience, c.ID = testIssuer, jwt.ClaimStrings{testAudience}, "jti"
			c.IssuedAt, c.NotBefore, c.ExpiresAt = jwt.NewNumericDate(now), jwt.NewNumericDate(now), jwt.NewNumericDate(now.Add(time.Hour))
			t := jwt.NewWithClaims(jwt.SigningMethodEdDSA, &c)
			t.Header["kid"] = k.KID
			if _, err := t.SignedString(k.SigningKey()); err != nil {
				b.Fatal(err)
			}
		}
	})
}
