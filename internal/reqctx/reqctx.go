// Package reqctx bounds a request's store work with a deadline whose timer
// is armed only when something waits on it.
//
// Why not context.WithTimeout: it costs every request a timerCtx, its
// registration in net/http's request context (a map entry under a lock),
// and starting and stopping a runtime timer — 3 to 3.5 % of sigil's CPU on
// introspection and mint, whose requests mostly finish in microseconds
// without anything watching Done (the memory store, the revocation replica,
// cached client lookups). A Ctx carries the same deadline from the start —
// Deadline answers it, so go-redis sets the same socket deadlines — and
// builds the real context.WithDeadline on the first call to Done (or to Err
// once the context has ended), so whoever waits gets the standard
// machinery: Done closes at the deadline, children and context.AfterFunc
// register in the armed context without a goroutine of their own, Cause
// and errors.Is(err, context.DeadlineExceeded) answer as with WithTimeout.
package reqctx

import (
	"context"
	"sync"
	"sync/atomic"
	"time"
)

// Ctx is a context.Context ending at a deadline, like the one
// context.WithDeadline returns, whose timer starts on the first wait.
// Release it when the work it bounds ends (as one calls WithDeadline's
// cancel).
type Ctx struct {
	parent   context.Context
	deadline time.Time
	now      func() time.Time // nil: the runtime's clock

	state atomic.Uint32 // live, armed or released; changed under mu
	mu    sync.Mutex
	// inner is the real context.WithDeadline, set once under mu before
	// state becomes armed and read after loading armed.
	inner  context.Context
	cancel context.CancelFunc
	// expiredAtRelease says the deadline had passed when Release found the
	// context unarmed: a later arming ends with DeadlineExceeded, as the
	// timer of WithDeadline would have, rather than Canceled.
	expiredAtRelease bool
}

const (
	live uint32 = iota
	armed
	released // released before anything armed it
)

var _ context.Context = (*Ctx)(nil)

// New returns a context ending timeout after now or when parent ends,
// whichever comes first: the deadline context.WithTimeout would set, and
// the armed timer runs on the runtime's clock as WithTimeout's does.
func New(parent context.Context, timeout time.Duration) *Ctx {
	return &Ctx{parent: parent, deadline: time.Now().Add(timeout)}
}

// NewWithClock is New with the clock now (tests): it sets the deadline,
// and Err and Release read it while no timer is armed.
func NewWithClock(parent context.Context, timeout time.Duration, now func() time.Time) *Ctx {
	return &Ctx{parent: parent, deadline: now().Add(timeout), now: now}
}

// expired says the deadline has passed, by c's clock. Without an injected
// clock it reads only the monotonic clock (the deadline carries a
// monotonic reading from time.Now): half the cost of time.Now, paid by
// Release on every request.
func (c *Ctx) expired() bool {
	if c.now == nil {
		return time.Until(c.deadline) <= 0
	}
	return !c.now().Before(c.deadline)
}

// Deadline is the bound, or parent's deadline if that is earlier.
func (c *Ctx) Deadline() (time.Time, bool) {
	if pd, ok := c.parent.Deadline(); ok && pd.Before(c.deadline) {
		return pd, true
	}
	return c.deadline, true
}

// Done arms the timer on its first call and returns the armed context's
// channel: closed at the deadline, when parent ends, or on Release.
func (c *Ctx) Done() <-chan struct{} {
	if c.state.Load() == armed {
		return c.inner.Done()
	}
	return c.arm().Done()
}

// Err is nil while the context lives; then context.DeadlineExceeded or
// parent's error (context.Canceled after Release). A context found ended
// while unarmed is armed first, so that Done is closed whenever Err is not
// nil.
func (c *Ctx) Err() error {
	switch c.state.Load() {
	case armed:
		return c.inner.Err()
	case live:
		if c.parent.Err() == nil && !c.expired() {
			return nil
		}
	}
	return c.arm().Err()
}

// Value is parent's value for key; once armed, the armed context answers,
// so that context.Cause and children derived from c (WithCancel,
// AfterFunc) find its cancelCtx and register there instead of starting a
// goroutine each.
func (c *Ctx) Value(key any) any {
	if c.state.Load() == armed {
		return c.inner.Value(key)
	}
	return c.parent.Value(key)
}

// String names the context (fmt, context's own String methods).
func (c *Ctx) String() string { return "reqctx.Ctx(" + c.deadline.String() + ")" }

// arm builds the real context.WithDeadline once and returns it.
func (c *Ctx) arm() context.Context {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.state.Load() == armed {
		return c.inner
	}
	d := c.deadline
	wasReleased := c.state.Load() == released
	if (wasReleased && c.expiredAtRelease) || (!wasReleased && c.expired()) {
		// Already past the deadline by c's clock: end at once with
		// DeadlineExceeded, as WithDeadline does for a past deadline.
		d = time.Time{}
	}
	c.inner, c.cancel = context.WithDeadline(c.parent, d)
	if wasReleased {
		c.cancel()
	}
	c.state.Store(armed)
	return c.inner
}

// Release ends the context as WithDeadline's cancel does: an armed timer
// is stopped and its context cancelled (context.Canceled); an unarmed
// context only records that it ended, and arms (already ended) if anyone
// asks it later.
func (c *Ctx) Release() {
	c.mu.Lock()
	defer c.mu.Unlock()
	switch c.state.Load() {
	case armed:
		c.cancel()
	case live:
		c.expiredAtRelease = c.expired()
		c.state.Store(released)
	}
}
