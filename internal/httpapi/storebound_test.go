package httpapi_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/sigil-dev/sigil/internal/clients"
	"github.com/sigil-dev/sigil/internal/config"
	"github.com/sigil-dev/sigil/internal/httpapi"
	"github.com/sigil-dev/sigil/internal/revocation"
	"github.com/sigil-dev/sigil/internal/store/memory"
	"github.com/sigil-dev/sigil/test/apiserver"
	"github.com/sigil-dev/sigil/test/redisserver"
)

// storeCall is what a store saw of the context of one call.
type storeCall struct {
	deadline time.Time
	hasDL    bool
	err      error // after waiting on Done (nil for calls that did not wait)
	cause    error
}

// boundProbeStore is a memory store that records the context of every
// denylist read (answering from memory without waiting, as the replica
// does) and whose denylist writes wait on Done (a paused Redis).
type boundProbeStore struct {
	*memory.Store
	mu    sync.Mutex
	reads []storeCall
	waits []storeCall
}

func (s *boundProbeStore) IsDenied(ctx context.Context, ids ...string) (bool, error) {
	d, ok := ctx.Deadline()
	s.mu.Lock()
	s.reads = append(s.reads, storeCall{deadline: d, hasDL: ok})
	s.mu.Unlock()
	return s.Store.IsDenied(ctx, ids...)
}

func (s *boundProbeStore) wait(ctx context.Context) error {
	d, ok := ctx.Deadline()
	<-ctx.Done()
	s.mu.Lock()
	s.waits = append(s.waits, storeCall{deadline: d, hasDL: ok, err: ctx.Err(), cause: context.Cause(ctx)})
	s.mu.Unlock()
	return fmt.Errorf("redis: i/o timeout: %w: %w", revocation.ErrUnavailable, ctx.Err())
}

func (s *boundProbeStore) Deny(ctx context.Context, _ string, _ time.Time) error { return s.wait(ctx) }

func (s *boundProbeStore) DenyOnce(ctx context.Context, _ string, _ time.Time) (bool, error) {
	return false, s.wait(ctx)
}

// TestStoreBound_DeadlineAndWait: the store-time bound is armed only when
// a store waits, yet every store call sees the same deadline as before
// (StoreTimeout after the request started, which go-redis turns into
// socket deadlines): a denylist read that never waits carries it, and a
// write that waits on Done ends at it with DeadlineExceeded (as its cause
// too) and the request answers 503 + Retry-After.
func TestStoreBound_DeadlineAndWait(t *testing.T) {
	const timeout = 50 * time.Millisecond
	f, probe := newBoundProbeAPI(t, func(cfg *httpapi.Config) { cfg.StoreTimeout, cfg.VerifyNeverWaits = timeout, false })
	tok := f.mint(nil).AccessToken

	before := time.Now()
	require.Equal(t, http.StatusOK, f.verify(tok).Code)
	after := time.Now()
	probe.mu.Lock()
	require.NotEmpty(t, probe.reads)
	read := probe.reads[len(probe.reads)-1]
	probe.mu.Unlock()
	require.True(t, read.hasDL, "a store that never waits still sees the deadline")
	require.False(t, read.deadline.Before(before.Add(timeout)), "deadline %s, request started after %s", read.deadline, before)
	require.False(t, read.deadline.After(after.Add(timeout)), "deadline %s, request ended at %s", read.deadline, after)

	before = time.Now()
	rec := f.bearer(http.MethodPost, "/api/v1/invalidate-token", tok)
	after = time.Now()
	f.expectServerError(rec)
	requireError(t, rec, http.StatusServiceUnavailable, "unavailable", "")
	require.NotEmpty(t, rec.Header().Get("Retry-After"))
	probe.mu.Lock()
	require.Len(t, probe.waits, 1)
	w := probe.waits[0]
	probe.mu.Unlock()
	require.True(t, w.hasDL)
	require.False(t, w.deadline.Before(before.Add(timeout)))
	require.False(t, w.deadline.After(after.Add(timeout)))
	require.ErrorIs(t, w.err, context.DeadlineExceeded, "the wait ended at the deadline, not by the request ending")
	require.Equal(t, context.DeadlineExceeded, w.cause)
}

// slowBody hands out its text in chunks, sleeping before each: a client
// trickling its body (slowloris). done is when it returned EOF.
type slowBody struct {
	chunks []string
	pause  time.Duration
	done   time.Time
}

func (b *slowBody) Read(p []byte) (int, error) {
	if len(b.chunks) == 0 {
		if b.done.IsZero() {
			b.done = time.Now()
		}
		return 0, io.EOF
	}
	time.Sleep(b.pause)
	n := copy(p, b.chunks[0])
	b.chunks[0] = b.chunks[0][n:]
	if b.chunks[0] == "" {
		b.chunks = b.chunks[1:]
	}
	return n, nil
}

// TestStoreBound_SlowBody: the bound runs from the request's start, not
// from the first store call: a client trickling its revoke body for three
// times the store timeout cannot buy its store write more time. The
// deadline the store sees is already behind when the body has been read,
// the write ends at once with DeadlineExceeded and the answer is 503 +
// Retry-After (as with WithTimeout's timer, which would have fired while
// the body was being read).
func TestStoreBound_SlowBody(t *testing.T) {
	const timeout = 50 * time.Millisecond
	f, probe := newBoundProbeAPI(t, func(cfg *httpapi.Config) { cfg.StoreTimeout = timeout })
	tok := f.mint(nil).AccessToken
	form := url.Values{"token": {tok}}.Encode()
	third := len(form) / 3
	body := &slowBody{chunks: []string{form[:third], form[third : 2*third], form[2*third:]}, pause: timeout}
	req := httptest.NewRequest(http.MethodPost, "/api/v1/revoke", body)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(dashID, f.dashSecret)
	rec := f.serve(req)
	f.expectServerError(rec)
	requireError(t, rec, http.StatusServiceUnavailable, "unavailable", "")
	require.NotEmpty(t, rec.Header().Get("Retry-After"))
	probe.mu.Lock()
	defer probe.mu.Unlock()
	require.Len(t, probe.waits, 1)
	w := probe.waits[0]
	require.False(t, body.done.IsZero(), "the body was read to its end")
	require.True(t, w.deadline.Before(body.done), "deadline %s is behind when the body ended (%s)", w.deadline, body.done)
	require.ErrorIs(t, w.err, context.DeadlineExceeded)
	require.Equal(t, context.DeadlineExceeded, w.cause)
}

// TestStoreBound_PausedRedis: with a real redis-server stopped (SIGSTOP)
// and go-redis's own read and write timeouts off (read_timeout=-1), only
// the request's deadline ends a store call: invalidate and verify (direct
// mode) answer 503 + Retry-After instead of hanging until Redis comes
// back, and work again once it does. Before the pause, many requests
// (each arming the bound: go-redis polls Done) leave no goroutine behind.
func TestStoreBound_PausedRedis(t *testing.T) {
	rs := redisserver.Start(t)
	srv := apiserver.Start(t, apiserver.WithConfig(func(c *config.Config) {
		c.Redis.URL = rs.URL() + "?read_timeout=-1&write_timeout=-1"
		c.Revocation.Mode = "direct"
		c.HTTP.StoreTimeout = 300 * time.Millisecond
	}))
	// A guard only: a request the bound fails to end runs into it.
	hc := &http.Client{Timeout: 20 * time.Second}
	do := func(method, path, body string, header ...string) (int, http.Header, string) {
		t.Helper()
		req, err := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
		require.NoError(t, err)
		for i := 0; i+1 < len(header); i += 2 {
			req.Header.Set(header[i], header[i+1])
		}
		resp, err := hc.Do(req)
		require.NoError(t, err, "%s %s", method, path)
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		return resp.StatusCode, resp.Header, string(b)
	}
	admin := "Basic " + basicAuth(clients.AdminID, srv.AdminSecret)
	status, _, body := do(http.MethodPost, "/api/clients", `{"id":"sales","resources":["dashboard:sales"]}`,
		"Authorization", admin, "Content-Type", "application/json")
	require.Equal(t, http.StatusCreated, status, body)
	var created struct{ Secret string }
	require.NoError(t, json.Unmarshal([]byte(body), &created))
	mint := func() string {
		t.Helper()
		status, _, body := do(http.MethodPost, "/api/v1/token",
			fmt.Sprintf(`{"dashboardId":"sales","dashboardSecret":%q}`, created.Secret), "Content-Type", "application/json")
		require.Equal(t, http.StatusOK, status, body)
		var tr struct {
			AccessToken string `json:"accessToken"`
		}
		require.NoError(t, json.Unmarshal([]byte(body), &tr))
		require.NotEmpty(t, tr.AccessToken, body)
		return tr.AccessToken
	}
	tok, victim := mint(), mint()
	verify := func(tok string) (int, http.Header) {
		status, h, _ := do(http.MethodGet, "/api/v1/verify", "", "Authorization", "Bearer "+tok)
		return status, h
	}
	introspect := func(tok string) int {
		status, _, _ := do(http.MethodPost, "/api/v1/introspect", url.Values{"token": {tok}}.Encode(),
			"Authorization", "Basic "+basicAuth("sales", created.Secret), "Content-Type", "application/x-www-form-urlencoded")
		return status
	}
	status, _ = verify(tok)
	require.Equal(t, http.StatusOK, status)
	require.Equal(t, http.StatusOK, introspect(tok))

	// No goroutine per request: the armed bound registers in net/http's
	// request context and is released with the request.
	before := runtime.NumGoroutine()
	for range 100 {
		status, _ = verify(tok)
		require.Equal(t, http.StatusOK, status)
		require.Equal(t, http.StatusOK, introspect(tok))
	}
	require.Less(t, runtime.NumGoroutine(), before+20, "goroutines after 200 requests (%d before)", before)

	require.NoError(t, syscall.Kill(rs.PID(), syscall.SIGSTOP))
	resumed := false
	resume := func() {
		if !resumed {
			resumed = true
			_ = syscall.Kill(rs.PID(), syscall.SIGCONT)
		}
	}
	t.Cleanup(resume)

	status, h, body := do(http.MethodPost, "/api/v1/invalidate-token", "", "Authorization", "Bearer "+victim)
	require.Equal(t, http.StatusServiceUnavailable, status, body)
	require.NotEmpty(t, h.Get("Retry-After"))
	require.Contains(t, body, `"unavailable"`)
	status, h = verify(tok)
	require.Equal(t, http.StatusServiceUnavailable, status, "verify waits on the denylist in direct mode")
	require.NotEmpty(t, h.Get("Retry-After"))

	resume()
	require.Eventually(t, func() bool {
		status, _, _ := do(http.MethodPost, "/api/v1/invalidate-token", "", "Authorization", "Bearer "+victim)
		return status == http.StatusNoContent
	}, 10*time.Second, 20*time.Millisecond, "invalidate works again once Redis is back")
	status, _ = verify(victim)
	require.Equal(t, http.StatusUnauthorized, status, "the revocation holds")
	status, _ = verify(tok)
	require.Equal(t, http.StatusOK, status)
}

func basicAuth(id, secret string) string {
	return base64.StdEncoding.EncodeToString([]byte(id + ":" + secret))
}

// newBoundProbeAPI is a server on the memory store behind a
// boundProbeStore, with tweak applied to its config.
func newBoundProbeAPI(t *testing.T, tweak func(*httpapi.Config)) (*fixture, *boundProbeStore) {
	t.Helper()
	var probe *boundProbeStore
	f := newAPI(t, withStore(func(m *memory.Store) apiStore {
		probe = &boundProbeStore{Store: m}
		return probe
	}), func(f *fixture) { f.tweak = tweak })
	return f, probe
}
