package e2e_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

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

// TestE2E_RedisAOFCrash crashes Redis (SIGKILL) under load with
// appendonly yes + appendfsync always: every revocation sigil acknowledged
// is in Redis again after the restart, read straight from Redis with no
// sigil running (so no replica could have re-seeded it).
func TestE2E_RedisAOFCrash(t *testing.T) {
	ctx := context.Background()
	srv := redisserver.Start(t, redisserver.WithArgs("--appendonly", "yes", "--appendfsync", "always"))
	keysDir := t.TempDir()
	env := e2eRedisEnv(srv.URL(), keysDir, nil)
	a := e2eStart(t, env)
	secret := e2eCreateClient(t, a.URL, e2eAdminSecret, "sales")

	load := e2eStartLoad(t, a.URL, "sales", secret, 3)
	load.WaitOps(t, "invalidate", http.StatusNoContent, 100)
	srv.Kill() // a crash in the middle of the load
	load.WaitOps(t, "invalidate", http.StatusServiceUnavailable, 1)
	ops := load.Stop()
	a.Stop(t)
	acked := e2eFilter(ops, "invalidate", http.StatusNoContent)

	srv.Restart(t)
	raw := goredis.NewClient(&goredis.Options{Addr: srv.Addr()})
	t.Cleanup(func() { _ = raw.Close() })
	var kept int
	for _, op := range acked {
		n, err := raw.Exists(ctx, "sigil:deny:"+e2eJTI(t, op.Token)).Result()
		if err != nil {
			t.Fatalf("EXISTS after the restart: %v", err)
		}
		if n == 1 {
			kept++
		}
	}
	if kept != len(acked) {
		t.Errorf("acknowledged revocations lost in the crash: %d of %d", len(acked)-kept, len(acked))
	}

	b := e2eStart(t, env)
	var honoured int
	for _, op := range acked {
		if e2eVerify(t, b.URL, op.Token) == http.StatusUnauthorized {
			honoured++
		}
	}
	if honoured != len(acked) {
		t.Errorf("revocations honoured after the crash: %d of %d", honoured, len(acked))
	}
	// The client record survived too: minting goes on.
	e2eWantStatus(t, "verify of a token minted after the restart", e2eVerify(t, b.URL, e2eMint(t, b.URL, "sales", secret)), http.StatusOK)
	t.Logf("Redis crash with AOF (appendfsync always) under load: acknowledged %d, in Redis after restart %d, honoured %d; lost %d of %d; load: mint %s | invalidate %s",
		len(acked), kept, honoured, len(acked)-kept, len(acked), e2eStatusCounts(ops, "mint"), e2eStatusCounts(ops, "invalidate"))
}

// TestE2E_Propagation measures, with load running on both, how long a
// revocation on instance A takes to be honoured by instance B on the same
// Redis: from A's 204 to B's first 401, over 200 revocations.
func TestE2E_Propagation(t *testing.T) {
	const n = 200
	srv := redisserver.Start(t)
	env := e2eRedisEnv(srv.URL(), t.TempDir(), nil)
	a := e2eStart(t, env)
	b := e2eStart(t, env)
	secret := e2eCreateClient(t, a.URL, e2eAdminSecret, "sales")
	loadA := e2eStartLoad(t, a.URL, "sales", secret, 1)
	loadB := e2eStartLoad(t, b.URL, "sales", secret, 1)

	delays := make([]time.Duration, 0, n)
	for range n {
		tok := e2eMint(t, a.URL, "sales", secret)
		e2eWantStatus(t, "verify on B", e2eVerify(t, b.URL, tok), http.StatusOK)
		e2eWantStatus(t, "invalidate on A", e2eInvalidate(t, a.URL, tok).Status, http.StatusNoContent)
		acked := time.Now()
		for e2eVerify(t, b.URL, tok) != http.StatusUnauthorized {
			if time.Since(acked) > 10*time.Second {
				t.Fatalf("B did not honour a revocation on A within 10s (after %d)", len(delays))
			}
		}
		delays = append(delays, time.Since(acked))
	}
	opsA, opsB := loadA.Stop(), loadB.Stop()
	t.Logf("propagation A→B over %d revocations (load running on both): p50 %s, p99 %s, max %s; load ops A %d, B %d",
		n, e2ePercentile(delays, 50), e2ePercentile(delays, 99), e2ePercentile(delays, 100), len(opsA), len(opsB))
}
