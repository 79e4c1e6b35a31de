package httpapi_test

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/sigil-dev/sigil/internal/clients"
	"github.com/sigil-dev/sigil/internal/httpapi"
	"github.com/sigil-dev/sigil/internal/keys"
	"github.com/sigil-dev/sigil/internal/revocation"
	"github.com/sigil-dev/sigil/internal/store/memory"
	"github.com/sigil-dev/sigil/internal/token"
)

// BenchmarkVerifyPolicy is GET /api/v1/verify with a warm cache, without
// forwarded headers (plain token check) and with nginx's X-Original-Method
// and X-Original-URI (policy step): the difference is what the policy costs.
func BenchmarkVerifyPolicy(b *testing.B) {
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
	api := httpapi.New(httpapi.Config{
		Issuer: "https://sigil.test", Minter: iss, Verifier: ver, Revoker: rev, Keys: ring,
		Clients: clients.NewService(clients.ServiceConfig{Store: st, Pepper: []byte("0123456789abcdef0123456789abcdef")}),
		Logger:  slog.New(slog.NewJSONHandler(io.Discard, &slog.HandlerOptions{Level: slog.LevelInfo})),
	})
	raw, _, err := iss.Mint(token.Claims{Kind: token.KindEmbed, DashboardID: "sales", Scope: "dashboard:view"}, time.Hour)
	require.NoError(b, err)

	plain := httptest.NewRequest(http.MethodGet, "/api/v1/verify", nil)
	plain.Header.Set("Authorization", "Bearer "+raw)
	gated := httptest.NewRequest(http.MethodGet, "/api/v1/verify", nil)
	gated.Header.Set("Authorization", "Bearer "+raw)
	gated.Header.Set("X-Original-Method", "GET")
	gated.Header.Set("X-Original-URI", "/dashboards/sales/widgets/7?lang=de")
	for name, req := range map[string]*http.Request{"no-forwarded-headers": plain, "with-policy": gated} {
		w := httptest.NewRecorder()
		api.ServeHTTP(w, req)
		require.Equal(b, http.StatusOK, w.Code, name)
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				w := httptest.NewRecorder()
				api.ServeHTTP(w, req)
				if w.Code != http.StatusOK {
					b.Fatal(w.Code)
				}
			}
		})
	}
}
