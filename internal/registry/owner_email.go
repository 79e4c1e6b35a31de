package registry

import (
	"context"
	"fmt"
	"net/mail"
	"strings"
	"time"
	"unicode"

	"github.com/sigil-dev/sigil/internal/apperr"
)

// OwnerEmails keeps each owner's email address beside the owner's roles
// (issue #15: the notifications' recipient).
type OwnerEmails interface {
	// SetOwnerEmail stores owner's address; "" removes it. Idempotent.
	SetOwnerEmail(ctx context.Context, owner, email string) error
	// OwnerEmail returns owner's address, "" when none is stored.
	OwnerEmail(ctx context.Context, owner string) (string, error)
}

// MaxEmailLen bounds an owner's email address (RFC 5321's path limit).
const MaxEmailLen = 254

// CheckEmail validates an owner's address and returns it with its domain in
// lower case: one bare addr-spec as net/mail reads it (no display name, no
// comment, no group, no second address), at most MaxEmailLen characters,
// printable ASCII. Errors name the field "email".
func CheckEmail(raw string) (string, error) {
	bad := func(why string) error { return apperr.Invalid("email", "%s", why) }
	if raw == "" {
		return "", bad("an email address is required")
	}
	if len(raw) > MaxEmailLen {
		return "", bad(fmt.Sprintf("must be at most %d characters", MaxEmailLen))
	}
	for _, r := range raw {
		if r > unicode.MaxASCII || !unicode.IsPrint(r) || r == ' ' {
			return "", bad("must be a plain address such as owner@example.com (printable ASCII, no spaces)")
		}
	}
	a, err := mail.ParseAddress(raw)
	if err != nil || a.Name != "" || a.Address != raw || strings.Count(raw, "@") != 1 {
		return "", bad("must be one plain address such as owner@example.com, without a name or comment")
	}
	at := strings.LastIndexByte(raw, '@')
	local, domain := raw[:at], raw[at+1:]
	if local == "" || domain == "" || strings.HasPrefix(domain, "[") || strings.HasPrefix(domain, ".") || strings.HasSuffix(domain, ".") {
		return "", bad("must be one plain address such as owner@example.com")
	}
	return local + "@" + strings.ToLower(domain), nil
}

// checkOwnerAccess lets an admin, or a client that may act for owner
// (api:<owner>), manage owner's address; forbidden naming "owner" otherwise.
func checkOwnerAccess(caller Caller, owner string) error {
	if owner == "" {
		return apperr.Invalid("owner", "an owner is required")
	}
	if err := checkText("owner", owner, MaxIDLen); err != nil {
		return err
	}
	if !caller.CanActOn("api:" + owner) {
		return &apperr.Error{Code: apperr.CodeForbidden, Field: "owner", Message: "this client may not act for this owner"}
	}
	return nil
}

// SetOwnerEmail stores owner's email address, validated by CheckEmail, and
// returns it as stored. Only an admin or a client that may act for the
// owner (api:<owner>) may.
func (s *Service) SetOwnerEmail(ctx context.Context, caller Caller, owner, email string) (string, error) {
	if err := checkOwnerAccess(caller, owner); err != nil {
		return "", err
	}
	email, err := CheckEmail(email)
	if err != nil {
		return "", err
	}
	if err := s.store.SetOwnerEmail(ctx, owner, email); err != nil {
		return "", fmt.Errorf("set owner email: %w", err)
	}
	return email, nil
}

// OwnerEmail returns owner's address; not found when none is stored.
func (s *Service) OwnerEmail(ctx context.Context, caller Caller, owner string) (string, error) {
	if err := checkOwnerAccess(caller, owner); err != nil {
		return "", err
	}
	email, err := s.store.OwnerEmail(ctx, owner)
	if err != nil {
		return "", fmt.Errorf("get owner email: %w", err)
	}
	if email == "" {
		return "", &apperr.Error{Code: apperr.CodeNotFound, Message: "the owner has no email address"}
	}
	return email, nil
}

// DeleteOwnerEmail removes owner's address (idempotent).
func (s *Service) DeleteOwnerEmail(ctx context.Context, caller Caller, owner string) error {
	if err := checkOwnerAccess(caller, owner); err != nil {
		return err
	}
	if err := s.store.SetOwnerEmail(ctx, owner, ""); err != nil {
		return fmt.Errorf("delete owner email: %w", err)
	}
	return nil
}

// ExpiryPos is a record's place in the expiry index: its ExpiresAt (Unix
// milliseconds, as the index keeps it) and id. The index is ordered by
// (At, ID).
type ExpiryPos struct {
	At time.Time
	ID string
}

// Before reports whether p comes before q in the index.
func (p ExpiryPos) Before(q ExpiryPos) bool {
	if !p.At.Equal(q.At) {
		return p.At.Before(q.At)
	}
	return p.ID < q.ID
}

// ExpiryIndex reads the expiry index (the one ExpiredBefore reads) in order:
// ExpiringAfter returns up to limit positions after `after` and at or before
// until, earliest first. Records that never expire are not in it.
type ExpiryIndex interface {
	ExpiringAfter(ctx context.Context, after ExpiryPos, until time.Time, limit int) ([]ExpiryPos, error)
}
