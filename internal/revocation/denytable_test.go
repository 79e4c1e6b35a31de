package revocation

import (
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestDenyTableMatchesMap drives the packed table and a plain map with the
// same random merges (single and batched, with duplicates, repeated ids,
// later, earlier and never-expiring expiries) and prunes, and checks that
// they hold the same entries after every step: the table is only a denser
// form of the map the replica used before.
func TestDenyTableMatchesMap(t *testing.T) {
	t.Run("heap", testDenyTableMatchesMap)
	t.Run("arena", func(t *testing.T) {
		// Every array outside the heap (at scale only the large ones are).
		old := arenaMin
		arenaMin = entrySize
		t.Cleanup(func() { arenaMin = old })
		testDenyTableMatchesMap(t)
	})
}

func testDenyTableMatchesMap(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	tbl := newDenyTable()
	ref := map[[16]byte]int64{}
	var known [][16]byte
	newID := func() [16]byte {
		if len(known) > 0 && rng.IntN(4) == 0 { // an id seen before
			return known[rng.IntN(len(known))]
		}
		var id [16]byte
		for i := range id {
			id[i] = byte(rng.Uint32())
		}
		if rng.IntN(2) == 0 { // UUIDv7-like: a shared timestamp prefix
			copy(id[:6], []byte{0x01, 0x93, 0x8a, 0x10, 0x00, 0x00})
		}
		known = append(known, id)
		return id
	}
	newExp := func() int64 {
		if rng.IntN(10) == 0 {
			return 0
		}
		return 1_000 + rng.Int64N(1_000)
	}
	refMerge := func(id [16]byte, exp int64) {
		if old, ok := ref[id]; !ok || later(exp, old) {
			ref[id] = exp
		}
	}
	check := func(step string) {
		t.Helper()
		require.Equal(t, len(ref), tbl.len(), step)
		for id, exp := range ref {
			got, ok := tbl.get(id)
			require.True(t, ok, step)
			require.Equal(t, exp, got, step)
		}
		seen := 0
		tbl.each(func(id [16]byte, exp int64) {
			seen++
			require.Equal(t, ref[id], exp, step)
		})
		require.Equal(t, len(ref), seen, step)
		_, ok := tbl.get([16]byte{0xff, 0xfe})
		require.False(t, ok, step)
		// The filter has exactly the bits of the ids in the table: none
		// missing (a denied id would pass), none left by pruned ids.
		var want denyTable
		for id := range ref {
			want.mark(id)
		}
		require.True(t, want.filter == tbl.filter, step)
	}
	noLock := func() {}
	for round := range 6 {
		for range 10_000 {
			id, exp := newID(), newExp()
			tbl.merge(id, exp)
			refMerge(id, exp)
		}
		check("single merges")
		batch := make([]denyEntry, 0, 25_000)
		for range cap(batch) {
			e := denyEntry{id: newID(), exp: newExp()}
			batch = append(batch, e)
			refMerge(e.id, e.exp)
		}
		locks := 0
		tbl.mergeBatch(batch, make([]denyEntry, len(batch)), func() { locks++ }, noLock)
		require.LessOrEqual(t, locks, denyShards)
		check("batch merge")
		if round%2 == 1 {
			cut := int64(1_000 + 300*round/2)
			n := 0
			for id, exp := range ref {
				if exp != 0 && exp <= cut {
					delete(ref, id)
					n++
				}
			}
			require.Equal(t, n, tbl.prune(cut))
			check("prune")
		}
	}
}
