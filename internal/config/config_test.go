package config_test

import (
	"os"
	"path/filepath"
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
		wantKey string
	}{
		{name: "BadAddr", env: []string{"SIGIL_ADDR=nonsense"}, wantKey: "SIGIL_ADDR"},
		{name: "BadIssuer", env: []string{"SIGIL_ISSUER=not a url"}, wantKey: "issuer"},
		{name: "EmptyAudience", env: []string{"SIGIL_AUDIENCE= "}, wantKey: "audience"},
		{name: "BadRedisScheme", env: []string{"SIGIL_REDIS_URL=http://x", "SIGIL_PEPPER=0123456789abcdef0123456789abcdef"}, wantKey: "redis.url"},
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
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := ""
			if tt.file != "" {
				path = filepath.Join(t.TempDir(), "sigil.yaml")
				require.NoError(t, os.WriteFile(path, []byte(tt.file), 0o600))
			}
			_, err := config.Load(path, tt.env)
			require.Error(t, err)
			require.Contains(t, err.Error(), tt.wantKey)
		})
	}
}
