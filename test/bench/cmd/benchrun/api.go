package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// api talks to one sigil instance for setup and the Redis measurements.
type api struct {
	base        string
	adminSecret string
	client      *http.Client
}

func newHTTPClient() *http.Client {
	return &http.Client{
		Timeout: 5 * time.Second,
		Transport: &http.Transport{
			Proxy:               nil, // loopback only, whatever the environment says
			MaxIdleConns:        64,
			MaxIdleConnsPerHost: 64,
			IdleConnTimeout:     30 * time.Second,
		},
	}
}

// do sends one request and returns the status and body.
func (a *api) do(ctx context.Context, method, path string, hdr map[string]string, body string) (int, []byte, error) {
	code, _, b, err := a.doFull(ctx, method, path, hdr, body)
	return code, b, err
}

// doFull is do with the answer's header.
func (a *api) doFull(ctx context.Context, method, path string, hdr map[string]string, body string) (int, http.Header, []byte, error) {
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, a.base+path, rd)
	if err != nil {
		return 0, nil, nil, err
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := a.client.Do(req)
	if err != nil {
		return 0, nil, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	return resp.StatusCode, resp.Header, b, err
}

// waitReady polls /readyz until it answers 200, within timeout.
func (a *api) waitReady(ctx context.Context, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var last string
	for {
		code, body, err := a.do(ctx, http.MethodGet, "/readyz", nil, "")
		if err == nil && code == http.StatusOK {
			return nil
		}
		last = fmt.Sprintf("status %d %s (err %v)", code, bytes.TrimSpace(body), err)
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s/readyz did not answer 200 within %s: last %s", a.base, timeout, last)
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// createDashboard creates a dashboard client as admin and returns its secret.
func (a *api) createDashboard(ctx context.Context, id string) (string, error) {
	body, _ := json.Marshal(map[string]any{"id": id, "name": "Benchmark dashboard", "resources": []string{"dashboard:" + id}})
	code, b, err := a.do(ctx, http.MethodPost, "/api/clients",
		map[string]string{"Authorization": basicAuth("admin", a.adminSecret), "Content-Type": "application/json"}, string(body))
	if err != nil {
		return "", fmt.Errorf("create client %q: %w", id, err)
	}
	if code != http.StatusCreated {
		return "", fmt.Errorf("create client %q: status %d: %s", id, code, b)
	}
	var out struct {
		Secret string `json:"secret"`
	}
	if err := json.Unmarshal(b, &out); err != nil || out.Secret == "" {
		return "", fmt.Errorf("create client %q: no secret in %s", id, b)
	}
	return out.Secret, nil
}

// mintBody is the JSON body of POST /api/v1/token used by setup and by the
// mint scenario (which puts "{}" in sub for rotate.lua).
func mintBody(dashboard, secret, sub string) string {
	b, _ := json.Marshal(map[string]any{
		"dashboardId": dashboard, "dashboardSecret": secret, "sub": sub,
		"params": map[string]any{"locale": "de-DE", "currency": "EUR"},
	})
	return string(b)
}

// mint returns a new embed token.
func (a *api) mint(ctx context.Context, dashboard, secret, sub string) (string, error) {
	code, b, err := a.do(ctx, http.MethodPost, "/api/v1/token",
		map[string]string{"Content-Type": "application/json"}, mintBody(dashboard, secret, sub))
	if err != nil {
		return "", fmt.Errorf("mint: %w", err)
	}
	if code != http.StatusOK {
		return "", fmt.Errorf("mint: status %d: %s", code, b)
	}
	var out struct {
		AccessToken string `json:"accessToken"`
	}
	if err := json.Unmarshal(b, &out); err != nil || out.AccessToken == "" {
		return "", fmt.Errorf("mint: no accessToken in %s", b)
	}
	return out.AccessToken, nil
}

// mintMany mints n tokens with a few concurrent workers; sub is user-<i>.
func (a *api) mintMany(ctx context.Context, dashboard, secret string, n int) ([]string, error) {
	toks := make([]string, n)
	var next atomic.Int64
	var mu sync.Mutex
	var firstErr error
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= n || ctx.Err() != nil {
					return
				}
				t, err := a.mint(ctx, dashboard, secret, fmt.Sprintf("user-%d", i))
				if err != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = err
					}
					mu.Unlock()
					next.Store(int64(n)) // stop the others
					return
				}
				toks[i] = t
			}
		})
	}
	wg.Wait()
	if firstErr != nil {
		return nil, firstErr
	}
	return toks, ctx.Err()
}

// invalidate revokes tok (POST /api/v1/invalidate-token, expects 204).
func (a *api) invalidate(ctx context.Context, tok string) error {
	code, b, err := a.do(ctx, http.MethodPost, "/api/v1/invalidate-token", map[string]string{"Authorization": "Bearer " + tok}, "")
	if err != nil {
		return fmt.Errorf("invalidate: %w", err)
	}
	if code != http.StatusNoContent {
		return fmt.Errorf("invalidate: status %d: %s", code, b)
	}
	return nil
}

// verify returns the status of GET /api/v1/verify for tok.
func (a *api) verify(ctx context.Context, tok string) (int, error) {
	code, _, err := a.do(ctx, http.MethodGet, "/api/v1/verify", map[string]string{"Authorization": "Bearer " + tok}, "")
	return code, err
}

// verifyAnswer writes to file the answer verify gives for tok with the
// gateway's forwarded headers fwd ("Name: value" lines, a blank line, the
// body; Date and Content-Length left to net/http), which the noop-answer
// row serves.
func (a *api) verifyAnswer(ctx context.Context, tok string, fwd map[string]string, file string) error {
	hdr := map[string]string{"Authorization": "Bearer " + tok}
	for k, v := range fwd {
		hdr[k] = v
	}
	code, h, body, err := a.doFull(ctx, http.MethodGet, "/api/v1/verify", hdr, "")
	if err != nil {
		return err
	}
	if code != http.StatusOK {
		return fmt.Errorf("verify: status %d", code)
	}
	var b strings.Builder
	for _, k := range slices.Sorted(maps.Keys(h)) {
		if k == "Date" || k == "Content-Length" {
			continue
		}
		for _, v := range h[k] {
			fmt.Fprintf(&b, "%s: %s\n", k, v)
		}
	}
	b.WriteString("\n")
	b.Write(body)
	return os.WriteFile(file, []byte(b.String()), 0o600)
}

// expectVerify checks that verify answers want for tok.
func (a *api) expectVerify(ctx context.Context, tok string, want int) error {
	code, err := a.verify(ctx, tok)
	if err != nil {
		return err
	}
	if code != want {
		return fmt.Errorf("verify on %s: status %d, want %d", a.base, code, want)
	}
	return nil
}

func basicAuth(user, pass string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+pass))
}

// tokenID returns the jti of a JWT without verifying it.
func tokenID(tok string) (string, error) {
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		return "", errors.New("not a JWT")
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return "", err
	}
	var c struct {
		ID string `json:"jti"`
	}
	if err := json.Unmarshal(b, &c); err != nil || c.ID == "" {
		return "", fmt.Errorf("no jti in token payload")
	}
	return c.ID, nil
}
