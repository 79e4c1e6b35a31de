package e2e_test

import (
	"bufio"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/sigil-dev/sigil/test/redisserver"
)

// shutdownLoad counts what the load of TestE2E_GracefulShutdown got back.
type shutdownLoad struct {
	verified   atomic.Int64 // 200s of the registered token's verification
	minted     atomic.Int64 // 200s of mint
	transport  atomic.Int64 // requests that got no answer (refused, reset)
	mu         sync.Mutex
	errs       map[string]int // transport errors by kind
	bad        []string       // answers other than the expected success
	invalidate []string       // tokens whose invalidation was acknowledged (204)
}

func (l *shutdownLoad) transportErr(err error) {
	l.transport.Add(1)
	kind := "other"
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		kind = "refused"
	case errors.Is(err, syscall.ECONNRESET):
		kind = "reset"
	case errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF):
		kind = "eof"
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.errs == nil {
		l.errs = map[string]int{}
	}
	l.errs[kind]++
}

func (l *shutdownLoad) fail(format string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.bad = append(l.bad, fmt.Sprintf(format, args...))
}

// TestE2E_GracefulShutdown puts the built binary (on a real Redis) under
// load — verifications of a registered token, which each add an
// AUTHENTICATE event to the usage recorder, and mint + invalidate pairs —
// then sends SIGTERM while the load runs. Every request the server answers
// must be a success: none fails because of the shutdown; requests it did
// not take are refused at the door. The process exits 0. After a restart
// on the same Redis the token's log holds exactly one AUTHENTICATE event
// per 200 the load got (less any the recorder reported dropped, with none
// lost to the store): an in-flight verification cut off after the server
// recorded it would show as an extra event, a lost event as a missing
// one. Every invalidation acknowledged with 204 is still honoured.
func TestE2E_GracefulShutdown(t *testing.T) {
	srv := redisserver.Start(t)
	keysDir := t.TempDir()
	env := e2eRedisEnv(srv.URL(), keysDir, nil)
	a := e2eStart(t, env)
	secret := e2eCreateClient(t, a.URL, e2eAdminSecret, "sales")
	tid, regTok := e2eReportToken(t, a.URL, "shutdown", true)

	// Before the load: a known number of verifications, all answered.
	const before = 50
	for i := 0; i < before; i++ {
		e2eWantStatus(t, "verify before SIGTERM", e2eVerify(t, a.URL, regTok), http.StatusOK)
	}

	var load shutdownLoad
	load.verified.Add(before)
	// Fresh connections for each request: one the listener no longer takes
	// is refused, never half-served.
	client := &http.Client{Timeout: 20 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var wg sync.WaitGroup
	var started sync.WaitGroup
	const verifiers, minters = 6, 2
	started.Add(verifiers + minters)
	for w := 0; w < verifiers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			first := true
			for ctx.Err() == nil {
				status, _, err := shutdownDo(ctx, client, http.MethodGet, a.URL+"/api/v1/verify", "", regTok)
				if first {
					started.Done()
					first = false
				}
				switch {
				case err != nil:
					load.transportErr(err)
					if errors.Is(err, syscall.ECONNREFUSED) {
						return // the server is gone
					}
				case status == http.StatusOK:
					load.verified.Add(1)
				default:
					load.fail("verify: status %d", status)
				}
			}
		}()
	}
	for w := 0; w < minters; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			first := true
			for ctx.Err() == nil {
				status, body, err := shutdownDo(ctx, client, http.MethodPost, a.URL+"/api/v1/token",
					fmt.Sprintf(`{"dashboardId":"sales","dashboardSecret":%q}`, secret), "")
				if first {
					started.Done()
					first = false
				}
				if err != nil {
					load.transportErr(err)
					if errors.Is(err, syscall.ECONNREFUSED) {
						return
					}
					continue
				}
				if status != http.StatusOK {
					load.fail("mint: status %d", status)
					continue
				}
				load.minted.Add(1)
				var tr struct {
					AccessToken string `json:"accessToken"`
				}
				if json.Unmarshal([]byte(body), &tr) != nil || tr.AccessToken == "" {
					load.fail("mint: no token in %q", body)
					continue
				}
				status, _, err = shutdownDo(ctx, client, http.MethodPost, a.URL+"/api/v1/invalidate-token", "", tr.AccessToken)
				switch {
				case err != nil:
					load.transportErr(err)
					if errors.Is(err, syscall.ECONNREFUSED) {
						return
					}
				case status == http.StatusNoContent:
					load.mu.Lock()
					load.invalidate = append(load.invalidate, tr.AccessToken)
					load.mu.Unlock()
				default:
					load.fail("invalidate: status %d", status)
				}
			}
		}()
	}
	started.Wait() // every worker has had an answer: the load is running
	const during = 600
	e2eEventually(t, 60*time.Second, "the load to get going", func() bool {
		return load.verified.Load() >= before+during && load.minted.Load() >= 10
	})

	// Requests in flight across the signal: each sends its headers with
	// Expect: 100-continue and waits for the 100 Continue that net/http
	// sends when the handler starts reading the body — so the handler is
	// running — and sends the body only once the server no longer takes
	// connections. The introspection uses the registered token, so it
	// adds an AUTHENTICATE event. (A request whose headers are incomplete
	// when shutdown begins is not in flight: net/http reads it and hangs up
	// unanswered, so nothing of it is done.)
	basic := "Basic " + base64.StdEncoding.EncodeToString([]byte("admin:"+e2eAdminSecret))
	partial := []*halfRequest{
		startHalfRequest(t, a.URL, "POST /api/v1/token", "application/json", "",
			fmt.Sprintf(`{"dashboardId":"sales","dashboardSecret":%q}`, secret)),
		startHalfRequest(t, a.URL, "POST /api/v1/introspect", "application/x-www-form-urlencoded", basic, "token="+regTok),
	}

	if err := a.Cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatalf("SIGTERM: %v", err)
	}
	e2eEventually(t, e2eStopTimeout, "the listener to close", func() bool {
		c, err := net.Dial("tcp", strings.TrimPrefix(a.URL, "http://"))
		if err == nil {
			c.Close()
			return false
		}
		return errors.Is(err, syscall.ECONNREFUSED)
	})
	for i, h := range partial {
		status := h.finish(t)
		if status != http.StatusOK {
			t.Errorf("in-flight request %d across SIGTERM: status %d, want 200", i, status)
		}
		if i == 1 {
			load.verified.Add(1)
		}
	}
	select {
	case <-a.done:
	case <-time.After(e2eStopTimeout):
		t.Fatalf("sigil did not exit within %s of SIGTERM", e2eStopTimeout)
	}
	wg.Wait() // each worker stops at its first refused connection
	if code := a.Cmd.ProcessState.ExitCode(); code != 0 {
		t.Fatalf("sigil exited %d after SIGTERM", code)
	}
	for _, b := range load.bad {
		t.Errorf("an answered request failed: %s", b)
	}

	dropped, lost := recorderFigures(t, a.Stderr.String())
	if lost != 0 {
		t.Fatalf("%d usage events lost to store errors", lost)
	}
	if !strings.Contains(a.Stderr.String(), `"msg":"stopped"`) {
		t.Fatalf("sigil did not log a clean stop:\n%s", a.Stderr)
	}

	b := e2eStart(t, env)
	events := e2eAuthenticateEvents(t, b.URL, tid)
	verified := load.verified.Load()
	t.Logf("verifications answered 200: %d (%d during the load), AUTHENTICATE events persisted: %d, dropped: %d; "+
		"mints: %d, acknowledged invalidations: %d; requests not taken at shutdown: %d %v",
		verified, verified-before, events, dropped, load.minted.Load(), len(load.invalidate), load.transport.Load(), load.errs)
	if events+dropped != verified {
		t.Fatalf("persisted %d + dropped %d AUTHENTICATE events, want %d (one per verification answered 200)", events, dropped, verified)
	}
	for _, tok := range load.invalidate {
		e2eWantStatus(t, "verify of a token invalidated before the restart", e2eVerify(t, b.URL, tok), http.StatusUnauthorized)
	}
}

// shutdownDo sends one request (JSON body if any, Bearer tok if any) and
// returns the status and body, or the transport error.
func shutdownDo(ctx context.Context, client *http.Client, method, url, body, tok string) (int, string, error) {
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, rd)
	if err != nil {
		return 0, "", err
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, "", err
	}
	return resp.StatusCode, string(b), nil
}

// recorderFigures reads the dropped and lost counts of the "usage recorder
// closed" line that sigil logs at shutdown.
func recorderFigures(t testing.TB, stderr string) (dropped, lost int64) {
	t.Helper()
	for _, l := range strings.Split(stderr, "\n") {
		var rec struct {
			Msg     string `json:"msg"`
			Dropped *int64 `json:"dropped"`
			Lost    *int64 `json:"lost"`
		}
		if json.Unmarshal([]byte(l), &rec) == nil && rec.Msg == "usage recorder closed" && rec.Dropped != nil && rec.Lost != nil {
			return *rec.Dropped, *rec.Lost
		}
	}
	t.Fatalf("no \"usage recorder closed\" line in sigil's log:\n%s", stderr)
	return 0, 0
}

// e2eReportToken creates a registered report token (report r1, owner alice)
// as admin and returns its record id and, when generate, its JWT.
func e2eReportToken(t testing.TB, base, name string, generate bool) (id, tok string) {
	t.Helper()
	r := e2eDo(t, http.MethodPost, base+"/api/tokens",
		fmt.Sprintf(`{"type":"report","reportId":"r1","name":%q,"owner":"alice","generate":%t}`, name, generate),
		e2eBasic("admin", e2eAdminSecret))
	var out struct {
		ID    string `json:"id"`
		Token string `json:"token"`
	}
	if r.Status != http.StatusCreated || json.Unmarshal([]byte(r.Body), &out) != nil || out.ID == "" || (generate && out.Token == "") {
		t.Fatalf("create token: status %d: %s", r.Status, r.Body)
	}
	return out.ID, out.Token
}

// e2eAuthenticateEvents counts the AUTHENTICATE OK entries of record id's
// log, following every page.
func e2eAuthenticateEvents(t testing.TB, base, id string) int64 {
	t.Helper()
	var n int64
	cursor := ""
	for {
		u := base + "/api/tokens/" + id + "/logs?limit=" + "200" // registry.MaxLimit
		if cursor != "" {
			u += "&cursor=" + url.QueryEscape(cursor)
		}
		req, err := http.NewRequest(http.MethodGet, u, nil)
		if err != nil {
			t.Fatal(err)
		}
		req.SetBasicAuth("admin", e2eAdminSecret)
		resp, err := e2eClient.Do(req)
		if err != nil {
			t.Fatalf("token logs: %v", err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		var page struct {
			Logs []struct {
				Activity string `json:"activity"`
				Result   string `json:"result"`
			} `json:"logs"`
			NextCursor *string `json:"nextCursor"`
		}
		if resp.StatusCode != http.StatusOK || json.Unmarshal(b, &page) != nil {
			t.Fatalf("token logs: status %d: %s", resp.StatusCode, b)
		}
		for _, l := range page.Logs {
			if l.Activity == "AUTHENTICATE" && l.Result == "OK" {
				n++
			}
		}
		if page.NextCursor == nil {
			return n
		}
		cursor = *page.NextCursor
	}
}

// halfRequest is a raw HTTP request whose handler is running, waiting for
// its body.
type halfRequest struct {
	conn net.Conn
	r    *bufio.Reader
	body string
}

// startHalfRequest sends the headers of "method path" with a body of
// ctype to come, and waits for the server's 100 Continue.
func startHalfRequest(t testing.TB, base, methodPath, ctype, authz, body string) *halfRequest {
	t.Helper()
	conn, err := net.Dial("tcp", strings.TrimPrefix(base, "http://"))
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	t.Cleanup(func() { conn.Close() })
	_ = conn.SetDeadline(time.Now().Add(30 * time.Second))
	head := methodPath + " HTTP/1.1\r\nHost: sigil\r\nContent-Type: " + ctype + "\r\n" +
		fmt.Sprintf("Content-Length: %d\r\nExpect: 100-continue\r\n", len(body))
	if authz != "" {
		head += "Authorization: " + authz + "\r\n"
	}
	if _, err := io.WriteString(conn, head+"\r\n"); err != nil {
		t.Fatalf("write the headers: %v", err)
	}
	r := bufio.NewReader(conn)
	resp, err := http.ReadResponse(r, nil)
	if err != nil {
		t.Fatalf("%s: read the 100 Continue: %v", methodPath, err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusContinue {
		t.Fatalf("%s: status %d before the body, want 100", methodPath, resp.StatusCode)
	}
	return &halfRequest{conn: conn, r: r, body: body}
}

// finish sends the body and returns the final answer's status (0 if there
// was none).
func (h *halfRequest) finish(t testing.TB) int {
	t.Helper()
	if _, err := io.WriteString(h.conn, h.body); err != nil {
		t.Errorf("write the body: %v", err)
		return 0
	}
	resp, err := http.ReadResponse(h.r, nil)
	if err != nil {
		t.Errorf("read the answer: %v", err)
		return 0
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode
}
