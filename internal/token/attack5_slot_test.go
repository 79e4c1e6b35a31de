package token_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/sigil-dev/sigil/internal/keys"
	"github.com/sigil-dev/sigil/internal/token"
)

// attack5Verdict is what a verification answered, comparable between a
// cached and an uncached verifier.
type attack5Verdict struct {
	ok     bool
	claims token.Claims
	kinds  string // which sentinel errors the error matches
}

func attack5VerdictOf(c *token.Claims, err error) attack5Verdict {
	if err == nil {
		return attack5Verdict{ok: true, claims: *c}
	}
	var kinds []string
	for _, s := range []error{token.ErrInvalidToken, token.ErrExpired, token.ErrMalformed, token.ErrSignature, token.ErrClaims, token.ErrRevoked, token.ErrIssuer, token.ErrAudience} {
		if errors.Is(err, s) {
			kinds = append(kinds, s.Error())
		}
	}
	return attack5Verdict{kinds: strings.Join(kinds, "|")}
}

// attack5Uncached is a verifier sharing f's keys and clock, without a cache.
func attack5Uncached(f *fixture) *token.Verifier {
	return token.NewVerifier(token.VerifierConfig{Issuer: testIssuer, Audience: testAudience, Keys: f.ring, Now: f.clock.Now})
}

// TestAttack5_SlotTailStepsMatchUncached: hand-signed tokens whose sub
// holds escapes (\u00e9, \", \\, \/, \u0041: the decoded payload text the
// slot keeps is then not the claims' text) padded so that signed part +
// kid + payload walk across many 64-byte tail steps, and tokens around
// MaxCachedTokenSize (4094..4098 bytes: the last cached ones and the first
// not cached). Each is verified by a cached verifier on its first use, on
// a hit, and again after all others went through the cache; every answer
// equals an uncached verifier's (claims field by field, or error kinds),
// and no slot's views reach another's text.
func TestAttack5_SlotTailStepsMatchUncached(t *testing.T) {
	ctx := context.Background()
	k := testKey(t, keys.EdDSA, "main")
	f := newFixture(t, k, withCache(10_000, nil))
	plain := attack5Uncached(f)
	now := f.clock.Now()
	hdr := header(k.Alg, k.KID)
	escapes := []string{``, `\u00e9`, `\"`, `\\`, `\/`, `\u0041\u0042`, `\ud83d\ude00`, `\n`}
	var raws []string
	for pad := 0; pad < 200; pad++ {
		esc := escapes[pad%len(escapes)]
		sub := "s" + esc + strings.Repeat("p", pad) + esc
		raws = append(raws, sign(t, k, hdr, payload(now, "", "sub")[:1]+`"sub":"`+sub+`",`+payload(now, "", "sub")[1:]))
	}
	// Around MaxCachedTokenSize: grow a param until the token's length hits each target.
	mk := func(n int) string {
		return sign(t, k, hdr, payload(now, `,"params":{"pad":"`+strings.Repeat("x", n)+`\u00e9"}`))
	}
	base := len(mk(0))
	for target := token.MaxCachedTokenSize - 2; target <= token.MaxCachedTokenSize+2; target++ {
		found := false
		for n := max(0, (target-base)*3/4-8); n < (target-base)*3/4+8; n++ {
			if raw := mk(n); len(raw) == target {
				raws = append(raws, raw)
				found = true
				break
			}
		}
		if !found {
			t.Logf("no token of exactly %d bytes (base64 steps)", target)
		}
	}
	seenLens := map[int]bool{}
	for _, raw := range raws {
		seenLens[len(raw)] = true
	}
	require.True(t, seenLens[token.MaxCachedTokenSize] || seenLens[token.MaxCachedTokenSize-1], "a token at the cache's size bound")
	require.True(t, seenLens[token.MaxCachedTokenSize+1] || seenLens[token.MaxCachedTokenSize+2], "a token just over it")

	want := make([]attack5Verdict, len(raws))
	oks := 0
	for i, raw := range raws {
		want[i] = attack5VerdictOf(plain.Verify(ctx, raw))
		if want[i].ok {
			oks++
		}
		for round := range 2 {
			got := attack5VerdictOf(f.verifier.Verify(ctx, raw))
			require.Equal(t, want[i], got, "token %d (%d bytes), use %d", i, len(raw), round)
		}
	}
	require.Greater(t, oks, len(raws)/2, "most hand-made tokens are valid: the cache is exercised")
	require.NoError(t, f.verifier.CacheSlotsOwnTheirText())
	for i, raw := range raws {
		require.Equal(t, want[i], attack5VerdictOf(f.verifier.Verify(ctx, raw)), "token %d after the others", i)
	}
	for _, raw := range raws {
		if len(raw) > token.MaxCachedTokenSize {
			require.False(t, f.verifier.CacheHolds(raw[:len(raw)-20]), "a token over MaxCachedTokenSize is not cached")
		}
	}
}

// TestAttack5_NearTwinsAlternateConcurrently: two genuine tokens that
// differ in one payload byte (their sub), and texts built from them that
// must never pass (one's signed part with the other's signature, a
// signature with a changed character, a truncated one), are presented
// alternately from many goroutines at once (run with -race): each genuine
// one always gets its own claims, every forgery always fails as an
// uncached verifier fails it, also after both twins are cached.
func TestAttack5_NearTwinsAlternateConcurrently(t *testing.T) {
	ctx := context.Background()
	for _, alg := range []string{keys.EdDSA, keys.ES256, keys.HS256} {
		t.Run(alg, func(t *testing.T) {
			k := testKey(t, alg, "main")
			f := newFixture(t, k, withCache(1000, nil))
			plain := attack5Uncached(f)
			now := f.clock.Now()
			hdr := header(k.Alg, k.KID)
			pa := payload(now, "")
			pb := strings.Replace(pa, `"user-42"`, `"user-43"`, 1)
			require.NotEqual(t, pa, pb)
			a, b := sign(t, k, hdr, pa), sign(t, k, hdr, pb)
			dot := strings.LastIndexByte(a, '.')
			dotB := strings.LastIndexByte(b, '.')
			flip := func(s string, i int) string {
				c := byte('A')
				if s[i] == 'A' {
					c = 'B'
				}
				return s[:i] + string(c) + s[i+1:]
			}
			forged := []string{
				a[:dot] + b[dotB:],               // a's signed part, b's signature
				b[:dotB] + a[dot:],               // and the other way
				flip(a, len(a)-1),                // last signature character
				flip(a, dot+1),                   // first signature character
				a[:len(a)-1],                     // truncated
				flip(a, dot-1),                   // last payload character
				a + "A",                          // one more
				a[:dot] + "." + a[dot+1:] + ".x", // a third dot
			}
			for _, s := range forged {
				_, err := plain.Verify(ctx, s)
				require.Error(t, err, "the uncached verifier refuses %q", s)
			}
			type want struct {
				raw string
				sub string
			}
			cases := []want{{a, "user-42"}, {b, "user-43"}}
			for _, s := range forged {
				cases = append(cases, want{s, ""})
			}
			var wg sync.WaitGroup
			for g := range 8 {
				wg.Go(func() {
					for i := range 300 {
						w := cases[(g+i)%len(cases)]
						c, err := f.verifier.Verify(ctx, w.raw)
						if w.sub == "" {
							if err == nil {
								t.Errorf("forgery %q accepted (subject %q)", w.raw, c.Subject)
								return
							}
							continue
						}
						if err != nil || c.Subject != w.sub {
							t.Errorf("twin %s: %v, subject %v", w.sub, err, c)
							return
						}
					}
				})
			}
			wg.Wait()
			require.Equal(t, 2, f.verifier.CacheLen(), "only the two genuine tokens are cached")
		})
	}
}

// TestAttack5_ClockAndKeysWhileCached: a cached token's answers follow an
// uncached verifier's at every clock step across its nbf and exp (with
// leeway), forwards and backwards (an NTP step back), and while its key is
// removed from the set and brought back.
func TestAttack5_ClockAndKeysWhileCached(t *testing.T) {
	ctx := context.Background()
	k := testKey(t, keys.EdDSA, "main")
	f := newFixture(t, k, withCache(1000, nil))
	plain := attack5Uncached(f)
	start := f.clock.Now()
	hdr := header(k.Alg, k.KID)
	raws := map[string]string{
		"minted": func() string { r, _ := f.mint(t, embedClaims(), 10*time.Minute); return r }(),
		"hand":   sign(t, k, hdr, payload(start, "")),
	}
	check := func(step string) {
		t.Helper()
		for name, raw := range raws {
			want := attack5VerdictOf(plain.Verify(ctx, raw))
			for range 2 {
				require.Equal(t, want, attack5VerdictOf(f.verifier.Verify(ctx, raw)), "%s at %s", name, step)
			}
		}
	}
	check("start")
	steps := []time.Duration{
		-time.Second, -29 * time.Second, -30 * time.Second, -31 * time.Second, -time.Hour, 0,
		9 * time.Minute, 10*time.Minute - time.Millisecond, 10 * time.Minute, 10*time.Minute + 29*time.Second,
		10*time.Minute + 30*time.Second, 10*time.Minute + 31*time.Second, time.Hour - time.Second, time.Hour,
		time.Hour + 30*time.Second, time.Hour + 31*time.Second, 2 * time.Hour, 30 * time.Minute, -10 * time.Second, 0,
	}
	for _, d := range steps {
		f.clock.Set(start.Add(d))
		check(fmt.Sprint(d))
	}
	// Key rotated out while cached, then back.
	f.clock.Set(start)
	check("back at start")
	delete(f.ring.byKID, k.KID)
	check("key removed")
	f.ring.byKID[k.KID] = k
	check("key back")
}

// TestAttack5_CachedTokenWithoutNbfKeepsIatCheck: a token without
// nbf (but with iat, which the verifier checks against the clock with
// leeway) is accepted and cached; the clock then steps back by more than
// the leeway (an NTP correction), so that the token's iat is in the
// future: an uncached verifier refuses it (iat after now+leeway), and so
// must the cached one. Found by this attack: a slot's lower bound was
// taken from nbf only (0 without nbf), so the cached token kept being
// accepted (from before the slot layout); it is now max(nbf, iat) -
// leeway (Verifier.validFrom).
func TestAttack5_CachedTokenWithoutNbfKeepsIatCheck(t *testing.T) {
	ctx := context.Background()
	k := testKey(t, keys.EdDSA, "main")
	f := newFixture(t, k, withCache(1000, nil))
	plain := attack5Uncached(f)
	start := f.clock.Now()
	raw := sign(t, k, header(k.Alg, k.KID), payload(start, "", "nbf"))
	_, err := f.verifier.Verify(ctx, raw)
	require.NoError(t, err, "accepted and cached")
	f.clock.Set(start.Add(-31 * time.Second))
	_, err = plain.Verify(ctx, raw)
	require.Error(t, err, "uncached: iat is in the future beyond the leeway")
	_, err = f.verifier.Verify(ctx, raw)
	require.Error(t, err, "cached: must refuse as the uncached verifier does")
}

// TestAttack5_CachedTokenNbfBeforeIatKeepsIatCheck: the same with
// an nbf an hour before iat: after a clock step back past iat - leeway the
// cached token is refused as by an uncached verifier (the lower bound was
// nbf - leeway alone).
func TestAttack5_CachedTokenNbfBeforeIatKeepsIatCheck(t *testing.T) {
	ctx := context.Background()
	k := testKey(t, keys.EdDSA, "main")
	f := newFixture(t, k, withCache(1000, nil))
	plain := attack5Uncached(f)
	start := f.clock.Now()
	early := sign(t, k, header(k.Alg, k.KID), payload(start, `,"nbf":`+itoa(start.Add(-time.Hour).Unix()), "nbf"))
	_, err := f.verifier.Verify(ctx, early)
	require.NoError(t, err, "accepted and cached")
	f.clock.Set(start.Add(-31 * time.Second))
	_, err = plain.Verify(ctx, early)
	require.Error(t, err, "uncached: iat is in the future beyond the leeway")
	_, err = f.verifier.Verify(ctx, early)
	require.Error(t, err, "cached (nbf before iat): must refuse as the uncached verifier does")
}
