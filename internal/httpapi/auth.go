package httpapi

import (
	"context"
	"encoding/base64"
	"errors"
	"log/slog"
	"math"
	"strconv"
	"strings"
	"time"
	"unsafe"

	"github.com/labstack/echo/v4"

	"github.com/sigil-dev/sigil/internal/apperr"
	"github.com/sigil-dev/sigil/internal/authlimit"
	"github.com/sigil-dev/sigil/internal/clients"
	"github.com/sigil-dev/sigil/internal/token"
)

const clientKey = "sigil.client"

// requireClient authenticates the caller with HTTP Basic clientId:clientSecret,
// or, without an Authorization header, by a console session cookie
// (fromSession, session.go), and keeps the client in the context
// (clientKey) for requireAdmin, caller and registryCaller.
func (s *Server) requireClient(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		cl, err := s.authenticateClient(c)
		if err != nil {
			return err
		}
		c.Set(clientKey, cl)
		return next(c)
	}
}

// withClient is requireClient for a handler that takes the client as an
// argument: the same authentication (authenticateClient: Basic or the
// session cookie, the same checks and limits, the same errors), without
// the context's store, whose map and boxed copy of the client cost two
// allocations a request. Only a route whose handler and middleware read
// the client from that argument alone may use it: caller(c),
// registryCaller(c) and requireAdmin see no client behind it (they would
// answer as for an unauthenticated caller, never for another one).
func (s *Server) withClient(next func(echo.Context, clients.Client) error) echo.HandlerFunc {
	return func(c echo.Context) error {
		cl, err := s.authenticateClient(c)
		if err != nil {
			return err
		}
		return next(c, cl)
	}
}

// authenticateClient is the authentication of requireClient and
// withClient: HTTP Basic clientId:clientSecret, or, without an
// Authorization header, a console session cookie (fromSession).
func (s *Server) authenticateClient(c echo.Context) (clients.Client, error) {
	if s.cfg.Sessions != nil && !hasAuthorization(c) {
		cookie, err := s.sessionCookie(c)
		if err != nil {
			return clients.Client{}, err
		}
		if cookie != "" {
			return s.fromSession(c, cookie)
		}
	}
	hs := c.Request().Header[echo.HeaderAuthorization]
	if len(hs) > 1 {
		return clients.Client{}, oneCredential(echo.HeaderAuthorization, "more than one Authorization header")
	}
	id, secret, ok := basicAuth(hs)
	if !ok || id == "" || secret == "" {
		return clients.Client{}, unauthorized("client authentication required (HTTP Basic clientId:clientSecret)")
	}
	if err := s.checkBasicCrossSite(c); err != nil {
		return clients.Client{}, err
	}
	if err := s.checkAuthLimit(c, id); err != nil {
		return clients.Client{}, err
	}
	cl, err := s.cfg.Clients.Authenticate(c.Request().Context(), id, secret)
	if errors.Is(err, clients.ErrBadCredentials) {
		return clients.Client{}, s.authFailed(c, id, unauthorized("invalid client credentials"))
	}
	if err != nil {
		return clients.Client{}, err
	}
	return cl, nil
}

// basicAuth is net/http's Request.BasicAuth for the request's
// Authorization header values hs (FuzzBasicAuth holds them equal): the
// first value, its "Basic " prefix in any ASCII case, standard base64 with
// padding, split at the first colon. The credentials are decoded on the
// stack and copied once, where Request.BasicAuth allocates twice.
func basicAuth(hs []string) (id, secret string, ok bool) {
	if len(hs) == 0 {
		return "", "", false
	}
	const prefix = "Basic "
	auth := hs[0]
	if len(auth) < len(prefix) || !asciiEqualFold(auth[:len(prefix)], prefix) {
		return "", "", false
	}
	enc := auth[len(prefix):]
	var stack [192]byte
	buf := stack[:]
	if n := base64.StdEncoding.DecodedLen(len(enc)); n > len(buf) {
		buf = make([]byte, n)
	}
	// Decode only reads its source: enc's bytes are not copied first.
	n, err := base64.StdEncoding.Decode(buf, unsafe.Slice(unsafe.StringData(enc), len(enc)))
	if err != nil {
		return "", "", false
	}
	id, secret, ok = strings.Cut(string(buf[:n]), ":")
	if !ok {
		return "", "", false
	}
	return id, secret, true
}

// asciiEqualFold is strings.EqualFold for ASCII letters only (net/http's
// internal/ascii.EqualFold): "ſ" does not match "s".
func asciiEqualFold(s, t string) bool {
	if len(s) != len(t) {
		return false
	}
	for i := 0; i < len(s); i++ {
		if asciiLower(s[i]) != asciiLower(t[i]) {
			return false
		}
	}
	return true
}

func asciiLower(b byte) byte {
	if 'A' <= b && b <= 'Z' {
		return b + ('a' - 'A')
	}
	return b
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

// authLimit is the rate limit of failed authentications; *authlimit.Limiter
// satisfies it (a nil one limits nothing).
type authLimit interface {
	// Blocked returns how long client id stays blocked from addr, 0 if not.
	Blocked(addr, id string) time.Duration
	// Failed counts a failed authentication of id from addr.
	Failed(ctx context.Context, addr, id string) authlimit.Failure
}

var _ authLimit = (*authlimit.Limiter)(nil)

// newAuthLimit is the limiter of cfg's Auth* fields; a nil *authlimit.Limiter
// (limiting nothing) without AuthFailures.
func newAuthLimit(cfg Config) authLimit {
	var counter authlimit.Counter
	if cfg.AuthFailures != nil {
		counter = cfg.AuthFailures
	}
	return authlimit.New(authlimit.Config{
		Counter: counter, MaxFailures: cfg.AuthMaxFailures, Window: cfg.AuthWindow, Now: cfg.Now, Logger: cfg.Logger,
	})
}

// checkAuthLimit answers 429 while the request's address is blocked on
// client id (authlimit.Limiter.Blocked); it runs before the secret is
// compared. The address is echo's RealIP: the peer's, unless the peer is a
// trusted proxy (Config.TrustedProxies; then the nearest untrusted address
// of X-Forwarded-For).
func (s *Server) checkAuthLimit(c echo.Context, id string) error {
	if retry := s.limiter.Blocked(c.RealIP(), id); retry > 0 {
		return rateLimited(c, retry)
	}
	return nil
}

// authFailed counts a failed authentication of id from the request's
// address and returns authErr, or a 429 once the limiter says the failure
// is over the limit.
func (s *Server) authFailed(c echo.Context, id string, authErr error) error {
	f := s.limiter.Failed(c.Request().Context(), c.RealIP(), id)
	if !f.Limited {
		return authErr
	}
	s.log.LogAttrs(c.Request().Context(), slog.LevelWarn, "authentication rate limited",
		slog.String("request_id", requestID(c)), slog.String("client_id", truncateID(id)),
		slog.String("addr", f.Addr), slog.Int64("pair_failures", f.PairFailures),
		slog.Int64("addr_failures", f.AddrFailures), slog.Int64("client_failures", f.ClientFailures))
	return rateLimited(c, f.RetryAfter)
}

// rateLimited is the 429 of too many failed authentications, with
// Retry-After set to retry (whole seconds, at least 1).
func rateLimited(c echo.Context, retry time.Duration) error {
	secs := max(int64(math.Ceil(retry.Seconds())), 1)
	c.Response().Header().Set("Retry-After", strconv.FormatInt(secs, 10))
	return apperr.New(apperr.CodeRateLimited, "too many failed authentications, retry later")
}

func truncateID(id string) string {
	if len(id) > 128 {
		return id[:128] + "…"
	}
	return id
}
