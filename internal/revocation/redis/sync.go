package redis

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	goredis "github.com/redis/go-redis/v9"

	"github.com/sigil-dev/sigil/internal/revocation"
)

// Event wire format on <prefix>events: "<kind> <unix ms> <id or cutoff key>",
// kind d (denial; ms 0 = never) or c (cutoff). Ids and cutoff keys may hold
// spaces only after the second one, so SplitN(3) reads them back whole.
const (
	eventDeny   = "d"
	eventCutoff = "c"
)

func (s *Store) eventsChannel() string { return s.prefix + "events" }
func (s *Store) epochKey() string      { return s.prefix + "epoch" }

// publish broadcasts a change that is already durably written. On a
// cluster PUBLISH goes to any one node and reaches every subscriber through
// the cluster bus, so when that node fails (a master that died and whose
// slots the client still maps to it) the event is sent through every
// master instead: a subscriber on a surviving node would otherwise miss it
// until its next full reload (resync_interval). Duplicates are harmless
// (events merge). A publish that fails everywhere is left to the
// subscribers' resync on reconnect and the periodic reload.
func (s *Store) publish(ctx context.Context, kind, ms, id string) {
	msg := kind + " " + ms + " " + id
	err := s.client.Publish(ctx, s.eventsChannel(), msg).Err()
	cc, cluster := s.client.(*goredis.ClusterClient)
	if err == nil || !cluster {
		return
	}
	cc.ReloadState(ctx)
	_ = cc.ForEachMaster(ctx, func(ctx context.Context, c *goredis.Client) error {
		return c.Publish(ctx, s.eventsChannel(), msg).Err()
	})
}

func parseEvent(payload string) (revocation.Event, bool) {
	parts := strings.SplitN(payload, " ", 3)
	if len(parts) != 3 || parts[2] == "" {
		return revocation.Event{}, false
	}
	ms, err := strconv.ParseInt(parts[1], 10, 64)
	if err != nil {
		return revocation.Event{}, false
	}
	var at time.Time
	if ms != 0 {
		at = time.UnixMilli(ms).UTC()
	}
	switch parts[0] {
	case eventDeny:
		return revocation.Event{Key: parts[2], At: at}, true
	case eventCutoff:
		return revocation.Event{Cutoff: true, Key: parts[2], At: at}, true
	}
	return revocation.Event{}, false
}

// scanBatch is how many keys one SCAN step asks for and one read fetches.
const scanBatch = 5000

// scan walks every key matching prefix+"*" (SCAN on each master in a
// cluster) and calls fn with batches of keys and their values (nil where a
// key vanished since the SCAN). The SCAN of the next batch overlaps the
// read of the current one. On a cluster fn runs on every master at once
// (ForEachMaster), so callers serialise their callbacks.
func (s *Store) scan(ctx context.Context, match string, fn func(keys []string, vals []any) error) error {
	_, cluster := s.client.(*goredis.ClusterClient)
	each := func(ctx context.Context, c *goredis.Client) error {
		ctx, cancel := context.WithCancel(ctx)
		defer cancel()
		batches := make(chan []string, 2)
		scanErr := make(chan error, 1)
		go func() {
			defer close(batches)
			it := c.Scan(ctx, 0, match, scanBatch).Iterator()
			batch := make([]string, 0, scanBatch)
			for it.Next(ctx) {
				batch = append(batch, it.Val())
				if len(batch) == scanBatch {
					select {
					case batches <- batch:
					case <-ctx.Done():
						scanErr <- ctx.Err()
						return
					}
					batch = make([]string, 0, scanBatch)
				}
			}
			if len(batch) > 0 {
				select {
				case batches <- batch:
				case <-ctx.Done():
				}
			}
			scanErr <- it.Err()
		}()
		for keys := range batches {
			vals, err := readValues(ctx, c, keys, !cluster)
			if err == nil {
				err = fn(keys, vals)
			}
			if err != nil {
				cancel()
				for range batches { // let the scanner finish
				}
				return err
			}
		}
		return <-scanErr
	}
	switch c := s.client.(type) {
	case *goredis.ClusterClient:
		return c.ForEachMaster(ctx, each)
	case *goredis.Client:
		return each(ctx, c)
	default:
		return fmt.Errorf("scan: unsupported client %T", s.client)
	}
}

// readValues reads keys' values: one MGET where the keys may share a
// command, else (a cluster master holds many slots) one pipeline of GETs.
func readValues(ctx context.Context, c *goredis.Client, keys []string, multiKey bool) ([]any, error) {
	if multiKey {
		return c.MGet(ctx, keys...).Result()
	}
	cmds, err := getAll(ctx, c, keys)
	if err != nil {
		return nil, err
	}
	vals := make([]any, len(keys))
	for i, cmd := range cmds {
		if v, err := cmd.Result(); err == nil {
			vals[i] = v
		}
	}
	return vals, nil
}

// getAll GETs keys with one pipeline (one key per command: cluster-safe).
func getAll(ctx context.Context, c goredis.Cmdable, keys []string) ([]*goredis.StringCmd, error) {
	cmds := make([]*goredis.StringCmd, len(keys))
	_, err := c.Pipelined(ctx, func(p goredis.Pipeliner) error {
		for i, k := range keys {
			cmds[i] = p.Get(ctx, k)
		}
		return nil
	})
	if err != nil && !errors.Is(err, goredis.Nil) {
		return nil, err
	}
	return cmds, nil
}

// millis reads a value written as Unix milliseconds; ok is false for a
// missing or foreign value.
func millis(v any) (int64, bool) {
	str, ok := v.(string)
	if !ok {
		return 0, false
	}
	ms, err := strconv.ParseInt(str, 10, 64)
	return ms, err == nil
}

// ScanDenied calls fn for every live denylist entry, one call at a time
// (also on a cluster, whose masters are scanned at once): from the index
// once the denylist is indexed (ScanDeniedBulk, UUID ids in their
// canonical lower-case text), else from the keys, ids as written.
func (s *Store) ScanDenied(ctx context.Context, fn func(id string, expiresAt time.Time)) error {
	v, err := s.readLayout(ctx)
	if err != nil {
		return fmt.Errorf("scan denylist: %w", err)
	}
	at := func(ms int64) time.Time {
		if ms == 0 {
			return time.Time{}
		}
		return time.UnixMilli(ms).UTC()
	}
	if v >= layoutIndexed {
		return s.ScanDeniedBulk(ctx,
			func(id [16]byte, ms int64) { fn(uuid.UUID(id).String(), at(ms)) },
			func(id string, ms int64) { fn(id, at(ms)) })
	}
	prefix := s.denyKey("")
	var mu sync.Mutex
	err = s.scan(ctx, prefix+"*", func(keys []string, vals []any) error {
		mu.Lock()
		defer mu.Unlock()
		for i, v := range vals {
			ms, ok := millis(v)
			if !ok {
				continue // vanished (expired) since the SCAN, or not ours
			}
			fn(strings.TrimPrefix(keys[i], prefix), at(ms))
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("scan denylist: %w: %w", revocation.ErrUnavailable, err)
	}
	return nil
}

// ScanCutoffs calls fn for every cutoff, one call at a time. It walks the
// cutoff index (SSCAN) and reads the cutoffs with pipelined GETs.
func (s *Store) ScanCutoffs(ctx context.Context, fn func(key string, at time.Time)) error {
	it := s.client.SScan(ctx, s.cutoffIndexKey(), 0, "", scanBatch).Iterator()
	batch := make([]string, 0, scanBatch)
	flush := func() error {
		keys := make([]string, len(batch))
		for i, k := range batch {
			keys[i] = s.cutoffKey(k)
		}
		cmds, err := getAll(ctx, s.client, keys)
		if err != nil {
			return err
		}
		for i, cmd := range cmds {
			ms, err := cmd.Int64()
			if err != nil || ms == 0 {
				continue
			}
			fn(batch[i], time.UnixMilli(ms).UTC())
		}
		batch = batch[:0]
		return nil
	}
	var err error
	for err == nil && it.Next(ctx) {
		batch = append(batch, it.Val())
		if len(batch) == scanBatch {
			err = flush()
		}
	}
	if err == nil {
		err = it.Err()
	}
	if err == nil && len(batch) > 0 {
		err = flush()
	}
	if err != nil {
		return fmt.Errorf("scan cutoffs: %w: %w", revocation.ErrUnavailable, err)
	}
	return nil
}

// Subscribe delivers events until ctx ends. go-redis reconnects and
// resubscribes by itself; every (re)subscription confirmation is reported
// through onConnect, since events published meanwhile are lost.
func (s *Store) Subscribe(ctx context.Context, onEvent func(revocation.Event), onConnect func(), onError func(error)) {
	ps := s.client.Subscribe(ctx)
	defer func() { _ = ps.Close() }()
	var lastCheck time.Time
	for ctx.Err() == nil {
		confirmed := false
		if err := ps.Subscribe(ctx, s.eventsChannel()); err != nil {
			onError(err)
			if !sleepCtx(ctx, 200*time.Millisecond) {
				return
			}
			continue
		}
		for {
			if confirmed && time.Since(lastCheck) >= subscriptionCheck {
				lastCheck = time.Now()
				if !s.subscribedToMaster(ctx) {
					// Sentinel moved the master and go-redis did not move the
					// subscription (it closes the pool's connections to the old
					// address, not the subscription's): it may sit on a node
					// that no longer gets the master's events. Start over on
					// the current master; onConnect then makes the replica resync.
					onError(errors.New("revocation subscription is not on the current master"))
					_ = ps.Close()
					ps = s.client.Subscribe(ctx)
					break
				}
			}
			msg, err := ps.ReceiveTimeout(ctx, subscriptionCheck)
			if err != nil {
				if ctx.Err() != nil {
					return
				}
				var netErr interface{ Timeout() bool }
				if errors.As(err, &netErr) && netErr.Timeout() {
					// Quiet channel: check the connection is alive.
					if perr := ps.Ping(ctx); perr == nil {
						continue
					}
				}
				onError(err)
				if cc, ok := s.client.(*goredis.ClusterClient); ok {
					// The node under the subscription failed or lost its
					// slot (failover, migration): map the slots again so
					// the resubscription goes to a live node.
					cc.ReloadState(ctx)
				}
				if !sleepCtx(ctx, 200*time.Millisecond) {
					return
				}
				break // resubscribe: onConnect then makes the replica resync
			}
			switch m := msg.(type) {
			case *goredis.Subscription:
				if m.Kind == "subscribe" {
					// The server has the subscription: from now on it is listed.
					confirmed, lastCheck = true, time.Now()
					onConnect()
				}
			case *goredis.Message:
				if ev, ok := parseEvent(m.Payload); ok {
					onEvent(ev)
				}
			}
		}
	}
}

// subscriptionCheck is how often Subscribe checks that its subscription
// is on the node the client writes to.
const subscriptionCheck = time.Second

// subscribedToMaster reports whether this client's subscription is on the
// node its commands go to (CLIENT LIST TYPE pubsub there names it): on one
// node or through Sentinel, events are published on the master only, and
// a subscription left on a demoted master (or on one that restarted at the
// old address before the client learnt of the failover) misses them; on a
// cluster, the master of the events channel's slot. A client without a
// name or a user without CLIENT LIST cannot tell: true.
func (s *Store) subscribedToMaster(ctx context.Context) bool {
	ctx, cancel := context.WithTimeout(ctx, subscriptionCheck)
	defer cancel()
	var node *goredis.Client
	var name string
	switch c := s.client.(type) {
	case *goredis.Client:
		node, name = c, c.Options().ClientName
	case *goredis.ClusterClient:
		// The subscription goes to the master of the channel's slot; one
		// that landed on a node not (yet) in the cluster bus (a killed
		// master restarting at its old address while the client's slot
		// map is stale) gets no broadcasts.
		name = c.Options().ClientName
		m, err := c.MasterForKey(ctx, s.eventsChannel())
		if err != nil {
			return true
		}
		node = m
	}
	if node == nil || name == "" {
		return true
	}
	list, err := node.Do(ctx, "CLIENT", "LIST", "TYPE", "pubsub").Text()
	if err != nil {
		return true // unreachable (the receive loop notices) or not allowed
	}
	if strings.Contains(list, " name="+name+" ") {
		return true
	}
	if cc, ok := s.client.(*goredis.ClusterClient); ok {
		cc.ReloadState(ctx)
	}
	return false
}

func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// epochShards is how many epoch keys a Redis Cluster keeps, under the hash
// tags {0}..{63}: their slots fall on every master of any realistic cluster
// (TestCluster checks three), so a master that restarts empty takes some of
// them with it and Epoch reports the loss, whichever master it was.
const epochShards = 64

// epochKeys are the keys that hold the epoch: <prefix>epoch on one node or
// through Sentinel, <prefix>epoch:{i} for i < epochShards on a cluster.
func (s *Store) epochKeys() []string {
	if _, ok := s.client.(*goredis.ClusterClient); !ok {
		return []string{s.epochKey()}
	}
	keys := make([]string, epochShards)
	for i := range keys {
		keys[i] = s.epochKey() + ":{" + strconv.Itoa(i) + "}"
	}
	return keys
}

// Epoch returns the store's epoch, "" when any epoch key is missing. On a
// cluster it is the epoch keys' values, joined by "," unless they all agree.
func (s *Store) Epoch(ctx context.Context) (string, error) {
	keys := s.epochKeys()
	if len(keys) == 1 {
		v, err := s.client.Get(ctx, keys[0]).Result()
		if errors.Is(err, goredis.Nil) {
			return "", nil
		}
		if err != nil {
			return "", fmt.Errorf("read epoch: %w: %w", revocation.ErrUnavailable, err)
		}
		return v, nil
	}
	cmds, err := getAll(ctx, s.client, keys)
	if err != nil {
		return "", fmt.Errorf("read epoch: %w: %w", revocation.ErrUnavailable, err)
	}
	vals := make([]string, len(cmds))
	same := true
	missing := 0
	for i, cmd := range cmds {
		v, err := cmd.Result()
		switch {
		case errors.Is(err, goredis.Nil):
			missing++
			continue
		case err != nil:
			return "", fmt.Errorf("read epoch: %w: %w", revocation.ErrUnavailable, err)
		}
		vals[i] = v
		same = same && v == vals[0]
	}
	switch missing {
	case 0:
	case len(cmds):
		return "", nil
	default:
		return "", fmt.Errorf("read epoch: %d of %d keys missing: %w", missing, len(cmds), revocation.ErrEpochIncomplete)
	}
	if same {
		return vals[0], nil
	}
	return strings.Join(vals, ","), nil
}

// InitEpoch sets each epoch key to candidate unless it exists (SET NX, one
// key per command) and returns the epoch in force.
func (s *Store) InitEpoch(ctx context.Context, candidate string) (string, error) {
	_, err := s.client.Pipelined(ctx, func(p goredis.Pipeliner) error {
		for _, k := range s.epochKeys() {
			p.SetNX(ctx, k, candidate, 0)
		}
		return nil
	})
	if err != nil {
		return "", fmt.Errorf("init epoch: %w: %w", revocation.ErrUnavailable, err)
	}
	return s.Epoch(ctx)
}

// MaxMemoryPolicy returns Redis's maxmemory-policy; anything but
// noeviction can evict denylist entries (all of which have a TTL or are
// precious) under memory pressure.
func (s *Store) MaxMemoryPolicy(ctx context.Context) (string, error) {
	v, err := s.client.ConfigGet(ctx, "maxmemory-policy").Result()
	if err != nil {
		return "", fmt.Errorf("config get maxmemory-policy: %w", err)
	}
	return v["maxmemory-policy"], nil
}
