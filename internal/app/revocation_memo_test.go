package app_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
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

// TestRevocation_CachedTokenSeesLaterRevocations: over HTTP, on the memory
// store (direct checks, whose denylist ids and cutoff keys are kept per
// cached token), on Redis through the revocation replica (whose parsed jti
// and tid are kept per cached token) and on Redis checked directly, a
// token verified several times — so its verdict could have been cached —
// is refused (401) on its very next use after its jti is revoked, after a
// revoke-all of its subject, of its dashboard and of its client, while the
// other tokens, cached beside it, still verify; and introspection of a
// cached token turns inactive the same way.
func TestRevocation_CachedTokenSeesLaterRevocations(t *testing.T) {
	t.Run("Memory", func(t *testing.T) { cachedTokenSeesLaterRevocations(t, nil) })
	t.Run("RedisReplica", func(t *testing.T) {
		rds := redisserver.Start(t)
		cachedTokenSeesLaterRevocations(t, func(c *config.Config) { c.Redis.URL = rds.URL() })
	})
	t.Run("RedisDirect", func(t *testing.T) {
		rds := redisserver.Start(t)
		cachedTokenSeesLaterRevocations(t, func(c *config.Config) { c.Redis.URL, c.Revocation.Mode = rds.URL(), "direct" })
	})
}

func cachedTokenSeesLaterRevocations(t *testing.T, tweak func(*config.Config)) {
	clock := testclock.Wall()
	opts := []apiserver.Option{apiserver.WithApp(app.WithNow(clock.Now))}
	if tweak != nil {
		opts = append(opts, apiserver.WithConfig(tweak))
	}
	srv := apiserver.Start(t, opts...)
	call := func(method, path, ctype, body string, basic ...string) (int, []byte) {
		t.Helper()
		req, err := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
		require.NoError(t, err)
		if ctype != "" {
			req.Header.Set("Content-Type", ctype)
		}
		if len(basic) == 2 {
			req.SetBasicAuth(basic[0], basic[1])
		} else {
			req.SetBasicAuth("admin", srv.AdminSecret)
		}
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		raw, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		return resp.StatusCode, raw
	}
	newClient := func(id, dash string) string {
		status, raw := call(http.MethodPost, "/api/clients", "application/json", fmt.Sprintf(`{"id":%q,"resources":["dashboard:%s"]}`, id, dash))
		require.Equal(t, http.StatusCreated, status, "%s", raw)
		var out struct {
			Secret string `json:"secret"`
		}
		require.NoError(t, json.Unmarshal(raw, &out))
		return out.Secret
	}
	salesSecret, hrSecret := newClient("sales", "sales"), newClient("hr", "hr")
	mint := func(client, secret, dash, sub string) string {
		body := fmt.Sprintf(`{"dashboardId":%q,"dashboardSecret":%q,"sub":%q}`, dash, secret, sub)
		req, err := http.NewRequest(http.MethodPost, srv.URL+"/api/v1/token", strings.NewReader(body))
		require.NoError(t, err)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		require.Equal(t, http.StatusOK, resp.StatusCode, client)
		var out struct {
			AccessToken string `json:"accessToken"`
		}
		require.NoError(t, json.NewDecoder(resp.Body).Decode(&out))
		return out.AccessToken
	}
	verify := func(tok string) int {
		t.Helper()
		req, err := http.NewRequest(http.MethodGet, srv.URL+"/api/v1/verify", nil)
		require.NoError(t, err)
		req.Header.Set("Authorization", "Bearer "+tok)
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode
	}
	active := func(tok string) bool {
		t.Helper()
		status, raw := call(http.MethodPost, "/api/v1/introspect", "application/x-www-form-urlencoded", url.Values{"token": {tok}}.Encode())
		require.Equal(t, http.StatusOK, status, "%s", raw)
		var out struct {
			Active bool `json:"active"`
		}
		require.NoError(t, json.Unmarshal(raw, &out))
		return out.Active
	}
	revokeAll := func(body string) {
		t.Helper()
		status, raw := call(http.MethodPost, "/api/v1/revoke-all", "application/json", body)
		require.Equal(t, http.StatusOK, status, "%s", raw)
	}

	byJTI := mint("sales", salesSecret, "sales", "alice")
	bySub := mint("sales", salesSecret, "sales", "bob")
	byDash := mint("hr", hrSecret, "hr", "carol")
	byClient := mint("sales", salesSecret, "sales", "dave")
	live := mint("hr", hrSecret, "hr", "erin")
	all := []string{byJTI, bySub, byDash, byClient, live}
	for range 3 { // cached, and each repeat answered from the cache
		for _, tok := range all {
			require.Equal(t, http.StatusOK, verify(tok))
			require.True(t, active(tok))
		}
	}

	status, raw := call(http.MethodPost, "/api/v1/revoke", "application/x-www-form-urlencoded", url.Values{"token": {byJTI}}.Encode())
	require.Equal(t, http.StatusOK, status, "%s", raw)
	require.Equal(t, http.StatusUnauthorized, verify(byJTI), "revoked jti of a cached token")
	require.False(t, active(byJTI))
	require.Equal(t, http.StatusOK, verify(bySub))

	revokeAll(`{"sub":"bob"}`)
	require.Equal(t, http.StatusUnauthorized, verify(bySub), "subject cutoff after caching")
	require.False(t, active(bySub))
	require.Equal(t, http.StatusOK, verify(byDash))

	revokeAll(`{"dashboardId":"hr"}`)
	require.Equal(t, http.StatusUnauthorized, verify(byDash), "dashboard cutoff after caching")
	require.Equal(t, http.StatusUnauthorized, verify(live), "same dashboard: cut too")
	require.Equal(t, http.StatusOK, verify(byClient))

	revokeAll(`{"clientId":"sales"}`)
	require.Equal(t, http.StatusUnauthorized, verify(byClient), "client cutoff after caching")
	require.False(t, active(byClient))

	// A token minted after the cutoffs lives, cached or not.
	clock.Advance(time.Second)
	fresh := mint("sales", salesSecret, "sales", "bob")
	for range 3 {
		require.Equal(t, http.StatusOK, verify(fresh))
	}
}
