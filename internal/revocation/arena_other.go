//go:build !unix

package revocation

// Without mmap every array stays on the heap.
func mapArena(int) ([]byte, []denyEntry) { return nil, nil }

func freeArena([]byte) {}

// MappedBytes is 0: nothing is mapped outside the heap.
func MappedBytes() uint64 { return 0 }
