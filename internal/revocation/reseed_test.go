package revocation_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/sigil-dev/sigil/internal/revocation"
	redisstore "github.com/sigil-dev/sigil/internal/store/redis"
	"github.com/sigil-dev/sigil/internal/testclock"
	"github.com/sigil-dev/sigil/internal/token"
	"github.com/sigil-dev/sigil/test/redisserver"
)

// A store emptied under a live subscription (FLUSHALL: no reconnect
// reveals it, as a cluster master restarting empty while the subscription
// is on another master) is re-seeded by the heartbeat's epoch read, not at
// the next ResyncInterval (an hour here).
func TestReplica_EmptiedUnderSubscriptionReseeded(t *testing.T) {
	srv := redisserver.Start(t)
	ctx := context.Background()
	st := newStore(t, srv, "h:")
	a := startReplica(t, st) // ResyncInterval 1h, Heartbeat 50ms
	revoked := claims(time.Now())
	require.NoError(t, a.Revoke(ctx, revoked))
	if _, err := srv.Command("FLUSHALL"); err != nil {
		t.Fatal(err)
	}
	eventually(t, "denylist re-seeded by the heartbeat", func() bool {
		d, err := st.IsDenied(ctx, revoked.ID)
		return err == nil && d
	})
	require.ErrorIs(t, startReplica(t, st).Check(ctx, revoked), token.ErrRevoked)
}

func newClusterStore(t *testing.T, cl *redisserver.Cluster, prefix string) *redisstore.Store {
	t.Helper()
	client, err := redisstore.NewClient(cl.URL())
	require.NoError(t, err)
	t.Cleanup(func() { _ = client.Close() })
	return redisstore.New(client, prefix)
}

// A replica that never loaded the store does not trust a cluster one of
// whose masters lost its data: Sync fails (verification fails closed)
// until an instance that knew the epoch re-seeds it, and claims the epoch
// itself only after ReseedGrace with nobody re-seeding.
func TestReplica_NewInstanceAwaitsReseed(t *testing.T) {
	cl := redisserver.StartCluster(t, 3)
	ctx := context.Background()
	st := newClusterStore(t, cl, "n:")
	old := revocation.NewReplica(revocation.ReplicaConfig{Store: st})
	require.NoError(t, old.Sync(ctx))
	now := time.Now()
	var revoked []*token.Claims
	for range 30 { // ids on every master
		c := claims(now)
		require.NoError(t, old.Revoke(ctx, c))
		revoked = append(revoked, c)
	}
	if _, err := cl.Nodes[1].Command("FLUSHALL"); err != nil {
		t.Fatal(err)
	}
	_, err := st.Epoch(ctx)
	require.ErrorIs(t, err, revocation.ErrEpochIncomplete)

	clk := testclock.New(now)
	fresh := revocation.NewReplica(revocation.ReplicaConfig{Store: st, Now: clk.Now, ReseedGrace: 10 * time.Second})
	require.ErrorIs(t, fresh.Sync(ctx), revocation.ErrUnavailable)
	clk.Advance(9 * time.Second)
	require.ErrorIs(t, fresh.Sync(ctx), revocation.ErrUnavailable, "still within the grace")
	for _, c := range revoked {
		require.ErrorIs(t, fresh.Check(ctx, c), revocation.ErrUnavailable, "fail closed, never accepted")
	}
	// The instance that knew the epoch re-seeds; the new one then loads it all.
	require.NoError(t, old.Sync(ctx))
	require.NoError(t, fresh.Sync(ctx))
	for _, c := range revoked {
		require.ErrorIs(t, fresh.Check(ctx, c), token.ErrRevoked)
	}

	// Nobody alive that knew it: after the grace the new instance goes on.
	if _, err := cl.Nodes[2].Command("FLUSHALL"); err != nil {
		t.Fatal(err)
	}
	clk2 := testclock.New(now)
	lone := revocation.NewReplica(revocation.ReplicaConfig{Store: st, Now: clk2.Now, ReseedGrace: 10 * time.Second})
	require.ErrorIs(t, lone.Sync(ctx), revocation.ErrUnavailable)
	clk2.Advance(10 * time.Second)
	require.NoError(t, lone.Sync(ctx))
	_, err = st.Epoch(ctx)
	require.NoError(t, err, "the epoch is whole again")
}
