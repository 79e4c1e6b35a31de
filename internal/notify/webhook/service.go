package webhook

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"slices"
	"strings"
	"time"

	"github.com/sigil-dev/sigil/internal/apperr"
	"github.com/sigil-dev/sigil/internal/notify"
)

// Limits of the registry of endpoints.
const (
	// MaxEndpoints bounds the endpoints registered (each event is offered to all).
	MaxEndpoints = 100
	// secretBytes is the length of a signing secret (before base64).
	secretBytes = 32
	// idPrefix starts every endpoint id.
	idPrefix = "wh_"
)

// Config configures a Service.
type Config struct {
	Store Store
	// AllowPrivate lets endpoints be on private, loopback, link-local and
	// unspecified addresses (notify.webhooks_allow_private).
	AllowPrivate bool
	// Timeout bounds one request (notify.webhook_timeout).
	Timeout time.Duration
	// Grace is how long a rotated-out secret still signs.
	Grace time.Duration
	// Resolver resolves hosts at registration (default net.DefaultResolver).
	Resolver Resolver
	// Now is the clock (default time.Now); Rand the randomness of ids and
	// secrets (default crypto/rand).
	Now    func() time.Time
	Rand   io.Reader
	Logger *slog.Logger
}

// Service manages webhook endpoints and routes events to them: it is the
// notify.Router of the webhook destinations ("webhook:<id>").
type Service struct {
	cfg    Config
	sender *Sender
}

var _ notify.Router = (*Service)(nil)

// NewService returns a Service over cfg.Store.
func NewService(cfg Config) *Service {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Rand == nil {
		cfg.Rand = rand.Reader
	}
	if cfg.Resolver == nil {
		cfg.Resolver = net.DefaultResolver
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 10 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &Service{cfg: cfg, sender: NewSender(cfg.Timeout, cfg.AllowPrivate, cfg.Now)}
}

// ValidID reports whether id has the shape of an endpoint id; others are
// never looked up.
func ValidID(id string) bool {
	h, ok := strings.CutPrefix(id, idPrefix)
	if !ok || len(h) != 32 {
		return false
	}
	_, err := hex.DecodeString(h)
	return err == nil && strings.ToLower(h) == h
}

func (s *Service) newSecret() (string, error) {
	b := make([]byte, secretBytes)
	if _, err := io.ReadFull(s.cfg.Rand, b); err != nil {
		return "", fmt.Errorf("webhook secret: %w", err)
	}
	return SecretPrefix + base64.StdEncoding.EncodeToString(b), nil
}

// checkEvents validates an event filter: known types, at least one; it
// returns them deduplicated in the order of notify.Types.
func checkEvents(events []string) ([]string, error) {
	if len(events) == 0 {
		return nil, apperr.Invalid("events", "at least one event type is required, among: %s", strings.Join(notify.Types, ", "))
	}
	var unknown []string
	for _, e := range events {
		if !slices.Contains(notify.Types, e) && !slices.Contains(unknown, e) {
			unknown = append(unknown, e)
		}
	}
	if len(unknown) > 0 {
		shown := unknown[:min(len(unknown), 5)]
		for i, u := range shown {
			if len(u) > 40 {
				shown[i] = u[:40] + "…"
			}
		}
		return nil, apperr.Invalid("events", "unknown event types %q; known: %s", shown, strings.Join(notify.Types, ", "))
	}
	var out []string
	for _, t := range notify.Types {
		if slices.Contains(events, t) {
			out = append(out, t)
		}
	}
	return out, nil
}

// Create registers an endpoint and returns it with its secret, which is
// shown this once. Invalid input is an *apperr.Error naming "url" or "events".
func (s *Service) Create(ctx context.Context, rawURL string, events []string) (Endpoint, string, error) {
	u, err := checkURL(ctx, rawURL, s.cfg.AllowPrivate, s.cfg.Resolver)
	if err != nil {
		return Endpoint{}, "", err
	}
	evs, err := checkEvents(events)
	if err != nil {
		return Endpoint{}, "", err
	}
	all, err := s.cfg.Store.ListWebhooks(ctx)
	if err != nil {
		return Endpoint{}, "", err
	}
	if len(all) >= MaxEndpoints {
		return Endpoint{}, "", apperr.New(apperr.CodeConflict, fmt.Sprintf("at most %d webhook endpoints; delete one first", MaxEndpoints))
	}
	idb := make([]byte, 16)
	if _, err := io.ReadFull(s.cfg.Rand, idb); err != nil {
		return Endpoint{}, "", fmt.Errorf("webhook id: %w", err)
	}
	secret, err := s.newSecret()
	if err != nil {
		return Endpoint{}, "", err
	}
	ep := Endpoint{
		ID: idPrefix + hex.EncodeToString(idb), URL: u.String(), Events: evs,
		Secrets: []Secret{{Value: secret}}, CreatedAt: s.cfg.Now().UTC().Truncate(time.Second),
	}
	if err := s.cfg.Store.CreateWebhook(ctx, ep); err != nil {
		return Endpoint{}, "", err
	}
	s.cfg.Logger.Info("webhook endpoint registered", slog.String("webhook_id", ep.ID), slog.Any("events", ep.Events))
	return ep, secret, nil
}

// List returns every endpoint.
func (s *Service) List(ctx context.Context) ([]Endpoint, error) { return s.cfg.Store.ListWebhooks(ctx) }

// Get returns endpoint id (an error wrapping ErrNotFound if none).
func (s *Service) Get(ctx context.Context, id string) (Endpoint, error) {
	if !ValidID(id) {
		return Endpoint{}, ErrNotFound
	}
	return s.cfg.Store.GetWebhook(ctx, id)
}

// Delete removes endpoint id; deliveries still queued for it are dropped.
func (s *Service) Delete(ctx context.Context, id string) error {
	if !ValidID(id) {
		return ErrNotFound
	}
	if err := s.cfg.Store.DeleteWebhook(ctx, id); err != nil {
		return err
	}
	s.cfg.Logger.Info("webhook endpoint deleted", slog.String("webhook_id", id))
	return nil
}

// RotateSecret gives endpoint id a new secret, returned this once; the
// previous current secret keeps signing for Grace (older ones stop).
func (s *Service) RotateSecret(ctx context.Context, id string) (Endpoint, string, error) {
	ep, err := s.Get(ctx, id)
	if err != nil {
		return Endpoint{}, "", err
	}
	secret, err := s.newSecret()
	if err != nil {
		return Endpoint{}, "", err
	}
	now := s.cfg.Now().UTC().Truncate(time.Second)
	secrets := []Secret{{Value: secret}}
	if len(ep.Secrets) > 0 && s.cfg.Grace > 0 {
		until := now.Add(s.cfg.Grace)
		secrets = append(secrets, Secret{Value: ep.Secrets[0].Value, ExpiresAt: &until})
	}
	ep.Secrets = secrets
	if err := s.cfg.Store.UpdateWebhook(ctx, ep); err != nil {
		return Endpoint{}, "", err
	}
	s.cfg.Logger.Info("webhook secret rotated", slog.String("webhook_id", id), slog.Duration("grace", s.cfg.Grace))
	return ep, secret, nil
}

// Destinations implements notify.Router: the endpoints whose filter takes e.
func (s *Service) Destinations(ctx context.Context, e notify.Event) ([]string, error) {
	all, err := s.cfg.Store.ListWebhooks(ctx)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, ep := range all {
		if ep.Wants(e.Type) {
			out = append(out, notify.ChannelWebhook+":"+ep.ID)
		}
	}
	return out, nil
}

// Channel implements notify.Router for "webhook:<id>" destinations.
func (s *Service) Channel(ctx context.Context, dest string) (notify.Channel, bool, error) {
	id, ok := strings.CutPrefix(dest, notify.ChannelWebhook+":")
	if !ok {
		return nil, false, nil
	}
	ep, err := s.Get(ctx, id)
	if errors.Is(err, ErrNotFound) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	return channel{ep: ep, sender: s.sender}, true, nil
}

// channel is one endpoint as a notify.Channel.
type channel struct {
	ep     Endpoint
	sender *Sender
}

func (c channel) Name() string { return notify.ChannelWebhook + ":" + c.ep.ID }

func (c channel) Deliver(ctx context.Context, e notify.Event) error {
	if !c.ep.Wants(e.Type) {
		return nil // the filter changed since the event was fanned out
	}
	return c.sender.Send(ctx, c.ep, e)
}
