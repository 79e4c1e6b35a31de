package httpapi_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/stretchr/testify/require"

	"github.com/sigil-dev/sigil/internal/clients"
	"github.com/sigil-dev/sigil/internal/httpapi"
	"github.com/sigil-dev/sigil/internal/keys"
	"github.com/sigil-dev/sigil/internal/revocation"
	"github.com/sigil-dev/sigil/internal/store/memory"
	"github.com/sigil-dev/sigil/internal/token"
)

// TestVerify_AnswerRenderedOnce: the 200 of /api/v1/verify is rendered
// once per cached token and kept in its cache entry; every answer — first,
// repeated from the cache, or from a verifier without a cache — is byte for
// byte the headers and body encoding/json gives for the claims, whatever
// the strings (invalid UTF-8, <>&, U+2028) and numbers they hold.
func TestVerify_AnswerRenderedOnce(t *testing.T) {
	_, k, err := keys.WritePEM(t.TempDir(), testSigner(t, keys.EdDSA))
	require.NoError(t, err)
	ring, err := keys.NewRing(func() (*keys.Set, error) { return keys.NewSet([]*keys.Key{k}, "") })
	require.NoError(t, err)
	rev := revocation.NewService(memory.New(nil), 30*time.Second, nil)
	iss := token.NewIssuer(token.IssuerConfig{Issuer: "https://sigil.test", Audience: "sigil", Keys: ring})
	server := func(cacheSize int) http.Handler {
		return httpapi.New(httpapi.Config{
			Issuer: "https://sigil.test", Keys: ring,
			Verifier: token.NewVerifier(token.VerifierConfig{Issuer: "https://sigil.test", Audience: "sigil", Keys: ring, Revocation: rev, CacheSize: cacheSize}),
		})
	}
	cached, uncached := server(100), server(0)

	for name, c := range map[string]token.Claims{
		"Plain": {Kind: token.KindEmbed, DashboardID: "sales", Scope: "dashboard:view", ClientID: "sales",
			RegisteredClaims: jwt.RegisteredClaims{Subject: "user-42"}, Params: map[string]any{"locale": "de-DE", "currency": "EUR"}},
		"NoSubjectNoScope": {Kind: token.KindEmbed, DashboardID: "d"},
		"Escapes": {Kind: token.KindEmbed, DashboardID: "a<b>&c", Scope: "x y",
			RegisteredClaims: jwt.RegisteredClaims{Subject: "é\u2028<&>"},
			Params:           map[string]any{"n": json.Number("-1.5e+10"), "z": json.Number("0"), "b": true, "ü": "<&>\u2029\"\\"},
			SecurityPolicies: []token.Policy{{Name: "region", Params: map[string]any{"region": "EU"}}, {Name: "all"}}},
	} {
		t.Run(name, func(t *testing.T) {
			raw, claims, err := iss.Mint(c, time.Hour)
			require.NoError(t, err)
			want := http.Header{
				"Cache-Control":        {"no-store"},
				"Content-Type":         {"application/json"},
				httpapi.HeaderKind:     {claims.Kind},
				httpapi.HeaderResource: {claims.Resource()},
			}
			if claims.Subject != "" {
				want[httpapi.HeaderSubject] = []string{claims.Subject}
			}
			if claims.Scope != "" {
				want[httpapi.HeaderScope] = []string{claims.Scope}
			}
			headerJSON := func(v any) []string {
				b, err := json.Marshal(v)
				require.NoError(t, err)
				return []string{base64.RawURLEncoding.EncodeToString(b)}
			}
			if len(claims.Params) > 0 {
				want[httpapi.HeaderParams] = headerJSON(claims.Params)
			}
			if len(claims.SecurityPolicies) > 0 {
				want[httpapi.HeaderPolicies] = headerJSON(claims.SecurityPolicies)
			}
			body, err := json.Marshal(map[string]any{"active": true, "tt": claims.Kind, "resource": claims.Resource(),
				"exp": claims.ExpiresAt.Unix(), "sub": claims.Subject, "scope": claims.Scope})
			require.NoError(t, err)
			var wantBody map[string]any
			require.NoError(t, json.Unmarshal(body, &wantBody))

			var first []byte
			for i, h := range []http.Handler{cached, cached, cached, uncached} {
				req := httptest.NewRequest(http.MethodGet, "/api/v1/verify", nil)
				req.Header.Set("Authorization", "Bearer "+raw)
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, req.WithContext(context.Background()))
				require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
				got := rec.Header().Clone()
				delete(got, "X-Request-Id")
				delete(got, "Vary")
				require.Equal(t, want, got, "answer %d", i)
				if first == nil {
					first = rec.Body.Bytes()
					var gotBody map[string]any
					require.NoError(t, json.Unmarshal(first, &gotBody))
					for _, k := range []string{"sub", "scope"} {
						if gotBody[k] == nil {
							delete(wantBody, k) // omitempty
						}
					}
					require.Equal(t, wantBody, gotBody)
				}
				require.Equal(t, string(first), rec.Body.String(), "answer %d is byte-identical", i)
			}
		})
	}
}

// TestIntrospect_AnswerRenderedOnce: the active answer of
// /api/v1/introspect is rendered once per cached token and kept in its
// cache entry, and is byte for byte what c.JSON writes (the ?pretty answer,
// which still goes through c.JSON, compacted), whatever the claims hold;
// a token revoked after its answer was kept is inactive, and a caller who
// may not see the token gets the inactive answer, never the kept one.
func TestIntrospect_AnswerRenderedOnce(t *testing.T) {
	var finance string
	f := newAPI(t, withClient(clients.NewClient{ID: "finance", Name: "Finance", Resources: []string{"dashboard:finance"}}, &finance))
	for name, c := range map[string]token.Claims{
		"Plain": {Kind: token.KindEmbed, DashboardID: dashID, Scope: "dashboard:view", ClientID: dashID,
			RegisteredClaims: jwt.RegisteredClaims{Subject: "user-42"}, Params: map[string]any{"locale": "de-DE", "currency": "EUR"}},
		"Escapes": {Kind: token.KindEmbed, DashboardID: dashID, Scope: "x y", ClientID: dashID,
			RegisteredClaims: jwt.RegisteredClaims{Subject: "é\u2028<&>"},
			Params:           map[string]any{"n": json.Number("-1.5e+10"), "z": json.Number("0"), "b": true, "ü": "<&>\u2029\"\\"},
			SecurityPolicies: []token.Policy{{Name: "region", Params: map[string]any{"region": "EU"}}, {Name: "all"}}},
	} {
		t.Run(name, func(t *testing.T) {
			raw := f.mintDirect(c, time.Hour)
			var first string
			for i := range 3 {
				rec := introspect(f, raw, clients.AdminID, f.adminSecret)
				require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
				requireJSON(t, rec)
				require.Equal(t, "no-store", rec.Header().Get("Cache-Control"))
				require.Equal(t, "no-cache", rec.Header().Get("Pragma"))
				if i == 0 {
					first = rec.Body.String()
				}
				require.Equal(t, first, rec.Body.String(), "answer %d is byte-identical", i)
			}
			require.Contains(t, first, `"active":true`)
			require.Contains(t, first, `"sub":`+mustJSON(c.Subject))

			pretty := f.postForm("/api/v1/introspect?pretty", url.Values{"token": {raw}}, clients.AdminID, f.adminSecret)
			require.Equal(t, http.StatusOK, pretty.Code)
			require.Contains(t, pretty.Body.String(), "\n  \"active\": true", "?pretty still indents")
			var compact bytes.Buffer
			require.NoError(t, json.Compact(&compact, pretty.Body.Bytes()))
			require.Equal(t, compact.String()+"\n", first, "the kept answer is what c.JSON writes")

			requireInactive(t, introspect(f, raw, "finance", finance))
			require.Equal(t, http.StatusOK, f.revokeAsAdmin(raw).Code)
			requireInactive(t, introspect(f, raw, clients.AdminID, f.adminSecret))
			rec := f.postForm("/api/v1/introspect?pretty", url.Values{"token": {raw}}, clients.AdminID, f.adminSecret)
			require.Equal(t, "{\n  \"active\": false\n}\n", rec.Body.String())
		})
	}
}

// TestAnswers_ConcurrentFirstUse: many first uses of one token at once,
// through forward-auth and introspection, all get the same answers (the
// memo's first store wins, a lost race renders again; -race checks it).
func TestAnswers_ConcurrentFirstUse(t *testing.T) {
	f := newAPI(t)
	raw := f.mint(map[string]any{"sub": "user-7"}).AccessToken
	const n = 16
	verify, intro := make([]string, n), make([]string, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(2)
		go func() {
			defer wg.Done()
			rec := f.verify(raw)
			verify[i] = fmt.Sprint(rec.Code, rec.Header().Get(httpapi.HeaderSubject), rec.Body.String())
		}()
		go func() {
			defer wg.Done()
			rec := introspect(f, raw, clients.AdminID, f.adminSecret)
			intro[i] = fmt.Sprint(rec.Code, rec.Body.String())
		}()
	}
	wg.Wait()
	for i := range n {
		require.Equal(t, verify[0], verify[i])
		require.Equal(t, intro[0], intro[i])
	}
	require.Contains(t, verify[0], "200user-7")
	require.Contains(t, intro[0], `"sub":"user-7"`)
}
