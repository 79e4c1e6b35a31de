package clients

import (
	"context"
	"errors"
	"time"
)

// Sentinel errors returned by Store implementations.
var (
	ErrNotFound      = errors.New("client not found")
	ErrAlreadyExists = errors.New("client already exists")
)

// Roles a client can hold.
const (
	RoleAdmin  = "admin"
	RoleIssuer = "issuer"
)

// Client is a stored client record. SecretHash is HMAC-SHA-256(pepper, secret);
// the secret itself is never stored.
//
// Client has no wire form of its own: the stores define how they keep it
// (internal/store/redis: clientV1) and internal/httpapi how the API shows it
// (clientView). SecretHash is tagged json:"-" only so that encoding a Client
// by mistake never discloses it.
type Client struct {
	ID             string
	Name           string
	Role           string
	Resources      []string
	Scopes         []string
	MaxTokenExpiry int64  // seconds; 0 = config default
	SecretHash     []byte `json:"-"`
	CreatedAt      time.Time
	// SecretRotatedAt is when the secret was last rotated (zero: never).
	// Refresh chains started at or before it end (no refresh).
	SecretRotatedAt time.Time
}

// Store persists client records.
type Store interface {
	// CreateClient stores c; ErrAlreadyExists if c.ID is taken. Atomic.
	CreateClient(ctx context.Context, c Client) error
	// GetClient returns the client with id, or ErrNotFound.
	GetClient(ctx context.Context, id string) (Client, error)
	// ListClients returns every client ordered by ID.
	ListClients(ctx context.Context) ([]Client, error)
	// UpdateClient replaces an existing record; ErrNotFound if absent.
	UpdateClient(ctx context.Context, c Client) error
	// DeleteClient removes the client; ErrNotFound if absent.
	DeleteClient(ctx context.Context, id string) error
}
