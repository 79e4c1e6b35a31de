package redis_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sigil-dev/sigil/internal/apperr"
	"github.com/sigil-dev/sigil/internal/registry"
	"github.com/sigil-dev/sigil/internal/store/redis"
	"github.com/sigil-dev/sigil/internal/store/storetest"
	"github.com/sigil-dev/sigil/internal/token"
	"github.com/sigil-dev/sigil/test/redisserver"
)

func TestRegistry_Contract(t *testing.T) {
	srv := redisserver.Start(t)
	raw := newRaw(t, srv)
	storetest.RunRegistry(t, func(t *testing.T, now func() time.Time) registry.Store {
		return redis.New(raw, "test:"+t.Name()+":", redis.WithNow(now))
	})
	keys, err := raw.Keys(context.Background(), "*").Result()
	require.NoError(t, err)
	for _, k := range keys {
		assert.True(t, strings.HasPrefix(k, "test:TestRegistry_Contract/"), "key %q outside the test prefixes", k)
	}
}

func sampleRecord(id string) registry.Record {
	exp := t0.Add(time.Hour)
	return registry.Record{
		ID: id, Type: token.KindReport, Name: "n-" + id, Owner: "alice", ReportID: "r1",
		Scopes: []string{}, Status: registry.StatusGeneratedInactive, CreatedAt: t0, ExpiresAt: &exp,
		JTI: "jti-" + id, Sealed: []byte("sealed"),
	}
}

func TestRegistry_keys(t *testing.T) {
	ctx := context.Background()
	srv := redisserver.Start(t)
	raw := newRaw(t, srv)
	s := redis.New(raw, "p:")
	api := sampleRecord("id1")
	api.Type, api.ReportID, api.Name, api.CreatedBy = token.KindAPI, "", "N-id1", "c1"
	require.NoError(t, s.CreateRecord(ctx, api))
	require.NoError(t, s.AppendLogs(ctx, []registry.RecordLog{{RecordID: "id1", Entry: registry.LogEntry{Activity: registry.ActivityCreate, At: t0, By: "c", Result: registry.ResultOK}}}))
	require.NoError(t, s.SetRole(ctx, "alice", registry.RoleAPITokens, true))
	_, err := s.CountFailure(ctx, "client:c1", time.Minute)
	require.NoError(t, err)

	keys, err := raw.Keys(ctx, "*").Result()
	require.NoError(t, err)
	assert.ElementsMatch(t, []string{
		"p:rec:id1", "p:apiname:5:alice:n-id1", "p:recidx:all", "p:recidx:owner:alice", "p:recidx:creator:c1",
		"p:recexp", "p:reclogs:id1", "p:role:api-tokens", "p:fail:client:c1",
	}, keys)

	b, err := raw.Get(ctx, "p:rec:id1").Result()
	require.NoError(t, err)
	assert.Contains(t, b, `"jti":"jti-id1"`, "storage keeps the jti the API hides")
	v, err := raw.Get(ctx, "p:apiname:5:alice:n-id1").Result()
	require.NoError(t, err)
	assert.Equal(t, "id1", v)
	score, err := raw.ZScore(ctx, "p:recidx:all", "id1").Result()
	require.NoError(t, err)
	assert.Equal(t, float64(t0.UnixMilli()), score, "scored by createdAt in ms")
	ttl, err := raw.PTTL(ctx, "p:reclogs:id1").Result()
	require.NoError(t, err)
	assert.Equal(t, time.Duration(-1), ttl, "a live record's log has no TTL")
	ttl, err = raw.PTTL(ctx, "p:fail:client:c1").Result()
	require.NoError(t, err)
	assert.InDelta(t, time.Minute, ttl, float64(5*time.Second), "the failure window")

	require.NoError(t, s.DeleteRecord(ctx, "id1"))
	keys, err = raw.Keys(ctx, "*").Result()
	require.NoError(t, err)
	assert.ElementsMatch(t, []string{"p:role:api-tokens", "p:fail:client:c1"}, keys, "the record, its log, its name and index entries are gone")

	// A report link claims no name, and indexes no creator it has not.
	require.NoError(t, s.CreateRecord(ctx, sampleRecord("rep")))
	keys, err = raw.Keys(ctx, "p:*name*").Result()
	require.NoError(t, err)
	assert.Empty(t, keys)
}

func TestRegistry_staleIndex(t *testing.T) {
	ctx := context.Background()
	srv := redisserver.Start(t)
	raw := newRaw(t, srv)
	s := redis.New(raw, "t:")
	for _, id := range []string{"a", "b", "c"} {
		r := sampleRecord(id)
		require.NoError(t, s.CreateRecord(ctx, r))
	}
	require.NoError(t, raw.Del(ctx, "t:rec:b").Err(), "a record vanished behind its indices (a crash mid-delete)")
	page, next, err := s.ListRecords(ctx, registry.Filter{Limit: 2})
	require.NoError(t, err)
	assert.Len(t, page, 2, "stale entries are skipped and the page filled from further down")
	assert.Empty(t, next)
}

func TestRegistry_unavailable(t *testing.T) {
	ctx := context.Background()
	srv := redisserver.Start(t)
	s := redis.New(newRaw(t, srv), "t:")
	require.NoError(t, s.CreateRecord(ctx, sampleRecord("a")))
	srv.Stop()

	assertDown := func(t *testing.T, err error) {
		t.Helper()
		require.Error(t, err)
		assert.ErrorIs(t, err, apperr.ErrStoreUnavailable)
		assert.NotErrorIs(t, err, registry.ErrNotFound)
		assert.NotErrorIs(t, err, registry.ErrNameTaken)
	}
	rec := sampleRecord("a")
	t.Run("CreateRecord", func(t *testing.T) { assertDown(t, s.CreateRecord(ctx, sampleRecord("b"))) })
	t.Run("GetRecord", func(t *testing.T) {
		_, err := s.GetRecord(ctx, "a")
		assertDown(t, err)
	})
	t.Run("UpdateRecord", func(t *testing.T) { assertDown(t, s.UpdateRecord(ctx, rec)) })
	t.Run("DeleteRecord", func(t *testing.T) { assertDown(t, s.DeleteRecord(ctx, "a")) })
	t.Run("ListRecords", func(t *testing.T) {
		_, _, err := s.ListRecords(ctx, registry.Filter{})
		assertDown(t, err)
	})
	t.Run("AppendLogs", func(t *testing.T) {
		assertDown(t, s.AppendLogs(ctx, []registry.RecordLog{{RecordID: "a", Entry: registry.LogEntry{Activity: "CREATE"}}}))
	})
	t.Run("ListLogs", func(t *testing.T) {
		_, _, err := s.ListLogs(ctx, "a", 10, "")
		assertDown(t, err)
	})
	t.Run("MarkUsed", func(t *testing.T) { assertDown(t, s.MarkUsed(ctx, []registry.Use{{RecordID: "a", At: t0}})) })
	t.Run("SetRole", func(t *testing.T) { assertDown(t, s.SetRole(ctx, "alice", "r", true)) })
	t.Run("HasRole", func(t *testing.T) {
		_, err := s.HasRole(ctx, "alice", "r")
		assertDown(t, err)
	})
	t.Run("EndedBefore", func(t *testing.T) {
		_, err := s.EndedBefore(ctx, t0, 10)
		assertDown(t, err)
	})
	t.Run("MigrateRegistry", func(t *testing.T) {
		_, err := s.MigrateRegistry(ctx)
		assertDown(t, err)
	})
	t.Run("CountFailure", func(t *testing.T) {
		_, err := s.CountFailure(ctx, "k", time.Minute)
		assertDown(t, err)
	})
}

// TestRegistry_singleKeyCommands checks, with the server's own COMMAND
// GETKEYS, that every command of the registry methods touches exactly one
// key, and that every MULTI block stays on one key (cluster-safe).
func TestRegistry_singleKeyCommands(t *testing.T) {
	ctx := context.Background()
	srv := redisserver.Start(t)
	raw := newRaw(t, srv)
	c, err := redis.NewClient(srv.URL())
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	rec := &recorder{}
	c.AddHook(rec)
	s := redis.New(c, "t:")

	a, b := sampleRecord("a"), sampleRecord("b")
	a.AppID, a.ReportID, a.Type = "app1", "", token.KindAppView
	require.NoError(t, s.CreateRecord(ctx, a))
	require.NoError(t, s.CreateRecord(ctx, b))
	api := sampleRecord("c")
	api.Type, api.ReportID, api.CreatedBy = token.KindAPI, "", "client"
	require.NoError(t, s.CreateRecord(ctx, api))
	dup := api
	dup.ID = "c2"
	require.ErrorIs(t, s.CreateRecord(ctx, dup), registry.ErrNameTaken)
	api.Name = "renamed-c"
	require.NoError(t, s.UpdateRecord(ctx, api))
	api.Status = registry.StatusRevoked
	require.NoError(t, s.UpdateRecord(ctx, api))
	_, err = s.MigrateRegistry(ctx)
	require.NoError(t, err)
	_, err = s.GetRecord(ctx, "a")
	require.NoError(t, err)
	a.Name = "renamed"
	a.ExpiresAt = nil
	require.NoError(t, s.UpdateRecord(ctx, a))
	for _, f := range []registry.Filter{{}, {Limit: 1}, {ReportID: "r1"}, {AppID: "app1"}, {Owner: "alice", Status: "x"}, {CreatedBy: "client"}} {
		_, next, err := s.ListRecords(ctx, f)
		require.NoError(t, err)
		if next != "" {
			f.Cursor = next
			_, _, err = s.ListRecords(ctx, f)
			require.NoError(t, err)
		}
	}
	entry := registry.LogEntry{Activity: registry.ActivityCreate, At: t0, By: "c", Result: registry.ResultOK}
	require.NoError(t, s.AppendLogs(ctx, []registry.RecordLog{{RecordID: "a", Entry: entry}, {RecordID: "b", Entry: entry}, {RecordID: "gone", Entry: entry}}))
	_, next, err := s.ListLogs(ctx, "a", 1, "")
	require.NoError(t, err)
	_, _, err = s.ListLogs(ctx, "a", 1, next)
	require.NoError(t, err)
	require.NoError(t, s.MarkUsed(ctx, []registry.Use{{RecordID: "a", At: t0}, {RecordID: "b", At: t0}, {RecordID: "gone", At: t0}}))
	require.NoError(t, s.SetRole(ctx, "alice", registry.RoleAPITokens, true))
	require.NoError(t, s.SetRole(ctx, "alice", registry.RoleAPITokens, false))
	_, err = s.HasRole(ctx, "alice", registry.RoleAPITokens)
	require.NoError(t, err)
	_, err = s.EndedBefore(ctx, t0.Add(time.Hour), 10)
	require.NoError(t, err)
	_, err = s.CountFailure(ctx, "client:c", time.Minute)
	require.NoError(t, err)
	require.NoError(t, s.DeleteRecord(ctx, "a"))
	require.NoError(t, s.DeleteRecord(ctx, "b"))

	single, pipes := rec.reset()
	seen := map[string]bool{}
	check := func(args []any) string {
		t.Helper()
		seen[name(args)] = true
		switch name(args) {
		case "multi", "exec", "unwatch", "discard":
			return ""
		}
		keys, err := raw.CommandGetKeys(ctx, args...).Result()
		require.NoError(t, err, "COMMAND GETKEYS %v", args)
		require.Len(t, keys, 1, "%v touches exactly one key", args)
		assert.True(t, strings.HasPrefix(keys[0], "t:"), "%v: key %q has the prefix", args, keys[0])
		return keys[0]
	}
	for _, args := range single {
		check(args)
	}
	for _, p := range pipes {
		inMulti := false
		txKey := ""
		for _, args := range p {
			switch name(args) {
			case "multi":
				inMulti, txKey = true, ""
			case "exec":
				inMulti = false
			}
			k := check(args)
			if inMulti && k != "" {
				if txKey == "" {
					txKey = k
				}
				assert.Equal(t, txKey, k, "a MULTI block stays on one key: %v", p)
			}
		}
	}
	assert.True(t, seen["evalsha"], "scripts run with EVALSHA: %v", seen)
	assert.True(t, seen["watch"] && seen["multi"], "updates are optimistic transactions: %v", seen)
	assert.False(t, seen["mget"] || seen["keys"] || seen["scan"] || seen["rename"], "%v", seen)
}
