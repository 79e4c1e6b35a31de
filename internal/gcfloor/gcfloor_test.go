package gcfloor_test

import (
	"math/rand/v2"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sigil-dev/sigil/internal/gcfloor"
)

const mib = 1 << 20

// goal is the runtime's heap goal at GOGC=p with live bytes live.
func goal(live uint64, p int) float64 {
	return max(float64(live)*(1+float64(p)/100), 4*mib*float64(p)/100)
}

func TestPercent(t *testing.T) {
	for _, c := range []struct {
		name        string
		live, floor uint64
		want        int
	}{
		{"10,000 cached tokens", 27 * mib, 128 * mib, 375}, // 27 × 4.75 = 128.25 MiB
		{"live heap past half the floor", 100 * mib, 128 * mib, 100},
		{"live heap past the floor", 1 << 30, 128 * mib, 100},
		{"no floor", 27 * mib, 0, 100},
		{"tiny live heap: the 4 MiB minimum reaches the floor", 1 * mib, 128 * mib, 3200},
		{"before the first cycle", 0, 128 * mib, 3200},
		{"floor below twice the minimum", 1 * mib, 6 * mib, 150},
		{"floor at the minimum", 1 * mib, 4 * mib, 100},
	} {
		if got := gcfloor.Percent(c.live, c.floor); got != c.want {
			t.Errorf("%s: Percent(%d, %d) = %d, want %d", c.name, c.live, c.floor, got, c.want)
		}
	}
}

// TestPercent_GoalReachesFloorAndNoFurther: whatever the live heap and the
// floor, the goal is GOGC=100's when that reaches the floor, else about the
// floor: never below it (but for the minimum's rounding) and never beyond
// it by more than a percent of the live heap.
func TestPercent_GoalReachesFloorAndNoFurther(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for range 100_000 {
		live := r.Uint64N(4 << 30)
		floor := r.Uint64N(8 << 30)
		p := gcfloor.Percent(live, floor)
		if p < 100 {
			t.Fatalf("Percent(%d, %d) = %d < 100", live, floor, p)
		}
		g := goal(max(live, 1), p)
		if 2*live >= floor {
			if p != 100 {
				t.Fatalf("Percent(%d, %d) = %d: GOGC=100's goal %d already reaches the floor", live, floor, p, 2*live)
			}
			continue
		}
		if p > 100 && g < float64(floor)-4*mib/100 {
			t.Fatalf("Percent(%d, %d) = %d: goal %.0f below the floor", live, floor, p, g)
		}
		if g > float64(floor)+float64(live)/100+1 && g > goal(live, 100) {
			t.Fatalf("Percent(%d, %d) = %d: goal %.0f beyond the floor", live, floor, p, g)
		}
	}
}

func readMetric(name string) uint64 {
	s := []metrics.Sample{{Name: name}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

// waitPercent runs collections until the runtime's GOGC is want (the
// tuner sets it from a cleanup, after a cycle).
func waitPercent(t *testing.T, want int) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		runtime.GC()
		got := int(readMetric("/gc/gogc:percent"))
		if got == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("GOGC is %d, want %d", got, want)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

var retained []byte

// TestTuner_KeepsGoalAtFloorAndStopRestores runs the tuner in this process
// (not in parallel: GOGC is the process's): the runtime's heap goal is at
// least the floor while the live heap is small, GOGC follows the live heap
// when it grows, and Stop puts back the GOGC it found.
func TestTuner_KeepsGoalAtFloorAndStopRestores(t *testing.T) {
	before := debug.SetGCPercent(100)
	debug.SetGCPercent(before)
	defer debug.SetGCPercent(before)

	const floor = 96 * mib
	tuner := gcfloor.Start(floor, nil)
	defer tuner.Stop()

	runtime.GC()
	small := gcfloor.Percent(readMetric("/gc/heap/live:bytes"), floor)
	if small <= 100 {
		t.Fatalf("a test's live heap of %d bytes should need GOGC above 100 for a %d MiB floor, got %d", readMetric("/gc/heap/live:bytes"), floor/mib, small)
	}
	waitPercent(t, tuner.GCPercent())
	if g := readMetric("/gc/heap/goal:bytes"); g < floor-mib {
		t.Errorf("heap goal %d with a small live heap, want at least the floor %d", g, uint64(floor))
	}

	// A live heap of 40 MiB: GOGC falls to what its goal needs.
	retained = make([]byte, 40*mib)
	for i := range retained {
		retained[i] = byte(i)
	}
	runtime.GC()
	live := readMetric("/gc/heap/live:bytes")
	want := gcfloor.Percent(live, floor)
	if want >= small || want <= 100 {
		t.Fatalf("live %d: Percent %d, want between 100 and %d", live, want, small)
	}
	deadline := time.Now().Add(20 * time.Second)
	for tuner.GCPercent() >= small {
		if time.Now().After(deadline) {
			t.Fatalf("GOGC still %d after the live heap grew to %d", tuner.GCPercent(), live)
		}
		runtime.GC()
		time.Sleep(10 * time.Millisecond)
	}
	waitPercent(t, tuner.GCPercent())
	if g := readMetric("/gc/heap/goal:bytes"); g < floor-mib || g > floor+2*live/100+2*mib {
		t.Errorf("heap goal %d with %d live, want about the floor %d", g, live, uint64(floor))
	}
	retained = nil

	tuner.Stop()
	if got := int(readMetric("/gc/gogc:percent")); got != before {
		t.Errorf("GOGC %d after Stop, want the %d found at Start", got, before)
	}
	// Stopped, it changes nothing any more.
	runtime.GC()
	runtime.GC()
	if got := int(readMetric("/gc/gogc:percent")); got != before {
		t.Errorf("GOGC %d after Stop and two cycles, want %d", got, before)
	}
}

// TestStart_CapsFloorAtMemoryLimit: a GOMEMLIMIT below the floor is the
// operator's bound, and the tuner aims at it instead.
func TestStart_CapsFloorAtMemoryLimit(t *testing.T) {
	prev := debug.SetMemoryLimit(64 * mib)
	defer debug.SetMemoryLimit(prev)
	before := debug.SetGCPercent(100)
	defer debug.SetGCPercent(before)

	tuner := gcfloor.Start(1<<30, nil)
	defer tuner.Stop()
	live := readMetric("/gc/heap/live:bytes")
	got, limitMax := tuner.GCPercent(), gcfloor.Percent(0, 64*mib)
	if uncapped := gcfloor.Percent(live, 1<<30); uncapped <= limitMax {
		t.Fatalf("live heap %d: a 1 GiB floor needs GOGC %d, not above the 64 MiB limit's most, %d: the test shows nothing", live, uncapped, limitMax)
	}
	if got <= 100 || got > limitMax {
		t.Errorf("GOGC %d under a 64 MiB limit with a 1 GiB floor, want above 100 and at most %d", got, limitMax)
	}
}

// TestStart_CountsMemoryOutsideTheHeap: memory the process holds outside
// the heap (the denylist's mapped tables) counts against the floor: with as
// much outside as the floor, GOGC stays 100; as it shrinks, the floor
// comes back.
func TestStart_CountsMemoryOutsideTheHeap(t *testing.T) {
	before := debug.SetGCPercent(100)
	defer debug.SetGCPercent(before)

	var outside atomic.Uint64
	outside.Store(96 * mib)
	tuner := gcfloor.Start(96*mib, outside.Load)
	defer tuner.Stop()
	if got := tuner.GCPercent(); got != 100 {
		t.Fatalf("GOGC %d with the whole floor held outside the heap, want 100", got)
	}
	outside.Store(0)
	deadline := time.Now().Add(20 * time.Second)
	for tuner.GCPercent() <= 100 {
		if time.Now().After(deadline) {
			t.Fatalf("GOGC still %d after the memory outside the heap was released", tuner.GCPercent())
		}
		runtime.GC()
		time.Sleep(10 * time.Millisecond)
	}
	waitPercent(t, tuner.GCPercent())
}
