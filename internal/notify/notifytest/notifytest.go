// Package notifytest is the contract suite every notify.Outbox passes.
package notifytest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sigil-dev/sigil/internal/notify"
)

// Run runs the contract against outboxes made by newOutbox (each call a
// fresh, empty one).
func Run(t *testing.T, newOutbox func(t *testing.T) notify.Outbox) {
	ctx := context.Background()
	t0 := time.Date(2026, 12, 3, 8, 0, 0, 0, time.UTC)
	ev := func(id string) notify.Event {
		return notify.Event{ID: id, Type: notify.TokenCreated, At: t0, Owner: "alice", Token: &notify.Token{ID: "rec-" + id, Type: "api"}}
	}
	fanAll := func(t *testing.T, o notify.Outbox, consumer string, dests ...string) []notify.Pending {
		t.Helper()
		ps, err := o.Claim(ctx, consumer, time.Hour, 100)
		require.NoError(t, err)
		for _, p := range ps {
			var ds []notify.Delivery
			for _, d := range dests {
				ds = append(ds, notify.Delivery{ID: notify.DeliveryID(p.Event.ID, d), Dest: d, Event: p.Event, Due: t0})
			}
			require.NoError(t, o.Fanout(ctx, p, ds))
		}
		return ps
	}

	t.Run("EmitDedupesByID", func(t *testing.T) {
		o := newOutbox(t)
		require.NoError(t, o.Emit(ctx, ev("e1"), ev("e2")))
		require.NoError(t, o.Emit(ctx, ev("e1")))
		ps, err := o.Claim(ctx, "c1", time.Hour, 10)
		require.NoError(t, err)
		require.Len(t, ps, 2)
		assert.Equal(t, "e1", ps[0].Event.ID)
		assert.Equal(t, "e2", ps[1].Event.ID)
		assert.Equal(t, "alice", ps[0].Event.Owner)
		// Claimed, not fanned out: another consumer gets nothing before minIdle...
		ps2, err := o.Claim(ctx, "c2", time.Hour, 10)
		require.NoError(t, err)
		assert.Empty(t, ps2)
		// ...and everything once it has passed (a crashed instance).
		ps3, err := o.Claim(ctx, "c2", 0, 10)
		require.NoError(t, err)
		assert.Len(t, ps3, 2)
	})

	t.Run("FanoutOncePerDestination", func(t *testing.T) {
		o := newOutbox(t)
		require.NoError(t, o.Emit(ctx, ev("e1")))
		ps := fanAll(t, o, "c1", "email", "webhook:w1")
		require.Len(t, ps, 1)
		// The same event fanned out again (a second consumer after a crash) adds nothing.
		require.NoError(t, o.Fanout(ctx, ps[0], []notify.Delivery{{ID: notify.DeliveryID("e1", "email"), Dest: "email", Event: ps[0].Event, Due: t0}}))
		pending, _, err := o.Counts(ctx)
		require.NoError(t, err)
		assert.Equal(t, map[string]int64{"email": 1, "webhook": 1}, nonZero(pending))
		left, err := o.Claim(ctx, "c2", 0, 10)
		require.NoError(t, err)
		assert.Empty(t, left, "a fanned-out event is retired")
	})

	t.Run("DueLeasesCompleteRemoves", func(t *testing.T) {
		o := newOutbox(t)
		require.NoError(t, o.Emit(ctx, ev("e1")))
		fanAll(t, o, "c1", "email", "webhook:w1")
		ds, err := o.Due(ctx, t0, time.Minute, 10)
		require.NoError(t, err)
		require.Len(t, ds, 2)
		again, err := o.Due(ctx, t0.Add(30*time.Second), time.Minute, 10)
		require.NoError(t, err)
		assert.Empty(t, again, "leased deliveries are not due")
		expired, err := o.Due(ctx, t0.Add(61*time.Second), time.Minute, 10)
		require.NoError(t, err)
		assert.Len(t, expired, 2, "a lease that ran out makes the delivery due again")
		for _, d := range ds {
			require.NoError(t, o.Complete(ctx, d))
		}
		none, err := o.Due(ctx, t0.Add(time.Hour), time.Minute, 10)
		require.NoError(t, err)
		assert.Empty(t, none)
		pending, _, err := o.Counts(ctx)
		require.NoError(t, err)
		assert.Empty(t, nonZero(pending))
		// A completed delivery is not fanned out again.
		require.NoError(t, o.Fanout(ctx, notify.Pending{Ref: "0-1", Event: ev("e1")}, []notify.Delivery{ds[0]}))
		none, err = o.Due(ctx, t0.Add(time.Hour), time.Minute, 10)
		require.NoError(t, err)
		assert.Empty(t, none)
	})

	t.Run("RescheduleBuryReviveDelete", func(t *testing.T) {
		o := newOutbox(t)
		for i := range 3 {
			require.NoError(t, o.Emit(ctx, ev(fmt.Sprintf("e%d", i))))
		}
		fanAll(t, o, "c1", "webhook:w1")
		ds, err := o.Due(ctx, t0, time.Minute, 10)
		require.NoError(t, err)
		require.Len(t, ds, 3)
		d := ds[0]
		d.Attempts, d.LastError, d.Due = 1, "HTTP 500", t0.Add(10*time.Second)
		require.NoError(t, o.Reschedule(ctx, d))
		got, err := o.Due(ctx, t0.Add(10*time.Second), time.Minute, 10)
		require.NoError(t, err)
		require.Len(t, got, 1)
		assert.Equal(t, 1, got[0].Attempts)
		assert.Equal(t, "HTTP 500", got[0].LastError)
		for i, dd := range ds {
			dd.Attempts, dd.DeadAt = 8, t0.Add(time.Duration(i)*time.Second)
			require.NoError(t, o.Bury(ctx, dd))
		}
		pending, dead, err := o.Counts(ctx)
		require.NoError(t, err)
		assert.Empty(t, nonZero(pending))
		assert.Equal(t, map[string]int64{"webhook": 3}, nonZero(dead))
		page, next, err := o.DeadLetters(ctx, 2, "")
		require.NoError(t, err)
		require.Len(t, page, 2)
		assert.Equal(t, ds[2].ID, page[0].ID, "newest first")
		require.NotEmpty(t, next)
		page2, next2, err := o.DeadLetters(ctx, 2, next)
		require.NoError(t, err)
		require.Len(t, page2, 1)
		assert.Empty(t, next2)
		_, _, err = o.DeadLetters(ctx, 2, "not-a-cursor")
		require.ErrorIs(t, err, notify.ErrBadCursor)

		r, err := o.Revive(ctx, ds[0].ID, t0.Add(time.Hour))
		require.NoError(t, err)
		assert.Equal(t, 0, r.Attempts)
		_, err = o.Revive(ctx, ds[0].ID, t0.Add(time.Hour))
		require.ErrorIs(t, err, notify.ErrNotFound)
		due, err := o.Due(ctx, t0.Add(time.Hour), time.Minute, 10)
		require.NoError(t, err)
		require.Len(t, due, 1)
		assert.Equal(t, ds[0].ID, due[0].ID)
		require.NoError(t, o.DeleteDead(ctx, ds[1].ID))
		require.ErrorIs(t, o.DeleteDead(ctx, ds[1].ID), notify.ErrNotFound)
		require.ErrorIs(t, o.DeleteDead(ctx, "nope~email"), notify.ErrNotFound)
		pending, dead, err = o.Counts(ctx)
		require.NoError(t, err)
		assert.Equal(t, map[string]int64{"webhook": 1}, nonZero(pending))
		assert.Equal(t, map[string]int64{"webhook": 1}, nonZero(dead))
	})
}

func nonZero(m map[string]int64) map[string]int64 {
	out := map[string]int64{}
	for k, v := range m {
		if v != 0 {
			out[k] = v
		}
	}
	return out
}
