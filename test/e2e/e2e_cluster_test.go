package e2e_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/sigil-dev/sigil/test/redisserver"
)

// TestE2E_Cluster runs the revocation flow of two sigil instances on a real
// 3-master Redis Cluster given as a seed list (redis+cluster://a,b,c).
func TestE2E_Cluster(t *testing.T) {
	cl := redisserver.StartCluster(t, 3)
	env := e2eRedisEnv(cl.URL(), t.TempDir(), map[string]string{"SIGIL_REVOCATION_RESYNC_INTERVAL": "1s"})
	a := e2eStart(t, env)
	b := e2eStart(t, env)
	for _, inst := range []*e2eInstance{a, b} {
		r := e2eDo(t, http.MethodGet, inst.URL+"/readyz", "", nil)
		if r.Status != http.StatusOK || !strings.Contains(r.Body, `"status":"ready"`) {
			t.Fatalf("readyz on the cluster: %d %s", r.Status, r.Body)
		}
	}

	secret := e2eCreateClient(t, a.URL, e2eAdminSecret, "sales")
	// Many tokens: their denylist entries hash to slots on every master.
	const n = 30
	toks := make([]string, n)
	for i := range toks {
		toks[i] = e2eMint(t, a.URL, "sales", secret)
		e2eWantStatus(t, "verify on B", e2eVerify(t, b.URL, toks[i]), http.StatusOK)
	}
	for _, tok := range toks[:n-1] {
		e2eWantStatus(t, "invalidate on A", e2eInvalidate(t, a.URL, tok).Status, http.StatusNoContent)
		e2eWantStatus(t, "verify on A after invalidate", e2eVerify(t, a.URL, tok), http.StatusUnauthorized)
		e2eEventually(t, 5*time.Second, "B to honour the revocation", func() bool {
			return e2eVerify(t, b.URL, tok) == http.StatusUnauthorized
		})
	}
	last := toks[n-1]
	e2eWantStatus(t, "verify of the token not revoked", e2eVerify(t, b.URL, last), http.StatusOK)

	// A third instance loads the denylist from every master at start.
	c := e2eStart(t, env)
	for _, tok := range toks[:n-1] {
		e2eWantStatus(t, "verify on a new instance (full load from the cluster)", e2eVerify(t, c.URL, tok), http.StatusUnauthorized)
	}
	e2eWantStatus(t, "verify on a new instance of the token not revoked", e2eVerify(t, c.URL, last), http.StatusOK)

	// One master restarts empty (no persistence; its nodes.conf keeps its
	// slots): the instances notice that its epoch keys are gone and re-seed
	// the cluster from their replicas, so an instance started afterwards,
	// which loads only from Redis, still honours every revocation.
	lost := cl.Nodes[1]
	lost.Restart(t)
	cl.WaitOK(t)
	if n, err := lost.Command("DBSIZE"); err != nil || n == "0" {
		e2eEventually(t, 15*time.Second, "the instances to re-seed the emptied master", func() bool {
			n, err := lost.Command("DBSIZE")
			return err == nil && n != "0"
		})
	}
	d := e2eStart(t, env)
	e2eEventually(t, 15*time.Second, "a new instance to honour every revocation after a master lost its data", func() bool {
		for _, tok := range toks[:n-1] {
			if e2eVerify(t, d.URL, tok) != http.StatusUnauthorized {
				return false
			}
		}
		return true
	})
	e2eWantStatus(t, "verify on the new instance of the token not revoked", e2eVerify(t, d.URL, last), http.StatusOK)

	// Revoke-all (a cutoff) on B is honoured by A and C.
	e2eWantStatus(t, "revoke-all on B", e2eDo(t, http.MethodPost, b.URL+"/api/v1/revoke-all", `{"dashboardId":"sales"}`,
		e2eBasic("admin", e2eAdminSecret)).Status, http.StatusOK)
	e2eWantStatus(t, "verify on B after revoke-all", e2eVerify(t, b.URL, last), http.StatusUnauthorized)
	for _, inst := range []*e2eInstance{a, c} {
		e2eEventually(t, 5*time.Second, "revoke-all honoured on "+inst.URL, func() bool {
			return e2eVerify(t, inst.URL, last) == http.StatusUnauthorized
		})
	}
}

// TestE2E_Sentinel runs the revocation flow of two sigil instances that
// find their Redis through two real sentinels (redis+sentinel://...?master=).
func TestE2E_Sentinel(t *testing.T) {
	master := redisserver.Start(t)
	url := redisserver.SentinelURL("mymaster",
		redisserver.StartSentinel(t, master, "mymaster"), redisserver.StartSentinel(t, master, "mymaster"))
	env := e2eRedisEnv(url, t.TempDir(), nil)
	a := e2eStart(t, env)
	b := e2eStart(t, env)
	secret := e2eCreateClient(t, a.URL, e2eAdminSecret, "sales")
	tok := e2eMint(t, a.URL, "sales", secret)
	e2eWantStatus(t, "verify on B", e2eVerify(t, b.URL, tok), http.StatusOK)
	e2eWantStatus(t, "invalidate on A", e2eInvalidate(t, a.URL, tok).Status, http.StatusNoContent)
	e2eEventually(t, 5*time.Second, "B to honour the revocation", func() bool {
		return e2eVerify(t, b.URL, tok) == http.StatusUnauthorized
	})
	r := e2eDo(t, http.MethodGet, a.URL+"/readyz", "", nil)
	if r.Status != http.StatusOK || !strings.Contains(r.Body, `"status":"ready"`) {
		t.Fatalf("readyz through sentinel: %d %s", r.Status, r.Body)
	}
	// The denylist entry is on the master the sentinels name.
	if n, err := master.Command("DBSIZE"); err != nil || n == "0" {
		t.Fatalf("master holds %q keys (%v)", n, err)
	}
	if !strings.Contains(a.Stdout.String(), "redis+sentinel://") {
		t.Errorf("banner does not name the sentinel URL:\n%s", a.Stdout)
	}
}
