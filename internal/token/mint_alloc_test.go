package token_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/sigil-dev/sigil/internal/keys"
	"github.com/sigil-dev/sigil/internal/token"
)

// TestNewJTI_Format: every jti is a canonical lower-case UUIDv7 of the
// RFC 9562 variant whose timestamp is the instant in milliseconds and whose
// other 74 bits are random: 10,000 draws at one instant are all different
// and every random bit takes both values.
func TestNewJTI_Format(t *testing.T) {
	at := time.Date(2031, 5, 6, 7, 8, 9, 250*int(time.Millisecond), time.UTC)
	seen := make(map[string]struct{})
	var ones, zeros [16]byte
	for range 10000 {
		id := token.NewJTI(at)
		require.Len(t, id, 36)
		require.Equal(t, strings.ToLower(id), id)
		u, err := uuid.Parse(id)
		require.NoError(t, err)
		require.Equal(t, id, u.String())
		require.Equal(t, uuid.Version(7), u.Version())
		require.Equal(t, uuid.RFC4122, u.Variant())
		ms := int64(u[0])<<40 | int64(u[1])<<32 | int64(u[2])<<24 | int64(u[3])<<16 | int64(u[4])<<8 | int64(u[5])
		require.Equal(t, at.UnixMilli(), ms)
		_, dup := seen[id]
		require.False(t, dup, "a jti repeated: %s", id)
		seen[id] = struct{}{}
		for i := range u {
			ones[i] |= u[i]
			zeros[i] |= ^u[i]
		}
	}
	// Random: bytes 6 (low nibble), 7, 8 (low 6 bits) to 15.
	random := [16]byte{6: 0x0f, 7: 0xff, 8: 0x3f, 9: 0xff, 10: 0xff, 11: 0xff, 12: 0xff, 13: 0xff, 14: 0xff, 15: 0xff}
	for i, m := range random {
		require.Equal(t, m, ones[i]&m, "byte %d: a random bit never set", i)
		require.Equal(t, m, zeros[i]&m, "byte %d: a random bit never clear", i)
	}
}

// TestIssuer_ClaimDatesAreSeparate: iat, nbf, exp and auth_time of a minted
// token are separate values (one allocation holds them, each claim its own
// element): changing one leaves the others, and two tokens share none.
func TestIssuer_ClaimDatesAreSeparate(t *testing.T) {
	ed := testKey(t, keys.EdDSA, "main")
	clk := newClock()
	iss := token.NewIssuer(token.IssuerConfig{Issuer: testIssuer, Audience: testAudience, Keys: newRing(ed), Now: clk.Now})
	_, a, err := iss.Mint(embedClaims(), time.Hour)
	require.NoError(t, err)
	_, b, err := iss.Mint(embedClaims(), time.Hour)
	require.NoError(t, err)
	now := clk.Now().UTC().Truncate(time.Second)
	for _, c := range []*token.Claims{a, b} {
		require.Equal(t, now, c.IssuedAt.Time)
		require.Equal(t, now, c.NotBefore.Time)
		require.Equal(t, now, c.AuthTime.Time)
		require.Equal(t, now.Add(time.Hour), c.ExpiresAt.Time)
	}
	a.IssuedAt.Time = now.Add(-time.Minute)
	a.NotBefore.Time = now.Add(time.Minute)
	a.AuthTime.Time = now.Add(-2 * time.Minute)
	require.Equal(t, now.Add(time.Hour), a.ExpiresAt.Time)
	require.Equal(t, now.Add(-time.Minute), a.IssuedAt.Time)
	require.Equal(t, now.Add(time.Minute), a.NotBefore.Time)
	require.Equal(t, now.Add(-2*time.Minute), a.AuthTime.Time)
	for _, c := range []*token.Claims{b} {
		require.Equal(t, now, c.IssuedAt.Time)
		require.Equal(t, now, c.NotBefore.Time)
		require.Equal(t, now, c.AuthTime.Time)
	}
}

// TestIssuer_ConcurrentMintsKeepTheirClaims: mints running at once (the
// claims' JSON is written into pooled buffers) each sign their own claims:
// every token verifies and carries its own subject and params, for each
// algorithm (go test -race: no buffer is shared while in use).
func TestIssuer_ConcurrentMintsKeepTheirClaims(t *testing.T) {
	for _, alg := range []string{keys.EdDSA, keys.ES256, keys.RS256, keys.HS256} {
		t.Run(alg, func(t *testing.T) {
			k := testKey(t, alg, "main")
			clk := newClock()
			ring := newRing(k)
			iss := token.NewIssuer(token.IssuerConfig{Issuer: testIssuer, Audience: testAudience, Keys: ring, Now: clk.Now})
			v := token.NewVerifier(token.VerifierConfig{Issuer: testIssuer, Audience: testAudience, Keys: ring, Now: clk.Now})
			errs := make(chan error, 8)
			var wg sync.WaitGroup
			for g := range 8 {
				wg.Go(func() {
					for i := range 50 {
						c := embedClaims()
						c.Subject = fmt.Sprintf("user-%d-%d", g, i)
						c.Params = map[string]any{"region": strings.Repeat("x", (g*50+i)%700), "n": c.Subject}
						raw, _, err := iss.Mint(c, time.Hour)
						if err != nil {
							errs <- err
							return
						}
						got, err := v.Verify(context.Background(), raw)
						if err != nil {
							errs <- fmt.Errorf("%s: %w", c.Subject, err)
							return
						}
						if got.Subject != c.Subject || got.Params["n"] != c.Subject || got.Params["region"] != c.Params["region"] {
							errs <- fmt.Errorf("minted %s, verified %s %v", c.Subject, got.Subject, got.Params["n"])
							return
						}
					}
				})
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Error(err)
			}
		})
	}
}
