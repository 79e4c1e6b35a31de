package httpapi_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/labstack/echo/v4"
	"github.com/stretchr/testify/require"

	"github.com/sigil-dev/sigil/internal/config"
	"github.com/sigil-dev/sigil/internal/keys"
	"github.com/sigil-dev/sigil/internal/token"
)

// BenchmarkHotPath is the in-process form of make bench's rows, one request
// per iteration through the production stack (internal/app on the memory
// store), beside the baselines of test/bench in the same process:
//
//   - verify-warm: GET /api/v1/verify with a cached token, nginx's
//     X-Original-Method and X-Original-URI (the policy step runs) and the
//     identity headers in the answer;
//   - verify-cold-ALG: tokens.cache_size 0, a different token each request
//     (rotating over a fixed pool, so setup does not grow with b.N);
//   - mint-ALG: POST /api/v1/token with the dashboard's id and secret,
//     params and a rotating sub;
//   - introspect: POST /api/v1/introspect as the admin client;
//   - noop, bare-verify-ALG, bare-sign-ALG: the Echo baselines (no
//     middleware, golang-jwt with the same key) of test/bench/bare.
//
// make bench-instr runs each under callgrind at two iteration counts and
// prints the difference per request: instructions per request, a figure
// that the machine's load does not move.
func BenchmarkHotPath(b *testing.B) {
	// Each sub-benchmark builds what it needs inside its own function, so
	// that running one (-bench BenchmarkHotPath/NAME) sets up only that one.
	gated := func(b *testing.B, bs benchStack) *http.Request {
		r := bs.verifyRequest(b, benchClaims("user-42"), time.Hour)
		r.Header.Set("X-Original-Method", "GET")
		r.Header.Set("X-Original-URI", "/dashboards/sales/widgets/7?lang=de")
		return r
	}
	b.Run("verify-warm", func(b *testing.B) {
		bs := newBenchStack(b)
		benchServe(b, bs.api, gated(b, bs))
	})
	b.Run("verify-warm-10k", func(b *testing.B) {
		// Every request a different cached token, rotating over 10,000 (all
		// cached by the warm-up pass below): the working set is larger than
		// the CPU's caches, as in make bench's verify-warm row, so what each
		// hit costs in memory reads shows (callgrind --cache-sim=yes).
		bs := newBenchStack(b)
		r := gated(b, bs)
		auth := manyCachedTokens(b, bs, r, 10_000)
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			r.Header["Authorization"][0] = auth[i%len(auth)]
			w := httptest.NewRecorder()
			bs.api.ServeHTTP(w, r)
			if w.Code != http.StatusOK {
				b.Fatal(w.Code, w.Body.String())
			}
			i++
		}
	})
	b.Run("noop", func(b *testing.B) {
		noop := echo.New()
		noop.GET("/", func(c echo.Context) error { return c.String(http.StatusOK, "ok") })
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		_, iss := bareIssuer(b, keys.EdDSA)
		raw, _, err := iss.Mint(benchClaims("user-42"), time.Hour)
		require.NoError(b, err)
		r.Header.Set("Authorization", "Bearer "+raw)
		benchServe(b, noop, r)
	})
	b.Run("introspect", func(b *testing.B) {
		bs := newBenchStack(b)
		raw := strings.TrimPrefix(gated(b, bs).Header.Get("Authorization"), "Bearer ")
		b.ReportAllocs()
		for b.Loop() {
			r := httptest.NewRequest(http.MethodPost, "/api/v1/introspect", strings.NewReader("token="+raw))
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			r.SetBasicAuth("admin", "bench-admin-secret-0123456789abcdef")
			w := httptest.NewRecorder()
			bs.api.ServeHTTP(w, r)
			if w.Code != http.StatusOK || !strings.Contains(w.Body.String(), `"active":true`) {
				b.Fatal(w.Code, w.Body.String())
			}
		}
	})
	for _, alg := range []string{keys.EdDSA, keys.ES256} {
		// pool is 256 tokens of bs (a different token per request).
		pool := func(b *testing.B, bs benchStack) []*http.Request {
			p := make([]*http.Request, 256)
			for i := range p {
				p[i] = bs.verifyRequest(b, benchClaims(fmt.Sprintf("user-%d", i)), time.Hour)
			}
			return p
		}
		b.Run("verify-cold-"+alg, func(b *testing.B) {
			cold := newBenchStackWith(b, alg, func(c *config.Config) { c.Tokens.CacheSize = 0 })
			reqs := pool(b, cold)
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				w := httptest.NewRecorder()
				cold.api.ServeHTTP(w, reqs[i%len(reqs)])
				if w.Code != http.StatusOK {
					b.Fatal(w.Code, w.Body.String())
				}
				i++
			}
		})
		b.Run("bare-verify-"+alg, func(b *testing.B) {
			k, iss := bareIssuer(b, alg)
			reqs := make([]*http.Request, 256)
			for i := range reqs {
				raw, _, err := iss.Mint(benchClaims(fmt.Sprintf("user-%d", i)), time.Hour)
				require.NoError(b, err)
				reqs[i] = httptest.NewRequest(http.MethodGet, "/", nil)
				reqs[i].Header.Set("Authorization", "Bearer "+raw)
			}
			bare := bareVerifyHandler(k)
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				r := httptest.NewRequest(http.MethodGet, "/", nil)
				r.Header.Set("Authorization", reqs[i%len(reqs)].Header.Get("Authorization"))
				w := httptest.NewRecorder()
				bare.ServeHTTP(w, r)
				if w.Code != http.StatusOK {
					b.Fatal(w.Code, w.Body.String())
				}
				i++
			}
		})
		b.Run("mint-"+alg, func(b *testing.B) {
			bs := newBenchStackWith(b, alg, nil)
			bodies := make([]string, 256)
			for i := range bodies {
				bodies[i] = `{"dashboardId":"sales","dashboardSecret":"` + bs.secret + `","sub":"user-` + fmt.Sprint(i) +
					`","params":{"locale":"de-DE","currency":"EUR"}}`
			}
			benchPost(b, bs.api, "/api/v1/token", bodies)
		})
		b.Run("bare-sign-"+alg, func(b *testing.B) {
			k, _ := bareIssuer(b, alg)
			bodies := make([]string, 256)
			for i := range bodies {
				bodies[i] = `{"sub":"user-` + fmt.Sprint(i) + `"}`
			}
			benchPost(b, bareSignHandler(k), "/", bodies)
		})
	}
}

// manyCachedTokens mints n tokens of bs (distinct subjects) and serves r
// once with each, so that all are in the verified-token cache; it returns
// their Authorization values. r's other headers stay as they are.
func manyCachedTokens(tb testing.TB, bs benchStack, r *http.Request, n int) []string {
	tb.Helper()
	auth := make([]string, n)
	for i := range auth {
		raw, _, err := bs.issuer.Mint(benchClaims(fmt.Sprintf("user-%d", i)), time.Hour)
		require.NoError(tb, err)
		auth[i] = "Bearer " + raw
		r.Header["Authorization"][0] = auth[i]
		w := httptest.NewRecorder()
		bs.api.ServeHTTP(w, r)
		require.Equal(tb, http.StatusOK, w.Code, w.Body.String())
	}
	return auth
}

// bareIssuer is the key the stacks of alg sign with and an issuer on it,
// without an application: the baselines run no background work (timers
// would add instructions with the run's wall time, not with b.N).
func bareIssuer(tb testing.TB, alg string) (*keys.Key, *token.Issuer) {
	tb.Helper()
	_, k, err := keys.WritePEM(tb.TempDir(), testSigner(tb, alg))
	require.NoError(tb, err)
	ring, err := keys.NewRing(func() (*keys.Set, error) { return keys.NewSet([]*keys.Key{k}, "") })
	require.NoError(tb, err)
	return k, token.NewIssuer(token.IssuerConfig{Issuer: "https://sigil.test", Audience: "sigil", Keys: ring})
}

func benchClaims(sub string) token.Claims {
	c := token.Claims{Kind: token.KindEmbed, DashboardID: "sales", ClientID: "sales", Scope: "dashboard:view",
		Params: map[string]any{"locale": "de-DE", "currency": "EUR"}}
	c.Subject = sub
	return c
}

// benchPost POSTs each body in turn as JSON to path; anything but a 200 fails.
func benchPost(b *testing.B, h http.Handler, path string, bodies []string) {
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		r := httptest.NewRequest(http.MethodPost, path, strings.NewReader(bodies[i%len(bodies)]))
		r.Header.Set("Content-Type", "application/json")
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != http.StatusOK {
			b.Fatal(w.Code, w.Body.String())
		}
		i++
	}
}

// bareVerifyHandler is test/bench/bare -mode verify: golang-jwt only.
func bareVerifyHandler(k *keys.Key) http.Handler {
	p := jwt.NewParser(jwt.WithValidMethods([]string{k.Alg}), jwt.WithIssuer("https://sigil.test"),
		jwt.WithAudience("sigil"), jwt.WithExpirationRequired())
	pub := k.VerificationKey()
	keyfunc := func(*jwt.Token) (any, error) { return pub, nil }
	e := echo.New()
	e.GET("/", func(c echo.Context) error {
		raw, _ := strings.CutPrefix(c.Request().Header.Get("Authorization"), "Bearer ")
		var claims jwt.RegisteredClaims
		if _, err := p.ParseWithClaims(raw, &claims, keyfunc); err != nil {
			return c.String(http.StatusUnauthorized, err.Error())
		}
		return c.String(http.StatusOK, "ok")
	})
	return e
}

// bareSignHandler is test/bench/bare -mode sign: decode {"sub"}, sign a
// fixed claim set with golang-jwt.
func bareSignHandler(k *keys.Key) http.Handler {
	method := jwt.GetSigningMethod(k.Alg)
	priv := k.SigningKey()
	e := echo.New()
	e.POST("/", func(c echo.Context) error {
		var body struct {
			Sub string `json:"sub"`
		}
		if err := c.Bind(&body); err != nil || body.Sub == "" {
			return c.String(http.StatusBadRequest, "sub required")
		}
		now := time.Now()
		t := jwt.NewWithClaims(method, jwt.RegisteredClaims{
			Issuer: "https://sigil.test", Audience: jwt.ClaimStrings{"sigil"}, Subject: body.Sub,
			IssuedAt: jwt.NewNumericDate(now), ExpiresAt: jwt.NewNumericDate(now.Add(10 * time.Minute)),
			ID: "0190f4a2-7b8c-7d3e-9f00-123456789abc",
		})
		t.Header["kid"] = k.KID
		s, err := t.SignedString(priv)
		if err != nil {
			return err
		}
		return c.JSON(http.StatusOK, map[string]string{"token": s})
	})
	return e
}
