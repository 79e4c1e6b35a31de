package email_test

import (
	"context"
	"crypto/tls"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sigil-dev/sigil/internal/notify"
	"github.com/sigil-dev/sigil/internal/notify/email"
	"github.com/sigil-dev/sigil/internal/store/memory"
	"github.com/sigil-dev/sigil/internal/token"
	"github.com/sigil-dev/sigil/test/mailpit"
)

var scopes = map[string]string{"meta:read": "Meta Record", "report:read": "Report Record"}

func newChannel(t *testing.T, mp *mailpit.Server, mod func(*email.Config)) (*email.Channel, *memory.Registry) {
	t.Helper()
	reg := memory.NewRegistry(nil)
	cfg := email.Config{
		URL: mp.SMTPURL(), From: "sigil <sigil@example.com>", Scopes: scopes,
		ManageURL: "https://app.example.com/settings/api-tokens", Timeout: 10 * time.Second,
	}
	if mod != nil {
		mod(&cfg)
	}
	ch, err := email.New(cfg, reg)
	require.NoError(t, err)
	return ch, reg
}

func generatedEvent(id, owner string) notify.Event {
	exp := time.Date(2027, 1, 9, 10, 30, 0, 0, time.UTC)
	gen := time.Date(2026, 12, 3, 10, 30, 0, 0, time.UTC)
	return notify.Event{
		ID: id, Type: notify.TokenGenerated, At: gen, Owner: owner, Actor: "envizi",
		Token: &notify.Token{ID: "rec-1", Type: token.KindAPI, Name: "CI <deploy> & co", Owner: owner,
			Scopes: []string{"meta:read", "report:read"}, ExpiresAt: &exp, GeneratedAt: &gen},
	}
}

// TestDeliver_GenerationMail: one mail to the owner's address, with the
// subject, the token's name (HTML-escaped in the HTML part), the scopes'
// labels, the expiry and the manage link; the Message-ID derives from the
// event id.
func TestDeliver_GenerationMail(t *testing.T) {
	mp := mailpit.Start(t)
	ch, reg := newChannel(t, mp, nil)
	ctx := context.Background()
	require.NoError(t, reg.SetOwnerEmail(ctx, "alice", "alice@example.com"))

	require.NoError(t, ch.Deliver(ctx, generatedEvent("0b7c6f6e-1f9a-4c55-9a43-6f1f0c1b5d11", "alice")))
	msgs := mp.WaitFor(t, 1, 10*time.Second)
	require.Len(t, msgs, 1)
	m := msgs[0]
	assert.Equal(t, `Your API token "CI <deploy> & co" was generated`, m.Subject)
	require.Len(t, m.To, 1)
	assert.Equal(t, "alice@example.com", m.To[0].Address)
	assert.Equal(t, "sigil@example.com", m.From.Address)
	assert.Equal(t, "0b7c6f6e-1f9a-4c55-9a43-6f1f0c1b5d11@example.com", m.MessageID)
	full, err := mp.Message(m.ID)
	require.NoError(t, err)
	for _, want := range []string{"Meta Record", "Report Record", "2027-01-09 10:30 UTC", "https://app.example.com/settings/api-tokens"} {
		assert.Contains(t, full.Text, want)
		assert.Contains(t, full.HTML, want)
	}
	assert.Contains(t, full.Text, "CI <deploy> & co")
	assert.Contains(t, full.HTML, "CI &lt;deploy&gt; &amp; co", "the name is escaped in HTML")
	assert.NotContains(t, full.HTML, "<deploy>")
	raw, err := mp.Raw(m.ID)
	require.NoError(t, err)
	assert.Contains(t, raw, "Auto-Submitted: auto-generated")
	sent, none, _ := ch.Counts()
	assert.Equal(t, int64(1), sent)
	assert.Equal(t, int64(0), none)
}

// TestDeliver_NoAddress: an owner without an address, an event without an
// owner and an event type not mailed are delivered with nothing sent
// (nil: the outbox does not retry them) and counted.
func TestDeliver_NoAddress(t *testing.T) {
	mp := mailpit.Start(t)
	ch, _ := newChannel(t, mp, nil)
	ctx := context.Background()
	require.NoError(t, ch.Deliver(ctx, generatedEvent("e1", "nobody")))
	ev := generatedEvent("e2", "")
	ev.Token.Owner = ""
	require.NoError(t, ch.Deliver(ctx, ev))
	created := generatedEvent("e3", "nobody")
	created.Type = notify.TokenCreated
	require.NoError(t, ch.Deliver(ctx, created))
	sent, none, skipped := ch.Counts()
	assert.Equal(t, [3]int64{0, 2, 1}, [3]int64{sent, none, skipped})
	msgs, err := mp.Messages()
	require.NoError(t, err)
	assert.Empty(t, msgs)
}

// TestDeliver_ServerDown: with the SMTP server stopped Deliver fails (the
// outbox retries); once it is back the same event is sent, with the same
// Message-ID.
func TestDeliver_ServerDown(t *testing.T) {
	mp := mailpit.Start(t)
	ch, reg := newChannel(t, mp, func(c *email.Config) { c.Timeout = 3 * time.Second })
	ctx := context.Background()
	require.NoError(t, reg.SetOwnerEmail(ctx, "alice", "alice@example.com"))
	mp.Stop()
	err := ch.Deliver(ctx, generatedEvent("ev-down", "alice"))
	require.Error(t, err)
	mp.Restart(t)
	require.NoError(t, ch.Deliver(ctx, generatedEvent("ev-down", "alice")))
	msgs := mp.WaitFor(t, 1, 10*time.Second)
	assert.Equal(t, "ev-down@example.com", msgs[0].MessageID)
}

// TestDeliver_STARTTLSAuthAndSecrets: STARTTLS (mandatory, the default of
// smtp://) with the server's certificate verified, then user:pass auth
// against a server that checks it; a wrong password fails and the error
// never carries the password; a server certificate the client does not
// trust fails the send (no silent downgrade).
func TestDeliver_STARTTLSAuthAndSecrets(t *testing.T) {
	dir := t.TempDir()
	// Mailpit's auth file: user:password lines (plain text is accepted).
	authFile := filepath.Join(dir, "auth")
	require.NoError(t, os.WriteFile(authFile, []byte("sigil:s3cret-Pa55\n"), 0o600))
	mp := mailpit.Start(t, mailpit.WithSTARTTLS(), mailpit.WithArgs("--smtp-auth-file", authFile))
	base := strings.TrimPrefix(mp.SMTPURL(), "smtp://")
	ctx := context.Background()
	trust := func(c *email.Config) { c.TLSConfig = &tls.Config{RootCAs: mp.RootCAs(), MinVersion: tls.VersionTLS12} }

	good, reg := newChannel(t, mp, func(c *email.Config) { trust(c); c.URL = "smtp://sigil:s3cret-Pa55@" + base })
	require.NoError(t, reg.SetOwnerEmail(ctx, "alice", "alice@example.com"))
	require.NoError(t, good.Deliver(ctx, generatedEvent("ev-auth", "alice")))
	mp.WaitFor(t, 1, 10*time.Second)

	untrusted, reg3 := newChannel(t, mp, func(c *email.Config) { c.URL = "smtp://sigil:s3cret-Pa55@" + base })
	require.NoError(t, reg3.SetOwnerEmail(ctx, "alice", "alice@example.com"))
	err := untrusted.Deliver(ctx, generatedEvent("ev-untrusted", "alice"))
	require.Error(t, err, "a certificate the client does not trust is refused")
	assert.NotContains(t, err.Error(), "s3cret-Pa55")

	bad, reg2 := newChannel(t, mp, func(c *email.Config) { trust(c); c.URL = "smtp://sigil:wrong-Pa55word@" + base })
	require.NoError(t, reg2.SetOwnerEmail(ctx, "alice", "alice@example.com"))
	err = bad.Deliver(ctx, generatedEvent("ev-auth-bad", "alice"))
	require.Error(t, err)
	assert.NotContains(t, err.Error(), "wrong-Pa55word")

	_, err = email.New(email.Config{URL: "smtp://u:hunter2-secret@[bad", From: "a@b.c"}, reg)
	require.Error(t, err)
	assert.NotContains(t, err.Error(), "hunter2-secret")
}

// TestTemplatesOverride: a file in the templates directory replaces the
// embedded one; a template that does not render fails New, not a delivery.
func TestTemplatesOverride(t *testing.T) {
	mp := mailpit.Start(t)
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "token.generated.subject.txt"), []byte("New token {{.Token.Name}}\nBcc: evil@example.com"), 0o600))
	ch, reg := newChannel(t, mp, func(c *email.Config) { c.TemplatesDir = dir })
	ctx := context.Background()
	require.NoError(t, reg.SetOwnerEmail(ctx, "alice", "alice@example.com"))
	require.NoError(t, ch.Deliver(ctx, generatedEvent("ev-tpl", "alice")))
	msgs := mp.WaitFor(t, 1, 10*time.Second)
	assert.Equal(t, "New token CI <deploy> & co Bcc: evil@example.com", msgs[0].Subject, "a subject stays one line: no header injection")
	raw, err := mp.Raw(msgs[0].ID)
	require.NoError(t, err)
	assert.NotContains(t, raw, "\nBcc:")

	require.NoError(t, os.WriteFile(filepath.Join(dir, "token.revoked.txt"), []byte(`{{define "body"}}{{.NoSuchField}}{{end}}`), 0o600))
	_, err = email.New(email.Config{URL: mp.SMTPURL(), From: "a@example.com", TemplatesDir: dir}, reg)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "token.revoked")
}

func TestMessageID(t *testing.T) {
	assert.Equal(t, "abc-123@example.com", email.MessageID("abc-123", "example.com"))
	assert.Equal(t, "a=3Ab=20c=3Ed@sigil", email.MessageID("a:b c>d", ""))
	assert.NotContains(t, email.MessageID("a..b", "x"), "..")
}
