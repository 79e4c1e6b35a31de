//go:build unix

package revocation

import (
	"sync/atomic"
	"syscall"
	"unsafe"
)

// mapped is the size of the arenas mapped now (MappedBytes).
var mapped atomic.Int64

// MappedBytes is the memory the denylist tables hold outside the Go heap
// (mmap'd arenas): the heap floor (internal/gcfloor) counts it as memory
// the process already uses.
func MappedBytes() uint64 { return uint64(max(mapped.Load(), 0)) }

// mapArena maps size bytes (rounded up to pages) of anonymous memory and
// returns them and the entries they hold; nil if the mapping fails (the
// caller then uses the heap). denyEntry has no pointers, so the collector
// never needs to see this memory.
func mapArena(size int) ([]byte, []denyEntry) {
	page := syscall.Getpagesize()
	size = (size + page - 1) / page * page
	b, err := syscall.Mmap(-1, 0, size, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_ANON|syscall.MAP_PRIVATE)
	if err != nil {
		return nil, nil
	}
	mapped.Add(int64(len(b)))
	return b, unsafe.Slice((*denyEntry)(unsafe.Pointer(&b[0])), size/int(unsafe.Sizeof(denyEntry{})))
}

// freeArena unmaps an arena from mapArena (nil: nothing).
func freeArena(b []byte) {
	if b != nil && syscall.Munmap(b) == nil {
		mapped.Add(-int64(len(b)))
	}
}
