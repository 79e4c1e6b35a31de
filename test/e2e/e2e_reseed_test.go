package e2e_test

import (
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sigil-dev/sigil/test/redisserver"
)

// TestE2E_ClusterEmptiedMasterReseeded: a cluster master restarts empty
// while an instance that loaded the store (A) is frozen (SIGSTOP); a new
// instance (D) started then must not trust the cluster: every revoked
// token is refused (503, fail closed), never accepted, and /readyz says the
// replica is not loaded. Once A runs again it notices the lost epoch keys
// at its next heartbeat (1 s) and re-seeds the master, and D loads it: every
// revocation is honoured within seconds, with the default resync_interval
// (1 m) that used to be the only repair.
func TestE2E_ClusterEmptiedMasterReseeded(t *testing.T) {
	cl := redisserver.StartCluster(t, 3)
	env := e2eRedisEnv(cl.URL(), t.TempDir(), nil) // resync_interval: default 1m
	a := e2eStart(t, env)
	secret := e2eCreateClient(t, a.URL, e2eAdminSecret, "sales")
	const n = 30 // ids on every master
	var revoked []string
	for range n {
		tok := e2eMint(t, a.URL, "sales", secret)
		e2eWantStatus(t, "invalidate on A", e2eInvalidate(t, a.URL, tok).Status, http.StatusNoContent)
		revoked = append(revoked, tok)
	}
	live := e2eMint(t, a.URL, "sales", secret)

	if err := a.Cmd.Process.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = a.Cmd.Process.Signal(syscall.SIGCONT) })
	lost := cl.Nodes[1]
	lost.Restart(t) // no persistence: empty, its nodes.conf keeps its slots
	cl.WaitOK(t)

	d := e2eStart(t, env)
	r := e2eDo(t, http.MethodGet, d.URL+"/readyz", "", nil)
	if r.Status != http.StatusServiceUnavailable || !strings.Contains(r.Body, `"revocation_replica":"unavailable"`) {
		t.Fatalf("readyz of a new instance on a cluster that lost a master's data: %d %s", r.Status, r.Body)
	}
	for _, tok := range revoked {
		if s := e2eVerify(t, d.URL, tok); s == http.StatusOK {
			t.Fatal("a new instance accepted a revoked token from a cluster whose master lost its data")
		}
	}

	if err := a.Cmd.Process.Signal(syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	resumed := time.Now()
	took := e2eEventually(t, 10*time.Second, "D to honour every revocation after A re-seeds", func() bool {
		for _, tok := range revoked {
			switch e2eVerify(t, d.URL, tok) {
			case http.StatusUnauthorized:
			case http.StatusOK:
				t.Fatal("a new instance accepted a revoked token while the emptied master was re-seeded")
			default:
				return false
			}
		}
		return true
	})
	t.Logf("emptied master re-seeded and loaded by the new instance %s after the old instance resumed (%s since)", took, time.Since(resumed))
	if v, err := lost.Command("DBSIZE"); err != nil || v == "0" {
		t.Fatalf("emptied master DBSIZE %q (%v) after the re-seed", v, err)
	}
	e2eWantStatus(t, "verify of the live token on D", e2eVerify(t, d.URL, live), http.StatusOK)
	e2eWantStatus(t, "readyz of D", e2eDo(t, http.MethodGet, d.URL+"/readyz", "", nil).Status, http.StatusOK)
}
