package httpapi_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/sigil-dev/sigil/internal/config"
	"github.com/sigil-dev/sigil/test/apiserver"
	"github.com/sigil-dev/sigil/test/redisserver"
)

// TestAttack4_RedisRevokeUnderLoad: with a real redis-server in direct
// mode (every store call waits on the lazily armed bound: go-redis polls
// Done), 1000 requests from 8 goroutines mint, verify, introspect, revoke
// and re-present their own tokens at once. A revoked token is refused at
// verify and inactive at introspection right after its revoke returns
// (revocation on every request, cached or not), every other answer is its
// own, and afterwards the goroutine count is back where it was (no armed
// bound or its timer goroutine left behind).
func TestAttack4_RedisRevokeUnderLoad(t *testing.T) {
	rs := redisserver.Start(t)
	srv := apiserver.Start(t, noAuthLimit(), apiserver.WithConfig(func(c *config.Config) {
		c.Redis.URL = rs.URL()
		c.Revocation.Mode = "direct"
	}))
	e := &consoleEnv{t: t, srv: srv}
	secret := e.newClient("sales", "dashboard:sales")
	auth := basicHeader("sales", secret)
	tr := &http.Transport{MaxIdleConnsPerHost: 16}
	cl := &http.Client{Transport: tr, Timeout: 30 * time.Second} // a guard only
	do := func(method, path, ctype, authz, body string) (int, string, error) {
		r, err := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
		if err != nil {
			return 0, "", err
		}
		if ctype != "" {
			r.Header.Set("Content-Type", ctype)
		}
		if authz != "" {
			r.Header.Set("Authorization", authz)
		}
		res, err := cl.Do(r)
		if err != nil {
			return 0, "", err
		}
		defer res.Body.Close()
		b, err := io.ReadAll(res.Body)
		return res.StatusCode, string(b), err
	}
	round := func(g, i int) error {
		sub := fmt.Sprintf("u-%d-%d", g, i)
		status, body, err := do(http.MethodPost, "/api/v1/token", "application/json", "",
			fmt.Sprintf(`{"dashboardId":"sales","dashboardSecret":%q,"sub":%q}`, secret, sub))
		if err != nil || status != http.StatusOK {
			return fmt.Errorf("mint %s: %d %v %s", sub, status, err, body)
		}
		claims := struct{ AccessToken string }{}
		if err := json.Unmarshal([]byte(body), &claims); err != nil {
			return err
		}
		tok := claims.AccessToken
		form := url.Values{"token": {tok}}.Encode()
		if status, body, err := do(http.MethodGet, "/api/v1/verify", "", "Bearer "+tok, ""); err != nil || status != http.StatusOK || !strings.Contains(body, `"sub":"`+sub+`"`) {
			return fmt.Errorf("verify %s: %d %v %s", sub, status, err, body)
		}
		if status, body, err := do(http.MethodPost, "/api/v1/introspect", "application/x-www-form-urlencoded", auth, form); err != nil || status != http.StatusOK || !strings.Contains(body, `"sub":"`+sub+`"`) {
			return fmt.Errorf("introspect %s: %d %v %s", sub, status, err, body)
		}
		if status, body, err := do(http.MethodPost, "/api/v1/revoke", "application/x-www-form-urlencoded", auth, form); err != nil || status != http.StatusOK {
			return fmt.Errorf("revoke %s: %d %v %s", sub, status, err, body)
		}
		if status, body, err := do(http.MethodGet, "/api/v1/verify", "", "Bearer "+tok, ""); err != nil || status != http.StatusUnauthorized {
			return fmt.Errorf("verify of revoked %s: %d %v %s", sub, status, err, body)
		}
		if status, body, err := do(http.MethodPost, "/api/v1/introspect", "application/x-www-form-urlencoded", auth, form); err != nil || status != http.StatusOK || strings.TrimSpace(body) != `{"active":false}` {
			return fmt.Errorf("introspect of revoked %s: %d %v %s", sub, status, err, body)
		}
		return nil
	}
	require.NoError(t, round(-1, 0)) // warm: pools and connections exist
	runtime.GC()
	before := runtime.NumGoroutine()
	errs := make(chan error, 8)
	var rounds atomic.Int64
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 21 { // 8 x 21 rounds x 6 requests: 1008 requests
				if err := round(g, i); err != nil {
					errs <- err
					return
				}
				rounds.Add(1)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	require.Equal(t, int64(8*21), rounds.Load())
	tr.CloseIdleConnections()
	// Guarded poll, not a timed assertion: connections' goroutines end
	// once the server sees them closed.
	require.Eventually(t, func() bool { return runtime.NumGoroutine() <= before+4 },
		20*time.Second, 10*time.Millisecond, "goroutines: %d before", before)
}
