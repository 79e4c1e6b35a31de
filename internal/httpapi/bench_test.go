package httpapi_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/stretchr/testify/require"

	"github.com/sigil-dev/sigil/internal/clients"
	"github.com/sigil-dev/sigil/internal/embed"
	"github.com/sigil-dev/sigil/internal/httpapi"
	"github.com/sigil-dev/sigil/internal/keys"
	"github.com/sigil-dev/sigil/internal/metrics"
	"github.com/sigil-dev/sigil/internal/revocation"
	"github.com/sigil-dev/sigil/internal/store/memory"
	"github.com/sigil-dev/sigil/internal/token"
)

// benchStack is the production middleware stack (request id, JSON log at
// info, metrics, body limit, timeouts) over the memory store, wired as serve
// wires it, with a dashboard client "sales" whose secret is secret.
type benchStack struct {
	api    http.Handler
	issuer *token.Issuer
	secret string
}

// newBenchStack builds a benchStack with rec as the usage Recorder (nil for none).
func newBenchStack(tb testing.TB, rec httpapi.Recorder) benchStack {
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
	_, secret, err := clientSvc.Create(context.Background(), clients.NewClient{ID: "sales", Resources: []string{"dashboard:sales"}})
	require.NoError(tb, err)
	tokens, err := embed.New(embed.Config{Minter: iss, Verifier: ver, Revoker: rev, Clients: clientSvc,
		DefaultTTL: time.Hour, MaxTTL: 24 * time.Hour})
	require.NoError(tb, err)
	cfg := httpapi.Config{
		Issuer: "https://sigil.test", Verifier: ver, Tokens: tokens, Keys: ring,
		Clients:  clientSvc,
		Logger:   slog.New(slog.NewJSONHandler(io.Discard, &slog.HandlerOptions{Level: slog.LevelInfo})),
		Observer: m, MetricsHandler: m.Handler(),
		VerifyNeverWaits: true, // as serve sets it for the memory store and replica mode
	}
	if rec != nil {
		cfg.Recorder = rec
	}
	return benchStack{api: httpapi.New(cfg), issuer: iss, secret: secret}
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
	bs := newBenchStack(b, nil)
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
