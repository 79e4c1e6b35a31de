package memory

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/sigil-dev/sigil/internal/registry"
)

// Registry implements the registry's store interfaces (interfaces that
// packages above the domain declare, such as httpapi.FailureCounter, are
// asserted in interfaces_test.go, so that this package never imports them).
var (
	_ registry.Store        = (*Registry)(nil)
	_ registry.UsageStore   = (*Registry)(nil)
	_ registry.RecordReader = (*Registry)(nil)
)

// minFailPruneAt is the failure-counter map size below which CountFailure never prunes.
const minFailPruneAt = 1024

// nameKey identifies a claimed record name.
type nameKey struct{ owner, name string }

// recordLog is the log of one record, oldest first by event time.
type recordLog struct {
	entries []logItem
	// expiresAt is when the log is dropped: set once its record is gone; zero while it lives.
	expiresAt time.Time
}

// logItem is a log entry at its place: event time in Unix ms, then the
// order of appending (seq) among entries of one millisecond.
type logItem struct {
	ms    int64
	seq   uint64
	entry registry.LogEntry
}

// before orders log items oldest first.
func (a logItem) before(b logItem) bool {
	return a.ms < b.ms || (a.ms == b.ms && a.seq < b.seq)
}

// tie is the cursor tie-breaker of the item: its seq, fixed width so that
// text order is numeric order.
func (a logItem) tie() string { return fmt.Sprintf("%016x", a.seq) }

// failWindow is one failure counter.
type failWindow struct {
	n     int64
	until time.Time
}

// Registry keeps token records, their logs, owner roles and failure
// counters in maps guarded by one RWMutex; everything is atomic. It is a
// type of its own, beside Store, so that Store's fields stay untouched.
// Everything is lost when the process exits. Call NewRegistry.
type Registry struct {
	now func() time.Time

	mu      sync.RWMutex
	records map[string]registry.Record
	names   map[nameKey]string
	// byCreator indexes record ids by CreatedBy (a client's own listing).
	byCreator   map[string]map[string]struct{}
	logs        map[string]*recordLog
	roles       map[string]map[string]bool // role -> owners
	fails       map[string]failWindow
	failPruneAt int
	// nextLogPrune is when AppendLogs next drops logs past their retention.
	nextLogPrune time.Time
	// logSeq numbers appended log entries (ties within one millisecond).
	logSeq uint64
}

// NewRegistry returns an empty Registry that reads the time from now
// (time.Now if nil) to expire logs and failure windows.
func NewRegistry(now func() time.Time) *Registry {
	if now == nil {
		now = time.Now
	}
	return &Registry{
		now:         now,
		records:     make(map[string]registry.Record),
		names:       make(map[nameKey]string),
		byCreator:   make(map[string]map[string]struct{}),
		logs:        make(map[string]*recordLog),
		roles:       make(map[string]map[string]bool),
		fails:       make(map[string]failWindow),
		failPruneAt: minFailPruneAt,
	}
}

// nameOf is the claim key of r's name.
func nameOf(r registry.Record) nameKey { return nameKey{r.Owner, registry.NameKey(r.Name)} }

// CreateRecord stores a copy of r and claims its name if it holds one
// (registry.HoldsName); an error wrapping registry.ErrNameTaken if another
// record of the owner has it already.
func (s *Registry) CreateRecord(_ context.Context, r registry.Record) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.records[r.ID]; ok {
		return fmt.Errorf("create record %q: id exists", r.ID)
	}
	if registry.HoldsName(r) {
		k := nameOf(r)
		if _, ok := s.names[k]; ok {
			return fmt.Errorf("create record %q: %w", r.ID, registry.ErrNameTaken)
		}
		s.names[k] = r.ID
	}
	s.records[r.ID] = r.Clone()
	if r.CreatedBy != "" {
		ids := s.byCreator[r.CreatedBy]
		if ids == nil {
			ids = make(map[string]struct{})
			s.byCreator[r.CreatedBy] = ids
		}
		ids[r.ID] = struct{}{}
	}
	if l, ok := s.logs[r.ID]; ok {
		l.expiresAt = time.Time{}
	}
	return nil
}

// GetRecord returns a copy of the record; an error wrapping registry.ErrNotFound if absent.
func (s *Registry) GetRecord(_ context.Context, id string) (registry.Record, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	r, ok := s.records[id]
	if !ok {
		return registry.Record{}, fmt.Errorf("get record %q: %w", id, registry.ErrNotFound)
	}
	return r.Clone(), nil
}

// UpdateRecord replaces the record as registry.ApplyUpdate describes,
// moving its name claim on a rename; registry.ErrNotFound or
// registry.ErrNameTaken.
func (s *Registry) UpdateRecord(_ context.Context, r registry.Record) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.updateLocked(r, nil)
}

// UpdateRecordIf is UpdateRecord if the stored record's generation is still
// jti (registry.CheckGeneration), checked under the same lock as the write;
// registry.ErrConflict otherwise.
func (s *Registry) UpdateRecordIf(_ context.Context, r registry.Record, jti string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.updateLocked(r, func(old registry.Record) error { return registry.CheckGeneration(old, jti) })
}

// updateLocked is UpdateRecord with an optional precondition on the stored
// record; the caller holds the write lock.
func (s *Registry) updateLocked(r registry.Record, cond func(old registry.Record) error) error {
	old, ok := s.records[r.ID]
	if !ok {
		return fmt.Errorf("update record %q: %w", r.ID, registry.ErrNotFound)
	}
	if cond != nil {
		if err := cond(old); err != nil {
			return fmt.Errorf("update record %q: %w", r.ID, err)
		}
	}
	next, err := registry.ApplyUpdate(old, r)
	if err != nil {
		return err
	}
	oldHolds, newHolds := registry.HoldsName(old), registry.HoldsName(next)
	oldKey, newKey := nameOf(old), nameOf(next)
	if newHolds && (!oldHolds || newKey != oldKey) {
		if holder, ok := s.names[newKey]; ok && holder != next.ID {
			return fmt.Errorf("update record %q: %w", r.ID, registry.ErrNameTaken)
		}
		s.names[newKey] = next.ID
	}
	if oldHolds && (!newHolds || newKey != oldKey) && s.names[oldKey] == next.ID {
		delete(s.names, oldKey)
	}
	s.records[r.ID] = next
	return nil
}

// DeleteRecord removes the record and its log and frees its name;
// registry.ErrNotFound if absent.
func (s *Registry) DeleteRecord(_ context.Context, id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.records[id]
	if !ok {
		return fmt.Errorf("delete record %q: %w", id, registry.ErrNotFound)
	}
	delete(s.records, id)
	if k := nameOf(r); s.names[k] == id {
		delete(s.names, k)
	}
	if ids := s.byCreator[r.CreatedBy]; ids != nil {
		delete(ids, id)
		if len(ids) == 0 {
			delete(s.byCreator, r.CreatedBy)
		}
	}
	delete(s.logs, id)
	return nil
}

// ListRecords returns a page of matching records, newest first, and the
// next cursor. It scans the records of f.CreatedBy when the filter pins
// no report, app or owner, every record otherwise: fine for the sizes
// memory serves.
func (s *Registry) ListRecords(_ context.Context, f registry.Filter) ([]registry.Record, string, error) {
	limit := registry.ClampLimit(f.Limit)
	var (
		after    bool
		aScore   int64
		aID      string
		matching []registry.Record
	)
	if f.Cursor != "" {
		var err error
		aScore, aID, err = registry.DecodeCursor(f.Cursor)
		if err != nil {
			return nil, "", fmt.Errorf("list records: %w", err)
		}
		after = true
	}
	s.mu.RLock()
	keep := func(r registry.Record) {
		if f.Match(r) && (!after || registry.Newer(aScore, aID, r.Score(), r.ID)) {
			matching = append(matching, r)
		}
	}
	if f.CreatedBy != "" && f.ReportID == "" && f.AppID == "" && f.Owner == "" {
		for id := range s.byCreator[f.CreatedBy] {
			keep(s.records[id])
		}
	} else {
		for _, r := range s.records {
			keep(r)
		}
	}
	s.mu.RUnlock()
	slices.SortFunc(matching, func(a, b registry.Record) int {
		if registry.Newer(a.Score(), a.ID, b.Score(), b.ID) {
			return -1
		}
		return 1
	})
	next := ""
	if len(matching) > limit {
		matching = matching[:limit]
		last := matching[limit-1]
		next = registry.EncodeCursor(last.Score(), last.ID)
	}
	out := make([]registry.Record, len(matching))
	for i, r := range matching {
		out[i] = r.Clone()
	}
	return out, next, nil
}

// AppendLogs adds entries to their logs at their event time (an entry
// written late, such as a batched AUTHENTICATE, lands where it happened),
// keeping the newest registry.MaxLogs of each. A log of a record that does
// not exist expires after registry.LogRetention.
func (s *Registry) AppendLogs(_ context.Context, entries []registry.RecordLog) error {
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.dropExpiredLogs(now)
	for _, e := range entries {
		l, ok := s.logs[e.RecordID]
		if !ok {
			l = &recordLog{}
			s.logs[e.RecordID] = l
		}
		if _, live := s.records[e.RecordID]; !live && l.expiresAt.IsZero() {
			l.expiresAt = now.Add(registry.LogRetention)
		}
		s.logSeq++
		it := logItem{ms: e.Entry.At.UnixMilli(), seq: s.logSeq, entry: e.Entry}
		// Nearly always the newest: insertion from the end costs nothing then.
		i := len(l.entries)
		for i > 0 && it.before(l.entries[i-1]) {
			i--
		}
		l.entries = slices.Insert(l.entries, i, it)
		// Trimmed once the log holds twice the cap, so a busy token's log
		// is copied once per MaxLogs appends rather than on every one;
		// readers see the newest MaxLogs (newestLogs).
		if n := len(l.entries); n >= 2*registry.MaxLogs {
			l.entries = slices.Clone(l.entries[n-registry.MaxLogs:])
		}
	}
	return nil
}

// dropExpiredLogs deletes logs past their retention, at most once an hour
// (ListLogs hides them meanwhile); the caller holds the write lock.
func (s *Registry) dropExpiredLogs(now time.Time) {
	if now.Before(s.nextLogPrune) {
		return
	}
	s.nextLogPrune = now.Add(time.Hour)
	for id, l := range s.logs {
		if !l.expiresAt.IsZero() && !now.Before(l.expiresAt) {
			delete(s.logs, id)
		}
	}
}

// ListLogs returns a page of id's log, newest first by event time, and the
// next cursor (the position of the page's last entry).
func (s *Registry) ListLogs(_ context.Context, id string, limit int, cursor string) ([]registry.LogEntry, string, error) {
	limit = registry.ClampLimit(limit)
	var (
		after bool
		cMs   int64
		cTie  string
	)
	if cursor != "" {
		var err error
		cMs, cTie, err = registry.DecodeLogCursor(cursor)
		if err != nil {
			return nil, "", fmt.Errorf("list logs %q: %w", id, err)
		}
		after = true
	}
	now := s.now()
	s.mu.RLock()
	defer s.mu.RUnlock()
	var all []logItem
	if l, ok := s.logs[id]; ok && (l.expiresAt.IsZero() || now.Before(l.expiresAt)) {
		all = newestLogs(l.entries)
	}
	// remaining: the entries older than the cursor, counted from the oldest.
	remaining := len(all)
	if after {
		remaining = sort.Search(len(all), func(i int) bool {
			return all[i].ms > cMs || (all[i].ms == cMs && all[i].tie() >= cTie)
		})
	}
	page := make([]registry.LogEntry, 0, min(limit, remaining))
	last := -1
	for i := remaining - 1; i >= 0 && len(page) < limit; i-- {
		page = append(page, all[i].entry)
		last = i
	}
	next := ""
	if last > 0 {
		next = registry.EncodeLogCursor(all[last].ms, all[last].tie())
	}
	return page, next, nil
}

// MarkUsed applies each use to its record (registry.ApplyUse); missing records are skipped.
func (s *Registry) MarkUsed(_ context.Context, uses []registry.Use) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, u := range uses {
		r, ok := s.records[u.RecordID]
		if !ok {
			continue
		}
		if registry.ApplyUse(&r, u.At) {
			s.records[u.RecordID] = r
		}
	}
	return nil
}

// SetRole grants or withdraws role from owner.
func (s *Registry) SetRole(_ context.Context, owner, role string, granted bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	owners := s.roles[role]
	if granted {
		if owners == nil {
			owners = make(map[string]bool)
			s.roles[role] = owners
		}
		owners[owner] = true
		return nil
	}
	delete(owners, owner)
	return nil
}

// HasRole reports whether owner holds role.
func (s *Registry) HasRole(_ context.Context, owner, role string) (bool, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.roles[role][owner], nil
}

// EndedBefore returns up to limit ids of records whose EndedAt is at or before t, earliest first.
func (s *Registry) EndedBefore(_ context.Context, t time.Time, limit int) ([]string, error) {
	type exp struct {
		id string
		at time.Time
	}
	var hits []exp
	s.mu.RLock()
	for id, r := range s.records {
		if end := r.EndedAt(); end != nil && !end.After(t) {
			hits = append(hits, exp{id, *end})
		}
	}
	s.mu.RUnlock()
	slices.SortFunc(hits, func(a, b exp) int {
		if c := a.at.Compare(b.at); c != 0 {
			return c
		}
		if a.id < b.id {
			return -1
		}
		return 1
	})
	if limit > 0 && len(hits) > limit {
		hits = hits[:limit]
	}
	ids := make([]string, len(hits))
	for i, h := range hits {
		ids[i] = h.id
	}
	return ids, nil
}

// CountFailure counts one failure of key in a window of length window that
// starts at its first failure, and returns the count in that window.
func (s *Registry) CountFailure(_ context.Context, key string, window time.Duration) (int64, error) {
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	w, ok := s.fails[key]
	if !ok || !now.Before(w.until) {
		w = failWindow{until: now.Add(window)}
	}
	w.n++
	s.fails[key] = w
	if len(s.fails) >= s.failPruneAt {
		for k, v := range s.fails {
			if !now.Before(v.until) {
				delete(s.fails, k)
			}
		}
		s.failPruneAt = max(2*len(s.fails), minFailPruneAt)
	}
	return w.n, nil
}

// newestLogs is the part of a log that is kept: its newest registry.MaxLogs.
func newestLogs(entries []logItem) []logItem {
	return entries[max(0, len(entries)-registry.MaxLogs):]
}
