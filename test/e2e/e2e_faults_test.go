package e2e_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/sigil-dev/sigil/test/redisserver"
)

// TestE2E_RedisSlow pauses Redis (CLIENT PAUSE) under load: requests that
// need Redis end with 503 at the store timeout instead of waiting for it,
// verify goes on answering from the replica, and goroutines do not pile up.
func TestE2E_RedisSlow(t *testing.T) {
	const (
		storeTimeout = 300 * time.Millisecond
		pause        = 6 * time.Second
	)
	srv := redisserver.Start(t)
	inst := e2eStart(t, e2eRedisEnv(srv.URL(), t.TempDir(), map[string]string{
		"SIGIL_HTTP_STORE_TIMEOUT":       storeTimeout.String(),
		"SIGIL_REVOCATION_MAX_STALENESS": "1m",
	}))
	secret := e2eCreateClient(t, inst.URL, e2eAdminSecret, "sales")
	valid := e2eMint(t, inst.URL, "sales", secret)
	victim := e2eMint(t, inst.URL, "sales", secret)

	load := e2eStartLoad(t, inst.URL, "sales", secret, 4)
	load.WaitOps(t, "invalidate", http.StatusNoContent, 20)
	before := e2eGoroutines(t, inst.URL)

	if _, err := srv.Command("CLIENT PAUSE " + itoa(pause.Milliseconds()) + " ALL"); err != nil {
		t.Fatalf("CLIENT PAUSE: %v", err)
	}
	paused := time.Now()

	// Redis answers nothing for the whole pause: an invalidate that waited
	// for it would answer 204 once it ends; bounded by the store timeout it
	// answers 503 + Retry-After (and is safe to retry: it is idempotent).
	start := time.Now()
	r := e2eInvalidate(t, inst.URL, victim)
	took := time.Since(start)
	// The answer must come well before the pause ends, within ten times the
	// store timeout (slack for a noisy machine). Without context deadlines
	// go-redis waited for its own read timeout and retries: 5s.
	if took >= 10*storeTimeout {
		t.Fatalf("invalidate during the pause took %s: not bounded by the store timeout %s", took, storeTimeout)
	}
	if r.Status != http.StatusServiceUnavailable || r.Header.Get("Retry-After") == "" {
		t.Fatalf("invalidate during the pause: status %d, Retry-After %q; want 503 within the store timeout (took %s); body %s",
			r.Status, r.Header.Get("Retry-After"), took, r.Body)
	}
	t.Logf("invalidate during the pause: 503 after %s (store timeout %s, pause %s)", took, storeTimeout, pause)

	// Verify answers from the replica throughout.
	var verifies int
	for time.Since(paused) < pause-2*time.Second {
		e2eWantStatus(t, "verify during the pause", e2eVerify(t, inst.URL, valid), http.StatusOK)
		verifies++
		time.Sleep(20 * time.Millisecond)
	}
	during := e2eGoroutines(t, inst.URL)

	// After the pause, invalidate works again.
	e2eEventually(t, 2*pause, "invalidate to answer 204 after the pause", func() bool {
		return e2eInvalidate(t, inst.URL, victim).Status == http.StatusNoContent
	})
	e2eWantStatus(t, "verify of the token invalidated after the pause", e2eVerify(t, inst.URL, victim), http.StatusUnauthorized)
	ops := load.Stop()

	// Every load request got an answer (none hung until the client gave up).
	var unanswered int
	for _, op := range ops {
		if op.Status == 0 {
			unanswered++
		}
	}
	if unanswered > 0 {
		t.Errorf("%d load requests got no answer", unanswered)
	}
	const slack = 40
	var after int
	e2eEventually(t, 10*time.Second, "goroutines back to the level before the pause", func() bool {
		after = e2eGoroutines(t, inst.URL)
		return after <= before+slack
	})
	if during > before+slack {
		t.Errorf("goroutines piled up during the pause: %d before, %d during (slack %d)", before, during, slack)
	}
	t.Logf("verify during the pause: %d × 200; goroutines before %d, during %d, after %d; load: mint %s | verify %s | invalidate %s",
		verifies, before, during, after,
		e2eStatusCounts(ops, "mint"), e2eStatusCounts(ops, "verify"), e2eStatusCounts(ops, "invalidate"))
}
