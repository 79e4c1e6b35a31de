package redis_test

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sigil-dev/sigil/internal/apperr"
	"github.com/sigil-dev/sigil/internal/clients"
	"github.com/sigil-dev/sigil/internal/revocation"
	"github.com/sigil-dev/sigil/internal/store/redis"
	"github.com/sigil-dev/sigil/internal/store/storetest"
	"github.com/sigil-dev/sigil/test/redisserver"
)

// newRaw returns a go-redis client of srv that fails fast once srv is down.
func newRaw(t *testing.T, srv *redisserver.Server) goredis.UniversalClient {
	t.Helper()
	opts, err := goredis.ParseURL(srv.URL())
	require.NoError(t, err)
	opts.MaxRetries = -1
	opts.DialerRetries = 1
	opts.DialTimeout = 500 * time.Millisecond
	c := goredis.NewClient(opts)
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// ttlStore exposes the real TTL of denylist keys to the contract suite.
type ttlStore struct {
	*redis.Store
	raw    goredis.UniversalClient
	prefix string
}

func (s *ttlStore) DenyTTL(t *testing.T, id string) (time.Duration, bool) {
	t.Helper()
	d, err := s.raw.PTTL(context.Background(), s.prefix+"deny:"+id).Result()
	require.NoError(t, err)
	switch d {
	case -2:
		return 0, false
	case -1:
		return -1, true
	}
	return d, true
}

var _ storetest.RealTTL = (*ttlStore)(nil)

func TestStore_Contract(t *testing.T) {
	srv := redisserver.Start(t)
	raw := newRaw(t, srv)
	storetest.Run(t, func(t *testing.T, now func() time.Time) storetest.Store {
		prefix := "test:" + t.Name() + ":"
		return &ttlStore{Store: redis.New(raw, prefix, redis.WithNow(now)), raw: raw, prefix: prefix}
	})
	keys, err := raw.Keys(context.Background(), "*").Result()
	require.NoError(t, err)
	for _, k := range keys {
		assert.True(t, strings.HasPrefix(k, "test:TestStore_Contract/"), "key %q outside the test prefixes", k)
	}
}

var t0 = time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)

func sample(id string) clients.Client {
	return clients.Client{
		ID: id, Name: "n", Role: clients.RoleIssuer,
		Resources: []string{"dashboard:" + id}, Scopes: []string{}, SecretHash: []byte{1, 2}, CreatedAt: t0,
	}
}

func TestStore_keys(t *testing.T) {
	ctx := context.Background()
	srv := redisserver.Start(t)
	raw := newRaw(t, srv)

	for _, tc := range []struct {
		name, prefix, want string
	}{
		{"Configured", "tenant-a:", "tenant-a:"},
		{"Default", "", "sigil:"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			require.NoError(t, raw.FlushDB(ctx).Err())
			now := t0
			s := redis.New(raw, tc.prefix, redis.WithNow(func() time.Time { return now }))
			require.NoError(t, s.CreateClient(ctx, sample("c1")))
			require.NoError(t, s.Deny(ctx, "jti-1", t0.Add(90*time.Second)))
			require.NoError(t, s.Deny(ctx, "tid-1", time.Time{}))
			require.NoError(t, s.SetCutoff(ctx, "sub:alice", t0))

			keys, err := raw.Keys(ctx, "*").Result()
			require.NoError(t, err)
			p := tc.want
			assert.ElementsMatch(t, []string{p + "client:c1", p + "clients", p + "deny:jti-1", p + "deny:tid-1", p + "cutoff:sub:alice", p + "cutoffs"}, keys)
			members, err := raw.SMembers(ctx, p+"cutoffs").Result()
			require.NoError(t, err)
			assert.Equal(t, []string{"sub:alice"}, members, "the cutoff index names every cutoff")

			v, err := raw.Get(ctx, p+"cutoff:sub:alice").Result()
			require.NoError(t, err)
			assert.Equal(t, strconv.FormatInt(t0.UnixMilli(), 10), v, "cutoff value is its time in Unix ms")
			ttl, err := raw.PTTL(ctx, p+"cutoff:sub:alice").Result()
			require.NoError(t, err)
			assert.Equal(t, time.Duration(-1), ttl, "cutoffs never expire")

			b, err := raw.Get(ctx, p+"client:c1").Bytes()
			require.NoError(t, err)
			c, err := redis.DecodeClient(b)
			require.NoError(t, err)
			assert.Equal(t, sample("c1"), c)
			members, err = raw.SMembers(ctx, p+"clients").Result()
			require.NoError(t, err)
			assert.Equal(t, []string{"c1"}, members)

			v, err = raw.Get(ctx, p+"deny:jti-1").Result()
			require.NoError(t, err)
			assert.Equal(t, strconv.FormatInt(t0.Add(90*time.Second).UnixMilli(), 10), v, "value is the expiry in Unix ms")
			ttl, err = raw.PTTL(ctx, p+"deny:jti-1").Result()
			require.NoError(t, err)
			assert.InDelta(t, 90*time.Second, ttl, float64(2*time.Second), "TTL = expiresAt - injected now")

			v, err = raw.Get(ctx, p+"deny:tid-1").Result()
			require.NoError(t, err)
			assert.Equal(t, "0", v)
			ttl, err = raw.PTTL(ctx, p+"deny:tid-1").Result()
			require.NoError(t, err)
			assert.Equal(t, time.Duration(-1), ttl, "never-expiring entry has no TTL")
		})
	}
}

func TestStore_unavailable(t *testing.T) {
	ctx := context.Background()
	srv := redisserver.Start(t)
	s := redis.New(newRaw(t, srv), "t:")
	require.NoError(t, s.CreateClient(ctx, sample("c1")))
	srv.Stop()

	assertDown := func(t *testing.T, err error) {
		t.Helper()
		require.Error(t, err)
		assert.ErrorIs(t, err, revocation.ErrUnavailable)
		assert.ErrorIs(t, err, apperr.ErrStoreUnavailable)
		assert.NotErrorIs(t, err, clients.ErrNotFound)
		assert.NotErrorIs(t, err, clients.ErrAlreadyExists)
	}
	t.Run("Deny", func(t *testing.T) { assertDown(t, s.Deny(ctx, "j", time.Now().Add(time.Hour))) })
	t.Run("DenyForever", func(t *testing.T) { assertDown(t, s.Deny(ctx, "j", time.Time{})) })
	t.Run("IsDenied", func(t *testing.T) {
		denied, err := s.IsDenied(ctx, "j")
		assertDown(t, err)
		assert.False(t, denied)
	})
	t.Run("IsDeniedMany", func(t *testing.T) {
		denied, err := s.IsDenied(ctx, "j", "t")
		assertDown(t, err)
		assert.False(t, denied)
	})
	t.Run("Ping", func(t *testing.T) { assertDown(t, s.Ping(ctx)) })
	t.Run("SetCutoff", func(t *testing.T) { assertDown(t, s.SetCutoff(ctx, "sub:a", time.Now())) })
	t.Run("LatestCutoff", func(t *testing.T) {
		_, err := s.LatestCutoff(ctx, "sub:a")
		assertDown(t, err)
	})
	t.Run("LatestCutoffMany", func(t *testing.T) {
		_, err := s.LatestCutoff(ctx, "sub:a", "client:c")
		assertDown(t, err)
	})
	t.Run("CreateClient", func(t *testing.T) { assertDown(t, s.CreateClient(ctx, sample("c2"))) })
	t.Run("GetClient", func(t *testing.T) {
		_, err := s.GetClient(ctx, "c1")
		assertDown(t, err)
	})
	t.Run("ListClients", func(t *testing.T) {
		_, err := s.ListClients(ctx)
		assertDown(t, err)
	})
	t.Run("UpdateClient", func(t *testing.T) { assertDown(t, s.UpdateClient(ctx, sample("c1"))) })
	t.Run("DeleteClient", func(t *testing.T) { assertDown(t, s.DeleteClient(ctx, "c1")) })

	t.Run("Recovers", func(t *testing.T) {
		srv.Restart(t)
		require.NoError(t, s.Ping(ctx))
		require.NoError(t, s.Deny(ctx, "j", time.Now().Add(time.Hour)))
		denied, err := s.IsDenied(ctx, "j")
		require.NoError(t, err)
		assert.True(t, denied)
	})
}

func TestStore_ListClients_staleIndex(t *testing.T) {
	ctx := context.Background()
	srv := redisserver.Start(t)
	raw := newRaw(t, srv)
	s := redis.New(raw, "t:")
	for _, id := range []string{"a", "b", "c"} {
		require.NoError(t, s.CreateClient(ctx, sample(id)))
	}
	require.NoError(t, raw.Del(ctx, "t:client:b").Err(), "a record vanished behind the index")
	require.NoError(t, raw.SAdd(ctx, "t:clients", "ghost").Err())

	list, err := s.ListClients(ctx)
	require.NoError(t, err)
	require.Len(t, list, 2)
	assert.Equal(t, "a", list[0].ID)
	assert.Equal(t, "c", list[1].ID)

	assert.ErrorIs(t, s.DeleteClient(ctx, "ghost"), clients.ErrNotFound)
	members, err := raw.SMembers(ctx, "t:clients").Result()
	require.NoError(t, err)
	assert.ElementsMatch(t, []string{"a", "b", "c"}, members, "deleting an absent id drops its stale member")
}

func TestStore_CreateClient_repairsIndex(t *testing.T) {
	ctx := context.Background()
	srv := redisserver.Start(t)
	raw := newRaw(t, srv)
	s := redis.New(raw, "t:")
	require.NoError(t, s.CreateClient(ctx, sample("a")))
	require.NoError(t, raw.SRem(ctx, "t:clients", "a").Err(), "a record missing from the index")

	assert.ErrorIs(t, s.CreateClient(ctx, sample("a")), clients.ErrAlreadyExists)
	list, err := s.ListClients(ctx)
	require.NoError(t, err)
	require.Len(t, list, 1, "the conflicting create put the id back in the index")
}

func TestStore_CreateDelete_race(t *testing.T) {
	ctx := context.Background()
	srv := redisserver.Start(t)
	s := redis.New(newRaw(t, srv), "t:")
	for range 50 {
		require.NoError(t, s.CreateClient(ctx, sample("x")))
		var wg sync.WaitGroup
		wg.Go(func() { _ = s.DeleteClient(ctx, "x") })
		wg.Go(func() { _ = s.CreateClient(ctx, sample("x")) })
		wg.Wait()
		_, err := s.GetClient(ctx, "x")
		list, lerr := s.ListClients(ctx)
		require.NoError(t, lerr)
		if err == nil {
			require.Len(t, list, 1, "a stored record is always listed")
			require.NoError(t, s.DeleteClient(ctx, "x"))
		} else {
			require.ErrorIs(t, err, clients.ErrNotFound)
			require.Empty(t, list)
		}
	}
}

func TestStore_Deny_scriptFlushed(t *testing.T) {
	ctx := context.Background()
	srv := redisserver.Start(t)
	raw := newRaw(t, srv)
	s := redis.New(raw, "t:")
	require.NoError(t, s.Deny(ctx, "a", time.Now().Add(time.Hour)))
	require.NoError(t, raw.ScriptFlush(ctx).Err())
	require.NoError(t, s.Deny(ctx, "b", time.Now().Add(time.Hour)), "EVALSHA falls back to EVAL after SCRIPT FLUSH")
	denied, err := s.IsDenied(ctx, "b")
	require.NoError(t, err)
	assert.True(t, denied)
}

// recorder is a go-redis hook that records the commands it sees.
type recorder struct {
	mu        sync.Mutex
	single    [][]any   // commands sent alone
	pipelines [][][]any // commands sent as pipelines
}

func (r *recorder) DialHook(next goredis.DialHook) goredis.DialHook { return next }

func (r *recorder) ProcessHook(next goredis.ProcessHook) goredis.ProcessHook {
	return func(ctx context.Context, cmd goredis.Cmder) error {
		r.mu.Lock()
		r.single = append(r.single, cmd.Args())
		r.mu.Unlock()
		return next(ctx, cmd)
	}
}

func (r *recorder) ProcessPipelineHook(next goredis.ProcessPipelineHook) goredis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []goredis.Cmder) error {
		args := make([][]any, len(cmds))
		for i, c := range cmds {
			args[i] = c.Args()
		}
		r.mu.Lock()
		r.pipelines = append(r.pipelines, args)
		r.mu.Unlock()
		return next(ctx, cmds)
	}
}

// reset returns what was recorded since the last reset, leaving out the
// commands go-redis sends to set up a new connection (HELLO, CLIENT ...).
func (r *recorder) reset() (single [][]any, pipelines [][][]any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, args := range r.single {
		if !isSetup(args) {
			single = append(single, args)
		}
	}
	for _, p := range r.pipelines {
		var kept [][]any
		for _, args := range p {
			if !isSetup(args) {
				kept = append(kept, args)
			}
		}
		if kept != nil {
			pipelines = append(pipelines, kept)
		}
	}
	r.single, r.pipelines = nil, nil
	return single, pipelines
}

func isSetup(args []any) bool { return name(args) == "hello" || name(args) == "client" }

func name(args []any) string { return strings.ToLower(args[0].(string)) }

// TestStore_singleKeyCommands checks, with the server's own COMMAND GETKEYS,
// that no command the store sends touches more than one key (cluster-safe).
func TestStore_singleKeyCommands(t *testing.T) {
	ctx := context.Background()
	srv := redisserver.Start(t)
	raw := newRaw(t, srv)
	c, err := redis.NewClient(srv.URL())
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	rec := &recorder{}
	c.AddHook(rec)
	s := redis.New(c, "t:")

	t.Run("IsDeniedOne", func(t *testing.T) {
		rec.reset()
		_, err := s.IsDenied(ctx, "j")
		require.NoError(t, err)
		single, pipes := rec.reset()
		require.Len(t, single, 1)
		assert.Equal(t, []any{"exists", "t:deny:j"}, single[0])
		assert.Empty(t, pipes)
	})
	t.Run("IsDeniedMany", func(t *testing.T) {
		rec.reset()
		_, err := s.IsDenied(ctx, "j", "t", "u")
		require.NoError(t, err)
		single, pipes := rec.reset()
		assert.Empty(t, single)
		require.Len(t, pipes, 1)
		assert.Equal(t, [][]any{{"exists", "t:deny:j"}, {"exists", "t:deny:t"}, {"exists", "t:deny:u"}}, pipes[0])
	})

	rec.reset()
	require.NoError(t, s.CreateClient(ctx, sample("a")))
	require.NoError(t, s.CreateClient(ctx, sample("b")))
	require.ErrorIs(t, s.CreateClient(ctx, sample("a")), clients.ErrAlreadyExists)
	_, err = s.GetClient(ctx, "a")
	require.NoError(t, err)
	_, err = s.ListClients(ctx)
	require.NoError(t, err)
	require.NoError(t, s.UpdateClient(ctx, sample("a")))
	require.NoError(t, s.DeleteClient(ctx, "a"))
	require.NoError(t, s.Deny(ctx, "j", time.Now().Add(time.Hour)))
	require.NoError(t, s.Deny(ctx, "j", time.Time{}))
	_, err = s.IsDenied(ctx, "j", "k")
	require.NoError(t, err)
	require.NoError(t, s.SetCutoff(ctx, "sub:a", time.Now()))
	_, err = s.LatestCutoff(ctx, "sub:a")
	require.NoError(t, err)
	_, err = s.LatestCutoff(ctx, "sub:a", "client:c")
	require.NoError(t, err)
	require.NoError(t, s.Ping(ctx))

	single, pipes := rec.reset()
	all := single
	for _, p := range pipes {
		all = append(all, p...)
	}
	seen := map[string]bool{}
	for _, args := range all {
		seen[name(args)] = true
		if name(args) == "ping" {
			continue
		}
		if name(args) == "publish" {
			// A channel, not a key (cluster-wide in Redis Cluster); still prefixed.
			assert.True(t, strings.HasPrefix(fmt.Sprint(args[1]), "t:"), "%v: channel has the prefix", args)
			continue
		}
		keys, err := raw.CommandGetKeys(ctx, args...).Result()
		require.NoError(t, err, "COMMAND GETKEYS %v", args)
		assert.Len(t, keys, 1, "%v touches exactly one key", args)
		for _, k := range keys {
			assert.True(t, strings.HasPrefix(k, "t:"), "%v: key %q has the prefix", args, k)
		}
	}
	assert.True(t, seen["evalsha"], "Deny runs its script with EVALSHA: %v", seen)
	assert.False(t, seen["multi"] || seen["mget"] || seen["keys"] || seen["scan"], "%v", seen)
}

func TestNewClient(t *testing.T) {
	srv := redisserver.Start(t)

	t.Run("OK", func(t *testing.T) {
		c, err := redis.NewClient(srv.URL())
		require.NoError(t, err)
		defer c.Close()
		require.NoError(t, c.Ping(context.Background()).Err())
		_, single := c.(*goredis.Client)
		assert.True(t, single, "a redis:// URL gives a single-node client")
	})
	t.Run("TLS", func(t *testing.T) {
		c, err := redis.NewClient("rediss://user:pw@redis.example:6380/2")
		require.NoError(t, err)
		defer c.Close()
		opts := c.(*goredis.Client).Options()
		assert.NotNil(t, opts.TLSConfig)
		assert.Equal(t, "redis.example:6380", opts.Addr)
		assert.Equal(t, 2, opts.DB)
	})
	for _, tc := range []struct{ name, url string }{
		{"ErrScheme", "http://user:hunter2@localhost:6379"},
		{"ErrDB", "redis://user:hunter2@localhost:6379/notanumber"},
		{"ErrPort", "redis://user:hunter2@localhost:port/0"},
		{"ErrEmpty", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := redis.NewClient(tc.url)
			require.Error(t, err)
			assert.NotContains(t, err.Error(), "hunter2", "errors never echo the password")
		})
	}
}
