package httpapi

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"log/slog"
	"math"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/sigil-dev/sigil/internal/apperr"
	"github.com/sigil-dev/sigil/internal/clients"
	"github.com/sigil-dev/sigil/internal/token"
)

const clientKey = "sigil.client"

// requireClient authenticates the caller with HTTP Basic clientId:clientSecret.
func (s *Server) requireClient(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if len(c.Request().Header[echo.HeaderAuthorization]) > 1 {
			return oneCredential(echo.HeaderAuthorization, "more than one Authorization header")
		}
		id, secret, ok := c.Request().BasicAuth()
		if !ok || id == "" || secret == "" {
			return unauthorized("client authentication required (HTTP Basic clientId:clientSecret)")
		}
		if err := s.limiter.check(c, id); err != nil {
			return err
		}
		cl, err := s.cfg.Clients.Authenticate(c.Request().Context(), id, secret)
		if errors.Is(err, clients.ErrBadCredentials) {
			return s.limiter.failed(c, id, unauthorized("invalid client credentials"))
		}
		if err != nil {
			return err
		}
		c.Set(clientKey, cl)
		return next(c)
	}
}

// requireAdmin lets only admin clients through; it runs after requireClient.
func (s *Server) requireAdmin(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if caller(c).Role != clients.RoleAdmin {
			return forbidden("this endpoint is for admin clients")
		}
		return next(c)
	}
}

func caller(c echo.Context) clients.Client {
	cl, _ := c.Get(clientKey).(clients.Client)
	return cl
}

// bearerToken returns the token of the request's "Authorization: Bearer"
// header, or "" without one. More than one Authorization header is a 400:
// one credential per request (RFC 6750 §2), and which one a gateway or an
// upstream reads cannot be known.
func bearerToken(c echo.Context) (string, error) {
	hs := c.Request().Header[echo.HeaderAuthorization]
	if len(hs) > 1 {
		return "", oneCredential(echo.HeaderAuthorization, "more than one Authorization header")
	}
	if len(hs) == 0 {
		return "", nil
	}
	scheme, tok, ok := strings.Cut(hs[0], " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", nil
	}
	return strings.TrimSpace(tok), nil
}

// oneCredential is the 400 of a request that presents more than one
// credential, or one credential in more than one way (RFC 6750 §2).
func oneCredential(field, what string) error {
	return apperr.Invalid(field, "%s: send one credential per request, in one Authorization header or one ?token=, never both (RFC 6750 §2)", what)
}

// hasAuthorization reports whether the request carries an Authorization
// header of any scheme: beside a token elsewhere it is a second credential
// (an upstream could authenticate the request by it), even when it is not
// a Bearer token sigil reads.
func hasAuthorization(c echo.Context) bool {
	return len(c.Request().Header[echo.HeaderAuthorization]) > 0
}

// queryTokens counts the token query parameters of the request itself.
func queryTokens(c echo.Context) int {
	_, n := token.QueryToken(c.Request().URL.RawQuery)
	return n
}

// requireBearer returns the bearer token or a 401 asking for one. A second
// credential beside it (another Authorization header, ?token=) is a 400.
func requireBearer(c echo.Context) (string, error) {
	tok, err := bearerToken(c)
	if err != nil {
		return "", err
	}
	if hasAuthorization(c) && queryTokens(c) > 0 {
		return "", oneCredential("token", "an Authorization header and ?token=")
	}
	if tok == "" {
		return "", &apperr.Error{Code: apperr.CodeTokenRequired, Field: "Authorization", Message: "an Authorization: Bearer token is required"}
	}
	return tok, nil
}

// maxBlocked bounds how many blocked (address, client id) pairs an
// instance remembers.
const maxBlocked = 100_000

// hotPairFailures is how many failures a pair may have while its client id
// or its address is over the limit as a whole before it is blocked: not
// one, so that a client's own typo during someone else's guessing attack
// does not lock it out (its next, right, secret passes); few, so that an
// attack spread over many addresses gets only that many guesses from each.
const hotPairFailures = 3

// authLimiter rate-limits failed authentications (DESIGN §7) without
// letting anyone lock out a caller who holds the right secret.
//
// Failures are counted in the shared store (so the limits hold across
// instances) per (address, client id) pair, per client id and per address;
// successes are not counted. A pair that has failed AuthMaxFailures times
// in the window is blocked: its further attempts are answered 429 +
// Retry-After before the secret is even compared, right secret or not, so
// one address gets at most AuthMaxFailures guesses at one id per window
// (plus one per other instance, which learns the block from the shared
// count on the pair's next failure there). While a client id, or an
// address, is over the limit as a whole (a guessing attack from many
// addresses, or one address spraying ids), every pair is blocked at its
// hotPairFailures-th failure, and failures are answered 429 instead of 401.
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
// A nil *authLimiter limits nothing.
type authLimiter struct {
	counter FailureCounter
	max     int64
	window  time.Duration
	now     func() time.Time
	log     *slog.Logger

	mu      sync.Mutex
	blocked map[string]time.Time // pair key → end of its block
}

func newAuthLimiter(cfg Config) *authLimiter {
	if cfg.AuthFailures == nil {
		return nil
	}
	return &authLimiter{
		counter: cfg.AuthFailures, max: int64(cfg.AuthMaxFailures), window: cfg.AuthWindow,
		now: cfg.Now, log: cfg.Logger, blocked: make(map[string]time.Time),
	}
}

// check answers 429 while the request's address is blocked on client id
// on this instance; it runs before the secret is compared.
func (l *authLimiter) check(c echo.Context, id string) error {
	if l == nil {
		return nil
	}
	pair, now := pairKey(addrKey(c), id), l.now()
	l.mu.Lock()
	until, ok := l.blocked[pair]
	if ok && !now.Before(until) {
		delete(l.blocked, pair)
		ok = false
	}
	l.mu.Unlock()
	if !ok {
		return nil
	}
	return rateLimited(c, until.Sub(now))
}

// failed counts a failed authentication of id from the request's address
// and returns authErr, or a 429 once the pair, the id or the address is
// over the limit. A counter that cannot be written (store down) leaves
// authErr as it is.
func (l *authLimiter) failed(c echo.Context, id string, authErr error) error {
	if l == nil {
		return authErr
	}
	ctx, addr := c.Request().Context(), addrKey(c)
	pair := pairKey(addr, id)
	pairN, err1 := l.counter.CountFailure(ctx, "auth:pair:"+pair, l.window)
	idN, err2 := l.counter.CountFailure(ctx, "auth:client:"+idKey(id), l.window)
	addrN, err3 := l.counter.CountFailure(ctx, "auth:addr:"+addr, l.window)
	if err := errors.Join(err1, err2, err3); err != nil {
		l.log.LogAttrs(ctx, slog.LevelWarn, "auth failures not counted", slog.String("err", err.Error()))
	}
	hot := idN > l.max || addrN > l.max
	if pairN >= l.max || (hot && pairN >= hotPairFailures) {
		l.block(pair)
	}
	if pairN <= l.max && !hot {
		return authErr
	}
	l.log.LogAttrs(ctx, slog.LevelWarn, "authentication rate limited",
		slog.String("request_id", requestID(c)), slog.String("client_id", truncateID(id)),
		slog.String("addr", addr), slog.Int64("pair_failures", pairN),
		slog.Int64("addr_failures", addrN), slog.Int64("client_failures", idN))
	return rateLimited(c, l.window)
}

// block remembers pair as blocked for a window. Past maxBlocked entries
// (expired ones swept first) a random entry makes room: filling the table
// to unblock one pair costs an attacker about maxBlocked failures per
// extra guess, each of them counted.
func (l *authLimiter) block(pair string) {
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

// rateLimited is the 429 of too many failed authentications, with
// Retry-After set to retry (whole seconds, at least 1).
func rateLimited(c echo.Context, retry time.Duration) error {
	secs := max(int64(math.Ceil(retry.Seconds())), 1)
	c.Response().Header().Set("Retry-After", strconv.FormatInt(secs, 10))
	return apperr.New(apperr.CodeRateLimited, "too many failed authentications, retry later")
}

// addrKey is the remote address a request's failures are counted under:
// echo's RealIP, which is the peer's address unless the peer is a trusted
// proxy (Config.TrustedProxies; then the nearest untrusted address of
// X-Forwarded-For), an IPv6 address by its /64, which one subscriber
// usually holds whole.
func addrKey(c echo.Context) string {
	host := c.RealIP()
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return host
	}
	ip = ip.Unmap()
	if ip.Is6() {
		if p, err := ip.Prefix(64); err == nil {
			return p.String()
		}
	}
	return ip.String()
}

// pairKey is the counter and block key of client id from address addr.
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

func truncateID(id string) string {
	if len(id) > 128 {
		return id[:128] + "…"
	}
	return id
}
