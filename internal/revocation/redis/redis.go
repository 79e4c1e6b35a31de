package redis

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/sigil-dev/sigil/internal/revocation"
)

var _ revocation.SyncStore = (*Store)(nil)

// DefaultPrefix is the key prefix New uses when given an empty one.
const DefaultPrefix = "sigil:"

// Store keeps the denylist and cutoffs in Redis under a key prefix, and
// broadcasts their changes:
//
//	<prefix>deny:<id>    string: the entry's expiry in Unix milliseconds, "0"
//	                     for never; the key's TTL ends it at that expiry
//	<prefix>denyidx:{<tag>}, <prefix>denylayout
//	                     the index of the denylist that a full load reads
//	                     in bulk (key layout 2, index.go)
//	<prefix>cutoff:<key> string: the cutoff's time in Unix milliseconds; no TTL
//	<prefix>cutoffs      set: every cutoff key (an index for ScanCutoffs)
//	<prefix>events       pub/sub channel of changes (see Subscribe)
//	<prefix>epoch        string: the epoch (see Epoch); on a Redis Cluster
//	                     <prefix>epoch:{0} .. <prefix>epoch:{63} instead, so
//	                     that every master holds some
//
// Every command touches exactly one key, but for the writes of a denylist
// entry together with its index member, whose index set is in the entry
// key's Cluster slot (index.go); pipelines are split by node, and SCAN runs
// on every master. Keys hold ids only, never token text.
type Store struct {
	client goredis.UniversalClient
	prefix string
	now    func() time.Time
	// replicas and replicaTimeout: every write waits (WAIT) for this many
	// replicas of its key's master to confirm it (see WithReplicas).
	replicas       int
	replicaTimeout time.Duration
	// readOnly: no housekeeping writes (index migration, pruning).
	readOnly bool
	// layout is the highest <prefix>denylayout this Store has seen (0:
	// none yet); from layoutIndexing on, every write keeps the index.
	layout atomic.Int64
}

// ErrReplicas marks a revocation written on the master but not confirmed
// by enough replicas in time: it is not acknowledged (it wraps
// revocation.ErrUnavailable, so callers answer 503 + Retry-After).
var ErrReplicas = fmt.Errorf("not confirmed by enough replicas: %w", revocation.ErrUnavailable)

// Option configures a Store.
type Option func(*Store)

// WithNow sets the clock that Deny uses to turn an expiry into a TTL
// (default time.Now).
func WithNow(now func() time.Time) Option {
	return func(s *Store) {
		if now != nil {
			s.now = now
		}
	}
}

// WithReplicas makes every write (Deny, DenyOnce, SetCutoff) return only
// once n replicas of the written key's master confirm it: the write and
// `WAIT n timeout` go down one connection to that master (on a cluster, the
// master of the key's slot), since WAIT counts the replication offset of
// its own connection's writes. Fewer confirmations within timeout return
// an error wrapping ErrReplicas; the write stays on the master (a retry is
// harmless: every write keeps the later expiry or cutoff). n <= 0 or
// timeout <= 0 (WAIT 0 would block for ever) turns waiting off.
func WithReplicas(n int, timeout time.Duration) Option {
	return func(s *Store) {
		if n > 0 && timeout > 0 {
			s.replicas, s.replicaTimeout = n, timeout
		}
	}
}

// ReadOnly makes a Store write no housekeeping of its own: it neither
// migrates the denylist to the indexed layout (its loads SCAN the keys
// until sigil has) nor prunes the index. For the Go verifier, which only
// reads the revocation state and whose Redis user may only read.
func ReadOnly() Option {
	return func(s *Store) { s.readOnly = true }
}

// New returns a Store that keeps its keys under prefix (DefaultPrefix when
// empty) in client. The caller owns client and closes it.
func New(client goredis.UniversalClient, prefix string, opts ...Option) *Store {
	if prefix == "" {
		prefix = DefaultPrefix
	}
	s := &Store{client: client, prefix: prefix, now: time.Now}
	for _, o := range opts {
		o(s)
	}
	return s
}

func (s *Store) denyKey(id string) string  { return s.prefix + "deny:" + id }
func (s *Store) cutoffKey(k string) string { return s.prefix + "cutoff:" + k }

// cutoffIndexKey is the set of every cutoff key (their suffixes), so a full
// reload reads the cutoffs without a second SCAN over the whole keyspace.
func (s *Store) cutoffIndexKey() string { return s.prefix + "cutoffs" }

// denyScript writes one denylist entry, keeping the later expiry.
// KEYS[1] is the entry; ARGV[1] the new expiry in Unix ms ("0": never);
// ARGV[2] the new TTL in ms. An entry without a TTL never expires and always
// wins; otherwise the entry's value is its expiry. Returns 1 if it wrote.
var denyScript = goredis.NewScript(`
local cur = redis.call('GET', KEYS[1])
if cur then
	if redis.call('PTTL', KEYS[1]) == -1 then
		return 0
	end
	local c = tonumber(cur)
	if ARGV[1] ~= '0' and c and c >= tonumber(ARGV[1]) then
		return 0
	end
end
if ARGV[1] == '0' then
	redis.call('SET', KEYS[1], '0')
else
	redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
end
return 1
`)

// Deny records id as revoked until expiresAt (zero: forever) with one
// atomic script on the entry's key (EVALSHA): an existing entry keeps the
// later expiry, and forever beats any time. The key's TTL is expiresAt minus
// the injected clock's now. Once the denylist is indexed (index.go) the
// same script also writes the entry's index member; before, the write is
// followed by a read of the layout key (catchUp). An expiresAt not after
// now writes nothing and returns nil. Failures wrap
// revocation.ErrUnavailable.
func (s *Store) Deny(ctx context.Context, id string, expiresAt time.Time) error {
	exp, ttl := "0", "0"
	if !expiresAt.IsZero() {
		now := s.clock()
		if !expiresAt.After(now) {
			return nil
		}
		if !beyondTTL(expiresAt, now) {
			d := expiresAt.Sub(now)
			exp = strconv.FormatInt(max(expiresAt.UnixMilli(), 1), 10)
			ttl = strconv.FormatInt(int64((d+time.Millisecond-1)/time.Millisecond), 10)
		}
	}
	key := s.denyKey(id)
	indexed := s.indexing()
	err := s.write(ctx, key, func(c writer) error {
		if indexed {
			return indexedDenyScript.Run(ctx, c, []string{key, s.indexKeyOf(id)}, exp, ttl, memberSuffix(id), s.pruneBound()).Err()
		}
		return denyScript.Run(ctx, c, []string{key}, exp, ttl).Err()
	})
	if err == nil && !indexed {
		err = s.catchUp(ctx, id)
	}
	if err != nil {
		return fmt.Errorf("deny %q: %w", id, err)
	}
	s.publish(ctx, eventDeny, exp, id)
	return nil
}

// beyondTTL reports whether an entry expiring at expiresAt is kept forever
// instead: past about a century a TTL no longer fits (time.Duration ends at
// 292 years, and Redis refuses such expire times), and a denial that long
// is one that never ends.
func beyondTTL(expiresAt, now time.Time) bool {
	return expiresAt.After(now.AddDate(100, 0, 0))
}

// DenyOnce writes id's entry with SET NX (atomic): first is true only for
// the caller whose SET created it. Its value and TTL are those Deny would
// write, and it is broadcast like Deny. Once the denylist is indexed, the
// SET NX and the index member are one script (index.go).
func (s *Store) DenyOnce(ctx context.Context, id string, expiresAt time.Time) (bool, error) {
	exp, ttl := "0", time.Duration(0)
	if !expiresAt.IsZero() {
		now := s.clock()
		if !expiresAt.After(now) {
			return false, nil
		}
		if !beyondTTL(expiresAt, now) {
			exp = strconv.FormatInt(max(expiresAt.UnixMilli(), 1), 10)
			ttl = expiresAt.Sub(now).Round(time.Millisecond)
			if ttl <= 0 {
				ttl = time.Millisecond
			}
		}
	}
	var ok bool
	key := s.denyKey(id)
	indexed := s.indexing()
	err := s.write(ctx, key, func(c writer) error {
		if indexed {
			ms, _ := strconv.ParseInt(exp, 10, 64)
			n, err := indexedDenyOnceScript.Run(ctx, c, []string{key, s.indexKeyOf(id)},
				exp, strconv.FormatInt(ttl.Milliseconds(), 10), member(id, ms), score(ms), s.pruneBound()).Int()
			ok = n == 1
			return err
		}
		var err error
		ok, err = c.SetNX(ctx, key, exp, ttl).Result()
		return err
	})
	if err == nil && ok && !indexed {
		err = s.catchUp(ctx, id)
	}
	if err != nil {
		return false, fmt.Errorf("deny once %q: %w", id, err)
	}
	if ok {
		s.publish(ctx, eventDeny, exp, id)
	}
	return ok, nil
}

// IsDenied reports whether any of ids has an entry: one EXISTS per id, sent
// as a single command for one id and as a pipeline for several. Failures
// wrap revocation.ErrUnavailable.
func (s *Store) IsDenied(ctx context.Context, ids ...string) (bool, error) {
	switch len(ids) {
	case 0:
		return false, nil
	case 1:
		n, err := s.client.Exists(ctx, s.denyKey(ids[0])).Result()
		if err != nil {
			return false, fmt.Errorf("check denylist %q: %w: %w", ids, revocation.ErrUnavailable, err)
		}
		return n > 0, nil
	}
	cmds := make([]*goredis.IntCmd, len(ids))
	_, err := s.client.Pipelined(ctx, func(p goredis.Pipeliner) error {
		for i, id := range ids {
			cmds[i] = p.Exists(ctx, s.denyKey(id))
		}
		return nil
	})
	if err != nil {
		return false, fmt.Errorf("check denylist %q: %w: %w", ids, revocation.ErrUnavailable, err)
	}
	for _, cmd := range cmds {
		if cmd.Val() > 0 {
			return true, nil
		}
	}
	return false, nil
}

// cutoffScript raises one cutoff: KEYS[1] is the cutoff, ARGV[1] its new
// time in Unix ms. A later existing cutoff is kept. Returns 1 if it wrote.
var cutoffScript = goredis.NewScript(`
local cur = tonumber(redis.call('GET', KEYS[1]) or '')
if cur and cur >= tonumber(ARGV[1]) then
	return 0
end
redis.call('SET', KEYS[1], ARGV[1])
return 1
`)

// SetCutoff records that tokens of key issued at or before at (kept to the
// millisecond) are revoked, with one atomic script on the cutoff's key
// (EVALSHA) that keeps an existing later cutoff. Cutoffs have no TTL. A zero
// at is an error; Redis failures wrap revocation.ErrUnavailable.
func (s *Store) SetCutoff(ctx context.Context, key string, at time.Time) error {
	if at.IsZero() {
		return fmt.Errorf("set cutoff %q: zero time", key)
	}
	ms := strconv.FormatInt(at.UnixMilli(), 10)
	// Indexed first: an index member without a cutoff is skipped on reload,
	// a cutoff missing from the index would not be loaded by new instances.
	index := s.cutoffIndexKey()
	if err := s.write(ctx, index, func(c writer) error {
		return c.SAdd(ctx, index, key).Err()
	}); err != nil {
		return fmt.Errorf("set cutoff %q: %w", key, err)
	}
	ck := s.cutoffKey(key)
	if err := s.write(ctx, ck, func(c writer) error {
		return cutoffScript.Run(ctx, c, []string{ck}, ms).Err()
	}); err != nil {
		return fmt.Errorf("set cutoff %q: %w", key, err)
	}
	s.publish(ctx, eventCutoff, ms, key)
	return nil
}

// LatestCutoff returns the latest cutoff among keys (UTC), or the zero time
// if none is set: one GET per key, sent alone for one key and as a pipeline
// for several. Redis failures wrap revocation.ErrUnavailable.
func (s *Store) LatestCutoff(ctx context.Context, keys ...string) (time.Time, error) {
	if len(keys) == 0 {
		return time.Time{}, nil
	}
	cmds := make([]*goredis.StringCmd, len(keys))
	var err error
	if len(keys) == 1 {
		cmds[0] = s.client.Get(ctx, s.cutoffKey(keys[0]))
		err = cmds[0].Err()
	} else {
		_, err = s.client.Pipelined(ctx, func(p goredis.Pipeliner) error {
			for i, k := range keys {
				cmds[i] = p.Get(ctx, s.cutoffKey(k))
			}
			return nil
		})
	}
	if err != nil && !errors.Is(err, goredis.Nil) {
		return time.Time{}, fmt.Errorf("read cutoffs %q: %w: %w", keys, revocation.ErrUnavailable, err)
	}
	var latest int64
	for i, cmd := range cmds {
		switch err := cmd.Err(); {
		case errors.Is(err, goredis.Nil):
			continue
		case err != nil:
			return time.Time{}, fmt.Errorf("read cutoff %q: %w: %w", keys[i], revocation.ErrUnavailable, err)
		}
		v, err := strconv.ParseInt(cmd.Val(), 10, 64)
		if err != nil {
			return time.Time{}, fmt.Errorf("read cutoff %q: %w", keys[i], err)
		}
		latest = max(latest, v)
	}
	if latest == 0 {
		return time.Time{}, nil
	}
	return time.UnixMilli(latest).UTC(), nil
}

// writer is what a write needs of a client or of one connection.
type writer interface {
	goredis.Scripter
	SetNX(ctx context.Context, key string, value any, expiration time.Duration) *goredis.BoolCmd
	SAdd(ctx context.Context, key string, members ...any) *goredis.IntCmd
}

// write runs fn, which writes key, and returns once the write is as
// durable as configured: without replicas to wait for, fn runs on the
// client as is; with them, fn and WAIT run on one dedicated connection to
// key's master (Conn), so that WAIT counts this write. Errors wrap
// revocation.ErrUnavailable (ErrReplicas for too few confirmations).
func (s *Store) write(ctx context.Context, key string, fn func(c writer) error) error {
	if s.replicas == 0 {
		if err := fn(s.client); err != nil {
			return fmt.Errorf("%w: %w", revocation.ErrUnavailable, err)
		}
		return nil
	}
	var node *goredis.Client
	switch c := s.client.(type) {
	case *goredis.ClusterClient:
		m, err := c.MasterForKey(ctx, key)
		if err != nil {
			c.ReloadState(ctx)
			return fmt.Errorf("%w: master of %s: %w", revocation.ErrUnavailable, key, err)
		}
		node = m
	case *goredis.Client:
		node = c
	default:
		return fmt.Errorf("%w: replicated write: unsupported client %T", revocation.ErrUnavailable, s.client)
	}
	conn := node.Conn()
	defer conn.Close()
	if err := fn(conn); err != nil {
		if cc, ok := s.client.(*goredis.ClusterClient); ok {
			// MOVED or a dead master: the slot map is stale (failover,
			// migration); the caller's retry goes to the new master.
			cc.ReloadState(ctx)
		}
		return fmt.Errorf("%w: %w", revocation.ErrUnavailable, err)
	}
	n, err := conn.Wait(ctx, s.replicas, s.replicaTimeout).Result()
	if err != nil {
		return fmt.Errorf("%w: wait for %d replicas: %w", revocation.ErrUnavailable, s.replicas, err)
	}
	if n < int64(s.replicas) {
		return fmt.Errorf("%w: %d of %d within %s", ErrReplicas, n, s.replicas, s.replicaTimeout)
	}
	return nil
}

// Ping reports whether Redis answers; failures wrap revocation.ErrUnavailable.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.client.Ping(ctx).Err(); err != nil {
		return fmt.Errorf("ping redis: %w: %w", revocation.ErrUnavailable, err)
	}
	return nil
}

// clock reads the injected clock once, in UTC, truncated to the second.
func (s *Store) clock() time.Time { return s.now().UTC().Truncate(time.Second) }

// OnlineReplicas returns how many replicas are online (synchronised and
// streaming) on the master with the fewest: on a cluster every master is
// asked, the one master otherwise. Readiness compares it with
// min_replicas, since below it revocation writes answer 503.
func (s *Store) OnlineReplicas(ctx context.Context) (int, error) {
	count := func(ctx context.Context, c *goredis.Client) (int, error) {
		info, err := c.Info(ctx, "replication").Result()
		if err != nil {
			return 0, fmt.Errorf("info replication: %w: %w", revocation.ErrUnavailable, err)
		}
		return strings.Count(info, ",state=online,"), nil
	}
	switch c := s.client.(type) {
	case *goredis.ClusterClient:
		var mu sync.Mutex
		least := -1
		err := c.ForEachMaster(ctx, func(ctx context.Context, m *goredis.Client) error {
			n, err := count(ctx, m)
			if err != nil {
				return err
			}
			mu.Lock()
			defer mu.Unlock()
			if least < 0 || n < least {
				least = n
			}
			return nil
		})
		return max(least, 0), err
	case *goredis.Client:
		return count(ctx, c)
	}
	return 0, fmt.Errorf("online replicas: unsupported client %T", s.client)
}
