package httpapi_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/stretchr/testify/require"

	"github.com/sigil-dev/sigil/internal/clients"
	"github.com/sigil-dev/sigil/internal/httpapi"
	"github.com/sigil-dev/sigil/internal/policy"
	"github.com/sigil-dev/sigil/internal/token"
)

// A1: a report token is a share link; through forward-auth it reads its
// report and never writes, on any of its paths (issue 12).
func TestVerify_ReportTokenCannotWrite(t *testing.T) {
	obs := &reasons{}
	f := newAPI(t, withGateway(policy.Config{}, obs))
	report := f.mintDirect(token.Claims{Kind: token.KindReport, ReportID: "q3", TID: "t-rep"}, time.Hour)
	paths := []string{
		"/api/reports/q3", "/api/reports/q3/rows", "/api/reports/q3/_cloud-publish",
		"/api/reports/q3/tokens", "/api/reports/q3/tokens/t-rep", "/view/" + report,
	}
	for _, uri := range paths {
		for _, m := range []string{"POST", "PUT", "PATCH", "DELETE", "OPTIONS", "get"} {
			for _, nginx := range []bool{false, true} {
				rec := f.forward(report, m, uri, nginx)
				requireError(t, rec, http.StatusForbidden, "read_only", "")
				require.Empty(t, rec.Header().Get(httpapi.HeaderSubject))
				require.Equal(t, httpapi.ReasonPolicy, obs.last())
			}
			// The same with the token in the forwarded URI, as a shared link carries it.
			rec := f.do(http.MethodGet, "/api/v1/verify", "", "X-Original-Method", m, "X-Original-URI", uri+"?token="+report)
			requireError(t, rec, http.StatusForbidden, "read_only", "")
		}
		for _, m := range []string{"GET", "HEAD"} {
			rec := f.forward(report, m, uri, true)
			require.Equal(t, http.StatusOK, rec.Code, "%s %s: %s", m, uri, rec.Body.String())
		}
	}
}

// A2: embed tokens use the methods of the dashboard prefix and API tokens
// those of their route: GET and HEAD unless the rule names more.
func TestVerify_EmbedAndAPITokensCannotWriteUnlessTheRuleSays(t *testing.T) {
	api := func(f *fixture, scope string) string {
		return f.mintDirect(token.Claims{Kind: token.KindAPI, RegisteredClaims: jwt.RegisteredClaims{Subject: "alice"}, Scope: scope, TID: "t-api"}, time.Hour)
	}
	t.Run("Defaults", func(t *testing.T) {
		f := newAPI(t, withGateway(policy.Config{}, &reasons{}))
		embed := f.mint(nil).AccessToken
		meta := api(f, "meta:read report:read")
		for _, m := range []string{"POST", "PUT", "PATCH", "DELETE"} {
			requireError(t, f.forward(embed, m, "/dashboards/sales/filters", false), http.StatusForbidden, "read_only", "")
			requireError(t, f.forward(meta, m, "/api/meta/tables", false), http.StatusForbidden, "read_only", "")
			requireError(t, f.forward(meta, m, "/api/reports/q3", false), http.StatusForbidden, "read_only", "")
		}
		require.Equal(t, http.StatusOK, f.forward(embed, "HEAD", "/dashboards/sales/filters", false).Code)
		require.Equal(t, http.StatusOK, f.forward(meta, "GET", "/api/meta/tables", false).Code)
	})
	t.Run("Configured", func(t *testing.T) {
		f := newAPI(t, withGateway(policy.Config{
			DashboardPrefix: "GET HEAD POST /dashboards/{dashboardId}",
			APIRoutes:       map[string]string{"/api/meta/**": "meta:read", "POST /api/meta/**": "meta:write"},
		}, &reasons{}))
		embed := f.mint(nil).AccessToken
		reader, writer := api(f, "meta:read"), api(f, "meta:read meta:write")
		require.Equal(t, http.StatusOK, f.forward(embed, "POST", "/dashboards/sales/filters", false).Code)
		requireError(t, f.forward(embed, "DELETE", "/dashboards/sales/filters", false), http.StatusForbidden, "read_only", "")
		rec := f.forward(reader, "POST", "/api/meta/tables", false)
		requireError(t, rec, http.StatusForbidden, "insufficient_scope", "")
		require.Equal(t, `Bearer error="insufficient_scope", scope="meta:write"`, rec.Header().Get("WWW-Authenticate"))
		require.Equal(t, http.StatusOK, f.forward(writer, "POST", "/api/meta/tables", false).Code)
		requireError(t, f.forward(writer, "PUT", "/api/meta/tables", false), http.StatusForbidden, "read_only", "")
	})
}

// A3: an app-view token reaches its app's paths below /api/apps/{appId}
// and, under view/api, only what the app's whitelist allows; the app-less
// paths bind to no app and no app's token reaches them.
func TestVerify_AppTokenWhitelistHoldsUnderTheAppPrefix(t *testing.T) {
	f := newAPI(t, withGateway(policy.Config{AppAPIWhitelist: map[string][]string{"analytics": {"/datasets/*"}}}, &reasons{}))
	app := f.mintDirect(token.Claims{Kind: token.KindAppView, AppID: "analytics", ReadOnly: true, TID: "t-app"}, time.Hour)
	for _, uri := range []string{
		"/api/apps/analytics/view", "/api/apps/analytics/view/-/app.js",
		"/api/apps/analytics/contents/logo.png", "/api/apps/analytics/view/api/datasets/orders",
	} {
		require.Equal(t, http.StatusOK, f.forward(app, "GET", uri, true).Code, uri)
	}
	for _, uri := range []string{
		"/api/apps/analytics/view/api/admin/users", // the seed's path past the whitelist
		"/api/apps/analytics/view/api/datasets/orders/rows",
		"/api/apps/analytics/view/api",
		"/api/apps/analytics/settings",
		"/view/api/datasets/orders", "/view/-/app.js", "/contents/logo.png", // app-less
		"/api/apps/finance/contents/logo.png", "/api/apps/finance/view/-/app.js",
	} {
		rec := f.forward(app, "GET", uri, true)
		requireError(t, rec, http.StatusForbidden, "forbidden", "")
		require.Empty(t, rec.Header().Get(httpapi.HeaderSubject), uri)
	}
}

// A6: characters that an upstream normalising to NFKC would read as a dot,
// a separator or another letter are refused in forwarded paths, like the
// ASCII traversals.
func TestVerify_FullWidthDotsAndSlashesCannotTraverse(t *testing.T) {
	f := newAPI(t, withGateway(policy.Config{AppAPIWhitelist: map[string][]string{"analytics": {"/datasets/*"}}}, &reasons{}))
	embed := f.mint(nil).AccessToken
	app := f.mintDirect(token.Claims{Kind: token.KindAppView, AppID: "analytics", ReadOnly: true, TID: "t-app"}, time.Hour)
	for _, c := range []struct{ tok, uri string }{
		{embed, "/dashboards/sales/%EF%BC%8E%EF%BC%8E/hr"},             // ．．
		{embed, "/dashboards/sales/%EF%BC%8E%EF%BC%8E%EF%BC%8Fhr"},     // ．．／
		{embed, "/dashboards/sales/..%EF%BC%BChr"},                     // ＼
		{app, "/api/apps/analytics/view/api/datasets/x%EF%BC%8Fadmin"}, // ／ within one whitelisted segment
		{app, "/api/apps/analytics/view/api/datasets/%EF%BD%81dmin"},   // ａ
		{app, "/api/apps/analytics/contents/%E2%80%A4%E2%80%A4/x"},     // one dot leader ․
	} {
		requireError(t, f.forward(c.tok, "GET", c.uri, true), http.StatusForbidden, "forbidden", "")
	}
	require.Equal(t, http.StatusOK, f.forward(embed, "GET", "/dashboards/sales/caf%C3%A9", true).Code, "a plain non-ASCII letter stays allowed")
}

// A6: the identity headers equal the signed claims. The mint refuses what
// a header cannot carry byte for byte; a token signed elsewhere that
// carries it is refused at verification, never handed on trimmed.
func TestMint_SubjectAHeaderWouldAlterIsRefused(t *testing.T) {
	f := newAPI(t)
	for field, extra := range map[string]map[string]any{
		"sub":                          {"sub": " admin "},
		"sub#tab":                      {"sub": "admin\t"},
		"sub#crlf":                     {"sub": "admin\r\nX-Sigil-Kind: api"},
		"sub#nul":                      {"sub": "admin\x00"},
		"sub#del":                      {"sub": "admin\x7f"},
		"sub#nbsp":                     {"sub": "\u00a0admin"},
		"params.region":                {"params": map[string]any{"region": "EU "}},
		"params.region#lf":             {"params": map[string]any{"region": "E\nU"}},
		"params":                       {"params": map[string]any{" region": "EU"}},
		"securityPolicies[0].name":     {"securityPolicies": []map[string]any{{"name": "rls "}}},
		"securityPolicies[0].params.t": {"securityPolicies": []map[string]any{{"name": "rls", "params": map[string]any{"t": "\tt1"}}}},
	} {
		want, _, _ := strings.Cut(field, "#")
		rec := f.postJSON("/api/v1/token", f.mintBody(extra))
		requireError(t, rec, http.StatusBadRequest, "invalid_request", want)
	}
	// What a header carries as it is still mints.
	tok := f.mint(map[string]any{"sub": "ad min ü", "params": map[string]any{"region": "E U"}}).AccessToken
	rec := f.verify(tok)
	require.Equal(t, http.StatusOK, rec.Code)
	require.Equal(t, "ad min ü", rec.Header().Get(httpapi.HeaderSubject))
}

func TestVerify_TokenWithUntrimmedSubjectIsRefused(t *testing.T) {
	f := newAPI(t)
	for _, mods := range []map[string]any{
		{"sub": " admin "},
		{"sub": "admin\r\n"},
		{"sub": "admin\u0085"},
		{"dashboardId": "sales "},
		{"params": map[string]any{"region": "EU\x00"}},
		{"securityPolicies": []map[string]any{{"name": " rls"}}},
		{"tt": "report", "reportId": "q3\n", "dashboardId": nil, "tid": "t1"},
		{"tt": "app-view", "appId": " A", "dashboardId": nil, "tid": "t1"},
		{"tt": "api", "sub": "alice ", "scope": "meta:read", "dashboardId": nil, "tid": "t1"},
		{"scope": "dashboard:view "},
	} {
		tok := f.genuine(mods)
		rec := f.verify(tok)
		require.Equal(t, http.StatusUnauthorized, rec.Code, "%v: %s", mods, rec.Body.String())
		require.Empty(t, rec.Header().Get(httpapi.HeaderSubject))
		require.Equal(t, http.StatusUnauthorized, f.forward(tok, "GET", "/dashboards/sales", true).Code)
	}
	// The same claims, well formed, verify: the refusal is the value's.
	require.Equal(t, http.StatusOK, f.verify(f.genuine(map[string]any{"sub": "admin"})).Code)
}

func TestRegistry_CreateRefusesValuesAHeaderWouldAlter(t *testing.T) {
	rf := newRegAPI(t, nil)
	for _, c := range []struct{ body, field string }{
		{`{"type":"report","reportId":" q3","name":"r"}`, "reportId"},
		{`{"type":"report","reportId":"q3 ","name":"r"}`, "reportId"},
		{`{"type":"app-view","appId":"A\t","name":"a"}`, "appId"},
		{`{"type":"report","reportId":"q3","name":" r"}`, "name"},
		{`{"type":"api","owner":"alice ","scopes":["meta:read"],"name":"k","expiresIn":"1d"}`, "owner"},
		{`{"type":"api","owner":"\u00a0alice","scopes":["meta:read"],"name":"k","expiresIn":"1d"}`, "owner"},
	} {
		rec := rf.as(clients.AdminID, http.MethodPost, "/api/tokens", c.body)
		requireError(t, rec, http.StatusBadRequest, "invalid_request", c.field)
	}
}

// A7: one credential per request (RFC 6750 §2). Whichever one a gateway, sigil or the
// upstream would read, a second one makes the request ambiguous: 400.
func TestVerify_TwoCredentialsAreRefused(t *testing.T) {
	f := newAPI(t, withGateway(policy.Config{}, &reasons{}), withView(viewTemplate))
	good := f.mint(nil).AccessToken
	other := f.mint(map[string]any{"sub": "someone-else"}).AccessToken
	report := f.untracked(token.Claims{Kind: token.KindReport, ReportID: "q3", TID: "t-rep"}, time.Hour)

	send := func(method, target string, hdr http.Header) *httptest.ResponseRecorder {
		t.Helper()
		r := httptest.NewRequest(method, target, nil)
		for k, vs := range hdr {
			r.Header[k] = vs
		}
		return f.serve(r)
	}
	bearer := func(toks ...string) http.Header {
		h := http.Header{}
		for _, tok := range toks {
			h.Add("Authorization", "Bearer "+tok)
		}
		return h
	}
	with := func(h http.Header, kv ...string) http.Header {
		for i := 0; i < len(kv); i += 2 {
			h.Set(kv[i], kv[i+1])
		}
		return h
	}
	for name, c := range map[string]struct {
		target string
		hdr    http.Header
		field  string
	}{
		"TwoAuthorizationHeaders":    {"/api/v1/verify", bearer(good, other), "Authorization"},
		"SameTokenTwice":             {"/api/v1/verify", bearer(good, good), "Authorization"},
		"BearerAndBasic":             {"/api/v1/verify", http.Header{"Authorization": {"Bearer " + good, "Basic c2FsZXM6c2VjcmV0"}}, "Authorization"},
		"BearerAndQuery":             {"/api/v1/verify?token=" + other, bearer(good), "token"},
		"BearerAndEmptyQuery":        {"/api/v1/verify?token=", bearer(good), "token"},
		"TwoQueryTokens":             {"/api/v1/verify?token=" + good + "&token=" + other, nil, "token"},
		"EscapedQueryName":           {"/api/v1/verify?%74oken=" + other, bearer(good), "token"},
		"SemicolonQuery":             {"/api/v1/verify?a=1;token=" + other, bearer(good), "token"},
		"BearerAndForwardedURIToken": {"/api/v1/verify", with(bearer(good), "X-Forwarded-Method", "GET", "X-Forwarded-Uri", "/dashboards/sales?token="+other), "token"},
		"BearerAndOriginalURIToken":  {"/api/v1/verify", with(bearer(good), "X-Original-Method", "GET", "X-Original-URI", "/dashboards/sales?token="+other), "token"},
		"QueryAndForwardedURIToken":  {"/api/v1/verify?token=" + good, with(http.Header{}, "X-Forwarded-Method", "GET", "X-Forwarded-Uri", "/dashboards/sales?token="+other), "token"},
		"TwoTokensInForwardedURI":    {"/api/v1/verify", with(http.Header{}, "X-Original-Method", "GET", "X-Original-URI", "/dashboards/sales?token="+good+"&token="+other), "X-Original-URI"},
		"InvalidateTwoHeaders":       {"/api/v1/invalidate-token", bearer(good, other), "Authorization"},
		"InvalidateBearerAndQuery":   {"/api/v1/invalidate-token?token=" + other, bearer(good), "token"},
		"RefreshTwoHeaders":          {"/api/v1/token/refresh", bearer(good, other), "Authorization"},
		"RefreshBearerAndQuery":      {"/api/v1/token/refresh?token=" + other, bearer(good), "token"},
		"ViewPathAndBearer":          {"/view/" + report, bearer(good), "token"},
		"ViewPathAndQuery":           {"/view/" + report + "?token=" + other, nil, "token"},
		"ViewPathAndTwoHeaders":      {"/view/" + report, bearer(good, other), "Authorization"},
		// Forms an outside attack run found accepted: another scheme beside a
		// query token, RFC 6750's access_token, a name in another case.
		"BasicAndQuery":                {"/api/v1/verify?token=" + good, http.Header{"Authorization": {"Basic c2FsZXM6c2VjcmV0"}}, "token"},
		"OtherSchemeAndForwardedURI":   {"/api/v1/verify", with(http.Header{"Authorization": {"Token " + other}}, "X-Original-Method", "GET", "X-Original-URI", "/dashboards/sales?token="+good), "token"},
		"BearerAndAccessTokenInURI":    {"/api/v1/verify", with(bearer(good), "X-Original-Method", "GET", "X-Original-URI", "/dashboards/sales?access_token="+other), "token"},
		"BearerAndUpperCaseTokenInURI": {"/api/v1/verify", with(bearer(good), "X-Original-Method", "GET", "X-Original-URI", "/dashboards/sales?TOKEN="+other), "token"},
		"TokenAndAccessTokenInURI":     {"/api/v1/verify", with(http.Header{}, "X-Original-Method", "GET", "X-Original-URI", "/dashboards/sales?token="+good+"&access_token="+other), "X-Original-URI"},
		"InvalidateBasicAndQuery":      {"/api/v1/invalidate-token?token=" + other, http.Header{"Authorization": {"Basic c2FsZXM6c2VjcmV0"}}, "token"},
		"ViewPathAndBasic":             {"/view/" + report, http.Header{"Authorization": {"Basic c2FsZXM6c2VjcmV0"}}, "token"},
	} {
		t.Run(name, func(t *testing.T) {
			method := http.MethodGet
			if strings.HasPrefix(c.target, "/api/v1/invalidate-token") || strings.HasPrefix(c.target, "/api/v1/token/refresh") {
				method = http.MethodPost
			}
			rec := send(method, c.target, c.hdr)
			requireError(t, rec, http.StatusBadRequest, "invalid_request", c.field)
			require.Empty(t, rec.Header().Get(httpapi.HeaderSubject))
			require.Empty(t, rec.Header().Get("Location"))
		})
	}
	// Nothing was revoked or refreshed by the refused requests.
	for _, tok := range []string{good, other} {
		require.Equal(t, http.StatusOK, f.verify(tok).Code)
	}
	// One credential, any one place, still works.
	require.Equal(t, http.StatusOK, send(http.MethodGet, "/api/v1/verify?token="+good, nil).Code)
	require.Equal(t, http.StatusOK, send(http.MethodGet, "/api/v1/verify", with(http.Header{}, "X-Original-Method", "GET", "X-Original-URI", "/dashboards/sales?lang=de&token="+good)).Code)
	require.Equal(t, http.StatusOK, send(http.MethodGet, "/api/v1/verify", with(bearer(good), "X-Original-Method", "GET", "X-Original-URI", "/dashboards/sales?my_token=1&tokens=2")).Code)
	require.Equal(t, http.StatusFound, send(http.MethodGet, "/view/"+report, nil).Code)
}

// A7, for client authentication too (DESIGN §10): two Authorization headers
// are a 400 whichever one is right, never the first one winning.
func TestClientAuth_TwoAuthorizationHeadersAreRefused(t *testing.T) {
	f := newAPI(t)
	basic := func(id, secret string) string {
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		r.SetBasicAuth(id, secret)
		return r.Header.Get("Authorization")
	}
	for _, second := range []string{basic(clients.AdminID, "wrong"), basic(clients.AdminID, f.adminSecret), "Bearer " + f.mint(nil).AccessToken} {
		r := httptest.NewRequest(http.MethodGet, "/api/clients", nil)
		r.Header["Authorization"] = []string{basic(clients.AdminID, f.adminSecret), second}
		requireError(t, f.serve(r), http.StatusBadRequest, "invalid_request", "Authorization")
	}
	require.Equal(t, http.StatusOK, f.asAdmin(http.MethodGet, "/api/clients", "").Code)
}
