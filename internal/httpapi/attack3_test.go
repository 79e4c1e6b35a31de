package httpapi_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/sigil-dev/sigil/internal/app"
	"github.com/sigil-dev/sigil/internal/config"
	"github.com/sigil-dev/sigil/internal/console"
	"github.com/sigil-dev/sigil/internal/httpapi"
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

// TestAttack3_F12_BasicCrossSite: a browser that cached the admin's Basic
// credentials attaches them to another site's form posts; such requests
// (Sec-Fetch-Site cross-site/same-site, a foreign Origin) are refused
// before anything changes, and the body-less POSTs refuse form and text
// bodies. Server-to-server callers (neither header) keep working, and a
// browser navigation is not asked for Basic credentials.
func TestAttack3_F12_BasicCrossSite(t *testing.T) {
	e := newConsoleEnv(t)
	victim := e.newClient("sales", "dashboard:sales")
	adm := func(method, path string, hdr ...string) answer {
		return e.send(method, path, "", func(r *http.Request) {
			r.SetBasicAuth("admin", e.srv.AdminSecret)
			for i := 0; i+1 < len(hdr); i += 2 {
				r.Header.Add(hdr[i], hdr[i+1])
			}
		})
	}
	form := "application/x-www-form-urlencoded"
	for name, hdr := range map[string][]string{
		"ErrCrossSiteForm": {"Origin", "https://evil.example", "Sec-Fetch-Site", "cross-site", "Content-Type", form},
		"ErrForeignOrigin": {"Origin", "https://evil.example"},
		"ErrNullOrigin":    {"Origin", "null"},
		"ErrSameSite":      {"Sec-Fetch-Site", "same-site"},
		"ErrCrossSiteJSON": {"Sec-Fetch-Site", "cross-site", "Content-Type", "application/json"},
		"ErrTwoOrigins":    {"Origin", e.srv.URL, "Origin", "https://evil.example"},
	} {
		t.Run(name, func(t *testing.T) {
			requireErr(t, adm(http.MethodPost, "/api/clients/sales/_rotate-secret", hdr...), http.StatusForbidden, "forbidden", "Origin")
			requireErr(t, adm(http.MethodPost, "/api/tokens/_cleanup", hdr...), http.StatusForbidden, "forbidden", "Origin")
			requireErr(t, adm(http.MethodDelete, "/api/clients/sales", hdr...), http.StatusForbidden, "forbidden", "Origin")
		})
	}
	t.Run("ErrRevokeCrossSite", func(t *testing.T) {
		a := e.send(http.MethodPost, "/api/v1/revoke", "token=x", func(r *http.Request) {
			r.SetBasicAuth("admin", e.srv.AdminSecret)
			r.Header.Set("Content-Type", form)
			r.Header.Set("Origin", "https://evil.example")
		})
		requireErr(t, a, http.StatusForbidden, "forbidden", "Origin")
	})
	for _, ct := range []string{form, "text/plain", "multipart/form-data; boundary=x", "application/jsonx"} {
		t.Run("ErrBodylessContentType "+ct, func(t *testing.T) {
			requireErr(t, adm(http.MethodPost, "/api/clients/sales/_rotate-secret", "Content-Type", ct), http.StatusUnsupportedMediaType, "", "Content-Type")
			requireErr(t, adm(http.MethodPost, "/api/tokens/_cleanup", "Content-Type", ct), http.StatusUnsupportedMediaType, "", "Content-Type")
			requireErr(t, adm(http.MethodPut, "/api/owners/carol/roles/api-tokens", "Content-Type", ct), http.StatusUnsupportedMediaType, "", "Content-Type")
		})
	}
	// Nothing changed: the victim's secret still works.
	require.Equal(t, http.StatusOK, e.basic("sales", victim, http.MethodGet, "/api/tokens", "").status)

	t.Run("SameOriginAndServerToServer", func(t *testing.T) {
		require.Equal(t, http.StatusOK, adm(http.MethodPost, "/api/tokens/_cleanup").status)
		require.Equal(t, http.StatusOK, adm(http.MethodPost, "/api/tokens/_cleanup", "Content-Type", "application/json").status)
		require.Equal(t, http.StatusOK, adm(http.MethodPost, "/api/tokens/_cleanup", "Origin", e.srv.URL, "Sec-Fetch-Site", "same-origin").status)
		// Safe methods are not refused (they change nothing).
		require.Equal(t, http.StatusOK, adm(http.MethodGet, "/api/clients", "Origin", "https://evil.example", "Sec-Fetch-Site", "cross-site").status)
		require.Equal(t, http.StatusOK, adm(http.MethodPost, "/api/clients/sales/_rotate-secret").status)
	})
	t.Run("NoBasicChallengeToNavigation", func(t *testing.T) {
		a := e.send(http.MethodGet, "/api/clients", "", func(r *http.Request) {
			r.Header.Set("Sec-Fetch-Mode", "navigate")
			r.Header.Set("Sec-Fetch-Dest", "document")
		})
		require.Equal(t, http.StatusUnauthorized, a.status)
		require.NotContains(t, a.header.Get("WWW-Authenticate"), "Basic")
		// A script or curl still gets the challenge.
		a = e.send(http.MethodGet, "/api/clients", "", nil)
		require.Equal(t, http.StatusUnauthorized, a.status)
		require.Contains(t, a.header.Get("WWW-Authenticate"), "Basic")
	})
}

// TestAttack3_F9_SessionsPerClient: a client signing in in a loop keeps at
// most console.MaxSessionsPerClient live sessions: each sign-in past it
// ends that client's oldest session; another client's sessions stay, and
// the store holds no more (Redis: its keys are counted).
func TestAttack3_F9_SessionsPerClient(t *testing.T) {
	for name, redisOpt := range map[string]bool{"Memory": false, "Redis": true} {
		t.Run(name, func(t *testing.T) {
			var opts []apiserver.Option
			var raw *goredis.Client
			if redisOpt {
				rs := redisserver.Start(t)
				raw = goredis.NewClient(&goredis.Options{Addr: rs.Addr()})
				t.Cleanup(func() { _ = raw.Close() })
				opts = append(opts, apiserver.WithConfig(func(c *config.Config) {
					c.Redis.URL, c.Revocation.Mode = rs.URL(), "direct"
				}))
			}
			e := newConsoleEnv(t, opts...)
			h := consoleHTTP{t: t, url: e.srv.URL}
			keep := h.signIn("other", e.other)
			var cookies []string
			for range console.MaxSessionsPerClient + 5 {
				cookies = append(cookies, h.signIn("host", e.host).cookie)
				e.clk.Advance(time.Second)
			}
			status := func(cookie string) int {
				return h.req(http.MethodGet, "/console/api/session", "", "Cookie", cookie).status
			}
			for i, c := range cookies {
				want := http.StatusOK
				if i < 5 {
					want = http.StatusUnauthorized
				}
				require.Equal(t, want, status(c), "session %d", i)
			}
			require.Equal(t, http.StatusOK, status(keep.cookie), "another client's session stays")
			if raw != nil {
				keys, err := raw.Keys(context.Background(), "*session:*").Result()
				require.NoError(t, err)
				require.LessOrEqual(t, len(keys), console.MaxSessionsPerClient+1+2, "%v", keys)
			}
		})
	}
}

// TestAttack3_F2_BusySessionStaysWithShortIdle: with the shortest idle
// timeout allowed (1m), a session used every 10 s stays signed in, its
// expiry moving on; once left alone for the idle timeout it ends.
func TestAttack3_F2_BusySessionStaysWithShortIdle(t *testing.T) {
	e := newConsoleEnv(t, apiserver.WithConfig(func(c *config.Config) { c.Console.SessionIdle = time.Minute }))
	h := consoleHTTP{t: t, url: e.srv.URL}
	s := h.signIn("host", e.host)
	for i := range 30 { // 5 minutes
		e.clk.Advance(10 * time.Second)
		a := h.req(http.MethodGet, "/api/tokens", "", "Cookie", s.cookie)
		require.Equal(t, http.StatusOK, a.status, "use %d, %ds after sign-in: %s", i, (i+1)*10, a.body)
	}
	e.clk.Advance(time.Minute)
	require.Equal(t, http.StatusUnauthorized, h.req(http.MethodGet, "/api/tokens", "", "Cookie", s.cookie).status)
}

// TestAttack3_F4_LookAlikeNames: API-token names are unique under NFKC
// and Unicode case folding, and may not hold invisible characters, on
// both stores, for create and rename.
func TestAttack3_F4_LookAlikeNames(t *testing.T) {
	for name, opts := range map[string]func(t *testing.T) []apiserver.Option{
		"Memory": func(*testing.T) []apiserver.Option { return nil },
		"Redis":  func(t *testing.T) []apiserver.Option { return []apiserver.Option{withRedis(t)} },
	} {
		t.Run(name, func(t *testing.T) {
			e := newConsoleEnv(t, opts(t)...)
			alice := e.mintConsole("host", e.host, "alice")
			create := func(n string) answer {
				b, _ := json.Marshal(map[string]any{"name": n, "scopes": []string{"meta:read"}})
				return e.bearer(alice, http.MethodPost, "/api/tokens", string(b))
			}
			for _, n := range []string{"Dup1", "straße", "Σίσυφος", "stop", "ﬁle"} {
				require.Equal(t, http.StatusCreated, create(n).status, n)
			}
			for _, n := range []string{"dup1", "Ｄｕｐ１", "DUP1", "STRASSE", "Strasse", "ΣΊΣΥΦΟΣ", "σίσυφοσ", "ſtop", "STOP", "file", "FILE"} {
				requireErr(t, create(n), http.StatusConflict, "conflict", "name")
			}
			for _, n := range []string{"Dup1\u200b", "Dup1\ufeff", "\u202eDup1", "Dup\u00ad1", "Dup1\u2066", "Dup1\u200d", "Dup1\ufe0f", "Dup\u115f1"} {
				requireErr(t, create(n), http.StatusBadRequest, "invalid_request", "name")
			}
			// Rename: the same rules.
			rec := create("other")
			require.Equal(t, http.StatusCreated, rec.status, rec.body)
			var v struct{ ID string }
			rec.decode(t, &v)
			requireErr(t, e.bearer(alice, http.MethodPatch, "/api/tokens/"+v.ID, `{"name":"ＳＴＲＡＳＳＥ"}`), http.StatusConflict, "conflict", "name")
			requireErr(t, e.bearer(alice, http.MethodPatch, "/api/tokens/"+v.ID, `{"name":"straße\u200b"}`), http.StatusBadRequest, "invalid_request", "name")
			require.Equal(t, http.StatusOK, e.bearer(alice, http.MethodPatch, "/api/tokens/"+v.ID, `{"name":"Other"}`).status, "its own name in another case")
		})
	}
}

// TestAttack3_F11_SessionCookieNames: behind TLS the session cookie is
// __Host-sigil_console (a sibling domain cannot plant one) and a plain-
// named cookie is not read there; a request carrying two session cookies
// is refused (401), whichever comes first, rather than served as one.
func TestAttack3_F11_SessionCookieNames(t *testing.T) {
	e := newConsoleEnv(t, apiserver.WithConfig(func(c *config.Config) { c.HTTP.TrustedProxies = []string{"127.0.0.1/32"} }))
	h := consoleHTTP{t: t, url: e.srv.URL}
	admin := h.signIn("admin", e.srv.AdminSecret)
	host := h.signIn("host", e.host)
	withCookie := func(path, cookie string, hdr ...string) answer {
		return e.send(http.MethodGet, path, "", func(r *http.Request) {
			r.Header.Set("Cookie", cookie)
			for i := 0; i+1 < len(hdr); i += 2 {
				r.Header.Set(hdr[i], hdr[i+1])
			}
		})
	}
	name := httpapi.SessionCookie
	require.Equal(t, http.StatusOK, withCookie("/api/overview", name+"="+admin.cookie).status)
	for _, pair := range []string{
		name + "=" + host.cookie + "; " + name + "=" + admin.cookie,
		name + "=" + admin.cookie + "; " + name + "=" + host.cookie,
		name + "=" + admin.cookie + "; " + name + "=" + admin.cookie,
	} {
		requireErr(t, withCookie("/api/overview", pair), http.StatusUnauthorized, "unauthorized", "Cookie")
		requireErr(t, withCookie("/console/api/session", pair), http.StatusUnauthorized, "unauthorized", "Cookie")
		requireErr(t, withCookie("/api/tokens", pair), http.StatusUnauthorized, "unauthorized", "Cookie")
	}

	// Behind a trusted proxy that saw TLS.
	a := h.req(http.MethodPost, "/console/api/session", `{"clientId":"admin","clientSecret":"`+e.srv.AdminSecret+`"}`, "X-Forwarded-Proto", "https")
	require.Equal(t, http.StatusCreated, a.status, a.body)
	set := a.header.Get("Set-Cookie")
	require.True(t, strings.HasPrefix(set, httpapi.SecureSessionCookie+"="), set)
	require.Contains(t, set, "Secure")
	require.Contains(t, set, "Path=/")
	require.NotContains(t, set, "Domain")
	secure := cookieValue(set)
	_, value, _ := strings.Cut(secure, "=")
	tls := []string{"X-Forwarded-Proto", "https"}
	require.Equal(t, http.StatusOK, withCookie("/api/overview", secure, tls...).status)
	// The plain name over TLS is not read (a sibling domain could set it).
	requireErr(t, withCookie("/api/overview", name+"="+value, tls...), http.StatusUnauthorized, "unauthorized", "")
	requireErr(t, withCookie("/api/overview", secure+"; "+secure, tls...), http.StatusUnauthorized, "unauthorized", "Cookie")
}

// TestAttack3_F3_DuplicateKeys: a member name twice in one object of a
// request body is a 400 naming it, at any depth and however it is spelt
// (escapes), on every JSON route; the same name in sibling objects is fine.
func TestAttack3_F3_DuplicateKeys(t *testing.T) {
	e := newConsoleEnv(t)
	dash := e.newClient("sales", "dashboard:sales")
	tb := e.newClient("tb", "api:alice", "api:bob")
	mint := func(extra string) answer {
		return e.send(http.MethodPost, "/api/v1/token", `{"dashboardId":"sales","dashboardSecret":"`+dash+`"`+extra+`}`, nil)
	}
	for _, tc := range []struct {
		name, field string
		a           func() answer
	}{
		{"ConsoleTokenOwner", "owner", func() answer {
			return e.basic("tb", tb, http.MethodPost, "/api/console-tokens", `{"owner":"alice","owner":"bob"}`)
		}},
		{"ConsoleTokenEscaped", "owner", func() answer {
			return e.basic("tb", tb, http.MethodPost, "/api/console-tokens", `{"owner":"alice","\u006fwner":"bob"}`)
		}},
		{"SignIn", "clientId", func() answer {
			return e.send(http.MethodPost, "/console/api/session", `{"clientId":"tb","clientId":"host","clientSecret":"`+e.host+`"}`, nil)
		}},
		{"SignInSpaces", "clientId", func() answer {
			return e.send(http.MethodPost, "/console/api/session", "{\"clientId\" : \"tb\",\n \"clientSecret\":\""+tb+"\", \"clientId\"\t:\"host\"}", nil)
		}},
		{"Scopes", "scopes", func() answer {
			return e.basic("host", e.host, http.MethodPost, "/api/tokens", `{"type":"api","owner":"alice","name":"d","scopes":["meta:read"],"scopes":["report:read"]}`)
		}},
		{"MintTop", "sub", func() answer { return mint(`,"sub":"a","sub":"b"`) }},
		{"MintParams", "region", func() answer { return mint(`,"params":{"region":"emea","lang":"de","region":"apac"}`) }},
		{"MintNested", "level", func() answer {
			return mint(`,"securityPolicies":[{"name":"r","params":{"level":1,"level":2}}]`)
		}},
		{"MintEscapedNested", "securityPolicies[0].params.level", func() answer {
			return mint(`,"securityPolicies":[{"name":"r","params":{"level":1,"l\u0065vel":2}}]`)
		}},
	} {
		t.Run("Err"+tc.name, func(t *testing.T) { requireErr(t, tc.a(), http.StatusBadRequest, "invalid_request", tc.field) })
	}
	t.Run("SiblingsMayShareNames", func(t *testing.T) {
		a := mint(`,"sub":"u1","securityPolicies":[{"name":"a","params":{"x":1}},{"name":"b","params":{"x":2}}],"params":{"name":"n","sub":"x"}`)
		require.Equal(t, http.StatusOK, a.status, a.body)
	})
	t.Run("ManyParams", func(t *testing.T) {
		var b strings.Builder
		for i := range 60 {
			fmt.Fprintf(&b, `,"p%d":%d`, i, i)
		}
		p := b.String()[1:]
		a := mint(`,"params":{` + p + `}`)
		require.NotEqual(t, http.StatusInternalServerError, a.status)
		requireErr(t, mint(`,"params":{`+p+`,"p7":0}`), http.StatusBadRequest, "invalid_request", "p7")
	})
}

// TestAttack3_F7_HeadAndRequestID: HEAD is answered like GET on the
// console's files and /api/overview (no body); a caller's X-Request-Id is
// echoed only when it is a short token-like value, else replaced.
func TestAttack3_F7_HeadAndRequestID(t *testing.T) {
	e := newConsoleEnv(t)
	for _, p := range []string{"/console/", "/console/console.js"} {
		get := e.send(http.MethodGet, p, "", nil)
		require.Equal(t, http.StatusOK, get.status, p)
		head := e.send(http.MethodHead, p, "", nil)
		require.Equal(t, http.StatusOK, head.status, p)
		require.Empty(t, head.body)
		require.Equal(t, get.header.Get("Content-Type"), head.header.Get("Content-Type"))
		require.Equal(t, get.header.Get("Content-Security-Policy"), head.header.Get("Content-Security-Policy"))
	}
	head := e.basic("admin", e.srv.AdminSecret, http.MethodHead, "/api/overview", "")
	require.Equal(t, http.StatusOK, head.status)
	require.Empty(t, head.body)
	require.Equal(t, http.StatusUnauthorized, e.send(http.MethodHead, "/api/overview", "", nil).status)
	require.Equal(t, http.StatusForbidden, e.basic("host", e.host, http.MethodHead, "/api/overview", "").status)

	rid := func(v ...string) string {
		a := e.send(http.MethodGet, "/healthz", "", func(r *http.Request) {
			for _, x := range v {
				r.Header.Add("X-Request-Id", x)
			}
		})
		return a.header.Get("X-Request-Id")
	}
	require.Equal(t, "trace-42.a_b", rid("trace-42.a_b"))
	ok128 := strings.Repeat("a", 128)
	require.Equal(t, ok128, rid(ok128))
	for _, bad := range [][]string{
		{strings.Repeat("a", 129)}, {strings.Repeat("x", 7000)}, {"eyJhbGciOi.J9 space"}, {"a/b"}, {"ünï"},
		{"a", "b"},
	} {
		got := rid(bad...)
		require.NotEmpty(t, got)
		require.NotContains(t, bad, got, "replaced")
		require.LessOrEqual(t, len(got), 128)
	}
}

// TestAttack3_F1_ClientCacheDroppedOnOtherInstance: a secret rotation or a
// deletion on one instance reaches the other's client cache by a notice
// over Redis, not after the cache's TTL: the old secret stops and the new
// one works there while its clock (which times the cache) stands still.
func TestAttack3_F1_ClientCacheDroppedOnOtherInstance(t *testing.T) {
	a, b := twoInstances(t)
	old := a.newClient("cached", "api:alice")
	require.Equal(t, http.StatusOK, b.basic("cached", old, http.MethodGet, "/api/tokens", "").status, "B caches the client")

	rec := a.basic("admin", a.srv.AdminSecret, http.MethodPost, "/api/clients/cached/_rotate-secret", "")
	require.Equal(t, http.StatusOK, rec.status, rec.body)
	var v struct{ Secret string }
	rec.decode(t, &v)
	// Pub/sub is asynchronous: poll, with a guard far above the delivery time.
	require.Eventually(t, func() bool {
		return b.basic("cached", old, http.MethodGet, "/api/tokens", "").status == http.StatusUnauthorized
	}, 10*time.Second, 10*time.Millisecond, "the old secret stops on B")
	require.Equal(t, http.StatusOK, b.basic("cached", v.Secret, http.MethodGet, "/api/tokens", "").status, "the new one works on B")

	require.Equal(t, http.StatusNoContent, a.basic("admin", a.srv.AdminSecret, http.MethodDelete, "/api/clients/cached", "").status)
	require.Eventually(t, func() bool {
		return b.basic("cached", v.Secret, http.MethodGet, "/api/tokens", "").status == http.StatusUnauthorized
	}, 10*time.Second, 10*time.Millisecond, "a deleted client stops on B")
}
