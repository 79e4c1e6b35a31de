package redis

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/sigil-dev/sigil/internal/notify"
)

var _ notify.Outbox = (*Outbox)(nil)

// outboxGroup is the consumer group every instance reads the event stream in.
const outboxGroup = "dispatch"

// outboxRetention is how long an event id (to drop a second Emit) and a
// completed delivery (to drop a second Fanout) are remembered.
const outboxRetention = 30 * 24 * time.Hour

// Outbox is the notify.Outbox in Redis, shared by every instance:
//
//	<prefix>{notify}:events      stream: events appended, not yet fanned out
//	                              (consumer group "dispatch"; an entry a
//	                              crashed instance read is claimed by another
//	                              with XAUTOCLAIM after the lease)
//	<prefix>{notify}:seen        zset: event id -> append time (dedupe of Emit)
//	<prefix>{notify}:deliveries  hash: delivery id -> delivery JSON
//	<prefix>{notify}:due         zset: delivery id -> due time, or end of its
//	                              lease while an instance attempts it (ms)
//	<prefix>{notify}:done        zset: delivery id -> completion time (dedupe)
//	<prefix>{notify}:dead        hash: delivery id -> dead letter JSON
//	<prefix>{notify}:deadidx     zset: delivery id -> time it died (paging)
//	<prefix>{notify}:counts      hash: pending:<channel>, dead:<channel>
//
// Every key carries the hash tag {notify}: they share one Cluster slot, so
// each operation is one Lua script, atomic. Events hold no token text.
type Outbox struct {
	client goredis.UniversalClient
	k      outboxKeys
	now    func() time.Time
}

type outboxKeys struct {
	events, seen, deliveries, due, done, dead, deadidx, counts string
}

// NewOutbox returns the outbox under prefix (DefaultPrefix if empty); now
// is the clock of the dedupe retention (default time.Now).
func NewOutbox(client goredis.UniversalClient, prefix string, now func() time.Time) *Outbox {
	if prefix == "" {
		prefix = DefaultPrefix
	}
	if now == nil {
		now = time.Now
	}
	p := prefix + "{notify}:"
	return &Outbox{client: client, now: now, k: outboxKeys{
		events: p + "events", seen: p + "seen", deliveries: p + "deliveries", due: p + "due",
		done: p + "done", dead: p + "dead", deadidx: p + "deadidx", counts: p + "counts",
	}}
}

func ms(t time.Time) int64 { return t.UnixMilli() }

var emitScript = goredis.NewScript(`
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', tonumber(ARGV[1]) - tonumber(ARGV[2]))
local n = 0
for i = 3, #ARGV, 2 do
  if not redis.call('ZSCORE', KEYS[2], ARGV[i]) then
    redis.call('ZADD', KEYS[2], ARGV[1], ARGV[i])
    redis.call('XADD', KEYS[1], '*', 'e', ARGV[i+1])
    n = n + 1
  end
end
return n`)

// Emit implements notify.Emitter: the events are in the stream when it
// returns nil; an id already appended (within 30 days) is skipped.
func (o *Outbox) Emit(ctx context.Context, events ...notify.Event) error {
	if len(events) == 0 {
		return nil
	}
	args := []any{ms(o.now()), outboxRetention.Milliseconds()}
	for _, e := range events {
		b, err := json.Marshal(e)
		if err != nil {
			return fmt.Errorf("notify: encode event: %w", err)
		}
		args = append(args, e.ID, b)
	}
	if err := emitScript.Run(ctx, o.client, []string{o.k.events, o.k.seen}, args...).Err(); err != nil {
		return unavailable("notify emit", err)
	}
	return nil
}

// ensureGroup creates the consumer group (and the stream) if needed.
func (o *Outbox) ensureGroup(ctx context.Context) error {
	err := o.client.XGroupCreateMkStream(ctx, o.k.events, outboxGroup, "0").Err()
	if err != nil && !strings.Contains(err.Error(), "BUSYGROUP") {
		return err
	}
	return nil
}

// Claim implements notify.Outbox: first the entries other consumers have
// held for minIdle (XAUTOCLAIM), then new ones (XREADGROUP).
func (o *Outbox) Claim(ctx context.Context, consumer string, minIdle time.Duration, n int) ([]notify.Pending, error) {
	msgs, err := o.claim(ctx, consumer, minIdle, n)
	if err != nil && strings.Contains(err.Error(), "NOGROUP") {
		if err = o.ensureGroup(ctx); err == nil {
			msgs, err = o.claim(ctx, consumer, minIdle, n)
		}
	}
	if err != nil {
		return nil, unavailable("notify claim", err)
	}
	out := make([]notify.Pending, 0, len(msgs))
	for _, m := range msgs {
		raw, _ := m.Values["e"].(string)
		var e notify.Event
		if err := json.Unmarshal([]byte(raw), &e); err != nil || e.ID == "" {
			// Not an event this code wrote: retire it rather than choke on it.
			_ = o.client.XAck(ctx, o.k.events, outboxGroup, m.ID).Err()
			_ = o.client.XDel(ctx, o.k.events, m.ID).Err()
			continue
		}
		out = append(out, notify.Pending{Ref: m.ID, Event: e})
	}
	return out, nil
}

func (o *Outbox) claim(ctx context.Context, consumer string, minIdle time.Duration, n int) ([]goredis.XMessage, error) {
	msgs, _, err := o.client.XAutoClaim(ctx, &goredis.XAutoClaimArgs{
		Stream: o.k.events, Group: outboxGroup, Consumer: consumer, MinIdle: minIdle, Start: "0-0", Count: int64(n),
	}).Result()
	if err != nil && !errors.Is(err, goredis.Nil) {
		return nil, err
	}
	// XAUTOCLAIM lists entries deleted since they were read with no fields: skip them.
	kept := msgs[:0]
	for _, m := range msgs {
		if m.Values != nil {
			kept = append(kept, m)
		}
	}
	msgs = kept
	if len(msgs) >= n {
		return msgs, nil
	}
	streams, err := o.client.XReadGroup(ctx, &goredis.XReadGroupArgs{
		Group: outboxGroup, Consumer: consumer, Streams: []string{o.k.events, ">"}, Count: int64(n - len(msgs)), Block: -1,
	}).Result()
	if err != nil && !errors.Is(err, goredis.Nil) {
		return nil, err
	}
	for _, s := range streams {
		msgs = append(msgs, s.Messages...)
	}
	return msgs, nil
}

var fanoutScript = goredis.NewScript(`
for i = 3, #ARGV, 4 do
  local id = ARGV[i]
  if not redis.call('ZSCORE', KEYS[4], id) and redis.call('HEXISTS', KEYS[2], id) == 0 and redis.call('HEXISTS', KEYS[5], id) == 0 then
    redis.call('HSET', KEYS[2], id, ARGV[i+1])
    redis.call('ZADD', KEYS[3], ARGV[i+2], id)
    redis.call('HINCRBY', KEYS[6], 'pending:' .. ARGV[i+3], 1)
  end
end
redis.call('XACK', KEYS[1], ARGV[1], ARGV[2])
redis.call('XDEL', KEYS[1], ARGV[2])
return 1`)

// Fanout implements notify.Outbox.
func (o *Outbox) Fanout(ctx context.Context, p notify.Pending, ds []notify.Delivery) error {
	args := []any{outboxGroup, p.Ref}
	for _, d := range ds {
		b, err := json.Marshal(d)
		if err != nil {
			return fmt.Errorf("notify: encode delivery: %w", err)
		}
		args = append(args, d.ID, b, ms(d.Due), notify.ChannelLabel(d.Dest))
	}
	keys := []string{o.k.events, o.k.deliveries, o.k.due, o.k.done, o.k.dead, o.k.counts}
	if err := fanoutScript.Run(ctx, o.client, keys, args...).Err(); err != nil {
		return unavailable("notify fanout", err)
	}
	return nil
}

var dueScript = goredis.NewScript(`
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[3]))
local out = {}
for _, id in ipairs(ids) do
  local j = redis.call('HGET', KEYS[2], id)
  if j then
    redis.call('ZADD', KEYS[1], ARGV[2], id)
    out[#out+1] = j
  else
    redis.call('ZREM', KEYS[1], id)
  end
end
return out`)

// Due implements notify.Outbox.
func (o *Outbox) Due(ctx context.Context, now time.Time, lease time.Duration, n int) ([]notify.Delivery, error) {
	res, err := dueScript.Run(ctx, o.client, []string{o.k.due, o.k.deliveries}, ms(now), ms(now.Add(lease)), n).StringSlice()
	if err != nil && !errors.Is(err, goredis.Nil) {
		return nil, unavailable("notify due", err)
	}
	out := make([]notify.Delivery, 0, len(res))
	for _, raw := range res {
		var d notify.Delivery
		if err := json.Unmarshal([]byte(raw), &d); err != nil {
			continue
		}
		out = append(out, d)
	}
	return out, nil
}

var completeScript = goredis.NewScript(`
if redis.call('HDEL', KEYS[1], ARGV[1]) == 1 then
  redis.call('HINCRBY', KEYS[4], 'pending:' .. ARGV[3], -1)
end
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('ZADD', KEYS[3], ARGV[2], ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', tonumber(ARGV[2]) - tonumber(ARGV[4]))
return 1`)

// Complete implements notify.Outbox.
func (o *Outbox) Complete(ctx context.Context, d notify.Delivery) error {
	keys := []string{o.k.deliveries, o.k.due, o.k.done, o.k.counts}
	err := completeScript.Run(ctx, o.client, keys, d.ID, ms(o.now()), notify.ChannelLabel(d.Dest), outboxRetention.Milliseconds()).Err()
	if err != nil {
		return unavailable("notify complete", err)
	}
	return nil
}

var rescheduleScript = goredis.NewScript(`
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 1 then
  redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
  redis.call('ZADD', KEYS[2], ARGV[3], ARGV[1])
end
return 1`)

// Reschedule implements notify.Outbox.
func (o *Outbox) Reschedule(ctx context.Context, d notify.Delivery) error {
	b, err := json.Marshal(d)
	if err != nil {
		return fmt.Errorf("notify: encode delivery: %w", err)
	}
	if err := rescheduleScript.Run(ctx, o.client, []string{o.k.deliveries, o.k.due}, d.ID, b, ms(d.Due)).Err(); err != nil {
		return unavailable("notify reschedule", err)
	}
	return nil
}

var buryScript = goredis.NewScript(`
if redis.call('HDEL', KEYS[1], ARGV[1]) == 0 then return 0 end
redis.call('HINCRBY', KEYS[5], 'pending:' .. ARGV[4], -1)
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('HSET', KEYS[3], ARGV[1], ARGV[2])
redis.call('ZADD', KEYS[4], ARGV[3], ARGV[1])
redis.call('HINCRBY', KEYS[5], 'dead:' .. ARGV[4], 1)
return 1`)

// Bury implements notify.Outbox.
func (o *Outbox) Bury(ctx context.Context, d notify.Delivery) error {
	b, err := json.Marshal(d)
	if err != nil {
		return fmt.Errorf("notify: encode delivery: %w", err)
	}
	keys := []string{o.k.deliveries, o.k.due, o.k.dead, o.k.deadidx, o.k.counts}
	if err := buryScript.Run(ctx, o.client, keys, d.ID, b, ms(d.DeadAt), notify.ChannelLabel(d.Dest)).Err(); err != nil {
		return unavailable("notify bury", err)
	}
	return nil
}

// maxDeadOffset bounds the offset a dead-letter cursor may carry.
const maxDeadOffset = 1 << 30

// DeadLetters implements notify.Outbox; the cursor is an offset in the
// list, newest first (a letter retried or deleted meanwhile shifts it).
func (o *Outbox) DeadLetters(ctx context.Context, limit int, cursor string) ([]notify.Delivery, string, error) {
	off := 0
	if cursor != "" {
		var err error
		if off, err = strconv.Atoi(cursor); err != nil || off < 0 || off > maxDeadOffset {
			return nil, "", fmt.Errorf("%w: %q", notify.ErrBadCursor, cursor)
		}
	}
	ids, err := o.client.ZRevRange(ctx, o.k.deadidx, int64(off), int64(off+limit)).Result()
	if err != nil {
		return nil, "", unavailable("notify dead letters", err)
	}
	next := ""
	if len(ids) > limit {
		ids, next = ids[:limit], strconv.Itoa(off+limit)
	}
	out := []notify.Delivery{}
	if len(ids) == 0 {
		return out, "", nil
	}
	vals, err := o.client.HMGet(ctx, o.k.dead, ids...).Result()
	if err != nil {
		return nil, "", unavailable("notify dead letters", err)
	}
	for _, v := range vals {
		s, ok := v.(string)
		if !ok {
			continue
		}
		var d notify.Delivery
		if json.Unmarshal([]byte(s), &d) == nil {
			out = append(out, d)
		}
	}
	return out, next, nil
}

var reviveScript = goredis.NewScript(`
if redis.call('HDEL', KEYS[1], ARGV[1]) == 0 then return 0 end
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('HINCRBY', KEYS[5], 'dead:' .. ARGV[4], -1)
redis.call('HSET', KEYS[3], ARGV[1], ARGV[2])
redis.call('ZADD', KEYS[4], ARGV[3], ARGV[1])
redis.call('HINCRBY', KEYS[5], 'pending:' .. ARGV[4], 1)
return 1`)

// Revive implements notify.Outbox.
func (o *Outbox) Revive(ctx context.Context, id string, now time.Time) (notify.Delivery, error) {
	raw, err := o.client.HGet(ctx, o.k.dead, id).Result()
	if errors.Is(err, goredis.Nil) {
		return notify.Delivery{}, notify.ErrNotFound
	}
	if err != nil {
		return notify.Delivery{}, unavailable("notify revive", err)
	}
	var d notify.Delivery
	if err := json.Unmarshal([]byte(raw), &d); err != nil {
		return notify.Delivery{}, fmt.Errorf("notify: decode dead letter: %w", err)
	}
	d.Attempts, d.Due, d.DeadAt = 0, now, time.Time{}
	b, err := json.Marshal(d)
	if err != nil {
		return notify.Delivery{}, err
	}
	keys := []string{o.k.dead, o.k.deadidx, o.k.deliveries, o.k.due, o.k.counts}
	n, err := reviveScript.Run(ctx, o.client, keys, id, b, ms(now), notify.ChannelLabel(d.Dest)).Int()
	if err != nil {
		return notify.Delivery{}, unavailable("notify revive", err)
	}
	if n == 0 {
		return notify.Delivery{}, notify.ErrNotFound
	}
	return d, nil
}

var deleteDeadScript = goredis.NewScript(`
if redis.call('HDEL', KEYS[1], ARGV[1]) == 0 then return 0 end
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('HINCRBY', KEYS[3], 'dead:' .. ARGV[2], -1)
return 1`)

// DeleteDead implements notify.Outbox.
func (o *Outbox) DeleteDead(ctx context.Context, id string) error {
	_, dest, _ := strings.Cut(id, "~")
	n, err := deleteDeadScript.Run(ctx, o.client, []string{o.k.dead, o.k.deadidx, o.k.counts}, id, notify.ChannelLabel(dest)).Int()
	if err != nil {
		return unavailable("notify delete dead letter", err)
	}
	if n == 0 {
		return notify.ErrNotFound
	}
	return nil
}

// Counts implements notify.Outbox.
func (o *Outbox) Counts(ctx context.Context) (map[string]int64, map[string]int64, error) {
	all, err := o.client.HGetAll(ctx, o.k.counts).Result()
	if err != nil {
		return nil, nil, unavailable("notify counts", err)
	}
	pending, dead := map[string]int64{}, map[string]int64{}
	for k, v := range all {
		n, _ := strconv.ParseInt(v, 10, 64)
		if kind, label, ok := strings.Cut(k, ":"); ok {
			switch kind {
			case "pending":
				pending[label] = n
			case "dead":
				dead[label] = n
			}
		}
	}
	return pending, dead, nil
}

// Outbox returns the notification outbox on the same client and prefix.
func (s *Store) Outbox() *Outbox { return NewOutbox(s.client, s.prefix, s.now) }
