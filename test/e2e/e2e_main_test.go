package e2e_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/sigil-dev/sigil/test/openapicheck"
	"github.com/sigil-dev/sigil/test/testproc"
)

const (
	e2eStartTimeout = 20 * time.Second
	e2eStopTimeout  = 10 * time.Second
)

// e2eBin is the sigil binary that TestMain builds once for every test.
var e2eBin string

// TestMain builds cmd/sigil once into a temporary directory, runs the tests
// against it and removes it afterwards.
func TestMain(m *testing.M) {
	os.Exit(e2eMain(m))
}

func e2eMain(m *testing.M) int {
	gomod, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e: go env GOMOD:", err)
		return 1
	}
	root := filepath.Dir(strings.TrimSpace(string(gomod)))
	dir, err := os.MkdirTemp("", "sigil-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e: temp dir:", err)
		return 1
	}
	defer os.RemoveAll(dir)
	e2eBin = filepath.Join(dir, "sigil")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	build := exec.CommandContext(ctx, "go", "build", "-o", e2eBin, "./cmd/sigil")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "e2e: go build ./cmd/sigil in %s: %v\n%s", root, err, out)
		return 1
	}
	return m.Run()
}

// e2eBinary returns the binary built by TestMain.
func e2eBinary(t testing.TB) string {
	t.Helper()
	if e2eBin == "" {
		t.Fatal("no sigil binary: TestMain did not build one")
	}
	return e2eBin
}

// e2eInstance is one running `sigil serve`.
type e2eInstance struct {
	URL     string
	KeysDir string
	Cmd     *exec.Cmd
	Stdout  *testproc.Buffer
	Stderr  *testproc.Buffer

	done     chan struct{}
	waitErr  error
	stopOnce sync.Once
}

// e2eBaseEnv is the minimal environment of every sigil process.
func e2eBaseEnv() []string {
	return []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME")}
}

var e2eListenRE = regexp.MustCompile(`sigil listening on (http://\S+)`)

// e2eStart runs `sigil serve` with a minimal environment, SIGIL_ADDR=127.0.0.1:0,
// a fresh keys dir (unless env sets SIGIL_KEYS_DIR) and env; it waits for the
// listening line and stops the process when the test ends.
func e2eStart(t testing.TB, env map[string]string, args ...string) *e2eInstance {
	t.Helper()
	vars := map[string]string{"SIGIL_ADDR": "127.0.0.1:0"}
	if _, ok := env["SIGIL_KEYS_DIR"]; !ok {
		vars["SIGIL_KEYS_DIR"] = t.TempDir()
	}
	for k, v := range env {
		vars[k] = v
	}
	cmd := exec.Command(e2eBinary(t), append([]string{"serve"}, args...)...)
	cmd.Env = e2eBaseEnv()
	for k, v := range vars {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	inst := &e2eInstance{KeysDir: vars["SIGIL_KEYS_DIR"], Cmd: cmd, Stdout: &testproc.Buffer{}, Stderr: &testproc.Buffer{}, done: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = inst.Stdout, inst.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("start sigil: %v", err)
	}
	go func() {
		inst.waitErr = cmd.Wait()
		close(inst.done)
	}()
	t.Cleanup(func() {
		inst.Stop(t)
		if t.Failed() {
			t.Logf("sigil %s stdout:\n%s\nstderr:\n%s", inst.URL, inst.Stdout, inst.Stderr)
		}
	})

	deadline := time.Now().Add(e2eStartTimeout)
	for {
		if m := e2eListenRE.FindStringSubmatch(inst.Stdout.String()); m != nil {
			inst.URL = m[1]
			return inst
		}
		select {
		case <-inst.done:
			t.Fatalf("sigil exited before listening (%v); stderr:\n%s", inst.waitErr, inst.Stderr)
		case <-time.After(10 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("sigil did not print its listening line within %s; stderr:\n%s", e2eStartTimeout, inst.Stderr)
		}
	}
}

// Stop sends SIGTERM, waits up to e2eStopTimeout, then kills. It is idempotent.
func (inst *e2eInstance) Stop(t testing.TB) {
	t.Helper()
	inst.stopOnce.Do(func() {
		_ = inst.Cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-inst.done:
		case <-time.After(e2eStopTimeout):
			t.Errorf("sigil did not stop within %s of SIGTERM; killing it", e2eStopTimeout)
			_ = inst.Cmd.Process.Kill()
			<-inst.done
		}
	})
}

// WaitStdout waits (bounded) until stdout matches re and returns the submatches.
func (inst *e2eInstance) WaitStdout(t testing.TB, re *regexp.Regexp) []string {
	t.Helper()
	var m []string
	e2eEventually(t, 5*time.Second, "stdout to match "+re.String(), func() bool {
		m = re.FindStringSubmatch(inst.Stdout.String())
		return m != nil
	})
	return m
}

var e2eAdminRE = regexp.MustCompile(`admin:\s+client id "admin", secret (\S+)`)

// AdminSecret parses the generated admin secret from the dev-mode banner.
func (inst *e2eInstance) AdminSecret(t testing.TB) string {
	t.Helper()
	return inst.WaitStdout(t, e2eAdminRE)[1]
}

// e2eEventually polls cond every 20ms until it holds or timeout passes (then fails).
func e2eEventually(t testing.TB, timeout time.Duration, what string, cond func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	for {
		if cond() {
			return time.Since(start)
		}
		if time.Since(start) > timeout {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// e2eResponse is a fully read HTTP answer.
type e2eResponse struct {
	Status int
	Header http.Header
	Body   string
}

// e2eClient checks every request it sends and every response it receives
// against the OpenAPI document (a mismatch fails the call), so the
// document cannot drift from the code.
var e2eClient = &http.Client{Timeout: 10 * time.Second, Transport: openapicheck.MustNew().Transport(nil)}

// e2eDo sends one request; body is sent as JSON when non-empty; hdr holds
// extra headers ("Authorization" etc.).
func e2eDo(t testing.TB, method, url, body string, hdr map[string]string) e2eResponse {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(context.Background(), method, url, rd)
	if err != nil {
		t.Fatalf("request %s %s: %v", method, url, err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := e2eClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: read body: %v", method, url, err)
	}
	return e2eResponse{Status: resp.StatusCode, Header: resp.Header, Body: string(b)}
}

func e2eBearer(tok string) map[string]string {
	return map[string]string{"Authorization": "Bearer " + tok}
}

// e2eBasic is the HTTP Basic Authorization header of client id.
func e2eBasic(id, secret string) map[string]string {
	return map[string]string{"Authorization": "Basic " + base64.StdEncoding.EncodeToString([]byte(id+":"+secret))}
}

// e2eCreateClient creates a dashboard client id with resource dashboard:id as
// admin and returns its secret.
func e2eCreateClient(t testing.TB, base, adminSecret, id string) string {
	t.Helper()
	r := e2eDo(t, http.MethodPost, base+"/api/clients",
		fmt.Sprintf(`{"id":%q,"resources":["dashboard:%s"]}`, id, id), e2eBasic("admin", adminSecret))
	var out struct {
		Secret string `json:"secret"`
	}
	if r.Status != http.StatusCreated {
		t.Fatalf("create client %s: status %d: %s", id, r.Status, r.Body)
	}
	if err := json.Unmarshal([]byte(r.Body), &out); err != nil || out.Secret == "" {
		t.Fatalf("create client %s: no secret in %s (%v)", id, r.Body, err)
	}
	return out.Secret
}

// e2eMint mints an embed token for dashboard id and returns it.
func e2eMint(t testing.TB, base, id, secret string) string {
	t.Helper()
	r := e2eDo(t, http.MethodPost, base+"/api/v1/token",
		fmt.Sprintf(`{"dashboardId":%q,"dashboardSecret":%q}`, id, secret), nil)
	if r.Status != http.StatusOK {
		t.Fatalf("mint for %s: status %d: %s", id, r.Status, r.Body)
	}
	var out struct {
		AccessToken string `json:"accessToken"`
	}
	if err := json.Unmarshal([]byte(r.Body), &out); err != nil || out.AccessToken == "" {
		t.Fatalf("mint for %s: no accessToken in %s (%v)", id, r.Body, err)
	}
	return out.AccessToken
}

// e2eVerify returns the status of GET /api/v1/verify with tok as Bearer.
func e2eVerify(t testing.TB, base, tok string) int {
	t.Helper()
	return e2eDo(t, http.MethodGet, base+"/api/v1/verify", "", e2eBearer(tok)).Status
}

// e2eInvalidate returns the answer of POST /api/v1/invalidate-token with tok as Bearer.
func e2eInvalidate(t testing.TB, base, tok string) e2eResponse {
	t.Helper()
	return e2eDo(t, http.MethodPost, base+"/api/v1/invalidate-token", "", e2eBearer(tok))
}

// e2eWantStatus fails the test unless got == want.
func e2eWantStatus(t testing.TB, what string, got, want int) {
	t.Helper()
	if got != want {
		t.Fatalf("%s: status %d, want %d", what, got, want)
	}
}

// e2eRun runs the sigil binary to completion (bounded 10s) with the minimal
// environment plus env, and returns its exit code and output.
func e2eRun(t testing.TB, env map[string]string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, e2eBinary(t), args...)
	cmd.Env = e2eBaseEnv()
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("sigil %v did not exit within 10s; stderr:\n%s", args, errb.String())
	}
	if err != nil {
		ee, ok := err.(*exec.ExitError)
		if !ok {
			t.Fatalf("run sigil %v: %v", args, err)
		}
		code = ee.ExitCode()
	}
	return code, out.String(), errb.String()
}

// e2eGenerateKey runs `sigil keys generate --alg alg --dir dir` and returns
// the written path and kid.
func e2eGenerateKey(t testing.TB, alg, dir string) (path, kid string) {
	t.Helper()
	code, out, errOut := e2eRun(t, nil, "keys", "generate", "--alg", alg, "--dir", dir)
	if code != 0 {
		t.Fatalf("keys generate --alg %s: exit %d: %s", alg, code, errOut)
	}
	m := regexp.MustCompile(`(?m)^wrote (\S+)$`).FindStringSubmatch(out)
	k := regexp.MustCompile(`(?m)^kid (\S+)$`).FindStringSubmatch(out)
	if m == nil || k == nil {
		t.Fatalf("keys generate printed no path or kid:\n%s", out)
	}
	return m[1], k[1]
}

// e2eJWTHeader decodes a compact JWT's header (no verification).
func e2eJWTHeader(t testing.TB, tok string) map[string]any {
	t.Helper()
	seg, _, _ := strings.Cut(tok, ".")
	raw, err := e2eB64(seg)
	if err != nil {
		t.Fatalf("token header: %v", err)
	}
	var h map[string]any
	if err := json.Unmarshal(raw, &h); err != nil {
		t.Fatalf("token header: %v", err)
	}
	return h
}

// e2eB64 decodes unpadded base64url.
func e2eB64(s string) ([]byte, error) { return base64.RawURLEncoding.DecodeString(s) }
