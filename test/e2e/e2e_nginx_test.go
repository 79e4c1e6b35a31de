package e2e_test

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sigil-dev/sigil/test/nginxserver"
	"github.com/sigil-dev/sigil/test/openapicheck"
)

// e2eUpstream is the protected application behind nginx: it answers every
// request with the request URI and the X-Sigil-* headers it received, and
// remembers which URIs reached it.
type e2eUpstream struct {
	srv  *httptest.Server
	mu   sync.Mutex
	seen []string
}

type e2eUpstreamAnswer struct {
	URI     string            `json:"uri"`
	Method  string            `json:"method"`
	Headers map[string]string `json:"headers"`
}

func e2eStartUpstream(t testing.TB) *e2eUpstream {
	t.Helper()
	u := &e2eUpstream{}
	u.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u.mu.Lock()
		u.seen = append(u.seen, r.Method+" "+r.RequestURI)
		u.mu.Unlock()
		ans := e2eUpstreamAnswer{URI: r.RequestURI, Method: r.Method, Headers: map[string]string{}}
		for k, v := range r.Header {
			if strings.HasPrefix(k, "X-Sigil-") {
				ans.Headers[k] = strings.Join(v, ",")
			}
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("X-Upstream", "app")
		_ = json.NewEncoder(w).Encode(ans)
	}))
	t.Cleanup(u.srv.Close)
	return u
}

func (u *e2eUpstream) reached(method, uri string) bool {
	u.mu.Lock()
	defer u.mu.Unlock()
	for _, s := range u.seen {
		if s == method+" "+uri {
			return true
		}
	}
	return false
}

// e2eGateway is sigil and an upstream behind a real nginx using configs/nginx/sigil-auth.conf.
type e2eGateway struct {
	sigil    *e2eInstance
	admin    string
	upstream *e2eUpstream
	nginx    *nginxserver.Server
}

func e2eStartGateway(t *testing.T) *e2eGateway {
	t.Helper()
	gomod, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		t.Fatalf("go env GOMOD: %v", err)
	}
	confDir := filepath.Join(filepath.Dir(strings.TrimSpace(string(gomod))), "configs", "nginx")
	snippet, logConf := filepath.Join(confDir, "sigil-auth.conf"), filepath.Join(confDir, "sigil-log.conf")
	g := &e2eGateway{}
	g.sigil = e2eStart(t, map[string]string{
		"SIGIL_TOKENS_LEEWAY":              "1s",
		"SIGIL_VIEW_URL_TEMPLATE":          "https://viewer.example.com/reports/{reportId}?token={token}",
		"SIGIL_GATEWAY_APP_API_WHITELIST":  "A=/datasets/*",
		"SIGIL_GATEWAY_API_ROUTES":         "/api/meta/**=meta:read,/api/reports/**=report:read",
		"SIGIL_GATEWAY_DASHBOARD_PREFIX":   "/dashboards/{dashboardId}",
		"SIGIL_REGISTRY_JANITOR_INTERVAL":  "1h",
		"SIGIL_REVOCATION_RESYNC_INTERVAL": "1m",
	})
	g.admin = g.sigil.AdminSecret(t)
	g.upstream = e2eStartUpstream(t)
	sigilHost := strings.TrimPrefix(g.sigil.URL, "http://")
	appHost := strings.TrimPrefix(g.upstream.srv.URL, "http://")
	// The shipped files as the snippet's header tells: the log format in
	// http { }, the snippet in the server; logs/access.log is the file
	// nginxserver's AccessLog reads (relative to nginx's prefix).
	g.nginx = nginxserver.Start(t, fmt.Sprintf(`
    include %s;
    upstream sigil { server %s; keepalive 4; }
    upstream app { server %s; }
    server {
        listen 127.0.0.1:%s;
        access_log logs/access.log sigil;
        include %s;
        location / { proxy_pass http://app; }
    }`, logConf, sigilHost, appHost, nginxserver.PortPlaceholder, snippet))
	return g
}

// e2eNginxClient talks to nginx, whose answers are the upstream's or
// nginx's own, so it does not hold them to sigil's OpenAPI document;
// requests to sigil itself go through e2eClient, which does.
var e2eNginxClient = &http.Client{Timeout: 10 * time.Second}

// send sends method rawURI (path and query exactly as given, no cleaning) to nginx.
func (g *e2eGateway) send(t testing.TB, method, rawURI string, hdr map[string]string) e2eResponse {
	t.Helper()
	h := http.Header{}
	for k, v := range hdr {
		h.Set(k, v)
	}
	return g.sendHeader(t, method, rawURI, h)
}

// sendHeader is send with any header (a field may repeat).
func (g *e2eGateway) sendHeader(t testing.TB, method, rawURI string, hdr http.Header) e2eResponse {
	t.Helper()
	req, err := http.NewRequest(method, g.nginx.URL(), nil)
	if err != nil {
		t.Fatal(err)
	}
	req.URL = &url.URL{Scheme: "http", Host: g.nginx.Addr(), Opaque: rawURI}
	for k, v := range hdr {
		req.Header[k] = v
	}
	resp, err := e2eNginxClient.Do(req)
	if err != nil {
		path, _, _ := strings.Cut(rawURI, "?")
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	var b strings.Builder
	buf := make([]byte, 4096)
	for {
		n, err := resp.Body.Read(buf)
		b.Write(buf[:n])
		if err != nil {
			break
		}
	}
	return e2eResponse{Status: resp.StatusCode, Header: resp.Header, Body: b.String()}
}

func (g *e2eGateway) adminHdr() map[string]string {
	return map[string]string{"Authorization": "Basic " + base64.StdEncoding.EncodeToString([]byte("admin:"+g.admin))}
}

// registered creates a registered token through POST /api/tokens and returns its JWT.
func (g *e2eGateway) registered(t testing.TB, body string) string {
	t.Helper()
	r := e2eDo(t, http.MethodPost, g.sigil.URL+"/api/tokens", body, g.adminHdr())
	if r.Status != http.StatusCreated {
		t.Fatalf("POST /api/tokens %s: status %d: %s", body, r.Status, r.Body)
	}
	var out struct {
		Token string `json:"token"`
	}
	if err := json.Unmarshal([]byte(r.Body), &out); err != nil || out.Token == "" {
		t.Fatalf("POST /api/tokens: no token in %s (%v)", r.Body, err)
	}
	return out.Token
}

// mintEmbed mints an embed token for dashboard id with extra request members.
func (g *e2eGateway) mintEmbed(t testing.TB, id, secret, extra string) string {
	t.Helper()
	r := e2eDo(t, http.MethodPost, g.sigil.URL+"/api/v1/token",
		fmt.Sprintf(`{"dashboardId":%q,"dashboardSecret":%q%s}`, id, secret, extra), nil)
	if r.Status != http.StatusOK {
		t.Fatalf("mint for %s: status %d: %s", id, r.Status, r.Body)
	}
	var out struct {
		AccessToken string `json:"accessToken"`
	}
	if err := json.Unmarshal([]byte(r.Body), &out); err != nil || out.AccessToken == "" {
		t.Fatalf("mint: no accessToken in %s (%v)", r.Body, err)
	}
	return out.AccessToken
}

// wantUpstream checks a 200 that came from the upstream for uri, and returns what it saw.
func wantUpstream(t testing.TB, r e2eResponse, what, uri string) e2eUpstreamAnswer {
	t.Helper()
	if r.Status != http.StatusOK || r.Header.Get("X-Upstream") != "app" {
		t.Fatalf("%s: status %d (X-Upstream %q), want 200 from the upstream: %s", what, r.Status, r.Header.Get("X-Upstream"), r.Body)
	}
	var ans e2eUpstreamAnswer
	if err := json.Unmarshal([]byte(r.Body), &ans); err != nil {
		t.Fatalf("%s: upstream body %q: %v", what, r.Body, err)
	}
	if ans.URI != uri {
		t.Fatalf("%s: upstream saw %q, want %q", what, ans.URI, uri)
	}
	return ans
}

// wantDenied checks a denial that never reached the upstream.
func (g *e2eGateway) wantDenied(t testing.TB, r e2eResponse, what, method, uri string, status int) {
	t.Helper()
	if r.Status != status {
		t.Fatalf("%s: %s %s: status %d, want %d: %s", what, method, uri, r.Status, status, r.Body)
	}
	if r.Header.Get("X-Upstream") != "" || g.upstream.reached(method, uri) {
		t.Fatalf("%s: %s %s reached the upstream", what, method, uri)
	}
}

func decodeSigilJSON(t testing.TB, v string) any {
	t.Helper()
	b, err := base64.RawURLEncoding.DecodeString(v)
	if err != nil {
		t.Fatalf("X-Sigil header %q: %v", v, err)
	}
	var out any
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatalf("X-Sigil header %q: %v", v, err)
	}
	return out
}

func TestE2E_Nginx(t *testing.T) {
	g := e2eStartGateway(t)
	base := g.sigil.URL
	salesSecret := e2eCreateClient(t, base, g.admin, "sales")

	embed := g.mintEmbed(t, "sales", salesSecret,
		`,"sub":"user-7","params":{"region":"EU","locale":"de-DE"},"securityPolicies":[{"name":"rls","params":{"tenant":"t1"}}]`)
	appA := g.registered(t, `{"type":"app-view","name":"a-view","appId":"A"}`)
	report := g.registered(t, `{"type":"report","name":"r1","reportId":"R1"}`)
	if r := e2eDo(t, http.MethodPut, base+"/api/owners/alice/roles/api-tokens", "", g.adminHdr()); r.Status/100 != 2 {
		t.Fatalf("grant api-tokens to alice: %d %s", r.Status, r.Body)
	}
	api := g.registered(t, `{"type":"api","name":"k1","owner":"alice","scopes":["meta:read"],"expiresIn":"1d"}`)

	t.Run("ValidTokenReachesUpstreamWithIdentity", func(t *testing.T) {
		uri := "/dashboards/sales/widgets?x=1"
		ans := wantUpstream(t, g.send(t, "GET", uri, e2eBearer(embed)), "embed", uri)
		h := ans.Headers
		for k, want := range map[string]string{
			"X-Sigil-Subject": "user-7", "X-Sigil-Kind": "embed", "X-Sigil-Resource": "dashboard:sales", "X-Sigil-Scope": "dashboard:view",
		} {
			if h[k] != want {
				t.Fatalf("upstream got %s=%q, want %q (all: %v)", k, h[k], want, h)
			}
		}
		if got := decodeSigilJSON(t, h["X-Sigil-Params"]); fmt.Sprint(got) != fmt.Sprint(map[string]any{"locale": "de-DE", "region": "EU"}) {
			t.Fatalf("X-Sigil-Params = %v", got)
		}
		if got := decodeSigilJSON(t, h["X-Sigil-Policies"]); fmt.Sprint(got) != fmt.Sprint([]any{map[string]any{"name": "rls", "params": map[string]any{"tenant": "t1"}}}) {
			t.Fatalf("X-Sigil-Policies = %v", got)
		}
		ans = wantUpstream(t, g.send(t, "GET", "/api/apps/A/view", e2eBearer(appA)), "app-view", "/api/apps/A/view")
		if ans.Headers["X-Sigil-Kind"] != "app-view" || ans.Headers["X-Sigil-Resource"] != "app:A" {
			t.Fatalf("app-view identity: %v", ans.Headers)
		}
		if r := g.send(t, "HEAD", "/api/apps/A/view/-/index.html", e2eBearer(appA)); r.Status != http.StatusOK || r.Header.Get("X-Upstream") != "app" || !g.upstream.reached("HEAD", "/api/apps/A/view/-/index.html") {
			t.Fatalf("app-view HEAD: %d %v", r.Status, r.Header)
		}
		wantUpstream(t, g.send(t, "GET", "/api/apps/A/view/api/datasets/orders", e2eBearer(appA)), "whitelisted app API", "/api/apps/A/view/api/datasets/orders")
		wantUpstream(t, g.send(t, "GET", "/api/apps/A/contents/logo.png", e2eBearer(appA)), "app contents", "/api/apps/A/contents/logo.png")
		ans = wantUpstream(t, g.send(t, "GET", "/api/meta/tables", e2eBearer(api)), "api", "/api/meta/tables")
		if ans.Headers["X-Sigil-Subject"] != "alice" || ans.Headers["X-Sigil-Scope"] != "meta:read" {
			t.Fatalf("api identity: %v", ans.Headers)
		}
	})

	t.Run("ForgedIdentityHeadersAreReplaced", func(t *testing.T) {
		noSub := g.mintEmbed(t, "sales", salesSecret, "")
		hdr := e2eBearer(noSub)
		hdr["X-Sigil-Subject"] = "root"
		hdr["X-Sigil-Resource"] = "dashboard:hr"
		ans := wantUpstream(t, g.send(t, "GET", "/dashboards/sales", hdr), "forged headers", "/dashboards/sales")
		if _, ok := ans.Headers["X-Sigil-Subject"]; ok {
			t.Fatalf("a client's X-Sigil-Subject reached the upstream: %v", ans.Headers)
		}
		if ans.Headers["X-Sigil-Resource"] != "dashboard:sales" {
			t.Fatalf("X-Sigil-Resource %q", ans.Headers["X-Sigil-Resource"])
		}
		// A client's own X-Forwarded-* must not replace the URI nginx forwards.
		hdr = e2eBearer(appA)
		hdr["X-Forwarded-Method"] = "GET"
		hdr["X-Forwarded-Uri"] = "/api/apps/A/view"
		g.wantDenied(t, g.send(t, "GET", "/api/apps/B/view", hdr), "spoofed X-Forwarded-Uri", "GET", "/api/apps/B/view", http.StatusForbidden)
		hdr["X-Forwarded-Method"], hdr["X-Original-Method"] = "GET", "GET"
		g.wantDenied(t, g.send(t, "POST", "/api/apps/A/view", hdr), "spoofed method", "POST", "/api/apps/A/view", http.StatusForbidden)
	})

	t.Run("NoTokenIs401", func(t *testing.T) {
		r := g.send(t, "GET", "/dashboards/sales/no-token", nil)
		g.wantDenied(t, r, "no token", "GET", "/dashboards/sales/no-token", http.StatusUnauthorized)
		if r.Header.Get("WWW-Authenticate") != `Bearer realm="sigil"` {
			t.Fatalf("WWW-Authenticate %q", r.Header.Get("WWW-Authenticate"))
		}
	})

	t.Run("AppViewPOSTIs403", func(t *testing.T) {
		for _, m := range []string{"POST", "PUT", "DELETE", "PATCH"} {
			g.wantDenied(t, g.send(t, m, "/api/apps/A/view", e2eBearer(appA)), "app-view "+m, m, "/api/apps/A/view", http.StatusForbidden)
		}
	})

	t.Run("AppATokenOnAppBIs403", func(t *testing.T) {
		for _, uri := range []string{"/api/apps/B/view", "/api/apps/B/view/pages", "/view/api/secrets", "/admin"} {
			g.wantDenied(t, g.send(t, "GET", uri, e2eBearer(appA)), "app A on "+uri, "GET", uri, http.StatusForbidden)
		}
		g.wantDenied(t, g.send(t, "GET", "/dashboards/hr", e2eBearer(embed)), "embed on another dashboard", "GET", "/dashboards/hr", http.StatusForbidden)
		r := g.send(t, "GET", "/api/reports/R1", e2eBearer(api))
		g.wantDenied(t, r, "api without report:read", "GET", "/api/reports/R1", http.StatusForbidden)
		if got := r.Header.Get("WWW-Authenticate"); got != `Bearer error="insufficient_scope", scope="report:read"` {
			t.Fatalf("insufficient_scope challenge through nginx: %q", got)
		}
		if got := g.send(t, "GET", "/api/apps/B/view", e2eBearer(appA)).Header.Get("WWW-Authenticate"); got != "" {
			t.Fatalf("a plain 403 has no challenge, got %q", got)
		}
	})

	t.Run("TraversalIs403", func(t *testing.T) {
		for _, c := range []struct{ tok, uri string }{
			{appA, "/api/apps/A/view/../../B/view"},
			{appA, "/api/apps/A/view/%2e%2e/%2e%2e/B/view"},
			{appA, "/api/apps/A/view/%2E%2E/%2E%2E/B/view"},
			{appA, "/api/apps/A/view/..%2f..%2fB%2fview"},
			{appA, "/api/apps/A/view/..%2F..%2FB/view"},
			{appA, "/api/apps/A/view/..;/..;/B/view"},
			{appA, "/api/apps/A/view/..%5c..%5cB%5cview"},
			{appA, "/api/apps/A/contents/%252e%252e/%252e%252e/B/view"},
			{appA, "/api/apps/A/view/-/..//..//B/view"},
			{appA, "/api/apps/A/view/api/datasets/%EF%BC%8E%EF%BC%8E%EF%BC%8Fadmin"},
			{appA, "/api/apps/A/view/-/%EF%BC%8E%EF%BC%8E/%EF%BC%8E%EF%BC%8E/B/view"},
			{embed, "/dashboards/sales/%EF%BC%8E%EF%BC%8E/hr"},
			{appA, "/api/apps/A//view/../../B/view"},
			{embed, "/dashboards/sales/../hr"},
			{embed, "/dashboards/sales/%2e%2e/hr"},
			{embed, "/dashboards/sales%2f..%2fhr"},
			{embed, "/dashboards/sales/./../hr"},
			{report, "/api/reports/R1/../R2"},
			{report, "/api/reports/R1/%2e%2e/R2"},
		} {
			g.wantDenied(t, g.send(t, "GET", c.uri, e2eBearer(c.tok)), "traversal", "GET", c.uri, http.StatusForbidden)
		}
	})

	t.Run("ReportQueryTokenIs200", func(t *testing.T) {
		uri := "/api/reports/R1?token=" + report
		ans := wantUpstream(t, g.send(t, "GET", uri, nil), "report ?token=", uri)
		if ans.Headers["X-Sigil-Kind"] != "report" || ans.Headers["X-Sigil-Resource"] != "report:R1" {
			t.Fatalf("report identity: %v", ans.Headers)
		}
		uri = "/api/reports/R1/rows?page=2&token=" + report
		wantUpstream(t, g.send(t, "GET", uri, nil), "report ?token= below", uri)
		g.wantDenied(t, g.send(t, "GET", "/api/reports/R2?token="+report, nil), "report on another report", "GET", "/api/reports/R2?token="+report, http.StatusForbidden)
	})

	// The policy answers of sigil itself, through the OpenAPI-validating client.
	t.Run("PolicyAnswersMatchTheDocument", func(t *testing.T) {
		for _, c := range []struct {
			tok, method, uri string
			status           int
			code             string
		}{
			{appA, "POST", "/api/apps/A/view", http.StatusForbidden, "read_only"},
			{appA, "GET", "/api/apps/B/view", http.StatusForbidden, "forbidden"},
			{api, "GET", "/api/reports/R1", http.StatusForbidden, "insufficient_scope"},
			{appA, "GET", "/api/apps/A/view", http.StatusOK, ""},
		} {
			hdr := e2eBearer(c.tok)
			hdr["X-Forwarded-Method"], hdr["X-Forwarded-Uri"] = c.method, c.uri
			r := e2eDo(t, http.MethodGet, base+"/api/v1/verify", "", hdr)
			if r.Status != c.status || !strings.Contains(r.Body, c.code) {
				t.Fatalf("verify %s %s: %d %s", c.method, c.uri, r.Status, r.Body)
			}
		}
		r := e2eDo(t, http.MethodGet, base+"/api/v1/verify", "", map[string]string{"Authorization": "Bearer " + appA, "X-Original-Method": "GET"})
		if r.Status != http.StatusBadRequest || !strings.Contains(r.Body, `"field":"X-Original-URI"`) {
			t.Fatalf("method without URI: %d %s", r.Status, r.Body)
		}
	})

	t.Run("ViewRedirects", func(t *testing.T) {
		noRedirect := &http.Client{
			Timeout: 10 * time.Second, Transport: openapicheck.MustNew().Transport(nil),
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		}
		resp, err := noRedirect.Get(base + "/view/" + report)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != "https://viewer.example.com/reports/R1?token="+report {
			t.Fatalf("/view: %d Location %q", resp.StatusCode, resp.Header.Get("Location"))
		}
	})

	t.Run("RevokedIs401", func(t *testing.T) {
		victim := g.mintEmbed(t, "sales", salesSecret, "")
		wantUpstream(t, g.send(t, "GET", "/dashboards/sales", e2eBearer(victim)), "before revocation", "/dashboards/sales")
		if r := e2eInvalidate(t, base, victim); r.Status != http.StatusNoContent {
			t.Fatalf("invalidate: %d %s", r.Status, r.Body)
		}
		r := g.send(t, "GET", "/dashboards/sales/after", e2eBearer(victim))
		g.wantDenied(t, r, "revoked", "GET", "/dashboards/sales/after", http.StatusUnauthorized)
		if !strings.Contains(r.Header.Get("WWW-Authenticate"), "revoked") {
			t.Fatalf("WWW-Authenticate %q", r.Header.Get("WWW-Authenticate"))
		}
		// A revoked report token is refused in the URL too, and at /view.
		rep := g.registered(t, `{"type":"report","name":"r9","reportId":"R9"}`)
		if r := e2eRevoke(t, base, "admin", g.admin, rep); r.Status != http.StatusOK {
			t.Fatalf("revoke report: %d %s", r.Status, r.Body)
		}
		g.wantDenied(t, g.send(t, "GET", "/api/reports/R9?token="+rep, nil), "revoked report", "GET", "/api/reports/R9?token="+rep, http.StatusUnauthorized)
		v := e2eDo(t, http.MethodGet, base+"/view/"+rep, "", nil)
		if v.Status != http.StatusUnauthorized || !strings.Contains(v.Body, "Session expired") || strings.Contains(v.Body, rep) {
			t.Fatalf("/view of a revoked token: %d %s", v.Status, v.Body)
		}
	})

	// Issue 12 A1: a report link never writes, through the shipped snippet
	// either: no method but GET and HEAD reaches the upstream.
	t.Run("ReportTokenCannotWrite", func(t *testing.T) {
		for _, path := range []string{"/api/reports/R1", "/api/reports/R1/rows", "/api/reports/R1/_cloud-publish", "/api/reports/R1/tokens", "/api/reports/R1/tokens/x"} {
			for _, m := range []string{"DELETE", "PUT", "POST", "PATCH"} {
				g.wantDenied(t, g.send(t, m, path, e2eBearer(report)), "report token Bearer", m, path, http.StatusForbidden)
				uri := path + "?token=" + report
				g.wantDenied(t, g.send(t, m, uri, nil), "report token ?token=", m, uri, http.StatusForbidden)
			}
			wantUpstream(t, g.send(t, "GET", path, e2eBearer(report)), "report GET", path)
		}
		// sigil's answer, by the document: 403 read_only.
		hdr := e2eBearer(report)
		hdr["X-Forwarded-Method"], hdr["X-Forwarded-Uri"] = "DELETE", "/api/reports/R1"
		if r := e2eDo(t, http.MethodGet, base+"/api/v1/verify", "", hdr); r.Status != http.StatusForbidden || !strings.Contains(r.Body, `"read_only"`) {
			t.Fatalf("verify DELETE with a report token: %d %s", r.Status, r.Body)
		}
	})

	// Found by an outside black-box run: nginx forwards the request target
	// as sent, "#" and all; an upstream that keeps "#/../R2" in the path
	// (Go's http.FileServer cleans it to /api/reports/R2) would serve
	// another report. sigil refuses any forwarded URI with a fragment.
	t.Run("FragmentCannotReachAnotherResource", func(t *testing.T) {
		for _, c := range []struct{ tok, uri string }{
			{report, "/api/reports/R1#/../R2"},
			{appA, "/api/apps/A/view#/../../B/view"},
			{embed, "/dashboards/sales#/../hr"},
		} {
			g.wantDenied(t, g.send(t, "GET", c.uri, e2eBearer(c.tok)), "fragment", "GET", c.uri, http.StatusForbidden)
		}
		uri := "/api/reports/R1#/../R2?token=" + report
		g.wantDenied(t, g.send(t, "GET", uri, nil), "fragment with ?token=", "GET", uri, http.StatusForbidden)
	})

	// A read-only link must not write through a method override that the
	// upstream's framework honours.
	t.Run("MethodOverrideCannotWrite", func(t *testing.T) {
		hdr := e2eBearer(report)
		hdr["X-HTTP-Method-Override"] = "DELETE"
		path := "/api/reports/R1/override"
		g.wantDenied(t, g.send(t, "GET", path, hdr), "X-HTTP-Method-Override", "GET", path, http.StatusForbidden)
		uri := "/api/reports/R1/override-query?_method=DELETE&token=" + report
		g.wantDenied(t, g.send(t, "GET", uri, nil), "_method", "GET", uri, http.StatusForbidden)
	})

	// Issue 12 A3: every path under an app binds to it, and view/api to its
	// whitelist; the app-less paths bind to no app.
	t.Run("AppWhitelistHoldsUnderTheAppPrefix", func(t *testing.T) {
		for _, uri := range []string{
			"/api/apps/A/view/api/admin/users", "/api/apps/A/view/api/datasets/orders/rows", "/api/apps/A/settings",
			"/contents/logo.png", "/view/-/index.html", "/view/api/datasets/orders",
			"/api/apps/B/contents/logo.png", "/api/apps/B/view/api/datasets/orders",
		} {
			g.wantDenied(t, g.send(t, "GET", uri, e2eBearer(appA)), "app A on "+uri, "GET", uri, http.StatusForbidden)
		}
	})

	// Issue 12 A7: one credential per request; nginx hands sigil's 400 on.
	t.Run("TwoCredentialsAre400", func(t *testing.T) {
		uri := "/api/reports/R1/two?token=" + report
		g.wantDenied(t, g.send(t, "GET", uri, e2eBearer(api)), "Bearer and ?token=", "GET", uri, http.StatusBadRequest)
		uri = "/dashboards/sales?token=" + embed + "&token=" + embed
		g.wantDenied(t, g.send(t, "GET", uri, nil), "two ?token=", "GET", uri, http.StatusBadRequest)
		// Two Authorization headers: nginx itself or sigil refuses them.
		r := g.sendHeader(t, "GET", "/dashboards/sales/two", http.Header{"Authorization": {"Bearer " + embed, "Bearer " + api}})
		g.wantDenied(t, r, "two Authorization headers", "GET", "/dashboards/sales/two", http.StatusBadRequest)
	})

	// Issue 12 A6: what reaches the upstream is what was signed; sigil
	// mints nothing a header would trim or split.
	t.Run("SubjectAHeaderWouldAlterIsRefused", func(t *testing.T) {
		for field, extra := range map[string]string{
			"sub":           `,"sub":" admin "`,
			"params.region": `,"params":{"region":"EU\r\n"}`,
		} {
			r := e2eDo(t, http.MethodPost, base+"/api/v1/token",
				fmt.Sprintf(`{"dashboardId":"sales","dashboardSecret":%q%s}`, salesSecret, extra), nil)
			if r.Status != http.StatusBadRequest || !strings.Contains(r.Body, fmt.Sprintf(`"field":%q`, field)) {
				t.Fatalf("mint with %s: %d %s", extra, r.Status, r.Body)
			}
		}
		r := e2eDo(t, http.MethodPost, base+"/api/tokens", `{"type":"report","name":"r-ws","reportId":"R1 "}`, g.adminHdr())
		if r.Status != http.StatusBadRequest || !strings.Contains(r.Body, `"field":"reportId"`) {
			t.Fatalf("registered token with reportId %q: %d %s", "R1 ", r.Status, r.Body)
		}
	})

	// Issue 12 D22: the largest token sigil mints, and the identity headers
	// it makes, pass through the snippet's buffers, as Bearer and as ?token=.
	t.Run("LargestTokenReachesUpstream", func(t *testing.T) {
		mint := func(policies, names, pad int) (string, int) {
			pols := make([]map[string]any, policies)
			for i := range pols {
				pols[i] = map[string]any{"name": fmt.Sprintf("p%02d-%s", i, strings.Repeat("n", names)), "params": map[string]any{"tenant": "t1", "region": "EU"}}
			}
			body, err := json.Marshal(map[string]any{
				"dashboardId": "sales", "dashboardSecret": salesSecret, "sub": "user-7",
				"params": map[string]any{"filler": strings.Repeat("f", pad)}, "securityPolicies": pols,
			})
			if err != nil {
				t.Fatal(err)
			}
			r := e2eDo(t, http.MethodPost, base+"/api/v1/token", string(body), nil)
			var out struct {
				AccessToken string `json:"accessToken"`
			}
			_ = json.Unmarshal([]byte(r.Body), &out)
			return out.AccessToken, r.Status
		}
		// The case: 24 small policies, about 4.9 KB.
		small, st := mint(24, 85, 0)
		if st != http.StatusOK {
			t.Fatalf("mint 24 policies: %d", st)
		}
		// The largest: 32 long policy names, then the filler param as long as the 8 KiB limit allows.
		lo, hi := 0, 4096
		for lo < hi {
			mid := (lo + hi + 1) / 2
			if _, st := mint(32, 100, mid); st == http.StatusOK {
				lo = mid
			} else {
				hi = mid - 1
			}
		}
		largest, st := mint(32, 100, lo)
		if st != http.StatusOK || len(largest) < 8100 || len(largest) > 8192 {
			t.Fatalf("largest token: status %d, %d bytes (filler %d)", st, len(largest), lo)
		}
		for _, c := range []struct{ name, tok string }{{"4.9 KB", small}, {"largest", largest}} {
			uri := "/dashboards/sales/big"
			ans := wantUpstream(t, g.send(t, "GET", uri, e2eBearer(c.tok)), c.name+" Bearer", uri)
			t.Logf("%s token: %d bytes; X-Sigil-Params %d, X-Sigil-Policies %d bytes", c.name, len(c.tok), len(ans.Headers["X-Sigil-Params"]), len(ans.Headers["X-Sigil-Policies"]))
			if pols, _ := decodeSigilJSON(t, ans.Headers["X-Sigil-Policies"]).([]any); c.tok == largest && len(pols) != 32 {
				t.Fatalf("X-Sigil-Policies holds %d policies", len(pols))
			}
			if ans.Headers["X-Sigil-Subject"] != "user-7" {
				t.Fatalf("identity: %v", ans.Headers["X-Sigil-Subject"])
			}
			uri = "/dashboards/sales/big?token=" + c.tok
			wantUpstream(t, g.send(t, "GET", uri, nil), c.name+" ?token=", uri)
		}
		if p := decodeSigilJSON(t, wantUpstream(t, g.send(t, "GET", "/dashboards/sales/big", e2eBearer(largest)), "largest", "/dashboards/sales/big").Headers["X-Sigil-Params"]); len(fmt.Sprint(p)) < lo {
			t.Fatalf("X-Sigil-Params lost the filler: %v", p)
		}
	})

	// Issue 12 D22: the "sigil" log format keeps tokens out of the access log.
	t.Run("AccessLogHoldsNoToken", func(t *testing.T) {
		// sigil's own /view/{token} is not behind nginx here; the path is logged all the same.
		g.send(t, "GET", "/view/"+report, nil)
		g.send(t, "GET", "/%76iew/"+report, nil)
		hdr := e2eBearer(embed)
		hdr["Referer"] = "https://portal.example.com/page?token=" + report
		wantUpstream(t, g.send(t, "GET", "/dashboards/sales/from-a-link?x=1", hdr), "referer", "/dashboards/sales/from-a-link?x=1")
		// nginx writes a request's log line after its answer: wait for the last one.
		var log string
		e2eEventually(t, 10*time.Second, "nginx to log the last request", func() bool {
			log = g.nginx.AccessLog()
			return strings.Contains(log, "/dashboards/sales/from-a-link")
		})
		for _, want := range []string{`"GET /dashboards/sales/big?[query] HTTP/1.1" 200`, `"GET /view/[token] HTTP/1.1" 401`, `"GET /dashboards/sales/from-a-link?[query] HTTP/1.1" 200 `, `"https://portal.example.com"`, `"DELETE /api/reports/R1?[query] HTTP/1.1" 403`} {
			if !strings.Contains(log, want) {
				t.Fatalf("the access log lacks %q:\n%s", want, log)
			}
		}
		for _, tok := range []string{embed, appA, report, api} {
			parts := strings.Split(tok, ".")
			if strings.Contains(log, tok) || strings.Contains(log, parts[len(parts)-1]) {
				t.Fatalf("the access log holds a token:\n%s", log)
			}
		}
		if strings.Contains(log, "eyJ") {
			t.Fatalf("the access log holds something like a JWT:\n%s", log)
		}
	})

	t.Run("ExpiredIs401", func(t *testing.T) {
		short := g.mintEmbed(t, "sales", salesSecret, `,"tokenExpiry":1`)
		// The token lives one second (leeway 1s): wait, bounded, until sigil
		// says expired through nginx; no other answer is acceptable meanwhile.
		var last e2eResponse
		e2eEventually(t, 15*time.Second, "the 1s token to expire", func() bool {
			last = g.send(t, "GET", "/dashboards/sales/exp", e2eBearer(short))
			if last.Status != http.StatusOK && last.Status != http.StatusUnauthorized {
				t.Fatalf("status %d while waiting for expiry: %s", last.Status, last.Body)
			}
			return last.Status == http.StatusUnauthorized
		})
		if !strings.Contains(last.Header.Get("WWW-Authenticate"), "expired") {
			t.Fatalf("WWW-Authenticate %q", last.Header.Get("WWW-Authenticate"))
		}
	})
}
