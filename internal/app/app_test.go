package app_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/sigil-dev/sigil/internal/app"
	"github.com/sigil-dev/sigil/internal/config"
	"github.com/sigil-dev/sigil/internal/keys"
	"github.com/sigil-dev/sigil/test/redisserver"
)

// newConfig is config.Default() with a fresh key, on a loopback port.
func newConfig(tb testing.TB, tweak func(*config.Config)) config.Config {
	tb.Helper()
	dir := tb.TempDir()
	s, err := keys.Generate(keys.EdDSA)
	require.NoError(tb, err)
	_, _, err = keys.WritePEM(dir, s)
	require.NoError(tb, err)
	cfg := config.Default()
	cfg.Addr, cfg.Issuer, cfg.Keys.Dir = "127.0.0.1:0", "https://sigil.test", dir
	cfg.AdminSecret = "admin-secret-0123456789abcdef0123"
	cfg.Pepper = "pepper-0123456789abcdef0123456789"
	if tweak != nil {
		tweak(&cfg)
	}
	return cfg
}

// readyz answers GET /readyz of a and returns its checks.
func readyz(t *testing.T, a *app.App) (int, map[string]string) {
	t.Helper()
	w := httptest.NewRecorder()
	a.Handler().ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/readyz", nil))
	var body struct {
		Checks map[string]string `json:"checks"`
	}
	require.NoError(t, json.Unmarshal(w.Body.Bytes(), &body))
	return w.Code, body.Checks
}

// TestNew_RevocationMode: the memory store is checked directly; Redis gets
// a replica unless revocation.mode is direct, and readiness follows.
func TestNew_RevocationMode(t *testing.T) {
	rds := redisserver.Start(t)
	for _, tc := range []struct {
		name   string
		tweak  func(*config.Config)
		checks []string
	}{
		{"OK/Memory", nil, []string{"keys", "store"}},
		{"OK/RedisReplica", func(c *config.Config) { c.Redis.URL = rds.URL() }, []string{"keys", "revocation_replica", "store"}},
		{"OK/RedisDirect", func(c *config.Config) { c.Redis.URL, c.Revocation.Mode = rds.URL(), "direct" }, []string{"keys", "store"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, err := app.New(context.Background(), newConfig(t, tc.tweak), app.WithLogger(slog.New(slog.DiscardHandler)))
			require.NoError(t, err)
			t.Cleanup(a.Close)
			code, checks := readyz(t, a)
			require.Equal(t, http.StatusOK, code)
			names := make([]string, 0, len(checks))
			for n, v := range checks {
				require.Equal(t, "ok", v, n)
				names = append(names, n)
			}
			require.ElementsMatch(t, tc.checks, names)
		})
	}
}

// TestApp_Run: Run serves on the listener until ctx ends, then stops
// cleanly; the port is closed afterwards.
func TestApp_Run(t *testing.T) {
	a, err := app.New(context.Background(), newConfig(t, nil), app.WithLogger(slog.New(slog.DiscardHandler)))
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	resp, err := http.Get(a.Info.URL + "/healthz")
	require.NoError(t, err)
	require.NoError(t, resp.Body.Close())
	require.Equal(t, http.StatusOK, resp.StatusCode)
	cancel()
	require.NoError(t, <-done)
	_, err = http.Get(a.Info.URL + "/healthz")
	require.Error(t, err)
	a.Close() // again: nothing
}

// TestNew_ErrListen: a taken address fails New, naming the addr key.
func TestNew_ErrListen(t *testing.T) {
	first, err := app.New(context.Background(), newConfig(t, nil), app.WithLogger(slog.New(slog.DiscardHandler)))
	require.NoError(t, err)
	t.Cleanup(first.Close)
	addr := first.Info.URL[len("http://"):]
	_, err = app.New(context.Background(), newConfig(t, func(c *config.Config) { c.Addr = addr }), app.WithLogger(slog.New(slog.DiscardHandler)))
	require.ErrorContains(t, err, "(addr)")
}

// TestNew_Pprof: the profiler is off by default (no listener, and the
// API's /debug/pprof/ is a 404); with debug.pprof_addr it answers on that
// loopback listener only, and stops with the App.
func TestNew_Pprof(t *testing.T) {
	a, err := app.New(context.Background(), newConfig(t, nil), app.WithLogger(slog.New(slog.DiscardHandler)))
	require.NoError(t, err)
	require.Empty(t, a.Info.PprofURL)
	w := httptest.NewRecorder()
	a.Handler().ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/debug/pprof/", nil))
	require.Equal(t, http.StatusNotFound, w.Code)
	a.Close()

	a, err = app.New(context.Background(), newConfig(t, func(c *config.Config) { c.Debug.PprofAddr = "127.0.0.1:0" }),
		app.WithLogger(slog.New(slog.DiscardHandler)))
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(a.Info.PprofURL, "http://127.0.0.1:"), a.Info.PprofURL)
	resp, err := http.Get(a.Info.PprofURL + "goroutine?debug=1")
	require.NoError(t, err)
	body, _ := io.ReadAll(resp.Body)
	require.NoError(t, resp.Body.Close())
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Contains(t, string(body), "goroutine profile")
	w = httptest.NewRecorder()
	a.Handler().ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/debug/pprof/", nil))
	require.Equal(t, http.StatusNotFound, w.Code)
	a.Close()
	_, err = http.Get(a.Info.PprofURL)
	require.Error(t, err)
}
