package reqctx_test

import (
	"context"
	"errors"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/sigil-dev/sigil/internal/reqctx"
	"github.com/sigil-dev/sigil/internal/testclock"
)

// guard bounds waits that succeed at once when the code is right.
const guard = 10 * time.Second

type (
	key      struct{}
	otherKey struct{}
)

func closed(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

func waitClosed(t *testing.T, ch <-chan struct{}) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(guard):
		t.Fatal("Done not closed")
	}
}

// TestDeadline: the deadline is the clock's now plus the timeout from the
// start, as context.WithTimeout's, without arming anything; a parent's
// earlier deadline wins, a later one does not.
func TestDeadline(t *testing.T) {
	start := time.Now()
	clk := testclock.New(start)
	c := reqctx.NewWithClock(context.Background(), 2*time.Second, clk.Now)
	d, ok := c.Deadline()
	require.True(t, ok)
	require.Equal(t, start.Add(2*time.Second), d)

	early, cancel := context.WithDeadline(context.Background(), start.Add(time.Second))
	defer cancel()
	d, _ = reqctx.NewWithClock(early, 2*time.Second, clk.Now).Deadline()
	require.Equal(t, start.Add(time.Second), d, "the parent's earlier deadline")

	late, cancel2 := context.WithDeadline(context.Background(), start.Add(time.Hour))
	defer cancel2()
	d, _ = reqctx.NewWithClock(late, 2*time.Second, clk.Now).Deadline()
	require.Equal(t, start.Add(2*time.Second), d)

	// Asking the deadline armed nothing: Err still follows the clock.
	require.NoError(t, c.Err())
	clk.Advance(2 * time.Second)
	require.ErrorIs(t, c.Err(), context.DeadlineExceeded)
}

// TestErr_ClockUnarmed: unarmed, Err is nil until the clock reaches the
// deadline, then DeadlineExceeded (also through Cause and errors.Is), and
// Done is closed from then on: Err never says ended while Done is open.
func TestErr_ClockUnarmed(t *testing.T) {
	clk := testclock.New(time.Now())
	c := reqctx.NewWithClock(context.Background(), time.Hour, clk.Now)
	require.NoError(t, c.Err())
	require.NoError(t, context.Cause(c))
	clk.Advance(time.Hour - time.Nanosecond)
	require.NoError(t, c.Err())
	clk.Advance(time.Nanosecond)
	err := c.Err()
	require.True(t, errors.Is(err, context.DeadlineExceeded))
	require.Equal(t, context.DeadlineExceeded, context.Cause(c))
	require.True(t, closed(c.Done()), "Done closed once Err reports the deadline")
	c.Release()
	require.ErrorIs(t, c.Err(), context.DeadlineExceeded, "release after the deadline keeps DeadlineExceeded")
}

// TestDone_ClosesAtDeadline: armed, the runtime's timer closes Done at the
// deadline, as WithTimeout's; Err and Cause say DeadlineExceeded.
func TestDone_ClosesAtDeadline(t *testing.T) {
	c := reqctx.New(context.Background(), 10*time.Millisecond)
	defer c.Release()
	done := c.Done()
	require.Equal(t, done, c.Done(), "one channel")
	waitClosed(t, done)
	require.ErrorIs(t, c.Err(), context.DeadlineExceeded)
	require.Equal(t, context.DeadlineExceeded, context.Cause(c))
}

// TestDone_OpenWhileLive: an armed context with time left is open, its Err
// nil, and armed it no longer reads the injected clock.
func TestDone_OpenWhileLive(t *testing.T) {
	clk := testclock.New(time.Now())
	c := reqctx.NewWithClock(context.Background(), time.Hour, clk.Now)
	defer c.Release()
	require.False(t, closed(c.Done()))
	require.NoError(t, c.Err())
	d, _ := c.Deadline()
	require.Equal(t, clk.Now().Add(time.Hour), d, "arming keeps the deadline")
}

// TestParentCancelled: a parent's cancellation (with its cause) reaches the
// context whether it comes before or after arming, as with WithTimeout.
func TestParentCancelled(t *testing.T) {
	cause := errors.New("client went away")
	for _, armFirst := range []bool{false, true} {
		parent, cancel := context.WithCancelCause(context.WithValue(context.Background(), key{}, "v"))
		c := reqctx.New(parent, time.Hour)
		real, realCancel := context.WithTimeout(parent, time.Hour)
		if armFirst {
			require.False(t, closed(c.Done()))
			require.False(t, closed(real.Done()))
		}
		cancel(cause)
		waitClosed(t, c.Done())
		waitClosed(t, real.Done())
		require.Equal(t, real.Err(), c.Err(), "armFirst=%v", armFirst)
		require.ErrorIs(t, c.Err(), context.Canceled)
		require.Equal(t, context.Cause(real), context.Cause(c), "armFirst=%v", armFirst)
		require.Equal(t, cause, context.Cause(c))
		require.Equal(t, "v", c.Value(key{}))
		c.Release()
		realCancel()
		require.Equal(t, real.Err(), c.Err(), "release after the parent ended keeps its error")
	}
}

// TestRelease: Release ends the context with Canceled as WithTimeout's
// cancel does, armed or not; the unarmed one arms (already ended) when
// asked later, so Done and children see it ended.
func TestRelease(t *testing.T) {
	for _, armFirst := range []bool{false, true} {
		c := reqctx.New(context.Background(), time.Hour)
		if armFirst {
			_ = c.Done()
		}
		c.Release()
		require.ErrorIs(t, c.Err(), context.Canceled, "armFirst=%v", armFirst)
		require.Equal(t, context.Canceled, context.Cause(c))
		require.True(t, closed(c.Done()))
		child, cancel := context.WithCancel(c)
		require.True(t, closed(child.Done()), "a child of a released context is born ended")
		cancel()
		c.Release() // twice is harmless
		require.ErrorIs(t, c.Err(), context.Canceled)
	}
}

// TestChildren: values, WithCancel, WithTimeout, AfterFunc and
// WithoutCancel children behave as under WithTimeout: they end with the
// context (with its cause), and WithoutCancel does not.
func TestChildren(t *testing.T) {
	parent := context.WithValue(context.Background(), key{}, "p")
	c := reqctx.New(parent, time.Hour)
	withVal := context.WithValue(c, otherKey{}, 1)
	require.Equal(t, "p", withVal.Value(key{}))
	require.Equal(t, 1, withVal.Value(otherKey{}))
	d, _ := withVal.Deadline()
	cd, _ := c.Deadline()
	require.Equal(t, cd, d)

	child, cancel := context.WithCancel(withVal)
	defer cancel()
	shorter, cancel2 := context.WithTimeout(c, 2*time.Hour)
	defer cancel2()
	sd, _ := shorter.Deadline()
	require.Equal(t, cd, sd, "a child's later timeout keeps the bound")
	fired := make(chan struct{})
	context.AfterFunc(c, func() { close(fired) })
	detached := context.WithoutCancel(c)

	require.False(t, closed(child.Done()))
	c.Release()
	waitClosed(t, child.Done())
	waitClosed(t, shorter.Done())
	waitClosed(t, fired)
	require.ErrorIs(t, child.Err(), context.Canceled)
	require.Nil(t, detached.Done())
	require.NoError(t, detached.Err())
	require.NoError(t, context.Cause(detached))
	require.Equal(t, "p", detached.Value(key{}))
}

// TestChildren_NoGoroutine: a context of the context package derived from
// a Ctx (WithCancel, WithTimeout, AfterFunc) registers in the armed
// context instead of starting a goroutine to watch a custom parent, as it
// would for an unknown Context: many live children leave the goroutine
// count where it was.
func TestChildren_NoGoroutine(t *testing.T) {
	parent, cancelParent := context.WithCancel(context.Background())
	defer cancelParent()
	const n = 200
	before := runtime.NumGoroutine()
	var ctxs []*reqctx.Ctx
	var cancels []context.CancelFunc
	for i := range n {
		c := reqctx.New(parent, time.Hour)
		ctxs = append(ctxs, c)
		switch i % 3 {
		case 0:
			_, cancel := context.WithCancel(c)
			cancels = append(cancels, cancel)
		case 1:
			_, cancel := context.WithTimeout(context.WithValue(c, key{}, i), time.Hour)
			cancels = append(cancels, cancel)
		default:
			stop := context.AfterFunc(c, func() {})
			cancels = append(cancels, func() { stop() })
		}
	}
	during := runtime.NumGoroutine()
	require.Less(t, during-before, n/10, "goroutines while %d children live: %d before, %d during", n, before, during)
	for i := range ctxs {
		cancels[i]()
		ctxs[i].Release()
	}
}

// TestConcurrent: Done, Err, Value, Deadline and Release from many
// goroutines at once (run with -race): one Done channel, closed after
// Release, and Err agreeing with it.
func TestConcurrent(t *testing.T) {
	for range 50 {
		c := reqctx.New(context.WithValue(context.Background(), key{}, "v"), time.Hour)
		var wg sync.WaitGroup
		chans := make([]<-chan struct{}, 8)
		for i := range chans {
			wg.Go(func() {
				_, _ = c.Deadline()
				_ = c.Err()
				chans[i] = c.Done()
				if c.Value(key{}) != "v" {
					t.Error("value lost")
				}
				if err := c.Err(); err != nil && !closed(chans[i]) {
					t.Error("Err set while Done open")
				}
			})
		}
		wg.Go(c.Release)
		wg.Wait()
		for _, ch := range chans {
			require.Equal(t, chans[0], ch)
			waitClosed(t, ch)
		}
		require.ErrorIs(t, c.Err(), context.Canceled)
	}
}

// TestNoLeak: many contexts, armed and not, released, leave no goroutine
// behind.
func TestNoLeak(t *testing.T) {
	before := runtime.NumGoroutine()
	parent, cancel := context.WithCancel(context.Background())
	defer cancel()
	for i := range 1000 {
		c := reqctx.New(parent, time.Hour)
		if i%2 == 0 {
			_ = c.Done()
			_, cc := context.WithCancel(c)
			defer cc()
		}
		c.Release()
	}
	require.LessOrEqual(t, runtime.NumGoroutine(), before+2)
}

// TestRelease_RuntimeClock: on the runtime's clock (New), a context
// released unarmed after its deadline ends with DeadlineExceeded, as
// WithTimeout's timer would have ended it, and one released before with
// Canceled; Done is closed either way.
func TestRelease_RuntimeClock(t *testing.T) {
	late := reqctx.New(context.Background(), time.Millisecond)
	d, _ := late.Deadline()
	time.Sleep(time.Until(d) + time.Millisecond)
	late.Release()
	require.ErrorIs(t, late.Err(), context.DeadlineExceeded)
	require.True(t, closed(late.Done()))

	early := reqctx.New(context.Background(), time.Hour)
	require.NoError(t, early.Err())
	early.Release()
	require.ErrorIs(t, early.Err(), context.Canceled)
	require.True(t, closed(early.Done()))
}

// BenchmarkBound is one request's bound under a parent like net/http's
// request context (a cancelCtx): context.WithTimeout as before, and a Ctx
// that nobody waits on, or that a store waits on (armed).
func BenchmarkBound(b *testing.B) {
	parent, cancel := context.WithCancel(context.Background())
	defer cancel()
	b.Run("WithTimeout", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			ctx, cancel := context.WithTimeout(parent, 2*time.Second)
			_, _ = ctx.Deadline()
			cancel()
		}
	})
	b.Run("Ctx", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			c := reqctx.New(parent, 2*time.Second)
			_, _ = c.Deadline()
			c.Release()
		}
	})
	b.Run("CtxArmed", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			c := reqctx.New(parent, 2*time.Second)
			_ = c.Done()
			c.Release()
		}
	})
}
