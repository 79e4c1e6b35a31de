package storetest

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sigil-dev/sigil/internal/clients"
	"github.com/sigil-dev/sigil/internal/revocation"
	"github.com/sigil-dev/sigil/internal/testclock"
)

// Store is what a storage backend provides: client records, the denylist and cutoffs.
type Store interface {
	clients.Store
	revocation.Store
}

// RealTTL is implemented by a Store under test (or a test wrapper around it)
// whose denylist entries expire in real time, as Redis keys do, rather than by
// the injected clock. For such a store the suite does not advance the clock
// to expire entries: it reads each entry's remaining lifetime and waits, with
// a bounded deadline, for a short-lived entry to vanish.
type RealTTL interface {
	// DenyTTL returns the remaining lifetime of id's denylist entry: ok is
	// false when there is no entry, and ttl is negative when it never expires.
	DenyTTL(t *testing.T, id string) (ttl time.Duration, ok bool)
}

// Run runs the contract suite. newStore must return a new, empty store that
// reads the time from now; the suite advances now to test expiry. Stores
// whose entries expire in real time must implement RealTTL. Subtests run in
// parallel, each with its own store and clock.
func Run(t *testing.T, newStore func(t *testing.T, now func() time.Time) Store) {
	t.Helper()
	t.Run("Clients", func(t *testing.T) {
		t.Parallel()
		for _, tc := range clientCases {
			t.Run(tc.name, func(t *testing.T) {
				t.Parallel()
				tc.run(t, newStore(t, newClock().Now))
			})
		}
	})
	t.Run("Denylist", func(t *testing.T) {
		t.Parallel()
		for _, tc := range denyCases {
			t.Run(tc.name, func(t *testing.T) {
				t.Parallel()
				clk := newClock()
				tc.run(t, newStore(t, clk.Now), clk)
			})
		}
	})
}

// newClock starts at the current second, so that a store with real TTLs,
// which derives them from this clock, gets the durations the suite means.
func newClock() *testclock.Clock { return testclock.New(time.Now().UTC().Truncate(time.Second)) }

var clientCases = []struct {
	name string
	run  func(t *testing.T, s Store)
}{
	{"CreateGet", testCreateGet},
	{"ErrAlreadyExists", testCreateDuplicate},
	{"ErrNotFound", testNotFound},
	{"List", testList},
	{"Update", testUpdate},
	{"Delete", testDelete},
	{"Copies", testCopies},
}

var denyCases = []struct {
	name string
	run  func(t *testing.T, s Store, clk *testclock.Clock)
}{
	{"IsDenied", testIsDenied},
	{"Expiry", testExpiry},
	{"Never", testNever},
	{"KeepsLatest", testKeepsLatest},
	{"PastIsNoop", testPastIsNoop},
	{"Concurrent", testConcurrent},
	{"Ping", testPing},
	{"DenyOnce", testDenyOnce},
	{"DenyOnceConcurrent", testDenyOnceConcurrent},
	{"FarFuture", testFarFuture},
	{"Cutoffs", testCutoffs},
	{"CutoffsKeepLatest", testCutoffsKeepLatest},
	{"CutoffsApartFromDenylist", testCutoffsApart},
	{"CutoffsConcurrent", testCutoffsConcurrent},
}

// created is the fixed creation time of sample clients: UTC, whole seconds,
// as clients.Service writes it.
var created = time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)

func sample(id string) clients.Client {
	return clients.Client{
		ID:             id,
		Name:           "client " + id,
		Role:           clients.RoleIssuer,
		Resources:      []string{"dashboard:" + id, "app:analytics:*"},
		Scopes:         []string{"meta:read", "report:read"},
		MaxTokenExpiry: 3600,
		SecretHash:     []byte{0xde, 0xad, 0xbe, 0xef, 0x01},
		CreatedAt:      created,
	}
}

func testCreateGet(t *testing.T, s Store) {
	ctx := context.Background()
	want := sample("c1")
	require.NoError(t, s.CreateClient(ctx, want))
	got, err := s.GetClient(ctx, "c1")
	require.NoError(t, err)
	assert.Equal(t, want, got)

	admin := clients.Client{ID: "admin", Role: clients.RoleAdmin, Resources: []string{}, Scopes: []string{}, SecretHash: []byte{1}, CreatedAt: created}
	require.NoError(t, s.CreateClient(ctx, admin))
	got, err = s.GetClient(ctx, "admin")
	require.NoError(t, err)
	assert.Equal(t, admin, got, "empty slices stay empty, not nil")
}

func testCreateDuplicate(t *testing.T, s Store) {
	ctx := context.Background()
	first := sample("dup")
	require.NoError(t, s.CreateClient(ctx, first))

	second := sample("dup")
	second.Name = "impostor"
	err := s.CreateClient(ctx, second)
	require.ErrorIs(t, err, clients.ErrAlreadyExists)
	assert.NotErrorIs(t, err, revocation.ErrUnavailable)

	got, err := s.GetClient(ctx, "dup")
	require.NoError(t, err)
	assert.Equal(t, first, got, "the first record is untouched")
	list, err := s.ListClients(ctx)
	require.NoError(t, err)
	assert.Len(t, list, 1)
}

func testNotFound(t *testing.T, s Store) {
	ctx := context.Background()
	_, err := s.GetClient(ctx, "ghost")
	assert.ErrorIs(t, err, clients.ErrNotFound)
	assert.ErrorIs(t, s.UpdateClient(ctx, sample("ghost")), clients.ErrNotFound)
	assert.ErrorIs(t, s.DeleteClient(ctx, "ghost"), clients.ErrNotFound)

	_, err = s.GetClient(ctx, "ghost")
	assert.ErrorIs(t, err, clients.ErrNotFound, "a failed update creates nothing")
	list, err := s.ListClients(ctx)
	require.NoError(t, err)
	assert.Empty(t, list)
}

func testList(t *testing.T, s Store) {
	ctx := context.Background()
	list, err := s.ListClients(ctx)
	require.NoError(t, err)
	assert.Empty(t, list)

	for _, id := range []string{"m", "b", "z", "a", "dashboard-9", "dashboard-10"} {
		require.NoError(t, s.CreateClient(ctx, sample(id)))
	}
	list, err = s.ListClients(ctx)
	require.NoError(t, err)
	assert.Equal(t, []string{"a", "b", "dashboard-10", "dashboard-9", "m", "z"}, ids(list), "ordered by ID")
	assert.Equal(t, sample("m"), list[4], "full records")
}

func testUpdate(t *testing.T, s Store) {
	ctx := context.Background()
	require.NoError(t, s.CreateClient(ctx, sample("u")))
	require.NoError(t, s.CreateClient(ctx, sample("other")))

	upd := sample("u")
	upd.Name = "renamed"
	upd.Scopes = []string{"meta:read"}
	upd.SecretHash = []byte{9, 9, 9}
	require.NoError(t, s.UpdateClient(ctx, upd))

	got, err := s.GetClient(ctx, "u")
	require.NoError(t, err)
	assert.Equal(t, upd, got)
	got, err = s.GetClient(ctx, "other")
	require.NoError(t, err)
	assert.Equal(t, sample("other"), got, "other records are untouched")

	list, err := s.ListClients(ctx)
	require.NoError(t, err)
	assert.Equal(t, []string{"other", "u"}, ids(list))
	assert.Equal(t, upd, list[1])
}

func testDelete(t *testing.T, s Store) {
	ctx := context.Background()
	require.NoError(t, s.CreateClient(ctx, sample("d1")))
	require.NoError(t, s.CreateClient(ctx, sample("d2")))

	require.NoError(t, s.DeleteClient(ctx, "d1"))
	_, err := s.GetClient(ctx, "d1")
	assert.ErrorIs(t, err, clients.ErrNotFound)
	assert.ErrorIs(t, s.DeleteClient(ctx, "d1"), clients.ErrNotFound, "second delete")
	assert.ErrorIs(t, s.UpdateClient(ctx, sample("d1")), clients.ErrNotFound, "update after delete")

	list, err := s.ListClients(ctx)
	require.NoError(t, err)
	assert.Equal(t, []string{"d2"}, ids(list))

	again := sample("d1")
	again.Name = "reborn"
	require.NoError(t, s.CreateClient(ctx, again), "an id is free again once deleted")
	got, err := s.GetClient(ctx, "d1")
	require.NoError(t, err)
	assert.Equal(t, again, got)
	list, err = s.ListClients(ctx)
	require.NoError(t, err)
	assert.Equal(t, []string{"d1", "d2"}, ids(list))
}

func testCopies(t *testing.T, s Store) {
	ctx := context.Background()
	in := sample("cp")
	require.NoError(t, s.CreateClient(ctx, in))
	in.Resources[0], in.Scopes[0], in.SecretHash[0] = "mutated", "mutated", 0
	assertUnchanged := func(msg string) {
		t.Helper()
		got, err := s.GetClient(ctx, "cp")
		require.NoError(t, err)
		assert.Equal(t, sample("cp"), got, msg)
	}
	assertUnchanged("the caller's slices passed to CreateClient are not retained")

	got, err := s.GetClient(ctx, "cp")
	require.NoError(t, err)
	got.Resources[0], got.Scopes[0], got.SecretHash[0] = "mutated", "mutated", 0
	assertUnchanged("GetClient returns a copy")

	list, err := s.ListClients(ctx)
	require.NoError(t, err)
	require.Len(t, list, 1)
	list[0].Resources[0], list[0].Scopes[0], list[0].SecretHash[0] = "mutated", "mutated", 0
	assertUnchanged("ListClients returns copies")

	upd := sample("cp")
	require.NoError(t, s.UpdateClient(ctx, upd))
	upd.Resources[0], upd.Scopes[0], upd.SecretHash[0] = "mutated", "mutated", 0
	assertUnchanged("the caller's slices passed to UpdateClient are not retained")
}

func ids(cs []clients.Client) []string {
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = c.ID
	}
	return out
}

func testIsDenied(t *testing.T, s Store, clk *testclock.Clock) {
	ctx := context.Background()
	denied, err := s.IsDenied(ctx)
	require.NoError(t, err)
	assert.False(t, denied, "no ids")
	assertDenied(t, s, false, "jti-1")

	require.NoError(t, s.Deny(ctx, "tid-1", clk.Now().Add(time.Hour)))
	assertDenied(t, s, true, "tid-1")
	assertDenied(t, s, true, "jti-1", "tid-1")
	assertDenied(t, s, true, "tid-1", "jti-1")
	assertDenied(t, s, true, "a", "b", "c", "tid-1", "d")
	assertDenied(t, s, false, "jti-1", "tid-2")
	assertDenied(t, s, false, "TID-1")
	assertDenied(t, s, false, "tid-")
}

func testExpiry(t *testing.T, s Store, clk *testclock.Clock) {
	ctx := context.Background()
	const life = 2 * time.Second
	start := time.Now()
	require.NoError(t, s.Deny(ctx, "short", clk.Now().Add(life)))
	require.NoError(t, s.Deny(ctx, "long", clk.Now().Add(time.Hour)))
	assertDenied(t, s, true, "short")

	if rt, ok := s.(RealTTL); ok {
		ttl, ok := rt.DenyTTL(t, "short")
		require.True(t, ok, "entry exists")
		assert.Positive(t, ttl, "the entry has a TTL")
		assert.LessOrEqual(t, ttl, life, "TTL is expiresAt - now")

		// The entry was written after start, so it must live until start+life;
		// allow the backend 5 s past that to drop it.
		deadline := start.Add(life + 5*time.Second)
		for {
			d, err := s.IsDenied(ctx, "short")
			require.NoError(t, err)
			if !d {
				break
			}
			require.True(t, time.Now().Before(deadline), "entry still denied 5 s after it expired")
			time.Sleep(50 * time.Millisecond)
		}
		assert.GreaterOrEqual(t, time.Since(start), life-50*time.Millisecond, "entry vanished before it expired")
		assertDenied(t, s, true, "long")
		_, ok = rt.DenyTTL(t, "short")
		assert.False(t, ok, "the expired entry is gone from the backend")
	} else {
		clk.Advance(time.Second)
		assertDenied(t, s, true, "short")
		clk.Advance(999 * time.Millisecond)
		assertDenied(t, s, true, "short")
		clk.Advance(time.Millisecond)
		assertDenied(t, s, false, "short") // expiresAt itself is past the entry's life
		assertDenied(t, s, true, "short", "long")
		clk.Advance(time.Hour)
		assertDenied(t, s, false, "short", "long")
	}

	// An expired entry can be written again.
	require.NoError(t, s.Deny(ctx, "short", clk.Now().Add(time.Hour)))
	assertDenied(t, s, true, "short")
}

func testNever(t *testing.T, s Store, clk *testclock.Clock) {
	ctx := context.Background()
	require.NoError(t, s.Deny(ctx, "forever", time.Time{}))
	assertDenied(t, s, true, "forever")
	if rt, ok := s.(RealTTL); ok {
		ttl, ok := rt.DenyTTL(t, "forever")
		require.True(t, ok, "entry exists")
		assert.Negative(t, ttl, "a never-expiring entry has no TTL")
	} else {
		clk.Advance(100 * 365 * 24 * time.Hour)
		assertDenied(t, s, true, "forever")
	}
}

func testKeepsLatest(t *testing.T, s Store, clk *testclock.Clock) {
	ctx := context.Background()
	t0 := clk.Now()
	steps := []struct {
		id   string
		exps []time.Time // Deny calls in order
		want time.Time   // resulting expiry; zero = never
	}{
		{"later-then-earlier", []time.Time{t0.Add(time.Hour), t0.Add(30 * time.Minute)}, t0.Add(time.Hour)},
		{"earlier-then-later", []time.Time{t0.Add(30 * time.Minute), t0.Add(time.Hour)}, t0.Add(time.Hour)},
		{"same-twice", []time.Time{t0.Add(time.Hour), t0.Add(time.Hour)}, t0.Add(time.Hour)},
		{"time-then-never", []time.Time{t0.Add(time.Hour), {}}, time.Time{}},
		{"never-then-time", []time.Time{{}, t0.Add(time.Hour)}, time.Time{}},
		{"never-then-past", []time.Time{{}, t0.Add(-time.Hour)}, time.Time{}},
		{"time-then-past", []time.Time{t0.Add(time.Hour), t0.Add(-time.Hour)}, t0.Add(time.Hour)},
	}
	for _, st := range steps {
		for _, exp := range st.exps {
			require.NoError(t, s.Deny(ctx, st.id, exp), st.id)
		}
	}

	if rt, ok := s.(RealTTL); ok {
		for _, st := range steps {
			ttl, ok := rt.DenyTTL(t, st.id)
			require.True(t, ok, "%s: entry exists", st.id)
			if st.want.IsZero() {
				assert.Negative(t, ttl, "%s: never expires", st.id)
			} else {
				assert.InDelta(t, st.want.Sub(t0), ttl, float64(time.Minute), "%s: TTL", st.id)
			}
		}
		return
	}
	clk.Advance(time.Hour - time.Second)
	for _, st := range steps {
		assertDenied(t, s, true, st.id)
	}
	clk.Advance(time.Second)
	for _, st := range steps {
		assertDenied(t, s, st.want.IsZero(), st.id)
	}
	clk.Advance(100 * 365 * 24 * time.Hour)
	for _, st := range steps {
		assertDenied(t, s, st.want.IsZero(), st.id)
	}
}

func testPastIsNoop(t *testing.T, s Store, clk *testclock.Clock) {
	ctx := context.Background()
	require.NoError(t, s.Deny(ctx, "past", clk.Now().Add(-time.Second)))
	require.NoError(t, s.Deny(ctx, "now", clk.Now()))
	require.NoError(t, s.Deny(ctx, "long-ago", time.Unix(1, 0)))
	assertDenied(t, s, false, "past", "now", "long-ago")
	if rt, ok := s.(RealTTL); ok {
		for _, id := range []string{"past", "now", "long-ago"} {
			_, ok := rt.DenyTTL(t, id)
			assert.False(t, ok, "%s: nothing written", id)
		}
	}
}

func testConcurrent(t *testing.T, s Store, clk *testclock.Clock) {
	ctx := context.Background()
	const workers, perWorker = 16, 25
	t0 := clk.Now()
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := range perWorker {
				id := fmt.Sprintf("w%d-%d", w, i)
				if err := s.Deny(ctx, id, t0.Add(time.Hour)); err != nil {
					t.Errorf("Deny(%s): %v", id, err)
					return
				}
				// Every worker also races on one shared id, each with its own expiry.
				if err := s.Deny(ctx, "shared", t0.Add(time.Duration(w+1)*time.Minute)); err != nil {
					t.Errorf("Deny(shared): %v", err)
					return
				}
				denied, err := s.IsDenied(ctx, "unrelated", id)
				if err != nil || !denied {
					t.Errorf("IsDenied(%s) = %v, %v right after Deny", id, denied, err)
					return
				}
				other := fmt.Sprintf("w%d-%d", (w+1)%workers, i)
				if _, err := s.IsDenied(ctx, other, "shared"); err != nil {
					t.Errorf("IsDenied(%s): %v", other, err)
					return
				}
			}
		})
	}
	wg.Wait()

	for w := range workers {
		for i := range perWorker {
			assertDenied(t, s, true, fmt.Sprintf("w%d-%d", w, i))
		}
	}
	latest := time.Duration(workers) * time.Minute
	if rt, ok := s.(RealTTL); ok {
		ttl, ok := rt.DenyTTL(t, "shared")
		require.True(t, ok)
		assert.InDelta(t, latest, ttl, float64(30*time.Second), "the latest expiry won the race")
		return
	}
	clk.Advance(latest - time.Second)
	assertDenied(t, s, true, "shared")
	clk.Advance(time.Second)
	assertDenied(t, s, false, "shared")
}

func testPing(t *testing.T, s Store, _ *testclock.Clock) {
	assert.NoError(t, s.Ping(context.Background()))
}

func assertDenied(t *testing.T, s Store, want bool, ids ...string) {
	t.Helper()
	got, err := s.IsDenied(context.Background(), ids...)
	require.NoError(t, err, "IsDenied(%q)", ids)
	assert.Equal(t, want, got, "IsDenied(%q)", ids)
}

func testCutoffs(t *testing.T, s Store, clk *testclock.Clock) {
	ctx := context.Background()
	t0 := clk.Now()
	assertCutoff(t, s, time.Time{})
	assertCutoff(t, s, time.Time{}, "sub:alice", "client:c1")

	require.NoError(t, s.SetCutoff(ctx, "sub:alice", t0))
	assertCutoff(t, s, t0, "sub:alice")
	assertCutoff(t, s, t0, "client:c1", "sub:alice", "dashboard:d1")
	assertCutoff(t, s, time.Time{}, "sub:bob", "SUB:alice", "sub:alic")

	require.NoError(t, s.SetCutoff(ctx, "client:c1", t0.Add(time.Hour)))
	assertCutoff(t, s, t0.Add(time.Hour), "sub:alice", "client:c1")
	assertCutoff(t, s, t0.Add(time.Hour), "client:c1", "sub:alice")
	assertCutoff(t, s, t0, "sub:alice")

	// Keys hold any id, including the client-subject separator.
	odd := "clientsub:c1\nuser:with spaces/and:colons"
	require.NoError(t, s.SetCutoff(ctx, odd, t0.Add(time.Minute)))
	assertCutoff(t, s, t0.Add(time.Minute), odd)
	assertCutoff(t, s, time.Time{}, "clientsub:c1")

	// Cutoffs never expire.
	if _, real := s.(RealTTL); !real {
		clk.Advance(100 * 365 * 24 * time.Hour)
	}
	assertCutoff(t, s, t0.Add(time.Hour), "sub:alice", "client:c1", odd)

	assert.Error(t, s.SetCutoff(ctx, "sub:zero", time.Time{}), "a zero cutoff is refused")
	assertCutoff(t, s, time.Time{}, "sub:zero")
}

func testCutoffsKeepLatest(t *testing.T, s Store, clk *testclock.Clock) {
	ctx := context.Background()
	t0 := clk.Now()
	require.NoError(t, s.SetCutoff(ctx, "app:a", t0))
	require.NoError(t, s.SetCutoff(ctx, "app:a", t0.Add(-time.Hour)))
	assertCutoff(t, s, t0, "app:a")
	require.NoError(t, s.SetCutoff(ctx, "app:a", t0))
	assertCutoff(t, s, t0, "app:a")
	require.NoError(t, s.SetCutoff(ctx, "app:a", t0.Add(time.Second)))
	assertCutoff(t, s, t0.Add(time.Second), "app:a")
	require.NoError(t, s.SetCutoff(ctx, "app:a", t0.Add(1500*time.Millisecond)))
	assertCutoff(t, s, t0.Add(1500*time.Millisecond), "app:a", "app:b")
}

func testCutoffsApart(t *testing.T, s Store, clk *testclock.Clock) {
	ctx := context.Background()
	t0 := clk.Now()
	require.NoError(t, s.Deny(ctx, "sub:alice", time.Time{}))
	assertCutoff(t, s, time.Time{}, "sub:alice")
	require.NoError(t, s.SetCutoff(ctx, "report:r1", t0))
	assertDenied(t, s, false, "report:r1")
	assertDenied(t, s, true, "sub:alice")
}

func testCutoffsConcurrent(t *testing.T, s Store, clk *testclock.Clock) {
	ctx := context.Background()
	const workers = 16
	t0 := clk.Now()
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := range 10 {
				if err := s.SetCutoff(ctx, "sub:shared", t0.Add(time.Duration(w*10+i)*time.Second)); err != nil {
					t.Errorf("SetCutoff: %v", err)
					return
				}
				if _, err := s.LatestCutoff(ctx, "sub:other", "sub:shared"); err != nil {
					t.Errorf("LatestCutoff: %v", err)
					return
				}
			}
		})
	}
	wg.Wait()
	assertCutoff(t, s, t0.Add((workers*10-1)*time.Second), "sub:shared")
}

func assertCutoff(t *testing.T, s Store, want time.Time, keys ...string) {
	t.Helper()
	got, err := s.LatestCutoff(context.Background(), keys...)
	require.NoError(t, err, "LatestCutoff(%q)", keys)
	if want.IsZero() {
		assert.True(t, got.IsZero(), "LatestCutoff(%q) = %v, want none", keys, got)
		return
	}
	assert.True(t, want.Equal(got), "LatestCutoff(%q) = %v, want %v", keys, got, want)
}

func testDenyOnce(t *testing.T, s Store, clk *testclock.Clock) {
	ctx := context.Background()
	exp := clk.Now().Add(time.Hour)
	first, err := s.DenyOnce(ctx, "once-1", exp)
	require.NoError(t, err)
	require.True(t, first)
	assertDenied(t, s, true, "once-1")
	first, err = s.DenyOnce(ctx, "once-1", exp.Add(time.Hour))
	require.NoError(t, err)
	require.False(t, first, "a second DenyOnce of the same id is not first")

	require.NoError(t, s.Deny(ctx, "once-2", exp))
	first, err = s.DenyOnce(ctx, "once-2", exp)
	require.NoError(t, err)
	require.False(t, first, "an id denied by Deny is taken")

	first, err = s.DenyOnce(ctx, "once-never", time.Time{})
	require.NoError(t, err)
	require.True(t, first)
	first, err = s.DenyOnce(ctx, "once-never", time.Time{})
	require.NoError(t, err)
	require.False(t, first)

	first, err = s.DenyOnce(ctx, "once-past", clk.Now().Add(-time.Second))
	require.NoError(t, err)
	require.False(t, first, "nothing to claim for an id already past its expiry")
	assertDenied(t, s, false, "once-past")
}

// testFarFuture: a token may expire centuries ahead (a registered token's
// expiresAt); its denial must be written, not refused for a TTL that does
// not fit (Redis refused one past 292 years, and DELETE answered 503 for
// ever), and it stays as long as the token could live.
func testFarFuture(t *testing.T, s Store, clk *testclock.Clock) {
	ctx := context.Background()
	for i, years := range []int{99, 150, 300, 1000, 7000} {
		exp := clk.Now().AddDate(years, 0, 0)
		id := fmt.Sprintf("far-%d", i)
		require.NoError(t, s.Deny(ctx, id, exp), "Deny %d years ahead", years)
		first, err := s.DenyOnce(ctx, id+"-once", exp)
		require.NoError(t, err, "DenyOnce %d years ahead", years)
		require.True(t, first)
		assertDenied(t, s, true, id, id+"-once")
	}
	clk.Advance(24 * time.Hour)
	assertDenied(t, s, true, "far-0", "far-4-once")
}

func testDenyOnceConcurrent(t *testing.T, s Store, clk *testclock.Clock) {
	ctx := context.Background()
	exp := clk.Now().Add(time.Hour)
	var wg sync.WaitGroup
	var mu sync.Mutex
	wins := 0
	for i := 0; i < 16; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			first, err := s.DenyOnce(ctx, "race", exp)
			assert.NoError(t, err)
			if first {
				mu.Lock()
				wins++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	require.Equal(t, 1, wins, "exactly one concurrent DenyOnce is first")
}
