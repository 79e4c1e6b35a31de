package e2e_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/sigil-dev/sigil/test/redisserver"
)

const (
	e2ePepper      = "e2e-pepper-0123456789abcdefghijklmnopqrstuvwxyz"
	e2eAdminSecret = "e2e-admin-secret-0123456789abcdef"
)

// e2eWalkthrough returns the shell block between the walkthrough markers of README.md.
func e2eWalkthrough(t testing.TB) string {
	t.Helper()
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		t.Fatalf("go env GOMOD: %v", err)
	}
	readme, err := os.ReadFile(filepath.Join(filepath.Dir(strings.TrimSpace(string(out))), "README.md"))
	if err != nil {
		t.Fatalf("read README.md: %v", err)
	}
	m := regexp.MustCompile("(?s)<!-- walkthrough:begin -->\\s*```sh\\n(.*?)```\\s*<!-- walkthrough:end -->").FindSubmatch(readme)
	if m == nil {
		t.Fatal("README.md has no ```sh block between <!-- walkthrough:begin --> and <!-- walkthrough:end -->")
	}
	return string(m[1])
}

func TestE2E_READMEWalkthrough(t *testing.T) {
	block := e2eWalkthrough(t)
	inst := e2eStart(t, nil)
	admin := inst.AdminSecret(t)

	const local = "SIGIL=http://127.0.0.1:8080"
	lines := strings.Split(block, "\n")
	replaced := false
	for i, l := range lines {
		if strings.TrimSpace(l) == local {
			lines[i], replaced = "SIGIL="+inst.URL, true
		}
	}
	if !replaced {
		t.Fatalf("walkthrough has no %q line:\n%s", local, block)
	}
	script := strings.Join(lines, "\n")

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", "-euo", "pipefail", "-c", script)
	cmd.Env = append(e2eBaseEnv(), "ADMIN="+admin)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("walkthrough failed: %v\noutput:\n%s", err, out)
	}
	want := []string{"verify: 200", "invalidate: 204", "verify: 401"}
	var got []string
	for _, l := range strings.Split(string(out), "\n") {
		if l = strings.TrimSpace(l); strings.HasPrefix(l, "verify:") || strings.HasPrefix(l, "invalidate:") {
			got = append(got, l)
		}
	}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("walkthrough printed %q, want %q; output:\n%s", got, want, out)
	}

	pems, _ := filepath.Glob(filepath.Join(inst.KeysDir, "*.pem"))
	if len(pems) != 1 {
		t.Fatalf("keys dir holds %d pem files, want the one dev key: %v", len(pems), pems)
	}
	fi, err := os.Stat(pems[0])
	if err != nil {
		t.Fatal(err)
	}
	if mode := fi.Mode().Perm(); mode != 0o600 {
		t.Errorf("dev key %s has mode %o, want 600", pems[0], mode)
	}
}

// e2eRedisEnv is the environment of a sigil on redisURL sharing keysDir.
func e2eRedisEnv(redisURL, keysDir string, extra map[string]string) map[string]string {
	env := map[string]string{
		"SIGIL_REDIS_URL":    redisURL,
		"SIGIL_PEPPER":       e2ePepper,
		"SIGIL_ADMIN_SECRET": e2eAdminSecret,
		"SIGIL_KEYS_DIR":     keysDir,
	}
	for k, v := range extra {
		env[k] = v
	}
	return env
}

func TestE2E_RedisFlow(t *testing.T) {
	srv := redisserver.Start(t)
	keysDir := t.TempDir()
	env := e2eRedisEnv(srv.URL(), keysDir, nil)

	a := e2eStart(t, env)
	secret := e2eCreateClient(t, a.URL, e2eAdminSecret, "sales")
	tok := e2eMint(t, a.URL, "sales", secret)
	e2eWantStatus(t, "verify", e2eVerify(t, a.URL, tok), http.StatusOK)
	e2eWantStatus(t, "invalidate", e2eInvalidate(t, a.URL, tok).Status, http.StatusNoContent)
	e2eWantStatus(t, "verify after invalidate", e2eVerify(t, a.URL, tok), http.StatusUnauthorized)

	a.Stop(t)
	b := e2eStart(t, env)
	e2eWantStatus(t, "verify of the revoked token after restart", e2eVerify(t, b.URL, tok), http.StatusUnauthorized)
	tok2 := e2eMint(t, b.URL, "sales", secret) // the client secret still verifies (pepper + Redis)
	e2eWantStatus(t, "verify of a token minted after restart", e2eVerify(t, b.URL, tok2), http.StatusOK)
}

func TestE2E_TwoInstances(t *testing.T) {
	srv := redisserver.Start(t)
	env := e2eRedisEnv(srv.URL(), t.TempDir(), nil)
	a := e2eStart(t, env)
	b := e2eStart(t, env)

	secret := e2eCreateClient(t, a.URL, e2eAdminSecret, "sales")
	tok := e2eMint(t, a.URL, "sales", secret)
	e2eWantStatus(t, "verify on B", e2eVerify(t, b.URL, tok), http.StatusOK)
	e2eWantStatus(t, "invalidate on A", e2eInvalidate(t, a.URL, tok).Status, http.StatusNoContent)
	delay := e2eEventually(t, 2*time.Second, "B to reject the token revoked on A", func() bool {
		return e2eVerify(t, b.URL, tok) == http.StatusUnauthorized
	})
	t.Logf("revocation on A honoured by B after %s", delay)
}

func TestE2E_RedisDown(t *testing.T) {
	srv := redisserver.Start(t)
	inst := e2eStart(t, e2eRedisEnv(srv.URL(), t.TempDir(), map[string]string{
		"SIGIL_REVOCATION_MAX_STALENESS": "3s",
	}))
	secret := e2eCreateClient(t, inst.URL, e2eAdminSecret, "sales")
	tok := e2eMint(t, inst.URL, "sales", secret)
	e2eWantStatus(t, "verify", e2eVerify(t, inst.URL, tok), http.StatusOK)
	revoked := e2eMint(t, inst.URL, "sales", secret) // revoked before the crash; Redis loses it
	e2eWantStatus(t, "invalidate before the crash", e2eInvalidate(t, inst.URL, revoked).Status, http.StatusNoContent)

	// Load runs through the crash and the outage (stopped before Redis is back).
	load := e2eStartLoad(t, inst.URL, "sales", secret, 2)
	load.WaitOps(t, "invalidate", http.StatusNoContent, 50)

	srv.Kill()
	killed := time.Now()
	e2eEventually(t, 2*time.Second, `/readyz 200 "degraded"`, func() bool {
		r := e2eDo(t, http.MethodGet, inst.URL+"/readyz", "", nil)
		return r.Status == http.StatusOK && strings.Contains(r.Body, `"status":"degraded"`)
	})
	e2eWantStatus(t, "verify with Redis down (fresh replica)", e2eVerify(t, inst.URL, tok), http.StatusOK)
	r := e2eInvalidate(t, inst.URL, tok)
	if r.Status != http.StatusServiceUnavailable || r.Header.Get("Retry-After") == "" {
		t.Fatalf("invalidate with Redis down: status %d, Retry-After %q; want 503 with Retry-After (never a false 204); body %s",
			r.Status, r.Header.Get("Retry-After"), r.Body)
	}

	// Minting goes on from the cached client record (DESIGN §5); the token
	// must be revocable once Redis is back.
	mr := e2eDo(t, http.MethodPost, inst.URL+"/api/v1/token", fmt.Sprintf(`{"dashboardId":"sales","dashboardSecret":%q}`, secret), nil)
	e2eWantStatus(t, "mint with Redis down (cached client record)", mr.Status, http.StatusOK)
	var mintedDown struct {
		AccessToken string `json:"accessToken"`
	}
	if err := json.Unmarshal([]byte(mr.Body), &mintedDown); err != nil || mintedDown.AccessToken == "" {
		t.Fatalf("mint with Redis down: body %s (%v)", mr.Body, err)
	}

	time.Sleep(time.Until(killed.Add(3100 * time.Millisecond)))
	e2eEventually(t, 3*time.Second, "verify 503 once the replica is older than max_staleness", func() bool {
		return e2eVerify(t, inst.URL, tok) == http.StatusServiceUnavailable
	})

	ops := load.Stop()
	acked := e2eFilter(ops, "invalidate", http.StatusNoContent)
	var downAcked, down503 int
	for _, op := range e2eFilter(ops, "invalidate", -1) {
		if op.Start.After(killed) {
			switch op.Status {
			case http.StatusNoContent:
				downAcked++
			case http.StatusServiceUnavailable:
				down503++
			}
		}
	}
	if downAcked > 0 || down503 == 0 {
		t.Fatalf("invalidate under load while Redis was down: %d × 204 (want none), %d × 503 (want some)", downAcked, down503)
	}

	srv.Restart(t)
	delay := e2eEventually(t, 15*time.Second, `/readyz 200 "ready" after Redis restart`, func() bool {
		r := e2eDo(t, http.MethodGet, inst.URL+"/readyz", "", nil)
		return r.Status == http.StatusOK && strings.Contains(r.Body, `"status":"ready"`)
	})
	t.Logf("ready again %s after the Redis restart", delay)
	e2eWantStatus(t, "invalidate after Redis is back", e2eInvalidate(t, inst.URL, tok).Status, http.StatusNoContent)
	e2eWantStatus(t, "verify after invalidate", e2eVerify(t, inst.URL, tok), http.StatusUnauthorized)
	e2eWantStatus(t, "verify of the token revoked before the crash", e2eVerify(t, inst.URL, revoked), http.StatusUnauthorized)
	e2eWantStatus(t, "verify of the token minted during the outage", e2eVerify(t, inst.URL, mintedDown.AccessToken), http.StatusOK)
	e2eWantStatus(t, "invalidate of the token minted during the outage", e2eInvalidate(t, inst.URL, mintedDown.AccessToken).Status, http.StatusNoContent)
	e2eWantStatus(t, "verify after that invalidate", e2eVerify(t, inst.URL, mintedDown.AccessToken), http.StatusUnauthorized)

	// Redis came back empty: the replica re-seeded it, so a new instance
	// that loads only from Redis rejects both revoked tokens too.
	fresh := e2eStart(t, e2eRedisEnv(srv.URL(), inst.KeysDir, nil))
	e2eEventually(t, 2*time.Second, "a new instance to reject the token revoked before the crash", func() bool {
		return e2eVerify(t, fresh.URL, revoked) == http.StatusUnauthorized
	})
	e2eWantStatus(t, "new instance: token revoked after the restart", e2eVerify(t, fresh.URL, tok), http.StatusUnauthorized)

	// Every revocation acknowledged (204) under load before the crash is
	// honoured after it, by the instance that saw the outage and by the new one.
	var honoured int
	for _, op := range acked {
		a, b := e2eVerify(t, inst.URL, op.Token), e2eVerify(t, fresh.URL, op.Token)
		if a == http.StatusUnauthorized && b == http.StatusUnauthorized {
			honoured++
		} else {
			t.Errorf("revocation acknowledged at %s not honoured after the outage: verify %d (instance) / %d (new instance)", op.End.Format(time.RFC3339Nano), a, b)
		}
	}
	t.Logf("Redis killed under load: acknowledged %d revocations before the crash, honoured %d after it; while down: invalidate 204 × %d, 503 × %d; load: mint %s | verify %s | invalidate %s",
		len(acked), honoured, downAcked, down503, e2eStatusCounts(ops, "mint"), e2eStatusCounts(ops, "verify"), e2eStatusCounts(ops, "invalidate"))

	// The outage is logged as JSON like everything else (DESIGN §9),
	// including go-redis's own connection-pool complaints.
	for line := range strings.Lines(inst.Stderr.String()) {
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil || rec["time"] == nil || rec["level"] == nil || rec["msg"] == nil {
			t.Errorf("stderr line is not a JSON log record (time, level, msg): %q", line)
		}
	}
}
