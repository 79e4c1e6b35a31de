package config

import (
	"fmt"
	"log/slog"
	"net/mail"
	"net/url"
	"os"
	"slices"
	"strings"
	"time"
)

// Notify configures notifications (issue #15). The email half: the SMTP
// server, the sender, the templates, the manage link and the expiry scanner.
type Notify struct {
	// SMTPURL is the mail server: smtp://[user:pass@]host[:port] (STARTTLS,
	// port 587 by default) or smtps://[user:pass@]host[:port] (implicit TLS,
	// port 465). On smtp:// the query option starttls= is mandatory (the
	// default: refuse a server that does not offer it), opportunistic (use
	// it when offered) or none. Empty turns email off. The password is never
	// logged: only SMTPURLRedacted is shown.
	SMTPURL string `yaml:"smtp_url" env:"SMTP_URL"`
	// SMTPURLFile holds SMTPURL (a secret when it carries a password).
	SMTPURLFile string `yaml:"smtp_url_file" env:"SMTP_URL_FILE"`
	// From is the sender address, e.g. "sigil <sigil@example.com>".
	From string `yaml:"from" env:"FROM"`
	// TemplatesDir overrides the embedded templates: <type>.subject.txt,
	// <type>.txt and <type>.html (type as token.generated) found there
	// replace the built-in ones; missing files keep the built-in ones.
	TemplatesDir string `yaml:"templates_dir" env:"TEMPLATES_DIR"`
	// ManageURL is where an owner manages their tokens, shown in the mails
	// (e.g. https://app.example.com/settings/api-tokens).
	ManageURL string `yaml:"manage_url" env:"MANAGE_URL"`
	// SMTPTimeout bounds one delivery (dial, TLS, auth, send).
	SMTPTimeout time.Duration `yaml:"smtp_timeout" env:"SMTP_TIMEOUT"`
	// ExpiryWarnings are the lead times of token.expiring: one warning per
	// token and lead. Env: comma-separated (168h,24h). Empty turns warnings off.
	ExpiryWarnings []time.Duration `yaml:"expiry_warnings" env:"EXPIRY_WARNINGS" envSeparator:","`
	// ExpiryScanInterval is how often the expiry scanner runs (on one
	// instance at a time: a lease in the store).
	ExpiryScanInterval time.Duration `yaml:"expiry_scan_interval" env:"EXPIRY_SCAN_INTERVAL"`

	// NotifyDelivery holds the outbox, dispatcher and webhook keys
	// (notify_delivery.go), at the same level: notify.max_attempts.
	NotifyDelivery `yaml:",inline"`
}

// defaultNotify is Notify's part of Default.
func defaultNotify() Notify {
	return Notify{
		SMTPTimeout:        30 * time.Second,
		ExpiryWarnings:     []time.Duration{7 * 24 * time.Hour, 24 * time.Hour},
		ExpiryScanInterval: time.Minute,
		NotifyDelivery:     defaultNotifyDelivery(),
	}
}

// SMTPURLRedacted is SMTPURL without its password, for logs and errors.
func (n Notify) SMTPURLRedacted() string { return RedactURL(n.SMTPURL) }

// RedactURL returns raw with any password replaced by "xxxxx"; a URL that
// does not parse is not shown at all.
func RedactURL(raw string) string {
	if raw == "" {
		return ""
	}
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparsable URL)"
	}
	return u.Redacted()
}

// LogValue keeps the SMTP password out of logs.
func (n Notify) LogValue() slog.Value {
	return slog.GroupValue(slog.String("smtp_url", n.SMTPURLRedacted()), slog.String("from", n.From),
		slog.String("templates_dir", n.TemplatesDir), slog.String("manage_url", n.ManageURL))
}

// String keeps the SMTP password out of printed configs.
func (n Notify) String() string {
	return fmt.Sprintf("notify{smtp_url=%s from=%s templates_dir=%s manage_url=%s expiry_warnings=%v}",
		n.SMTPURLRedacted(), n.From, n.TemplatesDir, n.ManageURL, n.ExpiryWarnings)
}

// GoString keeps the SMTP password out of %#v.
func (n Notify) GoString() string { return n.String() }

// readNotifySecret reads notify.smtp_url_file into SMTPURL.
func (c *Config) readNotifySecret() error {
	if c.Notify.SMTPURLFile == "" {
		return nil
	}
	b, err := os.ReadFile(c.Notify.SMTPURLFile)
	if err != nil {
		return fmt.Errorf("notify.smtp_url_file: %w", err)
	}
	c.Notify.SMTPURL = strings.TrimSpace(string(b))
	return nil
}

// SMTPStartTLS values (the starttls query option of an smtp:// URL).
const (
	StartTLSMandatory     = "mandatory"
	StartTLSOpportunistic = "opportunistic"
	StartTLSNone          = "none"
)

// validateNotify reports the invalid notify.* keys through bad. Messages
// never quote the SMTP URL (it may hold a password).
func (c Config) validateNotify(bad func(key, format string, args ...any)) {
	n := c.Notify
	if n.SMTPURL != "" {
		u, err := url.Parse(n.SMTPURL)
		switch {
		case err != nil || (u.Scheme != "smtp" && u.Scheme != "smtps") || u.Hostname() == "":
			bad("notify.smtp_url", "must be smtp://[user:pass@]host[:port] or smtps://[user:pass@]host[:port]")
		case u.Path != "" && u.Path != "/":
			bad("notify.smtp_url", "must not have a path")
		default:
			q := u.Query()
			for k := range q {
				if k != "starttls" {
					bad("notify.smtp_url", "unknown query option %q (known: starttls)", k)
				}
			}
			st := q.Get("starttls")
			if st != "" && u.Scheme == "smtps" {
				bad("notify.smtp_url", "starttls applies to smtp:// only; smtps:// is TLS from the start")
			}
			if st != "" && st != StartTLSMandatory && st != StartTLSOpportunistic && st != StartTLSNone {
				bad("notify.smtp_url", "starttls must be mandatory, opportunistic or none")
			}
			if p := u.Port(); p != "" {
				var port int
				if _, err := fmt.Sscanf(p, "%d", &port); err != nil || port < 1 || port > 65535 {
					bad("notify.smtp_url", "bad port")
				}
			}
			if _, hasPass := u.User.Password(); hasPass && c.Mode == "prod" && u.Scheme == "smtp" && st != "" && st != StartTLSMandatory {
				bad("notify.smtp_url", "in prod mode a password is sent only over TLS: use smtps:// or starttls=mandatory")
			}
		}
		if n.From == "" {
			bad("notify.from", "required with notify.smtp_url")
		}
	}
	if n.From != "" {
		if a, err := mail.ParseAddress(n.From); err != nil || strings.ContainsAny(n.From, "\r\n") || a.Address == "" {
			bad("notify.from", "must be one address such as sigil@example.com or \"sigil <sigil@example.com>\"")
		}
	}
	if n.ManageURL != "" {
		if u, err := url.Parse(n.ManageURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil {
			bad("notify.manage_url", "must be an absolute http(s) URL without credentials")
		}
	}
	if n.TemplatesDir != "" {
		if fi, err := os.Stat(n.TemplatesDir); err != nil || !fi.IsDir() {
			bad("notify.templates_dir", "must be a readable directory")
		}
	}
	if n.SMTPTimeout < time.Second {
		bad("notify.smtp_timeout", "must be at least 1s")
	}
	seen := []time.Duration{}
	for _, d := range n.ExpiryWarnings {
		if d < time.Minute || d > 366*24*time.Hour {
			bad("notify.expiry_warnings", "each lead time must be between 1m and 366 days, got %s", d)
		}
		if slices.Contains(seen, d) {
			bad("notify.expiry_warnings", "lead time %s given twice", d)
		}
		seen = append(seen, d)
	}
	if n.ExpiryScanInterval < time.Second {
		bad("notify.expiry_scan_interval", "must be at least 1s")
	}
}
