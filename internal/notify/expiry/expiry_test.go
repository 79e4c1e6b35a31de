package expiry_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sigil-dev/sigil/internal/notify"
	"github.com/sigil-dev/sigil/internal/notify/expiry"
	"github.com/sigil-dev/sigil/internal/registry"
	"github.com/sigil-dev/sigil/internal/store/memory"
	"github.com/sigil-dev/sigil/internal/store/redis"
	"github.com/sigil-dev/sigil/internal/testclock"
	"github.com/sigil-dev/sigil/internal/token"
	"github.com/sigil-dev/sigil/test/redisserver"
)

var t0 = time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)

const day = 24 * time.Hour

// recorder is an Emitter that keeps every emission (duplicates included:
// it counts what the scanner emits, not what an outbox would keep).
type recorder struct {
	mu     sync.Mutex
	events []notify.Event
}

func (r *recorder) Emit(_ context.Context, evs ...notify.Event) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, evs...)
	return nil
}

func (r *recorder) ids() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := []string{}
	for _, e := range r.events {
		out = append(out, e.ID)
	}
	return out
}

func (r *recorder) types() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := []string{}
	for _, e := range r.events {
		t := e.Type
		if l := e.Data["lead"]; l != "" {
			t += "/" + l
		}
		out = append(out, t)
	}
	return out
}

// backend is one store kind the scanner runs on; open returns a store on
// the same data each time (a "restart" opens it again).
type backend struct {
	name string
	open func(t *testing.T, clk *testclock.Clock) func() expiry.Store
}

func backends(t *testing.T) []backend {
	srv := redisserver.Start(t)
	return []backend{
		{"memory", func(_ *testing.T, clk *testclock.Clock) func() expiry.Store {
			st := memory.NewRegistry(clk.Now) // memory: a restart keeps nothing; the same object stands for "the same data"
			return func() expiry.Store { return st }
		}},
		{"redis", func(t *testing.T, clk *testclock.Clock) func() expiry.Store {
			prefix := fmt.Sprintf("test:%s:", t.Name())
			return func() expiry.Store {
				c := goredis.NewClient(&goredis.Options{Addr: srv.Addr()})
				t.Cleanup(func() { _ = c.Close() })
				return redis.New(c, prefix, redis.WithNow(clk.Now))
			}
		}},
	}
}

// apiToken stores a generated API token record generated at gen and
// expiring after life.
func apiToken(t *testing.T, st expiry.Store, id string, gen time.Time, life time.Duration) {
	t.Helper()
	exp := gen.Add(life)
	r := registry.Record{
		ID: id, Type: token.KindAPI, Name: "token " + id, Owner: "alice", Scopes: []string{"meta:read"},
		Status: registry.StatusGeneratedInactive, CreatedAt: gen, GeneratedAt: &gen, ExpiresAt: &exp,
		CreatedBy: "envizi", JTI: "jti-" + id, TokenHint: "abcdef",
	}
	require.NoError(t, st.(registry.Store).CreateRecord(context.Background(), r))
}

func newScanner(t *testing.T, st expiry.Store, em notify.Emitter, clk *testclock.Clock, holder string) *expiry.Scanner {
	t.Helper()
	s, err := expiry.New(expiry.Config{Store: st, Emitter: em, Now: clk.Now, Holder: holder, Interval: time.Minute})
	require.NoError(t, err)
	return s
}

// TestScanner_WarningsOnceAcrossRestarts: a 30-day token gets the 7-day
// warning once, then the 1-day warning once, then token.expired once; a
// scanner started anew (a restart) between them resends nothing.
func TestScanner_WarningsOnceAcrossRestarts(t *testing.T) {
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			ctx := context.Background()
			clk := testclock.New(t0)
			open := b.open(t, clk)
			st := open()
			apiToken(t, st, "tok-30d", t0, 30*day)
			apiToken(t, st, "tok-never-gen", t0, 30*day)
			never := registry.Record{ID: "tok-nogen", Type: token.KindAPI, Name: "nogen", Owner: "alice", Status: registry.StatusNotGenerated, CreatedAt: t0,
				ExpiresAt: ptr(t0.Add(30 * day))}
			require.NoError(t, st.(registry.Store).CreateRecord(ctx, never))
			em := &recorder{}
			run := func(s *expiry.Scanner) int {
				t.Helper()
				n, err := s.RunOnce(ctx)
				require.NoError(t, err)
				return n
			}
			s := newScanner(t, st, em, clk, "a")
			assert.Zero(t, run(s), "nothing due at generation")
			clk.Set(t0.Add(22 * day))
			assert.Zero(t, run(s), "8 days left: not yet")
			clk.Set(t0.Add(23*day + time.Hour))
			assert.Equal(t, 2, run(s), "both generated tokens enter the 7-day window")
			assert.Zero(t, run(s), "sent once")

			// Restart: a new store client and a new scanner (another holder once the lease ran out).
			clk.Advance(time.Hour)
			s2 := newScanner(t, open(), em, clk, "a")
			assert.Zero(t, run(s2), "a restart does not resend the 7-day warning")

			clk.Set(t0.Add(29*day + time.Hour))
			assert.Equal(t, 2, run(s2), "1-day warnings")
			assert.Zero(t, run(s2))
			clk.Set(t0.Add(30*day + time.Minute))
			assert.Equal(t, 2, run(s2), "expired")
			clk.Advance(time.Hour)
			require.NoError(t, s2.Release(ctx), "a graceful stop gives the lease up")
			assert.Zero(t, run(newScanner(t, open(), em, clk, "b")), "another instance resends nothing either")

			assert.Equal(t, []string{
				"token.expiring/168h", "token.expiring/168h", "token.expiring/24h", "token.expiring/24h", "token.expired", "token.expired",
			}, em.types())
			ids := em.ids()
			assert.Contains(t, ids, "expiring.tok-30d."+fmt.Sprint(t0.UnixMilli())+".168h", "the id is derived from token, generation and lead")
			seen := map[string]bool{}
			for _, id := range ids {
				assert.False(t, seen[id], "event %s emitted twice", id)
				seen[id] = true
			}
			e := em.events[0]
			require.NotNil(t, e.Token)
			assert.Equal(t, "alice", e.Owner)
			assert.NotContains(t, fmt.Sprintf("%+v", e), "jti-", "events never carry the jti")
		})
	}
}

// TestScanner_Rules: tokens whose lifetime is within a lead get no warning
// for it; a token found already inside the 1-day window gets the 1-day
// warning only; a revoked token and a regenerated one are handled by their
// current state (a new generation is a new warning).
func TestScanner_Rules(t *testing.T) {
	ctx := context.Background()
	clk := testclock.New(t0)
	st := memory.NewRegistry(clk.Now)
	em := &recorder{}
	s := newScanner(t, st, em, clk, "a")
	_, err := s.RunOnce(ctx) // first run: cursors at t0
	require.NoError(t, err)
	apiToken(t, st, "d1", t0, day)     // a 1-day token: no warnings at all
	apiToken(t, st, "d7", t0, 7*day)   // a 7-day token: the 1-day warning only
	apiToken(t, st, "d30", t0, 30*day) // regenerated below
	apiToken(t, st, "rev", t0, 10*day) // revoked below
	clk.Set(t0.Add(6*day + time.Hour)) // d7 has 23h left, rev 3d23h
	r, _ := st.GetRecord(ctx, "rev")
	r.Status = registry.StatusRevoked
	require.NoError(t, st.UpdateRecord(ctx, r))
	_, err = s.RunOnce(ctx)
	require.NoError(t, err)
	assert.Equal(t, []string{"expiring.d7." + fmt.Sprint(t0.UnixMilli()) + ".24h", "expired.d1." + fmt.Sprint(t0.UnixMilli())}, em.ids(),
		"d1 got no warning but its expiry; rev nothing")

	// d30 enters its 7-day window, is warned, then regenerated (new
	// generation, new expiry 30 days on): the new generation is warned again later.
	clk.Set(t0.Add(23*day + time.Hour))
	_, err = s.RunOnce(ctx)
	require.NoError(t, err)
	require.Contains(t, em.ids(), "expiring.d30."+fmt.Sprint(t0.UnixMilli())+".168h")
	r, _ = st.GetRecord(ctx, "d30")
	gen := clk.Now()
	r.GeneratedAt, r.ExpiresAt, r.JTI = &gen, ptr(gen.Add(30*day)), "jti-2"
	require.NoError(t, st.UpdateRecord(ctx, r))
	clk.Set(gen.Add(23*day + time.Hour))
	_, err = s.RunOnce(ctx)
	require.NoError(t, err)
	assert.Contains(t, em.ids(), "expiring.d30."+fmt.Sprint(gen.UnixMilli())+".168h")
}

// countingStore counts the records the scanner reads.
type countingStore struct {
	expiry.Store
	gets atomic.Int64
}

func (c *countingStore) GetRecord(ctx context.Context, id string) (registry.Record, error) {
	c.gets.Add(1)
	return c.Store.GetRecord(ctx, id)
}

// TestScanner_ReadsOnlyTheWindow: with 2000 tokens expiring in 60-90 days
// and 3 entering the 7-day window, a run reads those 3 records (and the
// expired ones), not the 2000.
func TestScanner_ReadsOnlyTheWindow(t *testing.T) {
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			ctx := context.Background()
			clk := testclock.New(t0)
			st := b.open(t, clk)()
			em := &recorder{}
			cs := &countingStore{Store: st}
			s := newScanner(t, cs, em, clk, "a")
			_, err := s.RunOnce(ctx)
			require.NoError(t, err)
			for i := range 2000 {
				apiToken(t, st, fmt.Sprintf("far-%04d", i), t0, 60*day+time.Duration(i)*time.Hour/2)
			}
			for i := range 3 {
				apiToken(t, st, fmt.Sprintf("near-%d", i), t0, 10*day+time.Duration(i)*time.Hour)
			}
			clk.Set(t0.Add(3*day + 12*time.Hour))
			cs.gets.Store(0)
			n, err := s.RunOnce(ctx)
			require.NoError(t, err)
			assert.Equal(t, 3, n)
			assert.LessOrEqual(t, cs.gets.Load(), int64(6), "a run reads the window, not every record")
			t.Logf("figure: %d records read of 2003 for 3 warnings", cs.gets.Load())
		})
	}
}

// TestScanner_TwoScannersOneRedis: two scanners (two instances) on one
// Redis, running at once while the clock moves: every warning is emitted
// once in all (the lease), and the one without the lease says so.
func TestScanner_TwoScannersOneRedis(t *testing.T) {
	srv := redisserver.Start(t)
	ctx := context.Background()
	clk := testclock.New(t0)
	open := func() expiry.Store {
		c := goredis.NewClient(&goredis.Options{Addr: srv.Addr()})
		t.Cleanup(func() { _ = c.Close() })
		return redis.New(c, "two:", redis.WithNow(clk.Now))
	}
	stA, stB := open(), open()
	const tokens = 40
	for i := range tokens {
		apiToken(t, stA, fmt.Sprintf("tok-%02d", i), t0, 20*day+time.Duration(i)*time.Hour)
	}
	em := &recorder{}
	a, b := newScanner(t, stA, em, clk, "instance-a"), newScanner(t, stB, em, clk, "instance-b")
	var notLeader atomic.Int64
	for step := range 60 { // to 30 days on, 12 hours at a time
		clk.Set(t0.Add(time.Duration(step) * 12 * time.Hour))
		var wg sync.WaitGroup
		for _, s := range []*expiry.Scanner{a, b} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, err := s.RunOnce(ctx)
				if err == expiry.ErrNotLeader {
					notLeader.Add(1)
					return
				}
				assert.NoError(t, err)
			}()
		}
		wg.Wait()
	}
	counts := map[string]int{}
	for _, id := range em.ids() {
		counts[id]++
	}
	assert.Len(t, counts, 3*tokens, "a 7-day and a 1-day warning and an expiry per token")
	for id, n := range counts {
		assert.Equal(t, 1, n, "event %s emitted %d times", id, n)
	}
	assert.Positive(t, notLeader.Load(), "the second scanner found the lease taken")
}

func ptr(t time.Time) *time.Time { return &t }

// failing is an Emitter that fails while down is set (an outbox whose store
// is unreachable), then records.
type failing struct {
	recorder
	down atomic.Bool
}

func (f *failing) Emit(ctx context.Context, evs ...notify.Event) error {
	if f.down.Load() {
		return errors.New("outbox unavailable")
	}
	return f.recorder.Emit(ctx, evs...)
}

// TestScanner_EmitFailureLosesNothing: while the outbox refuses events the
// run fails and neither the cursor nor a sent mark moves past them; the
// next run emits each once.
func TestScanner_EmitFailureLosesNothing(t *testing.T) {
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			ctx := context.Background()
			clk := testclock.New(t0)
			st := b.open(t, clk)()
			em := &failing{}
			s := newScanner(t, st, em, clk, "a")
			_, err := s.RunOnce(ctx)
			require.NoError(t, err)
			for i := range 5 {
				apiToken(t, st, fmt.Sprintf("t%d", i), t0, 30*day+time.Duration(i)*time.Hour)
			}
			clk.Set(t0.Add(23*day + 6*time.Hour))
			em.down.Store(true)
			_, err = s.RunOnce(ctx)
			require.Error(t, err)
			_, err = s.RunOnce(ctx)
			require.Error(t, err)
			em.down.Store(false)
			n, err := s.RunOnce(ctx)
			require.NoError(t, err)
			assert.Equal(t, 5, n, "every warning once the outbox is back")
			n, err = s.RunOnce(ctx)
			require.NoError(t, err)
			assert.Zero(t, n)
			assert.Len(t, em.ids(), 5)
		})
	}
}
