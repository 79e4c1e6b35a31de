package revocation_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/sigil-dev/sigil/internal/revocation"
	redisstore "github.com/sigil-dev/sigil/internal/store/redis"
	"github.com/sigil-dev/sigil/internal/testclock"
	"github.com/sigil-dev/sigil/internal/token"
	"github.com/sigil-dev/sigil/test/redisserver"
)

func newStore(t *testing.T, srv *redisserver.Server, prefix string) *redisstore.Store {
	t.Helper()
	client, err := redisstore.NewClient(srv.URL())
	require.NoError(t, err)
	t.Cleanup(func() { _ = client.Close() })
	return redisstore.New(client, prefix)
}

type replicaOpt func(*revocation.ReplicaConfig)

func startReplica(t *testing.T, st revocation.SyncStore, opts ...replicaOpt) *revocation.Replica {
	t.Helper()
	r := loadedReplica(t, st, opts...)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { r.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	return r
}

// loadedReplica is a replica loaded once (Sync) but not Run: nothing
// reloads it from Redis behind the test's back. A running replica reloads
// when its subscription connects, and Redis keeps a denial until its real
// expiry, so a reload landing after a prune at a future time puts the
// entry back (a race CI once lost in TestReplica_Prune).
func loadedReplica(t *testing.T, st revocation.SyncStore, opts ...replicaOpt) *revocation.Replica {
	t.Helper()
	cfg := revocation.ReplicaConfig{
		Store: st, Leeway: 30 * time.Second, MaxStaleness: 5 * time.Minute,
		ResyncInterval: time.Hour, Heartbeat: 50 * time.Millisecond,
	}
	for _, o := range opts {
		o(&cfg)
	}
	r := revocation.NewReplica(cfg)
	require.NoError(t, r.Sync(context.Background()))
	return r
}

func claims(now time.Time, mut ...func(*token.Claims)) *token.Claims {
	c := &token.Claims{Kind: token.KindEmbed, DashboardID: "sales", ClientID: "sales"}
	// jtis are UUIDs, as the issuer mints them (the replica keeps those as
	// 16 bytes); registered ids below exercise the string path.
	c.ID = uuid.NewString()
	c.IssuedAt = jwt.NewNumericDate(now.Add(-time.Minute))
	c.ExpiresAt = jwt.NewNumericDate(now.Add(time.Hour))
	for _, m := range mut {
		m(c)
	}
	return c
}

// eventually polls cond until it holds or the deadline passes.
func eventually(t *testing.T, what string, cond func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	deadline := start.Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within 5s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
	return time.Since(start)
}

func TestReplica_Propagation(t *testing.T) {
	srv := redisserver.Start(t)
	a := startReplica(t, newStore(t, srv, "p:"))
	b := startReplica(t, newStore(t, srv, "p:"))
	ctx := context.Background()
	now := time.Now()

	t.Run("Deny", func(t *testing.T) {
		c := claims(now)
		require.NoError(t, a.Check(ctx, c))
		require.NoError(t, b.Check(ctx, c))
		require.NoError(t, a.Revoke(ctx, c))
		require.ErrorIs(t, a.Check(ctx, c), token.ErrRevoked, "the revoking instance honours it before answering")
		d := eventually(t, "B honours A's revocation", func() bool { return errors.Is(b.Check(ctx, c), token.ErrRevoked) })
		t.Logf("propagation A→B: %s", d)
	})
	t.Run("RegisteredID", func(t *testing.T) {
		c := claims(now, func(c *token.Claims) { c.TID = "rec-1"; c.ExpiresAt = nil })
		require.NoError(t, b.Check(ctx, c))
		require.NoError(t, a.Revoke(ctx, &token.Claims{RegisteredClaims: jwt.RegisteredClaims{ID: "rec-1"}}))
		eventually(t, "B honours a denied record id", func() bool { return errors.Is(b.Check(ctx, c), token.ErrRevoked) })
	})
	t.Run("Cutoffs", func(t *testing.T) {
		tests := []struct {
			name  string
			cut   revocation.Cutoff
			match func(*token.Claims)
			other func(*token.Claims)
		}{
			{"Subject", revocation.Cutoff{Dim: revocation.DimSubject, ID: "alice"},
				func(c *token.Claims) { c.Subject = "alice" }, func(c *token.Claims) { c.Subject = "bob" }},
			{"ClientSubject", revocation.ClientSubject("tenant-a", "carol"),
				func(c *token.Claims) { c.Subject, c.ClientID = "carol", "tenant-a" }, func(c *token.Claims) { c.Subject, c.ClientID = "carol", "tenant-b" }},
			{"Dashboard", revocation.Cutoff{Dim: revocation.DimDashboard, ID: "leaked"},
				func(c *token.Claims) { c.DashboardID = "leaked" }, func(c *token.Claims) { c.DashboardID = "fine" }},
			{"App", revocation.Cutoff{Dim: revocation.DimApp, ID: "app1"},
				func(c *token.Claims) { c.Kind, c.DashboardID, c.AppID = token.KindAppView, "", "app1" }, func(c *token.Claims) { c.Kind, c.DashboardID, c.AppID = token.KindAppView, "", "app2" }},
			{"Report", revocation.Cutoff{Dim: revocation.DimReport, ID: "r1"},
				func(c *token.Claims) { c.Kind, c.DashboardID, c.ReportID = token.KindReport, "", "r1" }, func(c *token.Claims) { c.Kind, c.DashboardID, c.ReportID = token.KindReport, "", "r2" }},
			{"Client", revocation.Cutoff{Dim: revocation.DimClient, ID: "offboarded"},
				func(c *token.Claims) { c.ClientID = "offboarded" }, func(c *token.Claims) { c.ClientID = "staying" }},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				before := claims(now, tt.match)
				untouched := claims(now, tt.other)
				at, err := a.RevokeAll(ctx, tt.cut)
				require.NoError(t, err)
				require.ErrorIs(t, a.Check(ctx, before), token.ErrRevoked)
				eventually(t, "B honours the cutoff", func() bool { return errors.Is(b.Check(ctx, before), token.ErrRevoked) })
				require.NoError(t, b.Check(ctx, untouched), "other subjects/resources are untouched")
				after := claims(now, tt.match, func(c *token.Claims) { c.IssuedAt = jwt.NewNumericDate(at.Add(time.Second)) })
				require.NoError(t, b.Check(ctx, after), "tokens issued after the cutoff are live")
			})
		}
	})
}

func TestReplica_LoadsExistingState(t *testing.T) {
	srv := redisserver.Start(t)
	st := newStore(t, srv, "l:")
	ctx := context.Background()
	now := time.Now()
	revoked := claims(now)
	require.NoError(t, st.Deny(ctx, revoked.ID, now.Add(time.Hour)))
	require.NoError(t, st.SetCutoff(ctx, "sub:dave", now))
	r := startReplica(t, st)
	require.ErrorIs(t, r.Check(ctx, revoked), token.ErrRevoked)
	require.ErrorIs(t, r.Check(ctx, claims(now, func(c *token.Claims) { c.Subject = "dave" })), token.ErrRevoked)
	require.NoError(t, r.Check(ctx, claims(now)))
	denied, cutoffs := r.Size()
	require.Equal(t, 1, denied)
	require.Equal(t, 1, cutoffs)
}

func TestReplica_RedisDown(t *testing.T) {
	srv := redisserver.Start(t)
	clk := testclock.Wall()
	r := startReplica(t, newStore(t, srv, "d:"), func(c *revocation.ReplicaConfig) {
		c.Now = clk.Now
		c.MaxStaleness = time.Minute
	})
	ctx := context.Background()
	revoked := claims(clk.Now())
	require.NoError(t, r.Revoke(ctx, revoked))
	live := claims(clk.Now())

	srv.Kill()
	eventually(t, "subscription loss noticed", r.Degraded)

	t.Run("VerifiesFromReplica", func(t *testing.T) {
		require.NoError(t, r.Check(ctx, live))
		require.ErrorIs(t, r.Check(ctx, revoked), token.ErrRevoked)
	})
	t.Run("ErrRevokeUnavailable", func(t *testing.T) {
		c := claims(clk.Now())
		err := r.Revoke(ctx, c)
		require.ErrorIs(t, err, revocation.ErrUnavailable)
		require.NoError(t, r.Check(ctx, c), "an unacknowledged revocation is not applied locally either")
	})
	t.Run("ErrStaleFailsClosed", func(t *testing.T) {
		clk.Advance(2 * time.Minute)
		err := r.Check(ctx, live)
		require.ErrorIs(t, err, revocation.ErrUnavailable)
		require.NotErrorIs(t, err, token.ErrInvalidToken, "a stale replica is the server's problem (503), not the token's")
	})
	t.Run("RecoversAfterRestart", func(t *testing.T) {
		srv.Restart(t)
		eventually(t, "replica fresh again", func() bool { return r.Check(ctx, live) == nil })
		require.ErrorIs(t, r.Check(ctx, revoked), token.ErrRevoked)
	})
}

// A Redis that comes back empty (no persistence) is re-seeded from a live
// replica, so a fresh instance still sees every earlier revocation.
func TestReplica_EmptyAgainReseeds(t *testing.T) {
	srv := redisserver.Start(t)
	ctx := context.Background()
	a := startReplica(t, newStore(t, srv, "e:"), func(c *revocation.ReplicaConfig) { c.ResyncInterval = 100 * time.Millisecond })
	now := time.Now()
	revoked := claims(now)
	forever := claims(now, func(c *token.Claims) {
		c.ExpiresAt = nil
		c.Kind, c.DashboardID, c.ReportID = token.KindReport, "", "r1"
	})
	require.NoError(t, a.Revoke(ctx, revoked))
	require.NoError(t, a.Revoke(ctx, forever))
	_, err := a.RevokeAll(ctx, revocation.Cutoff{Dim: revocation.DimSubject, ID: "erin"})
	require.NoError(t, err)

	srv.Kill()
	srv.Restart(t) // no persistence: Redis is empty now
	st := newStore(t, srv, "e:")
	eventually(t, "epoch re-established", func() bool { e, err := st.Epoch(ctx); return err == nil && e != "" })
	eventually(t, "denylist re-seeded", func() bool { d, err := st.IsDenied(ctx, revoked.ID); return err == nil && d })

	fresh := startReplica(t, st)
	require.ErrorIs(t, fresh.Check(ctx, revoked), token.ErrRevoked)
	require.ErrorIs(t, fresh.Check(ctx, forever), token.ErrRevoked)
	require.ErrorIs(t, fresh.Check(ctx, claims(now, func(c *token.Claims) { c.Subject = "erin" })), token.ErrRevoked)
}

func TestReplica_Prune(t *testing.T) {
	srv := redisserver.Start(t)
	clk := testclock.Wall()
	ctx := context.Background()
	r := loadedReplica(t, newStore(t, srv, "x:"), func(c *revocation.ReplicaConfig) { c.Now = clk.Now; c.Leeway = 0 })
	short := claims(clk.Now(), func(c *token.Claims) { c.ExpiresAt = jwt.NewNumericDate(clk.Now().Add(2 * time.Second)) })
	require.NoError(t, r.Revoke(ctx, short))
	require.Equal(t, 0, r.Prune(clk.Now()))
	require.Equal(t, 1, r.Prune(clk.Now().Add(3*time.Second)))
	denied, _ := r.Size()
	require.Equal(t, 0, denied)
}

// TestReplica_PruneKeepsSurvivorsDenied: a prune rebuilds the denylist's
// filter from the entries that stay, so a denial that outlives the prune
// is still honoured after it (a filter cleared without its survivors would
// let them through), while the pruned one is gone.
func TestReplica_PruneKeepsSurvivorsDenied(t *testing.T) {
	srv := redisserver.Start(t)
	clk := testclock.Wall()
	r := loadedReplica(t, newStore(t, srv, "ps:"), func(c *revocation.ReplicaConfig) { c.Now = clk.Now; c.Leeway = 0 })
	ctx := context.Background()
	short := claims(clk.Now(), func(c *token.Claims) { c.ExpiresAt = jwt.NewNumericDate(clk.Now().Add(2 * time.Second)) })
	long := make([]*token.Claims, 50)
	for i := range long {
		long[i] = claims(clk.Now())
		require.NoError(t, r.Revoke(ctx, long[i]))
	}
	require.NoError(t, r.Revoke(ctx, short))
	require.Equal(t, 1, r.Prune(clk.Now().Add(3*time.Second)))
	for _, c := range long {
		require.ErrorIs(t, r.Check(ctx, c), token.ErrRevoked)
	}
	denied, _ := r.Size()
	require.Equal(t, len(long), denied)
}

// TestReplica_Ledger hammers revoke, revoke-all, check and resync from many
// goroutines (run it with -race) and keeps a ledger: once a revocation is
// acknowledged, no check on the same instance may pass it, and the other
// instance must honour it within the propagation bound.
func TestReplica_Ledger(t *testing.T) {
	srv := redisserver.Start(t)
	ctx := context.Background()
	a := startReplica(t, newStore(t, srv, "g:"), func(c *revocation.ReplicaConfig) { c.ResyncInterval = 50 * time.Millisecond })
	b := startReplica(t, newStore(t, srv, "g:"), func(c *revocation.ReplicaConfig) { c.ResyncInterval = 70 * time.Millisecond })
	now := time.Now()

	const writers, perWriter = 4, 50
	var (
		mu     sync.Mutex
		ledger []*token.Claims
	)
	var violations atomic.Int64
	stop := make(chan struct{})
	var readers sync.WaitGroup
	for i := 0; i < 4; i++ {
		readers.Add(1)
		go func() {
			defer readers.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				mu.Lock()
				acked := append([]*token.Claims(nil), ledger...)
				mu.Unlock()
				for _, c := range acked {
					if !errors.Is(a.Check(ctx, c), token.ErrRevoked) {
						violations.Add(1)
					}
				}
				_ = b.Check(ctx, claims(now))
			}
		}()
	}
	var wg sync.WaitGroup
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; i < perWriter; i++ {
				c := claims(now, func(c *token.Claims) { c.Subject = fmt.Sprintf("u%d-%d", w, i) })
				if i%10 == 0 {
					_, err := a.RevokeAll(ctx, revocation.Cutoff{Dim: revocation.DimSubject, ID: c.Subject})
					require.NoError(t, err)
				} else {
					require.NoError(t, a.Revoke(ctx, c))
				}
				mu.Lock()
				ledger = append(ledger, c)
				mu.Unlock()
				if i%7 == 0 {
					require.NoError(t, a.Sync(ctx))
				}
			}
		}(w)
	}
	wg.Wait()
	close(stop)
	readers.Wait()
	require.Zero(t, violations.Load(), "a check passed a token after its revocation was acknowledged on the same instance")
	require.Len(t, ledger, writers*perWriter)
	for _, c := range ledger {
		eventually(t, "B honours "+c.ID, func() bool { return errors.Is(b.Check(ctx, c), token.ErrRevoked) })
	}
}

// TestReplica_LoadsLargeDenylist is the load path of a large denylist at a
// small scale (make bench-denylist runs it with ten million entries): 12,000
// jti denials and some of other ids, written to a real Redis by the store,
// are read by Sync in batches of 2,500 into arrays outside the heap. Every
// denied id answers revoked, ids never denied do not, a second Sync
// (the periodic reload) adds nothing, and a later event that would shorten
// an entry does not.
func TestReplica_LoadsLargeDenylist(t *testing.T) {
	t.Cleanup(revocation.SetLoadSizes(2500, 64))
	srv := redisserver.Start(t)
	st := newStore(t, srv, "big:")
	ctx := context.Background()
	now := time.Now()
	const n = 12_000
	ids := make([]string, n)
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for w := range 8 {
		wg.Go(func() {
			for i := w; i < n; i += 8 {
				id := uuid.NewString()
				if i%3 == 0 {
					id = uuid.Must(uuid.NewV7()).String()
				}
				ids[i] = id
				exp := now.Add(time.Hour + time.Duration(i)*time.Millisecond)
				if i%10 == 0 {
					exp = time.Time{} // never expires
				}
				if err := st.Deny(ctx, id, exp); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	require.NoError(t, <-errs)
	others := []string{"rec-1", "not-a-uuid", "0190F4A2-7B8C-7D3E-9F00-12345678"}
	for _, id := range others {
		require.NoError(t, st.Deny(ctx, id, now.Add(time.Hour)))
	}

	r := startReplica(t, st)
	denied, _ := r.Size()
	require.Equal(t, n+len(others), denied)
	for i, id := range ids {
		require.ErrorIs(t, r.Check(ctx, claims(now, func(c *token.Claims) { c.ID = id })), token.ErrRevoked, i)
	}
	for _, id := range others {
		require.ErrorIs(t, r.Check(ctx, claims(now, func(c *token.Claims) { c.ID = "x"; c.TID = id })), token.ErrRevoked, id)
	}
	for range 200 {
		require.NoError(t, r.Check(ctx, claims(now)))
	}

	require.NoError(t, r.Sync(ctx))
	denied, _ = r.Size()
	require.Equal(t, n+len(others), denied)

	// An earlier expiry for a denied id leaves it denied until its own.
	require.NoError(t, st.Deny(ctx, ids[1], now.Add(time.Minute)))
	require.NoError(t, r.Sync(ctx))
	require.Equal(t, 0, r.Prune(now.Add(2*time.Minute)))
	require.ErrorIs(t, r.Check(ctx, claims(now, func(c *token.Claims) { c.ID = ids[1] })), token.ErrRevoked)
	// Past every expiry only the never-expiring entries are left.
	dropped := r.Prune(now.Add(2 * time.Hour))
	require.Equal(t, n-n/10+len(others), dropped)
	denied, _ = r.Size()
	require.Equal(t, n/10, denied)
	require.ErrorIs(t, r.Check(ctx, claims(now, func(c *token.Claims) { c.ID = ids[0] })), token.ErrRevoked)
}
