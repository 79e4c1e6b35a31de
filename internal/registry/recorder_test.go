package registry_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sigil-dev/sigil/internal/registry"
	"github.com/sigil-dev/sigil/internal/store/memory"
)

// usageStore is a per-test registry.UsageStore built from function fields.
type usageStore struct {
	appendLogs func(ctx context.Context, entries []registry.RecordLog) error
	markUsed   func(ctx context.Context, uses []registry.Use) error
}

func (s *usageStore) AppendLogs(ctx context.Context, e []registry.RecordLog) error {
	return s.appendLogs(ctx, e)
}
func (s *usageStore) MarkUsed(ctx context.Context, u []registry.Use) error { return s.markUsed(ctx, u) }

// countingStore counts what it is given.
type countingStore struct {
	mu      sync.Mutex
	logs    []registry.RecordLog
	uses    []registry.Use
	batches int
}

func (s *countingStore) AppendLogs(_ context.Context, e []registry.RecordLog) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.logs = append(s.logs, e...)
	s.batches++
	return nil
}

func (s *countingStore) MarkUsed(_ context.Context, u []registry.Use) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.uses = append(s.uses, u...)
	return nil
}

func (s *countingStore) counts() (logs, uses, batches int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.logs), len(s.uses), s.batches
}

// within fails the test if fn does not return within d.
func within(t *testing.T, d time.Duration, what string, fn func()) {
	t.Helper()
	done := make(chan struct{})
	go func() {
		defer close(done)
		fn()
	}()
	select {
	case <-done:
	case <-time.After(d):
		t.Fatalf("%s blocked for more than %s", what, d)
	}
}

func TestRecorder_Close_flushesEverything(t *testing.T) {
	ctx := context.Background()
	st := memory.NewRegistry(func() time.Time { return epoch })
	for _, id := range []string{"a", "b"} {
		require.NoError(t, st.CreateRecord(ctx, registry.Record{ID: id, Name: id, Owner: "o", Type: "report", ReportID: "r", Status: registry.StatusGeneratedInactive, CreatedAt: epoch}))
	}
	r := registry.NewRecorder(st, 100, time.Hour)
	r.Authenticated("a", epoch.Add(time.Second), true)
	r.Authenticated("a", epoch.Add(3*time.Second), false)
	r.Authenticated("b", epoch.Add(2*time.Second), false)
	r.Authenticated("ghost", epoch, true)
	assert.Equal(t, 4, r.Pending(), "nothing written before a flush")
	require.NoError(t, r.Close(ctx))
	assert.Zero(t, r.Pending())
	assert.Zero(t, r.Dropped())
	assert.Zero(t, r.Lost())

	logs, _, err := st.ListLogs(ctx, "a", 10, "")
	require.NoError(t, err)
	assert.Equal(t, []registry.LogEntry{
		{Activity: registry.ActivityAuthenticate, At: epoch.Add(3 * time.Second), By: "verify", Result: registry.ResultFail},
		{Activity: registry.ActivityAuthenticate, At: epoch.Add(time.Second), By: "verify", Result: registry.ResultOK},
	}, logs)
	a, err := st.GetRecord(ctx, "a")
	require.NoError(t, err)
	assert.Equal(t, registry.StatusGeneratedActive, a.Status, "a success marks the record used")
	assert.Equal(t, epoch.Add(time.Second), *a.LastUsedAt)
	b, err := st.GetRecord(ctx, "b")
	require.NoError(t, err)
	assert.Equal(t, registry.StatusGeneratedInactive, b.Status, "a failure does not")
	assert.Nil(t, b.LastUsedAt)

	r.Authenticated("a", epoch, true)
	assert.Equal(t, int64(1), r.Dropped(), "after Close events are dropped and counted")
	require.NoError(t, r.Close(ctx), "Close twice")
}

func TestRecorder_full_dropsAndCounts(t *testing.T) {
	st := &countingStore{}
	const size, extra = 8, 25
	r := registry.NewRecorder(st, size, time.Hour) // Run is not started: nothing drains
	within(t, time.Second, "Authenticated", func() {
		for i := range size + extra {
			r.Authenticated(fmt.Sprintf("rec-%d", i), epoch, true)
		}
	})
	assert.Equal(t, int64(extra), r.Dropped(), "exactly the events beyond the buffer")
	assert.Equal(t, size, r.Pending())
	require.NoError(t, r.Close(context.Background()))
	logs, uses, _ := st.counts()
	assert.Equal(t, size, logs, "every buffered event is written on Close")
	assert.Equal(t, size, uses)
}

func TestRecorder_neverBlocks_whenStoreHangs(t *testing.T) {
	release := make(chan struct{})
	var calls atomic.Int64
	st := &usageStore{
		appendLogs: func(ctx context.Context, _ []registry.RecordLog) error {
			calls.Add(1)
			select {
			case <-release:
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		},
		markUsed: func(context.Context, []registry.Use) error { return nil },
	}
	r := registry.NewRecorder(st, 4, 10*time.Millisecond)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go r.Run(ctx)

	r.Authenticated("a", epoch, true)
	require.Eventually(t, func() bool { return calls.Load() == 1 }, 5*time.Second, time.Millisecond, "Run is stuck in a flush")
	within(t, time.Second, "Authenticated while the store hangs", func() {
		for range 1000 {
			r.Authenticated("a", epoch, true)
		}
	})
	assert.Equal(t, int64(1000-4), r.Dropped(), "the buffer holds 4, the rest is dropped")
	close(release)
	require.NoError(t, r.Close(context.Background()))
	assert.Zero(t, r.Pending())
}

func TestRecorder_Run_flushesPeriodically(t *testing.T) {
	st := &countingStore{}
	r := registry.NewRecorder(st, 1000, 10*time.Millisecond)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan struct{})
	go func() {
		defer close(done)
		r.Run(ctx)
	}()
	for i := range 10 {
		r.Authenticated("a", epoch.Add(time.Duration(i)*time.Second), i%2 == 0)
	}
	require.Eventually(t, func() bool { l, _, _ := st.counts(); return l == 10 }, 5*time.Second, 5*time.Millisecond)
	_, uses, batches := st.counts()
	assert.Equal(t, 5, uses, "only successes mark the record used")
	assert.LessOrEqual(t, batches, 10)
	cancel()
	<-done
	require.NoError(t, r.Close(context.Background()))
}

func TestRecorder_Run_flushesWhenHalfFull(t *testing.T) {
	st := &countingStore{}
	r := registry.NewRecorder(st, 100, time.Hour) // the ticker never fires in this test
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go r.Run(ctx)
	for range 50 {
		r.Authenticated("a", epoch, true)
	}
	require.Eventually(t, func() bool { l, _, _ := st.counts(); return l >= 50 }, 5*time.Second, 5*time.Millisecond)
	require.NoError(t, r.Close(context.Background()))
}

func TestRecorder_concurrent_accountsForEveryEvent(t *testing.T) {
	st := &countingStore{}
	r := registry.NewRecorder(st, 64, 10*time.Millisecond)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go r.Run(ctx)
	const workers, each = 16, 500
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := range each {
				r.Authenticated(fmt.Sprintf("w%d", w), epoch.Add(time.Duration(i)), true)
			}
		})
	}
	wg.Wait()
	require.NoError(t, r.Close(context.Background()))
	logs, _, _ := st.counts()
	assert.Equal(t, int64(workers*each), int64(logs)+r.Dropped(), "written + dropped = sent")
	assert.Zero(t, r.Lost())
}

func TestRecorder_storeFailure_counted(t *testing.T) {
	st := &usageStore{
		appendLogs: func(context.Context, []registry.RecordLog) error { return errors.New("down") },
		markUsed:   func(context.Context, []registry.Use) error { return nil },
	}
	r := registry.NewRecorder(st, 10, time.Hour)
	for range 3 {
		r.Authenticated("a", epoch, true)
	}
	require.NoError(t, r.Close(context.Background()))
	assert.Equal(t, int64(3), r.Lost())
	assert.Zero(t, r.Dropped())
}

func TestRecorder_Close_honoursContext(t *testing.T) {
	st := &usageStore{
		appendLogs: func(ctx context.Context, _ []registry.RecordLog) error { <-ctx.Done(); return ctx.Err() },
		markUsed:   func(context.Context, []registry.Use) error { return nil },
	}
	r := registry.NewRecorder(st, 10, time.Hour)
	r.Authenticated("a", epoch, true)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	within(t, 5*time.Second, "Close", func() {
		assert.ErrorIs(t, r.Close(ctx), context.DeadlineExceeded)
	})
}
