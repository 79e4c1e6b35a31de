package app

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sigil-dev/sigil/internal/apperr"
	"github.com/sigil-dev/sigil/internal/clients"
	"github.com/sigil-dev/sigil/internal/config"
	"github.com/sigil-dev/sigil/internal/console"
	"github.com/sigil-dev/sigil/internal/consoletoken"
	"github.com/sigil-dev/sigil/internal/embed"
	"github.com/sigil-dev/sigil/internal/httpapi"
	"github.com/sigil-dev/sigil/internal/keys"
	"github.com/sigil-dev/sigil/internal/metrics"
	"github.com/sigil-dev/sigil/internal/notify"
	"github.com/sigil-dev/sigil/internal/openapi"
	"github.com/sigil-dev/sigil/internal/policy"
	"github.com/sigil-dev/sigil/internal/registry"
	"github.com/sigil-dev/sigil/internal/revocation"
	"github.com/sigil-dev/sigil/internal/token"
	"github.com/sigil-dev/sigil/internal/web"
)

// Store is what the application needs of a backend: both stores implement
// it. A store that is also a registry.Store holds token records too, and
// one that is a revocation.SyncStore is shared between instances (a
// revocation replica keeps up with it).
type Store interface {
	clients.Store
	revocation.Store
	// Ping reports whether the store answers (readiness).
	Ping(ctx context.Context) error
}

// replicaCounter is a store that can tell how many replicas its masters
// have (Redis): readiness reports too few for revocation.min_replicas.
type replicaCounter interface {
	OnlineReplicas(ctx context.Context) (int, error)
}

// Option changes what New builds, for what tests inject.
type Option func(*options)

type options struct {
	now   func() time.Time
	log   *slog.Logger
	ln    net.Listener
	store Store
	// channels and notifyRand: WithChannels, WithNotifyRand (notify.go).
	channels   []notify.Channel
	notifyRand func() float64
	// gcEnv: WithGCFloor (gcfloor.go).
	gcEnv func(string) string
}

// WithNow sets the clock of every part (default time.Now).
func WithNow(now func() time.Time) Option { return func(o *options) { o.now = now } }

// WithLogger sets the logger (default JSON on stderr at log.level).
func WithLogger(l *slog.Logger) Option { return func(o *options) { o.log = l } }

// WithListener serves on ln instead of listening on cfg.Addr; the App
// closes it.
func WithListener(ln net.Listener) Option { return func(o *options) { o.ln = ln } }

// WithStore uses st instead of the store cfg.Redis names (the memory
// store without one); the caller closes it.
func WithStore(st Store) Option { return func(o *options) { o.store = st } }

// Info is what a person starting the server is told.
type Info struct {
	// URL is the base URL the server listens on, e.g. http://127.0.0.1:8080.
	URL string
	// Store describes the backend.
	Store string
	// ActiveKey is the signing key.
	ActiveKey *keys.Key
	// DevKey is the path of a dev signing key generated at start ("" if none).
	DevKey string
	// AdminSecret is the bootstrap admin's secret ("" without one);
	// AdminGenerated says it was generated (dev mode) and is shown once.
	AdminSecret    string
	AdminGenerated bool
	// PprofURL is where the profiler answers (debug.pprof_addr); "" when off.
	PprofURL string
}

// App is the assembled server: stores, keys, issuer and verifier, the
// revocation replica or direct mode, the usage recorder, the clients,
// registry and embed services, the gateway policy, the cloud publisher,
// metrics, readiness and the HTTP API, with its listener.
type App struct {
	// Info describes what was started.
	Info Info

	cfg      config.Config
	log      *slog.Logger
	now      func() time.Time
	ring     *keys.Ring
	recorder *registry.Recorder
	api      *httpapi.Server
	// revStats is the revocation state for the overview (startRevocation).
	revStats func() httpapi.RevocationStats
	srv      *http.Server
	ln       net.Listener
	// stop ends the background work (replica sync, janitor); wg waits for it.
	stop      context.CancelFunc
	wg        sync.WaitGroup
	closeOnce sync.Once
	closers   []func()
}

// The usage recorder (DESIGN §8): its buffer, how often it is flushed, and
// how long the last flush may take at shutdown.
const (
	// clientCacheTTL bounds how long a client change made on another
	// instance takes to reach this one's mint path.
	clientCacheTTL = 10 * time.Second

	recorderSize         = 10_000
	recorderFlush        = time.Second
	recorderCloseTimeout = 5 * time.Second
)

// New builds the whole application from cfg (a loaded, validated config)
// and opens its listener; Run serves it. Background work (the revocation
// replica, the registry janitor) runs until ctx ends or Close.
func New(ctx context.Context, cfg config.Config, opts ...Option) (_ *App, err error) {
	o := options{now: time.Now}
	for _, opt := range opts {
		opt(&o)
	}
	if o.log == nil {
		o.log = newLogger(cfg.Log.Level)
	}
	log, now := o.log, o.now
	bg, stop := context.WithCancel(ctx)
	a := &App{cfg: cfg, log: log, now: now, stop: stop}
	defer func() {
		if err != nil {
			a.Close()
		}
	}()

	for _, f := range cfg.ExposedSecretFiles() { // refused by config validation in prod
		log.Warn("secret file readable by other users; chmod 600 it (refused in prod mode)",
			slog.String("config_key", f.Key), slog.String("path", f.Path), slog.String("mode", fmt.Sprintf("%04o", f.Mode)))
	}
	st := o.store
	if st == nil {
		var closeStore func()
		st, a.Info.Store, closeStore, err = openStore(ctx, cfg, log, now)
		if err != nil {
			return nil, err
		}
		a.closers = append(a.closers, closeStore)
	} else {
		a.Info.Store = "injected"
	}

	if cfg.Mode == "dev" {
		created, path, err := keys.EnsureDevKey(cfg.Keys.Dir)
		if err != nil {
			return nil, fmt.Errorf("dev key: %w", err)
		}
		if created {
			a.Info.DevKey = path
			log.Warn("generated a dev signing key: keys dir was empty", slog.String("path", path))
		}
	}
	ring, err := keys.NewRing(keyLoader(cfg.Keys, cfg.Mode, log))
	if err != nil {
		return nil, fmt.Errorf("load keys (keys.dir %s): %w", cfg.Keys.Dir, err)
	}
	a.ring = ring

	clientSvc, adminCheck, err := a.clients(ctx, bg, st)
	if err != nil {
		return nil, err
	}
	if w, ok := st.(clientWatcher); ok {
		// Other instances' client changes drop this one's cached copy at once.
		a.wg.Add(1)
		go func() { defer a.wg.Done(); w.WatchClients(bg, clientSvc.Forget, clientSvc.ForgetAll) }()
	}

	m := metrics.New()
	m.Gauge("sigil_active_key_age_seconds", "Age of the active signing key.", func() float64 {
		return now().Sub(ring.Active().CreatedAt).Seconds()
	})
	revoker, checks := a.startRevocation(bg, st, m)
	if adminCheck != nil {
		checks = append([]httpapi.Check{*adminCheck}, checks...)
	}
	if rc, ok := st.(replicaCounter); ok && cfg.Revocation.MinReplicas > 0 {
		// Below min_replicas revocations answer 503 while verification goes
		// on: degraded, not down.
		checks = append(checks, httpapi.Check{Name: "redis_replicas", Degrades: true, Fn: func(ctx context.Context) error {
			n, err := rc.OnlineReplicas(ctx)
			if err == nil && n < cfg.Revocation.MinReplicas {
				err = fmt.Errorf("%d replicas online, revocation.min_replicas is %d", n, cfg.Revocation.MinReplicas)
			}
			return err
		}})
	}
	issuer := token.NewIssuer(token.IssuerConfig{Issuer: cfg.Issuer, Audience: cfg.Audience, Keys: ring, Now: now})
	regStore := registryStore(st, now)
	// Notifications (#15): the outbox producers emit to (before the change
	// they report; the confirmer holds an event back until its change is
	// visible), the channels, and the dispatcher between them.
	nt := &notifier{outbox: openOutbox(st, &o), confirm: registry.NewConfirmer(regStore)}
	if nt.fixed, err = a.notifyChannels(&o, regStore, scopeLabels(cfg.Registry.Scopes)); err != nil {
		return nil, err
	}
	observeEmail(m, nt.fixed)
	verifier := token.NewVerifier(token.VerifierConfig{
		Issuer: cfg.Issuer, Audience: cfg.Audience, Keys: ring, Revocation: revoker,
		Leeway: verifierLeeway(cfg.Tokens.Leeway), CacheSize: cfg.Tokens.CacheSize,
		EmbedMaxLifetime: cfg.Tokens.EmbedMaxExpiry, Now: now,
		// A registered token's record is read when the token is first seen
		// (then cached); its later death reaches every request through the
		// denylist, which regenerate, delete and revoke write.
		Records: registry.NewLiveness(regStore),
	})
	var sealer []byte
	if cfg.Registry.RevealTokens {
		sealer = cfg.Registry.RevealKey
	}
	regSvc, err := registry.NewService(registry.ServiceConfig{
		Store: regStore, Issuer: issuer, Revoker: revoker, Scopes: cfg.Registry.Scopes, Sealer: sealer, Logger: log, Now: now,
		Retention: cfg.Registry.Retention, Events: nt.outbox,
	})
	if err != nil {
		return nil, fmt.Errorf("registry: %w", err)
	}
	tokens, err := embed.New(embed.Config{
		Minter: issuer, Verifier: verifier, Revoker: revoker, Clients: clientSvc, Registry: regSvc,
		DefaultTTL: cfg.Tokens.EmbedDefaultExpiry, MaxTTL: cfg.Tokens.EmbedMaxExpiry,
		RefreshMaxLifetime: cfg.Tokens.RefreshMaxLifetime, RefreshMinAge: cfg.Tokens.RefreshMinAge, Now: now,
	})
	if err != nil {
		return nil, err
	}
	// The recorder outlives ctx: it keeps flushing while in-flight
	// requests finish, and Close writes what is left after Shutdown.
	a.recorder = registry.NewRecorder(regStore, recorderSize, recorderFlush)
	a.recorder.WatchFailures(registry.NewBurstWatcher(regStore, nt.outbox,
		cfg.Notify.AuthFailureThreshold, cfg.Notify.AuthFailureWindow, now))
	go a.recorder.Run(context.WithoutCancel(ctx))
	observeAudit(m, a.recorder)
	a.wg.Add(1)
	go func() { defer a.wg.Done(); runJanitor(bg, regSvc, cfg.Registry.JanitorInterval, log, now) }()

	webhooks := a.webhooks(st)
	nt.routers = append(nt.routers, webhooks)
	a.startNotify(bg, nt, m, &o)
	a.startExpiry(bg, regStore, nt.outbox)

	gate, err := policy.New(cfg.Gateway.Policy())
	if err != nil {
		return nil, fmt.Errorf("gateway: %w", err)
	}
	reports, err := newReports(cfg.Cloud, regSvc)
	if err != nil {
		return nil, err
	}
	// Console tokens: their own audience, their own verifier (which accepts
	// that kind only), the same keys and the same denylist and cutoffs.
	consoleAud := consoletoken.Audience(cfg.Audience)
	consoleSvc, err := consoletoken.New(consoletoken.Config{
		Minter: token.NewIssuer(token.IssuerConfig{Issuer: cfg.Issuer, Audience: consoleAud, Keys: ring, Now: now}),
		Verifier: token.NewVerifier(token.VerifierConfig{
			Issuer: cfg.Issuer, Audience: consoleAud, Keys: ring, Revocation: revoker,
			Leeway: verifierLeeway(cfg.Tokens.Leeway), Now: now,
			Console: true, ConsoleMaxLifetime: cfg.Console.TokenMaxTTL,
		}),
		Revoker: revoker, Clients: clientSvc, MaxTTL: cfg.Console.TokenMaxTTL, Now: now,
	})
	if err != nil {
		return nil, err
	}
	var proxies []*net.IPNet
	for _, p := range cfg.HTTP.TrustedProxies {
		_, n, err := net.ParseCIDR(p)
		if err != nil {
			return nil, fmt.Errorf("http.trusted_proxies: %w", err)
		}
		proxies = append(proxies, n)
	}
	apiCfg := httpapi.Config{
		Issuer: cfg.Issuer, Verifier: verifier, Tokens: tokens, Clients: clientSvc, Keys: ring,
		Ready:          checks,
		TrustedProxies: proxies,
		RetryAfter:     cfg.Revocation.RetryAfter, StoreTimeout: cfg.HTTP.StoreTimeout, Logger: log, Now: now,
		Observer: m, MetricsHandler: m.Handler(),
		Registry: regSvc, RevealTokens: cfg.Registry.RevealTokens, Recorder: a.recorder,
		AuthFailures: regStore, AuthMaxFailures: cfg.Auth.MaxFailures, AuthWindow: cfg.Auth.Window,
		ViewURLTemplate: cfg.View.URLTemplate,
		// Verification waits on the store only in direct mode with a shared store.
		VerifyNeverWaits: !sharedDirect(cfg, st),
		Reports:          reports,
		OpenAPI:          openapi.MustJSON(), SDKScript: web.SDKScript, CORSOrigins: cfg.HTTP.CORSAllowedOrigins,
		APITokensScript: web.APITokensScript, ConsoleOrigins: cfg.Console.AllowedOrigins,
		Policy: gate, RevocationStats: a.revStats, Console: consoleSvc,
		Webhooks: webhooks, DeadLetters: nt.outbox,
	}
	if cfg.Mode == "dev" {
		apiCfg.DemoPage, apiCfg.DemoScript = web.DemoPage, web.DemoScript
	}
	apiCfg.ConsolePages = web.ConsolePages
	apiCfg.Sessions = console.New(console.Config{
		Store: sessionStore(st, now), Clients: clientSvc,
		Idle: cfg.Console.SessionIdle, Max: cfg.Console.SessionMax, Now: now,
	})
	a.api = httpapi.New(apiCfg)

	a.ln = o.ln
	if a.ln == nil {
		if a.ln, err = net.Listen("tcp", cfg.Addr); err != nil {
			return nil, fmt.Errorf("listen on %s (addr): %w", cfg.Addr, err)
		}
	}
	a.srv = &http.Server{
		Handler:           a.api,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       cfg.HTTP.ReadTimeout,
		WriteTimeout:      cfg.HTTP.WriteTimeout,
		IdleTimeout:       60 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	a.Info.URL = "http://" + a.ln.Addr().String()
	a.Info.ActiveKey = ring.Active()
	if cfg.Debug.PprofAddr != "" {
		if err := a.startPprof(cfg.Debug.PprofAddr); err != nil {
			return nil, err
		}
	}
	if o.gcEnv != nil {
		// Last, after the replica's first load: its garbage is collected at
		// GOGC=100 as it goes, not left to fill the heap to the floor (a
		// 1 M-entry load took 0.47–0.59 s and 148 MiB with the floor during
		// it, 0.36–0.55 s and 57–61 MiB without).
		a.startGCFloor(cfg.Runtime.GCHeapFloorMiB, o.gcEnv)
	}
	return a, nil
}

// adminRetry is how often the bootstrap admin is written again while a
// shared store is unreachable at start.
const adminRetry = time.Second

// clients builds the clients service and the bootstrap admin. When the
// store is unreachable at start the admin is written in the background
// (until bg ends) instead of failing start-up: a process that exits would
// be restarted in a loop whose back-off delays recovery; the returned
// readiness check fails until the admin is written.
func (a *App) clients(ctx, bg context.Context, st Store) (*clients.Service, *httpapi.Check, error) {
	cfg := a.cfg
	pepper := []byte(cfg.Pepper)
	if len(pepper) == 0 {
		// Only reachable with the memory store (config requires a pepper with
		// Redis): client records die with the process, and so may the pepper.
		pepper = make([]byte, 32)
		if _, err := rand.Read(pepper); err != nil {
			return nil, nil, fmt.Errorf("pepper: %w", err)
		}
	}
	svc := clients.NewService(clients.ServiceConfig{
		Store: st, Pepper: pepper, MaxTokenExpiry: int64(cfg.Tokens.EmbedMaxExpiry / time.Second), Now: a.now,
		// Minting reads the client record; a short cache spares the store
		// trip, and a stale copy keeps minting going through a store outage
		// for as long as verification goes on from the replica.
		CacheTTL: clientCacheTTL, StaleTTL: cfg.Revocation.MaxStaleness,
		Changes: changeNotifier(st),
	})
	adminSecret := cfg.AdminSecret
	if adminSecret == "" && cfg.Mode == "dev" {
		b := make([]byte, clients.SecretBytes)
		if _, err := rand.Read(b); err != nil {
			return nil, nil, fmt.Errorf("admin secret: %w", err)
		}
		adminSecret, a.Info.AdminGenerated = base64.RawURLEncoding.EncodeToString(b), true
	}
	a.Info.AdminSecret = adminSecret
	if adminSecret == "" {
		return svc, nil, nil
	}
	err := svc.EnsureAdmin(ctx, adminSecret)
	if err == nil {
		return svc, nil, nil
	}
	if !errors.Is(err, apperr.ErrStoreUnavailable) {
		return nil, nil, err
	}
	a.log.Warn("bootstrap admin not written: the store is unreachable; retrying in the background, readiness says admin_client unavailable until then",
		slog.String("err", err.Error()))
	var done atomic.Bool
	a.wg.Add(1)
	go func() {
		defer a.wg.Done()
		t := time.NewTicker(adminRetry)
		defer t.Stop()
		for {
			select {
			case <-bg.Done():
				return
			case <-t.C:
			}
			if err := svc.EnsureAdmin(bg, adminSecret); err != nil {
				continue
			}
			done.Store(true)
			a.log.Info("bootstrap admin written: the store is reachable again")
			return
		}
	}()
	return svc, &httpapi.Check{Name: "admin_client", Fn: func(context.Context) error {
		if !done.Load() {
			return errAdminPending
		}
		return nil
	}}, nil
}

// errAdminPending fails readiness until the bootstrap admin is written.
var errAdminPending = errors.New("bootstrap admin not written yet: the store is unreachable")

// clientWatcher is a store shared by instances that broadcasts client
// changes (internal/store/redis): each instance publishes its own and
// drops its cached copy of the others'.
type clientWatcher interface {
	clients.ChangeNotifier
	WatchClients(ctx context.Context, onChange func(id string), onConnect func())
}

// changeNotifier is st's client-change broadcast, nil for a store of one
// process.
func changeNotifier(st Store) clients.ChangeNotifier {
	if w, ok := st.(clientWatcher); ok {
		return w
	}
	return nil
}

// Handler is the HTTP API, for tests that drive it in process.
func (a *App) Handler() http.Handler { return a.api }

// ReloadKeys reloads the keys directory (SIGHUP); on failure the current
// keys stay.
func (a *App) ReloadKeys() error {
	if err := a.ring.Reload(); err != nil {
		a.log.Error("key reload failed; keeping the current keys", slog.String("err", err.Error()))
		return err
	}
	a.log.Info("keys reloaded", slog.String("active_kid", a.ring.Active().KID), slog.Int("keys", len(a.ring.Set().All())))
	return nil
}

// Run serves until ctx ends, then shuts down in order: in-flight requests
// finish (http.shutdown_timeout), the usage recorder writes what it still
// holds, background work stops and the store is closed.
func (a *App) Run(ctx context.Context) error {
	errc := make(chan error, 1)
	go func() { errc <- a.srv.Serve(a.ln) }()
	select {
	case err := <-errc:
		a.Close()
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	a.log.Info("shutting down: finishing in-flight requests")
	shutCtx, cancel := context.WithTimeout(context.Background(), a.cfg.HTTP.ShutdownTimeout)
	defer cancel()
	shutErr := a.srv.Shutdown(shutCtx)
	a.Close()
	if shutErr != nil {
		return fmt.Errorf("shutdown: %w", shutErr)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve: %w", err)
	}
	a.log.Info("stopped")
	return nil
}

// Close releases what New acquired: the listener (if Run is not serving
// it), the usage recorder (flushed), the background work and the store.
// Run calls it after Shutdown; calling it again does nothing.
func (a *App) Close() {
	a.closeOnce.Do(func() {
		if a.srv != nil {
			_ = a.srv.Close()
		}
		if a.ln != nil {
			_ = a.ln.Close() // unless Serve had it, which closed it
		}
		if a.recorder != nil {
			// After Shutdown no request adds events: write the ones still buffered.
			flushCtx, cancel := context.WithTimeout(context.Background(), recorderCloseTimeout)
			if err := a.recorder.Close(flushCtx); err != nil {
				a.log.Warn("usage events not written at shutdown", slog.Int("pending", a.recorder.Pending()), slog.String("err", err.Error()))
			}
			cancel()
			// What the usage log missed over the process's life, for operators (and
			// the shutdown test): events dropped on a full buffer, and lost to store errors.
			a.log.Info("usage recorder closed", slog.Int64("dropped", a.recorder.Dropped()), slog.Int64("lost", a.recorder.Lost()),
				slog.Int("pending", a.recorder.Pending()))
		}
		a.stop()
		a.wg.Wait()
		for i := len(a.closers) - 1; i >= 0; i-- {
			a.closers[i]()
		}
	})
}

func newLogger(level string) *slog.Logger {
	var l slog.Level
	_ = l.UnmarshalText([]byte(level))
	return slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: l}))
}
