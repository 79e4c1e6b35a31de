package notify

import (
	"context"
	"errors"
	"strings"
	"time"
)

// Sentinel errors of an Outbox (wrapped).
var (
	// ErrNotFound: no dead letter with that id.
	ErrNotFound = errors.New("notification not found")
	// ErrBadCursor: a paging cursor the outbox did not hand out.
	ErrBadCursor = errors.New("bad paging cursor")
)

// Destination names: the email channel is "email"; a webhook endpoint is
// "webhook:<endpoint id>". ChannelLabel maps a destination to its metric label.
const (
	ChannelEmail   = "email"
	ChannelWebhook = "webhook"
	// ChannelOther is the label of a destination of neither kind.
	ChannelOther = "other"
)

// ChannelLabels are the values of the channel label of the notify metrics:
// never a URL nor an endpoint id, so that the number of series is bounded.
var ChannelLabels = []string{ChannelEmail, ChannelWebhook}

// ChannelLabel returns the metric label of destination dest.
func ChannelLabel(dest string) string {
	switch {
	case dest == ChannelEmail:
		return ChannelEmail
	case strings.HasPrefix(dest, ChannelWebhook+":"):
		return ChannelWebhook
	}
	return ChannelOther
}

// Pending is an event appended to the outbox and not yet fanned out into
// its deliveries; Ref identifies it in the outbox (a stream entry id).
type Pending struct {
	Ref   string
	Event Event
}

// Delivery is one event on its way to one destination: the delivery state
// is per (event, destination), so that a failing destination neither
// blocks the others nor makes them receive the event again.
type Delivery struct {
	// ID is DeliveryID(Event.ID, Dest).
	ID    string `json:"id"`
	Dest  string `json:"dest"`
	Event Event  `json:"event"`
	// Attempts counts the failed attempts so far.
	Attempts int `json:"attempts"`
	// LastError is the outcome of the last failed attempt (no secrets: a
	// status code or a network error class).
	LastError string `json:"lastError,omitempty"`
	// Due is when the next attempt may start.
	Due time.Time `json:"due"`
	// DeadAt is when the delivery became a dead letter (zero while alive).
	DeadAt time.Time `json:"deadAt,omitzero"`
}

// DeliveryID is the id of the delivery of event eventID to dest.
func DeliveryID(eventID, dest string) string { return eventID + "~" + dest }

// Outbox keeps events and their deliveries. Backend failures wrap
// apperr.ErrStoreUnavailable.
//
// The flow: Emit appends events (deduplicated by id); Claim hands a
// consumer the events not yet fanned out (and those another consumer
// claimed more than minIdle ago without finishing: a crashed instance);
// Fanout replaces an event by its deliveries, atomically; Due leases the
// deliveries whose time has come to one consumer for one attempt, after
// which Complete, Reschedule or Bury settles each. A lease that runs out
// (a crashed instance) makes the delivery due again.
type Outbox interface {
	Emitter
	// Claim returns up to n pending events for consumer.
	Claim(ctx context.Context, consumer string, minIdle time.Duration, n int) ([]Pending, error)
	// Fanout stores ds (due at their Due) and retires p, atomically. A
	// delivery already stored or completed is not stored again.
	Fanout(ctx context.Context, p Pending, ds []Delivery) error
	// Due leases up to n deliveries due at now until now+lease.
	Due(ctx context.Context, now time.Time, lease time.Duration, n int) ([]Delivery, error)
	// Complete removes d: delivered, or dropped (its destination is gone).
	Complete(ctx context.Context, d Delivery) error
	// Reschedule stores d as given (Attempts, LastError, Due).
	Reschedule(ctx context.Context, d Delivery) error
	// Bury moves d to the dead letters (d.DeadAt set by the caller).
	Bury(ctx context.Context, d Delivery) error
	// DeadLetters returns one page of dead letters, newest first, and the
	// cursor of the next page ("" after the last).
	DeadLetters(ctx context.Context, limit int, cursor string) ([]Delivery, string, error)
	// Revive makes dead letter id a delivery due at now with no attempts;
	// an error wrapping ErrNotFound if there is none.
	Revive(ctx context.Context, id string, now time.Time) (Delivery, error)
	// DeleteDead removes dead letter id; ErrNotFound if there is none.
	DeleteDead(ctx context.Context, id string) error
	// Counts returns the deliveries waiting (alive, not dead) and the dead
	// letters, by ChannelLabel.
	Counts(ctx context.Context) (pending, dead map[string]int64, err error)
}
