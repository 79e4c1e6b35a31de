package config_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/sigil-dev/sigil/internal/config"
)

func TestLoad_CORSAllowedOrigins(t *testing.T) {
	t.Run("OK", func(t *testing.T) {
		cfg, err := config.Load("", []string{"SIGIL_HTTP_CORS_ALLOWED_ORIGINS=https://app.example.com,http://localhost:3000"})
		require.NoError(t, err)
		require.Equal(t, []string{"https://app.example.com", "http://localhost:3000"}, cfg.HTTP.CORSAllowedOrigins)
	})
	t.Run("OKDefaultNone", func(t *testing.T) {
		cfg, err := config.Load("", nil)
		require.NoError(t, err)
		require.Empty(t, cfg.HTTP.CORSAllowedOrigins)
	})
	for name, origin := range map[string]string{
		"ErrPath": "https://app.example.com/", "ErrWildcard": "*", "ErrScheme": "ftp://app.example.com",
		"ErrNoScheme": "app.example.com", "ErrUserInfo": "https://u@app.example.com", "ErrQuery": "https://app.example.com?x",
	} {
		t.Run(name, func(t *testing.T) {
			_, err := config.Load("", []string{"SIGIL_HTTP_CORS_ALLOWED_ORIGINS=" + origin})
			require.ErrorContains(t, err, "http.cors_allowed_origins")
			require.ErrorContains(t, err, "SIGIL_HTTP_CORS_ALLOWED_ORIGINS")
		})
	}
}

func TestLoad_ConsoleAllowedOrigins(t *testing.T) {
	t.Run("OK", func(t *testing.T) {
		cfg, err := config.Load("", []string{"SIGIL_CONSOLE_ALLOWED_ORIGINS=https://app.example.com,http://127.0.0.1:8081"})
		require.NoError(t, err)
		require.Equal(t, []string{"https://app.example.com", "http://127.0.0.1:8081"}, cfg.Console.AllowedOrigins)
		require.Empty(t, cfg.HTTP.CORSAllowedOrigins, "the two lists are apart")
	})
	t.Run("OKDefaultNone", func(t *testing.T) {
		cfg, err := config.Load("", nil)
		require.NoError(t, err)
		require.Empty(t, cfg.Console.AllowedOrigins)
	})
	for name, origin := range map[string]string{
		"ErrWildcard": "*", "ErrNull": "null", "ErrPath": "https://app.example.com/console", "ErrNoScheme": "app.example.com",
	} {
		t.Run(name, func(t *testing.T) {
			_, err := config.Load("", []string{"SIGIL_CONSOLE_ALLOWED_ORIGINS=" + origin})
			require.ErrorContains(t, err, "console.allowed_origins")
			require.ErrorContains(t, err, "SIGIL_CONSOLE_ALLOWED_ORIGINS")
		})
	}
}
