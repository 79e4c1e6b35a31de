package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/sigil-dev/sigil/internal/config"
	"github.com/sigil-dev/sigil/internal/console"
	"github.com/sigil-dev/sigil/internal/embed"
	"github.com/sigil-dev/sigil/internal/httpapi"
	"github.com/sigil-dev/sigil/internal/keys"
	"github.com/sigil-dev/sigil/internal/metrics"
	"github.com/sigil-dev/sigil/internal/registry"
	"github.com/sigil-dev/sigil/internal/revocation"
	"github.com/sigil-dev/sigil/internal/store/memory"
	redisstore "github.com/sigil-dev/sigil/internal/store/redis"
	"github.com/sigil-dev/sigil/internal/token"
)

// The stores the application runs on.
var (
	_ Store = (*memory.Store)(nil)
	_ Store = (*redisstore.Store)(nil)
)

// revoker is what the embed and registry services and the verifier need of
// revocation; revocation.Service (direct) and revocation.Replica satisfy it.
type revoker interface {
	embed.Revoker
	registry.Revoker
	token.Revocation
}

// sharedDirect reports whether revocations are checked on a shared store
// on every request (revocation.mode direct with Redis): only then does
// verification wait on the store.
func sharedDirect(cfg config.Config, st Store) bool {
	_, shared := st.(revocation.SyncStore)
	return shared && cfg.Revocation.Mode == "direct"
}

// startRevocation picks how revocations are checked: a replica of Redis kept
// in sync in the background until ctx ends (replica mode), or the store on
// every request (direct mode, and always with the memory store, which is
// in-process). It returns the readiness checks that go with the choice.
func (a *App) startRevocation(ctx context.Context, st Store, m *metrics.Metrics) (revoker, []httpapi.Check) {
	cfg, log := a.cfg, a.log
	sync, shared := st.(revocation.SyncStore)
	if !shared || cfg.Revocation.Mode == "direct" {
		observeDirectRevocation(m, st)
		a.revStats = directStats(st)
		return revocation.NewService(st, cfg.Tokens.Leeway, a.now), []httpapi.Check{{Name: "store", Fn: st.Ping}}
	}
	rep := revocation.NewReplica(revocation.ReplicaConfig{
		Store: sync, Leeway: cfg.Tokens.Leeway, MaxStaleness: cfg.Revocation.MaxStaleness,
		ResyncInterval: cfg.Revocation.ResyncInterval, Logger: log, Now: a.now,
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
	a.wg.Add(1)
	go func() { defer a.wg.Done(); rep.Run(ctx) }()
	a.revStats = func() httpapi.RevocationStats {
		denied, cutoffs := rep.Size()
		return httpapi.RevocationStats{Mode: "replica", Denied: denied, Cutoffs: cutoffs, Staleness: rep.Staleness()}
	}
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
	return rep, checks
}

// directStats is the overview's revocation state in direct mode: the
// memory store's size; unknown (-1) for Redis, which is not counted.
func directStats(st Store) func() httpapi.RevocationStats {
	return func() httpapi.RevocationStats {
		out := httpapi.RevocationStats{Mode: "direct", Denied: -1, Cutoffs: -1}
		if sz, ok := st.(sizer); ok {
			out.Denied, out.Cutoffs = sz.Size()
		}
		return out
	}
}

// registryStore is where token records live: the Redis store holds them
// too; the memory store keeps them beside it, in a memory.Registry.
func registryStore(st Store, now func() time.Time) registry.Store {
	if rs, ok := st.(registry.Store); ok {
		return rs
	}
	return memory.NewRegistry(now)
}

// sessionStore is where console sessions live: the Redis store holds them
// (every instance sees them); beside the memory store, a memory.Sessions.
func sessionStore(st Store, now func() time.Time) console.Store {
	if ss, ok := st.(console.Store); ok {
		return ss
	}
	return memory.NewSessions(now)
}

// runJanitor deletes expired token records every interval until ctx ends.
func runJanitor(ctx context.Context, svc *registry.Service, interval time.Duration, log *slog.Logger, now func() time.Time) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		n, err := svc.Cleanup(ctx, now())
		if err != nil {
			log.Warn("registry janitor failed; retrying at the next interval", slog.Int("removed", n), slog.String("err", err.Error()))
			continue
		}
		if n > 0 {
			log.Info("registry janitor removed expired tokens", slog.Int("removed", n))
		}
	}
}

// openStore opens the store of cfg.Redis (the memory store without a URL)
// and returns it with a description and how to close it.
func openStore(ctx context.Context, cfg config.Config, log *slog.Logger, now func() time.Time) (Store, string, func(), error) {
	if cfg.Redis.URL == "" {
		log.Warn("using the in-memory store: revocations and clients die with the process; set SIGIL_REDIS_URL for Redis")
		return memory.New(now), "memory (revocations die with the process)", func() {}, nil
	}
	// go-redis logs pool trouble through its own plain-text logger; route
	// it into ours so every stderr line is a JSON record (DESIGN §9).
	goredis.SetLogger(redisLogger{log})
	client, err := redisstore.NewClient(cfg.Redis.URL)
	if err != nil {
		return nil, "", nil, fmt.Errorf("redis.url: %w", err)
	}
	st := redisstore.New(client, cfg.Redis.Prefix, redisstore.WithNow(now))
	if err := st.Ping(ctx); err != nil {
		log.Warn("redis is not reachable at start; readiness will say so", slog.String("err", err.Error()))
	} else {
		if policy, err := st.MaxMemoryPolicy(ctx); err == nil && policy != "noeviction" {
			log.Warn("redis maxmemory-policy can evict denylist entries under memory pressure; set noeviction for production",
				slog.String("maxmemory-policy", policy))
		}
		// Registry keys of an older sigil (no creator index, case-sensitive
		// name claims): brought to the current layout once.
		if n, err := st.MigrateRegistry(ctx); err != nil {
			return nil, "", nil, fmt.Errorf("redis: %w", err)
		} else if n > 0 {
			log.Info("registry keys migrated to the current layout", slog.Int("records", n))
		}
	}
	return st, "redis " + redactURL(cfg.Redis.URL), func() { _ = client.Close() }, nil
}

// redactURL drops any password from a Redis URL before it is shown.
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparseable URL)"
	}
	return u.Redacted()
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
