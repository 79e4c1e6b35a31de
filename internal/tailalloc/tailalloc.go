// Package tailalloc allocates a value together with a byte tail of a
// length chosen at run time, in one object: the verified-token cache keeps
// a token's slot and its text this way, and forward-auth a token's answers
// and theirs. With many tokens cached, the working set outgrows the CPU's
// caches and every separate object a request reads is a likely miss to
// memory, and one more object for the collector to mark.
//
// Go has no arrays of a run-time length, so the object's type,
// struct{ V T; Tail [n]byte }, is made by reflect.StructOf for n in steps,
// once per step and kept; the collector knows from that type that the
// tail holds no pointers. Views of the tail (unsafe.String) keep the whole
// object alive like any interior pointer.
package tailalloc

import (
	"reflect"
	"sync/atomic"
	"unsafe"
)

// Allocator makes values of T with tails of up to Max bytes. Safe for
// concurrent use; its zero value is not usable (New).
type Allocator[T any] struct {
	step, max int
	// types[i] is the type whose tail holds (i+1)*step bytes, made on first use.
	types []atomic.Pointer[reflect.Type]
}

// New returns an Allocator of tails up to maxTail bytes, rounded up to
// multiples of step (each value wastes less than step bytes of its tail).
func New[T any](step, maxTail int) *Allocator[T] {
	if step <= 0 || maxTail < 0 {
		panic("tailalloc: step must be positive and maxTail not negative")
	}
	return &Allocator[T]{step: step, max: maxTail, types: make([]atomic.Pointer[reflect.Type], maxTail/step+1)}
}

// Max is the longest tail a.New gives.
func (a *Allocator[T]) Max() int { return a.max }

// New returns a new zero T and a tail of n zero bytes in the same object,
// or ok false when n is more than Max or negative.
func (a *Allocator[T]) New(n int) (v *T, tail []byte, ok bool) {
	if n < 0 || n > a.max {
		return nil, nil, false
	}
	i := n / a.step
	typ := a.types[i].Load()
	if typ == nil {
		t := reflect.StructOf([]reflect.StructField{
			{Name: "V", Type: reflect.TypeFor[T]()},
			{Name: "Tail", Type: reflect.ArrayOf((i+1)*a.step, reflect.TypeFor[byte]())},
		})
		typ = &t
		a.types[i].Store(typ) // a race makes an identical type: StructOf caches them
	}
	obj := reflect.New(*typ).UnsafePointer()
	off := (*typ).Field(1).Offset
	return (*T)(obj), unsafe.Slice((*byte)(unsafe.Add(obj, off)), n), true
}
