// Package gcfloor keeps the Go collector from running more often than a
// heap of a given size needs.
//
// With GOGC=100 the collector runs whenever the heap has grown by as much
// as was live after the last cycle. A service whose live heap is small but
// hot — sigil's verified-token cache: 10,000 tokens are about 27 MB — then
// collects every few thousand requests, and each cycle takes a quarter of
// the CPUs and slows the requests that allocate meanwhile: the tail
// latency of the verify hot path followed the collector's cycles
// (docs/benchmarks.md). A floor on the heap goal (the heap size at which
// the next cycle starts) makes the cycles rarer while the live heap is
// small, and changes nothing once it is large: the goal is the larger of
// the floor and GOGC=100's twice the live heap, so the heap never grows past
// max(floor, 2 × live): a GOGC tuned after every cycle, as some large Go
// services do, within a fixed bound.
//
// After every cycle (a cleanup on an unreachable sentinel object runs once
// per cycle) the tuner reads the live heap and sets GOGC to the percent
// whose goal is the floor (Percent).
package gcfloor

import (
	"math"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"sync"
)

// defaultHeapMinimum is the runtime's smallest heap goal at GOGC=100
// (runtime.defaultHeapMinimum): it scales with GOGC, so a percent set for a
// tiny live heap must not raise it past the floor.
const defaultHeapMinimum = 4 << 20

// Percent is the GOGC whose heap goal is at least floor bytes with live
// bytes live — the runtime's goal is max(live × (1 + GOGC/100), 4 MiB ×
// GOGC/100) — and never below 100: GOGC=100's own goal when that is larger
// (2 × live ≥ floor), else the smallest percent whose goal reaches the
// floor, and no more than the percent at which the 4 MiB minimum alone
// would reach it.
func Percent(live, floor uint64) int {
	if live == 0 {
		live = 1
	}
	if floor <= 2*live {
		return 100
	}
	// ceil(floor × 100 / live) − 100, in floating point: floor × 100 can
	// overflow for absurd floors.
	p := math.Ceil(float64(floor)*100/float64(live)) - 100
	if limit := math.Floor(float64(floor) * 100 / defaultHeapMinimum); p > limit {
		p = limit
	}
	if p < 100 {
		return 100
	}
	if p > math.MaxInt32 {
		return math.MaxInt32
	}
	return int(p)
}

// Tuner sets GOGC after every collection cycle. Stop restores the GOGC it
// found.
type Tuner struct {
	floor uint64
	// outside is the memory the process holds outside the Go heap that
	// counts against the floor (nil: none).
	outside func() uint64
	before  int

	mu      sync.Mutex
	stopped bool
	// percent is the GOGC last set (Start sets the first).
	percent int
}

// Start begins keeping the heap goal at least floor bytes (the process's
// memory limit, GOMEMLIMIT, if lower: the runtime honours the limit above
// any GOGC) less what outside (if not nil) reports the process holds
// outside the Go heap: the floor is memory the process may use anyway, so
// a large table kept outside the heap leaves the heap at GOGC=100. It sets
// GOGC at once from the current live heap and again after every cycle,
// until Stop.
func Start(floor uint64, outside func() uint64) *Tuner {
	if limit := debug.SetMemoryLimit(-1); limit > 0 && uint64(limit) < floor {
		floor = uint64(limit)
	}
	t := &Tuner{floor: floor, outside: outside, before: debug.SetGCPercent(100)}
	// SetGCPercent returns the previous value: put it back until tune
	// decides.
	debug.SetGCPercent(t.before)
	t.tune()
	t.arm()
	return t
}

// sentinel is the object whose cleanup marks the end of a cycle: it is
// unreachable as soon as arm returns, so the next cycle finds it. It holds a
// pointer so that it is never a tiny allocation (whose cleanups may not run).
type sentinel struct {
	_ *Tuner
	_ uint64
}

func (t *Tuner) arm() {
	runtime.AddCleanup(&sentinel{}, func(t *Tuner) {
		if t.tune() {
			t.arm()
		}
	}, t)
}

// tune sets GOGC for the live heap of the last cycle; false once stopped.
func (t *Tuner) tune() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.stopped {
		return false
	}
	floor := t.floor
	if t.outside != nil {
		floor -= min(floor, t.outside())
	}
	p := Percent(liveHeap(), floor)
	if p != t.percent {
		debug.SetGCPercent(p)
		t.percent = p
	}
	return true
}

// GCPercent is the GOGC the tuner last set.
func (t *Tuner) GCPercent() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.percent
}

// Stop ends the tuning and restores the GOGC found at Start.
func (t *Tuner) Stop() {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.stopped {
		return
	}
	t.stopped = true
	debug.SetGCPercent(t.before)
}

// liveHeap is the heap marked live by the last cycle (0 before the first).
func liveHeap() uint64 {
	s := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	metrics.Read(s)
	if s[0].Value.Kind() != metrics.KindUint64 {
		return 0
	}
	return s[0].Value.Uint64()
}
