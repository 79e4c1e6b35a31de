package config_test

import (
	"bytes"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/sigil-dev/sigil/internal/config"
)

func TestLoad_Cloud(t *testing.T) {
	cfg, err := config.Load("", nil)
	require.NoError(t, err)
	require.Empty(t, cfg.Cloud.URL, "off by default")
	require.Equal(t, time.Second, cfg.Cloud.Timeout)

	const secret = "cloud-secret-do-not-print-0123456789"
	cfg, err = config.Load("", []string{
		"SIGIL_CLOUD_URL=https://cloud.example.com/", "SIGIL_CLOUD_CLIENT_ID=acme",
		"SIGIL_CLOUD_CLIENT_SECRET=" + secret, "SIGIL_CLOUD_TIMEOUT=750ms",
	})
	require.NoError(t, err)
	require.Equal(t, "acme", cfg.Cloud.ClientID)
	require.Equal(t, secret, cfg.Cloud.ClientSecret)
	require.Equal(t, 750*time.Millisecond, cfg.Cloud.Timeout)
	require.Equal(t, "https://cloud.example.com", cfg.Cloud.Public(), "public base defaults to the URL")

	// The secret never shows in printed or logged configuration.
	var logs bytes.Buffer
	slog.New(slog.NewJSONHandler(&logs, nil)).Info("config", slog.Any("cloud", cfg.Cloud))
	for _, s := range []string{fmt.Sprint(cfg.Cloud), fmt.Sprintf("%+v", cfg.Cloud), fmt.Sprintf("%v", cfg), logs.String()} {
		require.NotContains(t, s, secret)
	}

	file := filepath.Join(t.TempDir(), "secret")
	require.NoError(t, os.WriteFile(file, []byte(secret+"\n"), 0o600))
	cfg, err = config.Load("", []string{
		"SIGIL_CLOUD_URL=https://cloud.example.com", "SIGIL_CLOUD_PUBLIC_URL=https://public.example.com/",
		"SIGIL_CLOUD_CLIENT_ID=acme", "SIGIL_CLOUD_CLIENT_SECRET_FILE=" + file,
	})
	require.NoError(t, err)
	require.Equal(t, secret, cfg.Cloud.ClientSecret)
	require.Equal(t, "https://public.example.com", cfg.Cloud.Public())
}

func TestLoad_CloudErr(t *testing.T) {
	ok := map[string]string{
		"SIGIL_CLOUD_URL": "https://cloud.example.com", "SIGIL_CLOUD_CLIENT_ID": "acme", "SIGIL_CLOUD_CLIENT_SECRET": "s3cret-s3cret-s3cret",
	}
	tests := []struct {
		name    string
		set     map[string]string
		key     string
		missing string
	}{
		{"URLNotHTTP", map[string]string{"SIGIL_CLOUD_URL": "redis://cloud"}, "cloud.url", ""},
		{"URLWithCredentials", map[string]string{"SIGIL_CLOUD_URL": "https://u:p@cloud"}, "cloud.url", ""},
		{"PublicURLRelative", map[string]string{"SIGIL_CLOUD_PUBLIC_URL": "/view"}, "cloud.public_url", ""},
		{"NoClientID", nil, "cloud.client_id", "SIGIL_CLOUD_CLIENT_ID"},
		{"NoSecret", nil, "cloud.client_secret", "SIGIL_CLOUD_CLIENT_SECRET"},
		{"TimeoutOverStoreTimeout", map[string]string{"SIGIL_CLOUD_TIMEOUT": "5s"}, "cloud.timeout", ""},
		{"TimeoutZero", map[string]string{"SIGIL_CLOUD_TIMEOUT": "0s"}, "cloud.timeout", ""},
		{"SecretWithoutURL", map[string]string{"SIGIL_CLOUD_URL": ""}, "cloud.url", ""},
		{"SecretFileMissing", map[string]string{"SIGIL_CLOUD_CLIENT_SECRET_FILE": "/nonexistent/secret"}, "cloud.client_secret_file", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			env := []string{}
			for k, v := range ok {
				if _, over := tc.set[k]; over || k == tc.missing {
					continue
				}
				env = append(env, k+"="+v)
			}
			for k, v := range tc.set {
				env = append(env, k+"="+v)
			}
			_, err := config.Load("", env)
			require.Error(t, err)
			require.Contains(t, err.Error(), tc.key)
			require.NotContains(t, err.Error(), "s3cret")
		})
	}
}
