package authlimit

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"log/slog"
	"net/netip"
	"sync"
	"time"
)

// Counter counts failures in a fixed window shared by every instance;
// registry.Store satisfies it.
type Counter interface {
	// CountFailure counts one failure of key in a window of length window
	// that starts at its first failure, and returns the count so far (1 for
	// the first). Store failures wrap apperr.ErrStoreUnavailable.
	CountFailure(ctx context.Context, key string, window time.Duration) (int64, error)
}

// Defaults of Config.
const (
	DefaultMaxFailures = 10
	DefaultWindow      = time.Minute
)

// maxBlocked bounds how many blocked (address, client id) pairs an
// instance remembers.
const maxBlocked = 100_000

// hotPairFailures is how many failures a pair may have while its client id
// or its address is over the limit as a whole before it is blocked: not
// one, so that a client's own typo during someone else's guessing attack
// does not lock it out (its next, right, secret passes); few, so that an
// attack spread over many addresses gets only that many guesses from each.
const hotPairFailures = 3

// Config configures a Limiter; Counter is required.
type Config struct {
	Counter Counter
	// MaxFailures failures per client id, per address or per pair within
	// Window are allowed (defaults DefaultMaxFailures and DefaultWindow).
	MaxFailures int
	Window      time.Duration
	// Now is the clock (default time.Now).
	Now func() time.Time
	// Logger receives counters that could not be written; nil discards them.
	Logger *slog.Logger
}

// Limiter rate-limits failed authentications (DESIGN §7) without letting
// anyone lock out a caller who holds the right secret.
//
// Failures are counted in the shared store (so the limits hold across
// instances) per (address, client id) pair, per client id and per address;
// successes are not counted. A pair that has failed MaxFailures times in
// the window is blocked: its further attempts are refused (Blocked) before
// the secret is even compared, right secret or not, so one address gets at
// most MaxFailures guesses at one id per window (plus one per other
// instance, which learns the block from the shared count on the pair's
// next failure there). While a client id, or an address, is over the limit
// as a whole (a guessing attack from many addresses, or one address
// spraying ids), every pair is blocked at its hotPairFailures-th failure,
// and failures are limited instead of plain refusals.
//
// Only pairs that failed are ever blocked: a client presenting its right
// secret from an address that has not failed on its id is never refused,
// however many wrong guesses arrive for its id from elsewhere, or for
// other ids from its own address, and neither is one that mistyped its
// secret once or twice meanwhile (a NAT or, without trusted proxies, a
// load balancer shared with an attacker). The one lockout left: an
// attacker who shares the client's address and guesses the client's own id
// blocks that pair until the window ends.
//
// A nil *Limiter limits nothing.
type Limiter struct {
	counter Counter
	max     int64
	window  time.Duration
	now     func() time.Time
	log     *slog.Logger

	mu      sync.Mutex
	blocked map[string]time.Time // pair key → end of its block
}

// New returns a Limiter; nil (limiting nothing) without a Counter.
func New(cfg Config) *Limiter {
	if cfg.Counter == nil {
		return nil
	}
	if cfg.MaxFailures <= 0 {
		cfg.MaxFailures = DefaultMaxFailures
	}
	if cfg.Window <= 0 {
		cfg.Window = DefaultWindow
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &Limiter{
		counter: cfg.Counter, max: int64(cfg.MaxFailures), window: cfg.Window,
		now: cfg.Now, log: cfg.Logger, blocked: make(map[string]time.Time),
	}
}

// Blocked returns how long the client id stays blocked from addr on this
// instance, 0 if it is not; it is asked before the secret is compared.
func (l *Limiter) Blocked(addr, id string) time.Duration {
	if l == nil {
		return 0
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.blocked) == 0 {
		return 0 // the usual case: no key to build (AddrKey allocates)
	}
	pair, now := pairKey(AddrKey(addr), id), l.now()
	until, ok := l.blocked[pair]
	if !ok {
		return 0
	}
	if !now.Before(until) {
		delete(l.blocked, pair)
		return 0
	}
	return until.Sub(now)
}

// Failure is the outcome of a counted failure.
type Failure struct {
	// Limited says the pair, the client id or the address is over the
	// limit: the failure is answered as rate limited, retry after
	// RetryAfter, instead of as a plain refusal.
	Limited    bool
	RetryAfter time.Duration
	// Addr is the address key the failure was counted under; the counts
	// are the failures so far in the window (0 when not counted).
	Addr                                       string
	PairFailures, ClientFailures, AddrFailures int64
}

// Failed counts a failed authentication of client id from addr. A counter
// that cannot be written (store down) is logged and leaves the failure
// unlimited, unless a count that was written says otherwise.
func (l *Limiter) Failed(ctx context.Context, addr, id string) Failure {
	if l == nil {
		return Failure{}
	}
	addr = AddrKey(addr)
	pair := pairKey(addr, id)
	pairN, err1 := l.counter.CountFailure(ctx, "auth:pair:"+pair, l.window)
	idN, err2 := l.counter.CountFailure(ctx, "auth:client:"+idKey(id), l.window)
	addrN, err3 := l.counter.CountFailure(ctx, "auth:addr:"+addr, l.window)
	if err := errors.Join(err1, err2, err3); err != nil {
		l.log.LogAttrs(ctx, slog.LevelWarn, "auth failures not counted", slog.String("err", err.Error()))
	}
	f := Failure{Addr: addr, PairFailures: pairN, ClientFailures: idN, AddrFailures: addrN}
	hot := idN > l.max || addrN > l.max
	if pairN >= l.max || (hot && pairN >= hotPairFailures) {
		l.block(pair)
	}
	if pairN > l.max || hot {
		f.Limited, f.RetryAfter = true, l.window
	}
	return f
}

// block remembers pair as blocked for a window. Past maxBlocked entries
// (expired ones swept first) a random entry makes room: filling the table
// to unblock one pair costs an attacker about maxBlocked failures per
// extra guess, each of them counted.
func (l *Limiter) block(pair string) {
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	if _, ok := l.blocked[pair]; !ok && len(l.blocked) >= maxBlocked {
		for k, until := range l.blocked {
			if !now.Before(until) {
				delete(l.blocked, k)
			}
		}
		for k := range l.blocked { // map order is random
			if len(l.blocked) < maxBlocked {
				break
			}
			delete(l.blocked, k)
		}
	}
	l.blocked[pair] = now.Add(l.window)
}

// AddrKey is the key failures from the remote address addr are counted
// under: an IPv6 address by its /64, which one subscriber usually holds
// whole; an IPv4-mapped address as IPv4; anything unparsable as it is.
func AddrKey(addr string) string {
	ip, err := netip.ParseAddr(addr)
	if err != nil {
		return addr
	}
	ip = ip.Unmap()
	if ip.Is6() {
		if p, err := ip.Prefix(64); err == nil {
			return p.String()
		}
	}
	return ip.String()
}

// pairKey is the counter and block key of client id from address key addr.
func pairKey(addr, id string) string { return addr + "|" + idKey(id) }

// idKey is a client id as a counter key: long ids are hashed so that a
// caller cannot make large keys.
func idKey(id string) string {
	if len(id) <= 128 {
		return id
	}
	sum := sha256.Sum256([]byte(id))
	return "sha256:" + hex.EncodeToString(sum[:])
}
