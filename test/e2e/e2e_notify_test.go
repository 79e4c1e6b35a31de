package e2e_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"testing"

	goredis "github.com/redis/go-redis/v9"

	"github.com/sigil-dev/sigil/test/redisserver"
	"github.com/sigil-dev/sigil/test/webhookrecv"
)

// e2eNotifyEnv is the Redis environment with a dispatcher that polls often;
// every wait below is a guard, not an assertion.
func e2eNotifyEnv(t *testing.T, redisURL string, extra map[string]string) map[string]string {
	env := e2eRedisEnv(redisURL, t.TempDir(), map[string]string{
		"SIGIL_NOTIFY_POLL_INTERVAL":   "20ms",
		"SIGIL_NOTIFY_BACKOFF_BASE":    "100ms",
		"SIGIL_NOTIFY_BACKOFF_MAX":     "400ms",
		"SIGIL_NOTIFY_LEASE":           "3s",
		"SIGIL_NOTIFY_WEBHOOK_TIMEOUT": "1s",
		"SIGIL_NOTIFY_MAX_ATTEMPTS":    "50",
	})
	for k, v := range extra {
		env[k] = v
	}
	return env
}

func e2eRegisterHook(t *testing.T, base string, rcv *webhookrecv.Receiver, events ...string) {
	t.Helper()
	evs, _ := json.Marshal(events)
	r := e2eDo(t, http.MethodPost, base+"/api/webhooks", fmt.Sprintf(`{"url":%q,"events":%s}`, rcv.URL()+"/hook", evs), e2eBasic("admin", e2eAdminSecret))
	e2eWantStatus(t, "register webhook: "+r.Body, r.Status, http.StatusCreated)
	var out struct{ Secret string }
	if err := json.Unmarshal([]byte(r.Body), &out); err != nil || out.Secret == "" {
		t.Fatalf("no secret in %s", r.Body)
	}
	rcv.SetSecrets(out.Secret)
}

func e2eGrant(t *testing.T, base, owner string) {
	t.Helper()
	r := e2eDo(t, http.MethodPut, base+"/api/owners/"+owner+"/roles/api-tokens", "", e2eBasic("admin", e2eAdminSecret))
	e2eWantStatus(t, "grant "+owner+": "+r.Body, r.Status, http.StatusNoContent)
}

// e2eOutboxDrained reports whether the shared outbox holds no event and no delivery.
func e2eOutboxDrained(t *testing.T, rdb *goredis.Client) bool {
	ctx := context.Background()
	events, err := rdb.XLen(ctx, "sigil:{notify}:events").Result()
	if err != nil {
		t.Fatalf("XLEN: %v", err)
	}
	deliveries, err := rdb.HLen(ctx, "sigil:{notify}:deliveries").Result()
	if err != nil {
		t.Fatalf("HLEN: %v", err)
	}
	return events == 0 && deliveries == 0
}

// e2eCheckOnce fails unless the receiver accepted exactly the events of
// want owners, each once, all signed.
func e2eCheckOnce(t *testing.T, rcv *webhookrecv.Receiver, n int) {
	t.Helper()
	seen := map[string]int{}
	owners := map[string]bool{}
	for _, d := range rcv.Delivered() {
		seen[d.ID]++
		if o, _ := d.Event["owner"].(string); o != "" {
			owners[o] = true
		}
	}
	for id, c := range seen {
		if c != 1 {
			t.Errorf("event %s delivered %d times", id, c)
		}
	}
	if len(seen) != n || len(owners) != n {
		t.Errorf("%d distinct events for %d owners delivered, want %d", len(seen), len(owners), n)
	}
	if bad := rcv.Bad(); len(bad) > 0 {
		t.Errorf("requests with a bad signature: %v", bad)
	}
}

var e2eDeliveredRE = regexp.MustCompile(`(?m)^sigil_notify_delivered_total\{channel="webhook"\} (\d+)`)

func e2eDeliveredBy(t *testing.T, base string) int {
	t.Helper()
	m := e2eDeliveredRE.FindStringSubmatch(e2eDo(t, http.MethodGet, base+"/metrics", "", nil).Body)
	if m == nil {
		t.Fatalf("no sigil_notify_delivered_total in %s/metrics", base)
	}
	n, _ := strconv.Atoi(m[1])
	return n
}

// TestE2E_NotifyTwoInstancesShareOutbox: two sigil processes on one Redis
// share the outbox (one stream, one consumer group): 50 events, caused on
// either instance, each reach the webhook exactly once.
func TestE2E_NotifyTwoInstancesShareOutbox(t *testing.T) {
	const n = 50
	srv := redisserver.Start(t)
	rcv := webhookrecv.Start(t)
	a := e2eStart(t, e2eNotifyEnv(t, srv.URL(), nil))
	b := e2eStart(t, e2eNotifyEnv(t, srv.URL(), nil))
	e2eRegisterHook(t, a.URL, rcv, "owner.role_granted")
	for i := range n {
		base := a.URL
		if i%2 == 1 {
			base = b.URL
		}
		e2eGrant(t, base, fmt.Sprintf("owner-%02d", i))
	}
	rdb := goredis.NewClient(&goredis.Options{Addr: srv.Addr()})
	t.Cleanup(func() { _ = rdb.Close() })
	e2eEventually(t, e2eStartTimeout, "50 deliveries and a drained outbox", func() bool {
		return len(rcv.Delivered()) >= n && e2eOutboxDrained(t, rdb)
	})
	e2eCheckOnce(t, rcv, n)
	da, db := e2eDeliveredBy(t, a.URL), e2eDeliveredBy(t, b.URL)
	if da+db != n {
		t.Errorf("instances count %d + %d deliveries, want %d", da, db, n)
	}
	t.Logf("figures: %d events, %d delivered (instance A %d, instance B %d), %d requests in all, 0 duplicates", n, len(rcv.Delivered()), da, db, rcv.Requests())
}

// TestE2E_NotifyKilledInstanceWorkIsClaimed: an instance killed (SIGKILL)
// while its deliveries hang leaves them leased in Redis; another
// instance claims them once the lease has run out and delivers each once.
func TestE2E_NotifyKilledInstanceWorkIsClaimed(t *testing.T) {
	const n = 10
	srv := redisserver.Start(t)
	rcv := webhookrecv.Start(t)
	a := e2eStart(t, e2eNotifyEnv(t, srv.URL(), nil))
	e2eRegisterHook(t, a.URL, rcv, "owner.role_granted")
	rcv.Hang(true)
	for i := range n {
		e2eGrant(t, a.URL, fmt.Sprintf("owner-%02d", i))
	}
	e2eEventually(t, e2eStartTimeout, "the first instance to be attempting", func() bool { return rcv.Requests() > 0 })
	if err := a.Cmd.Process.Kill(); err != nil {
		t.Fatalf("kill: %v", err)
	}
	<-a.done
	if got := len(rcv.Delivered()); got != 0 {
		t.Fatalf("%d delivered before the kill, want 0 (the receiver hangs)", got)
	}
	rdb := goredis.NewClient(&goredis.Options{Addr: srv.Addr()})
	t.Cleanup(func() { _ = rdb.Close() })
	if e2eOutboxDrained(t, rdb) {
		t.Fatal("nothing pending at the kill")
	}
	rcv.Hang(false)
	b := e2eStart(t, e2eNotifyEnv(t, srv.URL(), nil))
	e2eEventually(t, 2*e2eStartTimeout, "the second instance to deliver every event", func() bool {
		return len(rcv.Delivered()) >= n && e2eOutboxDrained(t, rdb)
	})
	e2eCheckOnce(t, rcv, n)
	t.Logf("figures: %d events pending at SIGKILL, %d delivered by the second instance (%d by its count), 0 duplicates",
		n, len(rcv.Delivered()), e2eDeliveredBy(t, b.URL))
}
