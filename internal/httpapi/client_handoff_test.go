package httpapi_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sigil-dev/sigil/internal/config"
	"github.com/sigil-dev/sigil/internal/httpapi"
	"github.com/sigil-dev/sigil/internal/openapi"
	"github.com/sigil-dev/sigil/test/apiserver"
)

// introspectAs posts token to /api/v1/introspect; set adds the credentials.
func (e *consoleEnv) introspectAs(tok string, set func(*http.Request)) answer {
	e.t.Helper()
	return e.send(http.MethodPost, "/api/v1/introspect", url.Values{"token": {tok}}.Encode(), func(r *http.Request) {
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if set != nil {
			set(r)
		}
	})
}

// withBasic sets HTTP Basic id:secret.
func withBasic(id, secret string) func(*http.Request) {
	return func(r *http.Request) { r.SetBasicAuth(id, secret) }
}

// withSession sets a console session cookie and its CSRF token.
func withSession(s session) func(*http.Request) {
	return func(r *http.Request) {
		r.AddCookie(&http.Cookie{Name: httpapi.SessionCookie, Value: s.cookie})
		r.Header.Set(httpapi.HeaderCSRF, s.csrf)
	}
}

// mintEmbed mints an embed token for dashboard id with its client's secret.
func (e *consoleEnv) mintEmbed(id, secret string) string {
	e.t.Helper()
	rec := e.send(http.MethodPost, "/api/v1/token", `{"dashboardId":"`+id+`","dashboardSecret":"`+secret+`"}`, nil)
	require.Equal(e.t, http.StatusOK, rec.status, rec.body)
	var v struct{ AccessToken string }
	rec.decode(e.t, &v)
	require.NotEmpty(e.t, v.AccessToken)
	return v.AccessToken
}

func requireActive(t *testing.T, a answer, active bool) {
	t.Helper()
	require.Equal(t, http.StatusOK, a.status, a.body)
	var v struct {
		Active      bool   `json:"active"`
		DashboardID string `json:"dashboardId"`
		ReportID    string `json:"reportId"`
	}
	a.decode(t, &v)
	require.Equal(t, active, v.Active, a.body)
	if !active {
		require.JSONEq(t, `{"active":false}`, a.body)
	}
}

// TestIntrospect_ClientHandOff: introspection authenticates its caller
// without keeping it in the request context (withClient); the answer is
// still the authenticated client's, by Basic or by console session, and
// never another one's. An admin sees every token; an issuer client sees
// its own resources only and, for a registered token, only the ones it
// created; a session acts as its client, and Basic wins over a cookie.
func TestIntrospect_ClientHandOff(t *testing.T) {
	e := newConsoleEnv(t)
	sales := e.newClient("sales", "dashboard:sales")
	finance := e.newClient("finance", "dashboard:finance", "report:*")
	emb := e.mintEmbed("sales", sales)
	rec := e.basic("admin", e.srv.AdminSecret, http.MethodPost, "/api/tokens", `{"type":"report","reportId":"q3"}`)
	require.Equal(t, http.StatusCreated, rec.status, rec.body)
	var rep consoleRecord
	rec.decode(t, &rep)

	h := consoleHTTP{t: t, url: e.srv.URL}
	adminSess := h.signIn("admin", e.srv.AdminSecret)
	salesSess := h.signIn("sales", sales)
	financeSess := h.signIn("finance", finance)

	for _, tc := range []struct {
		name   string
		tok    string
		as     func(*http.Request)
		active bool
	}{
		{"AdminBasicEmbed", emb, withBasic("admin", e.srv.AdminSecret), true},
		{"OwnerBasicEmbed", emb, withBasic("sales", sales), true},
		{"OtherTenantBasicEmbed", emb, withBasic("finance", finance), false},
		{"AdminSessionEmbed", emb, withSession(adminSess), true},
		{"OwnerSessionEmbed", emb, withSession(salesSess), true},
		{"OtherTenantSessionEmbed", emb, withSession(financeSess), false},
		// finance matches report:* but did not create the record.
		{"AdminBasicReport", rep.Token, withBasic("admin", e.srv.AdminSecret), true},
		{"PatternNotCreatorReport", rep.Token, withBasic("finance", finance), false},
		{"PatternNotCreatorSessionReport", rep.Token, withSession(financeSess), false},
		{"ReportOutsideResources", rep.Token, withBasic("sales", sales), false},
		// Basic wins over the cookie: finance's Basic with admin's session.
		{"BasicWinsOverAdminCookie", emb, func(r *http.Request) {
			withSession(adminSess)(r)
			r.SetBasicAuth("finance", finance)
		}, false},
		{"BasicWinsOverOtherCookie", emb, func(r *http.Request) {
			withSession(financeSess)(r)
			r.SetBasicAuth("sales", sales)
		}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			requireActive(t, e.introspectAs(tc.tok, tc.as), tc.active)
		})
	}

	t.Run("ErrSessionWithoutCSRF", func(t *testing.T) {
		a := e.introspectAs(emb, func(r *http.Request) {
			r.AddCookie(&http.Cookie{Name: httpapi.SessionCookie, Value: adminSess.cookie})
		})
		requireErr(t, a, http.StatusForbidden, "forbidden", httpapi.HeaderCSRF)
	})
	t.Run("ErrOtherSessionsCSRF", func(t *testing.T) {
		a := e.introspectAs(emb, func(r *http.Request) {
			r.AddCookie(&http.Cookie{Name: httpapi.SessionCookie, Value: adminSess.cookie})
			r.Header.Set(httpapi.HeaderCSRF, financeSess.csrf)
		})
		requireErr(t, a, http.StatusForbidden, "forbidden", httpapi.HeaderCSRF)
	})

	// Credentials of another kind, or of another tenant, are no client.
	alice := e.mintConsole("host", e.host, "alice")
	for _, tc := range []struct {
		name   string
		as     func(*http.Request)
		status int
		field  string
	}{
		{"ErrNone", nil, http.StatusUnauthorized, ""},
		{"ErrEmbedTokenAsBearer", func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+emb) }, http.StatusUnauthorized, ""},
		{"ErrConsoleTokenAsBearer", func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+alice) }, http.StatusUnauthorized, ""},
		{"ErrReportTokenAsBearer", func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+rep.Token) }, http.StatusUnauthorized, ""},
		{"ErrEmbedTokenAsSecret", withBasic("sales", emb), http.StatusUnauthorized, ""},
		{"ErrOtherTenantsSecret", withBasic("sales", finance), http.StatusUnauthorized, ""},
		{"ErrAdminIDOtherSecret", withBasic("admin", finance), http.StatusUnauthorized, ""},
		{"ErrEmptySecret", withBasic("sales", ""), http.StatusUnauthorized, ""},
		{"ErrSessionValueAsSecret", withBasic("admin", adminSess.cookie), http.StatusUnauthorized, ""},
		// The CSRF token is bound to the cookie: a forged one fails there.
		{"ErrForgedCookie", func(r *http.Request) {
			r.AddCookie(&http.Cookie{Name: httpapi.SessionCookie, Value: adminSess.cookie + "x"})
			r.Header.Set(httpapi.HeaderCSRF, adminSess.csrf)
		}, http.StatusForbidden, httpapi.HeaderCSRF},
		{"ErrTwoAuthorizations", func(r *http.Request) {
			r.SetBasicAuth("finance", finance)
			r.Header.Add("Authorization", r.Header.Get("Authorization"))
		}, http.StatusBadRequest, "Authorization"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := e.introspectAs(emb, tc.as)
			require.Equal(t, tc.status, a.status, a.body)
			var v struct {
				Error struct{ Field string }
			}
			a.decode(t, &v)
			require.Equal(t, tc.field, v.Error.Field, a.body)
			require.NotContains(t, a.body, `"active"`)
		})
	}
}

// TestIntrospect_AuthLimitCounted: failed authentications on introspection
// count against the failed-authentication limit, shared with every other
// client route: once blocked, the right secret is answered 429 with
// Retry-After, on introspection and on revoke alike.
func TestIntrospect_AuthLimitCounted(t *testing.T) {
	e := newConsoleEnv(t, apiserver.WithConfig(func(c *config.Config) { c.Auth.MaxFailures, c.Auth.Window = 3, time.Hour }))
	sales := e.newClient("sales", "dashboard:sales")
	emb := e.mintEmbed("sales", sales)
	requireActive(t, e.introspectAs(emb, withBasic("sales", sales)), true)
	for range 3 {
		requireErr(t, e.introspectAs(emb, withBasic("sales", "wrong")), http.StatusUnauthorized, "unauthorized", "")
	}
	a := e.introspectAs(emb, withBasic("sales", "wrong"))
	requireErr(t, a, http.StatusTooManyRequests, "rate_limited", "")
	assert.NotEmpty(t, a.header.Get("Retry-After"))
	a = e.introspectAs(emb, withBasic("sales", sales))
	requireErr(t, a, http.StatusTooManyRequests, "rate_limited", "")
	assert.NotEmpty(t, a.header.Get("Retry-After"))
	form := url.Values{"token": {emb}}.Encode()
	a = e.send(http.MethodPost, "/api/v1/revoke", form, func(r *http.Request) {
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		r.SetBasicAuth("sales", sales)
	})
	requireErr(t, a, http.StatusTooManyRequests, "rate_limited", "")
	// Another client from the same address is not blocked by sales's failures.
	requireActive(t, e.introspectAs(emb, withBasic("admin", e.srv.AdminSecret)), true)
	e.clk.Advance(time.Hour + time.Second)
	requireActive(t, e.introspectAs(emb, withBasic("sales", sales)), true)
}

// clientOperations are the method and path (parameters filled in) of every
// operation of the OpenAPI document that takes client credentials.
func clientOperations(t *testing.T) [][2]string {
	t.Helper()
	b, err := openapi.JSON()
	require.NoError(t, err)
	var doc struct {
		Paths map[string]map[string]json.RawMessage `json:"paths"`
	}
	require.NoError(t, json.Unmarshal(b, &doc))
	param := regexp.MustCompile(`\{[^}]+\}`)
	var ops [][2]string
	for p, methods := range doc.Paths {
		for m, raw := range methods {
			if m == "parameters" {
				continue
			}
			var op struct {
				Security []map[string]any `json:"security"`
			}
			require.NoError(t, json.Unmarshal(raw, &op), "%s %s", m, p)
			for _, s := range op.Security {
				if _, ok := s["client"]; ok {
					ops = append(ops, [2]string{strings.ToUpper(m), param.ReplaceAllString(p, "x1")})
					break
				}
			}
		}
	}
	sort.Slice(ops, func(i, j int) bool { return ops[i][1]+ops[i][0] < ops[j][1]+ops[j][0] })
	return ops
}

// TestClientRoutes_RefuseBadCredentials: every operation that takes client
// credentials (from the OpenAPI document, introspection's withClient and
// requireClient's routes alike) refuses a request without them, with a
// wrong or another tenant's secret, with a token of another kind as the
// credential, and with two Authorization headers, before its handler
// runs; and requireAdmin still sees the client requireClient keeps: an
// issuer's right credentials on an admin route are 403, an admin's 2xx.
func TestClientRoutes_RefuseBadCredentials(t *testing.T) {
	// Far more failures than the sweep makes: each stays a 401, not a 429.
	e := newConsoleEnv(t, apiserver.WithConfig(func(c *config.Config) { c.Auth.MaxFailures = 1_000_000 }))
	sales := e.newClient("sales", "dashboard:sales")
	emb := e.mintEmbed("sales", sales)
	ops := clientOperations(t)
	require.GreaterOrEqual(t, len(ops), 25, "the document lists the client routes: %v", ops)
	for _, op := range ops {
		t.Run(op[0]+" "+op[1], func(t *testing.T) {
			for _, tc := range []struct {
				name   string
				set    func(*http.Request)
				status int
			}{
				{"none", nil, http.StatusUnauthorized},
				{"wrong secret", withBasic("sales", sales+"x"), http.StatusUnauthorized},
				{"other tenant's secret", withBasic("admin", sales), http.StatusUnauthorized},
				{"unknown client", withBasic("nobody", sales), http.StatusUnauthorized},
				{"embed token as Bearer", func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+emb) }, http.StatusUnauthorized},
				{"two Authorization headers", func(r *http.Request) {
					r.SetBasicAuth("sales", sales)
					r.Header.Add("Authorization", r.Header.Get("Authorization"))
				}, http.StatusBadRequest},
			} {
				a := e.send(op[0], op[1], "", tc.set)
				require.Equal(t, tc.status, a.status, "%s: %s", tc.name, a.body)
				if op[0] == http.MethodHead {
					continue // no body to read
				}
				var v struct {
					Error struct{ Code string }
				}
				a.decode(t, &v)
				require.NotEmpty(t, v.Error.Code, "%s: %s", tc.name, a.body)
			}
		})
	}
	for _, path := range []string{"/api/clients", "/api/overview"} {
		requireErr(t, e.basic("sales", sales, http.MethodGet, path, ""), http.StatusForbidden, "forbidden", "")
		a := e.basic("admin", e.srv.AdminSecret, http.MethodGet, path, "")
		require.Equal(t, http.StatusOK, a.status, a.body)
	}
}
