package redis_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	goredis "github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sigil-dev/sigil/internal/registry"
	"github.com/sigil-dev/sigil/internal/store/redis"
	"github.com/sigil-dev/sigil/test/redisserver"
)

// TestMigrateRegistry: a Redis left by the sigil before issue 14 (layout
// 1: version-1 records, a case-sensitive name claim for every record under
// recname:, no creator index) is brought to layout 2 once, and reads as
// the current store expects.
func TestMigrateRegistry(t *testing.T) {
	ctx := context.Background()
	srv := redisserver.Start(t)
	raw := newRaw(t, srv)
	// Layout 1, as the old store wrote it.
	legacy := []struct{ id, typ, name, owner, report, createdBy string }{
		{"a1", "api", "CI", "alice", "", "host"},
		{"a2", "api", "ci", "alice", "", "host"}, // a case variant: claims nothing now
		{"a3", "api", "deploy", "bob", "", "admin"},
		{"r1", "report", "Board link", "informer", "q3", "informer"},
	}
	for i, l := range legacy {
		rep := ""
		if l.report != "" {
			rep = `,"reportId":"` + l.report + `"`
		}
		v := fmt.Sprintf(`{"v":1,"id":%q,"type":%q,"name":%q,"owner":%q%s,"scopes":[],"readOnly":false,"cloud":false,"status":"not-generated","createdAt":"2030-01-02T03:04:0%dZ","expiresAt":null,"generatedAt":null,"lastUsedAt":null,"createdBy":%q}`,
			l.id, l.typ, l.name, l.owner, rep, i, l.createdBy)
		require.NoError(t, raw.Set(ctx, "m:rec:"+l.id, v, 0).Err())
		score := float64(t0.Add(0).UnixMilli() + int64(i))
		require.NoError(t, raw.ZAdd(ctx, "m:recidx:all", goredis.Z{Score: score, Member: l.id}).Err())
		require.NoError(t, raw.ZAdd(ctx, "m:recidx:owner:"+l.owner, goredis.Z{Score: score, Member: l.id}).Err())
		require.NoError(t, raw.Set(ctx, fmt.Sprintf("m:recname:%d:%s:%s", len(l.owner), l.owner, l.name), l.id, 0).Err())
	}
	require.NoError(t, raw.ZAdd(ctx, "m:recidx:all", goredis.Z{Score: 1, Member: "gone"}).Err(), "a stale index entry")
	s := redis.New(raw, "m:")

	n, err := s.MigrateRegistry(ctx)
	require.NoError(t, err)
	assert.Equal(t, 4, n)
	layout, err := raw.Get(ctx, "m:reglayout").Result()
	require.NoError(t, err)
	assert.Equal(t, "3", layout)

	old, err := raw.Keys(ctx, "m:recname:*").Result()
	require.NoError(t, err)
	assert.Empty(t, old, "layout 1's claims are freed")
	claims, err := raw.Keys(ctx, "m:apiname:*").Result()
	require.NoError(t, err)
	assert.ElementsMatch(t, []string{"m:apiname:5:alice:ci", "m:apiname:3:bob:deploy"}, claims)
	holder, err := raw.Get(ctx, "m:apiname:5:alice:ci").Result()
	require.NoError(t, err)
	assert.Equal(t, "a1", holder, "the first of two case variants")

	page, _, err := s.ListRecords(ctx, registry.Filter{CreatedBy: "host"})
	require.NoError(t, err)
	assert.Equal(t, []string{"a2", "a1"}, ids(page), "the creator index is filled")
	page, _, err = s.ListRecords(ctx, registry.Filter{CreatedBy: "informer"})
	require.NoError(t, err)
	assert.Equal(t, []string{"r1"}, ids(page))

	// Names behave as layout 2 says: case-insensitive, API tokens only.
	dup := sampleRecord("a4")
	dup.Type, dup.ReportID, dup.Owner, dup.Name = "api", "", "bob", "DEPLOY"
	require.ErrorIs(t, s.CreateRecord(ctx, dup), registry.ErrNameTaken)
	rep := sampleRecord("r2")
	rep.Owner, rep.Name = "informer", "Board link"
	require.NoError(t, s.CreateRecord(ctx, rep), "report links share names")

	// Once only: a second run visits nothing.
	require.NoError(t, raw.Del(ctx, "m:recidx:creator:host").Err())
	n, err = s.MigrateRegistry(ctx)
	require.NoError(t, err)
	assert.Zero(t, n)
	empty, err := raw.Exists(ctx, "m:recidx:creator:host").Result()
	require.NoError(t, err)
	assert.Zero(t, empty)
}

func ids(rs []registry.Record) []string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = r.ID
	}
	return out
}

// TestMigrateRegistry_Layout2: layout 2 claimed API names by their lower
// case; layout 3 by registry.NameKey (NFKC case fold). A non-ASCII name's
// claim is moved to the new key, an ASCII one stays where it is, and the
// moved names are then unique under the fold.
func TestMigrateRegistry_Layout2(t *testing.T) {
	ctx := context.Background()
	srv := redisserver.Start(t)
	raw := newRaw(t, srv)
	s := redis.New(raw, "m:")
	for _, r := range []struct{ id, name string }{{"a1", "CI"}, {"a2", "Straße"}, {"a3", "Ｄｕｐ"}} {
		rec := sampleRecord(r.id)
		rec.Type, rec.ReportID, rec.Name = "api", "", r.name
		require.NoError(t, s.CreateRecord(ctx, rec))
		// As layout 2 wrote the claim: lower case.
		require.NoError(t, raw.Del(ctx, "m:apiname:5:alice:"+registry.NameKey(r.name)).Err())
		require.NoError(t, raw.Set(ctx, "m:apiname:5:alice:"+strings.ToLower(r.name), r.id, 0).Err())
	}
	require.NoError(t, raw.Set(ctx, "m:reglayout", "2", 0).Err())

	n, err := s.MigrateRegistry(ctx)
	require.NoError(t, err)
	assert.Equal(t, 3, n)
	claims, err := raw.Keys(ctx, "m:apiname:*").Result()
	require.NoError(t, err)
	assert.ElementsMatch(t, []string{"m:apiname:5:alice:ci", "m:apiname:5:alice:strasse", "m:apiname:5:alice:dup"}, claims)
	for _, dup := range []string{"STRASSE", "dup", "ＣＩ"} {
		rec := sampleRecord("x-" + dup)
		rec.Type, rec.ReportID, rec.Name = "api", "", dup
		require.ErrorIs(t, s.CreateRecord(ctx, rec), registry.ErrNameTaken, dup)
	}
	layout, err := raw.Get(ctx, "m:reglayout").Result()
	require.NoError(t, err)
	assert.Equal(t, "3", layout)
}
