package testclock

import (
	"sync"
	"time"
)

// Clock is a time source that tests move by hand instead of sleeping. It
// is safe for concurrent use. Pass its Now method where a constructor
// takes now func() time.Time.
type Clock struct {
	mu   sync.Mutex
	now  time.Time     // the time of a clock from New
	wall bool          // a clock from Wall: the real time plus offset
	off  time.Duration // a wall clock's offset from the real time
}

// New returns a Clock that stands at start until moved.
func New(start time.Time) *Clock { return &Clock{now: start} }

// Wall returns a Clock that follows the real time (time.Now), shifted by
// Advance and Set: for code whose real deadlines (timers, Redis TTLs) must
// keep running while the test moves its notion of now.
func Wall() *Clock { return &Clock{wall: true} }

// Now returns the clock's current time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.wall {
		return time.Now().Add(c.off)
	}
	return c.now
}

// Advance moves the clock forward by d (backward for a negative d).
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.wall {
		c.off += d
		return
	}
	c.now = c.now.Add(d)
}

// Set moves the clock to t.
func (c *Clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.wall {
		c.off = time.Until(t)
		return
	}
	c.now = t
}
