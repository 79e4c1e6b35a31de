package memory

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/sigil-dev/sigil/internal/notify"
)

var _ notify.Outbox = (*Outbox)(nil)

// seenRetention is how long an event id is remembered to drop a second
// Emit of it, and a completed delivery to drop a second Fanout of it.
const seenRetention = 30 * 24 * time.Hour

// Outbox is the in-process notify.Outbox of the memory store: NOT durable.
// Events and deliveries die with the process, and instances do not share
// it (each delivers the events of its own changes).
type Outbox struct {
	now func() time.Time

	mu     sync.Mutex
	seq    int64
	events []*memEvent
	seen   map[string]time.Time // event id -> when appended
	done   map[string]time.Time // delivery id -> when completed
	live   map[string]*memDelivery
	dead   map[string]notify.Delivery
}

type memEvent struct {
	ref       string
	e         notify.Event
	claimedAt time.Time // zero: not claimed
}

type memDelivery struct {
	d          notify.Delivery
	leaseUntil time.Time
}

// NewOutbox returns an empty in-process outbox on clock now.
func NewOutbox(now func() time.Time) *Outbox {
	if now == nil {
		now = time.Now
	}
	return &Outbox{now: now, seen: map[string]time.Time{}, done: map[string]time.Time{},
		live: map[string]*memDelivery{}, dead: map[string]notify.Delivery{}}
}

// Emit implements notify.Emitter.
func (o *Outbox) Emit(_ context.Context, events ...notify.Event) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	now := o.now()
	prune(o.seen, now)
	for _, e := range events {
		if _, dup := o.seen[e.ID]; dup {
			continue
		}
		o.seen[e.ID] = now
		o.seq++
		o.events = append(o.events, &memEvent{ref: strconv.FormatInt(o.seq, 10), e: e})
	}
	return nil
}

func prune(m map[string]time.Time, now time.Time) {
	if len(m) < 1024 {
		return
	}
	for k, t := range m {
		if now.Sub(t) > seenRetention {
			delete(m, k)
		}
	}
}

// Claim implements notify.Outbox.
func (o *Outbox) Claim(_ context.Context, _ string, minIdle time.Duration, n int) ([]notify.Pending, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	now := o.now()
	var out []notify.Pending
	for _, ev := range o.events {
		if len(out) == n {
			break
		}
		if ev.claimedAt.IsZero() || now.Sub(ev.claimedAt) >= minIdle {
			ev.claimedAt = now
			out = append(out, notify.Pending{Ref: ev.ref, Event: ev.e})
		}
	}
	return out, nil
}

// Fanout implements notify.Outbox.
func (o *Outbox) Fanout(_ context.Context, p notify.Pending, ds []notify.Delivery) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	prune(o.done, o.now())
	for _, d := range ds {
		if _, ok := o.done[d.ID]; ok {
			continue
		}
		if _, ok := o.live[d.ID]; ok {
			continue
		}
		if _, ok := o.dead[d.ID]; ok {
			continue
		}
		o.live[d.ID] = &memDelivery{d: d}
	}
	o.events = slices.DeleteFunc(o.events, func(ev *memEvent) bool { return ev.ref == p.Ref })
	return nil
}

// Due implements notify.Outbox.
func (o *Outbox) Due(_ context.Context, now time.Time, lease time.Duration, n int) ([]notify.Delivery, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	var due []*memDelivery
	for _, md := range o.live {
		if !md.d.Due.After(now) && !md.leaseUntil.After(now) {
			due = append(due, md)
		}
	}
	slices.SortFunc(due, func(a, b *memDelivery) int {
		return cmp.Or(a.d.Due.Compare(b.d.Due), cmp.Compare(a.d.ID, b.d.ID))
	})
	if len(due) > n {
		due = due[:n]
	}
	out := make([]notify.Delivery, 0, len(due))
	for _, md := range due {
		md.leaseUntil = now.Add(lease)
		out = append(out, md.d)
	}
	return out, nil
}

// Complete implements notify.Outbox.
func (o *Outbox) Complete(_ context.Context, d notify.Delivery) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	delete(o.live, d.ID)
	o.done[d.ID] = o.now()
	return nil
}

// Reschedule implements notify.Outbox.
func (o *Outbox) Reschedule(_ context.Context, d notify.Delivery) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	if _, ok := o.live[d.ID]; ok {
		o.live[d.ID] = &memDelivery{d: d}
	}
	return nil
}

// Bury implements notify.Outbox.
func (o *Outbox) Bury(_ context.Context, d notify.Delivery) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	if _, ok := o.live[d.ID]; !ok {
		return nil
	}
	delete(o.live, d.ID)
	o.dead[d.ID] = d
	return nil
}

// DeadLetters implements notify.Outbox; the cursor is the offset.
func (o *Outbox) DeadLetters(_ context.Context, limit int, cursor string) ([]notify.Delivery, string, error) {
	o.mu.Lock()
	all := make([]notify.Delivery, 0, len(o.dead))
	for _, d := range o.dead {
		all = append(all, d)
	}
	o.mu.Unlock()
	slices.SortFunc(all, func(a, b notify.Delivery) int {
		return cmp.Or(b.DeadAt.Compare(a.DeadAt), cmp.Compare(b.ID, a.ID))
	})
	off := 0
	if cursor != "" {
		var err error
		if off, err = strconv.Atoi(cursor); err != nil || off < 0 {
			return nil, "", fmt.Errorf("%w: %q", notify.ErrBadCursor, cursor)
		}
	}
	if off >= len(all) {
		return []notify.Delivery{}, "", nil
	}
	end := min(off+limit, len(all))
	next := ""
	if end < len(all) {
		next = strconv.Itoa(end)
	}
	return all[off:end], next, nil
}

// Revive implements notify.Outbox.
func (o *Outbox) Revive(_ context.Context, id string, now time.Time) (notify.Delivery, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	d, ok := o.dead[id]
	if !ok {
		return notify.Delivery{}, notify.ErrNotFound
	}
	delete(o.dead, id)
	d.Attempts, d.Due, d.DeadAt = 0, now, time.Time{}
	o.live[id] = &memDelivery{d: d}
	return d, nil
}

// DeleteDead implements notify.Outbox.
func (o *Outbox) DeleteDead(_ context.Context, id string) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	if _, ok := o.dead[id]; !ok {
		return notify.ErrNotFound
	}
	delete(o.dead, id)
	return nil
}

// Counts implements notify.Outbox.
func (o *Outbox) Counts(context.Context) (map[string]int64, map[string]int64, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	pending, dead := map[string]int64{}, map[string]int64{}
	for _, md := range o.live {
		pending[notify.ChannelLabel(md.d.Dest)]++
	}
	for _, d := range o.dead {
		dead[notify.ChannelLabel(d.Dest)]++
	}
	return pending, dead, nil
}
