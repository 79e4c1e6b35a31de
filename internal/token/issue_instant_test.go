package token_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/sigil-dev/sigil/internal/keys"
	"github.com/sigil-dev/sigil/internal/token"
)

// TestIssuer_JTICarriesTheIssueInstantInMilliseconds: two tokens minted
// within one second are told apart by their jti (UUIDv7 at the issuer's
// clock), which is what a revocation cutoff compares (issue 12, C16).
func TestIssuer_JTICarriesTheIssueInstantInMilliseconds(t *testing.T) {
	ed := testKey(t, keys.EdDSA, "main")
	clk := newClock()
	at := time.Date(2031, 5, 6, 7, 8, 9, 250*int(time.Millisecond), time.UTC)
	clk.Set(at)
	iss := token.NewIssuer(token.IssuerConfig{Issuer: testIssuer, Audience: testAudience, Keys: newRing(ed), Now: clk.Now})
	_, c, err := iss.Mint(embedClaims(), time.Hour)
	require.NoError(t, err)
	u, err := uuid.Parse(c.ID)
	require.NoError(t, err)
	require.Equal(t, uuid.Version(7), u.Version())
	require.Equal(t, uuid.RFC4122, u.Variant())
	require.Equal(t, at.UnixMilli(), c.IssuedAtMilli(), "the jti's timestamp is the issuer's clock")
	require.Equal(t, at.Truncate(time.Second), c.IssuedAt.Time, "iat stays whole seconds")

	t.Run("OldJTIFallsBackToTheStartOfIatsSecond", func(t *testing.T) {
		old := *c
		old.ID = uuid.NewString() // v4
		require.Equal(t, at.Truncate(time.Second).UnixMilli(), old.IssuedAtMilli())
	})
	t.Run("ForeignV7OutsideIatsSecondIsIgnored", func(t *testing.T) {
		forged := *c
		forged.ID = token.NewJTI(at.Add(10 * time.Minute)) // claims a later instant than iat
		require.Equal(t, at.Truncate(time.Second).UnixMilli(), forged.IssuedAtMilli())
	})
}

// TestIssuer_MintUntilSetsExpExactly: a registered token created with
// expiresAt 2027-01-01T00:00:00Z carries exactly that exp, whatever the
// milliseconds of the clock (issue 12, C17).
func TestIssuer_MintUntilSetsExpExactly(t *testing.T) {
	ed := testKey(t, keys.EdDSA, "main")
	clk := newClock()
	clk.Set(time.Date(2026, 12, 3, 5, 9, 49, 999*int(time.Millisecond), time.UTC))
	iss := token.NewIssuer(token.IssuerConfig{Issuer: testIssuer, Audience: testAudience, Keys: newRing(ed), Now: clk.Now})
	want := time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)
	raw, c, err := iss.MintUntil(token.Claims{Kind: token.KindReport, ReportID: "q3", TID: "rec-1"}, &want)
	require.NoError(t, err)
	require.Equal(t, want, c.ExpiresAt.Time)
	require.EqualValues(t, want.Unix(), decodePayload(t, raw)["exp"])

	_, c, err = iss.MintUntil(token.Claims{Kind: token.KindReport, ReportID: "q3", TID: "rec-1"}, nil)
	require.NoError(t, err)
	require.Nil(t, c.ExpiresAt, "nil: never expires")
}

// recordsFunc is a per-test token.Records.
type recordsFunc func(ctx context.Context, c *token.Claims) error

func (f recordsFunc) CheckRecord(ctx context.Context, c *token.Claims) error { return f(ctx, c) }

// TestVerifier_RegisteredTokenNeedsALiveRecord: Records is asked about a
// registered token before it is cached (once per token text while cached),
// never about an embed token; its refusal is a 401-class error, a store
// failure is not (issue 12, A4).
func TestVerifier_RegisteredTokenNeedsALiveRecord(t *testing.T) {
	ed := testKey(t, keys.EdDSA, "main")
	var asked int
	live := map[string]bool{}
	storeDown := false
	revoked := map[string]bool{}
	f := newFixture(t, ed, func(cfg *token.VerifierConfig) {
		cfg.CacheSize = 100
		cfg.Revocation = revocationFunc(func(_ context.Context, c *token.Claims) error {
			if revoked[c.ID] {
				return token.ErrRevoked
			}
			return nil
		})
		cfg.Records = recordsFunc(func(_ context.Context, c *token.Claims) error {
			asked++
			if storeDown {
				return errors.New("store down")
			}
			if !live[c.TID] {
				return token.ErrRevoked
			}
			return nil
		})
	})
	ctx := context.Background()
	report, _ := f.mint(t, token.Claims{Kind: token.KindReport, ReportID: "q3", TID: "rec-live"}, time.Hour)
	orphan, _ := f.mint(t, token.Claims{Kind: token.KindReport, ReportID: "q3", TID: "rec-gone"}, time.Hour)
	embed, _ := f.mint(t, embedClaims(), time.Hour)
	live["rec-live"] = true

	_, err := f.verifier.Verify(ctx, orphan)
	require.ErrorIs(t, err, token.ErrRevoked, "a token whose record is gone is refused")
	require.ErrorIs(t, err, token.ErrInvalidToken)
	_, err = f.verifier.Verify(ctx, report)
	require.NoError(t, err)
	_, err = f.verifier.Verify(ctx, report)
	require.NoError(t, err)
	require.Equal(t, 2, asked, "a cached registered token costs no second record lookup")
	_, err = f.verifier.Verify(ctx, embed)
	require.NoError(t, err)
	require.Equal(t, 2, asked, "embed tokens have no record")

	// A revoked token (an old generation, a deleted record: its jti or tid
	// denied) is refused by the revocation step first: no record lookup, so
	// replaying a dead link costs no store round trip.
	dead, deadClaims := f.mint(t, token.Claims{Kind: token.KindReport, ReportID: "q3", TID: "rec-live"}, 3*time.Hour)
	revoked[deadClaims.ID] = true
	before := asked
	for range 3 {
		_, err = f.verifier.Verify(ctx, dead)
		require.ErrorIs(t, err, token.ErrRevoked)
	}
	require.Equal(t, before, asked, "no record lookup for a revoked token")

	storeDown = true
	other, _ := f.mint(t, token.Claims{Kind: token.KindReport, ReportID: "q3", TID: "rec-live"}, 2*time.Hour)
	_, err = f.verifier.Verify(ctx, other)
	require.Error(t, err)
	require.NotErrorIs(t, err, token.ErrInvalidToken, "a store failure is not the token's fault (503, not 401)")
}
