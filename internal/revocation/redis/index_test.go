package redis_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"
	goredis "github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sigil-dev/sigil/internal/revocation"
	revredis "github.com/sigil-dev/sigil/internal/revocation/redis"
	"github.com/sigil-dev/sigil/internal/testclock"
	"github.com/sigil-dev/sigil/internal/token"
	"github.com/sigil-dev/sigil/test/redisserver"
)

// cmdLog is a go-redis hook that records the names of the commands sent.
type cmdLog struct {
	mu    sync.Mutex
	names []string
}

func (l *cmdLog) DialHook(next goredis.DialHook) goredis.DialHook { return next }
func (l *cmdLog) ProcessHook(next goredis.ProcessHook) goredis.ProcessHook {
	return func(ctx context.Context, cmd goredis.Cmder) error {
		l.add(cmd)
		return next(ctx, cmd)
	}
}
func (l *cmdLog) ProcessPipelineHook(next goredis.ProcessPipelineHook) goredis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []goredis.Cmder) error {
		for _, c := range cmds {
			l.add(c)
		}
		return next(ctx, cmds)
	}
}
func (l *cmdLog) add(c goredis.Cmder) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.names = append(l.names, strings.ToLower(c.Name()))
}
func (l *cmdLog) take() map[string]int {
	l.mu.Lock()
	defer l.mu.Unlock()
	m := map[string]int{}
	for _, n := range l.names {
		m[n]++
	}
	l.names = nil
	return m
}

// writeLayout1 writes entry id as the previous release did (its Deny
// script): value the expiry in Unix ms with that TTL, or "0" without one.
func writeLayout1(t *testing.T, c *goredis.Client, prefix, id string, exp time.Time) {
	t.Helper()
	ctx := context.Background()
	if exp.IsZero() {
		require.NoError(t, c.Set(ctx, prefix+"deny:"+id, "0", 0).Err())
		return
	}
	require.NoError(t, c.Set(ctx, prefix+"deny:"+id, strconv.FormatInt(exp.UnixMilli(), 10), time.Until(exp)).Err())
}

func replicaOn(st revocation.SyncStore, clk *testclock.Clock, log *slog.Logger) *revocation.Replica {
	return revocation.NewReplica(revocation.ReplicaConfig{Store: st, Now: clk.Now, Logger: log, MaxStaleness: time.Hour})
}

func claimsWith(now time.Time, jti, tid string) *token.Claims {
	return &token.Claims{Kind: token.KindEmbed, DashboardID: "d", ClientID: "c", RegisteredClaims: jwt.RegisteredClaims{
		ID: jti, IssuedAt: jwt.NewNumericDate(now.Add(-time.Minute)), ExpiresAt: jwt.NewNumericDate(now.Add(time.Hour)),
	}, TID: tid}
}

// TestMigrateDenylist_FromLayout1 starts from a denylist as the previous
// release left it (per-id keys only, no layout key): the first Sync of a
// replica indexes it (logged, with the count), after which every entry is
// still denied, loads read the index and no SCAN, the entries keep their
// TTL (they still expire in Redis) and those expired by the clock are not
// loaded. Three instances migrating at once do no harm.
func TestMigrateDenylist_FromLayout1(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	srv := redisserver.Start(t)
	raw := newClient(t, srv.Addr())
	clk := testclock.Wall()
	now := clk.Now()
	const n = 3000
	ids := make([]string, n)
	for i := range ids {
		ids[i] = uuid.NewString()
		exp := now.Add(time.Hour + time.Duration(i)*time.Millisecond)
		if i%10 == 0 {
			exp = time.Time{}
		}
		writeLayout1(t, raw, "m:", ids[i], exp)
	}
	upper := strings.ToUpper(uuid.NewString())
	others := []string{"rec-1", "not a uuid", upper}
	for _, id := range others {
		writeLayout1(t, raw, "m:", id, now.Add(time.Hour))
	}
	short := uuid.NewString() // expires a minute after now
	writeLayout1(t, raw, "m:", short, now.Add(time.Minute))
	blink := uuid.NewString() // expires in Redis right after the migration
	writeLayout1(t, raw, "m:", blink, time.Now().Add(300*time.Millisecond))

	var logs bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&logs, nil))
	client := newClient(t, srv.Addr())
	cmds := &cmdLog{}
	client.AddHook(cmds)
	stores := make([]*revredis.Store, 3)
	for i := range stores {
		stores[i] = revredis.New(client, "m:", revredis.WithNow(clk.Now))
	}
	// Three instances start at once: each may index, all agree.
	var wg sync.WaitGroup
	counts := make([]int, len(stores))
	errs := make([]error, len(stores))
	for i, st := range stores {
		wg.Go(func() { counts[i], errs[i] = st.MigrateDenylist(ctx) })
	}
	wg.Wait()
	for i := range stores {
		require.NoError(t, errs[i])
		assert.LessOrEqual(t, counts[i], n+len(others)+2)
	}
	v, err := raw.Get(ctx, "m:denylayout").Result()
	require.NoError(t, err)
	assert.Equal(t, "2", v)

	// The entries are untouched: value and TTL as written.
	pttl, err := raw.PTTL(ctx, "m:deny:"+short).Result()
	require.NoError(t, err)
	assert.Greater(t, pttl, time.Duration(0), "an old-format entry keeps its TTL: it still expires in Redis")
	pttl, err = raw.PTTL(ctx, "m:deny:"+ids[0]).Result()
	require.NoError(t, err)
	assert.Equal(t, time.Duration(-1), pttl, "a never-expiring entry still has none")
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		n, err := raw.Exists(ctx, "m:deny:"+blink).Result()
		require.NoError(t, err)
		if n == 0 {
			break
		}
		require.True(t, time.Now().Before(deadline), "the old-format entry did not expire in Redis within the 10s guard")
	}

	cmds.take()
	rep := replicaOn(stores[0], clk, log)
	require.NoError(t, rep.Sync(ctx))
	seen := cmds.take()
	assert.Zero(t, seen["scan"], "an indexed denylist loads without SCAN: %v", seen)
	assert.Positive(t, seen["zrange"], "%v", seen)
	denied, _ := rep.Size()
	require.Equal(t, n+len(others)+1, denied)
	for i, id := range append(append([]string{}, ids...), short) {
		require.ErrorIs(t, rep.Check(ctx, claimsWith(now, id, "")), token.ErrRevoked, i)
	}
	for _, id := range others {
		require.ErrorIs(t, rep.Check(ctx, claimsWith(now, uuid.NewString(), id)), token.ErrRevoked, id)
	}
	require.NoError(t, rep.Check(ctx, claimsWith(now, uuid.NewString(), "rec-2")))

	// Past the short entry's expiry a fresh load leaves it out.
	clk.Advance(2 * time.Minute)
	late := replicaOn(revredis.New(client, "m:", revredis.WithNow(clk.Now)), clk, log)
	require.NoError(t, late.Sync(ctx))
	denied, _ = late.Size()
	assert.Equal(t, n+len(others), denied)
	require.NoError(t, late.Check(ctx, claimsWith(clk.Now(), short, "")))
	idx, z := revredis.IndexEntry("m:", short, now.Add(time.Minute).UnixMilli())
	_, err = raw.ZScore(ctx, idx, z.Member.(string)).Result()
	assert.ErrorIs(t, err, goredis.Nil, "the load pruned the member of the expired entry")

	// A replica on a store that has not run the migration itself (a fresh
	// process): its Sync logs nothing, the layout is current.
	logs.Reset()
	require.NoError(t, replicaOn(revredis.New(client, "m:", revredis.WithNow(clk.Now)), clk, log).Sync(ctx))
	assert.NotContains(t, logs.String(), "indexed for bulk loading")

	// From scratch, the replica's first Sync runs the migration and logs it.
	require.NoError(t, raw.Del(ctx, "m:denylayout").Err())
	logs.Reset()
	require.NoError(t, replicaOn(revredis.New(client, "m:", revredis.WithNow(clk.Now)), clk, log).Sync(ctx))
	assert.Contains(t, logs.String(), `"msg":"revocation denylist indexed for bulk loading (key layout 2)","entries":`)
}

// TestIndex_Writes: once the denylist is indexed, Deny and DenyOnce write
// the entry and its member in one script (two keys, one slot); a raised
// expiry is loaded as the later one, a lowered one does not shorten it,
// DenyOnce stays once, and writes drop members that expired past the
// grace. A Store that has not seen the layout key yet (started before the
// migration) indexes what it writes from the moment the layout is set
// (catch-up), and then writes with the script itself.
func TestIndex_Writes(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	srv := redisserver.Start(t)
	raw := newClient(t, srv.Addr())
	clk := testclock.Wall()
	now := clk.Now()
	early := revredis.New(newClient(t, srv.Addr()), "w:", revredis.WithNow(clk.Now))
	require.NoError(t, early.Deny(ctx, "before", now.Add(time.Hour)), "layout 1: key only")
	n, err := raw.Exists(ctx, "w:denylayout").Result()
	require.NoError(t, err)
	require.Zero(t, n)

	st := revredis.New(newClient(t, srv.Addr()), "w:", revredis.WithNow(clk.Now))
	migrated, err := st.MigrateDenylist(ctx)
	require.NoError(t, err)
	require.Equal(t, 1, migrated)

	members := func(id string) []string {
		t.Helper()
		key, _ := revredis.IndexEntry("w:", id, 0)
		ms, err := raw.ZRange(ctx, key, 0, -1).Result()
		require.NoError(t, err)
		var mine []string
		for _, m := range ms {
			_, z := revredis.IndexEntry("w:", id, 0)
			if strings.HasSuffix(m, z.Member.(string)[8:]) {
				mine = append(mine, m)
			}
		}
		return mine
	}
	load := func() map[string]int64 {
		t.Helper()
		got := map[string]int64{}
		require.NoError(t, st.ScanDeniedBulk(ctx,
			func(id [16]byte, ms int64) { got[uuid.UUID(id).String()] = max(got[uuid.UUID(id).String()], ms) },
			func(id string, ms int64) { got[id] = ms }))
		return got
	}

	// The early Store has not seen the layout: its next write catches up.
	caught := uuid.NewString()
	require.NoError(t, early.Deny(ctx, caught, now.Add(time.Hour)))
	assert.Len(t, members(caught), 1, "a Store that learns the layout after its write indexes the entry")
	cmds := &cmdLog{}
	c2 := newClient(t, srv.Addr())
	c2.AddHook(cmds)

	id := uuid.NewString()
	exp1, exp2 := now.Add(time.Hour).Truncate(time.Millisecond), now.Add(2*time.Hour).Truncate(time.Millisecond)
	require.NoError(t, st.Deny(ctx, id, exp1))
	require.NoError(t, st.Deny(ctx, id, exp2))
	require.NoError(t, st.Deny(ctx, id, exp1), "an earlier expiry keeps the later")
	assert.Len(t, members(id), 2, "the raised expiry adds a member; the old one leaves by pruning")
	got := load()
	assert.Equal(t, exp2.UnixMilli(), got[id])
	assert.Equal(t, now.Add(time.Hour).Truncate(time.Millisecond).UnixMilli(), got[caught])
	assert.Contains(t, got, "before")

	first, err := st.DenyOnce(ctx, "once", now.Add(time.Hour))
	require.NoError(t, err)
	assert.True(t, first)
	first, err = st.DenyOnce(ctx, "once", now.Add(3*time.Hour))
	require.NoError(t, err)
	assert.False(t, first)
	assert.Len(t, members("once"), 1)
	require.NoError(t, st.Deny(ctx, "forever", time.Time{}))
	got = load()
	assert.Equal(t, int64(0), got["forever"])
	assert.Equal(t, now.Add(time.Hour).UnixMilli(), got["once"])

	// A write two hours on prunes the members that expired since (past
	// the grace) from its set; the per-id keys expire by their TTL.
	clk.Advance(3 * time.Hour)
	require.NoError(t, st.Deny(ctx, id, clk.Now().Add(time.Hour)))
	assert.Len(t, members(id), 1, "the expired members of the written set are pruned")
	got = load()
	assert.Len(t, got, 2, "the load returns live entries only: %v", got)

	// The store writing through its own script (indexed) sends EVALSHA
	// with both keys, which the server places in the same slot.
	fresh := revredis.New(c2, "w:", revredis.WithNow(clk.Now))
	require.NoError(t, fresh.Deny(ctx, "x1", clk.Now().Add(time.Hour)), "learns the layout (catch-up)")
	cmds.take()
	require.NoError(t, fresh.Deny(ctx, "x2", clk.Now().Add(time.Hour)))
	seen := cmds.take()
	assert.Equal(t, map[string]int{"evalsha": 1, "publish": 1}, seen, "once indexed, one script per write and no layout read")
}

// TestIndex_Cluster: on a 3-master cluster, the migration indexes entries
// on every master, each index set is in the slot of the entries it holds
// (the server's CLUSTER KEYSLOT, also for ids that carry a hash tag of
// their own), writes run their two-key script on the
// slot's master, and the bulk load reads every master.
func TestIndex_Cluster(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	cl := redisserver.StartCluster(t, 3)
	cc := goredis.NewClusterClient(&goredis.ClusterOptions{Addrs: cl.Addrs(), ContextTimeoutEnabled: true})
	t.Cleanup(func() { _ = cc.Close() })
	st := revredis.New(cc, "cl:")
	exp := time.Now().Add(time.Hour)
	var ids []string
	for i := range 150 {
		id := uuid.NewString()
		switch i % 5 {
		case 0:
			id = fmt.Sprintf("rec-%d", i)
		case 1:
			id = fmt.Sprintf("rec-{%d}", i) // a hash tag of its own: the index follows it
		}
		ids = append(ids, id)
		require.NoError(t, st.Deny(ctx, id, exp))
	}
	n, err := st.MigrateDenylist(ctx)
	require.NoError(t, err)
	require.Equal(t, len(ids), n)
	for i := range 150 {
		id := uuid.NewString()
		ids = append(ids, id)
		if i%2 == 0 {
			require.NoError(t, st.Deny(ctx, id, exp))
		} else {
			_, err := st.DenyOnce(ctx, id, exp)
			require.NoError(t, err)
		}
	}
	for _, id := range ids[:60] {
		key, _ := revredis.IndexEntry("cl:", id, 0)
		a, err := cc.ClusterKeySlot(ctx, "cl:deny:"+id).Result()
		require.NoError(t, err)
		b, err := cc.ClusterKeySlot(ctx, key).Result()
		require.NoError(t, err)
		require.Equal(t, a, b, "entry %s and its index set share a slot", id)
	}
	for _, node := range cl.Nodes {
		keys, err := nodeKeys(ctx, node)
		require.NoError(t, err)
		var sets int
		for _, k := range keys {
			if strings.HasPrefix(k, "cl:denyidx:") {
				sets++
			}
		}
		assert.Positive(t, sets, "master %s holds index sets", node.Addr())
	}
	got := map[string]bool{}
	require.NoError(t, st.ScanDeniedBulk(ctx,
		func(id [16]byte, _ int64) { got[uuid.UUID(id).String()] = true },
		func(id string, _ int64) { got[id] = true }))
	assert.Len(t, got, len(ids))
	for _, id := range ids {
		assert.True(t, got[id], id)
	}
}

func nodeKeys(ctx context.Context, s *redisserver.Server) ([]string, error) {
	c := goredis.NewClient(&goredis.Options{Addr: s.Addr()})
	defer c.Close()
	return c.Keys(ctx, "*").Result()
}

// TestIndex_LargeSetPages: with a prefix whose hash tag puts every key in
// one slot, one index set holds the whole denylist; with a small page size
// it is read in pages, through runs of equal expiries longer than a page,
// while a writer adds entries: every entry written before the load is
// read, none twice counted.
func TestIndex_LargeSetPages(t *testing.T) {
	t.Cleanup(revredis.SetIndexSizes(50, 7, 2))
	ctx := context.Background()
	srv := redisserver.Start(t)
	st := revredis.New(newClient(t, srv.Addr()), "{one}:")
	_, err := st.MigrateDenylist(ctx)
	require.NoError(t, err)
	base := time.Now().Add(time.Hour).Truncate(time.Millisecond)
	want := map[string]int64{}
	for i := range 1200 {
		id := uuid.NewString()
		exp := base.Add(time.Duration(i/170) * time.Millisecond) // runs of 170 equal expiries
		if i%97 == 0 {
			exp = time.Time{}
		}
		require.NoError(t, st.Deny(ctx, id, exp))
		want[id] = 0
		if !exp.IsZero() {
			want[id] = exp.UnixMilli()
		}
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			select {
			case <-stop:
				return
			default:
			}
			_ = st.Deny(ctx, uuid.NewString(), base.Add(time.Duration(len(want)%7)*time.Millisecond))
		}
	})
	got := map[string]int64{}
	require.NoError(t, st.ScanDeniedBulk(ctx,
		func(id [16]byte, ms int64) { got[uuid.UUID(id).String()] = ms },
		func(id string, ms int64) { got[id] = ms }))
	close(stop)
	wg.Wait()
	for id, ms := range want {
		v, ok := got[id]
		require.True(t, ok, "entry %s not read", id)
		require.Equal(t, ms, v, id)
	}
}

// TestEachMember: replies that are not arrays of bulk strings are errors,
// never panics; members of a foreign form are skipped.
func TestEachMember(t *testing.T) {
	var uuids, others int
	u := func([16]byte, int64) { uuids++ }
	o := func(string, int64) { others++ }
	for _, bad := range []string{"", "-ERR wrong type\r\n", "*2\r\n$3\r\nabc\r\n", "*1\r\n$99\r\nabc\r\n", "*x\r\n", ":5\r\n", "*1\r\n+OK\r\n", "*-3\r\n$"} {
		_, _, _, err := revredis.EachMember([]byte(bad), u, o)
		if bad == "*-3\r\n$" {
			continue // a negative count reads as empty
		}
		assert.Error(t, err, "%q", bad)
	}
	id := uuid.New()
	good := "*3\r\n$25\r\n\x00\x00\x00\x00\x00\x00\x00\x05u" + string(id[:]) + "\r\n$3\r\nabc\r\n$11\r\n\x00\x00\x00\x00\x00\x00\x00\x05tab\r\n"
	n, last, tied, err := revredis.EachMember([]byte(good), u, o)
	require.NoError(t, err)
	assert.Equal(t, 3, n)
	assert.Equal(t, int64(5), last)
	assert.Equal(t, 2, tied)
	assert.Equal(t, 1, uuids)
	assert.Equal(t, 1, others)
}

// TestReadOnly: a ReadOnly store (the Go verifier's) neither migrates nor
// prunes: on layout 1 it loads by SCAN and leaves Redis as it was.
func TestReadOnly(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	srv := redisserver.Start(t)
	raw := newClient(t, srv.Addr())
	writeLayout1(t, raw, "r:", "a", time.Now().Add(time.Hour))
	st := revredis.New(newClient(t, srv.Addr()), "r:", revredis.ReadOnly())
	n, err := st.MigrateDenylist(ctx)
	require.NoError(t, err)
	assert.Zero(t, n)
	var got []string
	require.NoError(t, st.ScanDenied(ctx, func(id string, _ time.Time) { got = append(got, id) }))
	assert.Equal(t, []string{"a"}, got)
	keys, err := raw.Keys(ctx, "*").Result()
	require.NoError(t, err)
	assert.Equal(t, []string{"r:deny:a"}, keys)
}

// TestIndex_Reseed: a Redis that comes back empty is re-seeded by a live
// replica (its heartbeat sees the epoch gone) in key layout 2: every entry
// gets its key and its index member back, and a new instance loads them
// all from the index, without SCAN.
func TestIndex_Reseed(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	srv := redisserver.Start(t)
	raw := newClient(t, srv.Addr())
	a := revocation.NewReplica(revocation.ReplicaConfig{
		Store: revredis.New(newClient(t, srv.Addr()), "rs:"), Heartbeat: 50 * time.Millisecond, ResyncInterval: time.Hour,
	})
	require.NoError(t, a.Sync(ctx))
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { a.Run(runCtx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	now := time.Now()
	var revoked []*token.Claims
	for range 20 {
		c := claimsWith(now, uuid.NewString(), "")
		require.NoError(t, a.Revoke(ctx, c))
		revoked = append(revoked, c)
	}
	require.NoError(t, raw.FlushAll(ctx).Err())
	indexed := func() bool {
		for _, c := range revoked {
			idx, z := revredis.IndexEntry("rs:", c.ID, 0)
			ms, err := raw.ZRange(ctx, idx, 0, -1).Result()
			if err != nil {
				return false
			}
			found := false
			for _, m := range ms {
				found = found || strings.HasSuffix(m, z.Member.(string)[8:])
			}
			if !found {
				return false
			}
		}
		v, err := raw.Get(ctx, "rs:denylayout").Result()
		return err == nil && v == "2"
	}
	for deadline := time.Now().Add(10 * time.Second); !indexed(); time.Sleep(20 * time.Millisecond) {
		require.True(t, time.Now().Before(deadline), "the emptied Redis was not re-seeded with its index within the 10s guard")
	}
	client := newClient(t, srv.Addr())
	cmds := &cmdLog{}
	client.AddHook(cmds)
	b := revocation.NewReplica(revocation.ReplicaConfig{Store: revredis.New(client, "rs:")})
	require.NoError(t, b.Sync(ctx))
	assert.Zero(t, cmds.take()["scan"], "the new instance loads from the re-seeded index")
	for _, c := range revoked {
		require.ErrorIs(t, b.Check(ctx, c), token.ErrRevoked)
	}
}
