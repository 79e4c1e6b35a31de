package app

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"slices"

	"github.com/sigil-dev/sigil/internal/metrics"
	"github.com/sigil-dev/sigil/internal/notify"
	"github.com/sigil-dev/sigil/internal/notify/webhook"
	"github.com/sigil-dev/sigil/internal/registry"
	"github.com/sigil-dev/sigil/internal/store/memory"
	redisstore "github.com/sigil-dev/sigil/internal/store/redis"
)

// WithChannels adds notification channels beside those cfg configures
// (tests: a channel that records what it receives).
func WithChannels(chs ...notify.Channel) Option {
	return func(o *options) { o.channels = append(o.channels, chs...) }
}

// WithNotifyRand sets the jitter source of the notification backoff (a
// number in [0, 1); default math/rand/v2).
func WithNotifyRand(r func() float64) Option { return func(o *options) { o.notifyRand = r } }

// notifier is the notification half of the App: the outbox producers
// emit to, and the dispatcher that delivers it.
type notifier struct {
	outbox     notify.Outbox
	dispatcher *notify.Dispatcher
	// fixed are the channels every event is offered to (email).
	fixed []notify.Channel
	// routers add destinations of their own (the webhook endpoints).
	routers []notify.Router
	// confirm gates delivery on the change an event reports (nil: none).
	confirm notify.Confirmer
}

// openOutbox is the outbox of st: the shared one in Redis, else the
// in-process one (not durable).
func openOutbox(st Store, o *options) notify.Outbox {
	if rs, ok := st.(*redisstore.Store); ok {
		return rs.Outbox()
	}
	return memory.NewOutbox(o.now)
}

// webhooks is the webhook endpoint service, over the store of st.
func (a *App) webhooks(st Store) *webhook.Service {
	var ws webhook.Store
	if rs, ok := st.(*redisstore.Store); ok {
		ws = rs.Webhooks()
	} else {
		ws = memory.NewWebhooks()
	}
	n := a.cfg.Notify
	return webhook.NewService(webhook.Config{
		Store: ws, AllowPrivate: n.AllowPrivate(a.cfg.Mode), Timeout: n.WebhookTimeout, Grace: n.WebhookSecretGrace,
		Now: a.now, Logger: a.log,
	})
}

// notifyChannels builds the fixed channels cfg configures (email, #15:
// notify_email.go), plus those the options inject. Channels built here must
// not log secrets.
func (a *App) notifyChannels(o *options, reg registry.Store, scopes map[string]string) ([]notify.Channel, error) {
	chs := slices.Clone(o.channels)
	mail, err := a.emailChannel(reg, scopes)
	if err != nil {
		return nil, err
	}
	if mail != nil {
		chs = append(chs, mail)
	}
	return chs, nil
}

// startNotify starts the dispatcher over nt until ctx ends; its counts
// feed the notify metrics.
func (a *App) startNotify(ctx context.Context, nt *notifier, m *metrics.Metrics, o *options) {
	cfg := a.cfg.Notify
	obs := m.Notify(
		func(ch string) float64 { return float64(nt.dispatcher.Pending(ch)) },
		func(ch string) float64 { return float64(nt.dispatcher.DeadLetters(ch)) },
	)
	nt.dispatcher = notify.NewDispatcher(notify.DispatcherConfig{
		Outbox: nt.outbox, Router: notify.NewRoutes(nt.fixed, nt.routers...),
		Confirm: nt.confirm, ConfirmWindow: cfg.ConfirmWindow,
		Consumer: consumerName(), MaxAttempts: cfg.MaxAttempts,
		BackoffBase: cfg.BackoffBase, BackoffMax: cfg.BackoffMax, Lease: cfg.Lease, Concurrency: cfg.Concurrency,
		Now: a.now, Rand: o.notifyRand, Logger: a.log, Observer: obs,
	})
	m.CounterFunc("sigil_notify_dropped_total", "Events dropped because the change they report never became visible within notify.confirm_window (the change failed).", func() float64 {
		return float64(nt.dispatcher.Dropped())
	})
	a.wg.Add(1)
	go func() { defer a.wg.Done(); nt.dispatcher.Run(ctx, cfg.PollInterval) }()
}

// consumerName names this instance in the outbox's consumer group: the
// host name and a random suffix (two processes on one host differ).
func consumerName() string {
	host, _ := os.Hostname()
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return host + "-" + hex.EncodeToString(b)
}
