package e2e_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/sigil-dev/sigil/test/redisserver"
)

// TestE2E_MinReplicas: with revocation.min_replicas 1 an invalidation is
// acknowledged (204) only while the master's replica confirms it; with the
// replica cut off, invalidate, revoke-all and client deletion answer 503 +
// Retry-After (never 204/200), the token stays verifiable on no instance's
// say-so, and the same calls succeed once the replica is back.
func TestE2E_MinReplicas(t *testing.T) {
	m := redisserver.Start(t)
	r := redisserver.StartReplica(t, m)
	inst := e2eStart(t, e2eRedisEnv(m.URL(), t.TempDir(), map[string]string{
		"SIGIL_REVOCATION_MIN_REPLICAS": "1", "SIGIL_REVOCATION_REPLICA_TIMEOUT": "1s",
	}))
	secret := e2eCreateClient(t, inst.URL, e2eAdminSecret, "sales")
	e2eCreateClient(t, inst.URL, e2eAdminSecret, "gone")
	tok := e2eMint(t, inst.URL, "sales", secret)
	victim := e2eMint(t, inst.URL, "sales", secret)
	e2eWantStatus(t, "invalidate with the replica linked", e2eInvalidate(t, inst.URL, tok).Status, http.StatusNoContent)
	if v, err := r.Command("DBSIZE"); err != nil || v == "0" {
		t.Fatalf("replica DBSIZE %q (%v) after an acknowledged revocation", v, err)
	}

	if err := m.CutReplicas(); err != nil {
		t.Fatal(err)
	}
	want503 := func(what string, resp e2eResponse) {
		t.Helper()
		if resp.Status != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" {
			t.Fatalf("%s with the replica cut off: %d Retry-After %q; want 503 + Retry-After: %s", what, resp.Status, resp.Header.Get("Retry-After"), resp.Body)
		}
	}
	// Readiness says why: verification works, revocations cannot be confirmed.
	e2eEventually(t, 5*time.Second, `readyz "degraded" naming redis_replicas`, func() bool {
		r := e2eDo(t, http.MethodGet, inst.URL+"/readyz", "", nil)
		return r.Status == http.StatusOK && strings.Contains(r.Body, `"status":"degraded"`) && strings.Contains(r.Body, `"redis_replicas":"unavailable"`)
	})
	e2eWantStatus(t, "verify with the replica cut off", e2eVerify(t, inst.URL, victim), http.StatusOK)
	want503("invalidate", e2eInvalidate(t, inst.URL, victim))
	want503("revoke-all", e2eDo(t, http.MethodPost, inst.URL+"/api/v1/revoke-all", `{"dashboardId":"sales"}`, e2eBasic("admin", e2eAdminSecret)))
	want503("delete client", e2eDo(t, http.MethodDelete, inst.URL+"/api/clients/gone", "", e2eBasic("admin", e2eAdminSecret)))

	if err := m.HealReplicas(); err != nil {
		t.Fatal(err)
	}
	m.WaitReplicasOnline(t, 1)
	e2eWantStatus(t, "invalidate retried with the replica back", e2eInvalidate(t, inst.URL, victim).Status, http.StatusNoContent)
	e2eWantStatus(t, "verify after invalidate", e2eVerify(t, inst.URL, victim), http.StatusUnauthorized)
	r2 := e2eDo(t, http.MethodGet, inst.URL+"/readyz", "", nil)
	if r2.Status != http.StatusOK || !strings.Contains(r2.Body, `"redis_replicas":"ok"`) {
		t.Fatalf("readyz with the replica back: %d %s", r2.Status, r2.Body)
	}
}
