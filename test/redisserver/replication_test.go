package redisserver_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sigil-dev/sigil/test/redisserver"
)

// TestCutReplicas: a write WAIT confirms on a linked replica is confirmed
// by none once the replicas are cut off (and the replica lacks it), and by
// one again after HealReplicas.
func TestCutReplicas(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	m := redisserver.Start(t)
	r := redisserver.StartReplica(t, m)
	c := goredis.NewClient(&goredis.Options{Addr: m.Addr()})
	t.Cleanup(func() { _ = c.Close() })
	conn := c.Conn()
	t.Cleanup(func() { _ = conn.Close() })
	require.NoError(t, conn.Set(ctx, "a", "1", 0).Err())
	n, err := conn.Wait(ctx, 1, 5*time.Second).Result()
	require.NoError(t, err)
	assert.EqualValues(t, 1, n)

	require.NoError(t, m.CutReplicas())
	require.NoError(t, conn.Set(ctx, "b", "1", 0).Err())
	n, err = conn.Wait(ctx, 1, 300*time.Millisecond).Result()
	require.NoError(t, err)
	assert.EqualValues(t, 0, n, "no replica confirms a write made after the cut")
	_, err = r.Command("GET b")
	assert.Error(t, err, "the replica does not hold the write") // nil bulk: unsupported reply

	require.NoError(t, m.HealReplicas())
	m.WaitReplicasOnline(t, 1)
	n, err = conn.Wait(ctx, 1, 5*time.Second).Result()
	require.NoError(t, err)
	assert.EqualValues(t, 1, n)
	v, err := r.Command("GET b")
	require.NoError(t, err)
	assert.Equal(t, "1", v)
}

// TestStartSentinels: three sentinels promote a replica when the master is
// killed, and name it.
func TestStartSentinels(t *testing.T) {
	t.Parallel()
	g := redisserver.StartSentinels(t, "m1", 2, 3, time.Second)
	addr, err := g.MasterAddr()
	require.NoError(t, err)
	assert.Equal(t, g.Master.Addr(), addr)
	assert.True(t, strings.HasPrefix(g.URL(), "redis+sentinel://"))
	g.Master.Kill()
	deadline := time.Now().Add(redisserver.ReplicationTimeout)
	for addr == g.Master.Addr() && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
		addr, _ = g.MasterAddr()
	}
	require.NotEqual(t, g.Master.Addr(), addr, "a replica is promoted")
	assert.Contains(t, []string{g.Replicas[0].Addr(), g.Replicas[1].Addr()}, addr)
}

// TestStartClusterReplicas: three masters with a replica each; a killed
// master's replica takes its slots over.
func TestStartClusterReplicas(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	c := redisserver.StartClusterReplicas(t, 3, 1, time.Second)
	require.Len(t, c.Nodes, 6)
	masters := c.Masters()
	require.Len(t, masters, 3)
	for _, m := range masters {
		require.Len(t, c.ReplicasOf(m), 1, "master %s has one replica", m.Addr())
	}
	cc := goredis.NewClusterClient(&goredis.ClusterOptions{Addrs: c.Addrs()})
	t.Cleanup(func() { _ = cc.Close() })
	for i := range 32 {
		require.NoError(t, cc.Set(ctx, fmt.Sprintf("k%d", i), i, 0).Err())
	}
	victim := masters[0]
	heir := c.ReplicasOf(victim)[0]
	victim.Kill()
	deadline := time.Now().Add(redisserver.ReplicationTimeout)
	for time.Now().Before(deadline) {
		if role, _ := heir.Role(); role == "master" {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	role, err := heir.Role()
	require.NoError(t, err)
	require.Equal(t, "master", role, "the replica of the killed master is promoted")
	c.WaitHealthy(t)
}
