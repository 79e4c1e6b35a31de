package httpapi_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sigil-dev/sigil/internal/app"
	"github.com/sigil-dev/sigil/internal/testclock"
	"github.com/sigil-dev/sigil/test/apiserver"
)

// TestOverview: the admin's overview counts registered tokens by kind and
// status, shows the keys without key material, the revocation state and
// readiness; other clients get 403, and no credential 401.
func TestOverview(t *testing.T) {
	h, srv := startConsole(t)
	admin := "admin:" + srv.AdminSecret
	require.Equal(t, http.StatusNoContent, h.req(http.MethodPut, "/api/owners/alice/roles/api-tokens", "", "Basic", admin).status)
	for _, body := range []string{
		`{"type":"report","reportId":"r1"}`, `{"type":"report","reportId":"r1","generate":false}`,
		`{"type":"app-view","appId":"a1"}`, `{"type":"api","owner":"alice","scopes":["meta:read"],"name":"x"}`,
	} {
		a := h.req(http.MethodPost, "/api/tokens", body, "Basic", admin)
		require.Equal(t, http.StatusCreated, a.status, a.body)
	}
	// One revoked: the overview shows what the registry shows.
	var rec struct{ ID string }
	a := h.req(http.MethodPost, "/api/tokens", `{"type":"report","reportId":"r2"}`, "Basic", admin)
	require.NoError(t, json.Unmarshal([]byte(a.body), &rec))
	require.Equal(t, http.StatusNoContent, h.req(http.MethodDelete, "/api/tokens/"+rec.ID, "", "Basic", admin).status)

	a = h.req(http.MethodGet, "/api/overview", "", "Basic", admin)
	require.Equal(t, http.StatusOK, a.status, a.body)
	assert.Equal(t, "no-store", a.header.Get("Cache-Control"))
	var o struct {
		Tokens struct {
			Counted  int
			Complete bool
			ByKind   map[string]map[string]int
		}
		Revocation struct {
			Mode            string
			DenylistEntries *int
		}
		Keys []struct {
			KID, Alg   string
			Active     bool
			AgeSeconds int64
		}
		Readiness struct{ Status string }
	}
	require.NoError(t, json.Unmarshal([]byte(a.body), &o))
	assert.True(t, o.Tokens.Complete)
	assert.Equal(t, 1, o.Tokens.ByKind["report"]["generated-inactive"], a.body)
	assert.Equal(t, 1, o.Tokens.ByKind["report"]["not-generated"], a.body)
	assert.Equal(t, 1, o.Tokens.ByKind["app-view"]["generated-inactive"], a.body)
	assert.Equal(t, 1, o.Tokens.ByKind["api"]["generated-inactive"], a.body)
	assert.Equal(t, 1, o.Tokens.ByKind["report"]["revoked"], "a revoked record is kept and counted: %s", a.body)
	total := 0
	for _, by := range o.Tokens.ByKind {
		for _, n := range by {
			total += n
		}
	}
	assert.Equal(t, o.Tokens.Counted, total)
	assert.Equal(t, "direct", o.Revocation.Mode, "the memory store is checked directly")
	require.NotNil(t, o.Revocation.DenylistEntries)
	assert.GreaterOrEqual(t, *o.Revocation.DenylistEntries, 1, "the deleted token's JWT is denied")
	require.Len(t, o.Keys, 1)
	assert.Equal(t, srv.Active.KID, o.Keys[0].KID)
	assert.True(t, o.Keys[0].Active)
	assert.Equal(t, "ready", o.Readiness.Status)
	for _, leak := range []string{`"d":`, "PRIVATE", `"x":`, "secret"} {
		assert.NotContains(t, a.body, leak, "no key material")
	}

	secret := h.createClient(srv.AdminSecret, "sales")
	wantError(t, h.req(http.MethodGet, "/api/overview", "", "Basic", "sales:"+secret), http.StatusForbidden, "forbidden", "")
	wantError(t, h.req(http.MethodGet, "/api/overview", ""), http.StatusUnauthorized, "unauthorized", "")
}

// TestOverview_KeyAge: a key's age is read from the injected clock.
func TestOverview_KeyAge(t *testing.T) {
	clk := testclock.Wall()
	h, srv := startConsole(t, apiserver.WithApp(app.WithNow(clk.Now)))
	clk.Advance(50 * 24 * time.Hour)
	a := h.req(http.MethodGet, "/api/overview", "", "Basic", "admin:"+srv.AdminSecret)
	require.Equal(t, http.StatusOK, a.status, a.body)
	var o struct{ Keys []struct{ AgeSeconds int64 } }
	require.NoError(t, json.Unmarshal([]byte(a.body), &o))
	require.Len(t, o.Keys, 1)
	assert.InDelta(t, 50*24*3600, o.Keys[0].AgeSeconds, 3600)
}

// TestTokens_ExpiringWithinDays: the inventory filter keeps the tokens that
// expire from now to N days on; bad values are 400s naming it.
func TestTokens_ExpiringWithinDays(t *testing.T) {
	h, srv := startConsole(t)
	admin := "admin:" + srv.AdminSecret
	ids := map[string]string{}
	for _, in := range []string{"1d", "7d", "30d", "never"} {
		a := h.req(http.MethodPost, "/api/tokens", fmt.Sprintf(`{"type":"report","reportId":"r1","name":"n%s","expiresIn":%q}`, in, in), "Basic", admin)
		require.Equal(t, http.StatusCreated, a.status, a.body)
		var v struct{ ID string }
		require.NoError(t, json.Unmarshal([]byte(a.body), &v))
		ids[in] = v.ID
	}
	list := func(query string) []string {
		a := h.req(http.MethodGet, "/api/tokens?"+query, "", "Basic", admin)
		require.Equal(t, http.StatusOK, a.status, a.body)
		var p struct{ Tokens []struct{ ID string } }
		require.NoError(t, json.Unmarshal([]byte(a.body), &p))
		var out []string
		for _, t := range p.Tokens {
			out = append(out, t.ID)
		}
		return out
	}
	assert.ElementsMatch(t, []string{ids["1d"]}, list("reportId=r1&expiringWithinDays=2"))
	assert.ElementsMatch(t, []string{ids["1d"], ids["7d"]}, list("reportId=r1&expiringWithinDays=8"))
	assert.ElementsMatch(t, []string{ids["1d"], ids["7d"], ids["30d"]}, list("reportId=r1&expiringWithinDays=3650"))
	for _, bad := range []string{"0", "-1", "x", "3651", "1.5", "99999999999999999999"} {
		wantError(t, h.req(http.MethodGet, "/api/tokens?expiringWithinDays="+bad, "", "Basic", admin), http.StatusBadRequest, "invalid_request", "expiringWithinDays")
	}
}

// TestConsolePages: the console's files are served under a strict CSP;
// nothing else is (no directory, no traversal, no other file type).
func TestConsolePages(t *testing.T) {
	h, _ := startConsole(t)
	for _, p := range []string{"/console/", "/console/console.js", "/console/api.js", "/console/ui.js", "/console/pages.js", "/console/console.css"} {
		a := h.req(http.MethodGet, p, "")
		require.Equal(t, http.StatusOK, a.status, p)
		csp := a.header.Get("Content-Security-Policy")
		assert.Contains(t, csp, "default-src 'self'", p)
		assert.Contains(t, csp, "script-src 'self'", p)
		assert.Contains(t, csp, "frame-ancestors 'none'", p)
		assert.NotContains(t, csp, "unsafe", p)
		assert.Equal(t, "nosniff", a.header.Get("X-Content-Type-Options"))
	}
	page := h.req(http.MethodGet, "/console/", "")
	assert.NotContains(t, page.body, "<script>", "no inline script")
	assert.NotContains(t, page.body, "style=", "no inline style")
	assert.True(t, strings.HasPrefix(h.req(http.MethodGet, "/console/console.js", "").header.Get("Content-Type"), "text/javascript"))
	for _, p := range []string{"/console/nope.js", "/console/..%2fweb.go", "/console/%2e%2e%2fweb.go", "/console/index", "/console/.hidden.js", "/console/console.js%00.png"} {
		assert.Equal(t, http.StatusNotFound, h.req(http.MethodGet, p, "").status, p)
	}
	// A 401 to the console's calls challenges with Session, not Basic (no browser prompt).
	a := h.req(http.MethodGet, "/api/overview", "", "X-Requested-With", "sigil-console")
	assert.Equal(t, `Session realm="sigil"`, a.header.Get("WWW-Authenticate"))
	a = h.req(http.MethodGet, "/api/overview", "")
	assert.Equal(t, `Basic realm="sigil"`, a.header.Get("WWW-Authenticate"), "API clients still get the Basic challenge")
}
