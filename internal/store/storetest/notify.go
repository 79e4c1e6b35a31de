package storetest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sigil-dev/sigil/internal/registry"
	"github.com/sigil-dev/sigil/internal/testclock"
)

// testOwnerEmail: addresses are stored per owner, replaced, removed; an
// owner without one reads "".
func testOwnerEmail(t *testing.T, s registry.Store, _ *testclock.Clock) {
	ctx := context.Background()
	got := func(owner string) string {
		t.Helper()
		e, err := s.OwnerEmail(ctx, owner)
		require.NoError(t, err)
		return e
	}
	assert.Empty(t, got("alice"), "none yet")
	require.NoError(t, s.SetOwnerEmail(ctx, "alice", "alice@example.com"))
	require.NoError(t, s.SetOwnerEmail(ctx, "bob", "bob@example.com"))
	assert.Equal(t, "alice@example.com", got("alice"))
	require.NoError(t, s.SetOwnerEmail(ctx, "alice", "a2@example.com"))
	assert.Equal(t, "a2@example.com", got("alice"), "replaced")
	assert.Equal(t, "bob@example.com", got("bob"), "owners are apart")
	require.NoError(t, s.SetOwnerEmail(ctx, "alice", ""))
	assert.Empty(t, got("alice"), "removed")
	require.NoError(t, s.SetOwnerEmail(ctx, "alice", ""), "removing twice is fine")
	assert.Equal(t, "bob@example.com", got("bob"))
}

// testExpiringAfter: the expiry index is read in (expiresAt, id) order from
// a position, exclusive, to a time, inclusive; it follows creates, updates
// (a new expiry moves the entry) and deletes, and pages through ties.
func testExpiringAfter(t *testing.T, s registry.Store, clk *testclock.Clock) {
	ctx := context.Background()
	now := clk.Now().Truncate(time.Millisecond)
	mk := func(id string, exp *time.Time) registry.Record {
		r := sampleRecord(id)
		r.Name = "exp " + id
		r.ExpiresAt = exp
		require.NoError(t, s.CreateRecord(ctx, r))
		return r
	}
	read := func(after registry.ExpiryPos, until time.Time, limit int) []string {
		t.Helper()
		ps, err := s.ExpiringAfter(ctx, after, until, limit)
		require.NoError(t, err)
		ids := []string{}
		for _, p := range ps {
			ids = append(ids, p.ID)
		}
		return ids
	}
	mk("never", nil)
	mk("d1", ptr(now.Add(24*time.Hour)))
	d7 := mk("d7", ptr(now.Add(7*24*time.Hour)))
	mk("d30", ptr(now.Add(30*24*time.Hour)))
	start := registry.ExpiryPos{At: now}
	assert.Equal(t, []string{"d1", "d7"}, read(start, now.Add(7*24*time.Hour), 10), "until is inclusive")
	assert.Equal(t, []string{"d7"}, read(registry.ExpiryPos{At: now.Add(24 * time.Hour), ID: "d1"}, now.Add(8*24*time.Hour), 10), "after is exclusive")
	assert.Equal(t, []string{"d1"}, read(start, now.Add(100*24*time.Hour), 1), "limit")

	d7.ExpiresAt = ptr(now.Add(40 * 24 * time.Hour))
	require.NoError(t, s.UpdateRecord(ctx, d7))
	assert.Equal(t, []string{"d1", "d30", "d7"}, read(start, now.Add(100*24*time.Hour), 0), "an update moves the entry")
	require.NoError(t, s.DeleteRecord(ctx, "d1"))
	assert.Equal(t, []string{"d30", "d7"}, read(start, now.Add(100*24*time.Hour), 0), "a delete removes it")

	// Ties: 7 records expiring in the same millisecond, read 3 at a time.
	tie := now.Add(60 * 24 * time.Hour)
	var want []string
	for i := range 7 {
		id := fmt.Sprintf("tie%d", i)
		mk(id, ptr(tie))
		want = append(want, id)
	}
	var seen []string
	pos := registry.ExpiryPos{At: now.Add(50 * 24 * time.Hour)}
	for range 10 {
		ps, err := s.ExpiringAfter(ctx, pos, tie, 3)
		require.NoError(t, err)
		if len(ps) == 0 {
			break
		}
		for _, p := range ps {
			seen = append(seen, p.ID)
			assert.True(t, p.At.Equal(tie), "position carries the expiry")
		}
		pos = ps[len(ps)-1]
	}
	assert.Equal(t, want, seen, "ties are paged in id order, each once")
}

// NotifyState is what the expiry scanner keeps in the store beside the
// records: cursors, sent marks and a lease.
type NotifyState interface {
	ScanCursor(ctx context.Context, name string) (registry.ExpiryPos, bool, error)
	SetScanCursor(ctx context.Context, name string, pos registry.ExpiryPos) error
	Marked(ctx context.Context, key string) (bool, error)
	Mark(ctx context.Context, key string, ttl time.Duration) error
	AcquireLease(ctx context.Context, name, holder string, ttl time.Duration) (bool, error)
	RenewLease(ctx context.Context, name, holder string, ttl time.Duration) (bool, error)
	ReleaseLease(ctx context.Context, name, holder string) error
}

// RunNotifyState runs the contract of NotifyState. newStore returns a new,
// empty store reading the time from now; expire moves a store's time past
// ttl (advancing clk, and for stores whose keys expire in real time, waiting
// for it).
func RunNotifyState(t *testing.T, newStore func(t *testing.T, now func() time.Time) NotifyState, realTTL bool) {
	t.Helper()
	ctx := context.Background()
	t.Run("Cursor", func(t *testing.T) {
		t.Parallel()
		s := newStore(t, newClock().Now)
		_, ok, err := s.ScanCursor(ctx, "168h")
		require.NoError(t, err)
		assert.False(t, ok, "none yet")
		p := registry.ExpiryPos{At: recCreated.Add(time.Hour).Truncate(time.Millisecond), ID: "rec-1"}
		require.NoError(t, s.SetScanCursor(ctx, "168h", p))
		got, ok, err := s.ScanCursor(ctx, "168h")
		require.NoError(t, err)
		assert.True(t, ok)
		assert.True(t, got.At.Equal(p.At) && got.ID == "rec-1", "read back %v", got)
		_, ok, _ = s.ScanCursor(ctx, "24h")
		assert.False(t, ok, "cursors are apart")
	})
	t.Run("Marks", func(t *testing.T) {
		t.Parallel()
		clk := newClock()
		s := newStore(t, clk.Now)
		m, err := s.Marked(ctx, "ev-1")
		require.NoError(t, err)
		assert.False(t, m)
		ttl := time.Hour
		if realTTL {
			ttl = 300 * time.Millisecond
		}
		require.NoError(t, s.Mark(ctx, "ev-1", ttl))
		m, _ = s.Marked(ctx, "ev-1")
		assert.True(t, m)
		m, _ = s.Marked(ctx, "ev-2")
		assert.False(t, m, "marks are apart")
		clk.Advance(2 * ttl)
		deadline := time.Now().Add(5 * time.Second)
		for m && time.Now().Before(deadline) {
			m, _ = s.Marked(ctx, "ev-1")
			if m {
				time.Sleep(50 * time.Millisecond)
			}
		}
		assert.False(t, m, "a mark goes after its TTL")
	})
	t.Run("Lease", func(t *testing.T) {
		t.Parallel()
		clk := newClock()
		s := newStore(t, clk.Now)
		ttl := time.Minute
		if realTTL {
			ttl = 400 * time.Millisecond
		}
		ok, err := s.AcquireLease(ctx, "scan", "a", ttl)
		require.NoError(t, err)
		assert.True(t, ok, "a takes the free lease")
		ok, _ = s.AcquireLease(ctx, "scan", "b", ttl)
		assert.False(t, ok, "b cannot take a's lease")
		ok, _ = s.RenewLease(ctx, "scan", "b", ttl)
		assert.False(t, ok, "b cannot renew a's lease")
		require.NoError(t, s.ReleaseLease(ctx, "scan", "b"))
		ok, _ = s.RenewLease(ctx, "scan", "a", ttl)
		assert.True(t, ok, "b's release left a's lease alone; a renews it")
		ok, _ = s.AcquireLease(ctx, "scan", "a", ttl)
		assert.True(t, ok, "a acquiring again keeps it")
		ok, _ = s.AcquireLease(ctx, "other", "b", ttl)
		assert.True(t, ok, "leases are apart")

		// a's lease runs out; b takes it; a's renew and release are fenced off.
		clk.Advance(2 * ttl)
		deadline := time.Now().Add(5 * time.Second)
		for {
			ok, _ = s.AcquireLease(ctx, "scan", "b", ttl)
			if ok || time.Now().After(deadline) {
				break
			}
			time.Sleep(50 * time.Millisecond)
		}
		require.True(t, ok, "b takes the lease once a's has run out")
		ok, _ = s.RenewLease(ctx, "scan", "a", time.Hour)
		assert.False(t, ok, "a's late renew does not extend b's lease")
		require.NoError(t, s.ReleaseLease(ctx, "scan", "a"))
		ok, _ = s.RenewLease(ctx, "scan", "b", time.Hour)
		assert.True(t, ok, "a's late release did not delete b's lease")
		require.NoError(t, s.ReleaseLease(ctx, "scan", "b"))
		ok, _ = s.AcquireLease(ctx, "scan", "a", ttl)
		assert.True(t, ok, "released: free again")
	})
}
