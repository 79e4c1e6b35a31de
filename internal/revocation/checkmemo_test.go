package revocation_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/sigil-dev/sigil/internal/revocation"
	"github.com/sigil-dev/sigil/internal/store/memory"
	"github.com/sigil-dev/sigil/internal/testclock"
	"github.com/sigil-dev/sigil/internal/token"
)

// TestService_CheckMemo: CheckMemo keeps a token's denylist ids and cutoff
// keys in its memo, never a verdict: after the memo is filled, a denial of
// the jti, of a registered token's tid, and a cutoff of every dimension the
// token falls under (written later) each reject the token on the next call,
// exactly as Check does; a nil memo is Check; and a cutoff of another
// subject, client or resource leaves it alone.
func TestService_CheckMemo(t *testing.T) {
	ctx := context.Background()
	start := time.Now().UTC().Truncate(time.Second).Add(500 * time.Millisecond)
	revocations := map[string]func(s *revocation.Service, c *token.Claims) error{
		"Jti": func(s *revocation.Service, c *token.Claims) error { return s.Revoke(ctx, c) },
		"Tid": func(s *revocation.Service, c *token.Claims) error {
			rc := c.RegisteredClaims // the record's id denied, as a DELETE does
			rc.ID = c.TID
			return s.Revoke(ctx, &token.Claims{RegisteredClaims: rc})
		},
	}
	for _, cut := range []revocation.Cutoff{
		{Dim: revocation.DimSubject, ID: "alice"},
		{Dim: revocation.DimClient, ID: "sales"},
		{Dim: revocation.DimDashboard, ID: "d1"},
		revocation.ClientSubject("sales", "alice"),
		revocation.ClientResource("sales", revocation.Cutoff{Dim: revocation.DimDashboard, ID: "d1"}),
	} {
		revocations["Cutoff/"+cut.Key()] = func(s *revocation.Service, _ *token.Claims) error {
			_, err := s.RevokeAll(ctx, cut)
			return err
		}
	}
	for name, revoke := range revocations {
		t.Run(name, func(t *testing.T) {
			clk := testclock.New(start)
			s := revocation.NewService(memory.New(clk.Now), 30*time.Second, clk.Now)
			c := mintedAt("alice", start.Add(-time.Second))
			c.DashboardID = "d1"
			c.TID = "0190a0b0-0000-7000-8000-000000000001"
			c.Kind = token.KindReport
			other := mintedAt("bob", start.Add(-time.Second))
			other.ClientID, other.DashboardID = "hr", "d2"
			m, otherMemo := new(token.Memo), new(token.Memo)
			for range 3 {
				require.NoError(t, s.CheckMemo(ctx, c, m))
				require.NoError(t, s.CheckMemo(ctx, other, otherMemo))
			}
			require.NotNil(t, m.Load(), "the keys are kept")
			clk.Advance(time.Millisecond)
			require.NoError(t, revoke(s, c))
			require.ErrorIs(t, s.CheckMemo(ctx, c, m), token.ErrRevoked, "memo filled before the revocation")
			require.ErrorIs(t, s.Check(ctx, c), token.ErrRevoked)
			require.ErrorIs(t, s.CheckMemo(ctx, c, nil), token.ErrRevoked)
			require.ErrorIs(t, s.CheckMemo(ctx, c, new(token.Memo)), token.ErrRevoked, "fresh memo")
			require.NoError(t, s.CheckMemo(ctx, other, otherMemo), "another token is not touched")
		})
	}
}
