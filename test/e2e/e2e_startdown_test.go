package e2e_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/sigil-dev/sigil/test/redisserver"
	"github.com/sigil-dev/sigil/test/testproc"
)

// TestE2E_StartRedisDown starts the built binary, with an admin secret,
// while nothing listens on its Redis port: it must not exit (a crash loop
// under systemd or Kubernetes delays recovery by its back-off), /healthz
// answers 200 and /readyz 503 naming what is not set up, verify fails
// closed (503, never 200 for a token it cannot check against the
// denylist); once redis-server starts on that port, the instance finishes
// setting up (admin client, denylist load, subscription) by itself and
// mint, verify and invalidate work.
func TestE2E_StartRedisDown(t *testing.T) {
	keysDir := t.TempDir()
	e2eGenerateKey(t, "ES256", keysDir)
	// A token the instance will accept once it can check revocations.
	offline, _ := e2eMustRun(t, nil, "token", "mint", "--offline", "--keys-dir", keysDir, "--issuer", e2eIssuer,
		"--dashboard", "sales", "--expiry", "1h")
	offline = strings.TrimSpace(offline)

	port := testproc.FreePort(t)
	url := "redis://127.0.0.1:" + itoa(int64(port)) + "/0"
	inst := e2eStart(t, e2eRedisEnv(url, keysDir, map[string]string{"SIGIL_ISSUER": e2eIssuer}))

	e2eWantStatus(t, "healthz with Redis down", e2eDo(t, http.MethodGet, inst.URL+"/healthz", "", nil).Status, http.StatusOK)
	r := e2eDo(t, http.MethodGet, inst.URL+"/readyz", "", nil)
	for _, want := range []string{`"admin_client":"unavailable"`, `"revocation_replica":"unavailable"`, `"store":"unavailable"`} {
		if r.Status != http.StatusServiceUnavailable || !strings.Contains(r.Body, want) {
			t.Fatalf("readyz with Redis down: %d %s; want 503 with %s", r.Status, r.Body, want)
		}
	}
	// Fail closed: the denylist was never loaded.
	e2eWantStatus(t, "verify with Redis never seen", e2eVerify(t, inst.URL, offline), http.StatusServiceUnavailable)
	e2eWantStatus(t, "invalidate with Redis never seen", e2eInvalidate(t, inst.URL, offline).Status, http.StatusServiceUnavailable)
	// The admin cannot act (its record is not written) and is not let in
	// without one: 503, not a 201 nor a 401 that would say the secret is wrong.
	cr := e2eDo(t, http.MethodPost, inst.URL+"/api/clients", `{"id":"sales","resources":["dashboard:sales"]}`, e2eBasic("admin", e2eAdminSecret))
	e2eWantStatus(t, "create client with Redis never seen", cr.Status, http.StatusServiceUnavailable)
	// Still running a few seconds later (it used to exit after ~4 s).
	time.Sleep(5 * time.Second)
	select {
	case <-inst.done:
		t.Fatalf("sigil exited with Redis down (%v); stderr:\n%s", inst.waitErr, inst.Stderr)
	default:
	}

	redisserver.Start(t, redisserver.WithPort(port))
	e2eEventually(t, 20*time.Second, "readyz 200 once Redis is up", func() bool {
		r := e2eDo(t, http.MethodGet, inst.URL+"/readyz", "", nil)
		return r.Status == http.StatusOK && strings.Contains(r.Body, `"admin_client":"ok"`)
	})
	e2eWantStatus(t, "verify once Redis is up", e2eVerify(t, inst.URL, offline), http.StatusOK)
	secret := e2eCreateClient(t, inst.URL, e2eAdminSecret, "sales")
	tok := e2eMint(t, inst.URL, "sales", secret)
	e2eWantStatus(t, "verify the minted token", e2eVerify(t, inst.URL, tok), http.StatusOK)
	e2eWantStatus(t, "invalidate", e2eInvalidate(t, inst.URL, tok).Status, http.StatusNoContent)
	e2eWantStatus(t, "verify after invalidate", e2eVerify(t, inst.URL, tok), http.StatusUnauthorized)
	// The subscription is up: another instance's revocation reaches this one.
	other := e2eStart(t, e2eRedisEnv(url, keysDir, map[string]string{"SIGIL_ISSUER": e2eIssuer}))
	e2eWantStatus(t, "invalidate on a second instance", e2eInvalidate(t, other.URL, offline).Status, http.StatusNoContent)
	e2eEventually(t, 5*time.Second, "the first instance to honour the second's revocation", func() bool {
		return e2eVerify(t, inst.URL, offline) == http.StatusUnauthorized
	})
}
