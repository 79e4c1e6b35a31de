package verifier

import (
	"context"
	"log/slog"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/sigil-dev/sigil/internal/revocation"
	revredis "github.com/sigil-dev/sigil/internal/revocation/redis"
	"github.com/sigil-dev/sigil/internal/token"
)

// RedisConfig makes the verifier honour sigil's revocations from the Redis
// that sigil writes them to, through the same in-memory replica sigil's
// instances keep (DESIGN §5): a full load, pub/sub for each new entry,
// resync on reconnect and periodically, no network trip per check, and
// verification failing closed once the replica is older than MaxStaleness.
type RedisConfig struct {
	// Client is sigil's Redis (single node, Sentinel or Cluster); the caller
	// owns it and closes it after Verifier.Close.
	Client goredis.UniversalClient
	// Prefix is sigil's redis.prefix; default "sigil:".
	Prefix string
	// MaxStaleness is how long verification goes on without contact with
	// Redis before failing closed (default 5m, as sigil's revocation.max_staleness).
	MaxStaleness time.Duration
	// ResyncInterval is the period of full reloads; default 1m.
	ResyncInterval time.Duration
	Logger         *slog.Logger
}

// recordCacheSize bounds the verified-token cache of a verifier that reads
// registry records from Redis.
const recordCacheSize = 10_000

// recordsOf checks registered tokens against sigil's registry records in
// the Redis of rc (one GET per token not yet cached).
func recordsOf(rc RedisConfig) token.Records {
	return revredis.NewRecords(rc.Client, rc.Prefix)
}

// startReplica loads the replica and keeps it in sync until stop is called.
// A failed first load is not an error: checks fail closed (503 from the
// middleware) until a retry succeeds, as in sigil itself.
func startReplica(ctx context.Context, rc RedisConfig, leeway time.Duration, now func() time.Time) (*revocation.Replica, func()) {
	rep := revocation.NewReplica(revocation.ReplicaConfig{
		Store:  revredis.New(rc.Client, rc.Prefix, revredis.WithNow(now), revredis.ReadOnly()),
		Leeway: leeway, MaxStaleness: rc.MaxStaleness, ResyncInterval: rc.ResyncInterval,
		Logger: rc.Logger, Now: now,
	})
	if err := rep.Sync(ctx); err != nil && rc.Logger != nil {
		rc.Logger.Warn("sigil verifier: first revocation load failed; failing closed until Redis answers", slog.String("err", err.Error()))
	}
	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	done := make(chan struct{})
	go func() {
		defer close(done)
		rep.Run(runCtx)
	}()
	return rep, func() {
		cancel()
		<-done
	}
}
