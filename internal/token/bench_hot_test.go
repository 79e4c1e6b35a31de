package token_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/stretchr/testify/require"

	"github.com/sigil-dev/sigil/internal/keys"
	"github.com/sigil-dev/sigil/internal/revocation"
	redisstore "github.com/sigil-dev/sigil/internal/store/redis"
	"github.com/sigil-dev/sigil/internal/token"
	"github.com/sigil-dev/sigil/test/redisserver"
)

// BenchmarkVerifyHot measures the common path of a running server: the
// verified-token cache and the revocation replica (kept by a real Redis, but
// never asked per request), beside a raw golang-jwt parse of the same token.
func BenchmarkVerifyHot(b *testing.B) {
	ctx := context.Background()
	srv := redisserver.Start(b)
	client, err := redisstore.NewClient(srv.URL())
	require.NoError(b, err)
	b.Cleanup(func() { _ = client.Close() })
	rep := revocation.NewReplica(revocation.ReplicaConfig{Store: redisstore.New(client, "bench:")})
	require.NoError(b, rep.Sync(ctx))

	k := testKey(b, keys.EdDSA, "main")
	f := newFixture(b, k, func(c *token.VerifierConfig) {
		c.Revocation, c.CacheSize, c.Now = rep, 100_000, nil // real clock: the replica's staleness uses it too
	})
	f.issuer = token.NewIssuer(token.IssuerConfig{Issuer: testIssuer, Audience: testAudience, Keys: f.ring})
	live, _ := f.mint(b, embedClaims(), time.Hour)
	revoked, revokedClaims := f.mint(b, embedClaims(), time.Hour)
	require.NoError(b, rep.Revoke(ctx, revokedClaims))
	_, err = f.verifier.Verify(ctx, live)
	require.NoError(b, err)
	_, err = f.verifier.Verify(ctx, revoked)
	require.ErrorIs(b, err, token.ErrRevoked)

	b.Run("warm", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := f.verifier.Verify(ctx, live); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("revoked", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := f.verifier.Verify(ctx, revoked); !errors.Is(err, token.ErrRevoked) {
				b.Fatal(err)
			}
		}
	})
	b.Run("raw-golang-jwt", func(b *testing.B) {
		p := jwt.NewParser(jwt.WithValidMethods([]string{keys.EdDSA}))
		keyfunc := func(*jwt.Token) (any, error) { return k.VerificationKey(), nil }
		b.ReportAllocs()
		for b.Loop() {
			if _, err := p.ParseWithClaims(live, &token.Claims{}, keyfunc); err != nil {
				b.Fatal(err)
			}
		}
	})
}
