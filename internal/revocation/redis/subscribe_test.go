package redis_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/sigil-dev/sigil/internal/revocation"
	revredis "github.com/sigil-dev/sigil/internal/revocation/redis"
	redisstore "github.com/sigil-dev/sigil/internal/store/redis"
	"github.com/sigil-dev/sigil/test/redisserver"
)

// TestSubscribe_FollowsSentinelFailover: after a Sentinel failover whose
// old master stays up for clients but out of the sentinel's reach (so it
// neither becomes a replica nor has its clients killed), go-redis moves its
// pool to the new master but not the subscription.
// Subscribe notices that the master does not list it and subscribes there
// again (a second onConnect, after which the replica resyncs), and events
// written through the new master reach it.
func TestSubscribe_FollowsSentinelFailover(t *testing.T) {
	t.Parallel()
	g := redisserver.StartSentinels(t, "subs", 1, 1, time.Second)
	client, err := redisstore.NewClient(g.URL())
	require.NoError(t, err)
	t.Cleanup(func() { _ = client.Close() })
	st := revredis.New(client, "")
	ctx, cancel := context.WithCancel(context.Background())
	connects := make(chan struct{}, 16)
	events := make(chan revocation.Event, 16)
	done := make(chan struct{})
	go func() {
		defer close(done)
		st.Subscribe(ctx, func(ev revocation.Event) { events <- ev }, func() { connects <- struct{}{} }, func(error) {})
	}()
	t.Cleanup(func() { cancel(); <-done })
	guard := func(ch <-chan struct{}, what string) {
		t.Helper()
		select {
		case <-ch:
		case <-time.After(30 * time.Second):
			t.Fatalf("%s: not within the 30s guard", what)
		}
	}
	guard(connects, "first subscription")

	// The old master stays reachable by clients but cannot be reconfigured
	// by the sentinel (as behind a partition from it): its MULTI of
	// REPLICAOF + CLIENT KILL is refused, so nothing closes the
	// subscription's connection there; only Subscribe's own check moves it.
	_, err = g.Master.Command("ACL SETUSER default -client|kill")
	require.NoError(t, err)
	// The sentinel may not judge the replica promotable yet (NOGOODSLAVE).
	deadline := time.Now().Add(redisserver.ReplicationTimeout)
	for {
		_, err = g.Sentinels[0].Command("SENTINEL FAILOVER subs")
		if err == nil {
			break
		}
		require.True(t, time.Now().Before(deadline), "SENTINEL FAILOVER: %v", err)
		time.Sleep(200 * time.Millisecond)
	}
	for {
		addr, err := g.MasterAddr()
		if err == nil && addr == g.Replicas[0].Addr() {
			break
		}
		require.True(t, time.Now().Before(deadline), "sentinel failover did not complete")
		time.Sleep(100 * time.Millisecond)
	}
	guard(connects, "resubscription on the new master")

	require.NoError(t, st.Deny(ctx, "after-failover", time.Time{}))
	for {
		select {
		case ev := <-events:
			if ev.Key == "after-failover" {
				return
			}
		case <-time.After(30 * time.Second):
			t.Fatal("event written through the new master not received")
		}
	}
}
