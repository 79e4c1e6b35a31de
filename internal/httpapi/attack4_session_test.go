package httpapi_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/sigil-dev/sigil/internal/httpapi"
)

// introspectWith posts tok to /api/v1/introspect with an optional session
// (cookie and CSRF token) and an optional Authorization header, from any
// goroutine; it returns the status and whether the answer was active.
func introspectWith(base string, sess *session, auth, tok string) (int, bool, error) {
	r, err := http.NewRequest(http.MethodPost, base+"/api/v1/introspect", strings.NewReader(url.Values{"token": {tok}}.Encode()))
	if err != nil {
		return 0, false, err
	}
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if sess != nil {
		r.AddCookie(&http.Cookie{Name: httpapi.SessionCookie, Value: sess.cookie})
		r.Header.Set(httpapi.HeaderCSRF, sess.csrf)
	}
	if auth != "" {
		r.Header.Set("Authorization", auth)
	}
	res, err := http.DefaultClient.Do(r)
	if err != nil {
		return 0, false, err
	}
	defer res.Body.Close()
	var v struct{ Active bool }
	if res.StatusCode == http.StatusOK {
		if err := json.NewDecoder(res.Body).Decode(&v); err != nil {
			return 0, false, err
		}
	}
	return res.StatusCode, v.Active, nil
}

// TestAttack4_IntrospectSessionsAndBasicConcurrently: withClient hands the
// authenticated client to introspection as an argument; at once, sales's
// console session and hr's (with Basic of the other client or without)
// introspect both tenants' tokens. A session acts as its own client,
// Basic wins over a cookie, and no answer is another request's caller's.
// Once sales's secret is rotated, its session ends: 401 from then on,
// while hr's session is untouched.
func TestAttack4_IntrospectSessionsAndBasicConcurrently(t *testing.T) {
	e := newConsoleEnv(t, noAuthLimit())
	sales := e.newClient("sales", "dashboard:sales")
	hr := e.newClient("hr", "dashboard:hr")
	salesTok, hrTok := e.mintEmbed("sales", sales), e.mintEmbed("hr", hr)
	h := consoleHTTP{t: t, url: e.srv.URL}
	salesSess, hrSess := h.signIn("sales", sales), h.signIn("hr", hr)

	type probe struct {
		name   string
		sess   *session
		auth   string
		tok    string
		active bool
	}
	probes := []probe{
		{"sales session, own token", &salesSess, "", salesTok, true},
		{"sales session, hr token", &salesSess, "", hrTok, false},
		{"hr session, own token", &hrSess, "", hrTok, true},
		{"hr session + sales Basic, hr token", &hrSess, basicHeader("sales", sales), hrTok, false},
		{"sales session + hr Basic, hr token", &salesSess, basicHeader("hr", hr), hrTok, true},
		{"hr Basic, sales token", nil, basicHeader("hr", hr), salesTok, false},
	}
	errs := make(chan error, 64)
	var wg sync.WaitGroup
	for g := range 6 {
		wg.Go(func() {
			for i := range 30 {
				p := probes[(g+i)%len(probes)]
				status, active, err := introspectWith(e.srv.URL, p.sess, p.auth, p.tok)
				if err != nil {
					errs <- err
					return
				}
				if status != http.StatusOK || active != p.active {
					errs <- fmt.Errorf("%s: %d active=%v", p.name, status, active)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}

	rec := e.basic("admin", e.srv.AdminSecret, http.MethodPost, "/api/clients/sales/_rotate-secret", "")
	require.Equal(t, http.StatusOK, rec.status, rec.body)
	status, _, err := introspectWith(e.srv.URL, &salesSess, "", salesTok)
	require.NoError(t, err)
	require.Equal(t, http.StatusUnauthorized, status, "a session of a rotated client")
	status, active, err := introspectWith(e.srv.URL, &hrSess, "", hrTok)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, status)
	require.True(t, active)
}
