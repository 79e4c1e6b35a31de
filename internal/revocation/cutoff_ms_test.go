package revocation_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/stretchr/testify/require"

	"github.com/sigil-dev/sigil/internal/revocation"
	"github.com/sigil-dev/sigil/internal/store/memory"
	"github.com/sigil-dev/sigil/internal/testclock"
	"github.com/sigil-dev/sigil/internal/token"
	"github.com/sigil-dev/sigil/test/redisserver"
)

// mintedAt is a token for sub minted at at, as the issuer mints it: iat in
// whole seconds, the instant in its UUIDv7 jti.
func mintedAt(sub string, at time.Time) *token.Claims {
	c := &token.Claims{Kind: token.KindEmbed, DashboardID: "sales", ClientID: "sales"}
	c.Subject = sub
	c.ID = token.NewJTI(at)
	c.IssuedAt = jwt.NewNumericDate(at.Truncate(time.Second))
	c.ExpiresAt = jwt.NewNumericDate(at.Add(time.Hour))
	return c
}

type revoker interface {
	token.Revocation
	RevokeAll(ctx context.Context, cut revocation.Cutoff) (time.Time, error)
}

// TestRevokeAll_SignInRightAfterLives: revoke-all for a subject, then a
// token minted a millisecond later in the same second is accepted, and one
// minted a millisecond before it is not (issue 12, C16: the cutoff compared
// whole seconds and rejected the fresh sign-in too). Direct (memory) and
// replica (Redis) alike, and pkg/verifier shares the replica code.
func TestRevokeAll_SignInRightAfterLives(t *testing.T) {
	srv := redisserver.Start(t)
	for name, build := range map[string]func(t *testing.T, clk *testclock.Clock) revoker{
		"Direct": func(t *testing.T, clk *testclock.Clock) revoker {
			return revocation.NewService(memory.New(clk.Now), 30*time.Second, clk.Now)
		},
		"Replica": func(t *testing.T, clk *testclock.Clock) revoker {
			return startReplica(t, newStore(t, srv, "ms:"+t.Name()+":"), func(cfg *revocation.ReplicaConfig) { cfg.Now = clk.Now })
		},
	} {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			cut := time.Now().UTC().Truncate(time.Second).Add(400 * time.Millisecond)
			clk := testclock.New(cut)
			r := build(t, clk)
			before := mintedAt("alice", cut.Add(-time.Millisecond))
			sameMs := mintedAt("alice", cut)
			at, err := r.RevokeAll(ctx, revocation.Cutoff{Dim: revocation.DimSubject, ID: "alice"})
			require.NoError(t, err)
			require.Equal(t, cut, at, "the cutoff keeps milliseconds")
			after := mintedAt("alice", cut.Add(time.Millisecond))
			require.ErrorIs(t, r.Check(ctx, before), token.ErrRevoked, "minted before revoke-all")
			require.ErrorIs(t, r.Check(ctx, sameMs), token.ErrRevoked, "minted in the cutoff's millisecond")
			require.NoError(t, r.Check(ctx, after), "signed in again a millisecond after revoke-all")
			require.NoError(t, r.Check(ctx, mintedAt("bob", cut.Add(-time.Millisecond))), "other subjects untouched")

			// A token with a pre-UUIDv7 jti counts from the start of its iat
			// second, so a cutoff in that second covers it as before.
			legacy := mintedAt("alice", cut.Add(200*time.Millisecond))
			legacy.ID = "6f1c9a3e-2b7d-4c1e-9f0a-1b2c3d4e5f60"
			require.ErrorIs(t, r.Check(ctx, legacy), token.ErrRevoked)
		})
	}
}

// TestRevokeAll_LegacySecondEntriesCoverTheirWholeSecond: a cutoff stored
// in whole seconds (written before cutoffs had milliseconds) still rejects
// every token of that second, so upgrading accepts nothing it refused.
func TestRevokeAll_LegacySecondEntriesCoverTheirWholeSecond(t *testing.T) {
	srv := redisserver.Start(t)
	ctx := context.Background()
	sec := time.Now().UTC().Truncate(time.Second)
	clk := testclock.New(sec.Add(2 * time.Second))

	st := newStore(t, srv, "legacy:")
	require.NoError(t, st.SetCutoff(ctx, revocation.Cutoff{Dim: revocation.DimSubject, ID: "alice"}.Key(), sec))
	mem := memory.New(clk.Now)
	require.NoError(t, mem.SetCutoff(ctx, revocation.Cutoff{Dim: revocation.DimSubject, ID: "alice"}.Key(), sec))
	for name, r := range map[string]token.Revocation{
		"Replica": startReplica(t, st, func(cfg *revocation.ReplicaConfig) { cfg.Now = clk.Now }),
		"Direct":  revocation.NewService(mem, 30*time.Second, clk.Now),
	} {
		t.Run(name, func(t *testing.T) {
			require.ErrorIs(t, r.Check(ctx, mintedAt("alice", sec.Add(999*time.Millisecond))), token.ErrRevoked)
			require.NoError(t, r.Check(ctx, mintedAt("alice", sec.Add(time.Second))))
		})
	}
}

// TestRevokeAll_ClientResourceCoversOnlyThatClientsTokens: a report cutoff
// scoped to one client rejects that client's tokens of the report and no
// one else's, directly and through a second instance's replica.
func TestRevokeAll_ClientResourceCoversOnlyThatClientsTokens(t *testing.T) {
	srv := redisserver.Start(t)
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Second).Add(300 * time.Millisecond)
	clk := testclock.New(now)
	report := func(client string) *token.Claims {
		c := mintedAt("", now.Add(-time.Millisecond))
		c.Kind, c.DashboardID, c.ReportID, c.TID, c.ClientID = token.KindReport, "", "q3", "rec-"+client, client
		return c
	}
	cut := revocation.ClientResource("tenant-b", revocation.Cutoff{Dim: revocation.DimReport, ID: "q3"})
	got, ok := revocation.ParseCutoffKey(cut.Key())
	require.True(t, ok)
	require.Equal(t, cut, got)

	a := startReplica(t, newStore(t, srv, "cr:"), func(cfg *revocation.ReplicaConfig) { cfg.Now = clk.Now })
	b := startReplica(t, newStore(t, srv, "cr:"), func(cfg *revocation.ReplicaConfig) { cfg.Now = clk.Now })
	direct := revocation.NewService(memory.New(clk.Now), 30*time.Second, clk.Now)
	for name, w := range map[string]revoker{"Replica": a, "Direct": direct} {
		_, err := w.RevokeAll(ctx, cut)
		require.NoError(t, err, name)
	}
	for name, r := range map[string]token.Revocation{"Replica": a, "Direct": direct} {
		t.Run(name, func(t *testing.T) {
			require.ErrorIs(t, r.Check(ctx, report("tenant-b")), token.ErrRevoked)
			require.NoError(t, r.Check(ctx, report("tenant-a")), "another client's token of the same report")
		})
	}
	eventually(t, "B honours A's client-scoped cutoff", func() bool {
		return errors.Is(b.Check(ctx, report("tenant-b")), token.ErrRevoked)
	})
	require.NoError(t, b.Check(ctx, report("tenant-a")))
}
