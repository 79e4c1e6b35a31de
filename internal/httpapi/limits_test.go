package httpapi_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/stretchr/testify/require"

	"github.com/sigil-dev/sigil/internal/clients"
	"github.com/sigil-dev/sigil/internal/embed"
	"github.com/sigil-dev/sigil/internal/httpapi"
	"github.com/sigil-dev/sigil/internal/metrics"
	"github.com/sigil-dev/sigil/internal/store/memory"
)

// withTweak adds fn to the fixture's last word on the API config.
func withTweak(fn func(*httpapi.Config)) func(*fixture) {
	return func(f *fixture) {
		prev := f.tweak
		f.tweak = func(c *httpapi.Config) {
			if prev != nil {
				prev(c)
			}
			fn(c)
		}
	}
}

// withMetrics wires real Prometheus metrics, served at /metrics.
func withMetrics() func(*fixture) {
	return withTweak(func(c *httpapi.Config) {
		m := metrics.New()
		c.Observer, c.MetricsHandler = m, m.Handler()
	})
}

// sigilSeries scrapes /metrics and returns the number of series of each
// sigil_http_* family, and every label value seen.
func sigilSeries(t *testing.T, f *fixture) (map[string]int, map[string]bool) {
	t.Helper()
	rec := f.do(http.MethodGet, "/metrics", "")
	require.Equal(t, http.StatusOK, rec.Code)
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(rec.Body)
	require.NoError(t, err)
	counts, values := map[string]int{}, map[string]bool{}
	for name, fam := range families {
		if !strings.HasPrefix(name, "sigil_") {
			continue
		}
		counts[name] = len(fam.GetMetric())
		for _, m := range fam.GetMetric() {
			for _, lp := range m.GetLabel() {
				values[lp.GetName()+"="+lp.GetValue()] = true
			}
		}
	}
	return counts, values
}

// Thousands of requests with distinct made-up methods and paths must not
// make thousands of series: every label comes from a fixed set.
func TestMetrics_RandomMethodsAndPathsDoNotGrowSeries(t *testing.T) {
	f := newAPI(t, withMetrics())
	send := func(method, target string) {
		r := httptest.NewRequest(http.MethodGet, target, nil)
		r.Method = method
		f.serve(r)
	}
	// One round of every kind of request first, so that the fixed set of
	// series is there before counting.
	warm := func(i int) {
		send(http.MethodGet, "/healthz")
		send(fmt.Sprintf("M%dETHOD", i), "/healthz")            // unknown method, known route
		send(http.MethodGet, fmt.Sprintf("/no/such/%d", i))     // unmatched route
		send(fmt.Sprintf("X%d", i), fmt.Sprintf("/nope/%d", i)) // both
		send(http.MethodDelete, "/api/v1/verify")               // known route, wrong method
	}
	warm(0)
	sigilSeries(t, f) // the scrape itself is a series too
	before, _ := sigilSeries(t, f)
	for i := 1; i <= 2000; i++ {
		warm(i)
		send(strings.Repeat("Z", 1000)+fmt.Sprint(i), "/"+strings.Repeat("p", 1000)+fmt.Sprint(i))
	}
	after, values := sigilSeries(t, f)
	require.Equal(t, before, after, "series per family before and after 12,000 requests")
	require.Less(t, after["sigil_http_requests_total"], 20)
	for v := range values {
		require.Less(t, len(v), 64, "label value %q", v)
	}
	require.True(t, values["method=OTHER"], "unknown methods are OTHER")
	require.True(t, values["route=unmatched"], "unmatched paths are one route")
}

// B10: failed logins must not lock out the right secret.

// TestAuth_WrongSecretFloodDoesNotLockOutRightSecret: an attacker floods
// wrong secrets for a client id. The guesser is stopped (its address gets
// 429 on that id, right secret or not, so it learns nothing past its
// budget), while the client with the right secret elsewhere, and other
// clients behind the attacker's address, keep working.
func TestAuth_WrongSecretFloodDoesNotLockOutRightSecret(t *testing.T) {
	const attacker, client = "192.0.2.66:1000", "198.51.100.20:2000"
	const target = "/api/reports/q3/tokens"
	t.Run("OK/OneAddress", func(t *testing.T) {
		rf := newRegAPI(t, nil)
		limited := 0
		for range 5 * maxFailures {
			rec := rf.asFrom(attacker, informerID, "wrong", http.MethodGet, target, "")
			if rec.Code == http.StatusTooManyRequests {
				limited++
				continue
			}
			requireClientUnauthorized(t, rec)
		}
		require.Equal(t, 4*maxFailures, limited, "every guess past the budget is refused")
		// The guesser's budget is spent: even the right secret from its
		// address is refused, so a lucky guess would show nothing.
		requireError(t, rf.asFrom(attacker, informerID, rf.informer, http.MethodGet, target, ""), http.StatusTooManyRequests, "rate_limited", "")
		// The real client is not locked out ...
		require.Equal(t, http.StatusOK, rf.asFrom(client, informerID, rf.informer, http.MethodGet, target, "").Code)
		// ... nor is anyone else behind the attacker's address.
		require.Equal(t, http.StatusOK, rf.asFrom(attacker, enviziID, rf.envizi, http.MethodGet, "/api/tokens?type=api&owner=alice", "").Code)
		require.Equal(t, http.StatusOK, rf.asFrom(attacker, clients.AdminID, rf.adminSecret, http.MethodGet, "/api/tokens", "").Code)
		// Minting with the dashboard secret from the attacker's address too.
		r := httptest.NewRequest(http.MethodPost, "/api/v1/token", strings.NewReader(mustJSON(rf.mintBody(nil))))
		r.Header.Set("Content-Type", "application/json")
		r.RemoteAddr = attacker
		rf.tokenOK(rf.serve(r))
	})
	t.Run("OK/ManyAddresses", func(t *testing.T) {
		var compared atomic.Int64
		rf := newRegAPI(t, nil, withTweak(func(c *httpapi.Config) {
			c.Clients = countingClients{Clients: c.Clients, n: &compared}
		}))
		// A guessing attack on one id from 50 addresses, 6 tries each: once
		// the id is over its limit, each address is stopped at its third
		// failure, so each gets at most three guesses compared, not six.
		const addrs, tries = 50, 6
		const hotPairFailures = 3
		unauthorized := 0
		for i := range addrs {
			addr := fmt.Sprintf("203.0.113.%d:1", i+1)
			for range tries {
				rec := rf.asFrom(addr, informerID, "wrong", http.MethodGet, target, "")
				if rec.Code == http.StatusUnauthorized {
					unauthorized++
					continue
				}
				requireError(t, rec, http.StatusTooManyRequests, "rate_limited", "")
			}
		}
		require.Equal(t, maxFailures, unauthorized, "guesses answered 401 before the id was over its limit")
		require.LessOrEqual(t, compared.Load(), int64(maxFailures+hotPairFailures*addrs),
			"secrets compared across %d attempts: at most the budget plus three per address", addrs*tries)
		// The client's own address never failed: it is never refused.
		require.Equal(t, http.StatusOK, rf.asFrom(client, informerID, rf.informer, http.MethodGet, target, "").Code)
		// A client that mistypes its secret once during the attack (429: the
		// id is over its limit) is not locked out: its right secret passes.
		typo := "198.51.100.9:1"
		requireError(t, rf.asFrom(typo, informerID, "typo", http.MethodGet, target, ""), http.StatusTooManyRequests, "rate_limited", "")
		require.Equal(t, http.StatusOK, rf.asFrom(typo, informerID, rf.informer, http.MethodGet, target, "").Code)
		// An address that failed during the attack is stopped for the window.
		requireError(t, rf.asFrom("203.0.113.40:1", informerID, rf.informer, http.MethodGet, target, ""), http.StatusTooManyRequests, "rate_limited", "")
		rf.clock.Advance(authWindow)
		require.Equal(t, http.StatusOK, rf.asFrom("203.0.113.40:1", informerID, rf.informer, http.MethodGet, target, "").Code)
	})
}

// countingClients counts the secret comparisons (Authenticate calls).
type countingClients struct {
	httpapi.Clients
	n *atomic.Int64
}

func (c countingClients) Authenticate(ctx context.Context, id, secret string) (clients.Client, error) {
	c.n.Add(1)
	return c.Clients.Authenticate(ctx, id, secret)
}

// TestAuth_SpoofedXForwardedForGainsNothing: X-Forwarded-For is read only
// when the peer is a trusted proxy; a client setting it itself is counted
// under its own address however it varies the header.
func TestAuth_SpoofedXForwardedForGainsNothing(t *testing.T) {
	_, proxies, err := net.ParseCIDR("10.0.0.0/8")
	require.NoError(t, err)
	for name, opts := range map[string][]func(*fixture){
		"NoTrustedProxies":    nil,
		"PeerNotTrustedProxy": {withTweak(func(c *httpapi.Config) { c.TrustedProxies = []*net.IPNet{proxies} })},
	} {
		t.Run(name, func(t *testing.T) {
			rf := newRegAPI(t, nil, opts...)
			send := func(xff, secret string) *httptest.ResponseRecorder {
				r := httptest.NewRequest(http.MethodGet, "/api/reports/q3/tokens", nil)
				r.SetBasicAuth(informerID, secret)
				r.RemoteAddr = "192.0.2.66:1000"
				r.Header.Set("X-Forwarded-For", xff)
				return rf.serve(r)
			}
			for i := range maxFailures {
				requireClientUnauthorized(t, send(fmt.Sprintf("198.51.100.%d", i+1), "wrong"))
			}
			// A fresh spoofed address does not buy a fresh budget.
			requireError(t, send("198.51.100.200", "wrong"), http.StatusTooManyRequests, "rate_limited", "")
			requireError(t, send("198.51.100.201", rf.informer), http.StatusTooManyRequests, "rate_limited", "")
		})
	}
}

// TestAuth_BehindTrustedProxyClientsAreCountedApart: behind a trusted
// proxy every client arrives from the proxy's address; their own
// addresses come from X-Forwarded-For, so one client's failures do not
// touch another's, and a client spoofing the header through the proxy is
// still counted under the address the proxy saw.
func TestAuth_BehindTrustedProxyClientsAreCountedApart(t *testing.T) {
	_, proxies, err := net.ParseCIDR("10.0.0.0/8")
	require.NoError(t, err)
	rf := newRegAPI(t, nil, withTweak(func(c *httpapi.Config) { c.TrustedProxies = []*net.IPNet{proxies} }))
	via := func(xff, secret string) *httptest.ResponseRecorder {
		r := httptest.NewRequest(http.MethodGet, "/api/reports/q3/tokens", nil)
		r.SetBasicAuth(informerID, secret)
		r.RemoteAddr = "10.1.2.3:3456" // the load balancer
		r.Header.Set("X-Forwarded-For", xff)
		return rf.serve(r)
	}
	// The attacker prepends made-up addresses; the proxy appends the real one.
	for i := range maxFailures {
		requireClientUnauthorized(t, via(fmt.Sprintf("198.51.100.%d, 203.0.113.9", i+1), "wrong"))
	}
	requireError(t, via("198.51.100.250, 203.0.113.9", rf.informer), http.StatusTooManyRequests, "rate_limited", "")
	// Another client behind the same proxy, same id, right secret: fine.
	require.Equal(t, http.StatusOK, via("203.0.113.10", rf.informer).Code)
}

// B11: refresh cannot flood the denylist.

// countingDeny counts the denylist entries written.
type countingDeny struct {
	*memory.Store
	n *atomic.Int64
}

func (c countingDeny) Deny(ctx context.Context, id string, until time.Time) error {
	c.n.Add(1)
	return c.Store.Deny(ctx, id, until)
}

func (c countingDeny) DenyOnce(ctx context.Context, id string, until time.Time) (bool, error) {
	first, err := c.Store.DenyOnce(ctx, id, until)
	if first {
		c.n.Add(1)
	}
	return first, err
}

func refreshToken(f *fixture, tok string) *httptest.ResponseRecorder {
	return f.bearer(http.MethodPost, "/api/v1/token/refresh", tok)
}

// TestRefresh_LoopCannotFloodDenylist: one embed token refreshed in a loop
// (no secret needed) writes one denylist entry per successful refresh, and
// a token younger than the minimum age is refused with 429 + Retry-After:
// 1,000 tries over 1,000 seconds make at most one entry a minute.
func TestRefresh_LoopCannotFloodDenylist(t *testing.T) {
	var denied atomic.Int64
	f := newAPI(t, withStore(func(m *memory.Store) apiStore { return countingDeny{Store: m, n: &denied} }))
	tok := f.mint(nil).AccessToken
	ok, limited := 0, 0
	for range 1000 {
		rec := refreshToken(f, tok)
		switch rec.Code {
		case http.StatusOK:
			ok++
			tok = f.tokenOK(rec).AccessToken
		default:
			limited++
			requireError(t, rec, http.StatusTooManyRequests, "rate_limited", "")
			require.NotEmpty(t, rec.Header().Get("Retry-After"))
		}
		f.clock.Advance(time.Second)
	}
	t.Logf("1000 refreshes over 1000s: %d answered, %d refused (429), %d denylist entries", ok, limited, denied.Load())
	require.LessOrEqual(t, ok, 1000/60+1)
	require.Equal(t, int64(ok), denied.Load(), "one denylist entry per successful refresh")
	require.Equal(t, http.StatusOK, f.verify(tok).Code, "the chain's last token is live")

	t.Run("RetryAfterIsWhenItBecomesRefreshable", func(t *testing.T) {
		tok := f.mint(nil).AccessToken
		f.clock.Advance(20 * time.Second)
		rec := refreshToken(f, tok)
		requireError(t, rec, http.StatusTooManyRequests, "rate_limited", "")
		require.Equal(t, "40", rec.Header().Get("Retry-After"))
		f.clock.Advance(40 * time.Second)
		f.tokenOK(refreshToken(f, tok))
	})
	t.Run("ShortTokensAtHalfTheirLifetime", func(t *testing.T) {
		tok := f.mint(map[string]any{"tokenExpiry": 30}).AccessToken
		f.clock.Advance(14 * time.Second)
		requireError(t, refreshToken(f, tok), http.StatusTooManyRequests, "rate_limited", "")
		f.clock.Advance(time.Second)
		f.tokenOK(refreshToken(f, tok))
	})
}

// TestRefresh_ChainPastMaxLifetimeRefused: a chain of refreshes ends
// tokens.refresh_max_lifetime after the mint that started it, however
// often it is refreshed: the last token's exp is capped there and a
// refresh after that is refused.
func TestRefresh_ChainPastMaxLifetimeRefused(t *testing.T) {
	f := newAPI(t, withEmbed(func(c *embed.Config) { c.RefreshMaxLifetime = 3 * time.Hour }))
	start := f.clock.Now()
	tr := f.mint(nil) // 1h tokens
	for range 3 {
		f.clock.Advance(50 * time.Minute)
		tr = f.tokenOK(refreshToken(f, tr.AccessToken))
		require.False(t, tr.ExpiresAt.After(start.Add(3*time.Hour)), "exp %s past the chain's end", tr.ExpiresAt)
	}
	require.True(t, tr.ExpiresAt.Equal(start.Add(3*time.Hour)), "the last token ends with the chain")
	// Just past the chain's end the last token still verifies (leeway),
	// but it cannot be refreshed.
	f.clock.Advance(start.Add(3*time.Hour + 10*time.Second).Sub(f.clock.Now()))
	require.Equal(t, http.StatusOK, f.verify(tr.AccessToken).Code)
	rec := refreshToken(f, tr.AccessToken)
	requireError(t, rec, http.StatusUnauthorized, "invalid_token", "")
	require.Contains(t, rec.Body.String(), "maximum lifetime")
	// The chain's start is signed and carried: a forged later auth_time
	// needs the key, and a token without one counts from its iat.
	_, p, _ := segments(t, tr.AccessToken)
	require.Equal(t, float64(start.Unix()), decodePart(t, p)["auth_time"])
	legacy := f.genuine(map[string]any{"auth_time": nil, "iat": f.clock.Now().Add(-3 * time.Hour).Unix(), "exp": f.clock.Now().Add(10 * time.Minute).Unix()})
	requireError(t, refreshToken(f, legacy), http.StatusUnauthorized, "invalid_token", "")
}

// TestRefresh_SecretRotationEndsChain: rotating a dashboard's secret (it
// leaked) ends the refresh chains started before; tokens already issued
// live out their exp (revoke-all with clientId kills them at once).
func TestRefresh_SecretRotationEndsChain(t *testing.T) {
	f := newAPI(t)
	tok := f.mint(nil).AccessToken
	f.clock.Advance(2 * time.Minute)
	rec := f.asAdmin(http.MethodPost, "/api/clients/"+dashID+"/_rotate-secret", "")
	require.Equal(t, http.StatusOK, rec.Code)
	var rotated struct {
		Secret string `json:"secret"`
	}
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &rotated))
	f.secrets = append(f.secrets, rotated.Secret)

	rec = refreshToken(f, tok)
	requireError(t, rec, http.StatusUnauthorized, "invalid_token", "")
	require.Contains(t, rec.Body.String(), "rotated")
	require.Equal(t, http.StatusOK, f.verify(tok).Code, "rotation does not kill live tokens")

	// A chain started with the new secret refreshes.
	f.clock.Advance(time.Second)
	fresh := f.mint(map[string]any{"dashboardSecret": rotated.Secret}).AccessToken
	f.clock.Advance(time.Minute)
	f.tokenOK(refreshToken(f, fresh))
}

// B12: deleting a client ends its tokens.

// TestClients_DeleteEndsTokensTheClientMinted: DELETE /api/clients/{id}
// writes a client cutoff, so every token the client minted stops
// verifying at once (verify 401, introspect inactive, refresh 401); a
// client created again under that id starts clean.
func TestClients_DeleteEndsTokensTheClientMinted(t *testing.T) {
	f := newAPI(t)
	tok := f.mint(map[string]any{"sub": "user-1"}).AccessToken
	require.Equal(t, http.StatusOK, f.verify(tok).Code)

	require.Equal(t, http.StatusNoContent, f.asAdmin(http.MethodDelete, "/api/clients/"+dashID, "").Code)
	requireInvalidToken(t, f.verify(tok), descRevoked)
	rec := f.postForm("/api/v1/introspect", url.Values{"token": {tok}}, clients.AdminID, f.adminSecret)
	require.Equal(t, http.StatusOK, rec.Code)
	require.JSONEq(t, `{"active":false}`, rec.Body.String())
	f.clock.Advance(time.Minute)
	requireInvalidToken(t, refreshToken(f, tok), descRevoked)
	requireError(t, f.asAdmin(http.MethodDelete, "/api/clients/"+dashID, ""), http.StatusNotFound, "not_found", "")

	// Re-created under the same id: its new tokens are not cut off.
	f.clock.Advance(time.Second)
	rec = f.asAdmin(http.MethodPost, "/api/clients", `{"id":"`+dashID+`","resources":["dashboard:`+dashID+`"]}`)
	require.Equal(t, http.StatusCreated, rec.Code)
	var created struct {
		Secret string `json:"secret"`
	}
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &created))
	f.secrets = append(f.secrets, created.Secret)
	fresh := f.mint(map[string]any{"dashboardSecret": created.Secret}).AccessToken
	require.Equal(t, http.StatusOK, f.verify(fresh).Code)
	requireInvalidToken(t, f.verify(tok), descRevoked)
}

// A8: lifetime is checked at verification.

// TestVerify_TenYearEmbedTokenSignedWithRealKeyRefused: a token signed
// with sigil's own key whose exp - iat is longer than tokens.embed_max_expiry
// (a leaked key, a bug in one minting path) is refused on every path of
// the one pipeline.
func TestVerify_TenYearEmbedTokenSignedWithRealKeyRefused(t *testing.T) {
	f := newAPI(t)
	now := f.clock.Now()
	long := f.genuine(map[string]any{"exp": now.Add(10 * 365 * 24 * time.Hour).Unix()})
	requireInvalidToken(t, f.verify(long), descClaims)
	rec := f.postForm("/api/v1/introspect", url.Values{"token": {long}}, clients.AdminID, f.adminSecret)
	require.Equal(t, http.StatusOK, rec.Code)
	require.JSONEq(t, `{"active":false}`, rec.Body.String())
	requireInvalidToken(t, f.bearer(http.MethodPost, "/api/v1/invalidate-token", long), descClaims)
	requireInvalidToken(t, refreshToken(f, long), descClaims)

	// One second over the maximum is refused, the maximum itself is not.
	over := f.genuine(map[string]any{"exp": now.Add(24*time.Hour + time.Second).Unix()})
	requireInvalidToken(t, f.verify(over), descClaims)
	atMax := f.genuine(map[string]any{"exp": now.Add(24 * time.Hour).Unix()})
	require.Equal(t, http.StatusOK, f.verify(atMax).Code)
	// An embed token can never omit exp.
	requireInvalidToken(t, f.verify(f.genuine(map[string]any{"exp": nil})), descClaims)
}

// D21: case-variant member names are unknown fields.

// TestDecode_CaseVariantKeysRefusedOnEveryJSONBody: encoding/json matches
// member names case-insensitively, so {"dashboardId":"a","DashboardId":"b"}
// would decode as "b" while a proxy, a log or a WAF reads "a". Every JSON
// body refuses a name that is not spelt exactly, at any depth, with a 400
// naming it.
func TestDecode_CaseVariantKeysRefusedOnEveryJSONBody(t *testing.T) {
	rf := newRegAPI(t, nil)
	tj := rf.create(informerID, `{"type":"report","reportId":"q3","name":"Q3"}`, true)
	sec := `"dashboardSecret":"` + rf.dashSecret + `"`
	tests := []struct {
		name, id, method, target, body, field string
	}{
		{"Mint/DashboardId", "", http.MethodPost, "/api/v1/token", `{"dashboardId":"sales",` + sec + `,"DashboardId":"other"}`, "DashboardId"},
		{"Mint/OnlyVariant", "", http.MethodPost, "/api/v1/token", `{"DASHBOARDID":"sales",` + sec + `}`, "DASHBOARDID"},
		{"Mint/UnicodeFold", "", http.MethodPost, "/api/v1/token", `{"dashboardId":"sales",` + sec + `,"tokenExpiry":60,"to` + "\u212a" + `enExpiry":86400}`, "to\u212aenExpiry"}, // Kelvin sign
		{"Mint/LongS", "", http.MethodPost, "/api/v1/token", `{"dashboardId":"sales",` + sec + `,"\u017fub":"x"}`, "\u017fub"},
		{"Mint/Escaped", "", http.MethodPost, "/api/v1/token", `{"dashboardId":"sales",` + sec + `,"\u0053ub":"x"}`, "Sub"},
		{"Mint/NestedPolicyName", "", http.MethodPost, "/api/v1/token", `{"dashboardId":"sales",` + sec + `,"securityPolicies":[{"name":"a"},{"Name":"b"}]}`, "securityPolicies[1].Name"},
		{"CreateToken/Name", informerID, http.MethodPost, "/api/tokens", `{"type":"report","reportId":"q3","Name":"x"}`, "Name"},
		{"PatchToken/NAME", informerID, http.MethodPatch, "/api/tokens/" + tj.ID, `{"NAME":"x"}`, "NAME"},
		{"CreateClient/Resources", clients.AdminID, http.MethodPost, "/api/clients", `{"id":"c1","Resources":["dashboard:*"]}`, "Resources"},
		{"RevokeAll/Sub", informerID, http.MethodPost, "/api/v1/revoke-all", `{"Sub":"alice"}`, "Sub"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var rec *httptest.ResponseRecorder
			if tt.id == "" {
				rec = rf.postJSON(tt.target, tt.body)
			} else {
				rec = rf.as(tt.id, tt.method, tt.target, tt.body)
			}
			requireError(t, rec, http.StatusBadRequest, "invalid_request", tt.field)
		})
	}
	t.Run("OK/ParamKeysAreFree", func(t *testing.T) {
		// Inside params (a map) names are the caller's own.
		rf.tokenOK(rf.postJSON("/api/v1/token", `{"dashboardId":"sales",`+sec+`,"params":{"Sub":"x","DashboardId":"y"}}`))
	})
}
