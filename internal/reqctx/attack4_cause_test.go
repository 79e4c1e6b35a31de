package reqctx_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/sigil-dev/sigil/internal/reqctx"
	"github.com/sigil-dev/sigil/internal/testclock"
)

// TestAttack4_CauseWithCancelParent: context.Cause reads the cause of the
// nearest cancelCtx found through Value, before Err. Under net/http the
// parent is such a context (the connection's WithCancel). A Ctx that ended
// while unarmed (its deadline passed, or Release at the request's end)
// must not answer Cause with the still-live parent's nil cause: it
// answers as context.WithDeadline's would (DeadlineExceeded, Canceled),
// the same as its Err.
func TestAttack4_CauseWithCancelParent(t *testing.T) {
	t.Run("deadline passed", func(t *testing.T) {
		parent, cancel := context.WithCancel(context.Background())
		defer cancel()
		clk := testclock.New(time.Now())
		c := reqctx.NewWithClock(parent, time.Second, clk.Now)
		defer c.Release()
		require.NoError(t, context.Cause(c))
		clk.Advance(time.Second)
		// Cause before anything else asked Err or Done.
		require.Equal(t, context.DeadlineExceeded, context.Cause(c))
		require.ErrorIs(t, c.Err(), context.DeadlineExceeded)
	})
	t.Run("released", func(t *testing.T) {
		parent, cancel := context.WithCancel(context.Background())
		defer cancel()
		c := reqctx.New(parent, time.Hour)
		real, realCancel := context.WithTimeout(parent, time.Hour)
		c.Release()
		realCancel()
		require.Equal(t, context.Cause(real), context.Cause(c))
		require.Equal(t, context.Canceled, context.Cause(c))
	})
	t.Run("live", func(t *testing.T) {
		parent, cancel := context.WithCancel(context.Background())
		defer cancel()
		c := reqctx.New(parent, time.Hour)
		defer c.Release()
		require.NoError(t, context.Cause(c))
		require.NoError(t, c.Err())
	})
}
