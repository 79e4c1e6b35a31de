package httpapi_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/stretchr/testify/require"

	"github.com/sigil-dev/sigil/internal/httpapi"
	"github.com/sigil-dev/sigil/internal/policy"
	"github.com/sigil-dev/sigil/internal/token"
)

// Attacks an outside black-box run found after issue 12's first fixes,
// each answered here over HTTP (and through nginx in test/e2e).

// A raw "#" in the forwarded URI: nginx forwards the request target as
// sent, and an upstream that takes "#/../q4" as part of the path reads
// another report than the one judged (the judged part stopped at "#").
// Every kind is refused, wherever the "#" is and whatever follows it.
func TestVerify_FragmentInForwardedURICannotReachAnotherResource(t *testing.T) {
	f := newAPI(t, withGateway(policy.Config{AppAPIWhitelist: map[string][]string{"analytics": {"/datasets/*"}}}, &reasons{}))
	report := f.mintDirect(token.Claims{Kind: token.KindReport, ReportID: "q3", TID: "t-rep"}, time.Hour)
	app := f.mintDirect(token.Claims{Kind: token.KindAppView, AppID: "analytics", TID: "t-app"}, time.Hour)
	api := f.mintDirect(token.Claims{Kind: token.KindAPI, RegisteredClaims: jwt.RegisteredClaims{Subject: "alice"}, Scope: "meta:read", TID: "t-api"}, time.Hour)
	embed := f.mint(nil).AccessToken
	for _, c := range []struct{ tok, uri string }{
		{report, "/api/reports/q3#/../q4"},
		{report, "/api/reports/q3/rows#"},
		{report, "/api/reports/q3?x=1#/../../q4"},
		{app, "/api/apps/analytics/view#/../../other/view"},
		{app, "/api/apps/analytics/view/api/datasets/a#/../../admin/users"},
		{embed, "/dashboards/sales#/../mkt"},
		{api, "/api/meta/x#/../../reports/q3"},
	} {
		for _, nginx := range []bool{false, true} {
			rec := f.forward(c.tok, http.MethodGet, c.uri, nginx)
			requireError(t, rec, http.StatusForbidden, "forbidden", "")
			require.Empty(t, rec.Header().Get(httpapi.HeaderSubject), c.uri)
		}
	}
	// A token after the "#" is not a way in either.
	rec := f.do(http.MethodGet, "/api/v1/verify", "", "X-Original-Method", "GET", "X-Original-URI", "/api/reports/q3#?token="+report)
	require.NotEqual(t, http.StatusOK, rec.Code)
	// The same paths without the fragment are the token's own: allowed.
	require.Equal(t, http.StatusOK, f.forward(report, http.MethodGet, "/api/reports/q3", true).Code)
	require.Equal(t, http.StatusOK, f.forward(api, http.MethodGet, "/api/meta/x", true).Code)
}

// A method override (X-HTTP-Method-Override, X-HTTP-Method,
// X-Method-Override, ?_method=) makes many frameworks treat a GET as a
// write: a read-only link must not write through one. The override must be
// allowed like the method itself; an override naming a read method is fine.
func TestVerify_MethodOverrideCannotTurnALinkIntoAWrite(t *testing.T) {
	f := newAPI(t, withGateway(policy.Config{}, &reasons{}))
	report := f.mintDirect(token.Claims{Kind: token.KindReport, ReportID: "q3", TID: "t-rep"}, time.Hour)
	app := f.mintDirect(token.Claims{Kind: token.KindAppView, AppID: "analytics", TID: "t-app"}, time.Hour)
	embed := f.mint(nil).AccessToken
	for _, c := range []struct{ tok, uri string }{
		{report, "/api/reports/q3"}, {app, "/api/apps/analytics/view"}, {embed, "/dashboards/sales"},
	} {
		for _, hdr := range []string{"X-HTTP-Method-Override", "X-HTTP-Method", "X-Method-Override", "x-http-method-override"} {
			for _, m := range []string{"DELETE", "PUT", "POST", "PATCH", "delete", "GET, DELETE"} {
				rec := f.do(http.MethodGet, "/api/v1/verify", "", "Authorization", "Bearer "+c.tok,
					"X-Original-Method", "GET", "X-Original-URI", c.uri, hdr, m)
				requireError(t, rec, http.StatusForbidden, "read_only", "")
				require.Empty(t, rec.Header().Get(httpapi.HeaderSubject))
			}
		}
		for _, q := range []string{"?_method=DELETE", "?a=1&_method=PUT", "?%5Fmethod=PATCH", "?_METHOD=POST", "?x=1;_method=DELETE"} {
			rec := f.forward(c.tok, http.MethodGet, c.uri+q, true)
			requireError(t, rec, http.StatusForbidden, "read_only", "")
		}
		// Overrides that name a read method change nothing.
		rec := f.do(http.MethodGet, "/api/v1/verify", "", "Authorization", "Bearer "+c.tok,
			"X-Original-Method", "GET", "X-Original-URI", c.uri+"?_method=GET", "X-HTTP-Method-Override", "HEAD")
		require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	}
}
