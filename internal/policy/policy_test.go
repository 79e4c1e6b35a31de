package policy_test

import (
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/golang-jwt/jwt/v5"
	"github.com/stretchr/testify/require"

	"github.com/sigil-dev/sigil/internal/policy"
	"github.com/sigil-dev/sigil/internal/token"
)

// reportTok stands for the raw text of the report token of the table.
const reportTok = "eyJhbGciOiJFZERTQSJ9.eyJ0dCI6InJlcG9ydCJ9.c2lnbmF0dXJl"

var (
	appA    = &token.Claims{Kind: token.KindAppView, AppID: "A", ReadOnly: true}
	reportQ = &token.Claims{Kind: token.KindReport, ReportID: "q3"}
	embedS  = &token.Claims{Kind: token.KindEmbed, DashboardID: "sales"}
	apiMeta = &token.Claims{Kind: token.KindAPI, RegisteredClaims: jwt.RegisteredClaims{Subject: "alice"}, Scope: "meta:read"}
	apiBoth = &token.Claims{Kind: token.KindAPI, RegisteredClaims: jwt.RegisteredClaims{Subject: "bob"}, Scope: "report:read meta:read"}
)

func newPolicy(t *testing.T) *policy.Policy {
	t.Helper()
	p, err := policy.New(policy.Config{
		AppAPIWhitelist: map[string][]string{"A": {"/datasets/*", "/queries/**"}, "B": {"/**"}},
		APIRoutes: map[string]string{
			"/api/meta/**": "meta:read", "/api/reports/**": "report:read", "/api/reports/*/export": "report:export",
		},
	})
	require.NoError(t, err)
	return p
}

// TestCheck is the decision table: kind, method, URI → allowed (""), or the denial code.
func TestCheck(t *testing.T) {
	p := newPolicy(t)
	const (
		ok    = ""
		ro    = policy.CodeReadOnly
		no    = policy.CodeForbidden
		scope = policy.CodeInsufficientScope
	)
	rows := []struct {
		claims *token.Claims
		method string
		uri    string
		want   string
	}{
		// app-view: read-only, its own paths only.
		{appA, "GET", "/api/apps/A/view", ok},
		{appA, "HEAD", "/api/apps/A/view", ok},
		{appA, "GET", "/api/apps/A/view/", ok},
		{appA, "GET", "/api/apps/A/view/-/pages/1?token=x", ok},
		{appA, "GET", "/api/apps/A/contents/logo.png", ok},
		{appA, "GET", "/api/apps/A/view/api/datasets/orders", ok},
		{appA, "GET", "/api/apps/A/view/api/queries/a/b/c", ok},
		// The app-less paths bind to no app: no app's token reaches them.
		{appA, "GET", "/view/-/index.html", no},
		{appA, "GET", "/contents/logo.png", no},
		{appA, "GET", "/view/api/datasets/orders", no},
		{appA, "GET", "/api/apps/A/view/pages/1", no},
		{appA, "GET", "/api/apps/A/view/-", no},
		{appA, "GET", "/api/apps/A/contents", no},
		{appA, "GET", "/api/apps/B/contents/logo.png", no},
		{appA, "GET", "/api/apps/B/view/-/index.html", no},
		{appA, "GET", "/api/apps/B/view/api/datasets/orders", no},
		// The whitelist holds under the app's own prefix.
		{appA, "GET", "/api/apps/A/view/api/admin/users", no},
		{appA, "GET", "/api/apps/A/view/api", no},
		{appA, "GET", "/api/apps/A/view/api/datasets/orders/rows", no},
		// Characters an upstream could normalise (NFKC) into . / \ or letters.
		{appA, "GET", "/api/apps/A/view/api/datasets/%EF%BC%8E%EF%BC%8E%EF%BC%8Fadmin", no},
		{appA, "GET", "/api/apps/A/view/-/%EF%BC%8E%EF%BC%8E/%EF%BC%8E%EF%BC%8E/B/view", no},
		{appA, "GET", "/api/apps/A/contents/a%EF%BC%8Fb", no},
		{appA, "GET", "/api/apps/A/contents/a%EF%BC%BCb", no},
		{appA, "GET", "/api/apps/A/contents/caf%C3%A9.png", ok},
		{appA, "POST", "/api/apps/A/view", ro},
		{appA, "PUT", "/view/-/index.html", ro},
		{appA, "DELETE", "/contents/logo.png", ro},
		{appA, "PATCH", "/view/api/datasets/orders", ro},
		{appA, "get", "/api/apps/A/view", ro},
		{appA, "", "/api/apps/A/view", ro},
		{appA, "GET", "/api/apps/B/view", no},
		{appA, "GET", "/api/apps/A", no},
		{appA, "GET", "/api/apps/A/edit", no},
		{appA, "GET", "/api/apps/A/viewer", no},
		{appA, "GET", "/view/api/datasets/orders/rows", no},
		{appA, "GET", "/view/api/secrets", no},
		{appA, "GET", "/view/-", no},
		{appA, "DELETE", "/api/apps/A/view/api/datasets/orders", ro},
		{appA, "POST", "/api/apps/A/contents/logo.png", ro},
		{appA, "GET", "/", no},
		{appA, "GET", "/api/apps/A/view/../../B/view", no},
		{appA, "GET", "/api/apps/A/view/%2e%2e/%2E%2E/B/view", no},
		{appA, "GET", "/api/apps/A/view/..%2f..%2fB/view", no},
		{appA, "GET", "/api/apps/A/view/..%2F..%2FB%2Fview", no},
		{appA, "GET", "/api/apps/A/view/..;/..;/B/view", no},
		{appA, "GET", "/api/apps/A/view/..%5c..%5cB", no},
		{appA, "GET", "/api/apps/A/contents/..\\api", no},
		{appA, "GET", "//api/apps/A/view", no},
		{appA, "GET", "/api/apps//A/view", no},
		{appA, "GET", "/api/apps/A/./view", no},
		{appA, "GET", "/api/apps/%41/view", ok}, // %41 is A: decoded, canonical
		{appA, "GET", "/view/api/datasets%2forders", no},
		{appA, "GET", "/view/api/%252e%252e/secrets", no},
		{appA, "GET", "/contents/%00.png", no},
		{appA, "GET", "/contents/%c0%ae%c0%ae/x", no}, // overlong UTF-8 dots
		{appA, "GET", "/contents/a%zz", no},
		{appA, "GET", "api/apps/A/view", no},
		{appA, "GET", "/contents/a b", no},
		{appA, "GET", "/view/-/%2e%2e/%2e%2e/api/apps/B/view", no},

		// report: its report and /view/{its token}.
		{reportQ, "GET", "/api/reports/q3", ok},
		{reportQ, "GET", "/api/reports/q3/data?token=x", ok},
		{reportQ, "POST", "/api/reports/q3/data", ro},
		{reportQ, "DELETE", "/api/reports/q3", ro},
		{reportQ, "POST", "/api/reports/q3/_cloud-publish", ro},
		{reportQ, "POST", "/api/reports/q3/tokens", ro},
		{reportQ, "DELETE", "/api/reports/q3/tokens/t1", ro},
		{reportQ, "GET", "/api/reports/q3/tokens", ok},
		{reportQ, "HEAD", "/api/reports/q3", ok},
		{reportQ, "DELETE", "/view/" + reportTok, ro},
		{reportQ, "GET", "/view/" + reportTok, ok},
		{reportQ, "GET", "/api/reports/q4", no},
		{reportQ, "GET", "/api/reports/q3x", no},
		{reportQ, "GET", "/api/reports", no},
		{reportQ, "GET", "/view/another.token.here", no},
		{reportQ, "GET", "/api/reports/q3/../q4", no},
		{reportQ, "GET", "/api/reports/q3/%2e%2e/q4", no},
		{reportQ, "GET", "/api/reports/q3%2f..%2fq4", no},
		{reportQ, "GET", "/api/reports//q3", no},

		// embed: under /dashboards/{dashboardId}.
		{embedS, "GET", "/dashboards/sales", ok},
		{embedS, "GET", "/dashboards/sales/", ok},
		{embedS, "POST", "/dashboards/sales/filters", ro},
		{embedS, "HEAD", "/dashboards/sales/filters", ok},
		{embedS, "GET", "/dashboards/sales/widgets/3?x=1", ok},
		{embedS, "GET", "/dashboards/hr", no},
		{embedS, "GET", "/dashboards/salesforce", no},
		{embedS, "GET", "/dashboards/sales/../hr", no},
		{embedS, "GET", "/dashboards/sales/%2e%2e/hr", no},
		{embedS, "GET", "/dashboards/sales%2f..%2fhr", no},
		{embedS, "GET", "/dashboards/sales//..//hr", no},
		{embedS, "GET", "/api/reports/q3", no},

		// api: route → scope.
		{apiMeta, "GET", "/api/meta/tables", ok},
		{apiMeta, "GET", "/api/meta", ok},
		{apiMeta, "GET", "/api/reports/q3", scope},
		{apiMeta, "GET", "/api/meta/../reports/q3", no},
		{apiMeta, "GET", "/api/meta/%2e%2e/reports/q3", no},
		{apiMeta, "GET", "/api/users", no},
		{apiMeta, "GET", "/api/metadata", no},
		{apiBoth, "GET", "/api/reports/q3", ok},
		{apiBoth, "GET", "/api/reports/q3/export", scope},
		{apiBoth, "GET", "/api/meta/x", ok},
		{apiMeta, "POST", "/api/meta/tables", ro},
		{apiMeta, "DELETE", "/api/meta/tables", ro},
		{apiBoth, "PUT", "/api/reports/q3", ro},
	}
	require.GreaterOrEqual(t, len(rows), 40)
	for _, r := range rows {
		err := p.Check(r.claims, policy.Request{Method: r.method, URI: r.uri, Token: reportTok})
		name := r.claims.Kind + " " + r.method + " " + r.uri
		if r.want == ok {
			require.NoError(t, err, name)
			continue
		}
		d, isDenied := policy.IsDenied(err)
		require.True(t, isDenied, "%s: want %s, got %v", name, r.want, err)
		require.Equal(t, r.want, d.Code, name)
		require.NotEmpty(t, d.Message, name)
		require.NotContains(t, d.Message, reportTok, name)
	}
}

func TestCheck_InsufficientScopeNamesMissing(t *testing.T) {
	p := newPolicy(t)
	err := p.Check(apiMeta, policy.Request{Method: http.MethodGet, URI: "/api/reports/q3/export"})
	d, ok := policy.IsDenied(err)
	require.True(t, ok)
	require.Equal(t, policy.CodeInsufficientScope, d.Code)
	require.ElementsMatch(t, []string{"report:read", "report:export"}, strings.Fields(d.Scope))
}

func TestCheck_Defaults(t *testing.T) {
	p, err := policy.New(policy.Config{})
	require.NoError(t, err)
	require.NoError(t, p.Check(embedS, policy.Request{Method: "GET", URI: "/dashboards/sales/x"}))
	require.NoError(t, p.Check(apiMeta, policy.Request{Method: "GET", URI: "/api/meta/x"}))
	_, denied := policy.IsDenied(p.Check(apiMeta, policy.Request{Method: "GET", URI: "/api/reports/x"}))
	require.True(t, denied)
	// No whitelist: no /view/api path at all.
	_, denied = policy.IsDenied(p.Check(appA, policy.Request{Method: "GET", URI: "/view/api/datasets/orders"}))
	require.True(t, denied)

	custom, err := policy.New(policy.Config{DashboardPrefix: "/embed/{dashboardId}/"})
	require.NoError(t, err)
	require.NoError(t, custom.Check(embedS, policy.Request{Method: "GET", URI: "/embed/sales/w"}))
	_, denied = policy.IsDenied(custom.Check(embedS, policy.Request{Method: "GET", URI: "/dashboards/sales"}))
	require.True(t, denied)
}

// Binding claims that are not one path segment never match a path.
func TestCheck_HostileBindings(t *testing.T) {
	p := newPolicy(t)
	for _, c := range []*token.Claims{
		{Kind: token.KindAppView, AppID: "B/view/x"},
		{Kind: token.KindAppView, AppID: ".."},
		{Kind: token.KindReport, ReportID: "q3/../q4"},
		{Kind: token.KindEmbed, DashboardID: "sales/../hr"},
	} {
		for _, uri := range []string{"/api/apps/B/view/x/view", "/api/reports/q3/../q4", "/api/reports/q3/q4", "/dashboards/sales/hr", "/api/apps/../view"} {
			err := p.Check(c, policy.Request{Method: "GET", URI: uri})
			_, denied := policy.IsDenied(err)
			require.True(t, denied, "%+v %s", c, uri)
		}
	}
}

func TestNew_Invalid(t *testing.T) {
	for name, cfg := range map[string]policy.Config{
		"PrefixWithoutPlaceholder": {DashboardPrefix: "/dashboards"},
		"PrefixRelative":           {DashboardPrefix: "dashboards/{dashboardId}"},
		"PrefixDotDot":             {DashboardPrefix: "/a/../{dashboardId}"},
		"WhitelistBadGlob":         {AppAPIWhitelist: map[string][]string{"A": {"/[x"}}},
		"WhitelistRelative":        {AppAPIWhitelist: map[string][]string{"A": {"datasets/*"}}},
		"RouteBadGlob":             {APIRoutes: map[string]string{"/api/[": "meta:read"}},
		"RouteEmptyScope":          {APIRoutes: map[string]string{"/api/**": ""}},
		"RouteTwoScopes":           {APIRoutes: map[string]string{"/api/**": "a b"}},
	} {
		_, err := policy.New(cfg)
		require.Error(t, err, name)
	}
}

func TestClean(t *testing.T) {
	for raw, want := range map[string]string{
		"/":          "/",
		"/a/b":       "/a/b",
		"/a/b/":      "/a/b/",
		"/a%20b/%41": "/a b/A",
		"/caf%C3%A9": "/café",
		"/a/...":     "/a/...",
		"/a/..b":     "/a/..b",
	} {
		got, ok := policy.Clean(raw)
		require.True(t, ok, raw)
		require.Equal(t, want, got, raw)
	}
	for _, raw := range []string{"", "a", "//", "/a//b", "/a/./b", "/a/../b", "/..", "/%2e", "/a/%2E%2e", "/a%2fb", "/a%5cb", "/a\\b", "/%00", "/%", "/%g1", "/%ff", "/%25%32%65", "/a/%252f", "/a\x01", "/é", "/a/..;x/b", "/a/.;/b"} {
		_, ok := policy.Clean(raw)
		require.False(t, ok, "%q", raw)
	}
}

// TestCheck_MethodsByKindAndPathClass is the method table (DESIGN §1, §10):
// for every kind, every method on every class of path. Report and app-view
// tokens travel in URLs and public pages: they read (GET, HEAD) and nothing
// else, anywhere. Embed tokens use the methods of the dashboard prefix and
// API tokens those of the route (GET and HEAD unless configured).
func TestCheck_MethodsByKindAndPathClass(t *testing.T) {
	def := newPolicy(t)
	withWrites, err := policy.New(policy.Config{
		DashboardPrefix: "GET HEAD POST /dashboards/{dashboardId}",
		AppAPIWhitelist: map[string][]string{"A": {"/datasets/*"}},
		APIRoutes:       map[string]string{"/api/meta/**": "meta:read", "POST PUT /api/meta/**": "meta:write"},
	})
	require.NoError(t, err)
	apiWriter := &token.Claims{Kind: token.KindAPI, RegisteredClaims: jwt.RegisteredClaims{Subject: "w"}, Scope: "meta:read meta:write"}

	// Path classes: each kind's own paths, then everyone else's.
	paths := map[string]string{
		"dashboard":   "/dashboards/sales/w",
		"report":      "/api/reports/q3/data",
		"publish":     "/api/reports/q3/_cloud-publish",
		"tokens":      "/api/reports/q3/tokens/t1",
		"reportView":  "/view/" + reportTok,
		"appView":     "/api/apps/A/view",
		"appAsset":    "/api/apps/A/view/-/app.js",
		"appContents": "/api/apps/A/contents/logo.png",
		"appAPI":      "/api/apps/A/view/api/datasets/orders",
		"meta":        "/api/meta/tables",
		"other":       "/admin/users",
	}
	own := map[*token.Claims][]string{
		embedS:  {"dashboard"},
		reportQ: {"report", "publish", "tokens", "reportView"},
		appA:    {"appView", "appAsset", "appContents", "appAPI"},
		apiMeta: {"meta"},
	}
	const (
		ok = ""
		ro = policy.CodeReadOnly
		no = policy.CodeForbidden
	)
	methods := []string{"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE", "get", ""}
	check := func(p *policy.Policy, c *token.Claims, method, class, want string) {
		t.Helper()
		err := p.Check(c, policy.Request{Method: method, URI: paths[class], Token: reportTok})
		name := c.Kind + " " + method + " " + class
		if want == ok {
			require.NoError(t, err, name)
			return
		}
		d, denied := policy.IsDenied(err)
		require.True(t, denied, "%s: want %s, got %v", name, want, err)
		require.Equal(t, want, d.Code, name)
	}
	n := 0
	for c, mine := range own {
		for _, m := range methods {
			read := m == "GET" || m == "HEAD"
			for class := range paths {
				want := no
				switch {
				case c.Kind == token.KindAPI && !strings.HasPrefix(paths[class], "/api/meta/") && !strings.HasPrefix(paths[class], "/api/reports/"):
					want = no // no route: forbidden whatever the method
				case c.Kind == token.KindAPI && read && strings.HasPrefix(paths[class], "/api/reports/"):
					want = policy.CodeInsufficientScope // report:read, which apiMeta lacks
				case !read:
					want = ro
				case slices.Contains(mine, class):
					want = ok
				}
				check(def, c, m, class, want)
				n++
			}
		}
	}
	require.Equal(t, 4*len(methods)*len(paths), n)

	// Configured writes: the dashboard prefix and an API route name their methods.
	for _, m := range methods {
		want := ro
		if m == "GET" || m == "HEAD" || m == "POST" {
			want = ok
		}
		check(withWrites, embedS, m, "dashboard", want)
		switch m {
		case "GET", "HEAD":
			check(withWrites, apiMeta, m, "meta", ok)
			check(withWrites, apiWriter, m, "meta", ok)
		case "POST", "PUT":
			d, denied := policy.IsDenied(withWrites.Check(apiMeta, policy.Request{Method: m, URI: paths["meta"]}))
			require.True(t, denied, m)
			require.Equal(t, policy.CodeInsufficientScope, d.Code, m)
			require.Equal(t, "meta:write", d.Scope, m)
			check(withWrites, apiWriter, m, "meta", ok)
		default:
			check(withWrites, apiWriter, m, "meta", ro)
		}
		// Report and app-view tokens stay read-only whatever the configuration.
		if m != "GET" && m != "HEAD" {
			check(withWrites, reportQ, m, "report", ro)
			check(withWrites, appA, m, "appView", ro)
		}
	}
}

func TestNew_MethodRules(t *testing.T) {
	for name, cfg := range map[string]policy.Config{
		"PrefixLowerCaseMethod": {DashboardPrefix: "get /dashboards/{dashboardId}"},
		"PrefixBadMethod":       {DashboardPrefix: "GET, /dashboards/{dashboardId}"},
		"PrefixOnlyMethods":     {DashboardPrefix: "GET HEAD"},
		"RouteBadMethod":        {APIRoutes: map[string]string{"G*T /api/**": "meta:read"}},
		"RouteOnlyMethods":      {APIRoutes: map[string]string{"GET": "meta:read"}},
	} {
		_, err := policy.New(cfg)
		require.Error(t, err, name)
	}
	p, err := policy.New(policy.Config{DashboardPrefix: "  POST   /embed/{dashboardId}  "})
	require.NoError(t, err)
	require.NoError(t, p.Check(embedS, policy.Request{Method: "POST", URI: "/embed/sales"}))
	d, _ := policy.IsDenied(p.Check(embedS, policy.Request{Method: "GET", URI: "/embed/sales"}))
	require.Equal(t, policy.CodeReadOnly, d.Code)
}
