package webhook_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sigil-dev/sigil/internal/app"
	"github.com/sigil-dev/sigil/internal/config"
	"github.com/sigil-dev/sigil/internal/notify"
	"github.com/sigil-dev/sigil/internal/notify/webhook"
	"github.com/sigil-dev/sigil/test/apiserver"
)

// logBuffer collects the server's logs (JSON lines).
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

type api struct {
	t    *testing.T
	srv  *apiserver.Server
	logs *logBuffer
}

func startAPI(t *testing.T, mode string, opts ...apiserver.Option) *api {
	logs := &logBuffer{}
	opts = append([]apiserver.Option{
		apiserver.WithConfig(func(c *config.Config) { c.Mode = mode }),
		apiserver.WithApp(app.WithLogger(slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})))),
	}, opts...)
	return &api{t: t, srv: apiserver.Start(t, opts...), logs: logs}
}

// call sends method path with body as client id/secret and decodes the JSON answer.
func (a *api) call(method, path, id, secret string, body any) (int, map[string]any) {
	a.t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		require.NoError(a.t, err)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, a.srv.URL+path, rd)
	require.NoError(a.t, err)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if id != "" {
		req.SetBasicAuth(id, secret)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(a.t, err)
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	require.NoError(a.t, err)
	var out map[string]any
	if len(raw) > 0 {
		require.NoError(a.t, json.Unmarshal(raw, &out), "body %s", raw)
	}
	return resp.StatusCode, out
}

func (a *api) admin(method, path string, body any) (int, map[string]any) {
	a.t.Helper()
	return a.call(method, path, "admin", a.srv.AdminSecret, body)
}

func errField(body map[string]any) (code, field, msg string) {
	e, _ := body["error"].(map[string]any)
	code, _ = e["code"].(string)
	field, _ = e["field"].(string)
	msg, _ = e["message"].(string)
	return
}

func TestWebhooksAPI_RegistrationRefusals(t *testing.T) {
	a := startAPI(t, "prod")
	for _, tc := range []struct{ name, url, field string }{
		{"Loopback", "http://127.0.0.1:8080/hook", "url"},
		{"LoopbackV6", "http://[::1]/hook", "url"},
		{"Metadata", "http://169.254.169.254/latest/meta-data", "url"},
		{"Private", "https://10.0.0.7/hook", "url"},
		{"MappedLoopback", "http://[::ffff:127.0.0.1]/hook", "url"},
		{"Unspecified", "http://0.0.0.0/hook", "url"},
		{"HostnameResolvingToLoopback", "http://localhost:9/hook", "url"},
		{"DecimalLoopback", "http://2130706433/hook", "url"},
		{"ShortLoopback", "http://127.1/hook", "url"},
		{"HexLoopback", "http://0x7f.0.0.1/hook", "url"},
		{"LinkLocalV6WithZone", "http://[fe80::1%25eth0]/hook", "url"},
		{"CGNAT", "http://100.64.0.1/hook", "url"},
		{"Userinfo", "https://user:pass@hooks.example.com/x", "url"},
		{"UserOnly", "https://user@hooks.example.com/x", "url"},
		{"Fragment", "https://hooks.example.com/x#frag", "url"},
		{"Scheme", "ftp://hooks.example.com/x", "url"},
		{"FileScheme", "file:///etc/passwd", "url"},
		{"Relative", "/hook", "url"},
		{"Empty", "", "url"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, body := a.admin(http.MethodPost, "/api/webhooks", map[string]any{"url": tc.url, "events": []string{notify.TokenCreated}})
			assert.Equal(t, http.StatusBadRequest, status, "%v", body)
			_, field, _ := errField(body)
			assert.Equal(t, tc.field, field)
		})
	}
	t.Run("UnknownEvent", func(t *testing.T) {
		status, body := a.admin(http.MethodPost, "/api/webhooks", map[string]any{"url": "https://93.184.215.14/hook", "events": []string{"token.created", "token.exploded"}})
		assert.Equal(t, http.StatusBadRequest, status)
		_, field, msg := errField(body)
		assert.Equal(t, "events", field)
		assert.Contains(t, msg, "token.exploded")
	})
	t.Run("NoEvents", func(t *testing.T) {
		status, body := a.admin(http.MethodPost, "/api/webhooks", map[string]any{"url": "https://93.184.215.14/hook", "events": []string{}})
		assert.Equal(t, http.StatusBadRequest, status)
		_, field, _ := errField(body)
		assert.Equal(t, "events", field)
	})
	t.Run("UnknownField", func(t *testing.T) {
		status, _ := a.admin(http.MethodPost, "/api/webhooks", map[string]any{"url": "https://93.184.215.14/hook", "events": []string{"token.created"}, "secret": "mine"})
		assert.Equal(t, http.StatusBadRequest, status)
	})
	list, _ := a.admin(http.MethodGet, "/api/webhooks", nil)
	assert.Equal(t, http.StatusOK, list)
	_, body := a.admin(http.MethodGet, "/api/webhooks", nil)
	assert.Empty(t, body["webhooks"], "nothing was registered")
}

func TestWebhooksAPI_PublicAddressAcceptedInProd(t *testing.T) {
	a := startAPI(t, "prod")
	// An IP literal needs no resolution: a public address is accepted (nothing is sent).
	status, body := a.admin(http.MethodPost, "/api/webhooks", map[string]any{"url": "https://93.184.215.14/hook?tenant=7", "events": []string{notify.TokenRevoked}})
	require.Equal(t, http.StatusCreated, status, "%v", body)
	assert.True(t, strings.HasPrefix(body["secret"].(string), "whsec_"))
}

func TestWebhooksAPI_CRUDAndSecretShownOnce(t *testing.T) {
	a := startAPI(t, "dev")
	status, created := a.admin(http.MethodPost, "/api/webhooks", map[string]any{"url": "http://127.0.0.1:9/hook", "events": []string{notify.TokenRevoked, notify.TokenCreated, notify.TokenCreated}})
	require.Equal(t, http.StatusCreated, status, "%v", created)
	secret, _ := created["secret"].(string)
	require.True(t, strings.HasPrefix(secret, "whsec_"))
	id := created["id"].(string)
	assert.Equal(t, []any{notify.TokenCreated, notify.TokenRevoked}, created["events"], "deduplicated, in the order of the event table")

	status, got := a.admin(http.MethodGet, "/api/webhooks/"+id, nil)
	require.Equal(t, http.StatusOK, status)
	assert.NotContains(t, got, "secret")
	status, list := a.admin(http.MethodGet, "/api/webhooks", nil)
	require.Equal(t, http.StatusOK, status)
	raw, _ := json.Marshal(list)
	assert.NotContains(t, string(raw), strings.TrimPrefix(secret, "whsec_"), "the secret is never listed")
	assert.Len(t, list["webhooks"], 1)

	status, rotated := a.admin(http.MethodPost, "/api/webhooks/"+id+"/_rotate-secret", nil)
	require.Equal(t, http.StatusOK, status)
	newSecret, _ := rotated["secret"].(string)
	assert.True(t, strings.HasPrefix(newSecret, "whsec_"))
	assert.NotEqual(t, secret, newSecret)
	assert.NotEmpty(t, rotated["previousSecretUntil"])
	_, got = a.admin(http.MethodGet, "/api/webhooks/"+id, nil)
	raw, _ = json.Marshal(got)
	assert.NotContains(t, string(raw), strings.TrimPrefix(newSecret, "whsec_"))

	status, _ = a.admin(http.MethodDelete, "/api/webhooks/"+id, nil)
	assert.Equal(t, http.StatusNoContent, status)
	status, _ = a.admin(http.MethodGet, "/api/webhooks/"+id, nil)
	assert.Equal(t, http.StatusNotFound, status)
	status, _ = a.admin(http.MethodDelete, "/api/webhooks/"+id, nil)
	assert.Equal(t, http.StatusNotFound, status)
	for _, bad := range []string{"nope", "wh_..%2F..", "wh_" + strings.Repeat("A", 32)} {
		status, _ = a.admin(http.MethodGet, "/api/webhooks/"+bad, nil)
		assert.Equal(t, http.StatusNotFound, status, bad)
	}

	logs := a.logs.String()
	for _, s := range []string{secret, newSecret, strings.TrimPrefix(secret, "whsec_"), strings.TrimPrefix(newSecret, "whsec_")} {
		assert.NotContains(t, logs, s, "a webhook secret in the logs")
	}
	assert.Contains(t, logs, id, "the endpoint id is logged (the logs were captured)")
}

func TestWebhooksAPI_NonAdmin(t *testing.T) {
	a := startAPI(t, "dev")
	status, cl := a.admin(http.MethodPost, "/api/clients", map[string]any{"name": "issuer", "role": "issuer", "resources": []string{"report:*"}})
	require.Equal(t, http.StatusCreated, status, "%v", cl)
	id, secret := cl["id"].(string), cl["secret"].(string)
	for _, r := range []struct{ method, path string }{
		{http.MethodPost, "/api/webhooks"}, {http.MethodGet, "/api/webhooks"},
		{http.MethodGet, "/api/webhooks/wh_0123456789abcdef0123456789abcdef"},
		{http.MethodDelete, "/api/webhooks/wh_0123456789abcdef0123456789abcdef"},
		{http.MethodPost, "/api/webhooks/wh_0123456789abcdef0123456789abcdef/_rotate-secret"},
		{http.MethodGet, "/api/notifications/dead-letters"},
		{http.MethodPost, "/api/notifications/dead-letters/evt_1~email/_retry"},
		{http.MethodDelete, "/api/notifications/dead-letters/evt_1~email"},
	} {
		var body any
		if r.method == http.MethodPost {
			body = map[string]any{"url": "http://127.0.0.1:9/", "events": []string{notify.TokenCreated}}
		}
		status, _ := a.call(r.method, r.path, id, secret, body)
		assert.Equal(t, http.StatusForbidden, status, "%s %s", r.method, r.path)
		status, _ = a.call(r.method, r.path, "", "", body)
		assert.Equal(t, http.StatusUnauthorized, status, "%s %s without credentials", r.method, r.path)
	}
}

func TestWebhooksAPI_DeadLetterRoutes(t *testing.T) {
	a := startAPI(t, "dev")
	status, body := a.admin(http.MethodGet, "/api/notifications/dead-letters", nil)
	require.Equal(t, http.StatusOK, status)
	assert.Empty(t, body["deadLetters"])
	for _, q := range []string{"?limit=0", "?limit=abc", "?cursor=zz", "?other=1"} {
		status, _ = a.admin(http.MethodGet, "/api/notifications/dead-letters"+q, nil)
		assert.Equal(t, http.StatusBadRequest, status, q)
	}
	status, _ = a.admin(http.MethodPost, "/api/notifications/dead-letters/evt_1~email/_retry", nil)
	assert.Equal(t, http.StatusNotFound, status)
	status, _ = a.admin(http.MethodPost, "/api/notifications/dead-letters/"+strings.Repeat("x", 400)+"/_retry", nil)
	assert.Equal(t, http.StatusNotFound, status)
}

// TestSender_RefusesPrivateAtDialTime: the check at registration is not
// the only one: a host that resolved to a public address then (DNS
// rebinding) is checked again on the address actually dialled.
func TestSender_RefusesPrivateAtDialTime(t *testing.T) {
	rcv := newReceiver(t) // listens on 127.0.0.1
	ep := webhook.Endpoint{ID: "wh_x", URL: rcv.URL, Events: []string{notify.TokenCreated}, Secrets: []webhook.Secret{{Value: "whsec_AAAA"}}}
	err := webhook.NewSender(time.Second, false, time.Now).Send(context.Background(), ep, event("evt_1", notify.TokenCreated))
	require.ErrorIs(t, err, webhook.ErrPrivateAddress)
	ids, _ := rcv.delivered()
	assert.Empty(t, ids)
	// localhost resolves to loopback: refused when dialled too.
	ep.URL = strings.Replace(rcv.URL, "127.0.0.1", "localhost", 1)
	err = webhook.NewSender(time.Second, false, time.Now).Send(context.Background(), ep, event("evt_1", notify.TokenCreated))
	require.ErrorIs(t, err, webhook.ErrPrivateAddress)
	assert.NotContains(t, err.Error(), rcv.URL, "errors never carry the URL")
	// Allowed (dev mode), the same endpoint is reached.
	rcv.setSecrets("whsec_AAAA")
	require.NoError(t, webhook.NewSender(time.Second, true, time.Now).Send(context.Background(), ep, event("evt_1", notify.TokenCreated)))
}

// TestWebhooksAPI_EndpointCountIsBounded: every event is offered to every
// endpoint, so their number is capped (a flood of registrations is 409).
func TestWebhooksAPI_EndpointCountIsBounded(t *testing.T) {
	a := startAPI(t, "dev")
	for i := range webhook.MaxEndpoints {
		status, body := a.admin(http.MethodPost, "/api/webhooks", map[string]any{"url": fmt.Sprintf("http://127.0.0.1:9/h%d", i), "events": []string{notify.TokenCreated}})
		require.Equal(t, http.StatusCreated, status, "%v", body)
	}
	status, body := a.admin(http.MethodPost, "/api/webhooks", map[string]any{"url": "http://127.0.0.1:9/one-more", "events": []string{notify.TokenCreated}})
	assert.Equal(t, http.StatusConflict, status, "%v", body)
}
