package config_test

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/sigil-dev/sigil/internal/config"
)

// TestLoad_Limits: the keys of issue 12 (refresh chain bounds, trusted
// proxies) have defaults, come from the file and the environment, and are
// validated with errors naming the key.
func TestLoad_Limits(t *testing.T) {
	t.Run("Defaults", func(t *testing.T) {
		cfg, err := config.Load("", nil)
		require.NoError(t, err)
		require.Equal(t, 24*time.Hour, cfg.Tokens.RefreshMaxLifetime)
		require.Equal(t, time.Minute, cfg.Tokens.RefreshMinAge)
		require.Empty(t, cfg.HTTP.TrustedProxies)
	})
	t.Run("File", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "sigil.yaml")
		require.NoError(t, os.WriteFile(path, []byte(
			"tokens:\n  refresh_max_lifetime: 8h\n  refresh_min_age: 5m\nhttp:\n  trusted_proxies: [10.0.0.0/8, \"fd00::/8\"]\n"), 0o600))
		cfg, err := config.Load(path, nil)
		require.NoError(t, err)
		require.Equal(t, 8*time.Hour, cfg.Tokens.RefreshMaxLifetime)
		require.Equal(t, 5*time.Minute, cfg.Tokens.RefreshMinAge)
		require.Equal(t, []string{"10.0.0.0/8", "fd00::/8"}, cfg.HTTP.TrustedProxies)
	})
	t.Run("Env", func(t *testing.T) {
		cfg, err := config.Load("", []string{
			"SIGIL_HTTP_TRUSTED_PROXIES=10.0.0.0/8,192.168.1.10/32",
			"SIGIL_TOKENS_REFRESH_MAX_LIFETIME=2h", "SIGIL_TOKENS_REFRESH_MIN_AGE=30s",
		})
		require.NoError(t, err)
		require.Equal(t, []string{"10.0.0.0/8", "192.168.1.10/32"}, cfg.HTTP.TrustedProxies)
		require.Equal(t, 2*time.Hour, cfg.Tokens.RefreshMaxLifetime)
		require.Equal(t, 30*time.Second, cfg.Tokens.RefreshMinAge)
	})
	for name, tc := range map[string]struct {
		env  []string
		want string
	}{
		"ErrProxyNotCIDR":     {[]string{"SIGIL_HTTP_TRUSTED_PROXIES=10.0.0.1"}, "http.trusted_proxies (env SIGIL_HTTP_TRUSTED_PROXIES)"},
		"ErrProxyGarbage":     {[]string{"SIGIL_HTTP_TRUSTED_PROXIES=everyone"}, "http.trusted_proxies"},
		"ErrMaxLifetimeZero":  {[]string{"SIGIL_TOKENS_REFRESH_MAX_LIFETIME=0s"}, "tokens.refresh_max_lifetime"},
		"ErrMinAgeZero":       {[]string{"SIGIL_TOKENS_REFRESH_MIN_AGE=0s"}, "tokens.refresh_min_age"},
		"ErrMinAgeOverMaxAge": {[]string{"SIGIL_TOKENS_REFRESH_MAX_LIFETIME=1m", "SIGIL_TOKENS_REFRESH_MIN_AGE=2m"}, "tokens.refresh_min_age"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := config.Load("", tc.env)
			require.ErrorContains(t, err, tc.want)
		})
	}
}

// TestLoad_ExposedSecretFiles: a secret file other users can read (a pepper
// left at 0644) is refused in prod, naming the key and the file, and only
// reported in dev (serve logs it).
func TestLoad_ExposedSecretFiles(t *testing.T) {
	dir := t.TempDir()
	pepper := filepath.Join(dir, "pepper")
	admin := filepath.Join(dir, "admin")
	require.NoError(t, os.WriteFile(pepper, []byte("0123456789abcdef0123456789abcdef"), 0o600))
	require.NoError(t, os.WriteFile(admin, []byte("admin-secret-long-enough"), 0o600))
	require.NoError(t, os.Chmod(pepper, 0o644))
	env := []string{"SIGIL_PEPPER_FILE=" + pepper, "SIGIL_ADMIN_SECRET_FILE=" + admin}

	_, err := config.Load("", append(env, "SIGIL_MODE=prod"))
	require.ErrorContains(t, err, "pepper_file (env SIGIL_PEPPER_FILE)")
	require.ErrorContains(t, err, pepper)
	require.ErrorContains(t, err, "0644")
	require.NotContains(t, err.Error(), "admin_secret_file", "a 0600 file is fine")

	cfg, err := config.Load("", env)
	require.NoError(t, err, "dev mode only warns")
	require.Equal(t, []config.ExposedFile{{Key: "pepper_file", Path: pepper, Mode: 0o644}}, cfg.ExposedSecretFiles())

	require.NoError(t, os.Chmod(pepper, 0o600))
	_, err = config.Load("", append(env, "SIGIL_MODE=prod"))
	require.NoError(t, err)
}
