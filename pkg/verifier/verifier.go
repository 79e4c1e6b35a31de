package verifier

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sigil-dev/sigil/internal/keys"
	"github.com/sigil-dev/sigil/internal/policy"
	"github.com/sigil-dev/sigil/internal/token"
)

// Revocation decides whether a verified token was revoked; see Config.Revocation.
type Revocation interface {
	// Check returns nil if the token is live, an error wrapping ErrRevoked
	// if it was revoked, and any other error when it cannot tell (the
	// middleware then answers 503).
	Check(ctx context.Context, c *Claims) error
}

// ErrInvalidToken is matched (errors.Is) by every rejection that is the token's fault.
var ErrInvalidToken = token.ErrInvalidToken

// ErrRevoked is matched by the rejection of a revoked token; a Revocation
// returns an error wrapping it.
var ErrRevoked = token.ErrRevoked

// Reason returns a short stable label for a verification error ("expired", "signature", …).
func Reason(err error) string { return token.Reason(err) }

// Config configures a Verifier.
type Config struct {
	// JWKSURL is sigil's /.well-known/jwks.json.
	JWKSURL string
	// Issuer and Audience must match sigil's configuration.
	Issuer, Audience string
	// Leeway tolerated on exp/nbf/iat; default 30s, at most 5m.
	Leeway time.Duration
	// MaxEmbedLifetime is the longest exp - iat an embed token may have:
	// sigil's tokens.embed_max_expiry (default 24h, also the default here).
	// A longer one is rejected, as sigil's own /verify does.
	MaxEmbedLifetime time.Duration
	// Revocation, when set, is consulted for every token. Without it (and
	// without Redis) the verifier cannot see logouts and revocations: use it
	// only where tokens are short-lived enough for that.
	Revocation Revocation
	// Redis, when its Client is set (and Revocation is not), checks sigil's
	// denylist and cutoffs through an in-memory replica of sigil's Redis,
	// and that a registered token (report, app-view, api) is its record's
	// live generation, reading the record once per token (verified tokens
	// are cached; later revocations reach them through the replica), as
	// sigil does; call Close to stop it. Without Redis there is no record
	// to read: a registered token then needs only its record id (tid), and
	// the verifier cannot tell one minted outside sigil's registry with
	// sigil's key (sigil token mint --offline) from a registered one.
	Redis RedisConfig
	// Policy, when set, makes the middleware apply sigil's forward-auth
	// policy (per-kind paths and methods, API scopes) to each request's own
	// method and URI, as GET /api/v1/verify does with the forwarded ones.
	// Use the same values as sigil's gateway.* configuration.
	Policy *PolicyConfig
	// HTTPClient fetches the JWKS; default a client with a 5s timeout.
	HTTPClient *http.Client
	// RefetchInterval is the least time between two JWKS fetches triggered by
	// an unknown kid; default 30s. It stops a flood of random kids from
	// turning into a flood of fetches.
	RefetchInterval time.Duration
	// RetryAfter is what the middleware's 503 says in Retry-After (whole
	// seconds, rounded up); default 2s, as sigil's revocation.retry_after.
	RetryAfter time.Duration
	Now        func() time.Time
}

// Verifier verifies tokens with sigil's pipeline and published keys.
type Verifier struct {
	pipeline   *token.Verifier
	keys       *jwksKeys
	policy     *policy.Policy
	retryAfter time.Duration
	stop       func()
}

// New fetches the JWKS once (an error if that fails) and returns a Verifier.
func New(ctx context.Context, cfg Config) (*Verifier, error) {
	if cfg.JWKSURL == "" || cfg.Issuer == "" || cfg.Audience == "" {
		return nil, errors.New("verifier: JWKSURL, Issuer and Audience are required")
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: 5 * time.Second}
	}
	if cfg.RefetchInterval <= 0 {
		cfg.RefetchInterval = 30 * time.Second
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.RetryAfter <= 0 {
		cfg.RetryAfter = 2 * time.Second
	}
	var pol *policy.Policy
	if cfg.Policy != nil {
		p, err := policy.New(cfg.Policy.config())
		if err != nil {
			return nil, fmt.Errorf("verifier: policy: %w", err)
		}
		pol = p
	}
	ks := &jwksKeys{url: cfg.JWKSURL, client: cfg.HTTPClient, interval: cfg.RefetchInterval, now: cfg.Now}
	if err := ks.fetch(ctx); err != nil {
		return nil, err
	}
	v := &Verifier{keys: ks, policy: pol, retryAfter: cfg.RetryAfter, stop: func() {}}
	var (
		rev     token.Revocation = noRevocation{}
		records token.Records
	)
	cacheSize := 0
	switch {
	case cfg.Revocation != nil:
		rev = revocationOf{cfg.Revocation}
	case cfg.Redis.Client != nil:
		leeway := cfg.Leeway
		if leeway == 0 {
			leeway = token.DefaultLeeway
		}
		rev, v.stop = startReplica(ctx, cfg.Redis, leeway, cfg.Now)
		// Records are read once per token: the cache keeps the verdict of
		// steps 1–4 and the record check, never of revocation (and the
		// token's converted Claims).
		records, cacheSize = recordsOf(cfg.Redis), recordCacheSize
	}
	v.pipeline = token.NewVerifier(token.VerifierConfig{
		Issuer: cfg.Issuer, Audience: cfg.Audience, Keys: ks,
		Revocation: rev, Leeway: cfg.Leeway, Now: cfg.Now,
		EmbedMaxLifetime: cfg.MaxEmbedLifetime,
		Records:          records, CacheSize: cacheSize,
	})
	return v, nil
}

// Close stops the Redis replica, if any. The Verifier must not be used after.
func (v *Verifier) Close() { v.stop() }

// Verify runs the full pipeline on raw. Errors match ErrInvalidToken when
// the token is at fault; anything else is a revocation backend failure.
// The Claims may be shared with other callers: treat them as read-only.
func (v *Verifier) Verify(ctx context.Context, raw string) (*Claims, error) {
	c, _, err := v.verify(ctx, raw)
	return c, err
}

// verify is Verify that also returns the pipeline's claims (for the policy).
// A cached token's converted Claims are kept in its cache entry.
func (v *Verifier) verify(ctx context.Context, raw string) (*Claims, *token.Claims, error) {
	tc, memo, err := v.pipeline.VerifyMemo(ctx, raw)
	if err != nil {
		return nil, nil, err
	}
	if c, ok := memo.Load().(*Claims); ok {
		return c, tc, nil
	}
	c := claimsOf(tc)
	memo.Store(c)
	return c, tc, nil
}

type noRevocation struct{}

func (noRevocation) Check(context.Context, *token.Claims) error { return nil }

// revocationOf adapts a caller's Revocation to the pipeline.
type revocationOf struct{ r Revocation }

func (a revocationOf) Check(ctx context.Context, c *token.Claims) error {
	return a.r.Check(ctx, claimsOf(c))
}

// jwksKeys is a token.Keys fed by a JWKS URL. It refetches on an unknown kid,
// at most once per interval, and keeps the last good set when sigil is down.
type jwksKeys struct {
	url      string
	client   *http.Client
	interval time.Duration
	now      func() time.Time

	set       atomic.Pointer[map[string]*keys.Key]
	mu        sync.Mutex // serialises fetches
	lastFetch time.Time
}

// Active is nil: an offline verifier never signs.
func (k *jwksKeys) Active() *keys.Key { return nil }

// Lookup finds kid in the current set, refetching once per interval when it is unknown.
func (k *jwksKeys) Lookup(kid string) (*keys.Key, bool) {
	if key, ok := (*k.set.Load())[kid]; ok {
		return key, true
	}
	k.mu.Lock()
	if k.now().Sub(k.lastFetch) >= k.interval {
		ctx, cancel := context.WithTimeout(context.Background(), k.client.Timeout+time.Second)
		_ = k.fetchLocked(ctx) // on failure the last good set stays
		cancel()
	}
	k.mu.Unlock()
	key, ok := (*k.set.Load())[kid]
	return key, ok
}

func (k *jwksKeys) fetch(ctx context.Context) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.fetchLocked(ctx)
}

func (k *jwksKeys) fetchLocked(ctx context.Context) error {
	k.lastFetch = k.now()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, k.url, nil)
	if err != nil {
		return fmt.Errorf("verifier: jwks request: %w", err)
	}
	resp, err := k.client.Do(req)
	if err != nil {
		return fmt.Errorf("verifier: fetch jwks: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("verifier: fetch jwks: status %d", resp.StatusCode)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return fmt.Errorf("verifier: read jwks: %w", err)
	}
	parsed, err := keys.ParseJWKS(body)
	if err != nil {
		return fmt.Errorf("verifier: %w", err)
	}
	m := make(map[string]*keys.Key, len(parsed))
	for _, key := range parsed {
		m[key.KID] = key
	}
	k.set.Store(&m)
	return nil
}
