package httpapi_test

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
)

// TestMint_ConcurrentAnswersKeepTheirTokens: mints answered at once over
// HTTP (claims' JSON and the answer are written into pooled buffers) each
// answer with their own token: its subject and params are the request's,
// the answer is whole JSON (with its Content-Length when small), and the token verifies
// at /api/v1/verify. Long params push some tokens past the buffers'
// first size. go test -race: no buffer is shared while in use.
func TestMint_ConcurrentAnswersKeepTheirTokens(t *testing.T) {
	e := newConsoleEnv(t)
	secret := e.newClient("sales", "dashboard:sales")
	errs := make(chan error, 6)
	var wg sync.WaitGroup
	for g := range 6 {
		wg.Go(func() {
			for i := range 40 {
				sub := fmt.Sprintf("user-%d-%d", g, i)
				pad := strings.Repeat("p", (g*40+i)*7%1500)
				body := fmt.Sprintf(`{"dashboardId":"sales","dashboardSecret":%q,"sub":%q,"params":{"n":%q,"pad":%q}}`, secret, sub, sub, pad)
				if err := mintAndCheck(e.srv.URL, body, sub, pad); err != nil {
					errs <- err
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

func mintAndCheck(base, body, sub, pad string) error {
	res, err := http.Post(base+"/api/v1/token", "application/json", strings.NewReader(body))
	if err != nil {
		return err
	}
	b, err := io.ReadAll(res.Body)
	res.Body.Close()
	if err != nil {
		return err
	}
	// net/http sends a Content-Length for a small answer, a chunked one past 2 KiB.
	if res.StatusCode != http.StatusOK || (res.ContentLength != int64(len(b)) && (len(b) < 2048 || res.ContentLength != -1)) {
		return fmt.Errorf("%s: %d, Content-Length %d for %d bytes: %s", sub, res.StatusCode, res.ContentLength, len(b), b)
	}
	var tr struct{ AccessToken string }
	if err := json.Unmarshal(b, &tr); err != nil {
		return fmt.Errorf("%s: %w: %s", sub, err, b)
	}
	parts := strings.Split(tr.AccessToken, ".")
	if len(parts) != 3 {
		return fmt.Errorf("%s: not a JWS: %s", sub, tr.AccessToken)
	}
	p, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return err
	}
	var claims struct {
		Sub    string
		Params map[string]string
	}
	if err := json.Unmarshal(p, &claims); err != nil {
		return err
	}
	if claims.Sub != sub || claims.Params["n"] != sub || claims.Params["pad"] != pad {
		return fmt.Errorf("asked for %s, got %s / %s", sub, claims.Sub, claims.Params["n"])
	}
	req, _ := http.NewRequest(http.MethodGet, base+"/api/v1/verify", nil)
	req.Header.Set("Authorization", "Bearer "+tr.AccessToken)
	vr, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	vr.Body.Close()
	if vr.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: verify %d", sub, vr.StatusCode)
	}
	return nil
}
