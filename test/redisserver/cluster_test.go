package redisserver_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	goredis "github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sigil-dev/sigil/test/redisserver"
)

func TestStartCluster(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	c := redisserver.StartCluster(t, 3)
	require.Len(t, c.Nodes, 3)
	assert.Equal(t, "redis+cluster://"+strings.Join(c.Addrs(), ","), c.URL())

	cc := goredis.NewClusterClient(&goredis.ClusterOptions{Addrs: c.Addrs()})
	t.Cleanup(func() { _ = cc.Close() })
	// Keys in many slots land on every master.
	for i := range 64 {
		require.NoError(t, cc.Set(ctx, fmt.Sprintf("k%d", i), i, 0).Err())
	}
	for _, s := range c.Nodes {
		info, err := s.Command("CLUSTER INFO")
		require.NoError(t, err)
		assert.Contains(t, info, "cluster_state:ok")
		assert.Contains(t, info, "cluster_slots_assigned:16384")
		assert.Contains(t, info, "cluster_known_nodes:3")
		n, err := s.Command("DBSIZE")
		require.NoError(t, err)
		assert.NotEqual(t, "0", n, "master %s holds some of the keys", s.Addr())
	}
	_, err := c.Nodes[0].Command("NO-SUCH-COMMAND")
	assert.Error(t, err)

	pid := c.Nodes[1].PID()
	c.Nodes[1].Kill()
	assert.Zero(t, c.Nodes[1].PID())
	assert.NotZero(t, pid)
}

func TestStartCluster_ErrTooSmall(t *testing.T) {
	tb := &fatalTB{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		redisserver.StartCluster(tb, 2)
		t.Error("StartCluster returned instead of failing")
	}()
	<-done
	assert.Contains(t, tb.fatal, "at least 3 masters")
}

func TestStartSentinel(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	master := redisserver.Start(t)
	s1 := redisserver.StartSentinel(t, master, "mymaster")
	s2 := redisserver.StartSentinel(t, master, "mymaster")
	assert.Equal(t, "redis+sentinel://"+s1.Addr()+","+s2.Addr()+"/0?master=mymaster", redisserver.SentinelURL("mymaster", s1, s2))

	sc := goredis.NewSentinelClient(&goredis.Options{Addr: s1.Addr()})
	t.Cleanup(func() { _ = sc.Close() })
	addr, err := sc.GetMasterAddrByName(ctx, "mymaster").Result()
	require.NoError(t, err)
	assert.Equal(t, []string{"127.0.0.1", fmt.Sprint(master.Port())}, addr)

	fc := goredis.NewFailoverClient(&goredis.FailoverOptions{MasterName: "mymaster", SentinelAddrs: []string{s1.Addr(), s2.Addr()}})
	t.Cleanup(func() { _ = fc.Close() })
	require.NoError(t, fc.Set(ctx, "k", "v", 0).Err())
	got, err := newClient(t, master).Get(ctx, "k").Result()
	require.NoError(t, err)
	assert.Equal(t, "v", got, "the failover client wrote to the monitored master")
}
