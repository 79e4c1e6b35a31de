package tailalloc_test

import (
	"runtime"
	"strings"
	"testing"
	"unsafe"

	"github.com/sigil-dev/sigil/internal/tailalloc"
)

type value struct {
	p    *int
	name string
	n    int64
}

// TestNew_TailInsideItsObject: every tail length up to Max gives a zero
// value and a zero tail of exactly that length, lying after the value in
// the same object and overlapping no other object's tail; beyond Max (or
// negative) there is none.
func TestNew_TailInsideItsObject(t *testing.T) {
	a := tailalloc.New[value](64, 1000)
	type span struct{ lo, hi uintptr }
	var spans []span
	var keep []*value
	for n := 0; n <= a.Max(); n++ {
		v, tail, ok := a.New(n)
		if !ok || v == nil || len(tail) != n {
			t.Fatalf("New(%d) = %v, len %d, %v", n, v, len(tail), ok)
		}
		if *v != (value{}) || strings.Trim(string(tail), "\x00") != "" {
			t.Fatalf("New(%d): not zero", n)
		}
		start := uintptr(unsafe.Pointer(v))
		if n > 0 {
			lo := uintptr(unsafe.Pointer(&tail[0]))
			// Right after the value: the same object, not a block of its own.
			if lo != start+unsafe.Sizeof(value{}) {
				t.Fatalf("New(%d): tail at %#x, not right after its value at %#x", n, lo, start)
			}
			spans = append(spans, span{lo, lo + uintptr(n)})
		}
		keep = append(keep, v)
	}
	for i, s := range spans {
		for _, o := range spans[i+1:] {
			if s.lo < o.hi && o.lo < s.hi {
				t.Fatalf("tails %#x-%#x and %#x-%#x overlap", s.lo, s.hi, o.lo, o.hi)
			}
		}
	}
	runtime.KeepAlive(keep)
	for _, n := range []int{-1, a.Max() + 1} {
		if _, _, ok := a.New(n); ok {
			t.Errorf("New(%d): ok", n)
		}
	}
}

// TestNew_CollectorKeepsValueAndTail: the value's pointers and the text in
// the tail survive collections while only a view of the tail is held, and
// while only the value is held.
func TestNew_CollectorKeepsValueAndTail(t *testing.T) {
	a := tailalloc.New[value](64, 4096)
	var views []string
	var values []*value
	for i := range 200 {
		text := strings.Repeat(string(rune('a'+i%26)), 100+i*7)
		v, tail, ok := a.New(len(text))
		if !ok {
			t.Fatal(len(text))
		}
		x := i
		v.p, v.n = &x, int64(i)
		copy(tail, text)
		v.name = unsafe.String(&tail[0], len(tail))
		if i%2 == 0 {
			views = append(views, unsafe.String(&tail[0], len(tail)))
		} else {
			values = append(values, v)
		}
	}
	for range 3 {
		runtime.GC()
		// Garbage in between, so that a freed object would be reused.
		for range 1000 {
			_ = make([]byte, 512)
		}
	}
	for j, s := range views {
		i := 2 * j
		if want := strings.Repeat(string(rune('a'+i%26)), 100+i*7); s != want {
			t.Fatalf("view %d changed", i)
		}
	}
	for j, v := range values {
		i := 2*j + 1
		if *v.p != i || v.n != int64(i) || v.name != strings.Repeat(string(rune('a'+i%26)), 100+i*7) {
			t.Fatalf("value %d changed", i)
		}
	}
}

// TestNew_Concurrent: values made from many goroutines at once, types made
// on first use by several of them, each keep their own text (-race).
func TestNew_Concurrent(t *testing.T) {
	a := tailalloc.New[value](64, 2048)
	done := make(chan error, 8)
	for g := range 8 {
		go func() {
			for i := range 300 {
				n := (i*37 + g*11) % 2048
				v, tail, ok := a.New(n)
				if !ok {
					done <- nil
					return
				}
				for k := range tail {
					tail[k] = byte(g)
				}
				v.n = int64(g)
				for k := range tail {
					if tail[k] != byte(g) || v.n != int64(g) {
						t.Errorf("goroutine %d: tail or value written by another", g)
					}
				}
			}
			done <- nil
		}()
	}
	for range 8 {
		<-done
	}
}
