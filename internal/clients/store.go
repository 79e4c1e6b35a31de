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
type Client struct {
	ID             string    `json:"id"`
	Name           string    `json:"name"`
	Role           string    `json:"role"`
	Resources      []string  `json:"resources"`
	Scopes         []string  `json:"scopes"`
	MaxTokenExpiry int64     `json:"maxTokenExpiry"` // seconds; 0 = config default
	SecretHash     []byte    `json:"secretHash"`
	CreatedAt      time.Time `json:"createdAt"`
	// SecretRotatedAt is when the secret was last rotated (zero: never).
	// Refresh chains started at or before it end (no refresh).
	SecretRotatedAt time.Time `json:"secretRotatedAt,omitzero"`
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
