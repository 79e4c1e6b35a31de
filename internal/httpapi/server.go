package httpapi

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"

	"github.com/sigil-dev/sigil/internal/clients"
	"github.com/sigil-dev/sigil/internal/embed"
	"github.com/sigil-dev/sigil/internal/keys"
	"github.com/sigil-dev/sigil/internal/metrics"
	"github.com/sigil-dev/sigil/internal/reqctx"
	"github.com/sigil-dev/sigil/internal/token"
)

// MaxBodyBytes is the largest request body accepted (413 above it).
const MaxBodyBytes = 64 << 10

// Verifier runs the verification pipeline.
type Verifier interface {
	// Verify runs every step; errors wrap token.ErrInvalidToken or a store error.
	Verify(ctx context.Context, raw string) (*token.Claims, error)
	// VerifyMemo is Verify that also returns the token's cache slot (nil
	// when not cached), where forward-auth keeps its rendered answer.
	VerifyMemo(ctx context.Context, raw string) (*token.Claims, *token.Memo, error)
	// VerifyIgnoringExpiry checks everything but expiry and revocation.
	VerifyIgnoringExpiry(ctx context.Context, raw string) (*token.Claims, error)
}

// Tokens applies the rules of embed tokens and of tokens a client presents
// or cuts off; *embed.Service satisfies it. Its errors are *apperr.Error
// values, pipeline rejections (token.ErrInvalidToken), the registry's and
// the clients' sentinels, or store failures.
type Tokens interface {
	// MaxTTL is the longest lifetime an embed token may be asked for.
	MaxTTL() time.Duration
	// Mint buys an embed token with a dashboard credential; a wrong one
	// wraps clients.ErrBadCredentials.
	Mint(ctx context.Context, req embed.MintRequest) (embed.Issued, error)
	// Refresh swaps a live embed token for a new one in its refresh chain.
	Refresh(ctx context.Context, raw string) (embed.Issued, error)
	// Invalidate denylists a genuine embed token (logout).
	Invalidate(ctx context.Context, raw string) error
	// View judges a token for the report viewer: a live report token's
	// claims, a pipeline rejection, or embed.ErrNotViewable.
	View(ctx context.Context, raw string) (*token.Claims, error)
	// Introspect judges a token for a client (RFC 7662).
	Introspect(ctx context.Context, c embed.Caller, raw string) (embed.Introspection, error)
	// Revoke revokes a presented token for a client (RFC 7009).
	Revoke(ctx context.Context, c embed.Caller, raw string) error
	// RevokeAll writes the cutoff a client asks for, within its reach.
	RevokeAll(ctx context.Context, c embed.Caller, req embed.CutoffRequest) (embed.CutoffResult, error)
	// DeleteClient cuts off a client's tokens and deletes it; an unknown
	// id is clients.ErrNotFound.
	DeleteClient(ctx context.Context, c embed.Caller, id string) error
}

var _ Tokens = (*embed.Service)(nil)

// Clients manages and authenticates API clients.
type Clients interface {
	// Authenticate returns clients.ErrBadCredentials for an unknown id or wrong secret.
	Authenticate(ctx context.Context, id, secret string) (clients.Client, error)
	Create(ctx context.Context, in clients.NewClient) (clients.Client, string, error)
	// Get and RotateSecret return clients.ErrNotFound for an unknown id.
	Get(ctx context.Context, id string) (clients.Client, error)
	List(ctx context.Context) ([]clients.Client, error)
	RotateSecret(ctx context.Context, id string) (clients.Client, string, error)
}

// KeySet gives the current key set (swapped on reload).
type KeySet interface {
	Set() *keys.Set
}

// Observer records metrics; nil means none.
type Observer interface {
	Request(route, method string, status int, d time.Duration)
	Verified(reason string)
	Minted(kind string)
}

// Recorder takes usage events of registered tokens off the hot path;
// *registry.Recorder satisfies it.
type Recorder interface {
	// Authenticated records a use of the token of record tid at at (ok for a
	// successful one); it never blocks and returns nothing.
	Authenticated(tid string, at time.Time, ok bool)
}

// FailureCounter counts failures in a fixed window shared by every
// instance; registry.Store satisfies it.
type FailureCounter interface {
	// CountFailure counts one failure of key in a window of length window
	// that starts at its first failure, and returns the count so far (1 for
	// the first). Store failures wrap apperr.ErrStoreUnavailable.
	CountFailure(ctx context.Context, key string, window time.Duration) (int64, error)
}

type noObserver struct{}

func (noObserver) Request(string, string, int, time.Duration) {}
func (noObserver) Verified(string)                            {}
func (noObserver) Minted(string)                              {}

// Check is one readiness check.
type Check struct {
	Name string
	Fn   func(ctx context.Context) error
	// Degrades marks a check whose failure leaves the service working in a
	// reduced way (Redis down while the replica is fresh): /readyz then
	// answers 200 with status "degraded" instead of 503.
	Degrades bool
}

// Config is the runtime configuration of the HTTP API; everything is injected.
type Config struct {
	Issuer   string
	Verifier Verifier
	// Tokens mints and refreshes embed tokens and scopes what a client
	// may do with presented tokens and cutoffs.
	Tokens  Tokens
	Clients Clients
	Keys    KeySet
	Ready   []Check

	// RetryAfter is sent with 503 answers.
	RetryAfter time.Duration
	// StoreTimeout bounds the work of each request that touches a store.
	StoreTimeout time.Duration
	// VerifyNeverWaits says verification answers from memory (a revocation
	// replica, or the in-process store): GET /api/v1/verify then skips the
	// store-timeout context, whose timer is a measurable share of its cost.
	VerifyNeverWaits bool

	Logger *slog.Logger
	Now    func() time.Time
	// Observer records metrics; MetricsHandler serves them at /metrics.
	Observer       Observer
	MetricsHandler http.Handler

	// Registry manages registered tokens (report, app-view, API); nil
	// leaves the /api/tokens, /api/reports, /api/apps and /api/owners
	// routes out.
	Registry Registry
	// RevealTokens makes token reads and listings return the JWT itself
	// (registry.reveal_tokens), unsealed by Registry.RevealToken.
	RevealTokens bool
	// Recorder takes the AUTHENTICATE events of registered tokens off the
	// verification path; nil records nothing.
	Recorder Recorder
	// AuthFailures counts failed client authentications across instances;
	// nil turns the rate limit off. AuthMaxFailures failures per client id
	// or per remote address within AuthWindow are allowed; the next ones
	// are answered 429 (defaults 10 and 1m).
	AuthFailures    FailureCounter
	AuthMaxFailures int
	AuthWindow      time.Duration
	// TrustedProxies are the reverse proxies in front of sigil
	// (http.trusted_proxies): only for a peer in one of them is the client
	// address read from X-Forwarded-For; empty, the peer's address is the
	// client's and the header is ignored.
	TrustedProxies []*net.IPNet

	// OpenAPI is the API's OpenAPI document (JSON), served at /openapi.json;
	// nil leaves the route out.
	OpenAPI []byte
	// SDKScript is the browser ES module served at /sdk/sigil-embed.js;
	// DemoPage and DemoScript are the demo page (dev mode only) served at
	// /demo/ and /demo/demo.js. nil leaves a route out.
	SDKScript  []byte
	DemoPage   []byte
	DemoScript []byte
	// APITokensScript is the <sigil-api-tokens> component served at
	// /sdk/sigil-api-tokens.js; nil leaves the route out.
	APITokensScript []byte
	// CORSOrigins are the browser origins allowed to call the token,
	// refresh, invalidate and verify endpoints cross-origin; empty allows none.
	CORSOrigins []string
	// ConsoleOrigins are the host pages allowed to call /api/tokens* and
	// /api/scopes cross-origin, as <sigil-api-tokens> does with a console
	// token (console.allowed_origins); empty allows none. Never with
	// credentials (cookies).
	ConsoleOrigins []string

	// ViewURLTemplate is the viewer URL that GET /view/{token} redirects a
	// live report token to, with {reportId} and {token} filled in
	// (view.url_template); empty leaves the route out.
	ViewURLTemplate string
	// Policy is step 6 of verification (DESIGN §4): what a verified token
	// may do with the method and URI a gateway forwards to /api/v1/verify.
	// Nil means the built-in rules (policy.New with an empty policy.Config).
	Policy Policy

	// ConsolePages are the admin console's files (index.html, its modules
	// and stylesheet), served at /console/ and /console/{file}; nil leaves
	// the routes out.
	ConsolePages fs.FS

	// RevocationStats reports the revocation state this instance holds
	// (GET /api/overview); nil shows none.
	RevocationStats func() RevocationStats

	// Sessions are the admin console's sign-in sessions: with them,
	// /console/api/session signs in and out, and the session cookie
	// authenticates the API routes as the signed-in client (with CSRF
	// checks); nil leaves both out.
	Sessions Sessions

	// Reports publishes, lists and deletes a report's tokens across this
	// deployment and the cloud deployment (cloud.url); nil means local
	// report tokens only (cloud.Service over Registry, without a Remote):
	// publishing is then a 404.
	Reports Reports

	// Webhooks manages webhook endpoints and DeadLetters the notifications
	// that ran out of attempts (#15); nil leaves their routes out.
	Webhooks    Webhooks
	DeadLetters DeadLetters
	// Console mints and checks console tokens (POST /api/console-tokens,
	// and a Bearer alternative to client credentials on the routes of one
	// owner's API tokens); nil leaves both out.
	Console ConsoleTokens
}

// Server is sigil's HTTP API.
type Server struct {
	cfg     Config
	log     *slog.Logger
	echo    *echo.Echo
	limiter authLimit
	// routes are the registered route templates: the only values the
	// route label of the request metrics takes, besides unmatchedRoute.
	routes map[string]struct{}
}

// unmatchedRoute is the route label of a request that matched no route:
// its path is the client's choice and must not become a label value.
const unmatchedRoute = "unmatched"

// New builds the API with every route registered.
func New(cfg Config) *Server {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Observer == nil {
		cfg.Observer = noObserver{}
	}
	if cfg.RetryAfter <= 0 {
		cfg.RetryAfter = 2 * time.Second
	}
	if cfg.StoreTimeout <= 0 {
		cfg.StoreTimeout = 2 * time.Second
	}
	if cfg.AuthMaxFailures <= 0 {
		cfg.AuthMaxFailures = 10
	}
	if cfg.AuthWindow <= 0 {
		cfg.AuthWindow = time.Minute
	}
	if cfg.Policy == nil {
		cfg.Policy = defaultPolicy()
	}
	if cfg.Reports == nil && cfg.Registry != nil {
		cfg.Reports = localReports(cfg.Registry)
	}
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	// echo's default reads X-Forwarded-For and X-Real-IP from anyone.
	e.IPExtractor = echo.ExtractIPDirect()
	if len(cfg.TrustedProxies) > 0 {
		opts := []echo.TrustOption{echo.TrustLoopback(false), echo.TrustLinkLocal(false), echo.TrustPrivateNet(false)}
		for _, n := range cfg.TrustedProxies {
			opts = append(opts, echo.TrustIPRange(n))
		}
		e.IPExtractor = echo.ExtractIPFromXFFHeader(opts...)
	}
	s := &Server{cfg: cfg, log: cfg.Logger, echo: e, limiter: newAuthLimit(cfg)}
	e.HTTPErrorHandler = s.errorHandler
	chain := []echo.MiddlewareFunc{
		requestIDs(newRequestIDs()),
		s.logRequests,
		middleware.RecoverWithConfig(middleware.RecoverConfig{
			// The stack goes to our structured log, never to the client.
			LogErrorFunc: func(c echo.Context, err error, stack []byte) error {
				s.log.Error("panic recovered", slog.String("request_id", requestID(c)),
					slog.String("route", c.Path()), slog.String("err", err.Error()), slog.String("stack", string(stack)))
				return err
			},
		}),
		s.limitBody,
		s.boundTime,
	}
	if len(cfg.CORSOrigins) > 0 {
		chain = append(chain, corsMiddleware(cfg.CORSOrigins))
	}
	if len(cfg.ConsoleOrigins) > 0 {
		chain = append(chain, consoleCORSMiddleware(cfg.ConsoleOrigins))
	}
	e.Use(composed(chain...))
	s.addRoutes()
	s.routes = make(map[string]struct{})
	for _, r := range e.Routes() {
		s.routes[r.Path] = struct{}{}
	}
	return s
}

// ServeHTTP makes Server an http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.echo.ServeHTTP(w, r) }

func (s *Server) addRoutes() {
	e := s.echo
	e.GET("/healthz", s.healthz)
	e.GET("/readyz", s.readyz)
	if s.cfg.MetricsHandler != nil {
		e.GET("/metrics", echo.WrapHandler(s.cfg.MetricsHandler))
	}
	e.GET("/.well-known/jwks.json", s.jwks)
	e.GET("/.well-known/oauth-authorization-server", s.metadata)

	v1 := e.Group("/api/v1")
	v1.POST("/token", s.mint)
	v1.POST("/token/refresh", s.refresh)
	v1.POST("/invalidate-token", s.invalidate)
	v1.GET("/verify", s.verify)
	v1.HEAD("/verify", s.verify)
	// Composed here, once: Echo wraps a route's middleware around its
	// handler on every request (one closure allocation each); the same
	// middleware runs in the same place either way.
	v1.POST("/introspect", s.withClient(s.introspect))
	v1.POST("/revoke", s.revoke, s.requireClient)
	v1.POST("/revoke-all", s.revokeAll, s.requireClient)

	admin := e.Group("/api/clients", s.requireClient, s.requireAdmin)
	admin.POST("", s.createClient)
	admin.GET("", s.listClients)
	admin.GET("/:id", s.getClient)
	admin.DELETE("/:id", s.deleteClient)
	admin.POST("/:id/_rotate-secret", s.rotateClientSecret, noBody)
	e.GET("/api/overview", s.overview, s.requireClient, s.requireAdmin)
	e.HEAD("/api/overview", s.overview, s.requireClient, s.requireAdmin)

	if s.cfg.Registry != nil {
		s.registryRoutes()
	}
	s.notifyRoutes()
	if s.cfg.Console != nil {
		s.consoleRoutes()
	}
	s.browserRoutes()
	if s.cfg.Sessions != nil {
		s.sessionRoutes()
	}
	if s.cfg.ConsolePages != nil {
		s.consolePageRoutes()
	}
	if s.cfg.ViewURLTemplate != "" {
		e.GET("/view/:token", s.view)
		e.HEAD("/view/:token", s.view)
	}
}

// logRequests logs one line per request: the route template, never the raw
// URI, because paths and queries can carry tokens.
func (s *Server) logRequests(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		start := time.Now()
		err := next(c)
		if err != nil {
			c.Error(err)
		}
		status := c.Response().Status
		s.cfg.Observer.Request(s.routeLabel(c), metrics.Method(c.Request().Method), status, time.Since(start))
		// Answered requests are logged at debug: on the verify hot path one
		// log line per request costs more than the verification itself.
		// Refusals and failures stay visible at info.
		level := slog.LevelDebug
		if status >= http.StatusBadRequest {
			level = slog.LevelInfo
		}
		if !s.log.Enabled(c.Request().Context(), level) {
			return nil
		}
		s.log.LogAttrs(c.Request().Context(), level, "request",
			slog.String("request_id", requestID(c)),
			slog.String("method", metrics.Method(c.Request().Method)),
			slog.String("route", s.routeLabel(c)),
			slog.Int("status", status),
			slog.Duration("duration", time.Since(start)))
		return nil
	}
}

// routeLabel is the request's route template if it matched one, else
// unmatchedRoute: a label from a fixed set whatever the client sends.
func (s *Server) routeLabel(c echo.Context) string {
	p := c.Path()
	if p == verifyPath {
		// The hot path's route, always registered (addRoutes): the map's
		// answer without hashing the path on every forward-auth request.
		return p
	}
	if _, ok := s.routes[p]; ok {
		return p
	}
	return unmatchedRoute
}

// limitBody caps every request body; reading past it fails with *http.MaxBytesError (413).
func (s *Server) limitBody(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		r := c.Request()
		if r.ContentLength > MaxBodyBytes {
			return &http.MaxBytesError{Limit: MaxBodyBytes}
		}
		// A request without a body (every GET of the verify hot path) has
		// nothing to cap: net/http gives it http.NoBody.
		if r.Body != http.NoBody {
			r.Body = http.MaxBytesReader(c.Response(), r.Body, MaxBodyBytes)
		}
		return next(c)
	}
}

// verifyPath is the forward-auth route, the hot path.
const verifyPath = "/api/v1/verify"

// boundTime bounds every request's store work, so a slow Redis turns into a
// 503 rather than a pile of waiting goroutines.
func (s *Server) boundTime(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if s.cfg.VerifyNeverWaits && c.Path() == verifyPath {
			return next(c)
		}
		// The same deadline as context.WithTimeout (from time.Now, so
		// go-redis sets the same socket deadlines), whose timer is armed
		// only if a store waits on Done: most requests never do (memory
		// store, revocation replica, cached clients), and the timer, its
		// registration in net/http's request context and their release
		// were 3 % of the CPU of introspection and mint (reqctx).
		// WithContext's shallow copy of the request stays: a request's
		// context can only be replaced through it, and handlers and
		// stores take theirs from c.Request().Context().
		r := c.Request()
		ctx := reqctx.New(r.Context(), s.cfg.StoreTimeout)
		defer ctx.Release()
		c.SetRequest(r.WithContext(ctx))
		return next(c)
	}
}

// composed is the middleware chain mws (the first outermost) as one
// middleware built once. Echo wraps its global middleware around the
// route's handler on every request (a closure per middleware per request);
// this chain is composed at start around a handler that calls the route's
// handler, c.Handler() — the very handler Echo would have wrapped — so
// every request still runs every middleware, in the same order, around
// the same handler, unmatched routes (404, 405) included.
func composed(mws ...echo.MiddlewareFunc) echo.MiddlewareFunc {
	h := func(c echo.Context) error { return c.Handler()(c) }
	for i := len(mws) - 1; i >= 0; i-- {
		h = mws[i](h)
	}
	return func(echo.HandlerFunc) echo.HandlerFunc { return h }
}

// MaxRequestIDLen bounds a caller's X-Request-Id.
const MaxRequestIDLen = 128

// requestIDs sets the answer's X-Request-Id: the caller's if it is one
// value of 1-MaxRequestIDLen characters of A-Z a-z 0-9 . _ -, else a new
// one from next (a caller's other value is dropped from the request), so
// that a caller cannot write kilobytes (or a token) into the log through
// it. The header is set straight into the map: X-Request-Id is canonical.
func requestIDs(next func() []string) echo.MiddlewareFunc {
	return func(h echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			req := c.Request().Header
			var id []string
			if vs := req[echo.HeaderXRequestID]; len(vs) == 1 && requestIDOK(vs[0]) {
				id = []string{vs[0]}
			} else {
				if len(vs) > 0 {
					delete(req, echo.HeaderXRequestID)
				}
				id = next()
			}
			c.Response().Header()[echo.HeaderXRequestID] = id
			return h(c)
		}
	}
}

func requestIDOK(v string) bool {
	if v == "" || len(v) > MaxRequestIDLen {
		return false
	}
	for i := 0; i < len(v); i++ {
		switch b := v[i]; {
		case b >= 'A' && b <= 'Z', b >= 'a' && b <= 'z', b >= '0' && b <= '9', b == '.', b == '_', b == '-':
		default:
			return false
		}
	}
	return true
}

// firstHeader is h.Get(name) for a canonical name (TestFirstHeaderIsGet):
// the first value, "" without one, read straight from the map instead of
// canonicalising the name again on every request.
func firstHeader(h http.Header, name string) string {
	if v := h[name]; len(v) > 0 {
		return v[0]
	}
	return ""
}

func requestID(c echo.Context) string {
	return c.Response().Header().Get(echo.HeaderXRequestID)
}

// noStore marks a response as not cacheable: it carries or judges a token.
// Header.Set, straight into the map (the names are canonical), with values
// shared by every answer (net/http only reads them).
func noStore(c echo.Context) {
	h := c.Response().Header()
	h["Cache-Control"] = noStoreValue
	h["Pragma"] = noCacheValue
}

var noCacheValue = []string{"no-cache"}

// newRequestIDs returns a generator of request ids, each as the value of
// a header: a random per-process prefix and a counter. They correlate log
// lines and answers; they need to be unique, not unguessable, and a
// counter costs nothing on the hot path.
func newRequestIDs() func() []string {
	var b [6]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go 1.24+)
	prefix := base64.RawURLEncoding.EncodeToString(b[:]) + "-"
	var n atomic.Uint64
	return func() []string {
		// One allocation for the header value and its text: the id is
		// written into the box's bytes, which nothing changes afterwards.
		box := new(requestIDBox)
		id := strconv.AppendUint(append(box.b[:0], prefix...), n.Add(1), 36)
		if len(id) > len(box.b) { // cannot happen (9 + 13 bytes); never alias a reallocated buffer
			return []string{string(id)}
		}
		box.v[0] = unsafe.String(&box.b[0], len(id))
		return box.v[:]
	}
}

// requestIDBox holds a generated request id: the header value and the
// prefix (9 bytes) and base-36 counter (at most 13) it points into.
type requestIDBox struct {
	v [1]string
	b [24]byte
}
