package memory_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sigil-dev/sigil/internal/store/memory"
	"github.com/sigil-dev/sigil/internal/store/storetest"
)

func TestStore_Contract(t *testing.T) {
	storetest.Run(t, func(_ *testing.T, now func() time.Time) storetest.Store {
		return memory.New(now)
	})
}

var t0 = time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)

func TestStore_Prune(t *testing.T) {
	ctx := context.Background()
	s := memory.New(func() time.Time { return t0 })

	require.NoError(t, s.Deny(ctx, "a", t0.Add(time.Minute)))
	require.NoError(t, s.Deny(ctx, "b", t0.Add(time.Hour)))
	require.NoError(t, s.Deny(ctx, "c", time.Time{}))

	assert.Zero(t, s.Prune(t0), "nothing expired yet")
	assert.Zero(t, s.Prune(t0.Add(time.Minute-time.Second)))
	assert.Equal(t, 1, s.Prune(t0.Add(time.Minute)), "a expires at its expiresAt")
	assert.Equal(t, 1, s.Prune(t0.Add(24*time.Hour)), "b")
	assert.Zero(t, s.Prune(t0.Add(1000*24*time.Hour)), "never-expiring entries stay")

	denied, err := s.IsDenied(ctx, "a", "b")
	require.NoError(t, err)
	assert.False(t, denied, "pruned entries are gone")
	denied, err = s.IsDenied(ctx, "c")
	require.NoError(t, err)
	assert.True(t, denied)
}

func TestStore_Deny_prunesAsItGrows(t *testing.T) {
	ctx := context.Background()
	now := t0
	s := memory.New(func() time.Time { return now })
	const n = 5000
	for i := range n {
		require.NoError(t, s.Deny(ctx, fmt.Sprintf("old-%d", i), now.Add(time.Second)))
	}
	now = now.Add(time.Minute)
	for i := range n {
		require.NoError(t, s.Deny(ctx, fmt.Sprintf("new-%d", i), now.Add(time.Hour)))
	}
	assert.Less(t, s.Prune(now), n, "Deny already dropped most expired entries")
}

func TestStore_Deny_nowTruncatedToSeconds(t *testing.T) {
	ctx := context.Background()
	now := t0.Add(500 * time.Millisecond)
	s := memory.New(func() time.Time { return now })
	require.NoError(t, s.Deny(ctx, "j", t0.Add(time.Second)))
	denied, err := s.IsDenied(ctx, "j")
	require.NoError(t, err)
	assert.True(t, denied)
	now = t0.Add(time.Second)
	denied, err = s.IsDenied(ctx, "j")
	require.NoError(t, err)
	assert.False(t, denied)
}

func TestStore_IsDenied_noAllocs(t *testing.T) {
	ctx := context.Background()
	s := memory.New(func() time.Time { return t0 })
	require.NoError(t, s.Deny(ctx, "tid", t0.Add(time.Hour)))
	allocs := testing.AllocsPerRun(1000, func() {
		if d, _ := s.IsDenied(ctx, "jti", "tid"); !d {
			panic("not denied")
		}
	})
	assert.Zero(t, allocs)
}

func TestStore_LatestCutoff_noAllocs(t *testing.T) {
	ctx := context.Background()
	s := memory.New(func() time.Time { return t0 })
	require.NoError(t, s.SetCutoff(ctx, "sub:alice", t0))
	allocs := testing.AllocsPerRun(1000, func() {
		if at, _ := s.LatestCutoff(ctx, "client:c1", "sub:alice"); at.IsZero() {
			panic("no cutoff")
		}
	})
	assert.Zero(t, allocs)
}

func TestNew_nilClock(t *testing.T) {
	ctx := context.Background()
	s := memory.New(nil)
	require.NoError(t, s.Deny(ctx, "j", time.Now().Add(time.Hour)))
	require.NoError(t, s.Deny(ctx, "past", time.Now().Add(-time.Hour)))
	denied, err := s.IsDenied(ctx, "j")
	require.NoError(t, err)
	assert.True(t, denied)
	denied, err = s.IsDenied(ctx, "past")
	require.NoError(t, err)
	assert.False(t, denied)
}

func BenchmarkStore_IsDenied(b *testing.B) {
	ctx := context.Background()
	s := memory.New(nil)
	for i := range 100_000 {
		_ = s.Deny(ctx, fmt.Sprintf("jti-%d", i), time.Now().Add(time.Hour))
	}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			_, _ = s.IsDenied(ctx, "jti-unknown", "tid-unknown")
		}
	})
}
