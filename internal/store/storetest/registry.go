package storetest

import (
	"context"
	"encoding/base64"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sigil-dev/sigil/internal/apperr"
	"github.com/sigil-dev/sigil/internal/registry"
	"github.com/sigil-dev/sigil/internal/testclock"
	"github.com/sigil-dev/sigil/internal/token"
)

// RunRegistry runs the contract suite of registry.Store. newStore must return
// a new, empty store that reads the time from now. Subtests run in
// parallel, each with its own store and clock. Failure windows are checked
// both ways: the suite advances the clock and, for stores whose keys expire
// in real time, waits (bounded) for the window to end.
func RunRegistry(t *testing.T, newStore func(t *testing.T, now func() time.Time) registry.Store) {
	t.Helper()
	for _, tc := range registryCases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			clk := newClock()
			tc.run(t, newStore(t, clk.Now), clk)
		})
	}
}

var registryCases = []struct {
	name string
	run  func(t *testing.T, s registry.Store, clk *testclock.Clock)
}{
	{"CreateGet", testRecordCreateGet},
	{"ErrNotFound", testRecordNotFound},
	{"ErrNameTaken", testRecordNameTaken},
	{"NameRace", testRecordNameRace},
	{"Update", testRecordUpdate},
	{"UpdateRename", testRecordRename},
	{"UpdateKeepsUse", testRecordUpdateKeepsUse},
	{"Delete", testRecordDelete},
	{"Copies", testRecordCopies},
	{"ListPaging", testListPaging},
	{"ListFilters", testListFilters},
	{"ListSparseFilter", testListSparseFilter},
	{"ErrBadCursor", testBadCursor},
	{"Logs", testLogs},
	{"LogsCap", testLogsCap},
	{"LogsOfDeletedRecord", testLogsOfDeletedRecord},
	{"MarkUsed", testMarkUsed},
	{"Roles", testRoles},
	{"EndedBefore", testEndedBefore},
	{"NamesOfAPITokensOnly", testNamesOfAPITokensOnly},
	{"RevokedReleasesName", testRevokedReleasesName},
	{"ListByCreator", testListByCreator},
	{"CountFailure", testCountFailure},
	{"ConcurrentGenerateLeavesOneGeneration", testConcurrentGenerateLeavesOneGeneration},
	{"UpdateIfRefusesAStaleGeneration", testUpdateIfRefusesAStaleGeneration},
	{"LogsNewestFirstByEventTime", testLogsNewestFirstByEventTime},
}

// testConcurrentGenerateLeavesOneGeneration: 20 concurrent regenerations
// of one generation (each read the record, then compare-and-swap its own
// jti in) — exactly one wins, the record holds the winner's jti, and the
// others get ErrConflict and change nothing (issue 12, C13: 10 concurrent
// _generate calls left 5–8 JWTs valid).
func testConcurrentGenerateLeavesOneGeneration(t *testing.T, s registry.Store, _ *testclock.Clock) {
	ctx := context.Background()
	require.NoError(t, s.CreateRecord(ctx, generated("g")))
	read := mustGet(t, s, "g")
	const n = 20
	var wg sync.WaitGroup
	errs := make([]error, n)
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			next := read.Clone()
			next.JTI = fmt.Sprintf("jti-gen-%d", i)
			next.TokenHint = fmt.Sprintf("hint%02d", i)
			next.Status = registry.StatusGeneratedInactive
			<-start
			errs[i] = s.UpdateRecordIf(ctx, next, read.JTI)
		}()
	}
	close(start)
	wg.Wait()
	winner := -1
	for i, err := range errs {
		if err == nil {
			require.Equal(t, -1, winner, "two regenerations of one generation both won: %d and %d", winner, i)
			winner = i
			continue
		}
		require.ErrorIs(t, err, registry.ErrConflict, "loser %d", i)
	}
	require.NotEqual(t, -1, winner, "one regeneration wins")
	got := mustGet(t, s, "g")
	assert.Equal(t, fmt.Sprintf("jti-gen-%d", winner), got.JTI, "the record holds the winner's generation")
	assert.Equal(t, fmt.Sprintf("hint%02d", winner), got.TokenHint)
}

// testUpdateIfRefusesAStaleGeneration: UpdateRecordIf writes only over the
// generation it names, never over a revoked record, and not at all for a
// missing one.
func testUpdateIfRefusesAStaleGeneration(t *testing.T, s registry.Store, _ *testclock.Clock) {
	ctx := context.Background()
	r := generated("s")
	require.NoError(t, s.CreateRecord(ctx, r))
	stale := r.Clone()
	stale.Name = "renamed"
	require.ErrorIs(t, s.UpdateRecordIf(ctx, stale, "jti-older"), registry.ErrConflict)
	assert.Equal(t, r, mustGet(t, s, "s"), "a refused swap changes nothing")
	require.NoError(t, s.UpdateRecordIf(ctx, stale, r.JTI))
	assert.Equal(t, "renamed", mustGet(t, s, "s").Name)

	revoked := mustGet(t, s, "s")
	revoked.Status = registry.StatusRevoked
	require.NoError(t, s.UpdateRecord(ctx, revoked))
	again := revoked.Clone()
	again.JTI, again.Status = "jti-after-revoke", registry.StatusGeneratedInactive
	require.ErrorIs(t, s.UpdateRecordIf(ctx, again, revoked.JTI), registry.ErrConflict, "a revoked record is never regenerated")
	require.ErrorIs(t, s.UpdateRecordIf(ctx, generated("missing"), "x"), registry.ErrNotFound)
}

// testLogsNewestFirstByEventTime: entries list by when they happened, not
// by when they were written — a batch of AUTHENTICATE entries flushed after
// a REVOKE that came later lists below it — with millisecond precision and
// stable cursor paging (issue 12, C18).
func testLogsNewestFirstByEventTime(t *testing.T, s registry.Store, _ *testclock.Clock) {
	ctx := context.Background()
	require.NoError(t, s.CreateRecord(ctx, sampleRecord("e")))
	base := recCreated.Add(time.Hour)
	at := func(ms int) time.Time { return base.Add(time.Duration(ms) * time.Millisecond) }
	entry := func(act string, ms int, by string) registry.RecordLog {
		return registry.RecordLog{RecordID: "e", Entry: registry.LogEntry{Activity: act, At: at(ms), By: by, Result: registry.ResultOK}}
	}
	// Written synchronously: CREATE and GENERATE, then REVOKE.
	require.NoError(t, s.AppendLogs(ctx, []registry.RecordLog{entry(registry.ActivityCreate, 0, "c"), entry(registry.ActivityGenerate, 0, "c")}))
	require.NoError(t, s.AppendLogs(ctx, []registry.RecordLog{entry(registry.ActivityRevoke, 900, "c")}))
	// Flushed later by the recorder: uses from before the revocation.
	require.NoError(t, s.AppendLogs(ctx, []registry.RecordLog{
		entry(registry.ActivityAuthenticate, 250, registry.RecorderBy),
		entry(registry.ActivityAuthenticate, 899, registry.RecorderBy),
		entry(registry.ActivityAuthenticate, 250, registry.RecorderBy), // the same ms twice
	}))
	want := []string{"REVOKE@900", "AUTHENTICATE@899", "AUTHENTICATE@250", "AUTHENTICATE@250", "GENERATE@0", "CREATE@0"}
	for _, limit := range []int{1, 2, 4, 10} {
		var got []string
		cursor := ""
		for pages := 0; ; pages++ {
			require.Less(t, pages, 20)
			page, next, err := s.ListLogs(ctx, "e", limit, cursor)
			require.NoError(t, err)
			for _, e := range page {
				got = append(got, fmt.Sprintf("%s@%d", e.Activity, e.At.Sub(base).Milliseconds()))
			}
			if next == "" {
				break
			}
			if pages == 0 {
				// A late entry from long ago lands below the pages already read.
				require.NoError(t, s.AppendLogs(ctx, []registry.RecordLog{entry(registry.ActivityAuthenticate, -500+limit, registry.RecorderBy)}))
			}
			cursor = next
		}
		require.GreaterOrEqual(t, len(got), len(want), "limit %d: %v", limit, got)
		assert.Equal(t, want, got[:len(want)], "limit %d: newest first by event time, every entry once", limit)
	}
}

// recCreated is the base creation time of sample records.
var recCreated = time.Date(2030, 2, 3, 4, 5, 6, 0, time.UTC)

func ptr(t time.Time) *time.Time { return &t }

func sampleRecord(id string) registry.Record {
	return registry.Record{
		ID: id, Type: token.KindReport, Name: "token " + id, Owner: "alice",
		ReportID: "r1", Scopes: []string{}, Status: registry.StatusNotGenerated,
		CreatedAt: recCreated, CreatedBy: "client-1",
	}
}

// apiRecord is an API token of alice named name: the kind whose names are
// unique per owner.
func apiRecord(id, name string) registry.Record {
	r := sampleRecord(id)
	r.Type, r.ReportID, r.Name = token.KindAPI, "", name
	r.Scopes = []string{"meta:read"}
	return r
}

func generated(id string) registry.Record {
	r := sampleRecord(id)
	r.Type, r.ReportID, r.Owner = token.KindAPI, "", "bob"
	r.Scopes = []string{"meta:read", "report:read"}
	r.ReadOnly, r.Cloud, r.URL = true, true, "https://cloud.example/view/x"
	r.Status = registry.StatusGeneratedInactive
	r.ExpiresAt = ptr(recCreated.Add(90 * 24 * time.Hour))
	r.GeneratedAt = ptr(recCreated.Add(time.Minute))
	r.LastUsedAt = ptr(recCreated.Add(2 * time.Minute))
	r.TokenHint, r.JTI, r.Sealed = "abcdef", "jti-"+id, []byte{0, 1, 2, 0xff}
	return r
}

func mustGet(t *testing.T, s registry.Store, id string) registry.Record {
	t.Helper()
	r, err := s.GetRecord(context.Background(), id)
	require.NoError(t, err, "GetRecord(%s)", id)
	return r
}

func recordIDs(rs []registry.Record) []string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = r.ID
	}
	return out
}

// listAll pages through f with limit and returns every id in order and the
// number of pages.
func listAll(t *testing.T, s registry.Store, f registry.Filter) ([]string, int) {
	t.Helper()
	var ids []string
	pages := 0
	for {
		page, next, err := s.ListRecords(context.Background(), f)
		require.NoError(t, err)
		pages++
		ids = append(ids, recordIDs(page)...)
		if next == "" {
			return ids, pages
		}
		require.NotEmpty(t, page, "a page with a next cursor is not empty")
		require.Less(t, pages, 1000, "paging does not end")
		f.Cursor = next
	}
}

func testRecordCreateGet(t *testing.T, s registry.Store, _ *testclock.Clock) {
	ctx := context.Background()
	plain := sampleRecord("p1")
	require.NoError(t, s.CreateRecord(ctx, plain))
	assert.Equal(t, plain, mustGet(t, s, "p1"), "empty scopes stay empty, nil times stay nil")

	full := generated("g1")
	require.NoError(t, s.CreateRecord(ctx, full))
	assert.Equal(t, full, mustGet(t, s, "g1"), "every field, jti and sealed JWT included")
}

func testRecordNotFound(t *testing.T, s registry.Store, _ *testclock.Clock) {
	ctx := context.Background()
	_, err := s.GetRecord(ctx, "ghost")
	assert.ErrorIs(t, err, registry.ErrNotFound)
	assert.NotErrorIs(t, err, apperr.ErrStoreUnavailable)
	assert.ErrorIs(t, s.UpdateRecord(ctx, sampleRecord("ghost")), registry.ErrNotFound)
	assert.ErrorIs(t, s.DeleteRecord(ctx, "ghost"), registry.ErrNotFound)
	_, err = s.GetRecord(ctx, "ghost")
	assert.ErrorIs(t, err, registry.ErrNotFound, "a failed update creates nothing")
	page, next, err := s.ListRecords(ctx, registry.Filter{})
	require.NoError(t, err)
	assert.Empty(t, page)
	assert.Empty(t, next)
}

func testRecordNameTaken(t *testing.T, s registry.Store, _ *testclock.Clock) {
	ctx := context.Background()
	a := apiRecord("a", "shared")
	require.NoError(t, s.CreateRecord(ctx, a))

	b := apiRecord("b", "shared")
	err := s.CreateRecord(ctx, b)
	require.ErrorIs(t, err, registry.ErrNameTaken)
	assert.NotErrorIs(t, err, apperr.ErrStoreUnavailable)
	_, err = s.GetRecord(ctx, "b")
	assert.ErrorIs(t, err, registry.ErrNotFound, "the loser is not stored")

	b.Owner = "carol"
	require.NoError(t, s.CreateRecord(ctx, b), "names are unique per owner")
	c := apiRecord("c", "SHARED")
	require.ErrorIs(t, s.CreateRecord(ctx, c), registry.ErrNameTaken, "names are compared ignoring case")
	c.Name = "Shared!"
	require.NoError(t, s.CreateRecord(ctx, c))

	// The owner's length is part of the claim: "a:b"+"c" is not "a"+"b:c".
	x, y := apiRecord("x", ""), apiRecord("y", "")
	x.Owner, x.Name = "o:p", "q"
	y.Owner, y.Name = "o", "p:q"
	require.NoError(t, s.CreateRecord(ctx, x))
	require.NoError(t, s.CreateRecord(ctx, y))

	ids, _ := listAll(t, s, registry.Filter{})
	assert.ElementsMatch(t, []string{"a", "b", "c", "x", "y"}, ids)
}

func testRecordNameRace(t *testing.T, s registry.Store, _ *testclock.Clock) {
	ctx := context.Background()
	const workers = 16
	errs := make([]error, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			// Case variants of one name: one claim.
			name := "contested"
			if w%2 == 1 {
				name = "Contested"
			}
			errs[w] = s.CreateRecord(ctx, apiRecord(fmt.Sprintf("w%02d", w), name))
		})
	}
	wg.Wait()
	var winner string
	for w, err := range errs {
		if err == nil {
			require.Empty(t, winner, "two creates won: %s and w%02d", winner, w)
			winner = fmt.Sprintf("w%02d", w)
			continue
		}
		require.ErrorIs(t, err, registry.ErrNameTaken, "w%02d", w)
	}
	require.NotEmpty(t, winner, "exactly one create wins")
	ids, _ := listAll(t, s, registry.Filter{Owner: "alice"})
	assert.Equal(t, []string{winner}, ids, "only the winner is stored and listed")
	for w := range workers {
		if id := fmt.Sprintf("w%02d", w); id != winner {
			_, err := s.GetRecord(ctx, id)
			assert.ErrorIs(t, err, registry.ErrNotFound, id)
		}
	}
}

func testRecordUpdate(t *testing.T, s registry.Store, _ *testclock.Clock) {
	ctx := context.Background()
	require.NoError(t, s.CreateRecord(ctx, generated("u")))
	require.NoError(t, s.CreateRecord(ctx, generated("other")))

	upd := generated("u")
	upd.Scopes = []string{"meta:read"}
	upd.Status = registry.StatusGeneratedInactive
	upd.JTI, upd.TokenHint, upd.Sealed = "jti-2", "zzzzzz", []byte{9}
	upd.GeneratedAt = ptr(recCreated.Add(time.Hour))
	upd.LastUsedAt = ptr(recCreated.Add(time.Hour))
	require.NoError(t, s.UpdateRecord(ctx, upd))
	assert.Equal(t, upd, mustGet(t, s, "u"))
	assert.Equal(t, generated("other"), mustGet(t, s, "other"), "other records are untouched")

	for name, mutate := range map[string]func(r *registry.Record){
		"Type":      func(r *registry.Record) { r.Type = token.KindReport },
		"Owner":     func(r *registry.Record) { r.Owner = "mallory" },
		"ReportID":  func(r *registry.Record) { r.ReportID = "r9" },
		"AppID":     func(r *registry.Record) { r.AppID = "a9" },
		"CreatedAt": func(r *registry.Record) { r.CreatedAt = r.CreatedAt.Add(time.Second) },
	} {
		bad := upd.Clone()
		mutate(&bad)
		assert.Error(t, s.UpdateRecord(ctx, bad), "%s is immutable", name)
	}
	assert.Equal(t, upd, mustGet(t, s, "u"), "refused updates change nothing")
}

func testRecordRename(t *testing.T, s registry.Store, _ *testclock.Clock) {
	ctx := context.Background()
	a, b := apiRecord("a", "first"), apiRecord("b", "second")
	require.NoError(t, s.CreateRecord(ctx, a))
	require.NoError(t, s.CreateRecord(ctx, b))

	taken := a
	taken.Name = "second"
	require.ErrorIs(t, s.UpdateRecord(ctx, taken), registry.ErrNameTaken)
	assert.Equal(t, a, mustGet(t, s, "a"), "a refused rename changes nothing")

	a.Name = "renamed"
	require.NoError(t, s.UpdateRecord(ctx, a))
	assert.Equal(t, "renamed", mustGet(t, s, "a").Name)
	require.NoError(t, s.UpdateRecord(ctx, a), "updating with the same name again")
	a.Name = "Renamed"
	require.NoError(t, s.UpdateRecord(ctx, a), "a change of case keeps the claim")
	assert.Equal(t, "Renamed", mustGet(t, s, "a").Name)

	c := apiRecord("c", "first")
	require.NoError(t, s.CreateRecord(ctx, c), "the old name is free again")
	d := apiRecord("d", "RENAMED")
	require.ErrorIs(t, s.CreateRecord(ctx, d), registry.ErrNameTaken, "the new name is claimed")
	b.Name = "renamed"
	require.ErrorIs(t, s.UpdateRecord(ctx, b), registry.ErrNameTaken)
	b.Name = "second"
	require.NoError(t, s.UpdateRecord(ctx, b), "a failed rename kept the old claim")
	e := apiRecord("e", "second")
	require.ErrorIs(t, s.CreateRecord(ctx, e), registry.ErrNameTaken)
}

func testRecordUpdateKeepsUse(t *testing.T, s registry.Store, _ *testclock.Clock) {
	ctx := context.Background()
	r := generated("k")
	require.NoError(t, s.CreateRecord(ctx, r))
	used := recCreated.Add(time.Hour)
	require.NoError(t, s.MarkUsed(ctx, []registry.Use{{RecordID: "k", At: used}}))

	// An update computed from a copy read before the use (e.g. a rename).
	stale := r
	stale.Name = "renamed"
	require.NoError(t, s.UpdateRecord(ctx, stale))
	got := mustGet(t, s, "k")
	assert.Equal(t, "renamed", got.Name)
	assert.Equal(t, registry.StatusGeneratedActive, got.Status, "the concurrent first use is kept")
	require.NotNil(t, got.LastUsedAt)
	assert.True(t, used.Equal(*got.LastUsedAt), "the later lastUsedAt is kept")

	regen := got
	regen.JTI, regen.Status = "jti-new", registry.StatusGeneratedInactive
	require.NoError(t, s.UpdateRecord(ctx, regen))
	assert.Equal(t, registry.StatusGeneratedInactive, mustGet(t, s, "k").Status, "a new generation starts inactive")
}

func testRecordDelete(t *testing.T, s registry.Store, clk *testclock.Clock) {
	ctx := context.Background()
	d := generated("d")
	d.Name = "doomed"
	d.ExpiresAt = ptr(clk.Now().Add(time.Hour))
	require.NoError(t, s.CreateRecord(ctx, d))
	require.NoError(t, s.CreateRecord(ctx, generated("keep")))
	require.NoError(t, s.AppendLogs(ctx, []registry.RecordLog{{RecordID: "d", Entry: registry.LogEntry{Activity: registry.ActivityCreate, At: recCreated, By: "c", Result: registry.ResultOK}}}))

	require.NoError(t, s.DeleteRecord(ctx, "d"))
	_, err := s.GetRecord(ctx, "d")
	assert.ErrorIs(t, err, registry.ErrNotFound)
	assert.ErrorIs(t, s.DeleteRecord(ctx, "d"), registry.ErrNotFound, "second delete")
	assert.ErrorIs(t, s.UpdateRecord(ctx, d), registry.ErrNotFound, "update after delete")

	for _, f := range []registry.Filter{{}, {Owner: "bob"}, {Type: token.KindAPI}} {
		ids, _ := listAll(t, s, f)
		assert.Equal(t, []string{"keep"}, ids, "gone from every index: %+v", f)
	}
	exp, err := s.EndedBefore(ctx, clk.Now().Add(48*time.Hour), 10)
	require.NoError(t, err)
	assert.NotContains(t, exp, "d")

	logs, _, err := s.ListLogs(ctx, "d", 10, "")
	require.NoError(t, err)
	assert.Empty(t, logs, "the log goes with the record (cleanup)")

	again := generated("d2")
	again.Name = "doomed"
	require.NoError(t, s.CreateRecord(ctx, again), "the name is free again")
}

func testRecordCopies(t *testing.T, s registry.Store, _ *testclock.Clock) {
	ctx := context.Background()
	in := generated("cp")
	require.NoError(t, s.CreateRecord(ctx, in))
	in.Scopes[0], in.Sealed[0] = "mutated", 0x42
	*in.ExpiresAt = time.Time{}
	assert.Equal(t, generated("cp"), mustGet(t, s, "cp"), "CreateRecord keeps no reference to the caller's record")

	got := mustGet(t, s, "cp")
	got.Scopes[0], got.Sealed[0] = "mutated", 0x42
	*got.LastUsedAt = time.Time{}
	assert.Equal(t, generated("cp"), mustGet(t, s, "cp"), "GetRecord returns a copy")

	page, _, err := s.ListRecords(ctx, registry.Filter{})
	require.NoError(t, err)
	require.Len(t, page, 1)
	page[0].Scopes[0] = "mutated"
	*page[0].GeneratedAt = time.Time{}
	assert.Equal(t, generated("cp"), mustGet(t, s, "cp"), "ListRecords returns copies")
}

func testListPaging(t *testing.T, s registry.Store, _ *testclock.Clock) {
	ctx := context.Background()
	const n = 450
	want := make([]string, 0, n) // newest first
	for i := range n {
		r := sampleRecord(fmt.Sprintf("rec-%03d", i))
		// Three records per second: ties on the score are ordered by id.
		r.CreatedAt = recCreated.Add(time.Duration(i/3) * time.Second)
		require.NoError(t, s.CreateRecord(ctx, r))
	}
	for i := n - 1; i >= 0; i-- {
		want = append(want, fmt.Sprintf("rec-%03d", i))
	}

	f := registry.Filter{Limit: 200}
	var got []string
	var sizes []int
	for {
		page, next, err := s.ListRecords(ctx, f)
		require.NoError(t, err)
		sizes = append(sizes, len(page))
		got = append(got, recordIDs(page)...)
		if next == "" {
			break
		}
		require.Less(t, len(sizes), 10)
		f.Cursor = next
	}
	assert.Equal(t, []int{200, 200, 50}, sizes)
	assert.Equal(t, want, got, "every record once, newest first")

	ids, pages := listAll(t, s, registry.Filter{Limit: 150})
	assert.Equal(t, want, ids)
	assert.Equal(t, 3, pages, "no empty last page when the records divide evenly")
	ids, _ = listAll(t, s, registry.Filter{Limit: 7, ReportID: "r1"})
	assert.Equal(t, want, ids, "the report index pages the same way")

	page, _, err := s.ListRecords(ctx, registry.Filter{})
	require.NoError(t, err)
	assert.Len(t, page, registry.DefaultLimit, "limit 0 is the default")
	page, _, err = s.ListRecords(ctx, registry.Filter{Limit: 1000})
	require.NoError(t, err)
	assert.Len(t, page, registry.MaxLimit, "limit is capped")

	// Records created while paging are newer than the cursor: they don't
	// disturb the pages that follow.
	page, next, err := s.ListRecords(ctx, registry.Filter{Limit: 100})
	require.NoError(t, err)
	late := sampleRecord("zz-late")
	late.CreatedAt = recCreated.Add(time.Hour)
	require.NoError(t, s.CreateRecord(ctx, late))
	rest, _ := listAll(t, s, registry.Filter{Limit: 100, Cursor: next})
	assert.Equal(t, want, append(recordIDs(page), rest...))
}

func testListFilters(t *testing.T, s registry.Store, _ *testclock.Clock) {
	ctx := context.Background()
	mk := func(id, typ, owner, report, app string, st registry.Status, sec int) {
		r := sampleRecord(id)
		r.Type, r.Owner, r.ReportID, r.AppID, r.Status = typ, owner, report, app, st
		r.CreatedAt = recCreated.Add(time.Duration(sec) * time.Second)
		require.NoError(t, s.CreateRecord(ctx, r))
	}
	mk("r1a", token.KindReport, "alice", "r1", "", registry.StatusNotGenerated, 1)
	mk("r1b", token.KindReport, "bob", "r1", "", registry.StatusGeneratedActive, 2)
	mk("r2a", token.KindReport, "alice", "r2", "", registry.StatusGeneratedInactive, 3)
	mk("a1a", token.KindAppView, "alice", "", "app1", registry.StatusGeneratedActive, 4)
	mk("a2b", token.KindAppView, "bob", "", "app2", registry.StatusNotGenerated, 5)
	mk("k-a", token.KindAPI, "alice", "", "", registry.StatusGeneratedActive, 6)
	mk("k-b", token.KindAPI, "bob", "", "", registry.StatusGeneratedInactive, 7)

	tests := []struct {
		name string
		f    registry.Filter
		want []string
	}{
		{"All", registry.Filter{}, []string{"k-b", "k-a", "a2b", "a1a", "r2a", "r1b", "r1a"}},
		{"Type", registry.Filter{Type: token.KindReport}, []string{"r2a", "r1b", "r1a"}},
		{"Owner", registry.Filter{Owner: "alice"}, []string{"k-a", "a1a", "r2a", "r1a"}},
		{"Status", registry.Filter{Status: string(registry.StatusGeneratedActive)}, []string{"k-a", "a1a", "r1b"}},
		{"Report", registry.Filter{ReportID: "r1"}, []string{"r1b", "r1a"}},
		{"App", registry.Filter{AppID: "app2"}, []string{"a2b"}},
		{"ReportAndOwner", registry.Filter{ReportID: "r1", Owner: "bob"}, []string{"r1b"}},
		{"OwnerTypeStatus", registry.Filter{Owner: "bob", Type: token.KindAPI, Status: string(registry.StatusGeneratedInactive)}, []string{"k-b"}},
		{"NoMatch", registry.Filter{Owner: "carol"}, nil},
		{"UnknownReport", registry.Filter{ReportID: "r9"}, nil},
		{"AppAndReport", registry.Filter{ReportID: "r1", AppID: "app1"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ids, _ := listAll(t, s, tt.f)
			assert.Equal(t, tt.want, ids)
			tt.f.Limit = 1
			ids, pages := listAll(t, s, tt.f)
			assert.Equal(t, tt.want, ids, "one per page")
			assert.Equal(t, max(len(tt.want), 1), pages, "the last page has no next cursor")
		})
	}
}

func testListSparseFilter(t *testing.T, s registry.Store, _ *testclock.Clock) {
	ctx := context.Background()
	var want []string
	for i := range 120 {
		r := sampleRecord(fmt.Sprintf("s%03d", i))
		r.CreatedAt = recCreated.Add(time.Duration(i) * time.Millisecond)
		if i%40 == 7 {
			r.Status = registry.StatusGeneratedActive
			want = append([]string{r.ID}, want...)
		}
		require.NoError(t, s.CreateRecord(ctx, r))
	}
	f := registry.Filter{Status: string(registry.StatusGeneratedActive), Limit: 2}
	page, next, err := s.ListRecords(ctx, f)
	require.NoError(t, err)
	assert.Equal(t, want[:2], recordIDs(page), "a page is filled from further down the index")
	require.NotEmpty(t, next)
	f.Cursor = next
	page, next, err = s.ListRecords(ctx, f)
	require.NoError(t, err)
	assert.Equal(t, want[2:], recordIDs(page))
	assert.Empty(t, next)
}

func testBadCursor(t *testing.T, s registry.Store, _ *testclock.Clock) {
	ctx := context.Background()
	require.NoError(t, s.CreateRecord(ctx, sampleRecord("a")))
	b64 := base64.RawURLEncoding.EncodeToString
	for name, c := range map[string]string{
		"Garbage":       "garbage!",
		"NotBase64":     "%%%",
		"Padded":        base64.URLEncoding.EncodeToString([]byte("12:a")),
		"NoSeparator":   b64([]byte("12345")),
		"NoID":          b64([]byte("12345:")),
		"BadScore":      b64([]byte("abc:a")),
		"NegativeScore": b64([]byte("-5:a")),
		"LogCursor":     registry.EncodeLogCursor(3, "x"),
	} {
		t.Run(name, func(t *testing.T) {
			_, _, err := s.ListRecords(ctx, registry.Filter{Cursor: c})
			require.ErrorIs(t, err, registry.ErrBadCursor)
			assert.NotErrorIs(t, err, apperr.ErrStoreUnavailable)
		})
	}
	for name, c := range map[string]string{
		"Garbage":    "garbage!",
		"ListCursor": registry.EncodeCursor(1, "a"),
		"Zero":       b64([]byte("log:0")),
		"Negative":   b64([]byte("log:-1")),
		"OverTheCap": b64([]byte(fmt.Sprintf("log:%d", registry.MaxLogs+1))),
		"NotANumber": b64([]byte("log:x")),
	} {
		t.Run("Logs"+name, func(t *testing.T) {
			_, _, err := s.ListLogs(ctx, "a", 10, c)
			require.ErrorIs(t, err, registry.ErrBadCursor)
		})
	}
}

func logEntry(i int) registry.LogEntry {
	return registry.LogEntry{
		Activity: registry.ActivityAuthenticate, At: recCreated.Add(time.Duration(i) * time.Second),
		By: fmt.Sprintf("by-%d", i), Result: registry.ResultOK,
	}
}

func testLogs(t *testing.T, s registry.Store, _ *testclock.Clock) {
	ctx := context.Background()
	require.NoError(t, s.CreateRecord(ctx, sampleRecord("a")))
	require.NoError(t, s.CreateRecord(ctx, sampleRecord("b")))

	logs, next, err := s.ListLogs(ctx, "a", 10, "")
	require.NoError(t, err)
	assert.Empty(t, logs, "no entries yet")
	assert.Empty(t, next)
	require.NoError(t, s.AppendLogs(ctx, nil))

	var batch []registry.RecordLog
	for i := range 15 {
		batch = append(batch, registry.RecordLog{RecordID: "a", Entry: logEntry(i)})
		if i%5 == 0 {
			batch = append(batch, registry.RecordLog{RecordID: "b", Entry: logEntry(100 + i)})
		}
	}
	require.NoError(t, s.AppendLogs(ctx, batch))
	batch = batch[:0]
	for i := 15; i < 25; i++ {
		batch = append(batch, registry.RecordLog{RecordID: "a", Entry: logEntry(i)})
	}
	require.NoError(t, s.AppendLogs(ctx, batch))

	var got []registry.LogEntry
	cursor := ""
	var sizes []int
	for {
		page, next, err := s.ListLogs(ctx, "a", 10, cursor)
		require.NoError(t, err)
		sizes = append(sizes, len(page))
		got = append(got, page...)
		if len(sizes) == 1 {
			// New entries arriving between pages don't shift the next pages.
			require.NoError(t, s.AppendLogs(ctx, []registry.RecordLog{{RecordID: "a", Entry: logEntry(99)}}))
		}
		if next == "" {
			break
		}
		require.Less(t, len(sizes), 10)
		cursor = next
	}
	assert.Equal(t, []int{10, 10, 5}, sizes)
	require.Len(t, got, 25)
	for i, e := range got {
		assert.Equal(t, logEntry(24-i), e, "newest first, entry %d", i)
	}

	logs, next, err = s.ListLogs(ctx, "a", 1, "")
	require.NoError(t, err)
	assert.Equal(t, []registry.LogEntry{logEntry(99)}, logs)
	assert.NotEmpty(t, next)

	logs, next, err = s.ListLogs(ctx, "b", 0, "")
	require.NoError(t, err)
	assert.Equal(t, []registry.LogEntry{logEntry(110), logEntry(105), logEntry(100)}, logs, "logs are per record")
	assert.Empty(t, next)

	logs, _, err = s.ListLogs(ctx, "nobody", 10, "")
	require.NoError(t, err)
	assert.Empty(t, logs)
}

// testLogsCap: a log keeps its newest registry.MaxLogs entries, across
// appends of any size (twice the cap and more, so trimming happens).
func testLogsCap(t *testing.T, s registry.Store, _ *testclock.Clock) {
	ctx := context.Background()
	require.NoError(t, s.CreateRecord(ctx, sampleRecord("a")))
	total := 2*registry.MaxLogs + 3
	for from := 0; from < total; {
		n := min(registry.MaxLogs-1, total-from)
		batch := make([]registry.RecordLog, n)
		for i := range batch {
			batch[i] = registry.RecordLog{RecordID: "a", Entry: logEntry(from + i)}
		}
		require.NoError(t, s.AppendLogs(ctx, batch))
		from += n
	}
	count, cursor := 0, ""
	var oldest registry.LogEntry
	for {
		page, next, err := s.ListLogs(ctx, "a", registry.MaxLimit, cursor)
		require.NoError(t, err)
		if count == 0 {
			require.NotEmpty(t, page)
			assert.Equal(t, logEntry(total-1), page[0], "newest first")
		}
		count += len(page)
		if len(page) > 0 {
			oldest = page[len(page)-1]
		}
		if next == "" {
			break
		}
		require.LessOrEqual(t, count, registry.MaxLogs)
		cursor = next
	}
	assert.Equal(t, registry.MaxLogs, count)
	assert.Equal(t, logEntry(total-registry.MaxLogs), oldest, "the oldest kept entry")
}

func testLogsOfDeletedRecord(t *testing.T, s registry.Store, _ *testclock.Clock) {
	ctx := context.Background()
	require.NoError(t, s.CreateRecord(ctx, sampleRecord("a")))
	require.NoError(t, s.AppendLogs(ctx, []registry.RecordLog{{RecordID: "a", Entry: logEntry(1)}}))
	require.NoError(t, s.DeleteRecord(ctx, "a"))
	// A late entry (an authentication recorded after the deletion).
	require.NoError(t, s.AppendLogs(ctx, []registry.RecordLog{{RecordID: "a", Entry: logEntry(2)}, {RecordID: "never-existed", Entry: logEntry(3)}}))
	logs, _, err := s.ListLogs(ctx, "a", 10, "")
	require.NoError(t, err)
	assert.Equal(t, []registry.LogEntry{logEntry(2)}, logs, "deletion took the log; a late entry starts an orphan log")
	logs, _, err = s.ListLogs(ctx, "never-existed", 10, "")
	require.NoError(t, err)
	assert.Equal(t, []registry.LogEntry{logEntry(3)}, logs)
}

func testMarkUsed(t *testing.T, s registry.Store, _ *testclock.Clock) {
	ctx := context.Background()
	inactive := generated("in")
	inactive.LastUsedAt = nil
	require.NoError(t, s.CreateRecord(ctx, inactive))
	require.NoError(t, s.CreateRecord(ctx, sampleRecord("ng")))
	active := generated("act")
	active.Status = registry.StatusGeneratedActive
	require.NoError(t, s.CreateRecord(ctx, active))

	t1, t2 := recCreated.Add(time.Hour), recCreated.Add(2*time.Hour)
	require.NoError(t, s.MarkUsed(ctx, []registry.Use{
		{RecordID: "in", At: t2}, {RecordID: "in", At: t1}, // out of order: the later one wins
		{RecordID: "act", At: t1},
		{RecordID: "missing", At: t1},
	}))
	got := mustGet(t, s, "in")
	assert.Equal(t, registry.StatusGeneratedActive, got.Status, "first use activates")
	require.NotNil(t, got.LastUsedAt)
	assert.True(t, t2.Equal(*got.LastUsedAt))

	got = mustGet(t, s, "act")
	assert.Equal(t, registry.StatusGeneratedActive, got.Status)
	assert.True(t, t1.Equal(*got.LastUsedAt))

	require.NoError(t, s.MarkUsed(ctx, []registry.Use{{RecordID: "in", At: t1}}))
	assert.True(t, t2.Equal(*mustGet(t, s, "in").LastUsedAt), "an older use never moves lastUsedAt back")

	_, err := s.GetRecord(ctx, "missing")
	assert.ErrorIs(t, err, registry.ErrNotFound, "a use of a missing record creates nothing")
	require.NoError(t, s.MarkUsed(ctx, nil))

	// Concurrent uses of one record: the latest wins.
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Go(func() {
			if err := s.MarkUsed(ctx, []registry.Use{{RecordID: "act", At: t2.Add(time.Duration(w) * time.Second)}}); err != nil {
				t.Errorf("MarkUsed: %v", err)
			}
		})
	}
	wg.Wait()
	assert.True(t, t2.Add(7*time.Second).Equal(*mustGet(t, s, "act").LastUsedAt))
}

func testRoles(t *testing.T, s registry.Store, _ *testclock.Clock) {
	ctx := context.Background()
	has := func(owner, role string) bool {
		t.Helper()
		ok, err := s.HasRole(ctx, owner, role)
		require.NoError(t, err)
		return ok
	}
	assert.False(t, has("alice", registry.RoleAPITokens))
	require.NoError(t, s.SetRole(ctx, "alice", registry.RoleAPITokens, true))
	require.NoError(t, s.SetRole(ctx, "alice", registry.RoleAPITokens, true), "idempotent")
	assert.True(t, has("alice", registry.RoleAPITokens))
	assert.False(t, has("bob", registry.RoleAPITokens))
	assert.False(t, has("alice", "other-role"))

	require.NoError(t, s.SetRole(ctx, "alice", registry.RoleAPITokens, false))
	require.NoError(t, s.SetRole(ctx, "alice", registry.RoleAPITokens, false), "idempotent")
	require.NoError(t, s.SetRole(ctx, "nobody", "no-role", false))
	assert.False(t, has("alice", registry.RoleAPITokens))
}

func testEndedBefore(t *testing.T, s registry.Store, clk *testclock.Clock) {
	ctx := context.Background()
	now := clk.Now()
	mk := func(id string, exp *time.Time) registry.Record {
		r := sampleRecord(id)
		r.ExpiresAt = exp
		require.NoError(t, s.CreateRecord(ctx, r))
		return r
	}
	mk("never", nil)
	mk("h1", ptr(now.Add(time.Hour)))
	mk("h2", ptr(now.Add(2*time.Hour)))
	h3 := mk("h3", ptr(now.Add(3*time.Hour)))
	mk("past", ptr(now.Add(-time.Hour)))

	exp := func(at time.Time, limit int) []string {
		t.Helper()
		ids, err := s.EndedBefore(ctx, at, limit)
		require.NoError(t, err)
		return ids
	}
	assert.Equal(t, []string{"past"}, exp(now, 10))
	assert.Equal(t, []string{"past", "h1"}, exp(now.Add(time.Hour), 10), "expiresAt itself is included")
	assert.Equal(t, []string{"past", "h1", "h2"}, exp(now.Add(150*time.Minute), 10), "earliest first")
	assert.Equal(t, []string{"past", "h1"}, exp(now.Add(100*time.Hour), 2), "limit")
	assert.Equal(t, []string{"past", "h1", "h2", "h3"}, exp(now.Add(100*365*24*time.Hour), 0), "never-expiring records never show")

	h3.ExpiresAt = nil
	require.NoError(t, s.UpdateRecord(ctx, h3))
	assert.NotContains(t, exp(now.Add(100*time.Hour), 0), "h3", "an update to never drops the expiry")
	h3.ExpiresAt = ptr(now.Add(-2 * time.Hour))
	require.NoError(t, s.UpdateRecord(ctx, h3))
	assert.Equal(t, []string{"h3", "past"}, exp(now, 0), "an update moves the expiry")

	// A revocation ends a record at RevokedAt, before its expiry or without one.
	never := mustGet(t, s, "never")
	never.Status, never.RevokedAt = registry.StatusRevoked, ptr(now.Add(-3*time.Hour))
	require.NoError(t, s.UpdateRecord(ctx, never))
	h2 := mustGet(t, s, "h2")
	h2.Status, h2.RevokedAt = registry.StatusRevoked, ptr(now.Add(-30*time.Minute))
	require.NoError(t, s.UpdateRecord(ctx, h2))
	assert.Equal(t, []string{"never", "h3", "past", "h2"}, exp(now, 0), "revoked records end at their revocation")
}

// testNamesOfAPITokensOnly: report and app-view tokens carry a display
// name that several share (Informer's rotate workflow: a new link with the
// same name, then the old one deleted); only API tokens claim theirs.
func testNamesOfAPITokensOnly(t *testing.T, s registry.Store, _ *testclock.Clock) {
	ctx := context.Background()
	r1, r2 := sampleRecord("r1"), sampleRecord("r2")
	r1.Name, r2.Name = "Board link", "Board link"
	require.NoError(t, s.CreateRecord(ctx, r1))
	require.NoError(t, s.CreateRecord(ctx, r2), "two report links of one owner share a name")
	a1, a2 := sampleRecord("a1"), sampleRecord("a2")
	a1.Type, a1.ReportID, a1.AppID, a1.Name = token.KindAppView, "", "app1", "Kiosk"
	a2.Type, a2.ReportID, a2.AppID, a2.Name = token.KindAppView, "", "app1", "kiosk"
	require.NoError(t, s.CreateRecord(ctx, a1))
	require.NoError(t, s.CreateRecord(ctx, a2))
	api := apiRecord("api", "Board link")
	require.NoError(t, s.CreateRecord(ctx, api), "report names claim nothing an API token could collide with")
	r2.Name = "Kiosk"
	require.NoError(t, s.UpdateRecord(ctx, r2))
	require.NoError(t, s.DeleteRecord(ctx, "r1"))
	require.ErrorIs(t, s.CreateRecord(ctx, apiRecord("api2", "board LINK")), registry.ErrNameTaken,
		"deleting a report link frees no API token's claim")
}

// testRevokedReleasesName: a revoked API token keeps its record but not
// its name; the name can be taken again, and the revoked record can no
// longer claim it.
func testRevokedReleasesName(t *testing.T, s registry.Store, clk *testclock.Clock) {
	ctx := context.Background()
	old := apiRecord("old", "ci")
	require.NoError(t, s.CreateRecord(ctx, old))
	require.ErrorIs(t, s.CreateRecord(ctx, apiRecord("early", "CI")), registry.ErrNameTaken)
	old.Status, old.RevokedAt = registry.StatusRevoked, ptr(clk.Now())
	require.NoError(t, s.UpdateRecord(ctx, old))
	assert.Equal(t, registry.StatusRevoked, mustGet(t, s, "old").Status, "the record stays")
	require.NoError(t, s.CreateRecord(ctx, apiRecord("new", "CI")), "the name is free")
	require.NoError(t, s.UpdateRecord(ctx, mustGet(t, s, "old")), "updating the revoked record claims nothing")
	require.NoError(t, s.DeleteRecord(ctx, "old"), "cleanup")
	require.ErrorIs(t, s.CreateRecord(ctx, apiRecord("third", "ci")), registry.ErrNameTaken,
		"cleaning up the revoked record freed nobody's claim")
	ids, _ := listAll(t, s, registry.Filter{Owner: "alice"})
	assert.Equal(t, []string{"new"}, ids)
}

// testListByCreator: a client's own listing (Filter.CreatedBy without a
// report, app or owner) lists exactly the records it created, across
// kinds and owners, newest first and paged.
func testListByCreator(t *testing.T, s registry.Store, _ *testclock.Clock) {
	ctx := context.Background()
	var mine []string
	for i := range 7 {
		r := sampleRecord(fmt.Sprintf("m%d", i))
		r.CreatedAt = recCreated.Add(time.Duration(i) * time.Second)
		r.CreatedBy = "c1"
		switch i % 3 {
		case 1:
			r.Type, r.ReportID, r.Owner = token.KindAPI, "", fmt.Sprintf("owner%d", i)
		case 2:
			r.Type, r.ReportID, r.AppID = token.KindAppView, "", "app"
		}
		require.NoError(t, s.CreateRecord(ctx, r))
		mine = append([]string{r.ID}, mine...)
		other := sampleRecord(fmt.Sprintf("o%d", i))
		other.CreatedAt, other.CreatedBy = r.CreatedAt, "c2"
		require.NoError(t, s.CreateRecord(ctx, other))
	}
	ids, pages := listAll(t, s, registry.Filter{CreatedBy: "c1", Limit: 3})
	assert.Equal(t, mine, ids)
	assert.Equal(t, 3, pages)
	ids, _ = listAll(t, s, registry.Filter{CreatedBy: "c1", Type: token.KindAPI})
	assert.Equal(t, []string{"m4", "m1"}, ids)
	ids, _ = listAll(t, s, registry.Filter{CreatedBy: "nobody"})
	assert.Empty(t, ids)
	require.NoError(t, s.DeleteRecord(ctx, "m6"))
	ids, _ = listAll(t, s, registry.Filter{CreatedBy: "c1"})
	assert.Equal(t, mine[1:], ids, "a deleted record leaves the creator's index")
}

func testCountFailure(t *testing.T, s registry.Store, clk *testclock.Clock) {
	ctx := context.Background()
	const window = time.Second
	count := func(key string) int64 {
		t.Helper()
		n, err := s.CountFailure(ctx, key, window)
		require.NoError(t, err)
		return n
	}
	start := time.Now()
	assert.Equal(t, int64(1), count("client:c1"))
	assert.Equal(t, int64(2), count("client:c1"))
	assert.Equal(t, int64(1), count("addr:127.0.0.1"), "keys count apart")
	assert.Equal(t, int64(3), count("client:c1"))

	// The window ends a window after the first failure, by the injected clock
	// or, for a store with real TTLs, in real time.
	clk.Advance(window)
	deadline := start.Add(window + 5*time.Second)
	for {
		n := count("client:c1")
		if n == 1 {
			break
		}
		require.True(t, time.Now().Before(deadline), "window still open 5 s after it ended (count %d)", n)
		time.Sleep(50 * time.Millisecond)
	}
	assert.Equal(t, int64(2), count("client:c1"), "a new window counts from 1")
}
