package memory_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/sigil-dev/sigil/internal/store/memory"
)

func TestStore_Size(t *testing.T) {
	ctx := context.Background()
	now := t0
	s := memory.New(func() time.Time { return now })
	d, c := s.Size()
	require.Zero(t, d)
	require.Zero(t, c)

	require.NoError(t, s.Deny(ctx, "a", t0.Add(time.Minute)))
	require.NoError(t, s.Deny(ctx, "b", time.Time{}))
	require.NoError(t, s.SetCutoff(ctx, "sub:alice", t0))
	d, c = s.Size()
	require.Equal(t, 2, d)
	require.Equal(t, 1, c)

	now = t0.Add(time.Hour) // a has expired, not yet pruned: not counted
	d, _ = s.Size()
	require.Equal(t, 1, d)
}
