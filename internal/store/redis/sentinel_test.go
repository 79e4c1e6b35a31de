package redis_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/sigil-dev/sigil/internal/registry"
	"github.com/sigil-dev/sigil/internal/store/redis"
	"github.com/sigil-dev/sigil/internal/store/storetest"
	"github.com/sigil-dev/sigil/test/redisserver"
)

// TestSentinel runs the contract suites through the client that a
// redis+sentinel:// URL gives, against a real master found through two
// real sentinels.
func TestSentinel(t *testing.T) {
	master := redisserver.Start(t)
	url := redisserver.SentinelURL("mymaster",
		redisserver.StartSentinel(t, master, "mymaster"), redisserver.StartSentinel(t, master, "mymaster"))
	c, err := redis.NewClient(url)
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })

	t.Run("Contract", func(t *testing.T) {
		storetest.Run(t, func(t *testing.T, now func() time.Time) storetest.Store {
			prefix := "test:" + t.Name() + ":"
			return &ttlStore{Store: redis.New(c, prefix, redis.WithNow(now)), raw: c, prefix: prefix}
		})
	})
	t.Run("RegistryContract", func(t *testing.T) {
		storetest.RunRegistry(t, func(t *testing.T, now func() time.Time) registry.Store {
			return redis.New(c, "test:"+t.Name()+":", redis.WithNow(now))
		})
	})
	// The suites wrote to the master the sentinels name.
	n, err := newRaw(t, master).DBSize(t.Context()).Result()
	require.NoError(t, err)
	require.Positive(t, n)
}
