package redis_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sigil-dev/sigil/internal/console"
	"github.com/sigil-dev/sigil/internal/notify"
	"github.com/sigil-dev/sigil/internal/notify/notifytest"
	"github.com/sigil-dev/sigil/internal/notify/webhook"
	"github.com/sigil-dev/sigil/internal/registry"
	"github.com/sigil-dev/sigil/internal/revocation"
	"github.com/sigil-dev/sigil/internal/store/redis"
	"github.com/sigil-dev/sigil/internal/store/storetest"
	"github.com/sigil-dev/sigil/test/redisserver"
)

// TestCluster runs the store's contract suites, the replica's scan and the
// events channel against a real 3-master Redis Cluster, through the client
// that a redis+cluster:// URL gives.
func TestCluster(t *testing.T) {
	ctx := context.Background()
	cl := redisserver.StartCluster(t, 3)
	newClient := func(t *testing.T) goredis.UniversalClient {
		t.Helper()
		c, err := redis.NewClient(cl.URL())
		require.NoError(t, err)
		t.Cleanup(func() { _ = c.Close() })
		_, ok := c.(*goredis.ClusterClient)
		require.True(t, ok, "%T", c)
		return c
	}
	raw := newClient(t)

	t.Run("Contract", func(t *testing.T) {
		storetest.Run(t, func(t *testing.T, now func() time.Time) storetest.Store {
			prefix := "test:" + t.Name() + ":"
			return &ttlStore{Store: redis.New(raw, prefix, redis.WithNow(now)), raw: raw, prefix: prefix}
		})
	})
	t.Run("RegistryContract", func(t *testing.T) {
		storetest.RunRegistry(t, func(t *testing.T, now func() time.Time) registry.Store {
			return redis.New(raw, "test:"+t.Name()+":", redis.WithNow(now))
		})
	})
	// Console sessions and their per-client index: single-key commands
	// and pipelines, on whichever slots the keys fall.
	t.Run("SessionsContract", func(t *testing.T) {
		storetest.RunSessions(t, func(t *testing.T, now func() time.Time) console.Store {
			return redis.New(raw, "test:"+t.Name()+":", redis.WithNow(now))
		})
	})
	// The expiry scanner's cursors, sent marks and lease: one key per command.
	t.Run("NotifyStateContract", func(t *testing.T) {
		storetest.RunNotifyState(t, func(t *testing.T, now func() time.Time) storetest.NotifyState {
			return redis.New(raw, "test:"+t.Name()+":", redis.WithNow(now))
		}, true)
	})
	// The outbox's keys share one slot (hash tag {notify}): its Lua scripts
	// run on a Cluster; the webhook endpoints are one key per command.
	t.Run("OutboxContract", func(t *testing.T) {
		notifytest.Run(t, func(t *testing.T) notify.Outbox {
			return redis.NewOutbox(raw, "test:"+t.Name()+":", time.Now)
		})
	})
	t.Run("WebhooksContract", func(t *testing.T) {
		notifytest.RunWebhooks(t, func(t *testing.T) webhook.Store { return redis.NewWebhooks(raw, "test:"+t.Name()+":") })
	})

	// Every key the suites wrote lives under their prefixes, and they are
	// spread over all three masters (else the run proved nothing about slots).
	t.Run("KeysOnEveryMaster", func(t *testing.T) {
		for _, s := range cl.Nodes {
			keys, err := nodeKeys(ctx, s)
			require.NoError(t, err)
			assert.NotEmpty(t, keys, "master %s holds keys of the suites", s.Addr())
			for _, k := range keys {
				assert.True(t, strings.HasPrefix(k, "test:TestCluster/"), "key %q outside the test prefixes", k)
			}
		}
	})

	t.Run("ScanEveryMaster", func(t *testing.T) {
		s := redis.New(raw, "scan:")
		const n = 300
		exp := time.Now().Add(time.Hour).UTC().Truncate(time.Millisecond)
		for i := range n {
			require.NoError(t, s.Deny(ctx, fmt.Sprintf("jti-%d", i), exp))
		}
		require.NoError(t, s.Deny(ctx, "forever", time.Time{}))
		for i := range 30 {
			require.NoError(t, s.SetCutoff(ctx, fmt.Sprintf("sub:u%d", i), exp))
		}
		for _, node := range cl.Nodes {
			keys, err := nodeKeys(ctx, node)
			require.NoError(t, err)
			var mine int
			for _, k := range keys {
				if strings.HasPrefix(k, "scan:deny:") {
					mine++
				}
			}
			assert.Positive(t, mine, "master %s holds denylist entries", node.Addr())
		}
		got := map[string]time.Time{}
		require.NoError(t, s.ScanDenied(ctx, func(id string, at time.Time) { got[id] = at }))
		assert.Len(t, got, n+1, "ScanDenied reads every master")
		assert.Equal(t, exp, got["jti-7"])
		assert.True(t, got["forever"].IsZero())
		cut := map[string]time.Time{}
		require.NoError(t, s.ScanCutoffs(ctx, func(k string, at time.Time) { cut[k] = at }))
		assert.Len(t, cut, 30, "ScanCutoffs reads every master")
	})

	t.Run("EpochSeesAnyMasterLoss", func(t *testing.T) {
		// A master that restarts empty (FLUSHALL here) takes its epoch keys
		// with it, whichever master it is: the replica then re-seeds.
		s := redis.New(raw, "epoch:")
		e, err := s.InitEpoch(ctx, "first")
		require.NoError(t, err)
		require.Equal(t, "first", e)
		for i, node := range cl.Nodes {
			keys, err := nodeKeys(ctx, node)
			require.NoError(t, err)
			var mine int
			for _, k := range keys {
				if strings.HasPrefix(k, "epoch:epoch:") {
					mine++
				}
			}
			require.Positive(t, mine, "master %s holds epoch keys", node.Addr())

			_, err = node.Command("FLUSHALL")
			require.NoError(t, err)
			got, err := s.Epoch(ctx)
			require.ErrorIs(t, err, revocation.ErrEpochIncomplete, "master %d lost its data: the epoch is incomplete", i)
			assert.Empty(t, got, "master %d lost its data: the epoch is gone", i)
			again, err := s.InitEpoch(ctx, fmt.Sprintf("after-%d", i))
			require.NoError(t, err)
			assert.NotEmpty(t, again)
			assert.NotEqual(t, e, again, "a new epoch after master %d lost its data", i)
			same, err := s.Epoch(ctx)
			require.NoError(t, err)
			assert.Equal(t, again, same, "the epoch is stable while nothing is lost")
			e = again
		}
	})

	t.Run("EventsReachEveryNode", func(t *testing.T) {
		// Subscribers on each master directly, and the store's own Subscribe
		// through a second cluster client: a PUBLISH through the store reaches
		// them all, whichever node it was sent to.
		const channel = "ev:events"
		var subs []*goredis.PubSub
		for _, node := range cl.Nodes {
			c := goredis.NewClient(&goredis.Options{Addr: node.Addr()})
			t.Cleanup(func() { _ = c.Close() })
			ps := c.Subscribe(ctx, channel)
			t.Cleanup(func() { _ = ps.Close() })
			_, err := ps.Receive(ctx) // the subscribe confirmation
			require.NoError(t, err)
			subs = append(subs, ps)
		}
		sctx, cancel := context.WithCancel(ctx)
		defer cancel()
		var (
			mu     sync.Mutex
			events []revocation.Event
		)
		connected := make(chan struct{}, 1)
		done := make(chan struct{})
		go func() {
			defer close(done)
			redis.New(newClient(t), "ev:").Subscribe(sctx, func(e revocation.Event) {
				mu.Lock()
				events = append(events, e)
				mu.Unlock()
			}, func() {
				select {
				case connected <- struct{}{}:
				default:
				}
			}, func(error) {})
		}()
		select {
		case <-connected:
		case <-time.After(10 * time.Second):
			t.Fatal("Subscribe on the cluster did not connect within 10s")
		}

		s := redis.New(raw, "ev:")
		const n = 20
		for i := range n {
			require.NoError(t, s.Deny(ctx, fmt.Sprintf("id-%d", i), time.Time{}))
		}
		// The cluster bus may reorder messages sent through different nodes;
		// the replica does not care (every event is idempotent), so compare sets.
		var want []string
		var wantEvents []revocation.Event
		for i := range n {
			want = append(want, fmt.Sprintf("d 0 id-%d", i))
			wantEvents = append(wantEvents, revocation.Event{Key: fmt.Sprintf("id-%d", i)})
		}
		for _, ps := range subs {
			var got []string
			for range n {
				rctx, rcancel := context.WithTimeout(ctx, 10*time.Second)
				msg, err := ps.ReceiveMessage(rctx)
				rcancel()
				require.NoError(t, err)
				got = append(got, msg.Payload)
			}
			assert.ElementsMatch(t, want, got)
		}
		deadline := time.Now().Add(10 * time.Second)
		for {
			mu.Lock()
			got := len(events)
			mu.Unlock()
			if got == n || time.Now().After(deadline) {
				break
			}
			time.Sleep(10 * time.Millisecond)
		}
		cancel()
		<-done
		mu.Lock()
		defer mu.Unlock()
		assert.ElementsMatch(t, wantEvents, events, "the store's subscriber got every event")
	})
}

// nodeKeys lists the keys one master holds (KEYS on that node only).
func nodeKeys(ctx context.Context, s *redisserver.Server) ([]string, error) {
	c := goredis.NewClient(&goredis.Options{Addr: s.Addr()})
	defer c.Close()
	return c.Keys(ctx, "*").Result()
}
