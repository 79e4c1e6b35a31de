package app

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/sigil-dev/sigil/internal/metrics"
	"github.com/sigil-dev/sigil/internal/notify"
	"github.com/sigil-dev/sigil/internal/notify/email"
	"github.com/sigil-dev/sigil/internal/notify/expiry"
	"github.com/sigil-dev/sigil/internal/registry"
)

// emailChannel is the email channel of notify.smtp_url (#15), mailing each
// owner at the address stored beside the owner's roles; nil when
// notify.smtp_url is empty. It is logged without the password.
func (a *App) emailChannel(reg registry.Store, scopes map[string]string) (notify.Channel, error) {
	n := a.cfg.Notify
	if n.SMTPURL == "" {
		return nil, nil
	}
	ch, err := email.New(email.Config{
		URL: n.SMTPURL, From: n.From, TemplatesDir: n.TemplatesDir, ManageURL: n.ManageURL,
		Scopes: scopes, Timeout: n.SMTPTimeout, Logger: a.log,
	}, reg)
	if err != nil {
		return nil, fmt.Errorf("notify email: %w", err)
	}
	a.log.Info("notify email on", slog.String("smtp_url", n.SMTPURLRedacted()), slog.String("from", n.From))
	return ch, nil
}

// scopeLabels are the scopes and labels the mails show: registry.scopes,
// or the built-in ones as the registry uses them.
func scopeLabels(configured map[string]string) map[string]string {
	if len(configured) == 0 {
		return registry.DefaultScopes()
	}
	return configured
}

// observeEmail exports the email channel's own counts (among chs):
// mails sent, and events delivered with nothing to send because the owner
// has no address.
func observeEmail(m *metrics.Metrics, chs []notify.Channel) {
	for _, ch := range chs {
		mail, ok := ch.(*email.Channel)
		if !ok {
			continue
		}
		m.CounterFunc("sigil_notify_email_sent_total", "Notification mails the SMTP server accepted.", func() float64 {
			sent, _, _ := mail.Counts()
			return float64(sent)
		})
		m.CounterFunc("sigil_notify_email_no_address_total", "Events for the email channel delivered with nothing sent: the owner has no address.", func() float64 {
			_, none, _ := mail.Counts()
			return float64(none)
		})
		return
	}
}

// startExpiry runs the expiry scanner (#15) over the registry store,
// emitting to the outbox, until ctx ends; on one instance at a time (its
// lease in the store).
func (a *App) startExpiry(ctx context.Context, reg registry.Store, em notify.Emitter) {
	st, ok := reg.(expiry.Store)
	if !ok {
		a.log.Warn("the registry store keeps no expiry scanner state: expiry warnings are off")
		return
	}
	leads := append([]time.Duration{}, a.cfg.Notify.ExpiryWarnings...)
	sc, err := expiry.New(expiry.Config{
		Store: st, Emitter: em, Leads: leads, Interval: a.cfg.Notify.ExpiryScanInterval, Now: a.now, Logger: a.log,
	})
	if err != nil {
		a.log.Warn("expiry scanner off", slog.String("err", err.Error()))
		return
	}
	a.wg.Add(1)
	go func() { defer a.wg.Done(); sc.Run(ctx) }()
}
