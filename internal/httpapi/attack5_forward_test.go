package httpapi_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/sigil-dev/sigil/internal/httpapi"
	"github.com/sigil-dev/sigil/internal/policy"
)

// TestAttack5_SmuggledQueryTokenSpellings: QueryToken now skips a query
// holding no k, K, '%' or non-ASCII byte. A second token hidden in the
// forwarded URI (X-Original-URI and X-Forwarded-Uri) or in the verify
// request's own query under a name spelt without a plain "k" — escapes
// (%6B, %6b, all escaped), the Kelvin sign raw and escaped, upper case,
// behind ';' or an empty pair — beside a Bearer token is still a 400
// naming the place, and never answers with an identity; names that are
// not token names (t0ken, to+ken, a name only a fold of a non-k letter
// makes look alike) still pass.
func TestAttack5_SmuggledQueryTokenSpellings(t *testing.T) {
	f := newAPI(t)
	good := f.mint(map[string]any{"sub": "a5-good"}).AccessToken
	other := f.mint(map[string]any{"sub": "a5-other"}).AccessToken
	names := []string{
		"to%6Ben", "to%6ben", "%74%6F%6B%65%6E", "to\u212aen", "to%E2%84%AAen", "TO\u212aEN",
		"access_to%6Ben", "ACCESS_TO%6BEN", "access_to\u212aen", "%61ccess_to%6b%65n",
	}
	for _, name := range names {
		for _, q := range []string{name + "=" + other, "a=1;" + name + "=" + other, "a=1&&" + name + "=" + other, name + "="} {
			for _, hdr := range []string{"X-Original-URI", "X-Forwarded-Uri"} {
				rec := f.do(http.MethodGet, "/api/v1/verify", "", "Authorization", "Bearer "+good, "X-Forwarded-Method", "GET", "X-Original-Method", "GET", hdr, "/dashboards/sales?"+q)
				requireError(t, rec, http.StatusBadRequest, "invalid_request", "token")
				require.Empty(t, rec.Header().Get(httpapi.HeaderSubject), q)
			}
			if !strings.ContainsRune(q, '\u212a') { // a request target is ASCII
				rec := f.do(http.MethodGet, "/api/v1/verify?"+q, "", "Authorization", "Bearer "+good)
				requireError(t, rec, http.StatusBadRequest, "invalid_request", "token")
				require.Empty(t, rec.Header().Get(httpapi.HeaderSubject), q)
			}
		}
		// The name alone: the one credential, read only when it unescapes
		// to exactly "token" (other spellings are counted, never read).
		rec := f.do(http.MethodGet, "/api/v1/verify", "", "X-Original-Method", "GET", "X-Original-URI", "/dashboards/sales?lang=de&"+name+"="+url.QueryEscape(other))
		if dec, _ := url.QueryUnescape(name); dec == "token" {
			require.Equal(t, http.StatusOK, rec.Code, "%q: %s", name, rec.Body.String())
			require.Equal(t, "a5-other", rec.Header().Get(httpapi.HeaderSubject))
		} else {
			requireError(t, rec, http.StatusUnauthorized, "token_required", "")
			require.Empty(t, rec.Header().Get(httpapi.HeaderSubject), name)
		}
	}
	for _, q := range []string{"lang=de", "t0ken=" + other, "to+ken=" + other, "toxen=1", "a=b;c=d", "acce\u017f\u017f=1", "%74%6F%6B%65=1"} {
		rec := f.do(http.MethodGet, "/api/v1/verify", "", "Authorization", "Bearer "+good, "X-Original-Method", "GET", "X-Original-URI", "/dashboards/sales?"+q)
		require.Equal(t, http.StatusOK, rec.Code, "%s: %s", q, rec.Body.String())
		require.Equal(t, "a5-good", rec.Header().Get(httpapi.HeaderSubject))
	}
}

// TestAttack5_PolicyPathSpellingsThroughVerify: an embed token of
// dashboard "sales", cached and answered once for its own path, is
// presented with forwarded paths that spell a way out of it (encoded dots
// in any case, "..;", "//", backslashes raw and encoded, an encoded slash,
// overlong UTF-8 dots, fullwidth dots, a ;parameter before the dots): each
// is refused with a 4xx JSON error and no identity header, through both
// header names; the token's own path still answers with its identity
// (the cached answer is not touched by the refusals).
func TestAttack5_PolicyPathSpellingsThroughVerify(t *testing.T) {
	f := newAPI(t, withGateway(policy.Config{}, &reasons{}))
	tok := f.mint(map[string]any{"sub": "a5-path"}).AccessToken
	own := f.forward(tok, http.MethodGet, "/dashboards/sales/widgets", true)
	require.Equal(t, http.StatusOK, own.Code, own.Body.String())
	ownBody := own.Body.String()
	for _, p := range []string{
		"/dashboards/sales/%2e%2e/mkt", "/dashboards/sales/%2E%2E/mkt", "/dashboards/sales/.%2e/mkt", "/dashboards/sales/%2e./mkt",
		"/dashboards/sales/..;/mkt", "/dashboards/sales/..;x=1/mkt", "/dashboards/sales/%2e%2e;/mkt",
		"/dashboards/sales//../mkt", "//dashboards/mkt", "/dashboards//mkt", "/dashboards/sales/..//mkt",
		"/dashboards/sales\\..\\mkt", "/dashboards/sales/%5c..%5cmkt", "/dashboards/sales/%5C../mkt",
		"/dashboards/sales%2f..%2fmkt", "/dashboards/sales/%2F../mkt",
		"/dashboards/sales/%c0%ae%c0%ae/mkt", "/dashboards/sales/%e0%80%ae%e0%80%ae/mkt", "/dashboards/sales/%C0%AF../mkt",
		"/dashboards/sales/\uff0e\uff0e/mkt", "/dashboards/sales/%EF%BC%8E%EF%BC%8E/mkt",
		"/dashboards/sales;x/../mkt", "/dashboards/sales/./../mkt", "/dashboards/mkt", "/dashboards/%73ales/../mkt",
		"/dashboards/sales/%252e%252e/mkt", "/dashboards/sales/%00/../mkt", "/dashboards/sales/%",
	} {
		for _, nginx := range []bool{true, false} {
			rec := f.forward(tok, http.MethodGet, p, nginx)
			require.True(t, rec.Code == http.StatusForbidden || rec.Code == http.StatusBadRequest, "%s: %d %s", p, rec.Code, rec.Body.String())
			requireJSON(t, rec)
			var e map[string]map[string]any
			require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &e), p)
			require.NotEmpty(t, e["error"]["code"], p)
			require.Empty(t, rec.Header().Get(httpapi.HeaderSubject), p)
			require.Empty(t, rec.Header().Get(httpapi.HeaderResource), p)
		}
	}
	again := f.forward(tok, http.MethodGet, "/dashboards/sales/widgets", false)
	require.Equal(t, http.StatusOK, again.Code)
	require.Equal(t, ownBody, again.Body.String())
	require.Equal(t, "a5-path", again.Header().Get(httpapi.HeaderSubject))
}

// TestAttack5_VerifyAnswersOfTwinsConcurrently: tokens differing by one
// character of their sub (and one whose answers object was first made by
// introspect, so verify fills its inline answer later: verifyState empty
// -> filling -> ready, raced by many requests) are verified with GET and
// HEAD alternately from 8 goroutines (run with -race): every answer's
// identity headers and body are always the presented token's.
func TestAttack5_VerifyAnswersOfTwinsConcurrently(t *testing.T) {
	f := newAPI(t)
	subs := []string{"a5-twin-a", "a5-twin-b", "a5-twin-c", "a5-introspected"}
	toks := make([]string, len(subs))
	for i, s := range subs {
		toks[i] = f.mint(map[string]any{"sub": s}).AccessToken
	}
	in := f.postForm("/api/v1/introspect", url.Values{"token": {toks[3]}}, dashID, f.dashSecret)
	require.Equal(t, http.StatusOK, in.Code, in.Body.String())
	require.Contains(t, in.Body.String(), `"sub":"a5-introspected"`)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 200 {
				j := (g + i) % len(toks)
				method := http.MethodGet
				if (g+i)%3 == 0 {
					method = http.MethodHead
				}
				rec := f.bearer(method, "/api/v1/verify", toks[j])
				if rec.Code != http.StatusOK || rec.Header().Get(httpapi.HeaderSubject) != subs[j] {
					t.Errorf("%s %s: %d subject %q", method, subs[j], rec.Code, rec.Header().Get(httpapi.HeaderSubject))
					return
				}
				if method == http.MethodGet && !strings.Contains(rec.Body.String(), `"sub":"`+subs[j]+`"`) {
					t.Errorf("%s: body %s", subs[j], rec.Body.String())
					return
				}
				if method == http.MethodHead && rec.Body.Len() != 0 {
					t.Errorf("HEAD with a body")
					return
				}
			}
		})
	}
	wg.Wait()
	in = f.postForm("/api/v1/introspect", url.Values{"token": {toks[3]}}, dashID, f.dashSecret)
	require.Contains(t, in.Body.String(), `"sub":"a5-introspected"`)
}
