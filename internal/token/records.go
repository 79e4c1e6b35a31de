package token

import (
	"fmt"
	"time"
)

// RecordState is what the liveness check of a registered token (Records)
// reads of its record: the store's record, converted where it is read.
type RecordState struct {
	// ID is the record id, the token's tid.
	ID string
	// Revoked is true while the record's deletion is in progress.
	Revoked bool
	// JTI is the jti of the record's current generation.
	JTI string
	// Kind is the record's token kind; ReportID, AppID and Owner its binding.
	Kind, ReportID, AppID, Owner string
	// ExpiresAt is the record's expiry, nil for never.
	ExpiresAt *time.Time
}

// Resource is the record's resource, as Claims.Resource names a token's:
// "report:<reportId>", "app:<appId>" or "api:<owner>"; "" for another kind.
func (r RecordState) Resource() string {
	switch r.Kind {
	case KindReport:
		return "report:" + r.ReportID
	case KindAppView:
		return "app:" + r.AppID
	case KindAPI:
		return "api:" + r.Owner
	}
	return ""
}

// CheckLive is the rule of DESIGN §10 for a registered token c whose record
// r was found: nil if r is not revoked, has c's kind and resource, its
// current generation is c's jti and c expires no later than it; otherwise
// an error wrapping ErrRevoked. Every Records implementation applies it.
func CheckLive(c *Claims, r RecordState) error {
	switch {
	case r.Revoked:
		return fmt.Errorf("record %s is revoked: %w", r.ID, ErrRevoked)
	case r.JTI != c.ID:
		return fmt.Errorf("record %s has another generation: %w", r.ID, ErrRevoked)
	case r.Kind != c.Kind || r.Resource() != c.Resource():
		return fmt.Errorf("record %s is of another kind or resource: %w", r.ID, ErrRevoked)
	case r.ExpiresAt != nil && (c.ExpiresAt == nil || c.ExpiresAt.After(*r.ExpiresAt)):
		return fmt.Errorf("token outlives record %s: %w", r.ID, ErrRevoked)
	}
	return nil
}

// RecordGone is the error of a registered token whose record does not
// exist (any more): it wraps ErrRevoked.
func RecordGone(id string) error { return fmt.Errorf("record %s is gone: %w", id, ErrRevoked) }
