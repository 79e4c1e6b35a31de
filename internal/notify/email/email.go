// Package email is the email channel of notifications: it renders an
// event's templates (plain text and HTML) and sends them to the owner's
// address through an SMTP server (github.com/wneessen/go-mail).
package email

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/mail"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	gomail "github.com/wneessen/go-mail"

	"github.com/sigil-dev/sigil/internal/notify"
)

// ChannelName is the channel's name (notify.Channel.Name, its destination
// in the outbox and its metric label).
const ChannelName = notify.ChannelEmail

// DefaultEvents are the event types mailed when Config.Events is empty:
// every type but token.created (the token.generated mail that follows a
// creation with a token says it all; a creation without one needs no mail).
var DefaultEvents = []string{
	notify.TokenGenerated, notify.TokenRevoked, notify.TokenExpiring, notify.TokenExpired,
	notify.TokenAuthFailures, notify.RoleGranted, notify.RoleWithdrawn,
}

// Recipients finds an owner's email address; "" (and a nil error) when the
// owner has none. The registry store satisfies it.
type Recipients interface {
	OwnerEmail(ctx context.Context, owner string) (string, error)
}

// Config configures a Channel.
type Config struct {
	// URL is notify.smtp_url: smtp://[user:pass@]host[:port][?starttls=mandatory|opportunistic|none]
	// or smtps://[user:pass@]host[:port].
	URL string
	// From is the sender, "sigil@example.com" or "sigil <sigil@example.com>".
	From string
	// TemplatesDir overrides the embedded templates file by file; "" for none.
	TemplatesDir string
	// ManageURL is where owners manage their tokens; shown in every mail.
	ManageURL string
	// Scopes maps scopes to their labels (registry.scopes).
	Scopes map[string]string
	// Events are the types mailed; nil means DefaultEvents.
	Events []string
	// Timeout bounds one send (dial, TLS, auth, data); default 30s.
	Timeout time.Duration
	// TLSConfig is used for STARTTLS and smtps:// (default: system roots,
	// TLS 1.2 or later, the URL's host as server name).
	TLSConfig *tls.Config
	// Logger receives what was sent or skipped (never the password).
	Logger *slog.Logger
}

// Channel sends events by email; it implements notify.Channel.
type Channel struct {
	host      string
	port      int
	ssl       bool
	tlsPolicy gomail.TLSPolicy
	user      string
	pass      string
	tlsConfig *tls.Config
	timeout   time.Duration

	from       *mail.Address
	fromDomain string
	manageURL  string
	scopes     map[string]string
	events     []string
	templates  map[string]set
	rcpt       Recipients
	log        *slog.Logger

	sent, noAddress, skipped atomic.Int64
}

var (
	_ notify.Channel = (*Channel)(nil)
	_ notify.Wanter  = (*Channel)(nil)
)

// New returns the channel for cfg, with recipients looked up in rcpt. It
// fails on a bad URL or sender and on templates that do not parse or
// render; errors never quote the URL (it may carry a password).
func New(cfg Config, rcpt Recipients) (*Channel, error) {
	if rcpt == nil {
		return nil, errors.New("email: recipients are required")
	}
	c := &Channel{rcpt: rcpt, manageURL: cfg.ManageURL, scopes: maps.Clone(cfg.Scopes), log: cfg.Logger, timeout: cfg.Timeout}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	if c.timeout <= 0 {
		c.timeout = 30 * time.Second
	}
	if err := c.parseURL(cfg.URL); err != nil {
		return nil, err
	}
	from, err := mail.ParseAddress(cfg.From)
	if err != nil || strings.ContainsAny(cfg.From, "\r\n") {
		return nil, errors.New("email: notify.from must be one address")
	}
	c.from = from
	c.fromDomain = from.Address[strings.LastIndexByte(from.Address, '@')+1:]
	c.events = slices.Clone(cfg.Events)
	if len(c.events) == 0 {
		c.events = slices.Clone(DefaultEvents)
	}
	for _, t := range c.events {
		if !knownType(t) {
			return nil, fmt.Errorf("email: unknown event type %q", t)
		}
	}
	if c.templates, err = loadTemplates(cfg.TemplatesDir); err != nil {
		return nil, fmt.Errorf("email: %w", err)
	}
	c.tlsConfig = cfg.TLSConfig
	if c.tlsConfig == nil {
		c.tlsConfig = &tls.Config{MinVersion: tls.VersionTLS12}
	} else {
		c.tlsConfig = c.tlsConfig.Clone()
	}
	if c.tlsConfig.ServerName == "" {
		c.tlsConfig.ServerName = c.host
	}
	return c, nil
}

// parseURL reads notify.smtp_url; errors name the key, never the value.
func (c *Channel) parseURL(raw string) error {
	bad := func(why string) error { return fmt.Errorf("email: notify.smtp_url: %s", why) }
	u, err := url.Parse(raw)
	if err != nil {
		return bad("not a URL")
	}
	c.host = u.Hostname()
	if c.host == "" {
		return bad("no host")
	}
	st := u.Query().Get("starttls")
	switch u.Scheme {
	case "smtps":
		c.ssl, c.port = true, 465
		if st != "" {
			return bad("starttls applies to smtp:// only")
		}
	case "smtp":
		c.port = 587
		switch st {
		case "", "mandatory":
			c.tlsPolicy = gomail.TLSMandatory
		case "opportunistic":
			c.tlsPolicy = gomail.TLSOpportunistic
		case "none":
			c.tlsPolicy = gomail.NoTLS
		default:
			return bad("starttls must be mandatory, opportunistic or none")
		}
	default:
		return bad("the scheme must be smtp or smtps")
	}
	if p := u.Port(); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > 65535 {
			return bad("bad port")
		}
		c.port = n
	}
	if u.User != nil {
		c.user = u.User.Username()
		c.pass, _ = u.User.Password()
	}
	return nil
}

// Name is "email".
func (c *Channel) Name() string { return ChannelName }

// Counts reports how many mails were sent, how many events had no address
// to go to (delivered with nothing to send) and how many were of a type
// not mailed.
func (c *Channel) Counts() (sent, noAddress, skipped int64) {
	return c.sent.Load(), c.noAddress.Load(), c.skipped.Load()
}

// Wants reports whether events of type typ are mailed (the outbox makes
// no email delivery of the others).
func (c *Channel) Wants(typ string) bool { return c.wants(typ) }

func (c *Channel) wants(typ string) bool { return slices.Contains(c.events, typ) }

// Deliver mails e to its owner. An event of a type not mailed, without an
// owner, or whose owner has no address is delivered with nothing sent (nil:
// never retried). A lookup or SMTP failure is returned for the outbox to
// retry; the Message-ID is derived from e.ID, so a retried send of a mail
// the server did take is recognisable as the same message.
func (c *Channel) Deliver(ctx context.Context, e notify.Event) error {
	if !c.wants(e.Type) {
		c.skipped.Add(1)
		return nil
	}
	owner := e.Owner
	if owner == "" && e.Token != nil {
		owner = e.Token.Owner
	}
	if owner == "" {
		c.noAddress.Add(1)
		return nil
	}
	to, err := c.rcpt.OwnerEmail(ctx, owner)
	if err != nil {
		return fmt.Errorf("email: look up the address of the owner: %w", err)
	}
	if to == "" {
		c.noAddress.Add(1)
		c.log.DebugContext(ctx, "notify email: owner has no address; nothing sent", "event", e.ID, "type", e.Type)
		return nil
	}
	m, err := c.Message(e, to)
	if err != nil {
		return err
	}
	if err := c.send(ctx, m); err != nil {
		return err
	}
	c.sent.Add(1)
	c.log.InfoContext(ctx, "notify email sent", "event", e.ID, "type", e.Type)
	return nil
}

// jwtLike matches a compact JWS: a last guard that no mail ever carries a token.
var jwtLike = regexp.MustCompile(`eyJ[A-Za-z0-9_-]{2,}\.[A-Za-z0-9_-]{2,}\.[A-Za-z0-9_-]{2,}`)

// Message renders the mail for e to address to (exported for tests and
// previews; Deliver sends it).
func (c *Channel) Message(e notify.Event, to string) (*gomail.Msg, error) {
	s, ok := c.templates[e.Type]
	if !ok {
		return nil, fmt.Errorf("email: no template for event type %q", e.Type)
	}
	subject, text, html, err := s.render(buildData(e, c.scopes, c.manageURL))
	if err != nil {
		return nil, fmt.Errorf("email: render %s: %w", e.Type, err)
	}
	if jwtLike.MatchString(subject) || jwtLike.MatchString(text) || jwtLike.MatchString(html) {
		return nil, fmt.Errorf("email: the rendered %s mail looks like it carries a token; not sent", e.Type)
	}
	m := gomail.NewMsg()
	m.FromMailAddress(c.from)
	if err := m.To(to); err != nil {
		return nil, fmt.Errorf("email: the owner's address is not valid: %w", err)
	}
	m.Subject(subject)
	m.SetMessageIDWithValue(MessageID(e.ID, c.fromDomain))
	m.SetDateWithValue(e.At)
	m.SetGenHeader("Auto-Submitted", "auto-generated")
	m.SetGenHeader("X-Sigil-Event", e.Type)
	m.SetGenHeader("X-Sigil-Event-Id", e.ID)
	m.SetBodyString(gomail.TypeTextPlain, text)
	m.AddAlternativeString(gomail.TypeTextHTML, html)
	return m, nil
}

// MessageID is the Message-ID (without angle brackets) of the mail for the
// event id: the id, with any character a Message-ID may not hold written
// as =XX, at domain ("sigil" when empty).
func MessageID(eventID, domain string) string {
	var b strings.Builder
	for i := 0; i < len(eventID); i++ {
		ch := eventID[i]
		if ch < 0x80 && (ch >= 'a' && ch <= 'z' || ch >= 'A' && ch <= 'Z' || ch >= '0' && ch <= '9' || strings.IndexByte("!#$%&'*+-/?^_`{|}~.", ch) >= 0) {
			b.WriteByte(ch)
			continue
		}
		fmt.Fprintf(&b, "=%02X", ch)
	}
	left := strings.Trim(b.String(), ".")
	for strings.Contains(left, "..") {
		left = strings.ReplaceAll(left, "..", ".=2E")
	}
	if left == "" {
		left = "event"
	}
	if domain == "" {
		domain = "sigil"
	}
	return left + "@" + domain
}

// send dials the server and sends m, within the timeout.
func (c *Channel) send(ctx context.Context, m *gomail.Msg) error {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	opts := []gomail.Option{
		gomail.WithPort(c.port), gomail.WithTimeout(c.timeout), gomail.WithTLSConfig(c.tlsConfig),
	}
	if c.ssl {
		opts = append(opts, gomail.WithSSL())
	} else {
		opts = append(opts, gomail.WithTLSPolicy(c.tlsPolicy))
	}
	if c.user != "" {
		opts = append(opts, gomail.WithSMTPAuth(gomail.SMTPAuthAutoDiscover),
			gomail.WithUsername(c.user), gomail.WithPassword(c.pass))
	}
	cl, err := gomail.NewClient(c.host, opts...)
	if err != nil {
		return fmt.Errorf("email: smtp client: %w", c.scrub(err))
	}
	if err := cl.DialAndSendWithContext(ctx, m); err != nil {
		return fmt.Errorf("email: send to %s:%d: %w", c.host, c.port, c.scrub(err))
	}
	return nil
}

// scrub makes sure an error never carries the password.
func (c *Channel) scrub(err error) error {
	if c.pass == "" || !strings.Contains(err.Error(), c.pass) {
		return err
	}
	return errors.New(strings.ReplaceAll(err.Error(), c.pass, "xxxxx"))
}
