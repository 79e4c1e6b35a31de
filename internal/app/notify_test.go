package app_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sigil-dev/sigil/internal/app"
	"github.com/sigil-dev/sigil/internal/config"
	"github.com/sigil-dev/sigil/internal/testclock"
	"github.com/sigil-dev/sigil/test/apiserver"
	"github.com/sigil-dev/sigil/test/webhookrecv"
)

// hookCall sends method path as admin with a JSON body and returns the
// status and the raw answer.
func hookCall(t *testing.T, srv *apiserver.Server, method, path, body string) (int, []byte) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, srv.URL+path, rd)
	require.NoError(t, err)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	req.SetBasicAuth("admin", srv.AdminSecret)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, raw
}

// fastNotify makes the dispatcher poll often (the waits below are guards).
func fastNotify(c *config.Config) {
	c.Notify.PollInterval = 10 * time.Millisecond
	c.Notify.BackoffBase = 50 * time.Millisecond
	c.Notify.BackoffMax = 200 * time.Millisecond
	c.Notify.Lease = 5 * time.Second
	c.Notify.WebhookTimeout = 2 * time.Second
	c.Notify.AuthFailureThreshold = 3
	c.Notify.AuthFailureWindow = time.Minute
}

func registerHook(t *testing.T, srv *apiserver.Server, rcv *webhookrecv.Receiver, events ...string) string {
	t.Helper()
	evs, _ := json.Marshal(events)
	status, raw := hookCall(t, srv, http.MethodPost, "/api/webhooks", `{"url":"`+rcv.URL()+`/hook","events":`+string(evs)+`}`)
	require.Equal(t, http.StatusCreated, status, "%s", raw)
	var out struct{ ID, Secret string }
	require.NoError(t, json.Unmarshal(raw, &out))
	rcv.SetSecrets(out.Secret)
	return out.ID
}

// waitFor polls until cond holds; the timeout only guards a hung test.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestNotify_RegistryEventsReachWebhook(t *testing.T) {
	srv := apiserver.Start(t, apiserver.WithConfig(fastNotify))
	rcv := webhookrecv.Start(t)
	registerHook(t, srv, rcv, "token.created", "token.generated", "token.revoked", "token.auth_failures",
		"owner.role_granted", "owner.role_withdrawn")

	status, raw := hookCall(t, srv, http.MethodPut, "/api/owners/alice/roles/api-tokens", "")
	require.Equal(t, http.StatusNoContent, status, "%s", raw)
	status, _ = hookCall(t, srv, http.MethodPut, "/api/owners/alice/roles/api-tokens", "")
	require.Equal(t, http.StatusNoContent, status, "granting a held role is no change: no second event")
	status, raw = hookCall(t, srv, http.MethodPost, "/api/tokens", `{"type":"api","owner":"alice","name":"CI","scopes":["meta:read"],"expiresIn":"30d"}`)
	require.Equal(t, http.StatusCreated, status, "%s", raw)
	var rec struct{ ID, Token string }
	require.NoError(t, json.Unmarshal(raw, &rec))
	require.NotEmpty(t, rec.Token)
	status, raw = hookCall(t, srv, http.MethodPost, "/api/tokens/"+rec.ID+"/_generate", "")
	require.Equal(t, http.StatusOK, status, "%s", raw)
	var regen struct{ Token string }
	require.NoError(t, json.Unmarshal(raw, &regen))
	// The first JWT, replaced, fails three times: one token.auth_failures.
	for range 5 {
		req, _ := http.NewRequest(http.MethodGet, srv.URL+"/api/v1/verify", nil)
		req.Header.Set("Authorization", "Bearer "+rec.Token)
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		require.Equal(t, http.StatusUnauthorized, resp.StatusCode)
	}
	waitFor(t, "token.auth_failures", func() bool { return countType(rcv.Delivered(), "token.auth_failures") == 1 })
	status, _ = hookCall(t, srv, http.MethodDelete, "/api/tokens/"+rec.ID, "")
	require.Equal(t, http.StatusNoContent, status)
	status, _ = hookCall(t, srv, http.MethodDelete, "/api/owners/alice/roles/api-tokens", "")
	require.Equal(t, http.StatusNoContent, status)

	want := map[string]int{"owner.role_granted": 1, "token.created": 1, "token.generated": 2, "token.auth_failures": 1,
		"token.revoked": 1, "owner.role_withdrawn": 1}
	waitFor(t, "every event", func() bool { return len(rcv.Delivered()) >= 7 })
	got := map[string]int{}
	ids := map[string]bool{}
	for _, d := range rcv.Delivered() {
		got[d.Type]++
		assert.False(t, ids[d.ID], "event %s delivered twice", d.ID)
		ids[d.ID] = true
		for _, jwt := range []string{rec.Token, regen.Token} {
			assert.NotContains(t, string(d.Body), jwt, "a JWT in a webhook payload")
			assert.NotContains(t, string(d.Body), jwt[strings.LastIndex(jwt, ".")+1:], "a JWT signature in a webhook payload")
		}
		if d.Type == "token.revoked" {
			assert.Equal(t, "delete", d.Event["data"].(map[string]any)["how"])
			assert.Equal(t, "admin", d.Event["actor"])
			tok := d.Event["token"].(map[string]any)
			assert.Equal(t, rec.ID, tok["id"])
			assert.Equal(t, "CI", tok["name"])
			assert.Equal(t, []any{"meta:read"}, tok["scopes"])
		}
		if d.Type == "token.auth_failures" {
			assert.Equal(t, "3", d.Event["data"].(map[string]any)["failures"])
			assert.Equal(t, "alice", d.Event["owner"])
		}
	}
	assert.Equal(t, want, got)
	assert.Empty(t, rcv.Bad(), "every request carried a valid signature")
	// Metric labels name the channel kind, never the endpoint.
	var metrics []byte
	waitFor(t, "the deliveries to be counted", func() bool {
		_, metrics = hookCall(t, srv, http.MethodGet, "/metrics", "")
		return bytes.Contains(metrics, []byte(`sigil_notify_delivered_total{channel="webhook"} 7`))
	})
	for _, line := range strings.Split(string(metrics), "\n") {
		if strings.HasPrefix(line, "sigil_notify_") {
			assert.NotContains(t, line, "wh_", line)
			assert.NotContains(t, line, "127.0.0.1", line)
		}
	}
}

func countType(ds []webhookrecv.Delivery, typ string) int {
	n := 0
	for _, d := range ds {
		if d.Type == typ {
			n++
		}
	}
	return n
}

// TestNotify_FailedChangeDeliversNothing: an event is written before its
// change; when the change fails (a name the owner already uses) the event
// is never confirmed, never delivered, and dropped once the confirm window
// has passed on the injected clock.
func TestNotify_FailedChangeDeliversNothing(t *testing.T) {
	clock := testclock.Wall()
	srv := apiserver.Start(t, apiserver.WithConfig(func(c *config.Config) {
		fastNotify(c)
		c.Notify.ConfirmWindow = time.Minute
	}), apiserver.WithApp(app.WithNow(clock.Now)))
	rcv := webhookrecv.Start(t)
	registerHook(t, srv, rcv, "token.created", "token.generated")
	status, _ := hookCall(t, srv, http.MethodPut, "/api/owners/alice/roles/api-tokens", "")
	require.Equal(t, http.StatusNoContent, status)
	const body = `{"type":"api","owner":"alice","name":"dup","scopes":["meta:read"]}`
	status, raw := hookCall(t, srv, http.MethodPost, "/api/tokens", body)
	require.Equal(t, http.StatusCreated, status, "%s", raw)
	waitFor(t, "the first token's events", func() bool { return len(rcv.Delivered()) == 2 })
	status, raw = hookCall(t, srv, http.MethodPost, "/api/tokens", body)
	require.Equal(t, http.StatusConflict, status, "%s", raw)
	clock.Advance(2 * time.Minute) // past the confirm window
	waitFor(t, "the failed change's two events to be dropped", func() bool {
		_, body := hookCall(t, srv, http.MethodGet, "/metrics", "")
		return bytes.Contains(body, []byte("sigil_notify_dropped_total 2")) &&
			bytes.Contains(body, []byte(`sigil_notify_pending{channel="webhook"} 0`))
	})
	assert.Len(t, rcv.Delivered(), 2, "the failed creation delivered nothing")
}

// TestNotify_DeadLetterRetriedFromAdminAPI: a receiver that never answers
// makes a dead letter after notify.max_attempts (backoffs skipped on the
// injected clock); the admin API lists it and its retry delivers it.
func TestNotify_DeadLetterRetriedFromAdminAPI(t *testing.T) {
	clock := testclock.Wall()
	srv := apiserver.Start(t, apiserver.WithConfig(func(c *config.Config) {
		fastNotify(c)
		c.Notify.MaxAttempts = 3
		c.Notify.BackoffBase = time.Hour // only the injected clock moves it on
		c.Notify.BackoffMax = time.Hour
		c.Notify.WebhookTimeout = 200 * time.Millisecond
	}), apiserver.WithApp(app.WithNow(clock.Now)))
	rcv := webhookrecv.Start(t)
	registerHook(t, srv, rcv, "owner.role_granted")
	rcv.Hang(true)
	status, _ := hookCall(t, srv, http.MethodPut, "/api/owners/bob/roles/api-tokens", "")
	require.Equal(t, http.StatusNoContent, status)
	var list struct {
		DeadLetters []struct {
			ID, Channel, Destination, LastError string
			Attempts                            int
			Event                               struct{ ID, Type, Owner string }
		}
		Next string
	}
	for attempt := 1; attempt <= 3; attempt++ {
		waitFor(t, "an attempt", func() bool { return rcv.Requests() >= attempt })
		if attempt < 3 {
			// Let the attempt time out and be rescheduled, then skip its backoff.
			waitFor(t, "the failed attempt to be counted", func() bool {
				_, body := hookCall(t, srv, http.MethodGet, "/metrics", "")
				return bytes.Contains(body, []byte(`sigil_notify_failed_total{channel="webhook"} `+strconv.Itoa(attempt)))
			})
			clock.Advance(2 * time.Hour)
		}
	}
	waitFor(t, "a dead letter", func() bool {
		_, raw := hookCall(t, srv, http.MethodGet, "/api/notifications/dead-letters", "")
		require.NoError(t, json.Unmarshal(raw, &list))
		return len(list.DeadLetters) == 1
	})
	dl := list.DeadLetters[0]
	assert.Equal(t, "webhook", dl.Channel)
	assert.Equal(t, 3, dl.Attempts)
	assert.Equal(t, "timeout", dl.LastError)
	assert.Equal(t, "owner.role_granted", dl.Event.Type)
	assert.Equal(t, "bob", dl.Event.Owner)
	assert.Empty(t, rcv.Delivered())

	rcv.Hang(false)
	status, raw := hookCall(t, srv, http.MethodPost, "/api/notifications/dead-letters/"+dl.ID+"/_retry", "")
	require.Equal(t, http.StatusAccepted, status, "%s", raw)
	waitFor(t, "the retried delivery", func() bool { return len(rcv.Delivered()) == 1 })
	assert.Equal(t, dl.Event.ID, rcv.Delivered()[0].ID)
	_, raw = hookCall(t, srv, http.MethodGet, "/api/notifications/dead-letters", "")
	require.NoError(t, json.Unmarshal(raw, &list))
	assert.Empty(t, list.DeadLetters)
	status, _ = hookCall(t, srv, http.MethodPost, "/api/notifications/dead-letters/"+dl.ID+"/_retry", "")
	assert.Equal(t, http.StatusNotFound, status, "a letter is retried once")
}
