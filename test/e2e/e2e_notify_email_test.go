package e2e_test

import (
	"bufio"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sigil-dev/sigil/test/mailpit"
	"github.com/sigil-dev/sigil/test/redisserver"
)

// e2eMetricLine reads one sample of the built binary's /metrics (0 when absent).
func e2eMetricLine(t testing.TB, base, series string) float64 {
	t.Helper()
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		return 0
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		if line := sc.Text(); strings.HasPrefix(line, series+" ") {
			v, _ := strconv.ParseFloat(strings.TrimSpace(strings.TrimPrefix(line, series)), 64)
			return v
		}
	}
	return 0
}

// TestE2E_NotifyEmailSurvivesKill: the built binary on a real Redis and a
// real SMTP server. The SMTP server is down while three API tokens are
// generated; once the deliveries have failed at least once, sigil is
// killed (SIGKILL: no shutdown, events pending in the Redis outbox); the
// SMTP server comes back and a new sigil on the same Redis delivers all
// three generation mails, none twice and none lost.
func TestE2E_NotifyEmailSurvivesKill(t *testing.T) {
	rds, mp := redisserver.Start(t), mailpit.Start(t)
	env := map[string]string{
		"SIGIL_REDIS_URL": rds.URL(), "SIGIL_PEPPER": e2ePepper, "SIGIL_ADMIN_SECRET": e2eAdminSecret,
		"SIGIL_NOTIFY_SMTP_URL": mp.SMTPURL(), "SIGIL_NOTIFY_FROM": "sigil <sigil@example.com>",
		"SIGIL_NOTIFY_SMTP_TIMEOUT": "2s", "SIGIL_NOTIFY_POLL_INTERVAL": "50ms",
		"SIGIL_NOTIFY_BACKOFF_BASE": "100ms", "SIGIL_NOTIFY_BACKOFF_MAX": "500ms", "SIGIL_NOTIFY_MAX_ATTEMPTS": "100",
		"SIGIL_NOTIFY_WEBHOOK_TIMEOUT": "1s", "SIGIL_NOTIFY_LEASE": "3s",
	}
	inst := e2eStart(t, env)
	admin := e2eBasic("admin", e2eAdminSecret)
	do := func(what, method, path, body string, want int) {
		t.Helper()
		r := e2eDo(t, method, inst.URL+path, body, admin)
		e2eWantStatus(t, what, r.Status, want)
	}
	do("set email", http.MethodPut, "/api/owners/ana/email", `{"email":"ana@example.com"}`, http.StatusOK)
	do("grant role", http.MethodPut, "/api/owners/ana/roles/api-tokens", "", http.StatusNoContent)
	e2eEventually(t, 30*time.Second, "the role mail", func() bool {
		msgs, err := mp.Messages()
		return err == nil && len(msgs) == 1
	})
	if err := mp.DeleteAll(); err != nil {
		t.Fatal(err)
	}

	mp.Stop()
	for i := range 3 {
		do("create token", http.MethodPost, "/api/tokens",
			fmt.Sprintf(`{"type":"api","name":"killed-%d","owner":"ana","scopes":["meta:read"],"expiresIn":"7d"}`, i), http.StatusCreated)
	}
	e2eEventually(t, 30*time.Second, "failed email attempts", func() bool {
		return e2eMetricLine(t, inst.URL, `sigil_notify_failed_total{channel="email"}`) >= 3
	})
	if err := inst.Cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	<-inst.done

	mp.Restart(t)
	next := e2eStart(t, env)
	e2eEventually(t, 60*time.Second, "three generation mails", func() bool {
		msgs, err := mp.Messages()
		return err == nil && len(msgs) >= 3
	})
	e2eEventually(t, 30*time.Second, "no email delivery pending", func() bool {
		return e2eMetricLine(t, next.URL, `sigil_notify_pending{channel="email"}`) == 0
	})
	msgs, err := mp.Messages()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]int{}
	ids := map[string]int{}
	for _, m := range msgs {
		got[m.Subject]++
		ids[m.MessageID]++
	}
	for i := range 3 {
		subject := fmt.Sprintf(`Your API token "killed-%d" was generated`, i)
		if got[subject] != 1 {
			t.Errorf("%q received %d times, want once (all: %v)", subject, got[subject], got)
		}
	}
	if len(msgs) != 3 || len(ids) != 3 {
		t.Errorf("want 3 mails with 3 Message-IDs, got %d mails, %d ids", len(msgs), len(ids))
	}
}
