package httpapi_test

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/sigil-dev/sigil/internal/config"
	"github.com/sigil-dev/sigil/test/apiserver"
)

// Attacks on issue 17's authentication changes (withClient, basicAuth on
// the stack, pooled HMAC states): a hostile caller interleaving wrong and
// right secrets, other tenants' clients and rotations with many requests at
// once. Each check goes over HTTP against the harness's server.

// noAuthLimit lifts the failed-authentication limit so wrong secrets sent
// on purpose do not block the right ones from the same address (the
// limiter's refusals are tested elsewhere).
func noAuthLimit() apiserver.Option {
	return apiserver.WithConfig(func(c *config.Config) { c.Auth.MaxFailures = 1000000 })
}

// rawIntrospect posts token to /api/v1/introspect with Authorization auth
// (none if empty), safe to call from many goroutines.
func rawIntrospect(base, auth, tok string) (int, string, error) {
	r, err := http.NewRequest(http.MethodPost, base+"/api/v1/introspect", strings.NewReader(url.Values{"token": {tok}}.Encode()))
	if err != nil {
		return 0, "", err
	}
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if auth != "" {
		r.Header.Set("Authorization", auth)
	}
	res, err := http.DefaultClient.Do(r)
	if err != nil {
		return 0, "", err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	return res.StatusCode, string(b), err
}

func basicHeader(id, secret string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(id+":"+secret))
}

// wrongSecrets are secrets near secret that must never authenticate.
func wrongSecrets(secret string) []string {
	last := secret[len(secret)-1]
	flip := secret[:len(secret)-1] + string(last^1)
	return []string{
		flip,
		secret[:len(secret)-1],
		secret + "A",
		secret + secret,
		secret[:1],
		strings.ToUpper(secret),
		secret[:len(secret)-1] + "é",
		secret + "\x00",
		strings.Repeat("x", 200),          // past basicAuth's stack buffer
		secret + strings.Repeat("y", 190), // the right secret as a prefix, decoded on the heap
		secret + ":" + secret,
	}
}

// TestAttack4_IntrospectWrongSecretsInterleaved: goroutines introspect at
// once as three clients, each alternating its right secret with near
// misses (last byte flipped, a prefix, longer, upper case, non-ASCII, a
// NUL, past the stack buffer, the right one as a prefix) and the other
// clients' secrets. Every right secret answers 200 for its own client (its
// own token active, the others' inactive); every wrong one 401. A pooled
// hash state carried from one request into another would let a near miss
// through or fail a right secret.
func TestAttack4_IntrospectWrongSecretsInterleaved(t *testing.T) {
	e := newConsoleEnv(t, noAuthLimit())
	ids := []string{"sales", "hr", "ops"}
	secrets := map[string]string{}
	toks := map[string]string{}
	for _, id := range ids {
		secrets[id] = e.newClient(id, "dashboard:"+id)
		toks[id] = e.mintEmbed(id, secrets[id])
	}
	errs := make(chan error, 64)
	var wg sync.WaitGroup
	for g := range 6 {
		id := ids[g%len(ids)]
		wg.Go(func() {
			wrong := wrongSecrets(secrets[id])
			for _, other := range ids {
				if other != id {
					wrong = append(wrong, secrets[other])
				}
			}
			for i := range 30 {
				tokOf := ids[i%len(ids)]
				status, body, err := rawIntrospect(e.srv.URL, basicHeader(id, secrets[id]), toks[tokOf])
				if err != nil {
					errs <- err
					return
				}
				wantActive := tokOf == id
				var v struct {
					Active      bool   `json:"active"`
					DashboardID string `json:"dashboardId"`
				}
				if status != http.StatusOK || json.Unmarshal([]byte(body), &v) != nil || v.Active != wantActive ||
					(wantActive && v.DashboardID != id) {
					errs <- fmt.Errorf("%s introspecting %s's token with its right secret: %d %s", id, tokOf, status, body)
					return
				}
				w := wrong[i%len(wrong)]
				status, body, err = rawIntrospect(e.srv.URL, basicHeader(id, w), toks[id])
				if err != nil {
					errs <- err
					return
				}
				if status != http.StatusUnauthorized || (len(w) > 8 && strings.Contains(body, w)) || strings.Contains(body, toks[id]) {
					errs <- fmt.Errorf("%s with wrong secret #%d: %d %s", id, i%len(wrong), status, body)
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

// TestAttack4_MintWrongSecretsInterleaved: the same near misses against
// POST /api/v1/token (the dashboard secret goes through the same pooled
// HMAC) at once with right mints; right ones get a token of their own
// dashboard, wrong ones 401 and no token.
func TestAttack4_MintWrongSecretsInterleaved(t *testing.T) {
	e := newConsoleEnv(t, noAuthLimit())
	ids := []string{"sales", "hr"}
	secrets := map[string]string{}
	for _, id := range ids {
		secrets[id] = e.newClient(id, "dashboard:"+id)
	}
	errs := make(chan error, 64)
	var wg sync.WaitGroup
	for g := range 4 {
		id := ids[g%len(ids)]
		wg.Go(func() {
			wrong := wrongSecrets(secrets[id])
			for i := range 25 {
				sub := fmt.Sprintf("u-%d-%d", g, i)
				body := fmt.Sprintf(`{"dashboardId":%q,"dashboardSecret":%q,"sub":%q,"params":{"n":%q,"pad":"p"}}`, id, secrets[id], sub, sub)
				if err := mintAndCheck(e.srv.URL, body, sub, "p"); err != nil {
					errs <- err
					return
				}
				w := wrong[i%len(wrong)]
				bad, _ := json.Marshal(map[string]string{"dashboardId": id, "dashboardSecret": w})
				res, err := http.Post(e.srv.URL+"/api/v1/token", "application/json", strings.NewReader(string(bad)))
				if err != nil {
					errs <- err
					return
				}
				b, _ := io.ReadAll(res.Body)
				res.Body.Close()
				if res.StatusCode != http.StatusUnauthorized || strings.Contains(string(b), "accessToken") {
					errs <- fmt.Errorf("%s minting with wrong secret %q: %d %s", id, w, res.StatusCode, b)
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

// TestAttack4_BasicHeaderVariants: Authorization headers net/http's
// BasicAuth refuses are refused by the stack decoder too (401, never 5xx),
// and the ones it accepts (any ASCII case of "Basic") authenticate; a
// header whose decoding is longer than the stack buffer is decoded on the
// heap and still compared whole.
func TestAttack4_BasicHeaderVariants(t *testing.T) {
	e := newConsoleEnv(t, noAuthLimit())
	secret := e.newClient("sales", "dashboard:sales")
	tok := e.mintEmbed("sales", secret)
	enc := base64.StdEncoding.EncodeToString([]byte("sales:" + secret))
	for _, h := range []string{"Basic " + enc, "basic " + enc, "BASIC " + enc, "bAsIc " + enc} {
		status, body, err := rawIntrospect(e.srv.URL, h, tok)
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, status, "%q: %s", h, body)
		require.Contains(t, body, `"active":true`)
	}
	raw := base64.RawStdEncoding.EncodeToString([]byte("sales:" + secret))
	for name, h := range map[string]string{
		"no padding":        "Basic " + raw + "x",
		"two spaces":        "Basic  " + enc,
		"tab":               "Basic\t" + enc,
		"long s":            "Baſic " + enc,
		"Bearer":            "Bearer " + enc,
		"url alphabet":      "Basic " + base64.URLEncoding.EncodeToString([]byte("sales:"+secret+"\xff\xfe")),
		"trailing garbage":  "Basic " + enc + "!!",
		"no colon":          "Basic " + base64.StdEncoding.EncodeToString([]byte("sales"+secret)),
		"empty secret":      basicHeader("sales", ""),
		"empty id":          basicHeader("", secret),
		"huge":              "Basic " + base64.StdEncoding.EncodeToString([]byte("sales:"+strings.Repeat(secret, 200))),
		"secret then colon": basicHeader("sales", secret+":"),
		"prefix only":       "Basic ",
		"short":             "Basi",
	} {
		status, body, err := rawIntrospect(e.srv.URL, h, tok)
		require.NoError(t, err)
		require.Equal(t, http.StatusUnauthorized, status, "%s: %s", name, body)
		require.NotContains(t, body, secret, name)
	}
}

// TestAttack4_RotatedAndDeletedSecretsFailAtOnce: while goroutines keep
// introspecting with the current secret, the admin rotates it; the moment
// the rotation returns the old secret is refused and the new one works,
// and once the client is deleted neither works, at both introspection
// (withClient) and revoke (requireClient).
func TestAttack4_RotatedAndDeletedSecretsFailAtOnce(t *testing.T) {
	e := newConsoleEnv(t, noAuthLimit())
	old := e.newClient("sales", "dashboard:sales")
	tok := e.mintEmbed("sales", old)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range 3 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				_, _, _ = rawIntrospect(e.srv.URL, basicHeader("sales", old), tok)
			}
		})
	}
	secret := old
	for round := range 5 {
		rec := e.basic("admin", e.srv.AdminSecret, http.MethodPost, "/api/clients/sales/_rotate-secret", "")
		require.Equal(t, http.StatusOK, rec.status, rec.body)
		var v struct{ Secret string }
		rec.decode(t, &v)
		require.NotEqual(t, secret, v.Secret)
		for _, s := range []string{old, secret} {
			status, body, err := rawIntrospect(e.srv.URL, basicHeader("sales", s), tok)
			require.NoError(t, err)
			require.Equal(t, http.StatusUnauthorized, status, "round %d, a rotated secret: %s", round, body)
		}
		secret = v.Secret
		status, body, err := rawIntrospect(e.srv.URL, basicHeader("sales", secret), tok)
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, status, body)
		require.Contains(t, body, `"active":true`)
	}
	rec := e.basic("admin", e.srv.AdminSecret, http.MethodDelete, "/api/clients/sales", "")
	require.Less(t, rec.status, 300, rec.body)
	close(stop)
	wg.Wait()
	for _, s := range []string{old, secret} {
		status, body, err := rawIntrospect(e.srv.URL, basicHeader("sales", s), tok)
		require.NoError(t, err)
		require.Equal(t, http.StatusUnauthorized, status, body)
		rev := e.basic("sales", s, http.MethodPost, "/api/v1/revoke", url.Values{"token": {tok}}.Encode())
		require.Equal(t, http.StatusUnauthorized, rev.status, rev.body)
	}
}

// TestAttack4_IntrospectOtherTenantAndCookieSmuggling: a client never
// learns another tenant's token through introspection, whether it sends
// its own Basic credentials, its own Basic plus the other tenant's console
// session cookie, or a session cookie with a wrong Basic (Basic wins and
// fails: the cookie does not rescue it).
func TestAttack4_IntrospectOtherTenantAndCookieSmuggling(t *testing.T) {
	e := newConsoleEnv(t, noAuthLimit())
	salesSecret := e.newClient("sales", "dashboard:sales")
	hrSecret := e.newClient("hr", "dashboard:hr")
	hrTok := e.mintEmbed("hr", hrSecret)
	requireActive(t, e.introspectAs(hrTok, withBasic("sales", salesSecret)), false)
	requireActive(t, e.introspectAs(hrTok, withBasic("hr", hrSecret)), true)
	requireActive(t, e.introspectAs(hrTok, func(r *http.Request) {
		r.AddCookie(&http.Cookie{Name: "sigil_session", Value: "forged"})
		r.SetBasicAuth("sales", salesSecret)
	}), false)
	a := e.introspectAs(hrTok, func(r *http.Request) {
		r.AddCookie(&http.Cookie{Name: "sigil_session", Value: "forged"})
		r.SetBasicAuth("hr", hrSecret+"x")
	})
	require.Equal(t, http.StatusUnauthorized, a.status, a.body)
	// Two Authorization headers: refused, never the second one's client.
	a = e.introspectAs(hrTok, func(r *http.Request) {
		r.Header.Add("Authorization", basicHeader("sales", salesSecret))
		r.Header.Add("Authorization", basicHeader("hr", hrSecret))
	})
	require.Equal(t, http.StatusBadRequest, a.status, a.body)
}
