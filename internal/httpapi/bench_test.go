package httpapi_test

import (
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
	"github.com/sigil-dev/sigil/internal/httpapi"
	"github.com/sigil-dev/sigil/internal/keys"
	"github.com/sigil-dev/sigil/internal/metrics"
	"github.com/sigil-dev/sigil/internal/revocation"
	"github.com/sigil-dev/sigil/internal/store/memory"
	"github.com/sigil-dev/sigil/internal/token"
)

// BenchmarkVerifyEndpoint serves GET /api/v1/verify and POST /api/v1/token
// in-process with the production middleware stack (request id, JSON log at
// info, metrics, body limit, timeouts), a warm verified-token cache and an
// in-process denylist, beside a bare Echo handler and bare signing: the
// ratios are what sigil's HTTP layer costs before any network.
func BenchmarkVerifyEndpoint(b *testing.B) {
	signer, err := keys.Generate(keys.EdDSA)
	require.NoError(b, err)
	_, k, err := keys.WritePEM(b.TempDir(), signer)
	require.NoError(b, err)
	ring, err := keys.NewRing(func() (*keys.Set, error) { return keys.NewSet([]*keys.Key{k}, "") })
	require.NoError(b, err)
	st := memory.New(nil)
	rev := revocation.NewService(st, 30*time.Second, nil)
	iss := token.NewIssuer(token.IssuerConfig{Issuer: "https://sigil.test", Audience: "sigil", Keys: ring})
	ver := token.NewVerifier(token.VerifierConfig{Issuer: "https://sigil.test", Audience: "sigil", Keys: ring, Revocation: rev, CacheSize: 1000})
	m := metrics.New()
	clientSvc := clients.NewService(clients.ServiceConfig{Store: st, Pepper: []byte("0123456789abcdef0123456789abcdef"),
		CacheTTL: 10 * time.Second, StaleTTL: time.Minute})
	_, secret, err := clientSvc.Create(b.Context(), clients.NewClient{ID: "sales", Resources: []string{"dashboard:sales"}})
	require.NoError(b, err)
	api := httpapi.New(httpapi.Config{
		Issuer: "https://sigil.test", Minter: iss, Verifier: ver, Revoker: rev, Keys: ring,
		Clients:  clientSvc,
		Logger:   slog.New(slog.NewJSONHandler(io.Discard, &slog.HandlerOptions{Level: slog.LevelInfo})),
		Observer: m, MetricsHandler: m.Handler(),
		EmbedDefaultTTL: time.Hour, EmbedMaxTTL: 24 * time.Hour,
		VerifyNeverWaits: true, // as serve sets it for the memory store and replica mode
	})
	c := token.Claims{Kind: token.KindEmbed, DashboardID: "sales", ClientID: "sales", Scope: "dashboard:view",
		Params: map[string]any{"locale": "de-DE", "currency": "EUR"}}
	c.Subject = "user-42"
	raw, _, err := iss.Mint(c, time.Hour)
	require.NoError(b, err)

	req := httptest.NewRequest(http.MethodGet, "/api/v1/verify", nil)
	req.Header.Set("Authorization", "Bearer "+raw)
	rec := httptest.NewRecorder()
	api.ServeHTTP(rec, req)
	require.Equal(b, http.StatusOK, rec.Code)

	noop := echo.New()
	noop.GET("/", func(c echo.Context) error { return c.String(http.StatusOK, "ok") })
	noopReq := httptest.NewRequest(http.MethodGet, "/", nil)
	noopReq.Header.Set("Authorization", "Bearer "+raw)

	b.Run("sigil-verify-warm", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			w := httptest.NewRecorder()
			api.ServeHTTP(w, req)
			if w.Code != http.StatusOK {
				b.Fatal(w.Code)
			}
		}
	})
	b.Run("noop-echo", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			w := httptest.NewRecorder()
			noop.ServeHTTP(w, noopReq)
		}
	})
	// Minting: the whole endpoint (JSON decode and validation, client
	// authentication from the client cache, signing, JSON answer) beside
	// the signing alone.
	mintBody := `{"dashboardId":"sales","dashboardSecret":"` + secret + `","sub":"user-42","params":{"locale":"de-DE","currency":"EUR"}}`
	b.Run("sigil-mint", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			r := httptest.NewRequest(http.MethodPost, "/api/v1/token", strings.NewReader(mintBody))
			r.Header.Set("Content-Type", "application/json")
			w := httptest.NewRecorder()
			api.ServeHTTP(w, r)
			if w.Code != http.StatusOK {
				b.Fatal(w.Code, w.Body.String())
			}
		}
	})
	b.Run("raw-mint-sign-only", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, _, err := iss.Mint(c, time.Hour); err != nil {
				b.Fatal(err)
			}
		}
	})
}
