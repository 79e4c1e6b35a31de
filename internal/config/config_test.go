package config_test

import (
	"bytes"
	"encoding/hex"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/sigil-dev/sigil/internal/config"
)

func TestLoad_OK(t *testing.T) {
	t.Run("Defaults", func(t *testing.T) {
		cfg, err := config.Load("", nil)
		require.NoError(t, err)
		require.Equal(t, "127.0.0.1:8080", cfg.Addr)
		require.Equal(t, "http://127.0.0.1:8080", cfg.Issuer)
		require.Equal(t, "keys", cfg.Keys.Dir)
		require.Empty(t, cfg.Redis.URL)
		require.Equal(t, time.Hour, cfg.Tokens.EmbedDefaultExpiry)
	})
	t.Run("FileThenEnv", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "sigil.yaml")
		require.NoError(t, os.WriteFile(path, []byte("addr: 127.0.0.1:9000\naudience: from-file\ntokens:\n  leeway: 10s\n"), 0o600))
		cfg, err := config.Load(path, []string{
			"SIGIL_AUDIENCE=from-env", "SIGIL_KEYS_DIR=/tmp/k", "SIGIL_ISSUER=https://sigil.example.com",
			"SIGIL_REDIS_URL=redis://127.0.0.1:6379/0", "SIGIL_PEPPER=0123456789abcdef0123456789abcdef",
			"SIGIL_ADMIN_SECRET=admin-secret-long-enough",
		})
		require.NoError(t, err)
		require.Equal(t, "127.0.0.1:9000", cfg.Addr)
		require.Equal(t, "from-env", cfg.Audience)
		require.Equal(t, "/tmp/k", cfg.Keys.Dir)
		require.Equal(t, "https://sigil.example.com", cfg.Issuer)
		require.Equal(t, "redis://127.0.0.1:6379/0", cfg.Redis.URL)
		require.Equal(t, 10*time.Second, cfg.Tokens.Leeway)
		require.Equal(t, "admin-secret-long-enough", cfg.AdminSecret)
	})
	t.Run("RedisTopologies", func(t *testing.T) {
		for _, u := range []string{
			"redis+cluster://127.0.0.1:7000,127.0.0.1:7001,127.0.0.1:7002",
			"rediss+cluster://h1:7000,h2:7000",
			"redis+sentinel://s1:26379,s2:26379/0?master=mymaster",
			"rediss+sentinel://s1:26379?master_name=mymaster",
		} {
			cfg, err := config.Load("", []string{"SIGIL_REDIS_URL=" + u, "SIGIL_PEPPER=0123456789abcdef0123456789abcdef"})
			require.NoError(t, err, u)
			require.Equal(t, u, cfg.Redis.URL)
		}
	})
	t.Run("SecretFromFile", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "admin")
		require.NoError(t, os.WriteFile(path, []byte("admin-secret-from-file\n"), 0o600))
		cfg, err := config.Load("", []string{"SIGIL_ADMIN_SECRET_FILE=" + path})
		require.NoError(t, err)
		require.Equal(t, "admin-secret-from-file", cfg.AdminSecret)
	})
	t.Run("EmptyFile", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "empty.yaml")
		require.NoError(t, os.WriteFile(path, nil, 0o600))
		_, err := config.Load(path, nil)
		require.NoError(t, err)
	})
	t.Run("RegistryAndAuthDefaults", func(t *testing.T) {
		cfg, err := config.Load("", nil)
		require.NoError(t, err)
		require.False(t, cfg.Registry.RevealTokens)
		require.Nil(t, cfg.Registry.RevealKey)
		require.Equal(t, time.Hour, cfg.Registry.JanitorInterval)
		require.Empty(t, cfg.Registry.Scopes)
		require.Equal(t, 10, cfg.Auth.MaxFailures)
		require.Equal(t, time.Minute, cfg.Auth.Window)
	})
	t.Run("RevealKeyHex", func(t *testing.T) {
		key := bytes.Repeat([]byte{0xab}, 32)
		path := filepath.Join(t.TempDir(), "reveal")
		require.NoError(t, os.WriteFile(path, []byte(hex.EncodeToString(key)+"\n"), 0o600))
		cfg, err := config.Load("", []string{"SIGIL_REGISTRY_REVEAL_TOKENS=true", "SIGIL_REGISTRY_REVEAL_KEY_FILE=" + path})
		require.NoError(t, err)
		require.True(t, cfg.Registry.RevealTokens)
		require.Equal(t, key, cfg.Registry.RevealKey)
	})
	t.Run("RevealKeyRaw", func(t *testing.T) {
		key := []byte("0123456789abcdef0123456789abcd\n ") // 32 bytes, whitespace included
		path := filepath.Join(t.TempDir(), "reveal")
		require.NoError(t, os.WriteFile(path, key, 0o600))
		cfg, err := config.Load("", []string{"SIGIL_REGISTRY_REVEAL_TOKENS=true", "SIGIL_REGISTRY_REVEAL_KEY_FILE=" + path})
		require.NoError(t, err)
		require.Equal(t, key, cfg.Registry.RevealKey)
	})
	t.Run("RegistryAndAuthFromFileThenEnv", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "sigil.yaml")
		require.NoError(t, os.WriteFile(path, []byte(
			"registry:\n  janitor_interval: 5m\n  scopes:\n    meta:read: Meta Record\n    data:write: Data Write\n"+
				"auth:\n  max_failures: 5\n  window: 30s\n"), 0o600))
		cfg, err := config.Load(path, []string{"SIGIL_AUTH_WINDOW=2m"})
		require.NoError(t, err)
		require.Equal(t, 5*time.Minute, cfg.Registry.JanitorInterval)
		require.Equal(t, map[string]string{"meta:read": "Meta Record", "data:write": "Data Write"}, cfg.Registry.Scopes)
		require.Equal(t, 5, cfg.Auth.MaxFailures)
		require.Equal(t, 2*time.Minute, cfg.Auth.Window)

		cfg, err = config.Load(path, []string{"SIGIL_REGISTRY_SCOPES=report:read=Report Record,x:y=XY"})
		require.NoError(t, err)
		require.Equal(t, map[string]string{"report:read": "Report Record", "x:y": "XY"}, cfg.Registry.Scopes)
	})
	t.Run("ExampleFile", func(t *testing.T) {
		_, err := config.Load("../../configs/sigil.example.yaml", nil)
		require.NoError(t, err)
	})
}

func TestLoad_Err(t *testing.T) {
	tests := []struct {
		name    string
		file    string
		env     []string
		keyFile string // written to a file that SIGIL_REGISTRY_REVEAL_KEY_FILE names
		wantKey string
	}{
		{name: "BadAddr", env: []string{"SIGIL_ADDR=nonsense"}, wantKey: "SIGIL_ADDR"},
		{name: "BadIssuer", env: []string{"SIGIL_ISSUER=not a url"}, wantKey: "issuer"},
		{name: "EmptyAudience", env: []string{"SIGIL_AUDIENCE= "}, wantKey: "audience"},
		{name: "GCHeapFloorNegative", env: []string{"SIGIL_RUNTIME_GC_HEAP_FLOOR_MIB=-1"}, wantKey: "runtime.gc_heap_floor_mib"},
		{name: "GCHeapFloorHuge", env: []string{"SIGIL_RUNTIME_GC_HEAP_FLOOR_MIB=65537"}, wantKey: "runtime.gc_heap_floor_mib"},
		{name: "PprofNotLoopback", env: []string{"SIGIL_DEBUG_PPROF_ADDR=0.0.0.0:6060"}, wantKey: "debug.pprof_addr"},
		{name: "PprofAllInterfaces", env: []string{"SIGIL_DEBUG_PPROF_ADDR=:6060"}, wantKey: "debug.pprof_addr"},
		{name: "PprofPublicHost", env: []string{"SIGIL_DEBUG_PPROF_ADDR=example.com:6060"}, wantKey: "debug.pprof_addr"},
		{name: "PprofNoPort", env: []string{"SIGIL_DEBUG_PPROF_ADDR=127.0.0.1"}, wantKey: "debug.pprof_addr"},
		{name: "PprofOnAddr", env: []string{"SIGIL_ADDR=127.0.0.1:8080", "SIGIL_DEBUG_PPROF_ADDR=127.0.0.1:8080"}, wantKey: "debug.pprof_addr"},
		{name: "BadRedisScheme", env: []string{"SIGIL_REDIS_URL=http://x", "SIGIL_PEPPER=0123456789abcdef0123456789abcdef"}, wantKey: "redis.url"},
		{name: "BadRedisSchemeUnix", env: []string{"SIGIL_REDIS_URL=unix:///tmp/redis.sock", "SIGIL_PEPPER=0123456789abcdef0123456789abcdef"}, wantKey: "redis.url"},
		{name: "RedisWithoutPepper", env: []string{"SIGIL_REDIS_URL=redis://127.0.0.1:6379"}, wantKey: "pepper"},
		{name: "ShortAdminSecret", env: []string{"SIGIL_ADMIN_SECRET=short"}, wantKey: "admin_secret"},
		{name: "LeewayTooBig", env: []string{"SIGIL_TOKENS_LEEWAY=6m"}, wantKey: "tokens.leeway"},
		{name: "DefaultOverMax", env: []string{"SIGIL_TOKENS_EMBED_DEFAULT_EXPIRY=48h"}, wantKey: "tokens.embed_default_expiry"},
		{name: "DurationGarbage", env: []string{"SIGIL_TOKENS_LEEWAY=soon"}, wantKey: "SIGIL_TOKENS_LEEWAY"},
		{name: "BadRevocationMode", env: []string{"SIGIL_REVOCATION_MODE=sometimes"}, wantKey: "revocation.mode"},
		{name: "NegativeCache", env: []string{"SIGIL_TOKENS_CACHE_SIZE=-1"}, wantKey: "tokens.cache_size"},
		{name: "TinyStaleness", env: []string{"SIGIL_REVOCATION_MAX_STALENESS=10ms"}, wantKey: "revocation.max_staleness"},
		{name: "BadMode", env: []string{"SIGIL_MODE=test"}, wantKey: "mode"},
		{name: "BadLogLevel", env: []string{"SIGIL_LOG_LEVEL=loud"}, wantKey: "log.level"},
		{name: "UnknownFileKey", file: "adress: 127.0.0.1:1\n", wantKey: "adress"},
		{name: "MissingSecretFile", env: []string{"SIGIL_PEPPER_FILE=/nonexistent/pepper"}, wantKey: "pepper_file"},
		{name: "RevealWithoutKey", env: []string{"SIGIL_REGISTRY_REVEAL_TOKENS=true"}, wantKey: "registry.reveal_key_file"},
		{name: "RevealKeyMissingFile", env: []string{"SIGIL_REGISTRY_REVEAL_TOKENS=true", "SIGIL_REGISTRY_REVEAL_KEY_FILE=/nonexistent/key"}, wantKey: "registry.reveal_key_file"},
		{name: "RevealKeyShort", keyFile: "00112233", env: []string{"SIGIL_REGISTRY_REVEAL_TOKENS=true"}, wantKey: "registry.reveal_key_file"},
		{name: "RevealKeyNotHex", keyFile: strings.Repeat("zz", 32), env: []string{"SIGIL_REGISTRY_REVEAL_TOKENS=true"}, wantKey: "registry.reveal_key_file"},
		{name: "RevealTokensGarbage", env: []string{"SIGIL_REGISTRY_REVEAL_TOKENS=perhaps"}, wantKey: "SIGIL_REGISTRY_REVEAL_TOKENS"},
		{name: "TinyJanitorInterval", env: []string{"SIGIL_REGISTRY_JANITOR_INTERVAL=10ms"}, wantKey: "registry.janitor_interval"},
		{name: "BadScopeName", file: "registry:\n  scopes:\n    \"-bad scope\": Bad\n", wantKey: "registry.scopes"},
		{name: "EmptyScopeLabel", env: []string{"SIGIL_REGISTRY_SCOPES=meta:read= "}, wantKey: "registry.scopes"},
		{name: "ScopesEnvGarbage", env: []string{"SIGIL_REGISTRY_SCOPES=meta:read"}, wantKey: "SIGIL_REGISTRY_SCOPES"},
		{name: "ZeroMaxFailures", env: []string{"SIGIL_AUTH_MAX_FAILURES=0"}, wantKey: "auth.max_failures"},
		{name: "MaxFailuresGarbage", env: []string{"SIGIL_AUTH_MAX_FAILURES=ten"}, wantKey: "SIGIL_AUTH_MAX_FAILURES"},
		{name: "TinyAuthWindow", env: []string{"SIGIL_AUTH_WINDOW=1ms"}, wantKey: "auth.window"},
		{name: "UnknownRegistryKey", file: "registry:\n  reveal: true\n", wantKey: "reveal"},
		{name: "NegativeMinReplicas", env: []string{"SIGIL_REVOCATION_MIN_REPLICAS=-1"}, wantKey: "revocation.min_replicas"},
		{name: "MinReplicasWithoutRedis", env: []string{"SIGIL_REVOCATION_MIN_REPLICAS=1"}, wantKey: "revocation.min_replicas"},
		{name: "ZeroReplicaTimeout", env: []string{"SIGIL_REDIS_URL=redis://127.0.0.1:6379", "SIGIL_PEPPER=0123456789abcdef0123456789abcdef",
			"SIGIL_REVOCATION_MIN_REPLICAS=1", "SIGIL_REVOCATION_REPLICA_TIMEOUT=0s"}, wantKey: "revocation.replica_timeout"},
		{name: "ReplicaTimeoutOverStoreTimeout", env: []string{"SIGIL_REDIS_URL=redis://127.0.0.1:6379", "SIGIL_PEPPER=0123456789abcdef0123456789abcdef",
			"SIGIL_REVOCATION_MIN_REPLICAS=1", "SIGIL_REVOCATION_REPLICA_TIMEOUT=2s"}, wantKey: "revocation.replica_timeout"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := ""
			if tt.file != "" {
				path = filepath.Join(t.TempDir(), "sigil.yaml")
				require.NoError(t, os.WriteFile(path, []byte(tt.file), 0o600))
			}
			env := tt.env
			if tt.keyFile != "" {
				kp := filepath.Join(t.TempDir(), "reveal")
				require.NoError(t, os.WriteFile(kp, []byte(tt.keyFile), 0o600))
				env = append(slices.Clone(env), "SIGIL_REGISTRY_REVEAL_KEY_FILE="+kp)
			}
			_, err := config.Load(path, env)
			require.Error(t, err)
			require.Contains(t, err.Error(), tt.wantKey)
		})
	}
}
