package config

import "time"

// NotifyDelivery is the delivery half of Notify (issue #15): the outbox
// dispatcher, the webhooks and the auth-failure events; its keys sit
// directly under notify (notify.max_attempts).
type NotifyDelivery struct {
	// MaxAttempts is how many times a delivery is tried before it becomes a
	// dead letter.
	MaxAttempts int `yaml:"max_attempts" env:"MAX_ATTEMPTS"`
	// BackoffBase is the delay after the first failed attempt; each next
	// one doubles it (with jitter: a delay d is drawn in [d/2, d]), up to
	// BackoffMax.
	BackoffBase time.Duration `yaml:"backoff_base" env:"BACKOFF_BASE"`
	BackoffMax  time.Duration `yaml:"backoff_max" env:"BACKOFF_MAX"`
	// PollInterval is how often an instance looks for new events and due
	// deliveries.
	PollInterval time.Duration `yaml:"poll_interval" env:"POLL_INTERVAL"`
	// Lease is how long an instance holds a delivery it is attempting;
	// after it another instance may take it (a crashed instance). Also the
	// idle time after which an event read by a crashed instance is claimed
	// by another (XAUTOCLAIM). Must exceed webhook_timeout.
	Lease time.Duration `yaml:"lease" env:"LEASE"`
	// Concurrency bounds the deliveries one instance attempts at once.
	Concurrency int `yaml:"concurrency" env:"CONCURRENCY"`
	// ConfirmWindow is how long an event whose change is not (yet) visible
	// in the store is kept before it is dropped as the trace of a change
	// that failed (docs/notifications.md, "Guarantees").
	ConfirmWindow time.Duration `yaml:"confirm_window" env:"CONFIRM_WINDOW"`
	// WebhookTimeout bounds one webhook request.
	WebhookTimeout time.Duration `yaml:"webhook_timeout" env:"WEBHOOK_TIMEOUT"`
	// WebhooksAllowPrivate lets webhooks reach loopback, private,
	// link-local and unspecified addresses; unset: true in dev mode,
	// false in prod mode.
	WebhooksAllowPrivate *bool `yaml:"webhooks_allow_private" env:"WEBHOOKS_ALLOW_PRIVATE"`
	// WebhookSecretGrace is how long a rotated-out webhook secret still
	// signs beside the new one.
	WebhookSecretGrace time.Duration `yaml:"webhook_secret_grace" env:"WEBHOOK_SECRET_GRACE"`
	// AuthFailureThreshold failed authentications with one registered token
	// within AuthFailureWindow make one token.auth_failures event (one per
	// window); 0 turns the event off.
	AuthFailureThreshold int           `yaml:"auth_failure_threshold" env:"AUTH_FAILURE_THRESHOLD"`
	AuthFailureWindow    time.Duration `yaml:"auth_failure_window" env:"AUTH_FAILURE_WINDOW"`
}

// AllowPrivate resolves notify.webhooks_allow_private for mode.
func (n NotifyDelivery) AllowPrivate(mode string) bool {
	if n.WebhooksAllowPrivate != nil {
		return *n.WebhooksAllowPrivate
	}
	return mode == "dev"
}

func defaultNotifyDelivery() NotifyDelivery {
	return NotifyDelivery{
		MaxAttempts: 8, BackoffBase: 10 * time.Second, BackoffMax: time.Hour,
		PollInterval: time.Second, Lease: time.Minute, Concurrency: 16, ConfirmWindow: 5 * time.Minute,
		WebhookTimeout: 10 * time.Second, WebhookSecretGrace: 24 * time.Hour,
		AuthFailureThreshold: 20, AuthFailureWindow: 10 * time.Minute,
	}
}

// validateNotifyDelivery reports the invalid delivery keys of notify through bad.
func (c Config) validateNotifyDelivery(bad func(key, format string, args ...any)) {
	n := c.Notify.NotifyDelivery
	if n.MaxAttempts < 1 || n.MaxAttempts > 100 {
		bad("notify.max_attempts", "must be between 1 and 100, got %d", n.MaxAttempts)
	}
	if n.BackoffBase < time.Millisecond {
		bad("notify.backoff_base", "must be at least 1ms, got %s", n.BackoffBase)
	}
	if n.BackoffMax < n.BackoffBase {
		bad("notify.backoff_max", "must be at least notify.backoff_base (%s), got %s", n.BackoffBase, n.BackoffMax)
	}
	if n.PollInterval < time.Millisecond {
		bad("notify.poll_interval", "must be at least 1ms, got %s", n.PollInterval)
	}
	if n.WebhookTimeout < 10*time.Millisecond {
		bad("notify.webhook_timeout", "must be at least 10ms, got %s", n.WebhookTimeout)
	}
	if n.Lease <= n.WebhookTimeout {
		bad("notify.lease", "must be longer than notify.webhook_timeout (%s), got %s", n.WebhookTimeout, n.Lease)
	}
	if n.Concurrency < 1 || n.Concurrency > 1024 {
		bad("notify.concurrency", "must be between 1 and 1024, got %d", n.Concurrency)
	}
	if n.ConfirmWindow < time.Second {
		bad("notify.confirm_window", "must be at least 1s, got %s", n.ConfirmWindow)
	}
	if n.WebhookSecretGrace < 0 {
		bad("notify.webhook_secret_grace", "must not be negative, got %s", n.WebhookSecretGrace)
	}
	if n.AuthFailureThreshold < 0 {
		bad("notify.auth_failure_threshold", "must not be negative, got %d", n.AuthFailureThreshold)
	}
	if n.AuthFailureThreshold > 0 && n.AuthFailureWindow < time.Second {
		bad("notify.auth_failure_window", "must be at least 1s, got %s", n.AuthFailureWindow)
	}
}
