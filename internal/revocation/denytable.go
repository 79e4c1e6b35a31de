package revocation

import (
	"bytes"
	"encoding/binary"
	"runtime"
	"slices"
)

// denyTable maps 16-byte ids (the jti and record ids, UUIDs) to an expiry in
// Unix ms (0 = never), packed: 24 bytes an entry, no per-entry pointers or
// map overhead, so ten million denials fit in about 250 MB. Ids are spread
// over denyShards shards by a hash of all 16 bytes (UUIDv7 starts with a
// timestamp, so no single byte range is uniform). A shard is an array
// sorted by id plus a short unsorted pending list for single insertions,
// merged into the array once full; bulk loads (Replica.Sync) are sorted
// first and merged once per shard and batch.
//
// Large shard arrays live outside the Go heap (arena_unix.go: anonymous
// mmap, freed as soon as they are replaced): a heap of 250 MB of live,
// pointer-free entries would make the collector let the heap, and so the
// RSS, grow to twice that before each cycle. Small arrays stay on the heap.
//
// A lookup first reads one bit of filter, which holds a bit for every id in
// the table (and, after removals, possibly some that left it): an id whose
// bit is clear is not denied, and its shard is never read. Nearly every
// token a verifier sees is not denied, and with many tokens in use the
// shards they fall in are cold memory; the filter (8 KiB) stays in the
// CPU's cache. With far more denials than filter bits every bit is set and
// the filter only costs the one read.
//
// Not safe for concurrent use: Replica guards it with its mutex.
type denyTable struct {
	shards *[denyShards]denyShard
	n      int
	filter [denyFilterBits / 64]uint64
}

type denyEntry struct {
	id  [16]byte
	exp int64
}

const (
	denyShardBits = 12
	denyShards    = 1 << denyShardBits
	// pendingMax bounds the unsorted list a lookup scans linearly.
	pendingMax = 16
	// denyFilterBits is the size of the filter, a power of two.
	denyFilterBits = 1 << 16
)

type denyShard struct {
	sorted  []denyEntry // len = entries, cap = room before a new array
	arena   []byte      // the mapping sorted lives in; nil when on the heap
	pending []denyEntry
}

func newDenyTable() *denyTable {
	t := &denyTable{shards: new([denyShards]denyShard)}
	// The arenas are not the collector's: unmap them once the table is gone.
	runtime.AddCleanup(t, func(s *[denyShards]denyShard) {
		for i := range s {
			freeArena(s[i].arena)
			s[i] = denyShard{}
		}
	}, t.shards)
	return t
}

func denyHash(id [16]byte) uint64 {
	h := binary.LittleEndian.Uint64(id[0:8]) ^ binary.LittleEndian.Uint64(id[8:16])*0x9e3779b97f4a7c15
	h ^= h >> 29
	h *= 0xbf58476d1ce4e5b9
	return h
}

func denyShardIndex(id [16]byte) int { return int(denyHash(id) >> (64 - denyShardBits)) }

// filterBit is id's bit in the filter: hash bits below the shard index's,
// so that the ids of one shard spread over the filter.
func filterBit(id [16]byte) uint64 {
	return (denyHash(id) >> (64 - denyShardBits - 16)) & (denyFilterBits - 1)
}

func (t *denyTable) mayHold(id [16]byte) bool {
	b := filterBit(id)
	return t.filter[b/64]&(1<<(b%64)) != 0
}

func (t *denyTable) mark(id [16]byte) {
	b := filterBit(id)
	t.filter[b/64] |= 1 << (b % 64)
}

func cmpEntry(a, b denyEntry) int { return bytes.Compare(a.id[:], b.id[:]) }

// later reports whether expiry exp replaces old: the later one wins, and
// 0 (never) is the latest.
func later(exp, old int64) bool { return old != 0 && (exp == 0 || exp > old) }

func (s *denyShard) find(id [16]byte) (*denyEntry, bool) {
	i, ok := slices.BinarySearchFunc(s.sorted, id, func(e denyEntry, id [16]byte) int { return bytes.Compare(e.id[:], id[:]) })
	if ok {
		return &s.sorted[i], true
	}
	for j := range s.pending {
		if s.pending[j].id == id {
			return &s.pending[j], true
		}
	}
	return nil, false
}

// get returns id's expiry.
func (t *denyTable) get(id [16]byte) (int64, bool) {
	if !t.mayHold(id) {
		return 0, false
	}
	e, ok := t.shards[denyShardIndex(id)].find(id)
	if !ok {
		return 0, false
	}
	return e.exp, true
}

// merge adds id with expiry exp, or moves an existing entry's expiry later.
func (t *denyTable) merge(id [16]byte, exp int64) {
	s := &t.shards[denyShardIndex(id)]
	if e, ok := s.find(id); ok {
		if later(exp, e.exp) {
			e.exp = exp
		}
		return
	}
	t.mark(id)
	s.pending = append(s.pending, denyEntry{id: id, exp: exp})
	t.n++
	if len(s.pending) == pendingMax {
		slices.SortFunc(s.pending, cmpEntry)
		s.insertSorted(s.pending)
		s.pending = s.pending[:0]
	}
}

// mergeBatch merges entries (reordering them): it groups them by shard
// (a counting sort into scratch, which must be as long as entries), sorts
// each shard's part by id and merges it, calling lock and unlock around
// each shard's merge so that readers wait for one shard at most.
func (t *denyTable) mergeBatch(entries, scratch []denyEntry, lock, unlock func()) {
	var start [denyShards + 1]int
	for i := range entries {
		start[denyShardIndex(entries[i].id)+1]++
	}
	for i := 1; i <= denyShards; i++ {
		start[i] += start[i-1]
	}
	next := start
	scratch = scratch[:len(entries)]
	for _, e := range entries {
		si := denyShardIndex(e.id)
		scratch[next[si]] = e
		next[si]++
	}
	var fresh []denyEntry
	for si := range denyShards {
		run := scratch[start[si]:start[si+1]]
		if len(run) == 0 {
			continue
		}
		slices.SortFunc(run, cmpEntry)
		lock()
		s := &t.shards[si]
		fresh = fresh[:0]
		for k, e := range run {
			if k > 0 && run[k-1].id == e.id { // a duplicate within the batch
				if n := len(fresh); n > 0 && fresh[n-1].id == e.id {
					if later(e.exp, fresh[n-1].exp) {
						fresh[n-1].exp = e.exp
					}
				} else if old, ok := s.find(e.id); ok && later(e.exp, old.exp) {
					old.exp = e.exp
				}
				continue
			}
			if old, ok := s.find(e.id); ok {
				if later(e.exp, old.exp) {
					old.exp = e.exp
				}
				continue
			}
			fresh = append(fresh, e)
		}
		t.n += len(fresh)
		for _, e := range fresh {
			t.mark(e.id)
		}
		s.insertSorted(fresh)
		unlock()
	}
}

// insertSorted merges add (sorted by id, none of them present) into the
// sorted array: in place from the back when there is room, else into a
// new array a 32nd larger than needed (bulk loads grow every shard
// anyway; the room serves the pending list's merges).
func (s *denyShard) insertSorted(add []denyEntry) {
	if len(add) == 0 {
		return
	}
	n, k := len(s.sorted), len(add)
	if n+k <= cap(s.sorted) {
		s.sorted = s.sorted[:n+k]
		i, j, w := n-1, k-1, n+k-1
		for j >= 0 {
			if i >= 0 && cmpEntry(s.sorted[i], add[j]) > 0 {
				s.sorted[w] = s.sorted[i]
				i--
			} else {
				s.sorted[w] = add[j]
				j--
			}
			w--
		}
		return
	}
	want := n + k + (n+k)/32 + 8
	next, arena := allocEntries(want)
	next = next[:n+k]
	i, j, w := 0, 0, 0
	for i < n || j < k {
		if j >= k || (i < n && cmpEntry(s.sorted[i], add[j]) < 0) {
			next[w] = s.sorted[i]
			i++
		} else {
			next[w] = add[j]
			j++
		}
		w++
	}
	freeArena(s.arena)
	s.sorted, s.arena = next, arena
}

// prune drops entries that expired at or before nowMs and returns how many.
// The filter is made again from the entries that stay, in the same pass,
// so that the bits of those that left are cleared.
func (t *denyTable) prune(nowMs int64) int {
	dropped := 0
	dead := func(e denyEntry) bool { return e.exp != 0 && e.exp <= nowMs }
	t.filter = [denyFilterBits / 64]uint64{}
	for i := range t.shards {
		s := &t.shards[i]
		before := len(s.sorted) + len(s.pending)
		s.sorted = slices.DeleteFunc(s.sorted, dead)
		s.pending = slices.DeleteFunc(s.pending, dead)
		dropped += before - len(s.sorted) - len(s.pending)
		if len(s.sorted) == 0 && s.arena != nil {
			freeArena(s.arena)
			s.sorted, s.arena = nil, nil
		}
		for _, e := range s.sorted {
			t.mark(e.id)
		}
		for _, e := range s.pending {
			t.mark(e.id)
		}
	}
	t.n -= dropped
	return dropped
}

// each calls fn for every entry.
func (t *denyTable) each(fn func(id [16]byte, exp int64)) {
	for i := range t.shards {
		for _, e := range t.shards[i].sorted {
			fn(e.id, e.exp)
		}
		for _, e := range t.shards[i].pending {
			fn(e.id, e.exp)
		}
	}
}

func (t *denyTable) len() int { return t.n }

// arenaMin is the smallest array (in bytes) put outside the heap: below it
// a page would be mostly empty. A variable for the tests.
var arenaMin = 16 << 10

const entrySize = 24

// allocEntries returns room for n entries, outside the heap when large and
// the platform allows (arena non-nil then).
func allocEntries(n int) ([]denyEntry, []byte) {
	if n*entrySize >= arenaMin {
		if arena, entries := mapArena(n * entrySize); arena != nil {
			return entries[:0], arena
		}
	}
	return make([]denyEntry, 0, n), nil
}
