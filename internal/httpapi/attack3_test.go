package httpapi_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/sigil-dev/sigil/internal/app"
	"github.com/sigil-dev/sigil/internal/config"
	"github.com/sigil-dev/sigil/internal/testclock"
	"github.com/sigil-dev/sigil/test/apiserver"
	"github.com/sigil-dev/sigil/test/redisserver"
)

// twoInstances starts two consoleEnvs on one real redis-server, as two
// replicas of one deployment: same issuer, keys, admin secret and pepper,
// each with its own clock (both at the same instant) and its own client
// cache.
func twoInstances(t *testing.T, opts ...apiserver.Option) (a, b *consoleEnv) {
	t.Helper()
	rs := redisserver.Start(t)
	shared := apiserver.WithConfig(func(c *config.Config) {
		c.Redis.URL = rs.URL()
		c.Revocation.Mode = "direct"
		c.Pepper = "pepper-" + t.Name()
	})
	a = newConsoleEnv(t, append([]apiserver.Option{shared}, opts...)...)
	clk := testclock.New(a.clk.Now())
	b = &consoleEnv{t: t, clk: clk, host: a.host, other: a.other}
	b.srv = apiserver.Start(t, append([]apiserver.Option{shared,
		apiserver.WithApp(app.WithNow(clk.Now)),
		apiserver.WithConfig(func(c *config.Config) {
			c.Issuer, c.Keys.Dir, c.AdminSecret = a.srv.URL, a.srv.KeysDir, a.srv.AdminSecret
		})}, opts...)...)
	b.srv.AdminSecret = a.srv.AdminSecret
	return a, b
}

// TestAttack3_F1_ConsoleTokenDiesWithRotation: a console token is bound to
// its client's secret, not to a time: one minted in the same instant as the
// rotation, and one minted with the old secret on an instance whose cached
// client predates the rotation, are refused on every instance.
func TestAttack3_F1_ConsoleTokenDiesWithRotation(t *testing.T) {
	a, b := twoInstances(t)
	old := a.newClient("rot", "api:alice")
	// B reads (and caches) the client with the old secret.
	require.Equal(t, http.StatusOK, b.basic("rot", old, http.MethodGet, "/api/tokens", "").status)

	sameInstant := a.mintConsole("rot", old, "alice")
	require.Equal(t, http.StatusOK, a.bearer(sameInstant, http.MethodGet, "/api/tokens", "").status)
	require.Equal(t, http.StatusOK, b.bearer(sameInstant, http.MethodGet, "/api/tokens", "").status)
	// Rotation on A at the very instant of the mint (neither clock moves).
	require.Equal(t, http.StatusOK, a.basic("admin", a.srv.AdminSecret, http.MethodPost, "/api/clients/rot/_rotate-secret", "").status)
	for _, e := range []*consoleEnv{a, b} {
		requireErr(t, e.bearer(sameInstant, http.MethodGet, "/api/tokens", ""), http.StatusUnauthorized, "invalid_token", "")
	}

	// Minted after the rotation with the old secret on B (its cached copy
	// of the client still takes it): dead on both instances.
	b.clk.Advance(2 * time.Second)
	a.clk.Advance(2 * time.Second)
	rec := b.basic("rot", old, http.MethodPost, "/api/console-tokens", `{"owner":"alice"}`)
	if rec.status == http.StatusCreated {
		var v struct{ Token string }
		rec.decode(t, &v)
		for _, e := range []*consoleEnv{a, b} {
			requireErr(t, e.bearer(v.Token, http.MethodGet, "/api/tokens", ""), http.StatusUnauthorized, "invalid_token", "")
			requireErr(t, e.bearer(v.Token, http.MethodPost, "/api/tokens", `{"name":"after","scopes":["meta:read"]}`), http.StatusUnauthorized, "invalid_token", "")
		}
	} else {
		require.Equal(t, http.StatusUnauthorized, rec.status, rec.body)
	}
	// A session signed in with the old secret on B is dead too.
	sess := b.send(http.MethodPost, "/console/api/session", `{"clientId":"rot","clientSecret":"`+old+`"}`, nil)
	if sess.status == http.StatusCreated {
		cookie := sess.header.Get("Set-Cookie")
		require.NotEmpty(t, cookie)
		for _, e := range []*consoleEnv{a, b} {
			got := e.send(http.MethodGet, "/api/tokens", "", func(r *http.Request) { r.Header.Set("Cookie", cookieValue(cookie)) })
			require.Equal(t, http.StatusUnauthorized, got.status, got.body)
		}
	}
}

// cookieValue is the name=value pair of a Set-Cookie header.
func cookieValue(setCookie string) string {
	v, _, _ := strings.Cut(setCookie, ";")
	return v
}
