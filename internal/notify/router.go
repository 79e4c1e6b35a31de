package notify

import (
	"context"
	"errors"
	"slices"
)

// Router knows the destinations of events: which want an event, and the
// Channel that delivers to one of them.
type Router interface {
	// Destinations returns the destinations that want e.
	Destinations(ctx context.Context, e Event) ([]string, error)
	// Channel returns the channel of dest; ok false when dest is gone (a
	// deleted webhook endpoint): its deliveries are dropped.
	Channel(ctx context.Context, dest string) (ch Channel, ok bool, err error)
}

// Wanter is a Channel that takes only some event types; a Channel that
// is not a Wanter takes every event.
type Wanter interface {
	Wants(typ string) bool
}

// Routes is a Router over fixed channels (email: destination Name()) and
// more routers (the webhook endpoints).
type Routes struct {
	fixed []Channel
	more  []Router
}

var _ Router = (*Routes)(nil)

// NewRoutes routes to the channels fixed and to what the routers more route to.
func NewRoutes(fixed []Channel, more ...Router) *Routes {
	return &Routes{fixed: slices.Clone(fixed), more: slices.Clone(more)}
}

// Destinations implements Router.
func (r *Routes) Destinations(ctx context.Context, e Event) ([]string, error) {
	var out []string
	for _, ch := range r.fixed {
		if w, ok := ch.(Wanter); ok && !w.Wants(e.Type) {
			continue
		}
		out = append(out, ch.Name())
	}
	var errs []error
	for _, m := range r.more {
		ds, err := m.Destinations(ctx, e)
		errs = append(errs, err)
		out = append(out, ds...)
	}
	return out, errors.Join(errs...)
}

// Channel implements Router.
func (r *Routes) Channel(ctx context.Context, dest string) (Channel, bool, error) {
	for _, ch := range r.fixed {
		if ch.Name() == dest {
			return ch, true, nil
		}
	}
	for _, m := range r.more {
		ch, ok, err := m.Channel(ctx, dest)
		if err != nil || ok {
			return ch, ok, err
		}
	}
	return nil, false, nil
}
