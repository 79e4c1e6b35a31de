package redis_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sigil-dev/sigil/internal/console"
	"github.com/sigil-dev/sigil/internal/store/redis"
	"github.com/sigil-dev/sigil/internal/store/storetest"
	"github.com/sigil-dev/sigil/test/redisserver"
)

func TestSessions_Contract(t *testing.T) {
	srv := redisserver.Start(t)
	raw := newRaw(t, srv)
	storetest.RunSessions(t, func(t *testing.T, now func() time.Time) console.Store {
		return redis.New(raw, "test:"+t.Name()+":", redis.WithNow(now))
	})
}

// TestSessions_keys: a session is one key named by the id's hash, with a
// TTL to its expiry, and holds no secret.
func TestSessions_keys(t *testing.T) {
	ctx := context.Background()
	srv := redisserver.Start(t)
	raw := newRaw(t, srv)
	s := redis.New(raw, "p:")
	now := time.Now().UTC().Truncate(time.Second)
	require.NoError(t, s.CreateSession(ctx, console.Session{ID: "abc123", ClientID: "c1", SecretTag: []byte{1},
		CreatedAt: now, LastSeen: now, ExpiresAt: now.Add(30 * time.Minute)}, 0))
	keys, err := raw.Keys(ctx, "*").Result()
	require.NoError(t, err)
	assert.Equal(t, []string{"p:session:abc123"}, keys)
	ttl, err := raw.TTL(ctx, "p:session:abc123").Result()
	require.NoError(t, err)
	assert.True(t, ttl > 29*time.Minute && ttl <= 30*time.Minute, "TTL %v, want about 30m", ttl)
	v, err := raw.Get(ctx, "p:session:abc123").Result()
	require.NoError(t, err)
	assert.False(t, strings.Contains(v, "secretHash"), "no secret hash stored: %s", v)
}
