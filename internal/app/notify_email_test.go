package app_test

import (
	"bufio"
	"context"
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
	"github.com/sigil-dev/sigil/pkg/client"
	"github.com/sigil-dev/sigil/test/apiserver"
	"github.com/sigil-dev/sigil/test/mailpit"
	"github.com/sigil-dev/sigil/test/redisserver"
)

// roleMail is the subject of owner.role_granted.
const roleMail = "You may now hold API tokens"

// mailGuard bounds every wait for a mail (a guard against a hang, not a
// timed assertion: the tests wait for an outcome).
const mailGuard = 60 * time.Second

// emailSigil starts sigil (app.New, as sigil serve) on rds with email
// through mp, notifications polled fast, the expiry scanner every 200ms and
// the clock clk.
func emailSigil(t *testing.T, rds *redisserver.Server, mp *mailpit.Server, clk *testclock.Clock, opts ...apiserver.Option) (*apiserver.Server, *client.Client) {
	t.Helper()
	base := []apiserver.Option{
		apiserver.WithConfig(func(c *config.Config) {
			c.Redis.URL = rds.URL()
			c.Pepper = "pepper-0123456789abcdef0123456789"
			c.AdminSecret = "admin-secret-0123456789abcdef0123"
			c.Notify.SMTPURL = mp.SMTPURL()
			c.Notify.From = "sigil <sigil@example.com>"
			c.Notify.ManageURL = "https://app.example.com/settings/api-tokens"
			c.Notify.SMTPTimeout = 5 * time.Second
			c.Notify.ExpiryScanInterval = 200 * time.Millisecond
			c.Notify.PollInterval = 50 * time.Millisecond
			c.Notify.BackoffBase = 100 * time.Millisecond
			c.Notify.BackoffMax = 500 * time.Millisecond
			c.Notify.MaxAttempts = 100
		}),
		apiserver.WithApp(app.WithNow(clk.Now)),
	}
	srv := apiserver.Start(t, append(base, opts...)...)
	admin, err := client.New(srv.URL, client.WithCredentials("admin", srv.AdminSecret))
	require.NoError(t, err)
	return srv, admin
}

// pendingEmail reads sigil_notify_pending{channel="email"} from /metrics.
func pendingEmail(t *testing.T, base string) float64 {
	t.Helper()
	resp, err := http.Get(base + "/metrics")
	require.NoError(t, err)
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, `sigil_notify_pending{channel="email"}`) {
			v, err := strconv.ParseFloat(strings.TrimSpace(line[strings.LastIndexByte(line, ' '):]), 64)
			require.NoError(t, err)
			return v
		}
	}
	return 0
}

// settle waits until no email delivery is pending (a guard bounds it).
func settle(t *testing.T, base string) {
	t.Helper()
	deadline := time.Now().Add(mailGuard)
	for pendingEmail(t, base) > 0 {
		require.True(t, time.Now().Before(deadline), "email deliveries still pending after %s", mailGuard)
		time.Sleep(50 * time.Millisecond)
	}
}

// subjects counts received messages by subject.
func subjects(t *testing.T, mp *mailpit.Server) map[string]int {
	t.Helper()
	msgs, err := mp.Messages()
	require.NoError(t, err)
	out := map[string]int{}
	for _, m := range msgs {
		out[m.Subject]++
	}
	return out
}

// waitSubject waits until a message with subject has arrived.
func waitSubject(t *testing.T, mp *mailpit.Server, subject string) {
	t.Helper()
	deadline := time.Now().Add(mailGuard)
	for subjects(t, mp)[subject] == 0 {
		require.True(t, time.Now().Before(deadline), "no mail %q after %s; have %v", subject, mailGuard, subjects(t, mp))
		time.Sleep(50 * time.Millisecond)
	}
}

// TestNotifyEmail_ExpiryWarnings: a 30-day API token, the clock moved to
// 7 days before its expiry, then 1 day before: the owner gets the 7-day
// warning once and the 1-day warning once, through the outbox and a real
// SMTP server, with sigil restarted between the two (the restart does not
// resend the first), then the expiry mail once.
func TestNotifyEmail_ExpiryWarnings(t *testing.T) {
	rds, mp := redisserver.Start(t), mailpit.Start(t)
	clk := testclock.Wall()
	srv, admin := emailSigil(t, rds, mp, clk)
	ctx := context.Background()
	_, err := admin.SetOwnerEmail(ctx, "ana", "ana@example.com")
	require.NoError(t, err)
	require.NoError(t, admin.SetAPITokensRole(ctx, "ana", true))
	tok, err := admin.CreateToken(ctx, client.CreateTokenRequest{Type: client.KindAPI, Name: "nightly export", Owner: "ana",
		Scopes: []string{"meta:read", "report:read"}, ExpiresIn: "30d"})
	require.NoError(t, err)
	require.NotEmpty(t, tok.Token)
	waitSubject(t, mp, roleMail)
	waitSubject(t, mp, `Your API token "nightly export" was generated`)
	settle(t, srv.URL)
	require.NoError(t, mp.DeleteAll(), "start counting from the warnings")

	const week, day = `Your API token "nightly export" expires in 7 days`, `Your API token "nightly export" expires in 1 day`
	clk.Advance(23*24*time.Hour + time.Hour)
	waitSubject(t, mp, week)
	settle(t, srv.URL)

	srv.Close()
	clk.Advance(time.Hour)
	srv, _ = emailSigil(t, rds, mp, clk)
	clk.Advance(6*24*time.Hour + time.Hour) // 29 days + 3h: within the last day
	waitSubject(t, mp, day)
	settle(t, srv.URL)
	got := subjects(t, mp)
	assert.Equal(t, map[string]int{week: 1, day: 1}, got, "each warning once, the restart resent nothing")

	clk.Advance(24 * time.Hour)
	waitSubject(t, mp, `Your API token "nightly export" has expired`)
	settle(t, srv.URL)
	msgs, err := mp.Messages()
	require.NoError(t, err)
	assert.Len(t, msgs, 3)
	for _, m := range msgs {
		require.Len(t, m.To, 1)
		assert.Equal(t, "ana@example.com", m.To[0].Address)
		raw, err := mp.Raw(m.ID)
		require.NoError(t, err)
		assert.NotContains(t, raw, tok.Token, "no mail carries the JWT")
		assert.NotContains(t, raw, tok.Token[len(tok.Token)-16:], "nor its tail")
		if strings.Contains(m.Subject, "expires in") {
			full, err := mp.Message(m.ID)
			require.NoError(t, err)
			assert.Contains(t, full.Text, "Meta Record")
			assert.Contains(t, full.HTML, "Report Record")
		}
	}
}

// TestNotifyEmail_GenerationMail: creating an API token with its first JWT
// sends the owner exactly one mail (token.created is not mailed), with the
// subject, the scopes' labels, the expiry and the manage link, a
// Message-ID derived from the event id, and never the JWT (neither whole
// nor its last six characters, in the raw message or the decoded bodies).
func TestNotifyEmail_GenerationMail(t *testing.T) {
	rds, mp := redisserver.Start(t), mailpit.Start(t)
	srv, admin := emailSigil(t, rds, mp, testclock.Wall())
	ctx := context.Background()
	_, err := admin.SetOwnerEmail(ctx, "ana", "ana@example.com")
	require.NoError(t, err)
	require.NoError(t, admin.SetAPITokensRole(ctx, "ana", true))
	waitSubject(t, mp, roleMail)
	settle(t, srv.URL)
	require.NoError(t, mp.DeleteAll(), "count from the token on (the role mail is another matter)")

	start := time.Now()
	tok, err := admin.CreateToken(ctx, client.CreateTokenRequest{Type: client.KindAPI, Name: "CI deploy", Owner: "ana",
		Scopes: []string{"meta:read", "report:read"}, ExpiresIn: "30d"})
	require.NoError(t, err)
	require.NotEmpty(t, tok.Token)
	require.NotNil(t, tok.ExpiresAt)
	mp.WaitFor(t, 1, mailGuard)
	t.Logf("figure: generation mail in Mailpit %s after POST /api/tokens", time.Since(start).Round(time.Millisecond))
	settle(t, srv.URL)
	msgs, err := mp.Messages()
	require.NoError(t, err)
	require.Len(t, msgs, 1, "exactly one mail")
	m := msgs[0]
	assert.Equal(t, `Your API token "CI deploy" was generated`, m.Subject)
	require.Len(t, m.To, 1)
	assert.Equal(t, "ana@example.com", m.To[0].Address)
	assert.True(t, strings.HasPrefix(m.MessageID, "generated."+tok.ID+"."), "Message-ID %q derives from the event id", m.MessageID)
	assert.True(t, strings.HasSuffix(m.MessageID, "@example.com"))

	full, err := mp.Message(m.ID)
	require.NoError(t, err)
	expiry := tok.ExpiresAt.UTC().Format("2006-01-02 15:04 UTC")
	for _, want := range []string{"CI deploy", "Meta Record", "Report Record", expiry, "https://app.example.com/settings/api-tokens"} {
		assert.Contains(t, full.Text, want)
		assert.Contains(t, full.HTML, want)
	}
	raw, err := mp.Raw(m.ID)
	require.NoError(t, err)
	tail := tok.Token[len(tok.Token)-6:]
	for what, s := range map[string]string{"raw": raw, "text": full.Text, "html": full.HTML} {
		assert.NotContains(t, s, tok.Token, "%s carries the JWT", what)
		assert.NotContains(t, s, tail, "%s carries the JWT's last 6 characters", what)
		assert.NotContains(t, s, tok.Token[:strings.LastIndexByte(tok.Token, '.')], "%s carries the JWT's signed part", what)
	}
}

// TestNotifyEmail_SMTPDown: with the SMTP server stopped, three tokens are
// generated (the API answers as usual); once it is started again all three
// mails arrive, none twice.
func TestNotifyEmail_SMTPDown(t *testing.T) {
	rds, mp := redisserver.Start(t), mailpit.Start(t)
	srv, admin := emailSigil(t, rds, mp, testclock.Wall())
	ctx := context.Background()
	_, err := admin.SetOwnerEmail(ctx, "ana", "ana@example.com")
	require.NoError(t, err)
	require.NoError(t, admin.SetAPITokensRole(ctx, "ana", true))
	waitSubject(t, mp, roleMail)
	settle(t, srv.URL)
	require.NoError(t, mp.DeleteAll())

	mp.Stop()
	var names []string
	for i := range 3 {
		name := "down-" + strconv.Itoa(i)
		names = append(names, name)
		_, err := admin.CreateToken(ctx, client.CreateTokenRequest{Type: client.KindAPI, Name: name, Owner: "ana", Scopes: []string{"meta:read"}, ExpiresIn: "7d"})
		require.NoError(t, err, "the API does not wait for the mail server")
	}
	deadline := time.Now().Add(mailGuard)
	for pendingEmail(t, srv.URL) < 3 {
		require.True(t, time.Now().Before(deadline), "three email deliveries should wait")
		time.Sleep(50 * time.Millisecond)
	}
	mp.Restart(t)
	back := time.Now()
	mp.WaitFor(t, 3, mailGuard)
	t.Logf("figure: 3 pending mails delivered %s after the SMTP server came back", time.Since(back).Round(time.Millisecond))
	settle(t, srv.URL)
	got := subjects(t, mp)
	want := map[string]int{}
	for _, n := range names {
		want[`Your API token "`+n+`" was generated`] = 1
	}
	assert.Equal(t, want, got, "all three, none twice")
}
