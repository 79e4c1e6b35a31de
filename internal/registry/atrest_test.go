package registry_test

import (
	"context"
	"strings"
	"testing"

	goredis "github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sigil-dev/sigil/internal/registry"
	"github.com/sigil-dev/sigil/internal/store/redis"
	"github.com/sigil-dev/sigil/internal/token"
	"github.com/sigil-dev/sigil/test/redisserver"
)

// TestService_atRest_redis checks what Redis holds for a record: never the
// JWT in the clear, with reveal off or on, while reveal still round-trips.
func TestService_atRest_redis(t *testing.T) {
	ctx := context.Background()
	srv := redisserver.Start(t)
	raw := goredis.NewClient(&goredis.Options{Addr: srv.Addr()})
	t.Cleanup(func() { _ = raw.Close() })

	for name, sealer := range map[string][]byte{"RevealOff": nil, "RevealOn": []byte("0123456789abcdef0123456789abcdef")} {
		t.Run(name, func(t *testing.T) {
			prefix := "t:" + name + ":"
			st := redis.New(raw, prefix)
			f := newFixture(t, func(cfg *registry.ServiceConfig) {
				cfg.Store = st
				cfg.Sealer = sealer
			})
			rec, jwt, err := f.svc.Create(ctx, admin, registry.CreateInput{Type: token.KindReport, ReportID: "r1", ExpiresIn: "7d"})
			require.NoError(t, err)

			keys, err := raw.Keys(ctx, prefix+"*").Result()
			require.NoError(t, err)
			require.NotEmpty(t, keys)
			for _, k := range keys {
				var vals []string
				switch typ := raw.Type(ctx, k).Val(); typ {
				case "string":
					vals = []string{raw.Get(ctx, k).Val()}
				case "list":
					vals = raw.LRange(ctx, k, 0, -1).Val()
				case "zset":
					vals = raw.ZRange(ctx, k, 0, -1).Val()
				case "set":
					vals = raw.SMembers(ctx, k).Val()
				default:
					t.Fatalf("key %s of type %s", k, typ)
				}
				assert.NotContains(t, k, jwt)
				for _, v := range vals {
					assert.NotContains(t, v, jwt, "key %s holds the JWT", k)
					for _, seg := range strings.Split(jwt, ".")[1:] {
						assert.NotContains(t, v, seg, "key %s holds a JWT segment", k)
					}
				}
			}

			stored, err := st.GetRecord(ctx, rec.ID)
			require.NoError(t, err)
			assert.Equal(t, rec.JTI, stored.JTI)
			got, err := f.svc.RevealToken(stored)
			require.NoError(t, err)
			if sealer == nil {
				assert.Empty(t, got)
				assert.Nil(t, stored.Sealed)
			} else {
				assert.Equal(t, jwt, got, "sealed at rest, revealed on demand")
			}
		})
	}
}
