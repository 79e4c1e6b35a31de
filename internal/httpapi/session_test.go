package httpapi_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sigil-dev/sigil/internal/app"
	"github.com/sigil-dev/sigil/internal/config"
	"github.com/sigil-dev/sigil/internal/httpapi"
	"github.com/sigil-dev/sigil/internal/testclock"
	"github.com/sigil-dev/sigil/test/apiserver"
	"github.com/sigil-dev/sigil/test/redisserver"
)

// consoleHTTP is a test's view of one running server for console sessions.
type consoleHTTP struct {
	t   *testing.T
	url string
}

// sessAnswer is a response read whole.
type sessAnswer struct {
	status int
	header http.Header
	body   string
	cookie *http.Cookie // the session cookie the sessAnswer sets, if any
}

// req sends method url with body (JSON when non-empty) and headers (name,
// value pairs; "Cookie" sets the session cookie's value).
func (h consoleHTTP) req(method, path, body string, headers ...string) sessAnswer {
	h.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	r, err := http.NewRequest(method, h.url+path, rd)
	require.NoError(h.t, err)
	if body != "" {
		r.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(headers); i += 2 {
		if headers[i] == "Cookie" {
			r.AddCookie(&http.Cookie{Name: httpapi.SessionCookie, Value: headers[i+1]})
			continue
		}
		if headers[i] == "Basic" {
			id, secret, _ := strings.Cut(headers[i+1], ":")
			r.SetBasicAuth(id, secret)
			continue
		}
		r.Header.Add(headers[i], headers[i+1])
	}
	resp, err := http.DefaultClient.Do(r)
	require.NoError(h.t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(h.t, err)
	a := sessAnswer{status: resp.StatusCode, header: resp.Header, body: string(b)}
	for _, c := range resp.Cookies() {
		if c.Name == httpapi.SessionCookie || c.Name == httpapi.SecureSessionCookie {
			a.cookie = c
		}
	}
	return a
}

// session is a signed-in console session.
type session struct {
	cookie, csrf string
}

// signIn signs id in with secret and returns the session.
func (h consoleHTTP) signIn(id, secret string, headers ...string) session {
	h.t.Helper()
	a := h.req(http.MethodPost, "/console/api/session", fmt.Sprintf(`{"clientId":%q,"clientSecret":%q}`, id, secret), headers...)
	require.Equal(h.t, http.StatusCreated, a.status, a.body)
	require.NotNil(h.t, a.cookie, "sign-in sets the session cookie")
	var v struct {
		CSRFToken string `json:"csrfToken"`
		ClientID  string `json:"clientId"`
	}
	require.NoError(h.t, json.Unmarshal([]byte(a.body), &v))
	require.Equal(h.t, id, v.ClientID)
	require.NotEmpty(h.t, v.CSRFToken)
	return session{cookie: a.cookie.Value, csrf: v.CSRFToken}
}

// createClient creates an issuer client for dashboard id as admin (Basic) and returns its secret.
func (h consoleHTTP) createClient(adminSecret, id string) string {
	h.t.Helper()
	a := h.req(http.MethodPost, "/api/clients", fmt.Sprintf(`{"id":%q,"name":%q,"role":"issuer","resources":["dashboard:%s"]}`, id, id, id),
		"Basic", "admin:"+adminSecret)
	require.Equal(h.t, http.StatusCreated, a.status, a.body)
	var v struct {
		Secret string `json:"secret"`
	}
	require.NoError(h.t, json.Unmarshal([]byte(a.body), &v))
	return v.Secret
}

// wantError checks an error sessAnswer's status, code and field.
func wantError(t *testing.T, a sessAnswer, status int, code, field string) {
	t.Helper()
	require.Equal(t, status, a.status, a.body)
	var e struct {
		Error struct{ Code, Field, Message string } `json:"error"`
	}
	require.NoError(t, json.Unmarshal([]byte(a.body), &e), a.body)
	assert.Equal(t, code, e.Error.Code, a.body)
	assert.Equal(t, field, e.Error.Field, a.body)
}

func startConsole(t *testing.T, opts ...apiserver.Option) (consoleHTTP, *apiserver.Server) {
	srv := apiserver.Start(t, opts...)
	return consoleHTTP{t: t, url: srv.URL}, srv
}

// TestConsoleSession_Cookie: sign-in sets an HttpOnly, SameSite=Strict,
// Path=/ cookie, Secure only when the browser's connection was TLS (a
// trusted proxy's X-Forwarded-Proto; the same header from anyone else is
// ignored); the body carries the CSRF token and never the cookie's value.
func TestConsoleSession_Cookie(t *testing.T) {
	h, srv := startConsole(t, apiserver.WithConfig(func(c *config.Config) { c.HTTP.TrustedProxies = []string{"127.0.0.1/32"} }))
	body := fmt.Sprintf(`{"clientId":"admin","clientSecret":%q}`, srv.AdminSecret)
	a := h.req(http.MethodPost, "/console/api/session", body)
	require.Equal(t, http.StatusCreated, a.status, a.body)
	require.NotNil(t, a.cookie)
	c := a.cookie
	assert.True(t, c.HttpOnly, "HttpOnly")
	assert.Equal(t, http.SameSiteStrictMode, c.SameSite)
	assert.Equal(t, "/", c.Path)
	assert.False(t, c.Secure, "plain HTTP from no proxy: not Secure")
	assert.Equal(t, int((12 * time.Hour).Seconds()), c.MaxAge)
	assert.Len(t, c.Value, 43, "256 random bits, base64url")
	assert.NotContains(t, a.body, c.Value, "the cookie's value is not in the body")
	assert.Equal(t, "no-store", a.header.Get("Cache-Control"))

	a = h.req(http.MethodPost, "/console/api/session", body, "X-Forwarded-Proto", "https")
	require.Equal(t, http.StatusCreated, a.status, a.body)
	assert.True(t, a.cookie.Secure, "behind a trusted proxy that saw TLS: Secure")

	// The same header from a peer that is no trusted proxy is not believed.
	h2, srv2 := startConsole(t)
	a = h2.req(http.MethodPost, "/console/api/session", fmt.Sprintf(`{"clientId":"admin","clientSecret":%q}`, srv2.AdminSecret), "X-Forwarded-Proto", "https")
	require.Equal(t, http.StatusCreated, a.status, a.body)
	assert.False(t, a.cookie.Secure)

	// Who am I.
	s := h.signIn("admin", srv.AdminSecret)
	a = h.req(http.MethodGet, "/console/api/session", "", "Cookie", s.cookie)
	require.Equal(t, http.StatusOK, a.status, a.body)
	assert.Contains(t, a.body, `"role":"admin"`)
	assert.Contains(t, a.body, s.csrf)
}

// TestConsoleSession_BadSignIn: bad bodies name the field; a wrong secret
// is a 401 naming clientSecret and sets no cookie.
func TestConsoleSession_BadSignIn(t *testing.T) {
	h, srv := startConsole(t)
	for _, tc := range []struct{ name, body, field string }{
		{"ErrNoID", `{"clientSecret":"x"}`, "clientId"},
		{"ErrNoSecret", `{"clientId":"admin"}`, "clientSecret"},
		{"ErrUnknownField", `{"clientId":"admin","clientSecret":"x","role":"admin"}`, "role"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := h.req(http.MethodPost, "/console/api/session", tc.body)
			wantError(t, a, http.StatusBadRequest, "invalid_request", tc.field)
			assert.Nil(t, a.cookie)
		})
	}
	a := h.req(http.MethodPost, "/console/api/session", `{"clientId":"admin","clientSecret":"wrong"}`)
	wantError(t, a, http.StatusUnauthorized, "unauthorized", "clientSecret")
	assert.Nil(t, a.cookie)
	// A form post (what a cross-site page can send without a preflight) is refused.
	r, err := http.Post(h.url+"/console/api/session", "application/x-www-form-urlencoded",
		strings.NewReader("clientId=admin&clientSecret="+srv.AdminSecret))
	require.NoError(t, err)
	r.Body.Close()
	assert.Equal(t, http.StatusUnsupportedMediaType, r.StatusCode)
	// Sign-in from another origin's page is refused.
	a = h.req(http.MethodPost, "/console/api/session", fmt.Sprintf(`{"clientId":"admin","clientSecret":%q}`, srv.AdminSecret),
		"Origin", "https://evil.example")
	wantError(t, a, http.StatusForbidden, "forbidden", httpapi.HeaderCSRF)
	// No cookie, a made-up one, a long one: 401.
	for _, v := range []string{"", "x", strings.Repeat("A", 43), strings.Repeat("A", 5000)} {
		a = h.req(http.MethodGet, "/console/api/session", "", "Cookie", v)
		assert.Equal(t, http.StatusUnauthorized, a.status, "cookie %.20q: %s", v, a.body)
	}
}

// TestConsoleSession_CSRF: a state-changing request authenticated by the
// cookie needs the session's X-CSRF-Token and a same-origin Origin; reads
// do not.
func TestConsoleSession_CSRF(t *testing.T) {
	h, srv := startConsole(t)
	s := h.signIn("admin", srv.AdminSecret)
	other := h.signIn("admin", srv.AdminSecret)
	body := `{"id":"sales","name":"Sales","role":"issuer","resources":["dashboard:sales"]}`
	for _, tc := range []struct {
		name    string
		headers []string
	}{
		{"ErrNoToken", nil},
		{"ErrWrongToken", []string{httpapi.HeaderCSRF, "x" + s.csrf[1:]}},
		{"ErrOtherSessionsToken", []string{httpapi.HeaderCSRF, other.csrf}},
		{"ErrTwoTokens", []string{httpapi.HeaderCSRF, s.csrf, httpapi.HeaderCSRF, s.csrf}},
		{"ErrCrossOrigin", []string{httpapi.HeaderCSRF, s.csrf, "Origin", "https://evil.example"}},
		{"ErrNullOrigin", []string{httpapi.HeaderCSRF, s.csrf, "Origin", "null"}},
		{"ErrOtherPort", []string{httpapi.HeaderCSRF, s.csrf, "Origin", strings.Replace(h.url, "127.0.0.1:", "127.0.0.1:1", 1)}},
		{"ErrCrossSite", []string{httpapi.HeaderCSRF, s.csrf, "Sec-Fetch-Site", "cross-site"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := h.req(http.MethodPost, "/api/clients", body, append([]string{"Cookie", s.cookie}, tc.headers...)...)
			wantError(t, a, http.StatusForbidden, "forbidden", httpapi.HeaderCSRF)
			assert.Contains(t, a.body, "csrf")
		})
	}
	// Nothing was created by the refused requests.
	a := h.req(http.MethodGet, "/api/clients/sales", "", "Cookie", s.cookie)
	assert.Equal(t, http.StatusNotFound, a.status, "a GET needs no CSRF token; the client does not exist: %s", a.body)
	// Sign-out is state-changing too.
	wantError(t, h.req(http.MethodDelete, "/console/api/session", "", "Cookie", s.cookie), http.StatusForbidden, "forbidden", httpapi.HeaderCSRF)

	a = h.req(http.MethodPost, "/api/clients", body, "Cookie", s.cookie, httpapi.HeaderCSRF, s.csrf, "Origin", h.url, "Sec-Fetch-Site", "same-origin")
	require.Equal(t, http.StatusCreated, a.status, "with the token, from the same origin: %s", a.body)
}

// TestConsoleSession_EndsWithClient: a session ends when its client is
// deleted or its secret rotated, on the next request; sign-out ends it
// on every instance (the store is shared, a real Redis).
func TestConsoleSession_EndsWithClient(t *testing.T) {
	rs := redisserver.Start(t)
	shared := apiserver.WithConfig(func(c *config.Config) {
		c.Redis.URL, c.Pepper, c.AdminSecret = rs.URL(), "pepper-0123456789abcdef0123456789abcdef", "admin-0123456789abcdef0123456789"
	})
	a, srv := startConsole(t, shared)
	b, _ := startConsole(t, shared)
	admin := srv.AdminSecret

	t.Run("Deleted", func(t *testing.T) {
		secret := a.createClient(admin, "gone")
		s := a.signIn("gone", secret)
		require.Equal(t, http.StatusOK, b.req(http.MethodGet, "/console/api/session", "", "Cookie", s.cookie).status, "the other instance knows the session")
		require.Equal(t, http.StatusNoContent, a.req(http.MethodDelete, "/api/clients/gone", "", "Basic", "admin:"+admin).status)
		for _, h := range []consoleHTTP{a, b} {
			r := h.req(http.MethodGet, "/console/api/session", "", "Cookie", s.cookie)
			wantError(t, r, http.StatusUnauthorized, "unauthorized", "")
			require.NotNil(t, r.cookie, "the 401 clears the cookie")
			assert.Equal(t, -1, r.cookie.MaxAge)
		}
		// Re-creating a client of the same id does not revive it.
		a.createClient(admin, "gone")
		wantError(t, b.req(http.MethodGet, "/api/tokens?reportId=x", "", "Cookie", s.cookie), http.StatusUnauthorized, "unauthorized", "")
	})
	t.Run("Rotated", func(t *testing.T) {
		secret := a.createClient(admin, "rot")
		s := a.signIn("rot", secret)
		r := b.req(http.MethodPost, "/api/clients/rot/_rotate-secret", "", "Basic", "admin:"+admin)
		require.Equal(t, http.StatusOK, r.status, r.body)
		wantError(t, a.req(http.MethodGet, "/console/api/session", "", "Cookie", s.cookie), http.StatusUnauthorized, "unauthorized", "")
		var v struct{ Secret string }
		require.NoError(t, json.Unmarshal([]byte(r.body), &v))
		b.signIn("rot", v.Secret) // the new secret signs in (on the instance that rotated it; the other caches the client for up to 10s)
	})
	t.Run("SignOut", func(t *testing.T) {
		s := a.signIn("admin", admin)
		r := b.req(http.MethodDelete, "/console/api/session", "", "Cookie", s.cookie, httpapi.HeaderCSRF, s.csrf)
		require.Equal(t, http.StatusNoContent, r.status, r.body)
		require.NotNil(t, r.cookie)
		assert.Equal(t, -1, r.cookie.MaxAge, "sign-out clears the cookie")
		wantError(t, a.req(http.MethodGet, "/api/clients", "", "Cookie", s.cookie), http.StatusUnauthorized, "unauthorized", "")
	})
}

// TestConsoleSession_Timeouts: idle and absolute timeouts, by the injected clock.
func TestConsoleSession_Timeouts(t *testing.T) {
	clk := testclock.Wall()
	h, srv := startConsole(t, apiserver.WithApp(app.WithNow(clk.Now)), apiserver.WithConfig(func(c *config.Config) {
		c.Console.SessionIdle, c.Console.SessionMax = 30*time.Minute, 2*time.Hour
	}))
	use := func(s session) int { return h.req(http.MethodGet, "/api/clients", "", "Cookie", s.cookie).status }

	idle := h.signIn("admin", srv.AdminSecret)
	clk.Advance(29 * time.Minute)
	require.Equal(t, http.StatusOK, use(idle), "used within the idle timeout")
	clk.Advance(29 * time.Minute)
	require.Equal(t, http.StatusOK, use(idle), "each use moves the idle deadline on")
	clk.Advance(30 * time.Minute)
	require.Equal(t, http.StatusUnauthorized, use(idle), "30 minutes unused: ended")
	clk.Advance(-31 * time.Minute)
	require.Equal(t, http.StatusUnauthorized, use(idle), "an ended session stays ended")

	abs := h.signIn("admin", srv.AdminSecret)
	for range 5 { // 5 × 20m = 100m, used all along
		clk.Advance(20 * time.Minute)
		require.Equal(t, http.StatusOK, use(abs))
	}
	clk.Advance(20 * time.Minute) // 2h after sign-in
	require.Equal(t, http.StatusUnauthorized, use(abs), "ended at console.session_max however busy")
}

// TestConsoleSession_Throttle: failed sign-ins count against the same
// limit as failed Basic authentications, and are then answered 429 even
// with the right secret.
func TestConsoleSession_Throttle(t *testing.T) {
	h, srv := startConsole(t, apiserver.WithConfig(func(c *config.Config) { c.Auth.MaxFailures, c.Auth.Window = 3, time.Hour }))
	bad := `{"clientId":"admin","clientSecret":"wrong"}`
	wantError(t, h.req(http.MethodPost, "/console/api/session", bad), http.StatusUnauthorized, "unauthorized", "clientSecret")
	wantError(t, h.req(http.MethodGet, "/api/clients", "", "Basic", "admin:wrong"), http.StatusUnauthorized, "unauthorized", "")
	wantError(t, h.req(http.MethodPost, "/console/api/session", bad), http.StatusUnauthorized, "unauthorized", "clientSecret")
	a := h.req(http.MethodPost, "/console/api/session", bad)
	wantError(t, a, http.StatusTooManyRequests, "rate_limited", "")
	assert.NotEmpty(t, a.header.Get("Retry-After"))
	good := fmt.Sprintf(`{"clientId":"admin","clientSecret":%q}`, srv.AdminSecret)
	a = h.req(http.MethodPost, "/console/api/session", good)
	wantError(t, a, http.StatusTooManyRequests, "rate_limited", "")
	assert.Nil(t, a.cookie, "no session while blocked")
	wantError(t, h.req(http.MethodGet, "/api/clients", "", "Basic", "admin:"+srv.AdminSecret), http.StatusTooManyRequests, "rate_limited", "")
}

// TestConsoleSession_SameRightsAsBasic: a session can do exactly what its
// client's Basic credentials can: the same status for each request; and a
// request with both Basic and a cookie is the Basic client's.
func TestConsoleSession_SameRightsAsBasic(t *testing.T) {
	h, srv := startConsole(t)
	secret := h.createClient(srv.AdminSecret, "sales")
	s := h.signIn("sales", secret)
	for _, tc := range []struct{ method, path, body string }{
		{http.MethodGet, "/api/clients", ""},
		{http.MethodGet, "/api/clients/admin", ""},
		{http.MethodPost, "/api/clients", `{"id":"x1","name":"x","role":"admin"}`},
		{http.MethodDelete, "/api/clients/admin", ""},
		{http.MethodPost, "/api/clients/admin/_rotate-secret", ""},
		{http.MethodPut, "/api/owners/alice/roles/api-tokens", ""},
		{http.MethodGet, "/api/tokens?reportId=other", ""},
		{http.MethodPost, "/api/tokens", `{"type":"report","reportId":"other"}`},
		{http.MethodPost, "/api/v1/revoke-all", `{"dashboardId":"other"}`},
		{http.MethodPost, "/api/v1/revoke-all", `{"dashboardId":"sales"}`},
		{http.MethodPost, "/api/tokens/_cleanup", ""},
	} {
		t.Run(tc.method+" "+tc.path, func(t *testing.T) {
			basic := h.req(tc.method, tc.path, tc.body, "Basic", "sales:"+secret)
			cookie := h.req(tc.method, tc.path, tc.body, "Cookie", s.cookie, httpapi.HeaderCSRF, s.csrf)
			assert.Equal(t, basic.status, cookie.status, "Basic: %s\ncookie: %s", basic.body, cookie.body)
		})
	}
	admin := h.signIn("admin", srv.AdminSecret)
	a := h.req(http.MethodGet, "/api/clients", "", "Cookie", admin.cookie, "Basic", "sales:"+secret)
	wantError(t, a, http.StatusForbidden, "forbidden", "")
	a = h.req(http.MethodGet, "/api/clients", "", "Cookie", admin.cookie, "Basic", "sales:wrong")
	wantError(t, a, http.StatusUnauthorized, "unauthorized", "")
	a = h.req(http.MethodGet, "/api/clients", "", "Cookie", admin.cookie, "Authorization", "Bearer x.y.z")
	assert.Equal(t, http.StatusUnauthorized, a.status, "an Authorization header of any scheme wins over the cookie: %s", a.body)
}
