package webhook

import (
	"context"
	"errors"
	"slices"
	"time"
)

// Sentinel errors of a Store (wrapped).
var (
	// ErrNotFound: no endpoint with that id.
	ErrNotFound = errors.New("webhook endpoint not found")
)

// Endpoint is a registered webhook receiver.
type Endpoint struct {
	ID  string `json:"id"`
	URL string `json:"url"`
	// Events are the event types it receives.
	Events []string `json:"events"`
	// Secrets sign its requests: the current one first, then rotated-out
	// ones until their ExpiresAt (the grace period).
	Secrets   []Secret  `json:"secrets"`
	CreatedAt time.Time `json:"createdAt"`
}

// Secret is one signing secret, "whsec_<base64>".
type Secret struct {
	Value     string     `json:"value"`
	ExpiresAt *time.Time `json:"expiresAt,omitempty"`
}

// Wants reports whether the endpoint receives events of type typ.
func (e Endpoint) Wants(typ string) bool { return slices.Contains(e.Events, typ) }

// Signing returns the secrets that sign at now.
func (e Endpoint) Signing(now time.Time) []string {
	var out []string
	for _, s := range e.Secrets {
		if s.ExpiresAt == nil || now.Before(*s.ExpiresAt) {
			out = append(out, s.Value)
		}
	}
	return out
}

// Store keeps endpoints, secrets included. Backend failures wrap
// apperr.ErrStoreUnavailable.
type Store interface {
	// CreateWebhook stores e (a new id).
	CreateWebhook(ctx context.Context, e Endpoint) error
	// GetWebhook returns endpoint id, or an error wrapping ErrNotFound.
	GetWebhook(ctx context.Context, id string) (Endpoint, error)
	// ListWebhooks returns every endpoint, oldest first.
	ListWebhooks(ctx context.Context) ([]Endpoint, error)
	// UpdateWebhook replaces endpoint e.ID (ErrNotFound if absent).
	UpdateWebhook(ctx context.Context, e Endpoint) error
	// DeleteWebhook removes endpoint id (ErrNotFound if absent).
	DeleteWebhook(ctx context.Context, id string) error
}
