package registry

import (
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/sigil-dev/sigil/internal/token"
)

// Sentinel errors returned by Store implementations (wrapped).
var (
	// ErrNotFound: no record with that id.
	ErrNotFound = errors.New("token record not found")
	// ErrNameTaken: the owner already has a record with that name.
	ErrNameTaken = errors.New("token name already taken")
	// ErrBadCursor: a paging cursor that this store did not hand out.
	ErrBadCursor = errors.New("bad paging cursor")
	// ErrConflict: UpdateRecordIf found another generation (or a revoked
	// record) than the caller read; nothing was written.
	ErrConflict = errors.New("token record changed concurrently")
)

// Status is the lifecycle state of a record (Envizi's model).
type Status string

// Statuses. A record is not-generated until its first JWT,
// generated-inactive until that JWT is first used successfully, then
// generated-active. Revoked is stored: the record stays, readable with its
// log, until cleanup removes it after the retention period; expired is
// computed on read once ExpiresAt has passed.
const (
	StatusNotGenerated      Status = "not-generated"
	StatusGeneratedInactive Status = "generated-inactive"
	StatusGeneratedActive   Status = "generated-active"
	StatusRevoked           Status = "revoked"
	StatusExpired           Status = "expired"
)

// Valid reports whether s is one of the known statuses.
func (s Status) Valid() bool {
	switch s {
	case StatusNotGenerated, StatusGeneratedInactive, StatusGeneratedActive, StatusRevoked, StatusExpired:
		return true
	}
	return false
}

// Activities of a LogEntry.
const (
	ActivityCreate       = "CREATE"
	ActivityGenerate     = "GENERATE"
	ActivityUpdate       = "UPDATE"
	ActivityRevoke       = "REVOKE"
	ActivityAuthenticate = "AUTHENTICATE"
)

// Results of a LogEntry.
const (
	ResultOK   = "OK"
	ResultFail = "FAIL"
)

// RoleAPITokens is the role an owner needs to hold API tokens.
const RoleAPITokens = "api-tokens"

// Store limits.
const (
	// DefaultLimit is the page size when a Filter or ListLogs asks for none.
	DefaultLimit = 50
	// MaxLimit is the largest page size.
	MaxLimit = 200
	// MaxLogs is how many log entries a record keeps; older ones are dropped.
	MaxLogs = 10_000
	// LogRetention is how long the log of a record that does not exist
	// stays readable (audit), and the default retention of revoked and
	// expired records (ServiceConfig.Retention, registry.retention).
	LogRetention = 30 * 24 * time.Hour
)

// Record is a registered token (DESIGN §1). The JWT itself is never part of
// it: only its jti, its last six characters and, with reveal on, its
// AES-GCM sealed form.
//
// Record is a domain type without a wire form of its own: the stores define
// how they keep it (internal/store/redis: recordV1) and internal/httpapi how
// the API shows it (tokenView), so that neither changes the other. JTI and
// Sealed are tagged json:"-" only so that encoding a Record by mistake
// never discloses them.
type Record struct {
	ID       string
	Type     string // token.KindReport, token.KindAppView or token.KindAPI
	Name     string
	Owner    string
	ReportID string
	AppID    string
	Scopes   []string
	ReadOnly bool
	Cloud    bool
	URL      string
	Status   Status
	// UniqueName makes a report or app-view token claim its name among its
	// owner's, as an API token always does (CreateInput.UniqueName).
	UniqueName bool

	CreatedAt time.Time
	// ExpiresAt is when the current generation expires (nil: never). A
	// record created with a preset (ExpiresIn) has none until it is
	// generated, and each generation sets it to then plus the preset.
	ExpiresAt *time.Time
	// ExpiresIn is the expiry preset the record was created with (1d 7d
	// 30d 60d 90d 1y never), "" when it was given an absolute expiresAt or
	// none.
	ExpiresIn string
	// RevokedAt is when the record was revoked (nil while it is not).
	RevokedAt   *time.Time
	GeneratedAt *time.Time
	LastUsedAt  *time.Time
	CreatedBy   string
	// TokenHint is the last 6 characters of the current JWT.
	TokenHint string
	// JTI is the jti of the current generation; stores persist it, the API never shows it.
	JTI string `json:"-"`
	// Sealed is the AES-GCM sealed current JWT when reveal is on; stores
	// persist it, the API never shows it.
	Sealed []byte `json:"-"`
}

// Resource is the resource a record belongs to, as clients.Client.Allows
// matches it: "report:<reportId>", "app:<appId>" or "api:<owner>"; "" for an
// unknown type.
func (r Record) Resource() string {
	switch r.Type {
	case token.KindReport:
		return "report:" + r.ReportID
	case token.KindAppView:
		return "app:" + r.AppID
	case token.KindAPI:
		return "api:" + r.Owner
	}
	return ""
}

// Clone returns r with its slices and times copied, so that neither copy
// can change the other.
func (r Record) Clone() Record {
	r.Scopes = slices.Clone(r.Scopes)
	if r.Scopes == nil {
		r.Scopes = []string{}
	}
	r.Sealed = slices.Clone(r.Sealed)
	r.ExpiresAt = cloneTime(r.ExpiresAt)
	r.RevokedAt = cloneTime(r.RevokedAt)
	r.GeneratedAt = cloneTime(r.GeneratedAt)
	r.LastUsedAt = cloneTime(r.LastUsedAt)
	return r
}

func cloneTime(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	c := *t
	return &c
}

// EndedAt is when the record stopped being usable: the earlier of its
// revocation and its expiry; nil for a live record that never expires.
// Cleanup removes a record once EndedAt is older than the retention.
func (r Record) EndedAt() *time.Time {
	if r.RevokedAt != nil && (r.ExpiresAt == nil || r.RevokedAt.Before(*r.ExpiresAt)) {
		return r.RevokedAt
	}
	return r.ExpiresAt
}

// HoldsName reports whether r claims its name among its owner's: names are
// unique per owner for API tokens (report and app-view tokens carry a
// display name that several may share, unless created with UniqueName),
// and a revoked token releases its name. An expired one keeps it until it
// is revoked or cleaned up.
func HoldsName(r Record) bool {
	return (r.Type == token.KindAPI || r.UniqueName) && r.Status != StatusRevoked
}

// Score is the record's position in the listing indices: CreatedAt in Unix
// milliseconds. Listings are ordered by (score, id), newest first.
func (r Record) Score() int64 { return r.CreatedAt.UnixMilli() }

// LogEntry is one activity on a record. Like Record, it has no wire form of
// its own (internal/store/redis: logEntryV1; internal/httpapi: logEntryView).
type LogEntry struct {
	Activity string // CREATE GENERATE UPDATE REVOKE AUTHENTICATE
	At       time.Time
	By       string
	Result   string // OK FAIL
}

// RecordLog is a LogEntry for the record RecordID, as AppendLogs takes it.
type RecordLog struct {
	RecordID string
	Entry    LogEntry
}

// Use is a successful authentication with a record's token at At.
type Use struct {
	RecordID string
	At       time.Time
}

// Filter selects records for ListRecords. Each non-empty field must match
// exactly. The index scanned is chosen by ReportID, else AppID, else Owner,
// else CreatedBy, else all records; the other fields filter. Limit is the page size
// (DefaultLimit when 0, at most MaxLimit); Cursor is a NextCursor returned by
// the previous page, "" for the first.
type Filter struct {
	Type, Owner, Status, ReportID, AppID string
	// CreatedBy keeps the records one client created (a non-admin listing:
	// owner isolation between tenants that share a resource namespace);
	// without ReportID, AppID or Owner the stores scan the index of that
	// creator's records.
	CreatedBy string
	// ExpiresAfter and ExpiresBefore, when set, keep the records whose
	// expiry falls in [ExpiresAfter, ExpiresBefore) (records that never
	// expire never match): "expiring within N days".
	ExpiresAfter, ExpiresBefore time.Time
	Limit                       int
	Cursor                      string
}

// Match reports whether r passes every non-empty field of f.
func (f Filter) Match(r Record) bool {
	return (f.Type == "" || r.Type == f.Type) &&
		(f.CreatedBy == "" || r.CreatedBy == f.CreatedBy) &&
		(f.Owner == "" || r.Owner == f.Owner) &&
		(f.Status == "" || string(r.Status) == f.Status) &&
		(f.ReportID == "" || r.ReportID == f.ReportID) &&
		(f.AppID == "" || r.AppID == f.AppID) &&
		(f.ExpiresBefore.IsZero() || (r.ExpiresAt != nil && r.ExpiresAt.Before(f.ExpiresBefore))) &&
		(f.ExpiresAfter.IsZero() || (r.ExpiresAt != nil && !r.ExpiresAt.Before(f.ExpiresAfter)))
}

// ClampLimit maps a requested page size to 1..MaxLimit (DefaultLimit for 0
// or less).
func ClampLimit(n int) int {
	switch {
	case n <= 0:
		return DefaultLimit
	case n > MaxLimit:
		return MaxLimit
	}
	return n
}

// Newer orders listing positions newest first: it reports whether
// (scoreA, idA) comes before (scoreB, idB), that is a higher score, or the
// same score and a greater id (Redis's ZREVRANGE order).
func Newer(scoreA int64, idA string, scoreB int64, idB string) bool {
	if scoreA != scoreB {
		return scoreA > scoreB
	}
	return strings.Compare(idA, idB) > 0
}

// ApplyUpdate returns next as UpdateRecord stores it over stored: ID, Type,
// Owner, ReportID, AppID and CreatedAt must not change (the indices are not
// moved; an error otherwise), and a concurrent MarkUsed is never undone:
// LastUsedAt keeps the later of the two, and a generated-active status
// stays active while the generation (JTI) is the same.
func ApplyUpdate(stored, next Record) (Record, error) {
	if stored.ID != next.ID || stored.Type != next.Type || stored.Owner != next.Owner ||
		stored.ReportID != next.ReportID || stored.AppID != next.AppID || !stored.CreatedAt.Equal(next.CreatedAt) {
		return Record{}, errors.New("update record: id, type, owner, reportId, appId and createdAt are immutable")
	}
	next = next.Clone()
	if stored.LastUsedAt != nil && (next.LastUsedAt == nil || stored.LastUsedAt.After(*next.LastUsedAt)) {
		next.LastUsedAt = cloneTime(stored.LastUsedAt)
	}
	if next.Status == StatusGeneratedInactive && stored.Status == StatusGeneratedActive && stored.JTI == next.JTI {
		next.Status = StatusGeneratedActive
	}
	return next, nil
}

// CheckGeneration is UpdateRecordIf's precondition on the stored record:
// its current generation is jti and it is not revoked (ErrConflict otherwise).
func CheckGeneration(stored Record, jti string) error {
	if stored.JTI != jti || stored.Status == StatusRevoked {
		return ErrConflict
	}
	return nil
}

// ApplyUse records a successful use at at on r, as MarkUsed does: LastUsedAt
// becomes the later of the two, and generated-inactive becomes
// generated-active. It reports whether r changed.
func ApplyUse(r *Record, at time.Time) bool {
	changed := false
	if r.LastUsedAt == nil || at.After(*r.LastUsedAt) {
		t := at
		r.LastUsedAt = &t
		changed = true
	}
	if r.Status == StatusGeneratedInactive {
		r.Status = StatusGeneratedActive
		changed = true
	}
	return changed
}
