//go:build unix

package revocation

import (
	"runtime"
	"testing"
	"time"
)

// TestMappedBytes_FollowsTheArenas: MappedBytes, which the heap floor counts
// against itself, grows with a table's arenas and falls back once the
// table is gone and its cleanup has unmapped them. Not parallel: the
// count is the process's.
func TestMappedBytes_FollowsTheArenas(t *testing.T) {
	old := arenaMin
	arenaMin = entrySize
	t.Cleanup(func() { arenaMin = old })
	runtime.GC()
	base := MappedBytes()

	const n = 20_000
	tbl := newDenyTable()
	entries := make([]denyEntry, n)
	for i := range entries {
		entries[i].id[0], entries[i].id[1], entries[i].id[2], entries[i].id[15] = byte(i), byte(i>>8), byte(i>>16), byte(i*7)
		entries[i].exp = 1_000
	}
	tbl.mergeBatch(entries, make([]denyEntry, n), func() {}, func() {})
	if tbl.len() != n {
		t.Fatalf("table holds %d entries, want %d", tbl.len(), n)
	}
	if grown := MappedBytes(); grown < base+n*entrySize {
		t.Fatalf("MappedBytes %d after %d entries in arenas, want at least %d more than %d", grown, n, n*entrySize, base)
	}
	runtime.KeepAlive(tbl)
	tbl = nil

	deadline := time.Now().Add(20 * time.Second)
	for MappedBytes() > base {
		if time.Now().After(deadline) {
			t.Fatalf("MappedBytes %d after the table is gone, want %d", MappedBytes(), base)
		}
		runtime.GC()
		time.Sleep(10 * time.Millisecond)
	}
}
