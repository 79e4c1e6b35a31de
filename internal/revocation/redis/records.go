package redis

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/sigil-dev/sigil/internal/revocation"
	"github.com/sigil-dev/sigil/internal/token"
)

// Records is token.Records over the registry records sigil keeps in Redis
// (<prefix>rec:<id>, written by internal/store/redis): one GET per check.
// It reads only what the liveness rule (token.CheckLive) needs, so that a
// verifier checks registered tokens without sigil's registry and stores;
// internal/store/redis's tests check that it reads the records that store
// writes.
type Records struct {
	client goredis.UniversalClient
	prefix string
}

var _ token.Records = (*Records)(nil)

// NewRecords returns the Records under prefix (DefaultPrefix when empty) in client.
func NewRecords(client goredis.UniversalClient, prefix string) *Records {
	if prefix == "" {
		prefix = DefaultPrefix
	}
	return &Records{client: client, prefix: prefix}
}

// RecordKey is the key of record id under prefix.
func RecordKey(prefix, id string) string { return prefix + "rec:" + id }

// recordView is the part of a stored record the liveness rule reads.
type recordView struct {
	// V is the stored format's version (internal/store/redis format.go):
	// 0 (before versioning), 1 and 2 have these fields; a newer one is
	// refused rather than half read.
	V         int        `json:"v"`
	ID        string     `json:"id"`
	Type      string     `json:"type"`
	Owner     string     `json:"owner"`
	ReportID  string     `json:"reportId"`
	AppID     string     `json:"appId"`
	Status    string     `json:"status"`
	ExpiresAt *time.Time `json:"expiresAt"`
	JTI       string     `json:"jti"`
}

// recordFormatVersion is the newest stored record format this reader knows
// (internal/store/redis's recordFormatV2, which added the expiry preset and
// the revocation time, neither of which liveness reads;
// TestRecords_ReadsThisStore keeps the two readers in step).
const recordFormatVersion = 2

// statusRevoked is registry.StatusRevoked: a revoked record, kept until cleanup.
const statusRevoked = "revoked"

// State reads record id: token.RecordGone's error (wrapping token.ErrRevoked)
// if it does not exist, one wrapping revocation.ErrUnavailable if Redis
// fails, and a decoding error for a value that is not a record.
func (r *Records) State(ctx context.Context, id string) (token.RecordState, error) {
	b, err := r.client.Get(ctx, RecordKey(r.prefix, id)).Bytes()
	switch {
	case errors.Is(err, goredis.Nil):
		return token.RecordState{}, token.RecordGone(id)
	case err != nil:
		return token.RecordState{}, fmt.Errorf("read record %s: %w: %w", id, revocation.ErrUnavailable, err)
	}
	var v recordView
	if err := json.Unmarshal(b, &v); err != nil {
		return token.RecordState{}, fmt.Errorf("read record %s: decode: %w", id, err)
	}
	if v.V > recordFormatVersion {
		return token.RecordState{}, fmt.Errorf("read record %s: stored format version %d is newer than this binary reads (%d)", id, v.V, recordFormatVersion)
	}
	return token.RecordState{
		ID: v.ID, Revoked: v.Status == statusRevoked, JTI: v.JTI,
		Kind: v.Type, ReportID: v.ReportID, AppID: v.AppID, Owner: v.Owner, ExpiresAt: v.ExpiresAt,
	}, nil
}

// CheckRecord applies token.CheckLive to c and its record c.TID.
func (r *Records) CheckRecord(ctx context.Context, c *token.Claims) error {
	st, err := r.State(ctx, c.TID)
	if err != nil {
		return err
	}
	return token.CheckLive(c, st)
}
