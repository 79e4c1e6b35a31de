package redis_test

import (
	"context"
	"errors"
	"strconv"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sigil-dev/sigil/internal/revocation"
	revredis "github.com/sigil-dev/sigil/internal/revocation/redis"
	"github.com/sigil-dev/sigil/test/redisserver"
)

func newClient(t testing.TB, addr string) *goredis.Client {
	c := goredis.NewClient(&goredis.Options{Addr: addr, ContextTimeoutEnabled: true})
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// TestWithReplicas: with one replica required, every write returns once the
// replica holds it; once the replica is cut off, Deny, DenyOnce and
// SetCutoff each fail with ErrReplicas (so the caller answers 503), and
// succeed again when it is back.
func TestWithReplicas(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	m := redisserver.Start(t)
	r := redisserver.StartReplica(t, m)
	st := revredis.New(newClient(t, m.Addr()), "", revredis.WithReplicas(1, time.Second))
	exp := time.Now().Add(time.Hour)

	require.NoError(t, st.Deny(ctx, "id-1", exp))
	first, err := st.DenyOnce(ctx, "id-2", exp)
	require.NoError(t, err)
	assert.True(t, first)
	require.NoError(t, st.SetCutoff(ctx, "dashboard:sales", time.Now()))
	// Confirmed means on the replica already: no waiting here.
	for _, k := range []string{"sigil:deny:id-1", "sigil:deny:id-2", "sigil:cutoff:dashboard:sales"} {
		v, err := r.Command("GET " + k)
		require.NoError(t, err, k)
		assert.NotEmpty(t, v, k)
	}
	n, err := r.Command("SISMEMBER sigil:cutoffs dashboard:sales")
	require.NoError(t, err)
	assert.Equal(t, "1", n)

	online, err := st.OnlineReplicas(ctx)
	require.NoError(t, err)
	assert.Equal(t, 1, online)
	require.NoError(t, m.CutReplicas())
	online, err = st.OnlineReplicas(ctx)
	require.NoError(t, err)
	assert.Equal(t, 0, online)
	err = st.Deny(ctx, "id-3", exp)
	assert.ErrorIs(t, err, revredis.ErrReplicas)
	assert.ErrorIs(t, err, revocation.ErrUnavailable)
	_, err = st.DenyOnce(ctx, "id-4", exp)
	assert.ErrorIs(t, err, revredis.ErrReplicas)
	err = st.SetCutoff(ctx, "client:acme", time.Now())
	assert.ErrorIs(t, err, revredis.ErrReplicas)

	require.NoError(t, m.HealReplicas())
	m.WaitReplicasOnline(t, 1)
	require.NoError(t, st.Deny(ctx, "id-3", exp), "the retry is acknowledged once the replica is back")
	v, err := r.Command("GET sigil:deny:id-3")
	require.NoError(t, err)
	assert.NotEmpty(t, v)
}

// TestWithReplicas_Off: without replicas to wait for, a master without
// replicas acknowledges as before (min_replicas 0 is today's behaviour);
// asking for one it does not have fails.
func TestWithReplicas_Off(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	m := redisserver.Start(t)
	c := newClient(t, m.Addr())
	require.NoError(t, revredis.New(c, "", revredis.WithReplicas(0, time.Second)).Deny(ctx, "a", time.Time{}))
	require.NoError(t, revredis.New(c, "", revredis.WithReplicas(1, 0)).Deny(ctx, "b", time.Time{}), "timeout 0 turns waiting off (WAIT 0 blocks)")
	err := revredis.New(c, "", revredis.WithReplicas(1, 50*time.Millisecond)).Deny(ctx, "c", time.Time{})
	assert.ErrorIs(t, err, revredis.ErrReplicas)
}

// TestWithReplicas_Cluster: on a cluster with a replica per master, WAIT
// goes to each key's own master: writes hashed to every master are each on
// that master's replica when Deny returns.
func TestWithReplicas_Cluster(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	cl := redisserver.StartClusterReplicas(t, 3, 1, 2*time.Second)
	cc := goredis.NewClusterClient(&goredis.ClusterOptions{Addrs: cl.Addrs(), ContextTimeoutEnabled: true})
	t.Cleanup(func() { _ = cc.Close() })
	st := revredis.New(cc, "", revredis.WithReplicas(1, time.Second))
	const n = 60
	for i := range n {
		require.NoError(t, st.Deny(ctx, "id-"+strconv.Itoa(i), time.Time{}))
	}
	require.NoError(t, st.SetCutoff(ctx, "client:acme", time.Now()))
	total := 0
	for _, m := range cl.Masters() {
		want, err := m.Command("DBSIZE")
		require.NoError(t, err)
		reps := cl.ReplicasOf(m)
		require.Len(t, reps, 1)
		got, err := reps[0].Command("DBSIZE")
		require.NoError(t, err)
		assert.Equal(t, want, got, "replica of %s holds what its master acknowledged", m.Addr())
		k, _ := strconv.Atoi(want)
		total += k
	}
	assert.Equal(t, n+2, total)
	online, err := st.OnlineReplicas(ctx)
	require.NoError(t, err)
	assert.Equal(t, 1, online, "every master has its replica")

	// One master's replica cut off: writes to its keys fail, the others' succeed.
	victim := cl.Masters()[0]
	require.NoError(t, victim.CutReplicas())
	var refused, acked int
	for i := range n {
		err := st.Deny(ctx, "later-"+strconv.Itoa(i), time.Time{})
		switch {
		case err == nil:
			acked++
		case errors.Is(err, revredis.ErrReplicas):
			refused++
		default:
			t.Fatalf("deny: %v", err)
		}
	}
	assert.Positive(t, refused, "keys of the cut-off master")
	assert.Positive(t, acked, "keys of the other masters")
}

// BenchmarkDeny is the latency cost of min_replicas on loopback: one Deny
// with no WAIT, and with WAIT 1 on a master with one replica.
func BenchmarkDeny(b *testing.B) {
	ctx := context.Background()
	m := redisserver.Start(b)
	redisserver.StartReplica(b, m)
	c := newClient(b, m.Addr())
	for _, n := range []int{0, 1} {
		st := revredis.New(c, "", revredis.WithReplicas(n, time.Second))
		b.Run("min_replicas="+strconv.Itoa(n), func(b *testing.B) {
			exp := time.Now().Add(time.Hour)
			i := 0
			for b.Loop() {
				i++
				if err := st.Deny(ctx, "bench-"+strconv.Itoa(i), exp); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
