package httpapi_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/stretchr/testify/require"

	"github.com/sigil-dev/sigil/internal/app"
	"github.com/sigil-dev/sigil/internal/clients"
	"github.com/sigil-dev/sigil/internal/config"
	"github.com/sigil-dev/sigil/internal/embed"
	"github.com/sigil-dev/sigil/internal/httpapi"
	"github.com/sigil-dev/sigil/internal/keys"
	"github.com/sigil-dev/sigil/internal/metrics"
	"github.com/sigil-dev/sigil/internal/revocation"
	"github.com/sigil-dev/sigil/internal/store/memory"
	"github.com/sigil-dev/sigil/internal/token"
)

// benchStack is the application sigil serve runs (internal/app, from
// config.Default() on the memory store, JSON log at info), with a dashboard
// client "sales" whose secret is secret; issuer signs with the server's key.
type benchStack struct {
	api    http.Handler
	issuer *token.Issuer
	secret string
	key    *keys.Key // the signing key (nil in newRecorderStack)
}

// newBenchStack builds a benchStack.
func newBenchStack(tb testing.TB) benchStack { return newBenchStackWith(tb, keys.EdDSA, nil) }

// newBenchStackWith is newBenchStack signing with alg, with tweak (if not
// nil) applied to the configuration before app.New.
func newBenchStackWith(tb testing.TB, alg string, tweak func(*config.Config)) benchStack {
	tb.Helper()
	dir := tb.TempDir()
	_, k, err := keys.WritePEM(dir, testSigner(tb, alg))
	require.NoError(tb, err)
	cfg := config.Default()
	cfg.Issuer, cfg.Audience, cfg.Keys.Dir = "https://sigil.test", "sigil", dir
	cfg.Addr, cfg.AdminSecret = "127.0.0.1:0", "bench-admin-secret-0123456789abcdef"
	if tweak != nil {
		tweak(&cfg)
	}
	a, err := app.New(context.Background(), cfg,
		app.WithLogger(slog.New(slog.NewJSONHandler(io.Discard, &slog.HandlerOptions{Level: slog.LevelInfo}))))
	require.NoError(tb, err)
	tb.Cleanup(a.Close)
	bs := benchStack{api: a.Handler(), key: k}

	req := httptest.NewRequest(http.MethodPost, "/api/clients", strings.NewReader(`{"id":"sales","resources":["dashboard:sales"]}`))
	req.Header.Set("Content-Type", "application/json")
	req.SetBasicAuth("admin", cfg.AdminSecret)
	w := httptest.NewRecorder()
	bs.api.ServeHTTP(w, req)
	require.Equal(tb, http.StatusCreated, w.Code, w.Body.String())
	var created struct{ Secret string }
	require.NoError(tb, json.Unmarshal(w.Body.Bytes(), &created))
	bs.secret = created.Secret

	ring, err := keys.NewRing(func() (*keys.Set, error) { return keys.NewSet([]*keys.Key{k}, "") })
	require.NoError(tb, err)
	bs.issuer = token.NewIssuer(token.IssuerConfig{Issuer: cfg.Issuer, Audience: cfg.Audience, Keys: ring})
	return bs
}

// newRecorderStack is the HTTP API over the memory store with rec as its
// usage Recorder (nil for none), the one part app.New does not take: the
// recorder benchmarks compare recorders on one stack.
func newRecorderStack(tb testing.TB, rec httpapi.Recorder) benchStack {
	tb.Helper()
	_, k, err := keys.WritePEM(tb.TempDir(), testSigner(tb, keys.EdDSA))
	require.NoError(tb, err)
	ring, err := keys.NewRing(func() (*keys.Set, error) { return keys.NewSet([]*keys.Key{k}, "") })
	require.NoError(tb, err)
	st := memory.New(nil)
	rev := revocation.NewService(st, 30*time.Second, nil)
	iss := token.NewIssuer(token.IssuerConfig{Issuer: "https://sigil.test", Audience: "sigil", Keys: ring})
	ver := token.NewVerifier(token.VerifierConfig{Issuer: "https://sigil.test", Audience: "sigil", Keys: ring, Revocation: rev, CacheSize: 1000})
	m := metrics.New()
	clientSvc := clients.NewService(clients.ServiceConfig{Store: st, Pepper: []byte("0123456789abcdef0123456789abcdef"),
		CacheTTL: 10 * time.Second, StaleTTL: time.Minute})
	tokens, err := embed.New(embed.Config{Minter: iss, Verifier: ver, Revoker: rev, Clients: clientSvc})
	require.NoError(tb, err)
	cfg := httpapi.Config{
		Issuer: "https://sigil.test", Verifier: ver, Tokens: tokens, Keys: ring, Clients: clientSvc,
		Logger:   slog.New(slog.NewJSONHandler(io.Discard, &slog.HandlerOptions{Level: slog.LevelInfo})),
		Observer: m, MetricsHandler: m.Handler(),
		VerifyNeverWaits: true, // as app sets it for the memory store and replica mode
	}
	if rec != nil {
		cfg.Recorder = rec
	}
	return benchStack{api: httpapi.New(cfg), issuer: iss}
}

// verifyRequest mints a token with claims c living ttl (0: no exp) and
// returns a GET /api/v1/verify for it, served once: it answers 200 and its
// token is in the verified-token cache.
func (bs benchStack) verifyRequest(tb testing.TB, c token.Claims, ttl time.Duration) *http.Request {
	tb.Helper()
	raw, _, err := bs.issuer.Mint(c, ttl)
	require.NoError(tb, err)
	req := httptest.NewRequest(http.MethodGet, "/api/v1/verify", nil)
	req.Header.Set("Authorization", "Bearer "+raw)
	w := httptest.NewRecorder()
	bs.api.ServeHTTP(w, req)
	require.Equal(tb, http.StatusOK, w.Code, w.Body.String())
	return req
}

// benchServe serves req with h in a benchmark loop; anything but a 200 fails.
func benchServe(b *testing.B, h http.Handler, req *http.Request) {
	b.ReportAllocs()
	for b.Loop() {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if w.Code != http.StatusOK {
			b.Fatal(w.Code, w.Body.String())
		}
	}
}

// BenchmarkVerifyEndpoint serves GET /api/v1/verify and POST /api/v1/token
// in-process with the production stack (benchStack), a warm verified-token
// cache and an in-process denylist, beside a bare Echo handler and bare
// signing: the ratios are what sigil's HTTP layer costs before any network.
func BenchmarkVerifyEndpoint(b *testing.B) {
	bs := newBenchStack(b)
	c := token.Claims{Kind: token.KindEmbed, DashboardID: "sales", ClientID: "sales", Scope: "dashboard:view",
		Params: map[string]any{"locale": "de-DE", "currency": "EUR"}}
	c.Subject = "user-42"
	req := bs.verifyRequest(b, c, time.Hour)

	noop := echo.New()
	noop.GET("/", func(c echo.Context) error { return c.String(http.StatusOK, "ok") })
	noopReq := httptest.NewRequest(http.MethodGet, "/", nil)
	noopReq.Header.Set("Authorization", req.Header.Get("Authorization"))

	b.Run("sigil-verify-warm", func(b *testing.B) { benchServe(b, bs.api, req) })
	b.Run("noop-echo", func(b *testing.B) { benchServe(b, noop, noopReq) })
	// Minting: the whole endpoint (JSON decode and validation, client
	// authentication from the client cache, signing, JSON answer) beside
	// the signing alone.
	mintBody := `{"dashboardId":"sales","dashboardSecret":"` + bs.secret + `","sub":"user-42","params":{"locale":"de-DE","currency":"EUR"}}`
	b.Run("sigil-mint", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			r := httptest.NewRequest(http.MethodPost, "/api/v1/token", strings.NewReader(mintBody))
			r.Header.Set("Content-Type", "application/json")
			w := httptest.NewRecorder()
			bs.api.ServeHTTP(w, r)
			if w.Code != http.StatusOK {
				b.Fatal(w.Code, w.Body.String())
			}
		}
	})
	b.Run("raw-mint-sign-only", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, _, err := bs.issuer.Mint(c, time.Hour); err != nil {
				b.Fatal(err)
			}
		}
	})
}
