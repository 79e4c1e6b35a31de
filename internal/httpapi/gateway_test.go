package httpapi_test

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/stretchr/testify/require"

	"github.com/sigil-dev/sigil/internal/httpapi"
	"github.com/sigil-dev/sigil/internal/policy"
	"github.com/sigil-dev/sigil/internal/token"
)

// reasons is an Observer that keeps the verification outcomes.
type reasons struct {
	mu  sync.Mutex
	got []string
}

func (r *reasons) Request(string, string, int, time.Duration) {}
func (r *reasons) Minted(string)                              {}
func (r *reasons) Verified(reason string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.got = append(r.got, reason)
}

func (r *reasons) last() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.got) == 0 {
		return ""
	}
	return r.got[len(r.got)-1]
}

func withGateway(pc policy.Config, obs httpapi.Observer) func(*fixture) {
	return func(f *fixture) {
		prev := f.tweak
		f.tweak = func(c *httpapi.Config) {
			if prev != nil {
				prev(c)
			}
			p, err := policy.New(pc)
			require.NoError(f.tb, err)
			c.Policy = p
			c.Observer = obs
		}
	}
}

// forward is forward-auth as a gateway calls it: the token as Bearer, the
// original method and URI in headers (names from hdr: X-Forwarded-* or X-Original-*).
func (f *fixture) forward(tok, method, uri string, nginx bool) *httptest.ResponseRecorder {
	f.tb.Helper()
	mh, uh := "X-Forwarded-Method", "X-Forwarded-Uri"
	if nginx {
		mh, uh = "X-Original-Method", "X-Original-URI"
	}
	return f.do(http.MethodGet, "/api/v1/verify", "", "Authorization", "Bearer "+tok, mh, method, uh, uri)
}

func TestVerify_Policy(t *testing.T) {
	obs := &reasons{}
	f := newAPI(t, withGateway(policy.Config{
		AppAPIWhitelist: map[string][]string{"analytics": {"/datasets/*"}},
	}, obs))
	embed := f.mint(map[string]any{"sub": "user-7", "params": map[string]any{"region": "EU"},
		"securityPolicies": []map[string]any{{"name": "rls", "params": map[string]any{"tenant": "t1"}}}}).AccessToken
	app := f.mintDirect(token.Claims{Kind: token.KindAppView, AppID: "analytics", ReadOnly: true, TID: "t-app"}, time.Hour)
	report := f.mintDirect(token.Claims{Kind: token.KindReport, ReportID: "q3", TID: "t-rep"}, time.Hour)
	api := f.mintDirect(token.Claims{Kind: token.KindAPI, RegisteredClaims: jwt.RegisteredClaims{Subject: "alice"}, Scope: "meta:read", TID: "t-api"}, time.Hour)

	t.Run("AllowedWithIdentity", func(t *testing.T) {
		for _, nginx := range []bool{false, true} {
			rec := f.forward(embed, "GET", "/dashboards/sales/widgets?x=1", nginx)
			require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
			require.Equal(t, "ok", obs.last())
			h := rec.Header()
			require.Equal(t, "user-7", h.Get(httpapi.HeaderSubject))
			require.Equal(t, "embed", h.Get(httpapi.HeaderKind))
			require.Equal(t, "dashboard:sales", h.Get(httpapi.HeaderResource))
			require.Equal(t, "dashboard:view", h.Get(httpapi.HeaderScope))
			var params map[string]any
			b, err := base64.RawURLEncoding.DecodeString(h.Get(httpapi.HeaderParams))
			require.NoError(t, err)
			require.NoError(t, json.Unmarshal(b, &params))
			require.Equal(t, map[string]any{"region": "EU"}, params)
			var pols []map[string]any
			b, err = base64.RawURLEncoding.DecodeString(h.Get(httpapi.HeaderPolicies))
			require.NoError(t, err)
			require.NoError(t, json.Unmarshal(b, &pols))
			require.Equal(t, []map[string]any{{"name": "rls", "params": map[string]any{"tenant": "t1"}}}, pols)
		}
		for _, c := range []struct{ tok, method, uri string }{
			{app, "GET", "/api/apps/analytics/view"},
			{app, "HEAD", "/api/apps/analytics/view/api/datasets/orders"},
			{report, "GET", "/api/reports/q3/rows"},
			{report, "GET", "/view/" + report},
			{api, "GET", "/api/meta/tables"},
		} {
			rec := f.forward(c.tok, c.method, c.uri, true)
			require.Equal(t, http.StatusOK, rec.Code, "%s %s: %s", c.method, c.uri, rec.Body.String())
		}
	})
	t.Run("Denied", func(t *testing.T) {
		for _, c := range []struct{ tok, method, uri, code string }{
			{embed, "GET", "/dashboards/hr", "forbidden"},
			{embed, "GET", "/dashboards/sales/../hr", "forbidden"},
			{embed, "GET", "/dashboards/sales/%2e%2e/hr", "forbidden"},
			{embed, "GET", "/dashboards/sales%2F..%2Fhr", "forbidden"},
			{embed, "GET", "//dashboards/sales", "forbidden"},
			{app, "POST", "/api/apps/analytics/view", "read_only"},
			{app, "DELETE", "/api/apps/analytics/contents/x", "read_only"},
			{app, "GET", "/api/apps/finance/view", "forbidden"},
			{app, "GET", "/view/api/secrets", "forbidden"},
			{report, "GET", "/api/reports/q4", "forbidden"},
			{api, "GET", "/api/users", "forbidden"},
		} {
			rec := f.forward(c.tok, c.method, c.uri, false)
			requireError(t, rec, http.StatusForbidden, c.code, "")
			require.Empty(t, rec.Header().Get(httpapi.HeaderSubject), "no identity with a denial")
			require.Empty(t, rec.Header().Get("WWW-Authenticate"))
			require.Equal(t, httpapi.ReasonPolicy, obs.last())
		}
	})
	t.Run("InsufficientScope", func(t *testing.T) {
		rec := f.forward(api, "GET", "/api/reports/q3", false)
		requireError(t, rec, http.StatusForbidden, "insufficient_scope", "")
		require.Equal(t, `Bearer error="insufficient_scope", scope="report:read"`, rec.Header().Get("WWW-Authenticate"))
		r := f.do(http.MethodHead, "/api/v1/verify", "", "Authorization", "Bearer "+api, "X-Forwarded-Method", "GET", "X-Forwarded-Uri", "/api/reports/q3")
		require.Equal(t, http.StatusForbidden, r.Code)
		require.Zero(t, r.Body.Len())
		require.Equal(t, `Bearer error="insufficient_scope", scope="report:read"`, r.Header().Get("WWW-Authenticate"))
	})
	t.Run("TokenInForwardedURI", func(t *testing.T) {
		rec := f.do(http.MethodGet, "/api/v1/verify", "", "X-Original-Method", "GET", "X-Original-URI", "/api/reports/q3?token="+report)
		require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
		rec = f.do(http.MethodGet, "/api/v1/verify", "", "X-Original-Method", "GET", "X-Original-URI", "/api/reports/q4?token="+report)
		requireError(t, rec, http.StatusForbidden, "forbidden", "")
	})
	t.Run("NoForwardedHeadersIsAPlainCheck", func(t *testing.T) {
		require.Equal(t, http.StatusOK, f.verify(app).Code)
	})
	t.Run("URIWithoutMethod", func(t *testing.T) {
		// Unknown method: no kind may use it, since every kind's methods are listed.
		for _, c := range []struct{ tok, uri string }{
			{app, "/api/apps/analytics/view"}, {embed, "/dashboards/sales"}, {report, "/api/reports/q3"}, {api, "/api/meta/tables"},
		} {
			rec := f.do(http.MethodGet, "/api/v1/verify", "", "Authorization", "Bearer "+c.tok, "X-Forwarded-Uri", c.uri)
			requireError(t, rec, http.StatusForbidden, "read_only", "")
		}
	})
	t.Run("MethodWithoutURI", func(t *testing.T) {
		rec := f.do(http.MethodGet, "/api/v1/verify", "", "Authorization", "Bearer "+embed, "X-Forwarded-Method", "GET")
		requireError(t, rec, http.StatusBadRequest, "invalid_request", "X-Forwarded-Uri")
		rec = f.do(http.MethodGet, "/api/v1/verify", "", "Authorization", "Bearer "+embed, "X-Original-Method", "GET")
		requireError(t, rec, http.StatusBadRequest, "invalid_request", "X-Original-URI")
	})
	t.Run("ConflictingSpellings", func(t *testing.T) {
		// nginx sends X-Original-*; a client adds X-Forwarded-* to a
		// gateway that does not strip it: ambiguous, refused.
		rec := f.do(http.MethodGet, "/api/v1/verify", "", "Authorization", "Bearer "+app,
			"X-Forwarded-Method", "GET", "X-Forwarded-Uri", "/api/apps/analytics/view",
			"X-Original-Method", "GET", "X-Original-URI", "/api/apps/finance/view")
		requireError(t, rec, http.StatusBadRequest, "invalid_request", "X-Original-URI")
		rec = f.do(http.MethodGet, "/api/v1/verify", "", "Authorization", "Bearer "+app,
			"X-Forwarded-Method", "GET", "X-Forwarded-Uri", "/api/apps/analytics/view",
			"X-Original-Method", "POST", "X-Original-URI", "/api/apps/analytics/view")
		requireError(t, rec, http.StatusBadRequest, "invalid_request", "X-Original-Method")
		// The same values twice are fine.
		rec = f.do(http.MethodGet, "/api/v1/verify", "", "Authorization", "Bearer "+app,
			"X-Forwarded-Method", "GET", "X-Forwarded-Uri", "/api/apps/analytics/view",
			"X-Original-Method", "GET", "X-Original-URI", "/api/apps/analytics/view")
		require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	})
	t.Run("InvalidTokenStays401", func(t *testing.T) {
		require.Equal(t, http.StatusOK, f.revokeAsAdmin(report).Code)
		rec := f.forward(report, "GET", "/api/reports/q3", true)
		requireInvalidToken(t, rec, descRevoked)
		rec = f.forward(report, "GET", "/api/reports/q4", true)
		requireInvalidToken(t, rec, descRevoked)
	})
	t.Run("HostileURIs", func(t *testing.T) {
		for _, uri := range []string{"", "*", "dashboards/sales", "http://evil/dashboards/sales", "/dashboards/sales\x00", "/dashboards/sales/%", "/dashboards/sales/\u00e9", "/dashboards/sales/..%5c..%5chr"} {
			rec := f.do(http.MethodGet, "/api/v1/verify", "", "Authorization", "Bearer "+embed, "X-Forwarded-Method", "GET", "X-Forwarded-Uri", uri)
			if uri == "" {
				requireError(t, rec, http.StatusBadRequest, "invalid_request", "X-Forwarded-Uri")
				continue
			}
			require.Equal(t, http.StatusForbidden, rec.Code, "%q: %s", uri, rec.Body.String())
		}
	})
}
