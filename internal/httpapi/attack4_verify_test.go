package httpapi_test

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/sigil-dev/sigil/internal/config"
	"github.com/sigil-dev/sigil/internal/httpapi"
	"github.com/sigil-dev/sigil/internal/token"
	"github.com/sigil-dev/sigil/test/apiserver"
)

// Attacks on issue 17's token changes: pooled mint buffers, the token and
// its signing input as views of one buffer, claims as substrings of one
// payload copy in one claimsBox, verify answers whose header values live in
// the cached answer.

// TestAttack4_VerifyHeaderValuesNotShared: the identity header values of a
// cached verify answer are handed to every response for that token; a
// writer that appends to one (Header().Add, as a middleware wrapping the
// handler could) must not change the next answer, nor the header beside
// it. The recorder's header map holds the very slices the handler set.
func TestAttack4_VerifyHeaderValuesNotShared(t *testing.T) {
	f := newAPI(t)
	tok := f.mint(map[string]any{"sub": "alice", "params": map[string]any{"region": "emea"}}).AccessToken
	first := f.verify(tok)
	require.Equal(t, http.StatusOK, first.Code, first.Body.String())
	want := first.Result().Header.Clone()
	names := []string{httpapi.HeaderSubject, httpapi.HeaderKind, httpapi.HeaderScope, httpapi.HeaderResource, httpapi.HeaderParams}
	for _, n := range names {
		require.Len(t, want[n], 1, n)
		first.Header().Add(n, "evil-"+n)
		first.Header()[n] = append(first.Header()[n], "evil2")
	}
	for range 3 {
		again := f.verify(tok)
		require.Equal(t, http.StatusOK, again.Code, again.Body.String())
		for _, n := range names {
			require.Equal(t, want[n], again.Result().Header[n], n)
		}
	}
	require.Equal(t, "alice", want.Get(httpapi.HeaderSubject))
	require.Equal(t, "emea", headerParams(want.Get(httpapi.HeaderParams))["region"])
}

// headerParams decodes X-Sigil-Params (base64url of the params' JSON).
func headerParams(v string) map[string]any {
	b, err := base64.RawURLEncoding.DecodeString(v)
	if err != nil {
		return nil
	}
	var m map[string]any
	if json.Unmarshal(b, &m) != nil {
		return nil
	}
	return m
}

// getVerify sends tok to /api/v1/verify as a Bearer token.
func getVerify(base, tok string) (*http.Response, string, error) {
	r, err := http.NewRequest(http.MethodGet, base+"/api/v1/verify", nil)
	if err != nil {
		return nil, "", err
	}
	r.Header.Set("Authorization", "Bearer "+tok)
	res, err := http.DefaultClient.Do(r)
	if err != nil {
		return nil, "", err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	return res, string(b), err
}

// mintRaw mints over HTTP and returns the token (no testing.T: goroutines).
func mintRaw(base string, req map[string]any) (string, error) {
	body, _ := json.Marshal(req)
	res, err := http.Post(base+"/api/v1/token", "application/json", strings.NewReader(string(body)))
	if err != nil {
		return "", err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		return "", err
	}
	if res.StatusCode != http.StatusOK {
		return "", fmt.Errorf("mint: %d %s", res.StatusCode, b)
	}
	var v struct{ AccessToken string }
	if err := json.Unmarshal(b, &v); err != nil {
		return "", err
	}
	return v.AccessToken, nil
}

// paramsAre reports whether p are exactly {n, pad, esc}.
func paramsAre(p map[string]any, n, pad, esc string) bool {
	return len(p) == 3 && p["n"] == n && p["pad"] == pad && p["esc"] == esc
}

// payloadOf decodes a JWS's claims.
func payloadOf(tok string) (map[string]any, error) {
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		return nil, fmt.Errorf("not a JWS: %q", tok)
	}
	p, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return nil, err
	}
	var m map[string]any
	return m, json.Unmarshal(p, &m)
}

// TestAttack4_ConcurrentMintVerifyIntrospect: goroutines of three tenants
// each mint a token of their own (own subject, params of their own and of
// a length that varies past the pooled buffers' first size, some with
// escapes), verify it at once and introspect it with their own client and
// with another tenant's, while the others do the same. Every token's
// claims, every verify header and every introspection answer is its own
// request's; another tenant sees it inactive; jtis are distinct. A pooled
// buffer reused before its token was copied, or a claims box shared, shows
// up as a foreign subject or params.
func TestAttack4_ConcurrentMintVerifyIntrospect(t *testing.T) {
	e := newConsoleEnv(t, noAuthLimit())
	ids := []string{"sales", "hr", "ops"}
	secrets := map[string]string{}
	for _, id := range ids {
		secrets[id] = e.newClient(id, "dashboard:"+id)
	}
	var jtis sync.Map
	errs := make(chan error, 64)
	var wg sync.WaitGroup
	for g := range 6 {
		id, other := ids[g%3], ids[(g+1)%3]
		wg.Go(func() {
			for i := range 25 {
				sub := fmt.Sprintf("%s-user-%d-%d", id, g, i)
				pad := strings.Repeat(string(rune('a'+g)), (g*25+i)*13%2500)
				esc := fmt.Sprintf("q\"%d\\é/<>&\U0001F600", i)
				tok, err := mintRaw(e.srv.URL, map[string]any{
					"dashboardId": id, "dashboardSecret": secrets[id], "sub": sub,
					"params": map[string]any{"n": sub, "pad": pad, "esc": esc},
				})
				if err != nil {
					errs <- err
					return
				}
				claims, err := payloadOf(tok)
				if err != nil {
					errs <- err
					return
				}
				p, _ := claims["params"].(map[string]any)
				if claims["sub"] != sub || p["n"] != sub || p["pad"] != pad || p["esc"] != esc {
					errs <- fmt.Errorf("minted for %s, claims %v", sub, claims)
					return
				}
				jti, _ := claims["jti"].(string)
				if _, dup := jtis.LoadOrStore(jti, sub); dup || jti == "" {
					errs <- fmt.Errorf("jti %q of %s repeated", jti, sub)
					return
				}
				for range 2 { // the second answer is the cached one
					res, body, err := getVerify(e.srv.URL, tok)
					if err != nil {
						errs <- err
						return
					}
					if res.StatusCode != http.StatusOK || res.Header.Get(httpapi.HeaderSubject) != sub ||
						!paramsAre(headerParams(res.Header.Get(httpapi.HeaderParams)), sub, pad, esc) || !strings.Contains(body, `"sub":"`+sub+`"`) {
						errs <- fmt.Errorf("verify of %s: %d %v %s", sub, res.StatusCode, res.Header, body)
						return
					}
				}
				status, body, err := rawIntrospect(e.srv.URL, basicHeader(id, secrets[id]), tok)
				if err != nil {
					errs <- err
					return
				}
				var in struct {
					Active bool
					Sub    string
					Params map[string]any
				}
				if status != http.StatusOK || json.Unmarshal([]byte(body), &in) != nil || !in.Active || in.Sub != sub ||
					!paramsAre(in.Params, sub, pad, esc) {
					errs <- fmt.Errorf("introspect of %s by %s: %d %.300s", sub, id, status, body)
					return
				}
				status, body, err = rawIntrospect(e.srv.URL, basicHeader(other, secrets[other]), tok)
				if err != nil {
					errs <- err
					return
				}
				if status != http.StatusOK || strings.TrimSpace(body) != `{"active":false}` {
					errs <- fmt.Errorf("introspect of %s by other tenant %s: %d %.300s", sub, other, status, body)
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
}

// TestAttack4_VerifyManyLargeTokensHeapBounded: thousands of distinct
// large tokens (just under token.MaxCachedTokenSize, so the cache keeps
// them) verified and introspected one after the other do not grow the heap
// past the verified-token cache's bound: a claims box, payload copy,
// rendered answer or pooled buffer kept per token beyond the cache's
// entries would hold ~16 KB a token (measured with an unbounded cache:
// +40 MB over 2500 tokens). The test keeps no token itself. Heap is
// measured in-process after GC.
func TestAttack4_VerifyManyLargeTokensHeapBounded(t *testing.T) {
	const cacheSize = 128
	srv := apiserver.Start(t, noAuthLimit(), apiserver.WithConfig(func(c *config.Config) { c.Tokens.CacheSize = cacheSize }))
	e := &consoleEnv{t: t, srv: srv}
	secret := e.newClient("sales", "dashboard:sales")
	run := func(from, to int) {
		for i := from; i < to; i++ {
			pad := fmt.Sprintf("%06d", i) + strings.Repeat("z", 2600)
			tok, err := mintRaw(srv.URL, map[string]any{
				"dashboardId": "sales", "dashboardSecret": secret, "sub": fmt.Sprintf("u%d", i),
				"params": map[string]any{"pad": pad},
			})
			require.NoError(t, err)
			require.Less(t, len(tok), token.MaxCachedTokenSize, "a token the cache keeps")
			for range 2 {
				res, _, err := getVerify(srv.URL, tok)
				require.NoError(t, err)
				require.Equal(t, http.StatusOK, res.StatusCode)
			}
			status, _, err := rawIntrospect(srv.URL, basicHeader("admin", srv.AdminSecret), tok)
			require.NoError(t, err)
			require.Equal(t, http.StatusOK, status)
		}
	}
	heap := func() uint64 {
		runtime.GC()
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		return m.HeapAlloc
	}
	run(0, 4*cacheSize) // the cache is full and evicting
	before := heap()
	const more = 2500
	run(4*cacheSize, 4*cacheSize+more)
	after := heap()
	growth := int64(after) - int64(before)
	t.Logf("heap %d -> %d bytes (%+d) over %d more tokens", before, after, growth, more)
	// Retaining ~16 KB per token would grow the heap by ~40 MB; the
	// cache's bound allows none (a few MB of noise).
	require.Less(t, growth, int64(12<<20), "heap grew by %d bytes over %d distinct tokens", growth, more)
}
