package console

import (
	"context"
	"errors"
	"time"
)

// ErrNotFound is returned by a Store for a session it does not hold (never
// created, deleted, or past its ExpiresAt).
var ErrNotFound = errors.New("console session not found")

// Session is a stored session. It holds no secret: ID is the SHA-256 of the
// cookie's value, and SecretTag a digest of the client's stored secret hash.
type Session struct {
	// ID is the hex SHA-256 of the random session id the cookie carries:
	// the store key, from which the cookie value cannot be recovered.
	ID string
	// ClientID is the client the session authenticates as.
	ClientID string
	// SecretTag binds the session to the client's secret at sign-in: the
	// session ends when the secret is rotated (or the client re-created).
	SecretTag []byte
	// CreatedAt is the sign-in; LastSeen the last use written; ExpiresAt
	// the earlier of LastSeen+idle and CreatedAt+max.
	CreatedAt time.Time
	LastSeen  time.Time
	ExpiresAt time.Time
}

// Store keeps sessions where every instance sees them (the memory store
// for one process, Redis for many).
type Store interface {
	// CreateSession stores s until s.ExpiresAt, replacing any session with
	// the same ID. When keep > 0 it then ends the oldest other live
	// sessions of s.ClientID (by CreatedAt, then ID) so that at most keep
	// remain, s among them: it never ends s itself. keep 0 limits nothing.
	// Store failures wrap apperr.ErrStoreUnavailable.
	CreateSession(ctx context.Context, s Session, keep int) error
	// GetSession returns the session with id, or ErrNotFound if there is
	// none or it expired.
	GetSession(ctx context.Context, id string) (Session, error)
	// TouchSession sets the LastSeen and ExpiresAt of the existing session
	// id (keeping it until expiresAt); ErrNotFound if there is none. It
	// never creates a session.
	TouchSession(ctx context.Context, id string, lastSeen, expiresAt time.Time) error
	// DeleteSession removes the session id; deleting a missing session is
	// not an error.
	DeleteSession(ctx context.Context, id string) error
}
