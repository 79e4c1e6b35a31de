package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	goredis "github.com/redis/go-redis/v9"
	"github.com/spf13/cobra"

	"github.com/sigil-dev/sigil/internal/clients"
	"github.com/sigil-dev/sigil/internal/config"
	"github.com/sigil-dev/sigil/internal/httpapi"
	"github.com/sigil-dev/sigil/internal/keys"
	"github.com/sigil-dev/sigil/internal/metrics"
	"github.com/sigil-dev/sigil/internal/openapi"
	"github.com/sigil-dev/sigil/internal/policy"
	"github.com/sigil-dev/sigil/internal/registry"
	"github.com/sigil-dev/sigil/internal/revocation"
	"github.com/sigil-dev/sigil/internal/store/memory"
	redisstore "github.com/sigil-dev/sigil/internal/store/redis"
	"github.com/sigil-dev/sigil/internal/token"
	"github.com/sigil-dev/sigil/internal/web"
)

func newServeCmd() *cobra.Command {
	var configPath string
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the HTTP API",
		Long: "Run the HTTP API. With no configuration it runs in dev mode on the memory store,\n" +
			"generates a key into an empty keys directory and prints a generated admin secret.",
		Example: "  sigil serve\n  SIGIL_REDIS_URL=redis://127.0.0.1:6379/0 SIGIL_PEPPER_FILE=/run/secrets/pepper sigil serve --config configs/sigil.yaml",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := config.Load(configPath, os.Environ())
			if err != nil {
				return err
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), syscall.SIGINT, syscall.SIGTERM)
			defer stop()
			return serve(ctx, cfg, cmd.OutOrStdout())
		},
	}
	cmd.Flags().StringVar(&configPath, "config", os.Getenv("SIGIL_CONFIG"), "YAML config file (env SIGIL_CONFIG); see configs/sigil.example.yaml")
	return cmd
}

// store is what serve needs of a backend: both stores implement it.
type store interface {
	clients.Store
	revocation.Store
}

// serve wires the parts together and runs until ctx ends. Human-facing start
// information (and a generated admin secret, once) goes to out; logs go to stderr.
func serve(ctx context.Context, cfg config.Config, out io.Writer) error {
	log := newLogger(cfg.Log.Level)

	for _, f := range cfg.ExposedSecretFiles() { // refused by config validation in prod
		log.Warn("secret file readable by other users; chmod 600 it (refused in prod mode)",
			slog.String("config_key", f.Key), slog.String("path", f.Path), slog.String("mode", fmt.Sprintf("%04o", f.Mode)))
	}
	st, storeDesc, closeStore, err := openStore(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer closeStore()

	devKey := ""
	if cfg.Mode == "dev" {
		created, path, err := keys.EnsureDevKey(cfg.Keys.Dir)
		if err != nil {
			return fmt.Errorf("dev key: %w", err)
		}
		if created {
			devKey = path
			log.Warn("generated a dev signing key: keys dir was empty", slog.String("path", path))
		}
	}
	ring, err := keys.NewRing(keyLoader(cfg.Keys, cfg.Mode, log))
	if err != nil {
		return fmt.Errorf("load keys (keys.dir %s): %w", cfg.Keys.Dir, err)
	}

	pepper := []byte(cfg.Pepper)
	if len(pepper) == 0 {
		// Only reachable with the memory store (config requires a pepper with
		// Redis): client records die with the process, and so may the pepper.
		pepper = make([]byte, 32)
		if _, err := rand.Read(pepper); err != nil {
			return fmt.Errorf("pepper: %w", err)
		}
	}
	clientSvc := clients.NewService(clients.ServiceConfig{
		Store: st, Pepper: pepper, MaxTokenExpiry: int64(cfg.Tokens.EmbedMaxExpiry / time.Second),
		// Minting reads the client record; a short cache spares the store
		// trip, and a stale copy keeps minting going through a store outage
		// for as long as verification goes on from the replica.
		CacheTTL: clientCacheTTL, StaleTTL: cfg.Revocation.MaxStaleness,
	})
	adminSecret, generatedAdmin := cfg.AdminSecret, false
	if adminSecret == "" && cfg.Mode == "dev" {
		b := make([]byte, clients.SecretBytes)
		if _, err := rand.Read(b); err != nil {
			return fmt.Errorf("admin secret: %w", err)
		}
		adminSecret, generatedAdmin = base64.RawURLEncoding.EncodeToString(b), true
	}
	if adminSecret != "" {
		if err := clientSvc.EnsureAdmin(ctx, adminSecret); err != nil {
			return err
		}
	}

	m := metrics.New()
	m.Gauge("sigil_active_key_age_seconds", "Age of the active signing key.", func() float64 {
		return time.Since(ring.Active().CreatedAt).Seconds()
	})
	revoker, checks, err := startRevocation(ctx, cfg, st, log, m)
	if err != nil {
		return err
	}
	issuer := token.NewIssuer(token.IssuerConfig{Issuer: cfg.Issuer, Audience: cfg.Audience, Keys: ring})
	regStore := registryStore(st)
	verifier := token.NewVerifier(token.VerifierConfig{
		Issuer: cfg.Issuer, Audience: cfg.Audience, Keys: ring, Revocation: revoker,
		Leeway: verifierLeeway(cfg.Tokens.Leeway), CacheSize: cfg.Tokens.CacheSize,
		EmbedMaxLifetime: cfg.Tokens.EmbedMaxExpiry,
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
		Store: regStore, Issuer: issuer, Revoker: revoker, Scopes: cfg.Registry.Scopes, Sealer: sealer, Logger: log,
	})
	if err != nil {
		return fmt.Errorf("registry: %w", err)
	}
	// The recorder outlives the signal: it keeps flushing while in-flight
	// requests finish, and Close writes what is left after Shutdown.
	recorder := registry.NewRecorder(regStore, recorderSize, recorderFlush)
	go recorder.Run(context.WithoutCancel(ctx))
	observeAudit(m, recorder)
	go runJanitor(ctx, regSvc, cfg.Registry.JanitorInterval, log)

	gate, err := policy.New(cfg.Gateway.Policy())
	if err != nil {
		return fmt.Errorf("gateway: %w", err)
	}
	cloudPublisher, err := newCloud(cfg.Cloud)
	if err != nil {
		return err
	}
	var proxies []*net.IPNet
	for _, p := range cfg.HTTP.TrustedProxies {
		_, n, err := net.ParseCIDR(p)
		if err != nil {
			return fmt.Errorf("http.trusted_proxies: %w", err)
		}
		proxies = append(proxies, n)
	}
	apiCfg := httpapi.Config{
		Issuer: cfg.Issuer, Minter: issuer, Verifier: verifier, Revoker: revoker, Clients: clientSvc, Keys: ring,
		Ready:           checks,
		EmbedDefaultTTL: cfg.Tokens.EmbedDefaultExpiry, EmbedMaxTTL: cfg.Tokens.EmbedMaxExpiry,
		RefreshMaxLifetime: cfg.Tokens.RefreshMaxLifetime, RefreshMinAge: cfg.Tokens.RefreshMinAge,
		TrustedProxies: proxies,
		RetryAfter:     cfg.Revocation.RetryAfter, StoreTimeout: cfg.HTTP.StoreTimeout, Logger: log,
		Observer: m, MetricsHandler: m.Handler(),
		Registry: regSvc, RevealTokens: cfg.Registry.RevealTokens, Recorder: recorder,
		AuthFailures: regStore, AuthMaxFailures: cfg.Auth.MaxFailures, AuthWindow: cfg.Auth.Window,
		ViewURLTemplate: cfg.View.URLTemplate,
		// Verification waits on Redis only in direct mode.
		VerifyNeverWaits: cfg.Redis.URL == "" || cfg.Revocation.Mode != "direct",
		Cloud:            cloudPublisher,
		OpenAPI:          openapi.MustJSON(), SDKScript: web.SDKScript, CORSOrigins: cfg.HTTP.CORSAllowedOrigins,
		Policy: gate,
	}
	if cfg.Mode == "dev" {
		apiCfg.DemoPage, apiCfg.DemoScript = web.DemoPage, web.DemoScript
	}
	api := httpapi.New(apiCfg)

	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("listen on %s (addr): %w", cfg.Addr, err)
	}
	srv := &http.Server{
		Handler:           api,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       cfg.HTTP.ReadTimeout,
		WriteTimeout:      cfg.HTTP.WriteTimeout,
		IdleTimeout:       60 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	base := "http://" + ln.Addr().String()
	printBanner(out, banner{
		base: base, store: storeDesc, issuer: cfg.Issuer, active: ring.Active(), devKey: devKey,
		adminSecret: adminSecret, generatedAdmin: generatedAdmin,
		dev: cfg.Mode == "dev", adminSecretFile: cfg.AdminSecretFile, cloud: cfg.Cloud.URL, cloudClient: cfg.Cloud.ClientID,
	})

	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	go func() {
		for range hup {
			if err := ring.Reload(); err != nil {
				log.Error("key reload failed; keeping the current keys", slog.String("err", err.Error()))
				continue
			}
			log.Info("keys reloaded", slog.String("active_kid", ring.Active().KID), slog.Int("keys", len(ring.Set().All())))
		}
	}()

	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	log.Info("shutting down: finishing in-flight requests")
	shutCtx, cancel := context.WithTimeout(context.Background(), cfg.HTTP.ShutdownTimeout)
	defer cancel()
	shutErr := srv.Shutdown(shutCtx)
	// After Shutdown no request adds events: write the ones still buffered.
	flushCtx, cancelFlush := context.WithTimeout(context.Background(), recorderCloseTimeout)
	defer cancelFlush()
	if err := recorder.Close(flushCtx); err != nil {
		log.Warn("usage events not written at shutdown", slog.Int("pending", recorder.Pending()), slog.String("err", err.Error()))
	}
	// What the usage log missed over the process's life, for operators (and
	// the shutdown test): events dropped on a full buffer, and lost to store errors.
	log.Info("usage recorder closed", slog.Int64("dropped", recorder.Dropped()), slog.Int64("lost", recorder.Lost()),
		slog.Int("pending", recorder.Pending()))
	if shutErr != nil {
		return fmt.Errorf("shutdown: %w", shutErr)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve: %w", err)
	}
	log.Info("stopped")
	return nil
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

// registryStore is where token records live: the Redis store holds them
// too; the memory store keeps them beside it, in a memory.Registry.
func registryStore(st store) registry.Store {
	if rs, ok := st.(registry.Store); ok {
		return rs
	}
	return memory.NewRegistry(nil)
}

// runJanitor deletes expired token records every interval until ctx ends.
func runJanitor(ctx context.Context, svc *registry.Service, interval time.Duration, log *slog.Logger) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		n, err := svc.Cleanup(ctx, time.Now())
		if err != nil {
			log.Warn("registry janitor failed; retrying at the next interval", slog.Int("removed", n), slog.String("err", err.Error()))
			continue
		}
		if n > 0 {
			log.Info("registry janitor removed expired tokens", slog.Int("removed", n))
		}
	}
}

// revoker is what the HTTP API and the verifier need of revocation.
type revoker interface {
	httpapi.Revoker
	token.Revocation
}

// startRevocation picks how revocations are checked: a replica of Redis kept
// in sync in the background (replica mode), or the store on every request
// (direct mode, and always with the memory store, which is in-process).
func startRevocation(ctx context.Context, cfg config.Config, st store, log *slog.Logger, m *metrics.Metrics) (revoker, []httpapi.Check, error) {
	sync, shared := st.(revocation.SyncStore)
	if !shared || cfg.Revocation.Mode == "direct" {
		observeDirectRevocation(m, st)
		return revocation.NewService(st, cfg.Tokens.Leeway, nil), []httpapi.Check{{Name: "store", Fn: st.Ping}}, nil
	}
	rep := revocation.NewReplica(revocation.ReplicaConfig{
		Store: sync, Leeway: cfg.Tokens.Leeway, MaxStaleness: cfg.Revocation.MaxStaleness,
		ResyncInterval: cfg.Revocation.ResyncInterval, Logger: log,
	})
	start := time.Now()
	if err := rep.Sync(ctx); err != nil {
		// Verification fails closed until a sync succeeds; Run keeps trying.
		log.Error("initial revocation sync failed; verification answers 503 until Redis is reachable", slog.String("err", err.Error()))
	} else {
		denied, cutoffs := rep.Size()
		log.Info("revocation replica loaded", slog.Int("denied", denied), slog.Int("cutoffs", cutoffs),
			slog.Duration("took", time.Since(start)))
	}
	go rep.Run(ctx)
	m.Gauge("sigil_denylist_entries", "Denylist entries held by this instance's replica.", func() float64 {
		denied, _ := rep.Size()
		return float64(denied)
	})
	m.Gauge("sigil_revocation_cutoffs", "Cutoffs held by this instance's replica.", func() float64 {
		_, cutoffs := rep.Size()
		return float64(cutoffs)
	})
	m.Gauge("sigil_replica_staleness_seconds", "Time since the replica was last confirmed in sync with Redis (-1: never loaded).", func() float64 {
		if s := rep.Staleness(); s >= 0 {
			return s.Seconds()
		}
		return -1
	})
	// The replica is judged first: a store ping against a dead Redis takes
	// time that must not count against the replica's staleness.
	checks := []httpapi.Check{
		{Name: "revocation_replica", Fn: func(context.Context) error {
			if s := rep.Staleness(); s < 0 || s > cfg.Revocation.MaxStaleness {
				return revocation.ErrStale
			}
			return nil
		}},
		{Name: "store", Fn: st.Ping, Degrades: true},
	}
	return rep, checks, nil
}

func openStore(ctx context.Context, cfg config.Config, log *slog.Logger) (store, string, func(), error) {
	if cfg.Redis.URL == "" {
		log.Warn("using the in-memory store: revocations and clients die with the process; set SIGIL_REDIS_URL for Redis")
		return memory.New(nil), "memory (revocations die with the process)", func() {}, nil
	}
	// go-redis logs pool trouble through its own plain-text logger; route
	// it into ours so every stderr line is a JSON record (DESIGN §9).
	goredis.SetLogger(redisLogger{log})
	client, err := redisstore.NewClient(cfg.Redis.URL)
	if err != nil {
		return nil, "", nil, fmt.Errorf("redis.url: %w", err)
	}
	st := redisstore.New(client, cfg.Redis.Prefix)
	if err := st.Ping(ctx); err != nil {
		log.Warn("redis is not reachable at start; readiness will say so", slog.String("err", err.Error()))
	} else if policy, err := st.MaxMemoryPolicy(ctx); err == nil && policy != "noeviction" {
		log.Warn("redis maxmemory-policy can evict denylist entries under memory pressure; set noeviction for production",
			slog.String("maxmemory-policy", policy))
	}
	return st, "redis " + redactURL(cfg.Redis.URL), func() { _ = client.Close() }, nil
}

// keyLoader reads the keys dir (and the HS256 secret, if configured) into a
// Set. A key or secret file that users other than its owner can read is
// refused in prod mode and logged as a warning in dev (exposedKeys).
func keyLoader(kc config.Keys, mode string, log *slog.Logger) func() (*keys.Set, error) {
	return func() (*keys.Set, error) {
		ks, err := keys.LoadDir(kc.Dir)
		if err != nil {
			return nil, err
		}
		if err := exposedKeys(ks, kc.HS256SecretFile, mode, log); err != nil {
			return nil, err
		}
		if kc.HS256SecretFile != "" {
			secret, err := os.ReadFile(kc.HS256SecretFile)
			if err != nil {
				return nil, fmt.Errorf("keys.hs256_secret_file: %w", err)
			}
			k, err := keys.SecretKey(secret)
			if err != nil {
				return nil, fmt.Errorf("keys.hs256_secret_file: %w", err)
			}
			ks = append(ks, k)
		}
		if len(ks) == 0 {
			return nil, fmt.Errorf("no keys in %s: run `sigil keys generate --dir %s`", kc.Dir, kc.Dir)
		}
		return keys.NewSet(ks, kc.Active)
	}
}

// exposedKeys checks that no key file, nor the HS256 secret file, grants
// any access to the group or to other users (mode 0644 and the like): in
// prod that is an error naming each file, in dev a warning per file.
func exposedKeys(ks []*keys.Key, hsFile, mode string, log *slog.Logger) error {
	type exposed struct {
		key, path string
		mode      os.FileMode
	}
	var found []exposed
	for _, k := range ks {
		if k.Exposed() {
			found = append(found, exposed{"keys.dir", k.Source, k.Mode})
		}
	}
	if hsFile != "" {
		if fi, err := os.Stat(hsFile); err == nil && fi.Mode().Perm()&keys.ExposedBits != 0 {
			found = append(found, exposed{"keys.hs256_secret_file", hsFile, fi.Mode().Perm()})
		}
	}
	var errs []error
	for _, e := range found {
		if mode == "prod" {
			errs = append(errs, fmt.Errorf("%s: %s has mode %04o: other users can read this private key; chmod 600 it", e.key, e.path, e.mode))
			continue
		}
		log.Warn("private key file readable by other users; chmod 600 it (refused in prod mode)",
			slog.String("config_key", e.key), slog.String("path", e.path), slog.String("mode", fmt.Sprintf("%04o", e.mode)))
	}
	return errors.Join(errs...)
}

func newLogger(level string) *slog.Logger {
	var l slog.Level
	_ = l.UnmarshalText([]byte(level))
	return slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: l}))
}

// redisLogger adapts go-redis's Printf logging to slog, at warn: it only
// reports connection trouble.
type redisLogger struct{ log *slog.Logger }

func (l redisLogger) Printf(ctx context.Context, format string, v ...any) {
	l.log.WarnContext(ctx, "redis client", slog.String("detail", fmt.Sprintf(format, v...)))
}

// verifierLeeway maps tokens.leeway to token.VerifierConfig, where zero
// means the default: a configured 0 means no leeway at all.
func verifierLeeway(d time.Duration) time.Duration {
	if d == 0 {
		return -1
	}
	return d
}
