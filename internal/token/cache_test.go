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
	t.Run("ErrCollidingTokenNeverGetsAnothersEntry", func(t *testing.T) {
		// Every token is looked up under one key: each one must still be
		// judged on its own text.
		defer token.ForceCacheHash(func(string) uint64 { return 42 })()
		f := newFixture(t, k, withCache(100, nil))
		alice := embedClaims()
		alice.Subject = "alice"
		rawA, _ := f.mint(t, alice, time.Hour)
		bob := embedClaims()
		bob.Subject = "bob"
		rawB, _ := f.mint(t, bob, time.Hour)

		a, memoA, err := f.verifier.VerifyMemo(ctx, rawA)
		require.NoError(t, err)
		require.Equal(t, "alice", a.Subject)
		memoA.Store("alice's answer")
		a2, memoA2, err := f.verifier.VerifyMemo(ctx, rawA)
		require.NoError(t, err)
		require.Same(t, a, a2, "a repeat of the cached token is a hit")
		require.Same(t, memoA, memoA2)

		// A forgery of alice's token (bob's claims with alice's signature,
		// alice's claims with a flipped signature) sits under alice's
		// entry's key: it must go through the signature check and fail.
		partsA, partsB := strings.Split(rawA, "."), strings.Split(rawB, ".")
		for _, forged := range []string{
			partsA[0] + "." + partsB[1] + "." + partsA[2],
			rawA[:len(rawA)-1] + string(flipLast(rawA[len(rawA)-1])),
			rawA + "x",
			rawA + ".x",
			partsA[0] + "." + partsA[1] + ".." + partsA[2],
			rawA[:len(rawA)-1],
		} {
			_, memo, err := f.verifier.VerifyMemo(ctx, forged)
			require.ErrorIs(t, err, token.ErrInvalidToken, "a colliding forgery is not served from the cache")
			require.Nil(t, memo)
		}

		// bob's genuine token under the same key gets bob's claims and a
		// memo of its own, never alice's answer.
		b, memoB, err := f.verifier.VerifyMemo(ctx, rawB)
		require.NoError(t, err)
		require.Equal(t, "bob", b.Subject)
		require.NotSame(t, memoA, memoB)
		require.Nil(t, memoB.Load(), "bob's answer is rendered from bob's claims")
		require.Equal(t, 1, f.verifier.CacheLen(), "colliding tokens evict each other, the cache does not grow")

		// alice again: re-verified from scratch (bob took the slot), alice's claims.
		a3, _, err := f.verifier.VerifyMemo(ctx, rawA)
		require.NoError(t, err)
		require.Equal(t, "alice", a3.Subject)
		require.NotSame(t, a, a3)
	})
	t.Run("OK/HoldsNoToken", func(t *testing.T) {
		// A dump of the cache yields claims, never a credential: no
		// entry keeps a token's text or its signature segment.
		f := newFixture(t, k, withCache(100, nil))
		raw, _ := f.mint(t, embedClaims(), time.Hour)
		_, err := f.verifier.Verify(ctx, raw)
		require.NoError(t, err)
		require.Equal(t, 1, f.verifier.CacheLen())
		sig := raw[strings.LastIndexByte(raw, '.')+1:]
		require.False(t, f.verifier.CacheHolds(sig))
		require.True(t, f.verifier.CacheHolds(raw[:strings.LastIndexByte(raw, '.')]), "the signed part (the claims) is kept")
	})
	t.Run("ErrRevokedAfterMemo", func(t *testing.T) {
		// The memo lives beside the claims: it never stands in for step 5.
		rev := &countingRevocation{denied: map[string]bool{}}
		f := newFixture(t, k, withCache(100, rev))
		raw, minted := f.mint(t, embedClaims(), time.Hour)
		_, memo, err := f.verifier.VerifyMemo(ctx, raw)
		require.NoError(t, err)
		memo.Store("rendered")
		rev.denied[minted.ID] = true
		c, memo, err := f.verifier.VerifyMemo(ctx, raw)
		require.ErrorIs(t, err, token.ErrRevoked)
		require.Nil(t, c)
		require.Nil(t, memo, "a revoked token's memo is not handed out")
	})
}

// flipLast changes a base64url character to another one.
func flipLast(c byte) byte {
	if c == 'A' {
		return 'B'
	}
	return 'A'
}
