package httpapi_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/sigil-dev/sigil/internal/token"
)

// BenchmarkVerifyPolicy is GET /api/v1/verify with a warm cache, without
// forwarded headers (plain token check) and with nginx's X-Original-Method
// and X-Original-URI (policy step): the difference is what the policy costs.
func BenchmarkVerifyPolicy(b *testing.B) {
	bs := newBenchStack(b)
	plain := bs.verifyRequest(b, token.Claims{Kind: token.KindEmbed, DashboardID: "sales", Scope: "dashboard:view"}, time.Hour)
	raw := strings.TrimPrefix(plain.Header.Get("Authorization"), "Bearer ")
	gated := httptest.NewRequest(http.MethodGet, "/api/v1/verify", nil)
	gated.Header.Set("Authorization", "Bearer "+raw)
	gated.Header.Set("X-Original-Method", "GET")
	gated.Header.Set("X-Original-URI", "/dashboards/sales/widgets/7?lang=de")
	for name, req := range map[string]*http.Request{"no-forwarded-headers": plain, "with-policy": gated} {
		w := httptest.NewRecorder()
		bs.api.ServeHTTP(w, req)
		require.Equal(b, http.StatusOK, w.Code, name)
		b.Run(name, func(b *testing.B) { benchServe(b, bs.api, req) })
	}
}
