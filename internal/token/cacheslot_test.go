package token_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/sigil-dev/sigil/internal/keys"
	"github.com/sigil-dev/sigil/internal/token"
)

// TestVerifier_CacheSlots: the cache keeps each token in one slot whose
// tail holds the text it compares (signed part, kid). Tokens of every
// length across the tail's steps each get their own claims back from the
// cache, and no slot's views reach into another's text; concurrent first
// uses of one token and a slot evicted while a request still holds it stay
// whole.
func TestVerifier_CacheSlots(t *testing.T) {
	ctx := context.Background()
	k := testKey(t, keys.EdDSA, "main")

	t.Run("OK/ViewsOwnTheirText", func(t *testing.T) {
		f := newFixture(t, k, withCache(10_000, nil))
		raws := map[string]string{}
		for i := range 300 {
			c := embedClaims()
			// Subjects of every length from 1 to 300: the tokens cross
			// many 64-byte tail steps, and neighbours differ by one byte.
			c.Subject = strings.Repeat("s", i) + fmt.Sprint(i)
			raw, _ := f.mint(t, c, time.Hour)
			raws[c.Subject] = raw
			_, err := f.verifier.Verify(ctx, raw)
			require.NoError(t, err)
		}
		require.NoError(t, f.verifier.CacheSlotsOwnTheirText())
		for range 2 {
			for sub, raw := range raws {
				c, err := f.verifier.Verify(ctx, raw)
				require.NoError(t, err)
				require.Equal(t, sub, c.Subject)
				// Each token's own text, shortened or extended by one
				// byte, is another text: never a hit on a neighbour's slot.
				_, err = f.verifier.Verify(ctx, raw[:len(raw)-1])
				require.ErrorIs(t, err, token.ErrInvalidToken)
			}
		}
		require.Equal(t, len(raws), f.verifier.CacheLen())
	})
	t.Run("OK/ConcurrentFirstUses", func(t *testing.T) {
		// Many requests bring the same new token at once: each fills a
		// slot, one stays; all see the same claims, and from then on one
		// memo.
		f := newFixture(t, k, withCache(100, nil))
		raw, minted := f.mint(t, embedClaims(), time.Hour)
		var wg sync.WaitGroup
		for range 16 {
			wg.Go(func() {
				c, memo, err := f.verifier.VerifyMemo(ctx, raw)
				if !(err == nil && c.ID == minted.ID && memo != nil) {
					t.Errorf("concurrent first use: %v", err)
					return
				}
				memo.LoadOrStore(c.ID)
			})
		}
		wg.Wait()
		require.Equal(t, 1, f.verifier.CacheLen())
		_, memo, err := f.verifier.VerifyMemo(ctx, raw)
		require.NoError(t, err)
		memo.LoadOrStore(minted.ID)
		_, memo2, err := f.verifier.VerifyMemo(ctx, raw)
		require.NoError(t, err)
		require.Same(t, memo, memo2)
		require.Equal(t, minted.ID, memo2.Load())
		require.NoError(t, f.verifier.CacheSlotsOwnTheirText())
	})
	t.Run("OK/EvictedWhileHeld", func(t *testing.T) {
		// A request holds a token's claims and memo; a full shard drops
		// the slot meanwhile. What the request holds stays whole, and the
		// next use of the token fills a new slot from its own text.
		f := newFixture(t, k, withCache(64, nil)) // one entry per shard
		raw, minted := f.mint(t, embedClaims(), time.Hour)
		c, memo, err := f.verifier.VerifyMemo(ctx, raw)
		require.NoError(t, err)
		memo.Store("answer of " + minted.ID)
		evicted := false
		for i := 0; i < 2000 && !evicted; i++ {
			other, _ := f.mint(t, embedClaims(), time.Hour)
			_, err := f.verifier.Verify(ctx, other)
			require.NoError(t, err)
			_, m, err := f.verifier.VerifyMemo(ctx, raw)
			require.NoError(t, err)
			evicted = m != memo
		}
		require.True(t, evicted, "the token's slot was dropped by its full shard")
		require.LessOrEqual(t, f.verifier.CacheLen(), 64)
		require.Equal(t, minted.ID, c.ID)
		require.Equal(t, "answer of "+minted.ID, memo.Load(), "the held memo is intact")
		require.NoError(t, f.verifier.CacheSlotsOwnTheirText())
	})
	t.Run("OK/LongKIDAndNearMaxSize", func(t *testing.T) {
		// A token just under MaxCachedTokenSize fills the largest tail.
		f := newFixture(t, k, withCache(100, nil))
		c := embedClaims()
		c.Params = map[string]any{"pad": ""}
		raw, _ := f.mint(t, c, time.Hour)
		c.Params["pad"] = strings.Repeat("x", (token.MaxCachedTokenSize-len(raw))*3/4-4)
		raw, _ = f.mint(t, c, time.Hour)
		require.LessOrEqual(t, len(raw), token.MaxCachedTokenSize)
		require.Greater(t, len(raw), token.MaxCachedTokenSize-16)
		a, err := f.verifier.Verify(ctx, raw)
		require.NoError(t, err)
		b, err := f.verifier.Verify(ctx, raw)
		require.NoError(t, err)
		require.Same(t, a, b, "cached")
		require.NoError(t, f.verifier.CacheSlotsOwnTheirText())
	})
}
