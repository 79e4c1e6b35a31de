package token_test

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/sigil-dev/sigil/internal/keys"
	"github.com/sigil-dev/sigil/internal/token"
)

// countingRevocation counts checks and revokes the ids in denied.
type countingRevocation struct {
	checks atomic.Int64
	denied map[string]bool
}

func (r *countingRevocation) Check(_ context.Context, c *token.Claims) error {
	r.checks.Add(1)
	if r.denied[c.ID] {
		return token.ErrRevoked
	}
	return nil
}

func withCache(size int, rev token.Revocation) fixtureOpt {
	return func(c *token.VerifierConfig) { c.CacheSize, c.Revocation = size, rev }
}

func TestVerifier_Cache(t *testing.T) {
	ctx := context.Background()
	k := testKey(t, keys.EdDSA, "main")

	t.Run("OK/HitReturnsSameClaimsAndStillChecksRevocation", func(t *testing.T) {
		rev := &countingRevocation{denied: map[string]bool{}}
		f := newFixture(t, k, withCache(100, rev))
		raw, minted := f.mint(t, embedClaims(), time.Hour)
		first, err := f.verifier.Verify(ctx, raw)
		require.NoError(t, err)
		second, err := f.verifier.Verify(ctx, raw)
		require.NoError(t, err)
		require.Same(t, first, second, "the second verify is a cache hit")
		require.Equal(t, minted.ID, second.ID)
		require.Equal(t, int64(2), rev.checks.Load(), "revocation runs on every verify, hit or miss")

		rev.denied[minted.ID] = true
		_, err = f.verifier.Verify(ctx, raw)
		require.ErrorIs(t, err, token.ErrRevoked, "a cached token revoked later is rejected")
	})
	t.Run("ErrExpiredAfterExp", func(t *testing.T) {
		f := newFixture(t, k, withCache(100, nil))
		raw, _ := f.mint(t, embedClaims(), time.Minute)
		_, err := f.verifier.Verify(ctx, raw)
		require.NoError(t, err)
		f.clock.Set(epoch.Add(time.Minute + token.DefaultLeeway + time.Second))
		_, err = f.verifier.Verify(ctx, raw)
		require.ErrorIs(t, err, token.ErrExpired)
	})
	t.Run("ErrNotBeforeNbf", func(t *testing.T) {
		f := newFixture(t, k, withCache(100, nil))
		raw, _ := f.mint(t, embedClaims(), time.Hour)
		_, err := f.verifier.Verify(ctx, raw)
		require.NoError(t, err)
		f.clock.Set(epoch.Add(-token.DefaultLeeway - time.Minute))
		_, err = f.verifier.Verify(ctx, raw)
		require.Error(t, err, "a cached token is not accepted before its nbf (clock went back)")
	})
	t.Run("ErrKeyRemovedByRotation", func(t *testing.T) {
		old := testKey(t, keys.EdDSA, "old")
		next := testKey(t, keys.ES256, "next")
		current := []*keys.Key{old}
		ring, err := keys.NewRing(func() (*keys.Set, error) { return keys.NewSet(current, current[0].KID) })
		require.NoError(t, err)
		clk := newClock()
		iss := token.NewIssuer(token.IssuerConfig{Issuer: testIssuer, Audience: testAudience, Keys: ring, Now: clk.Now})
		v := token.NewVerifier(token.VerifierConfig{Issuer: testIssuer, Audience: testAudience, Keys: ring, Now: clk.Now, CacheSize: 100})
		raw, _, err := iss.Mint(embedClaims(), time.Hour)
		require.NoError(t, err)
		_, err = v.Verify(ctx, raw)
		require.NoError(t, err)
		current = []*keys.Key{next}
		require.NoError(t, ring.Reload())
		_, err = v.Verify(ctx, raw)
		require.ErrorIs(t, err, token.ErrUnknownKey, "the cache must not outlive the key that signed")
	})
	t.Run("OK/Bounded", func(t *testing.T) {
		f := newFixture(t, k, withCache(128, nil))
		for i := 0; i < 1000; i++ {
			raw, _ := f.mint(t, embedClaims(), time.Hour)
			_, err := f.verifier.Verify(ctx, raw)
			require.NoError(t, err)
		}
		require.LessOrEqual(t, f.verifier.CacheLen(), 128)
		require.Positive(t, f.verifier.CacheLen())
	})
	t.Run("OK/LargeTokensNotCached", func(t *testing.T) {
		f := newFixture(t, k, withCache(100, nil))
		c := embedClaims()
		c.Params = map[string]any{"pad": strings.Repeat("x", 3500)}
		raw, _ := f.mint(t, c, time.Hour)
		require.Greater(t, len(raw), token.MaxCachedTokenSize)
		_, err := f.verifier.Verify(ctx, raw)
		require.NoError(t, err)
		require.Zero(t, f.verifier.CacheLen())
	})
	t.Run("OK/Disabled", func(t *testing.T) {
		f := newFixture(t, k, withCache(0, nil))
		raw, _ := f.mint(t, embedClaims(), time.Hour)
		a, err := f.verifier.Verify(ctx, raw)
		require.NoError(t, err)
		b, err := f.verifier.Verify(ctx, raw)
		require.NoError(t, err)
		require.NotSame(t, a, b)
	})
	t.Run("ErrTamperedTwinNotServedFromCache", func(t *testing.T) {
		f := newFixture(t, k, withCache(100, nil))
		raw, _ := f.mint(t, embedClaims(), time.Hour)
		_, err := f.verifier.Verify(ctx, raw)
		require.NoError(t, err)
		flipped := raw[:len(raw)-1] + string(flipLast(raw[len(raw)-1]))
		_, err = f.verifier.Verify(ctx, flipped)
		require.ErrorIs(t, err, token.ErrInvalidToken)
	})
}

// flipLast changes a base64url character to another one.
func flipLast(c byte) byte {
	if c == 'A' {
		return 'B'
	}
	return 'A'
}
