package registry

import (
	"context"
	"time"
)

// Store persists token records, their logs, owner roles and failure
// counters. Failures of the backend wrap apperr.ErrStoreUnavailable.
//
// A backend that cannot change several keys atomically (Redis Cluster)
// orders its writes so that a crash leaves no false success: a record is
// written after its name is claimed and before it is indexed, and deleted
// before it is unindexed, its log deleted and its name freed. Listings skip index entries
// whose record is gone. A crash between those steps can leave a name claimed
// by nothing (that owner cannot reuse the name) or a stale index entry; it
// never leaves two records with one name or a listed record that is not
// stored.
type Store interface {
	// CreateRecord stores r (a copy) and, if it holds its name (HoldsName:
	// a live API token), claims (Owner, NameKey(Name)) atomically: an error
	// wrapping ErrNameTaken if another record of the owner holds it.
	CreateRecord(ctx context.Context, r Record) error
	// GetRecord returns a copy of the record with id, or an error wrapping ErrNotFound.
	GetRecord(ctx context.Context, id string) (Record, error)
	// UpdateRecord replaces the record r.ID as ApplyUpdate describes (ErrNotFound
	// if absent). A name the new record holds and the old did not (a
	// rename) is claimed atomically first (ErrNameTaken if another record of
	// the owner holds it; nothing changes then), and one the old held and
	// the new does not (a rename, a revocation) is freed after.
	UpdateRecord(ctx context.Context, r Record) error
	// UpdateRecordIf is UpdateRecord on the condition that the stored record's
	// current generation is jti ("" for never generated) and it is not
	// revoked (CheckGeneration), checked and written atomically: a
	// compare-and-swap on the record, so that of concurrent regenerations of
	// one generation exactly one succeeds. An error wrapping ErrConflict if
	// the condition fails (nothing changes), ErrNotFound if absent.
	UpdateRecordIf(ctx context.Context, r Record, jti string) error
	// DeleteRecord removes the record, frees its name, removes it from every
	// index and deletes its log (cleanup); ErrNotFound if absent.
	DeleteRecord(ctx context.Context, id string) error
	// ListRecords returns one page of the records that match f, newest first
	// (CreatedAt, then id, descending), and the cursor of the next page, ""
	// after the last. A cursor it did not hand out is ErrBadCursor.
	ListRecords(ctx context.Context, f Filter) ([]Record, string, error)
	// AppendLogs adds entries (in the order given, oldest first) to their
	// records' logs in one round trip. A log keeps the newest MaxLogs entries;
	// entries for a record that does not exist expire after LogRetention.
	AppendLogs(ctx context.Context, entries []RecordLog) error
	// ListLogs returns one page of id's log, newest first, and the next
	// cursor ("" after the last page; ErrBadCursor for a foreign cursor). A
	// record without entries has an empty log, not ErrNotFound.
	ListLogs(ctx context.Context, id string, limit int, cursor string) ([]LogEntry, string, error)
	// MarkUsed applies each use to its record as ApplyUse describes, atomically
	// per record; records that do not exist are skipped.
	MarkUsed(ctx context.Context, uses []Use) error
	// SetRole grants (granted) or withdraws role from owner; both are idempotent.
	SetRole(ctx context.Context, owner, role string, granted bool) error
	// HasRole reports whether owner holds role.
	HasRole(ctx context.Context, owner, role string) (bool, error)
	// EndedBefore returns up to limit ids of records whose EndedAt (the
	// earlier of RevokedAt and ExpiresAt) is at or before t, earliest first.
	// Live records that never expire are never returned.
	EndedBefore(ctx context.Context, t time.Time, limit int) ([]string, error)
	// CountFailure counts one failure of key in a fixed window that starts at
	// its first failure and lasts window, and returns the count so far in
	// that window (1 for the first). Atomic; shared by every instance.
	CountFailure(ctx context.Context, key string, window time.Duration) (int64, error)
}

// UsageStore is what a Recorder writes to.
type UsageStore interface {
	AppendLogs(ctx context.Context, entries []RecordLog) error
	MarkUsed(ctx context.Context, uses []Use) error
}

var _ UsageStore = Store(nil)
