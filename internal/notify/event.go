// Package notify carries sigil's notifications: events written once to a
// durable outbox by the change that causes them, and delivered at least once
// to every channel (email, webhooks) that wants them.
//
// This file is the contract between the parts: the registry and revocation
// paths and the expiry scanner produce Events through an Emitter; the
// outbox dispatcher hands each Event to the Channels.
package notify

import (
	"context"
	"time"
)

// Event types (issue #15). The names are part of the webhook payload and of
// the event filter of a webhook endpoint: never rename one.
const (
	TokenCreated      = "token.created"
	TokenGenerated    = "token.generated" // regeneration included
	TokenRevoked      = "token.revoked"
	TokenExpiring     = "token.expiring" // once per token and lead time
	TokenExpired      = "token.expired"
	TokenAuthFailures = "token.auth_failures"
	RoleGranted       = "owner.role_granted"
	RoleWithdrawn     = "owner.role_withdrawn"
)

// Types lists every event type, in the order above.
var Types = []string{TokenCreated, TokenGenerated, TokenRevoked, TokenExpiring, TokenExpired, TokenAuthFailures, RoleGranted, RoleWithdrawn}

// Event is one thing that happened, as the outbox keeps it and the channels
// receive it. ID is stable: the same event retried or delivered twice keeps
// its ID (email Message-ID and the webhook-id header derive from it), and an
// event that must be sent once per token (token.expiring for one lead time)
// has an ID derived from what makes it unique, so a second emission is
// recognisable as a duplicate.
type Event struct {
	ID   string    `json:"id"`
	Type string    `json:"type"`
	At   time.Time `json:"at"`
	// Owner is the owner the event concerns (API tokens and owner.* events):
	// the email recipient is looked up from it. "" when none.
	Owner string `json:"owner,omitempty"`
	// Actor is who caused it: a client id (the owner, when acting through
	// a console token), or "" for sigil itself (expiry).
	Actor string `json:"actor,omitempty"`
	// Token describes the registered token concerned; nil for owner.* events.
	Token *Token `json:"token,omitempty"`
	// Data holds the details of one type: "how" (delete, regenerate,
	// revoke-all, cleanup) for token.revoked, "lead" (a duration such as
	// "168h") for token.expiring, "failures" for token.auth_failures,
	// "role" for owner.* events.
	Data map[string]string `json:"data,omitempty"`
}

// Token is what an event tells of a registered token. Never the JWT, nor
// its jti.
type Token struct {
	ID          string     `json:"id"`
	Type        string     `json:"type"`
	Name        string     `json:"name,omitempty"`
	Owner       string     `json:"owner,omitempty"`
	ReportID    string     `json:"reportId,omitempty"`
	AppID       string     `json:"appId,omitempty"`
	Scopes      []string   `json:"scopes,omitempty"`
	ExpiresAt   *time.Time `json:"expiresAt,omitempty"`
	GeneratedAt *time.Time `json:"generatedAt,omitempty"`
}

// Emitter writes events to the outbox. Emit returns nil only once every
// event is durably kept (with Redis: in the stream); an event whose ID is
// already kept is not written twice.
type Emitter interface {
	Emit(ctx context.Context, events ...Event) error
}

// Channel delivers one event to its recipients (one channel: email, or one
// webhook endpoint). A nil error means delivered; any error is retried with
// backoff until the attempts run out and the event becomes a dead letter.
// Deliver must be safe to call again for an event it already delivered
// (at-least-once): it keys what it sends on Event.ID.
type Channel interface {
	Name() string
	Deliver(ctx context.Context, e Event) error
}
