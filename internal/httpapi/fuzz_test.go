package httpapi_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/sigil-dev/sigil/internal/httpapi"
	"github.com/sigil-dev/sigil/internal/token"
)

// fuzzAPI is a fixture for fuzzing: requests go straight to the handler
// (not through the fixture's recorder, which would keep every answer) and
// the server logs nowhere.
func fuzzAPI(f *testing.F) *fixture {
	f.Helper()
	fx := newAPI(f, func(fx *fixture) {
		fx.tweak = func(cfg *httpapi.Config) { cfg.Logger = slog.New(slog.DiscardHandler) }
	})
	return fx
}

// fuzzServe runs r through the handler and checks what every answer must
// be: never a 5xx, JSON, and for a 4xx an error body with a code.
func fuzzServe(t *testing.T, h http.Handler, r *http.Request) *httptest.ResponseRecorder {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	if rec.Code >= 500 {
		t.Fatalf("%s %s: status %d: %s", r.Method, r.URL, rec.Code, rec.Body)
	}
	if rec.Code >= 400 {
		var body struct {
			Error struct {
				Code    string `json:"code"`
				Message string `json:"message"`
			} `json:"error"`
		}
		if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil || body.Error.Code == "" || body.Error.Message == "" {
			t.Fatalf("%s %s: status %d without a JSON error body: %q", r.Method, r.URL, rec.Code, rec.Body)
		}
	}
	return rec
}

// FuzzMintRequest posts any body to POST /api/v1/token ("$SECRET" in it is
// replaced by the dashboard's real secret, so the fuzzer reaches past
// authentication). No body makes a 5xx or panic; a 4xx is a JSON error;
// a 200 comes only for a body that decodes to the real credentials, and
// its token verifies with the params and policies that were asked for.
func FuzzMintRequest(f *testing.F) {
	fx := fuzzAPI(f)
	for _, s := range []string{
		`{"dashboardId":"sales","dashboardSecret":"$SECRET"}`,
		`{"dashboardId":"sales","dashboardSecret":"$SECRET","tokenExpiry":60,"sub":"user-1"}`,
		`{"dashboardId":"sales","dashboardSecret":"$SECRET","params":{"locale":"de-DE","currency":"EUR","n":1.5,"b":true},` +
			`"securityPolicies":[{"name":"region","params":{"region":"EU"}}]}`,
		`{"dashboardId":"sales","dashboardSecret":"$SECRET","params":{"currencyFormat":{"locale":"fr-CH","currency":"CHF"}}}`,
		`{"dashboardId":"sales","dashboardSecret":"$SECRET","tokenExpiry":"60"}`,
		`{"dashboardId":"sales","dashboardSecret":"$SECRET","tokenExpiry":0}`,
		`{"dashboardId":"sales","dashboardSecret":"$SECRET","tokenExpiry":1e3}`,
		`{"dashboardId":"sales","dashboardSecret":"$SECRET","extra":1}`,
		`{"dashboardId":"sales","dashboardSecret":"$SECRET","DashboardId":"other"}`,
		`{"dashboardId":"sales","dashboardSecret":"$SECRET","sub":"a\u0000b"}`,
		`{"dashboardId":"sales","dashboardSecret":"$SECRET","sub":" admin "}`,
		`{"dashboardId":"sales","dashboardSecret":"$SECRET","params":{"region":"EU\r\n"}}`,
		`{"dashboardId":"sales","dashboardSecret":"wrong"}`,
		`{"dashboardId":["sales"],"dashboardSecret":"$SECRET"}`,
		`{"dashboardId":"sales","dashboardSecret":"$SECRET"} {}`,
		`{"dashboardId":"sales","dashboardSecret":"$SECRET","params":{"a":{"b":{"c":[[[[1]]]]}}}}`,
		`[]`, `null`, `""`, `{`, "\xff\xfe", ``,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		body = strings.ReplaceAll(body, "$SECRET", fx.dashSecret)
		r := httptest.NewRequest(http.MethodPost, "/api/v1/token", strings.NewReader(body))
		r.Header.Set("Content-Type", "application/json")
		rec := fuzzServe(t, fx.h, r)
		if rec.Code != http.StatusOK {
			if rec.Code < 400 {
				t.Fatalf("status %d for %q", rec.Code, body)
			}
			return
		}
		var asked struct {
			DashboardID      string          `json:"dashboardId"`
			DashboardSecret  string          `json:"dashboardSecret"`
			Params           json.RawMessage `json:"params"`
			SecurityPolicies json.RawMessage `json:"securityPolicies"`
			Sub              string          `json:"sub"`
		}
		if err := json.Unmarshal([]byte(body), &asked); err != nil || asked.DashboardID != dashID || asked.DashboardSecret != fx.dashSecret {
			t.Fatalf("minted for a body without the real credentials: %q", body)
		}
		var tr tokenResp
		if err := json.Unmarshal(rec.Body.Bytes(), &tr); err != nil || tr.AccessToken == "" {
			t.Fatalf("200 without a token: %s", rec.Body)
		}
		vr := httptest.NewRequest(http.MethodGet, "/api/v1/verify", nil)
		vr.Header.Set("Authorization", "Bearer "+tr.AccessToken)
		v := fuzzServe(t, fx.h, vr)
		if v.Code != http.StatusOK {
			t.Fatalf("minted token does not verify: %d %s", v.Code, v.Body)
		}
		// X-Sigil-Subject is the asked sub byte for byte, and nothing an
		// HTTP implementation would trim or split (issue 12 A6).
		if got := v.Header().Get(httpapi.HeaderSubject); got != asked.Sub || strings.TrimSpace(got) != got ||
			strings.ContainsFunc(got, func(r rune) bool { return r < ' ' || r == 0x7f }) {
			t.Fatalf("X-Sigil-Subject %q for an asked sub %q", got, asked.Sub)
		}
		requireSameHeaderJSON(t, "params", asked.Params, v.Header().Get(httpapi.HeaderParams))
		// securityPolicies are a typed list: what was asked is what the
		// product's type makes of it (member names match in any case, as
		// encoding/json decodes them; empty params are omitted).
		var policies []token.Policy
		var askedPolicies json.RawMessage
		if len(asked.SecurityPolicies) > 0 {
			if err := json.Unmarshal(asked.SecurityPolicies, &policies); err != nil {
				t.Fatalf("minted with securityPolicies that do not decode: %s: %v", asked.SecurityPolicies, err)
			}
			askedPolicies, _ = json.Marshal(policies)
		}
		requireSameHeaderJSON(t, "securityPolicies", askedPolicies, v.Header().Get(httpapi.HeaderPolicies))
	})
}

// requireSameHeaderJSON checks that a forward-auth identity header (base64url
// JSON, absent when empty) carries the JSON that was asked for.
func requireSameHeaderJSON(t *testing.T, what string, asked json.RawMessage, header string) {
	t.Helper()
	var want, got any
	if len(asked) > 0 {
		if err := json.Unmarshal(asked, &want); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	if m, ok := want.(map[string]any); ok && len(m) == 0 {
		want = nil
	}
	if l, ok := want.([]any); ok && len(l) == 0 {
		want = nil
	}
	if header != "" {
		b, err := b64Decode(header)
		if err != nil || json.Unmarshal(b, &got) != nil {
			t.Fatalf("%s header is not base64url JSON: %q", what, header)
		}
	}
	wb, _ := json.Marshal(want)
	gb, _ := json.Marshal(got)
	if !bytes.Equal(wb, gb) {
		t.Fatalf("%s changed between mint and verify:\nasked %s\ngot   %s", what, wb, gb)
	}
}

// FuzzForwardAuth sends GET /api/v1/verify with fuzzer-chosen Authorization,
// query, X-Forwarded-Uri, X-Original-URI and X-Forwarded-Method values, in
// which "$TOKEN" stands for a live genuine token and "$REVOKED" for a
// genuine token that was invalidated. No input makes a 5xx or panic; a
// 4xx is a JSON error; a 200 needs the live token among the inputs and
// carries its identity.
//
// The forward-auth policy (method and URI rules per kind, DESIGN §4 step 6)
// is being written in another branch; this target covers where the token
// is found today and should grow with the policy.
func FuzzForwardAuth(f *testing.F) {
	fx := fuzzAPI(f)
	live := fx.mint(nil).AccessToken
	revoked := fx.mint(nil).AccessToken
	if rec := fx.bearer(http.MethodPost, "/api/v1/invalidate-token", revoked); rec.Code != http.StatusNoContent {
		f.Fatalf("invalidate: %d %s", rec.Code, rec.Body)
	}
	for _, s := range [][5]string{
		{"Bearer $TOKEN", "", "", "", ""},
		{"", "token=$TOKEN", "", "", ""},
		{"", "", "/app/x?token=$TOKEN", "", "GET"},
		{"", "", "", "/app/x?a=1&token=$TOKEN", "HEAD"},
		{"Bearer $REVOKED", "token=$TOKEN", "", "", ""},
		{"", "", "/app/x?token=$REVOKED", "/app/x?token=$TOKEN", "POST"},
		{"Basic $TOKEN", "", "", "", ""},
		{"bearer $TOKEN", "", "", "", ""},
		{"Bearer  $TOKEN", "", "", "", ""},
		{"Bearer $TOKEN$TOKEN", "", "", "", ""},
		{"", "token=$TOKEN&token=$REVOKED", "", "", ""},
		{"", "", "http://evil.example/x?token=$TOKEN", "", ""},
		{"", "", "//x?token=$TOKEN", "", ""},
		{"", "", "x?token=$TOKEN", "", ""},
		{"", "", "/%zz?token=$TOKEN", "", ""},
		{"", "", "/a?token=%zz", "", ""},
		{"", "", "/a?token=$TOKEN#frag", "", ""},
		{"", "", "*", "", "OPTIONS"},
		{"", "token=", "", "", ""},
		{"", "", "", "", ""},
	} {
		f.Add(s[0], s[1], s[2], s[3], s[4])
	}
	f.Fuzz(func(t *testing.T, authz, query, fwdURI, origURI, method string) {
		sub := func(s string) string {
			return strings.ReplaceAll(strings.ReplaceAll(s, "$TOKEN", live), "$REVOKED", revoked)
		}
		r := &http.Request{
			Method: http.MethodGet, URL: &url.URL{Path: "/api/v1/verify", RawQuery: sub(query)},
			Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1, Header: http.Header{},
			Host: "sigil.test", RemoteAddr: "192.0.2.1:1234", RequestURI: "/api/v1/verify", Body: http.NoBody,
		}
		for _, h := range []struct{ name, v string }{
			{"Authorization", authz}, {"X-Forwarded-Uri", fwdURI}, {"X-Original-URI", origURI}, {"X-Forwarded-Method", method},
		} {
			if h.v != "" {
				r.Header.Set(h.name, sub(h.v))
			}
		}
		rec := fuzzServe(t, fx.h, r)
		switch rec.Code {
		case http.StatusOK:
			if !strings.Contains(authz+query+fwdURI+origURI, "$TOKEN") {
				t.Fatalf("200 without the live token among the inputs: %q %q %q %q", authz, query, fwdURI, origURI)
			}
			if rec.Header().Get(httpapi.HeaderResource) != "dashboard:"+dashID {
				t.Fatalf("200 with resource %q", rec.Header().Get(httpapi.HeaderResource))
			}
			// One credential per request (RFC 6750 §2): a 200 never comes
			// with a token in two places or twice in one.
			scheme, bearer, _ := strings.Cut(r.Header.Get("Authorization"), " ")
			hasBearer := strings.EqualFold(scheme, "Bearer") && strings.TrimSpace(bearer) != ""
			fwd := r.Header.Get("X-Forwarded-Uri")
			if fwd == "" {
				fwd = r.Header.Get("X-Original-URI")
			}
			_, fq, _ := strings.Cut(fwd, "?")
			fq, _, _ = strings.Cut(fq, "#")
			places := 0
			if hasBearer {
				places++
			}
			for _, q := range []string{r.URL.RawQuery, fq} {
				v, _ := url.ParseQuery(q)
				if len(v["token"]) > 1 {
					t.Fatalf("200 with two token parameters in %q", q)
				}
				places += len(v["token"])
			}
			if places > 1 {
				t.Fatalf("200 with a token in %d places: %q %q %q %q", places, authz, query, fwdURI, origURI)
			}
		case http.StatusBadRequest, http.StatusUnauthorized, http.StatusForbidden:
		default:
			t.Fatalf("status %d: %s", rec.Code, rec.Body)
		}
	})
}

func b64Decode(s string) ([]byte, error) { return base64.RawURLEncoding.DecodeString(s) }
