package redis_test

import (
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sigil-dev/sigil/internal/store/redis"
)

func TestParseClusterURL(t *testing.T) {
	t.Run("SeedList", func(t *testing.T) {
		o, err := redis.ParseClusterURL("redis+cluster://u:pw@10.0.0.1:7000,10.0.0.2:7001,node-3:7002?dial_timeout=2s&max_retries=1")
		require.NoError(t, err)
		assert.Equal(t, []string{"10.0.0.1:7000", "10.0.0.2:7001", "node-3:7002"}, o.Addrs)
		assert.Equal(t, "u", o.Username)
		assert.Equal(t, "pw", o.Password)
		assert.Equal(t, 2*time.Second, o.DialTimeout)
		assert.Equal(t, 1, o.MaxRetries)
		assert.Nil(t, o.TLSConfig)
	})
	t.Run("OneSeedAndAddr", func(t *testing.T) {
		o, err := redis.ParseClusterURL("redis+cluster://h1:7000/?addr=[::1]:7001")
		require.NoError(t, err)
		assert.Equal(t, []string{"h1:7000", "[::1]:7001"}, o.Addrs)
	})
	t.Run("DB0", func(t *testing.T) {
		o, err := redis.ParseClusterURL("redis+cluster://h1:7000/0")
		require.NoError(t, err)
		assert.Equal(t, []string{"h1:7000"}, o.Addrs)
	})
	t.Run("TLS", func(t *testing.T) {
		o, err := redis.ParseClusterURL("rediss+cluster://h1:7000,h2:7000")
		require.NoError(t, err)
		require.NotNil(t, o.TLSConfig)
		assert.Equal(t, "h1", o.TLSConfig.ServerName)
	})
	for _, tc := range []struct{ name, url, want string }{
		{"ErrDB", "redis+cluster://u:hunter2@h1:7000/3", "only database 0"},
		{"ErrSeedNoPort", "redis+cluster://u:hunter2@h1:7000,h2", "invalid port"},
		{"ErrSeedNoPortLast", "redis+cluster://u:hunter2@h1,h2:7000", `seed "h1"`},
		{"ErrSeedEmpty", "redis+cluster://u:hunter2@h1:7000,,h3:1", `seed ""`},
		{"ErrScheme", "redis+sentinel://u:hunter2@h1:7000", "want redis+cluster"},
		{"ErrOption", "redis+cluster://u:hunter2@h1:7000?no_such=1", "no_such"},
		{"ErrParse", "redis+cluster://u:hunter2@[::1:7000", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := redis.ParseClusterURL(tc.url)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
			assert.NotContains(t, err.Error(), "hunter2", "errors never echo the password")
		})
	}
}

func TestParseSentinelURL(t *testing.T) {
	t.Run("SeedList", func(t *testing.T) {
		o, err := redis.ParseSentinelURL("redis+sentinel://su:spw@s1:26379,s2:26380,s3:26381/2?master_name=mymaster&password=masterpw")
		require.NoError(t, err)
		assert.Equal(t, "mymaster", o.MasterName)
		assert.Equal(t, []string{"s1:26379", "s2:26380", "s3:26381"}, o.SentinelAddrs)
		assert.Equal(t, 2, o.DB)
		assert.Equal(t, "su", o.SentinelUsername)
		assert.Equal(t, "spw", o.SentinelPassword)
		assert.Equal(t, "masterpw", o.Password)
		assert.Nil(t, o.TLSConfig)
	})
	t.Run("MasterAlias", func(t *testing.T) {
		o, err := redis.ParseSentinelURL("rediss+sentinel://s1:26379?master=mymaster")
		require.NoError(t, err)
		assert.Equal(t, "mymaster", o.MasterName)
		assert.Equal(t, []string{"s1:26379"}, o.SentinelAddrs)
		require.NotNil(t, o.TLSConfig)
	})
	for _, tc := range []struct{ name, url, want string }{
		{"ErrNoMaster", "redis+sentinel://u:hunter2@s1:26379", "master_name is required"},
		{"ErrBothMasters", "redis+sentinel://u:hunter2@s1:26379?master=a&master_name=b", "not both"},
		{"ErrSeed", "redis+sentinel://u:hunter2@s1,s2:26379?master=m", `seed "s1"`},
		{"ErrDB", "redis+sentinel://u:hunter2@s1:26379/x?master=m", "database"},
		{"ErrScheme", "redis://u:hunter2@s1:26379?master=m", "want redis+sentinel"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := redis.ParseSentinelURL(tc.url)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
			assert.NotContains(t, err.Error(), "hunter2", "errors never echo the password")
		})
	}
}

func TestNewClient_topologies(t *testing.T) {
	t.Run("Cluster", func(t *testing.T) {
		c, err := redis.NewClient("redis+cluster://127.0.0.1:1,127.0.0.1:2")
		require.NoError(t, err)
		defer c.Close()
		cc, ok := c.(*goredis.ClusterClient)
		require.True(t, ok, "a redis+cluster:// URL gives a cluster client, got %T", c)
		assert.Equal(t, []string{"127.0.0.1:1", "127.0.0.1:2"}, cc.Options().Addrs)
		assert.True(t, cc.Options().ContextTimeoutEnabled, "calls end at their context's deadline")
	})
	t.Run("Sentinel", func(t *testing.T) {
		c, err := redis.NewClient("redis+sentinel://127.0.0.1:1,127.0.0.1:2?master=m")
		require.NoError(t, err)
		defer c.Close()
		fc, ok := c.(*goredis.Client)
		require.True(t, ok, "a redis+sentinel:// URL gives a failover client (*redis.Client), got %T", c)
		assert.True(t, fc.Options().ContextTimeoutEnabled, "calls end at their context's deadline")
	})
	t.Run("Single", func(t *testing.T) {
		c, err := redis.NewClient("redis://127.0.0.1:1/0")
		require.NoError(t, err)
		defer c.Close()
		assert.True(t, c.(*goredis.Client).Options().ContextTimeoutEnabled, "calls end at their context's deadline")
	})
	t.Run("ValidScheme", func(t *testing.T) {
		for _, s := range []string{"redis", "rediss", "redis+cluster", "rediss+cluster", "redis+sentinel", "rediss+sentinel"} {
			assert.True(t, redis.ValidScheme(s), s)
		}
		for _, s := range []string{"", "http", "redis+unix", "unix", "REDIS"} {
			assert.False(t, redis.ValidScheme(s), s)
		}
	})
	for _, tc := range []struct{ name, url string }{
		{"ErrClusterSeed", "redis+cluster://u:hunter2@h1"},
		{"ErrSentinelMaster", "redis+sentinel://u:hunter2@h1:26379"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := redis.NewClient(tc.url)
			require.Error(t, err)
			assert.NotContains(t, err.Error(), "hunter2")
		})
	}
}
