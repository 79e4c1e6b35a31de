package revocation_test

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/sigil-dev/sigil/internal/revocation"
	"github.com/sigil-dev/sigil/internal/store/memory"
	"github.com/sigil-dev/sigil/internal/testclock"
	"github.com/sigil-dev/sigil/internal/token"
	"github.com/sigil-dev/sigil/test/redisserver"
)

// TestReplica_CheckMemo: the replica's CheckMemo keeps a token's parsed
// denylist ids in its memo, never a verdict. With the memo filled while
// the token was live, every revocation written afterwards (on this
// instance, and on another one whose write arrives by subscription)
// rejects the token on its next CheckMemo exactly as Check does: its jti
// (a UUID in either letter case against a denial in the other, or an id
// that is no UUID), its tid (UUID or not), and a cutoff of each dimension
// it falls under. Another token's memo is left alone, a nil memo is
// Check, and a replica gone stale fails closed through the memo too.
func TestReplica_CheckMemo(t *testing.T) {
	srv := redisserver.Start(t)
	ctx := context.Background()
	now := time.Now()
	a := startReplica(t, newStore(t, srv, "m:"))
	b := startReplica(t, newStore(t, srv, "m:"))
	deny := func(id string) func(*token.Claims) error {
		return func(*token.Claims) error {
			return a.Revoke(ctx, &token.Claims{RegisteredClaims: jwt.RegisteredClaims{ID: id, ExpiresAt: jwt.NewNumericDate(now.Add(time.Hour))}})
		}
	}
	cutoff := func(cut revocation.Cutoff) func(*token.Claims) error {
		return func(*token.Claims) error { _, err := a.RevokeAll(ctx, cut); return err }
	}
	upper := strings.ToUpper(uuid.NewString())
	lower := uuid.NewString()
	tidUUID := uuid.NewString()
	tests := []struct {
		name   string
		mut    func(*token.Claims)
		revoke func(*token.Claims) error
	}{
		{"JtiUUID", nil, func(c *token.Claims) error { return a.Revoke(ctx, c) }},
		{"JtiUpperDeniedLower", func(c *token.Claims) { c.ID = upper }, deny(strings.ToLower(upper))},
		{"JtiLowerDeniedUpper", func(c *token.Claims) { c.ID = lower }, deny(strings.ToUpper(lower))},
		{"JtiNotUUID", func(c *token.Claims) { c.ID = "jti-not-a-uuid" }, deny("jti-not-a-uuid")},
		{"TidUUID", func(c *token.Claims) { c.TID = tidUUID }, deny(strings.ToUpper(tidUUID))},
		{"TidNotUUID", func(c *token.Claims) { c.TID = "rec-memo-1" }, deny("rec-memo-1")},
		{"CutoffSubject", func(c *token.Claims) { c.Subject = "memo-alice" }, cutoff(revocation.Cutoff{Dim: revocation.DimSubject, ID: "memo-alice"})},
		{"CutoffClientSubject", func(c *token.Claims) { c.Subject, c.ClientID = "memo-carol", "memo-tenant" },
			cutoff(revocation.ClientSubject("memo-tenant", "memo-carol"))},
		{"CutoffClient", func(c *token.Claims) { c.ClientID = "memo-gone" }, cutoff(revocation.Cutoff{Dim: revocation.DimClient, ID: "memo-gone"})},
		{"CutoffDashboard", func(c *token.Claims) { c.DashboardID = "memo-d1" }, cutoff(revocation.Cutoff{Dim: revocation.DimDashboard, ID: "memo-d1"})},
		{"CutoffApp", func(c *token.Claims) { c.Kind, c.DashboardID, c.AppID = token.KindAppView, "", "memo-app" },
			cutoff(revocation.Cutoff{Dim: revocation.DimApp, ID: "memo-app"})},
		{"CutoffReport", func(c *token.Claims) { c.Kind, c.DashboardID, c.ReportID = token.KindReport, "", "memo-r1" },
			cutoff(revocation.Cutoff{Dim: revocation.DimReport, ID: "memo-r1"})},
		{"CutoffClientResource", func(c *token.Claims) { c.ClientID, c.DashboardID = "memo-cr", "memo-d2" },
			cutoff(revocation.ClientResource("memo-cr", revocation.Cutoff{Dim: revocation.DimDashboard, ID: "memo-d2"}))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			muts := []func(*token.Claims){}
			if tt.mut != nil {
				muts = append(muts, tt.mut)
			}
			c := claims(now, muts...)
			other := claims(now) // another token: a fresh jti, client and dashboard "sales"
			ma, mb, mo := new(token.Memo), new(token.Memo), new(token.Memo)
			for range 3 {
				require.NoError(t, a.CheckMemo(ctx, c, ma))
				require.NoError(t, b.CheckMemo(ctx, c, mb))
				require.NoError(t, a.CheckMemo(ctx, other, mo))
			}
			require.NotNil(t, ma.Load(), "the parsed ids are kept")
			require.NoError(t, tt.revoke(c))
			require.ErrorIs(t, a.CheckMemo(ctx, c, ma), token.ErrRevoked, "memo filled before the revocation")
			require.ErrorIs(t, a.Check(ctx, c), token.ErrRevoked)
			require.ErrorIs(t, a.CheckMemo(ctx, c, nil), token.ErrRevoked, "nil memo")
			require.ErrorIs(t, a.CheckMemo(ctx, c, new(token.Memo)), token.ErrRevoked, "fresh memo")
			eventually(t, "B honours A's revocation through its memo", func() bool {
				return errors.Is(b.CheckMemo(ctx, c, mb), token.ErrRevoked)
			})
			require.ErrorIs(t, b.Check(ctx, c), token.ErrRevoked)
			require.NoError(t, a.CheckMemo(ctx, other, mo), "another token is not touched")
		})
	}
	t.Run("CutoffAfterUnrelatedOnes", func(t *testing.T) {
		// The memo remembers "under no cutoff" only as long as no cutoff
		// was applied since: unrelated cutoffs (here and from B) keep the
		// token live, the next one that covers it rejects it at once.
		c, m := claims(now, func(c *token.Claims) { c.Subject, c.ClientID, c.DashboardID = "gen-sub", "gen-client", "gen-dash" }), new(token.Memo)
		require.NoError(t, a.CheckMemo(ctx, c, m))
		require.NoError(t, a.CheckMemo(ctx, c, m))
		for i, cut := range []revocation.Cutoff{
			{Dim: revocation.DimSubject, ID: "gen-other"}, {Dim: revocation.DimDashboard, ID: "gen-other"},
			revocation.ClientSubject("gen-client", "gen-other"),
		} {
			w := a
			if i%2 == 1 {
				w = b
			}
			at, err := w.RevokeAll(ctx, cut)
			require.NoError(t, err)
			eventually(t, "A holds the unrelated cutoff", func() bool {
				return errors.Is(a.Check(ctx, claims(at.Add(-time.Hour), func(o *token.Claims) {
					o.Subject, o.ClientID, o.DashboardID = "gen-other", "gen-client", "gen-other"
				})), token.ErrRevoked)
			})
			require.NoError(t, a.CheckMemo(ctx, c, m), "unrelated cutoff %v", cut)
		}
		_, err := b.RevokeAll(ctx, revocation.Cutoff{Dim: revocation.DimDashboard, ID: "gen-dash"})
		require.NoError(t, err)
		eventually(t, "A's memo sees B's cutoff", func() bool { return errors.Is(a.CheckMemo(ctx, c, m), token.ErrRevoked) })
		require.ErrorIs(t, a.CheckMemo(ctx, c, m), token.ErrRevoked)
		require.ErrorIs(t, a.Check(ctx, c), token.ErrRevoked)
	})
	t.Run("Stale", func(t *testing.T) {
		clk := testclock.New(now)
		r := startReplica(t, newStore(t, srv, "s:"), func(cfg *revocation.ReplicaConfig) {
			cfg.Now, cfg.MaxStaleness, cfg.Heartbeat = clk.Now, time.Minute, time.Hour
		})
		c, m := claims(now), new(token.Memo)
		require.NoError(t, r.CheckMemo(ctx, c, m))
		clk.Advance(2 * time.Minute)
		require.ErrorIs(t, r.CheckMemo(ctx, c, m), revocation.ErrStale)
		require.ErrorIs(t, r.Check(ctx, c), revocation.ErrStale)
	})
}

// BenchmarkReplicaCheck is the replica's check of a cached registered
// token (a UUID jti and tid) beside 100 denials and 100 cutoffs: Check
// parses both ids on every call, CheckMemo once per memo. The replica sits
// on the memory store (memorySync: nothing to load, no subscription), so
// that make bench-instr's callgrind can run it without a Redis child.
func BenchmarkReplicaCheck(b *testing.B) {
	r := revocation.NewReplica(revocation.ReplicaConfig{Store: memorySync{memory.New(time.Now)}, Leeway: 30 * time.Second})
	ctx := context.Background()
	require.NoError(b, r.Sync(ctx))
	now := time.Now()
	for i := range 100 {
		require.NoError(b, r.Revoke(ctx, claims(now)))
		_, err := r.RevokeAll(ctx, revocation.Cutoff{Dim: revocation.DimSubject, ID: "s" + strconv.Itoa(i)})
		require.NoError(b, err)
	}
	c := claims(now, func(c *token.Claims) { c.Subject, c.TID = "alice", uuid.NewString() })
	b.Run("Check", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if err := r.Check(ctx, c); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("CheckMemo", func(b *testing.B) {
		m := new(token.Memo)
		b.ReportAllocs()
		for b.Loop() {
			if err := r.CheckMemo(ctx, c, m); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// memorySync is the memory store as a replica's SyncStore for the
// benchmark: it takes the writes; the replica holds what it checks itself.
type memorySync struct{ *memory.Store }

func (memorySync) ScanDenied(context.Context, func(string, time.Time)) error  { return nil }
func (memorySync) ScanCutoffs(context.Context, func(string, time.Time)) error { return nil }
func (memorySync) Subscribe(ctx context.Context, _ func(revocation.Event), onConnect func(), _ func(error)) {
	onConnect()
	<-ctx.Done()
}
func (memorySync) Epoch(context.Context) (string, error)             { return "bench", nil }
func (memorySync) InitEpoch(context.Context, string) (string, error) { return "bench", nil }
