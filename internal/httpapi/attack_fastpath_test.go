package httpapi_test

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/sigil-dev/sigil/internal/clients"
	"github.com/sigil-dev/sigil/internal/httpapi"
	"github.com/sigil-dev/sigil/internal/policy"
)

const attackOrigin = "https://app.example.com"

// withAllCORS configures both CORS lists (forward-auth/mint and console).
func withAllCORS(f *fixture) {
	prev := f.tweak
	f.tweak = func(c *httpapi.Config) {
		if prev != nil {
			prev(c)
		}
		c.CORSOrigins = []string{attackOrigin}
		c.ConsoleOrigins = []string{attackOrigin}
	}
}

// TestAttack_MiddlewareOnEveryRouteWithCORS: with both CORS lists
// configured (two more middlewares in the chain composed once at start),
// preflights answered by the CORS middleware itself, unmatched paths and
// methods, HEAD and console routes all still get one fresh X-Request-Id
// each, and the CORS answer only where it belongs.
func TestAttack_MiddlewareOnEveryRouteWithCORS(t *testing.T) {
	f := newAPI(t, withAllCORS)
	tok := f.mint(nil).AccessToken
	pre := func(path string) *httptest.ResponseRecorder { return preflight(f, path, attackOrigin, http.MethodPost) }
	withOrigin := func(method, path string, h ...string) *httptest.ResponseRecorder {
		return f.do(method, path, "", append([]string{"Origin", attackOrigin}, h...)...)
	}
	recs := []struct {
		name  string
		rec   *httptest.ResponseRecorder
		code  int
		allow bool
	}{
		{"PreflightVerify", pre("/api/v1/verify"), http.StatusNoContent, true},
		{"PreflightConsole", pre("/api/tokens"), http.StatusNoContent, true},
		{"PreflightUnknownPath", pre("/api/v1/nope"), 0, false},
		{"PreflightAdminRoute", pre("/api/clients"), 0, false},
		{"VerifyOK", withOrigin(http.MethodGet, "/api/v1/verify", "Authorization", "Bearer "+tok), http.StatusOK, true},
		{"VerifyHead", withOrigin(http.MethodHead, "/api/v1/verify", "Authorization", "Bearer "+tok), http.StatusOK, true},
		{"Verify401", withOrigin(http.MethodGet, "/api/v1/verify"), http.StatusUnauthorized, true},
		{"Verify405", withOrigin(http.MethodPut, "/api/v1/verify", "Authorization", "Bearer "+tok), http.StatusMethodNotAllowed, true},
		{"Unmatched404", withOrigin(http.MethodGet, "/api/v1/verify/x"), http.StatusNotFound, false},
		{"ConsoleRoute", withOrigin(http.MethodGet, "/api/tokens"), 0, true},
		{"ConsoleScopes", withOrigin(http.MethodGet, "/api/scopes"), 0, true},
		{"Admin401", withOrigin(http.MethodGet, "/api/clients"), http.StatusUnauthorized, false},
	}
	ids := map[string]string{}
	for _, r := range recs {
		if r.code != 0 {
			require.Equal(t, r.code, r.rec.Code, "%s: %s", r.name, r.rec.Body.String())
		}
		require.Less(t, r.rec.Code, 500, r.name)
		vs := r.rec.Header().Values("X-Request-Id")
		require.Len(t, vs, 1, "%s: one request id", r.name)
		require.NotEmpty(t, vs[0], r.name)
		require.Empty(t, ids[vs[0]], "%s: request id %s already given to %s", r.name, vs[0], ids[vs[0]])
		ids[vs[0]] = r.name
		if r.allow {
			require.Equal(t, attackOrigin, r.rec.Header().Get("Access-Control-Allow-Origin"), r.name)
		} else {
			require.Empty(t, r.rec.Header().Get("Access-Control-Allow-Origin"), r.name)
		}
	}
}

// TestAttack_SharedHeaderValuesConcurrent: the verify answer's identity
// headers, Cache-Control, Pragma and Content-Type are slices shared by
// every answer (set straight into the header map). Many concurrent
// requests for one cached token (GET and HEAD, through CORS, which Adds
// Vary) and introspections, each answer then extended by a wrapping
// handler (Header().Add on the very names sigil shared), must each carry
// exactly their own single values: no answer sees another's additions
// (run with -race: no write to a shared slice).
func TestAttack_SharedHeaderValuesConcurrent(t *testing.T) {
	f := newAPI(t, withAllCORS)
	tok := f.mint(map[string]any{"sub": "user-7", "params": map[string]any{"region": "EU"}}).AccessToken
	form := url.Values{"token": {tok}}.Encode()
	inactive := url.Values{"token": {tok + "x"}}.Encode()
	const workers, rounds = 8, 25
	var wg sync.WaitGroup
	errs := make(chan string, workers*rounds*4)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range rounds {
				var reqs []*http.Request
				for _, m := range []string{http.MethodGet, http.MethodHead} {
					r := httptest.NewRequest(m, "/api/v1/verify", nil)
					r.Header.Set("Authorization", "Bearer "+tok)
					r.Header.Set("Origin", attackOrigin)
					reqs = append(reqs, r)
				}
				for _, body := range []string{form, inactive} {
					r := httptest.NewRequest(http.MethodPost, "/api/v1/introspect", strings.NewReader(body))
					r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
					r.SetBasicAuth(clients.AdminID, f.adminSecret)
					reqs = append(reqs, r)
				}
				for j, r := range reqs {
					rec := httptest.NewRecorder()
					f.h.ServeHTTP(rec, r)
					h := rec.Header()
					if rec.Code != http.StatusOK {
						errs <- r.Method + " " + r.URL.Path + ": " + rec.Body.String()
						continue
					}
					want := map[string]string{"Cache-Control": "no-store", "Vary": "Origin"}
					if j < 2 {
						want[httpapi.HeaderSubject] = "user-7"
						want[httpapi.HeaderKind] = "embed"
						want[httpapi.HeaderParams] = base64.RawURLEncoding.EncodeToString([]byte(`{"region":"EU"}`))
					} else {
						want["Pragma"] = "no-cache"
						delete(want, "Vary")
					}
					if j != 1 {
						want["Content-Type"] = "application/json"
					}
					for name, v := range want {
						if got := h.Values(name); len(got) != 1 || got[0] != v {
							errs <- r.Method + " " + r.URL.Path + " " + name + ": " + strings.Join(got, "|")
						}
					}
					if len(h.Values("X-Request-Id")) != 1 {
						errs <- "X-Request-Id: " + strings.Join(h.Values("X-Request-Id"), "|")
					}
					// A handler wrapping sigil's adds to the answer's headers.
					for name := range want {
						h.Add(name, "added-by-wrapper-"+string(rune('a'+w))+string(rune('a'+i%26)))
					}
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Fatal(e)
	}
	// And the answers after all that are still the single values.
	rec := f.verify(tok)
	require.Equal(t, http.StatusOK, rec.Code)
	require.Equal(t, []string{"no-store"}, rec.Header().Values("Cache-Control"))
	require.Equal(t, []string{"user-7"}, rec.Header().Values(httpapi.HeaderSubject))
	var body map[string]any
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &body))
	require.Equal(t, true, body["active"])
}

// TestAttack_IntrospectFormDifferentials: the introspect form reader (a
// fast reader for bodies without '%', '+' or ';' and few pairs,
// url.ParseQuery otherwise) reads what url.ParseQuery reads: the token
// twice (also once plain and once escaped), an empty pair, a ';', a '+'
// (a space), a case variant of the name, past 16 pairs.
func TestAttack_IntrospectFormDifferentials(t *testing.T) {
	f := newAPI(t)
	tok := f.mint(nil).AccessToken
	post := func(body string) *httptest.ResponseRecorder {
		r := httptest.NewRequest(http.MethodPost, "/api/v1/introspect", strings.NewReader(body))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		r.SetBasicAuth(clients.AdminID, f.adminSecret)
		return f.serve(r)
	}
	escaped := url.QueryEscape(tok[:5]) + "%" + strings.ToUpper(hexByte(tok[5])) + tok[6:]
	many := strings.Repeat("a=b&", 20)
	for _, tc := range []struct {
		name, body string
		active     bool // else 400 with field token
		bad        bool
	}{
		{"Plain", "token=" + tok, true, false},
		{"EmptyPairsAround", "&&token=" + tok + "&&", true, false},
		{"WithHint", "token_type_hint=access_token&token=" + tok, true, false},
		{"PastSixteenPairs", many + "token=" + tok, true, false},
		{"Escaped", "token=" + escaped, true, false},
		{"Twice", "token=" + tok + "&token=" + tok, false, true},
		{"TwicePlainAndEscaped", "token=" + tok + "&token=" + escaped, false, true},
		{"TwicePastSixteenPairs", "token=" + tok + "&" + many + "token=" + tok, false, true},
		{"TwiceOneEmpty", "token=" + tok + "&token=", false, true},
		{"EmptyValue", "token=", false, true},
		{"NoEquals", "token", false, true},
		{"CaseVariant", "Token=" + tok, false, true},
		{"Semicolon", "token=" + tok + ";x=1", false, true},
		{"BadEscape", "token=" + tok + "%zz", false, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := post(tc.body)
			if tc.bad {
				require.Equal(t, http.StatusBadRequest, rec.Code, rec.Body.String())
				return
			}
			require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
			var got map[string]any
			require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &got))
			require.Equal(t, tc.active, got["active"], rec.Body.String())
		})
	}
	// A '+' is a space for url.ParseQuery: the token with a space is not
	// the token (inactive), whichever reader read it.
	rec := post("token=" + tok + "+")
	require.Equal(t, http.StatusOK, rec.Code)
	require.JSONEq(t, `{"active":false}`, rec.Body.String())
}

func hexByte(b byte) string {
	const digits = "0123456789abcdef"
	return string([]byte{digits[b>>4], digits[b&15]})
}

// TestAttack_MintBodyDifferentials: bodies a fast mint reader could read
// differently from the strict decoder are refused (400, or minted exactly
// as the strict decoder reads them): repeated and case-variant names,
// escapes, numbers of tokenExpiry in other spellings, trailing data,
// white space other than JSON's, a BOM.
func TestAttack_MintBodyDifferentials(t *testing.T) {
	f := newAPI(t)
	id, secret := dashID, f.dashSecret
	base := `"dashboardId":"` + id + `","dashboardSecret":"` + secret + `"`
	for _, tc := range []struct {
		name, body string
		ok         bool
	}{
		{"Plain", `{` + base + `}`, true},
		{"JSONWhiteSpace", " \t\r\n{ \n" + strings.ReplaceAll(base, `,`, " ,\t") + "\r\n} \n", true},
		{"EscapedName", `{"dashboard\u0049d":"` + id + `","dashboardSecret":"` + secret + `"}`, true},
		{"ExpiryInteger", `{` + base + `,"tokenExpiry":60}`, true},
		{"ExpiryNull", `{` + base + `,"tokenExpiry":null}`, true},
		{"RepeatedName", `{` + base + `,"dashboardId":"other"}`, false},
		{"RepeatedSub", `{` + base + `,"sub":"a","sub":"b"}`, false},
		{"CaseVariantName", `{"DashboardId":"` + id + `","dashboardSecret":"` + secret + `"}`, false},
		{"CaseVariantTwin", `{` + base + `,"Sub":"x"}`, false},
		{"KelvinName", `{` + base + `,"tokenExpiry":60,"to\u212aenExpiry":1}`, false},
		{"RepeatedParam", `{` + base + `,"params":{"region":"EU","region":"US"}}`, false},
		{"ExpiryString", `{` + base + `,"tokenExpiry":"60"}`, false},
		{"ExpiryFraction", `{` + base + `,"tokenExpiry":60.0}`, false},
		{"ExpiryExponent", `{` + base + `,"tokenExpiry":6e1}`, false},
		{"ExpiryNegative", `{` + base + `,"tokenExpiry":-60}`, false},
		{"ExpiryZero", `{` + base + `,"tokenExpiry":0}`, false},
		{"ExpiryLeadingZero", `{` + base + `,"tokenExpiry":060}`, false},
		{"ExpiryHuge", `{` + base + `,"tokenExpiry":99999999999999999999}`, false},
		{"ExpiryNineteenDigits", `{` + base + `,"tokenExpiry":9223372036854775807}`, false},
		{"TrailingObject", `{` + base + `}{}`, false},
		{"TrailingGarbage", `{` + base + `}x`, false},
		{"TrailingComma", `{` + base + `,}`, false},
		{"NonJSONWhiteSpace", "{\v" + base + `}`, false},
		{"NBSPWhiteSpace", "{\u00a0" + base + `}`, false},
		{"BOM", "\ufeff{" + base + `}`, false},
		{"UnknownMember", `{` + base + `,"x":1}`, false},
		{"NestedParams", `{` + base + `,"params":{"a":{"b":"c"}}}`, false},
		{"SecretWithNUL", `{"dashboardId":"` + id + `","dashboardSecret":"` + secret + `\u0000"}`, false},
		{"IDWithEscapedSlash", `{"dashboardId":"` + id + `\/x","dashboardSecret":"` + secret + `"}`, false},
		{"InvalidUTF8", "{" + base + `,"sub":"` + "\xff" + `"}`, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := f.do(http.MethodPost, "/api/v1/token", tc.body, "Content-Type", "application/json")
			if tc.ok {
				f.tokenOK(rec)
				return
			}
			require.GreaterOrEqual(t, rec.Code, 400, rec.Body.String())
			require.Less(t, rec.Code, 500, rec.Body.String())
		})
	}
}

// TestAttack_EmbedPathTraversal: an embed token (a share link) for the
// dashboard "sales" never passes forward-auth for another dashboard's path
// or a write, whatever the spelling the policy's fast Clean (no '%') and
// its segment-wise prefix match see: dot segments plain, encoded, double
// encoded, overlong, full-width or with a ;parameter, encoded slashes and
// backslashes, empty segments, a prefix of the id, a case variant, and
// method overrides in headers or the query.
func TestAttack_EmbedPathTraversal(t *testing.T) {
	f := newAPI(t, withGateway(policy.Config{}, &reasons{}))
	tok := f.mint(nil).AccessToken
	for _, nginx := range []bool{false, true} {
		for _, uri := range []string{
			"/dashboards/sales", "/dashboards/sales/", "/dashboards/sales/widgets?x=1",
			"/dashboards/sales/a%20b", "/dashboards/sales/...x", "/dashboards/sales?_method=GET",
		} {
			rec := f.forward(tok, http.MethodGet, uri, nginx)
			require.Equal(t, http.StatusOK, rec.Code, "%s: %s", uri, rec.Body.String())
		}
		for _, uri := range []string{
			"/dashboards/hr", "/dashboards/salesx", "/dashboards/sale", "/dashboards/Sales", "/dashboards/sales.",
			"/dashboards/sales/../hr", "/dashboards/sales/./../hr", "/dashboards/sales/x/../../hr",
			"/dashboards/sales/..", "/dashboards/sales/.", "/dashboards/sales/x/..", "/dashboards/./sales", "/./dashboards/sales",
			"/dashboards/sales/%2e%2e/hr", "/dashboards/sales/%2E%2E/hr", "/dashboards/sales/.%2e/hr", "/dashboards/sales/x/%2e%2e",
			"/dashboards/sales/..;/hr", "/dashboards/sales/..%3b/hr", "/dashboards/sales/..;x=1/hr", "/dashboards/sales;x/../hr",
			"/dashboards/sales/%252e%252e/hr", "/dashboards/sales/%25%32%65%25%32%65/hr", "/dashboards/sales/%c0%ae%c0%ae/hr",
			"/dashboards/sales/%ef%bc%8e%ef%bc%8e/hr", "/dashboards/sales%ef%bc%8f..%ef%bc%8fhr", "/dashboards/sales/\uff0e\uff0e/hr",
			"/dashboards/sales%2fhr", "/dashboards/sales%2F..%2Fhr", "/dashboards/sales%5c..%5chr", "/dashboards/sales\\..\\hr",
			"/dashboards/sales%00/x", "/dashboards/sales\x00/x", "/dashboards/sales//../hr", "//dashboards/sales",
			"/dashboards//sales", "/dashboards/sales/ ../hr", "/dashboards/sales/\t/hr", "/dashboards/%73ales/../hr",
			"/dashboards/%73ales%2f..%2fhr", "dashboards/sales", "http://evil/dashboards/sales", "/dashboards/sales#/../hr",
		} {
			rec := f.forward(tok, http.MethodGet, uri, nginx)
			require.NotEqual(t, http.StatusOK, rec.Code, "%s (nginx %v) must not pass", uri, nginx)
			require.Less(t, rec.Code, 500, uri)
		}
		for _, m := range []string{http.MethodPost, http.MethodPut, http.MethodDelete, http.MethodPatch, "get", "GET ", "TRACE"} {
			rec := f.forward(tok, m, "/dashboards/sales", nginx)
			require.NotEqual(t, http.StatusOK, rec.Code, "%q must not pass", m)
		}
		for _, q := range []string{
			"?_method=DELETE", "?_METHOD=delete", "?%5Fmethod=DELETE", "?%5fMethod=PUT", "?a=1;_method=DELETE",
			"?a=1&_method=POST", "?_method=GET&_method=DELETE", "?_Method=PATCH",
		} {
			rec := f.forward(tok, http.MethodGet, "/dashboards/sales"+q, nginx)
			require.NotEqual(t, http.StatusOK, rec.Code, "%s must not pass", q)
		}
	}
	for _, h := range []string{"X-HTTP-Method-Override", "X-HTTP-Method", "X-Method-Override"} {
		for _, v := range []string{"DELETE", "GET, DELETE", "delete"} {
			rec := f.do(http.MethodGet, "/api/v1/verify", "", "Authorization", "Bearer "+tok,
				"X-Forwarded-Method", "GET", "X-Forwarded-Uri", "/dashboards/sales", h, v)
			require.NotEqual(t, http.StatusOK, rec.Code, "%s: %s must not pass", h, v)
		}
	}
	// The two spellings of the forwarded request disagreeing.
	rec := f.do(http.MethodGet, "/api/v1/verify", "", "Authorization", "Bearer "+tok,
		"X-Forwarded-Method", "GET", "X-Forwarded-Uri", "/dashboards/sales", "X-Original-URI", "/dashboards/hr")
	require.Equal(t, http.StatusBadRequest, rec.Code)
	rec = f.do(http.MethodGet, "/api/v1/verify", "", "Authorization", "Bearer "+tok,
		"X-Forwarded-Method", "GET", "X-Original-Method", "DELETE", "X-Forwarded-Uri", "/dashboards/sales")
	require.NotEqual(t, http.StatusOK, rec.Code)
}

// TestAttack_MintedClaimsRoundTrip: what a mint is asked for is what
// forward-auth hands on, for subjects and params the hand-written claims
// encoder (and the mint body's fast reader) leave to encoding/json or read
// themselves: quotes, backslashes, HTML characters, non-ASCII, escapes in
// the body. A value sigil refuses is a 400, never another identity.
func TestAttack_MintedClaimsRoundTrip(t *testing.T) {
	f := newAPI(t)
	for _, sub := range []string{
		`user-7`, `a"b`, `a\b`, `<script>&amp;`, `é`, "\U0001F600", `a b`, `a/b`, "\u2028", `\u0041`, `%41`, `a,b`,
	} {
		for _, params := range []map[string]any{nil, {"k": sub}, {sub: "v"}} {
			extra := map[string]any{"sub": sub}
			if params != nil {
				extra["params"] = params
			}
			rec := f.postJSON("/api/v1/token", f.mintBody(extra))
			if rec.Code != http.StatusOK {
				require.Equal(t, http.StatusBadRequest, rec.Code, "%q: %s", sub, rec.Body.String())
				continue
			}
			tok := f.tokenOK(rec).AccessToken
			for range 2 { // a miss, then a cache hit
				v := f.verify(tok)
				require.Equal(t, http.StatusOK, v.Code)
				require.Equal(t, []string{sub}, v.Header().Values(httpapi.HeaderSubject), "%q", sub)
				if params == nil {
					require.Empty(t, v.Header().Values(httpapi.HeaderParams))
					continue
				}
				raw, err := base64.RawURLEncoding.DecodeString(v.Header().Get(httpapi.HeaderParams))
				require.NoError(t, err)
				var got map[string]any
				require.NoError(t, json.Unmarshal(raw, &got))
				require.Equal(t, params, got, "%q", sub)
			}
		}
	}
	// The same subject written with JSON escapes in the body.
	body := `{"dashboardId":"` + dashID + `","dashboardSecret":"` + f.dashSecret + `","sub":"\u0075ser\"\\x"}`
	tok := f.tokenOK(f.do(http.MethodPost, "/api/v1/token", body, "Content-Type", "application/json")).AccessToken
	require.Equal(t, `user"\x`, f.verify(tok).Header().Get(httpapi.HeaderSubject))
}
