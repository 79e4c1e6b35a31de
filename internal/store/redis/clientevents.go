package redis

import (
	"context"
	"errors"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/sigil-dev/sigil/internal/clients"
)

var _ clients.ChangeNotifier = (*Store)(nil)

// Client change notices go over
//
//	<prefix>clientevents  pub/sub channel: the id of a client record just changed
//
// so that every instance drops its cached copy at once (clients.Service's
// cache would otherwise keep a rotated secret or a deleted client for up to
// its TTL).
func (s *Store) clientEventsChannel() string { return s.prefix + "clientevents" }

// ClientChanged publishes that client id changed. A failed publish is
// not an error: the receivers' cache TTL still bounds the staleness.
func (s *Store) ClientChanged(ctx context.Context, id string) {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	_ = s.client.Publish(ctx, s.clientEventsChannel(), id).Err()
}

// WatchClients calls onChange with the id of every client change notice
// until ctx ends, and onConnect each time the subscription is
// (re)established (notices published meanwhile are lost, so the receiver
// drops its whole cache then). go-redis reconnects by itself.
func (s *Store) WatchClients(ctx context.Context, onChange func(id string), onConnect func()) {
	ps := s.client.Subscribe(ctx)
	defer ps.Close()
	// A blocked receive does not watch ctx: closing the subscription ends it.
	stop := context.AfterFunc(ctx, func() { _ = ps.Close() })
	defer stop()
	for ctx.Err() == nil {
		if err := ps.Subscribe(ctx, s.clientEventsChannel()); err != nil {
			if !pause(ctx, 200*time.Millisecond) {
				return
			}
			continue
		}
		for {
			msg, err := ps.ReceiveTimeout(ctx, 5*time.Second)
			if err != nil {
				if ctx.Err() != nil {
					return
				}
				var netErr interface{ Timeout() bool }
				if errors.As(err, &netErr) && netErr.Timeout() {
					if perr := ps.Ping(ctx); perr == nil {
						continue
					}
				}
				if !pause(ctx, 200*time.Millisecond) {
					return
				}
				break // resubscribe
			}
			switch m := msg.(type) {
			case *goredis.Subscription:
				if m.Kind == "subscribe" {
					onConnect()
				}
			case *goredis.Message:
				onChange(m.Payload)
			}
		}
	}
}

// pause waits d, or returns false once ctx ends.
func pause(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
