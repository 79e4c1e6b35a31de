package httpapi

import (
	"context"
	"errors"
	"maps"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/sigil-dev/sigil/internal/apperr"
	"github.com/sigil-dev/sigil/internal/clients"
	"github.com/sigil-dev/sigil/internal/consoletoken"
	"github.com/sigil-dev/sigil/internal/registry"
	"github.com/sigil-dev/sigil/internal/token"
)

// ConsoleTokens mints and checks console tokens, the owner-bound bearer
// credential of the <sigil-api-tokens> component; *consoletoken.Service
// satisfies it.
type ConsoleTokens interface {
	// Mint signs a console token for owner on behalf of caller (a client
	// allowed "api:<owner>"); errors are *apperr.Error naming the field.
	// cl is the client record the caller authenticated with (its secret
	// binds the token).
	Mint(ctx context.Context, caller registry.Caller, cl clients.Client, owner string, ttl time.Duration) (consoletoken.Issued, error)
	// Authenticate returns the registry caller a live console token stands
	// for; a rejected token wraps token.ErrInvalidToken.
	Authenticate(ctx context.Context, raw string) (registry.Caller, error)
	// Invalidate denies a genuine console token (logout).
	Invalidate(ctx context.Context, raw string) error
}

var _ ConsoleTokens = (*consoletoken.Service)(nil)

// consoleKey is where requireConsoleOrClient keeps a console caller.
const consoleKey = "sigil.console"

// consoleRoutes registers POST /api/console-tokens (client credentials
// only: a console token never mints another).
func (s *Server) consoleRoutes() {
	s.echo.POST("/api/console-tokens", s.mintConsoleToken, s.requireClient)
}

// requireConsoleOrClient authenticates the registry routes a console token
// may use: a Bearer credential is read as a console token, anything else
// goes to requireClient unchanged. A console caller is kept apart from
// the client (consoleKey, never clientKey), so that requireAdmin and every
// route that reads the client refuse it.
func (s *Server) requireConsoleOrClient(next echo.HandlerFunc) echo.HandlerFunc {
	client := s.requireClient(next)
	return func(c echo.Context) error {
		if s.cfg.Console == nil || !hasBearerScheme(c) {
			return client(c)
		}
		raw, err := requireBearer(c)
		if err != nil {
			return err
		}
		if queryTokens(c) > 0 {
			return oneCredential("token", "an Authorization header and ?token=")
		}
		cc, err := s.cfg.Console.Authenticate(c.Request().Context(), raw)
		if err != nil {
			return err
		}
		c.Set(consoleKey, cc)
		return next(c)
	}
}

// hasBearerScheme reports whether the request's one Authorization header
// uses the Bearer scheme.
func hasBearerScheme(c echo.Context) bool {
	hs := c.Request().Header[echo.HeaderAuthorization]
	if len(hs) != 1 {
		return false // none, or several: requireClient refuses them
	}
	scheme, _, _ := strings.Cut(hs[0], " ")
	return strings.EqualFold(scheme, "Bearer")
}

// consoleCaller returns the console caller of the request, if it came
// with a console token.
func consoleCaller(c echo.Context) (registry.Caller, bool) {
	cc, ok := c.Get(consoleKey).(registry.Caller)
	return cc, ok
}

// consoleTokenRequest is the body of POST /api/console-tokens.
type consoleTokenRequest struct {
	Owner string `json:"owner"`
	// TTL is a Go duration ("10m", "1h"); empty means the default.
	TTL string `json:"ttl"`

	ttl time.Duration
}

// Validate parses ttl; the service checks its bounds and the owner.
func (r *consoleTokenRequest) Validate() error {
	if r.Owner == "" {
		return apperr.Invalid("owner", "an owner is required")
	}
	if r.TTL == "" {
		return nil
	}
	d, err := time.ParseDuration(r.TTL)
	if err != nil || d <= 0 {
		return apperr.Invalid("ttl", "must be a positive duration such as 10m or 1h")
	}
	r.ttl = d
	return nil
}

// consoleTokenView is the answer of POST /api/console-tokens.
type consoleTokenView struct {
	Token     string    `json:"token"`
	ExpiresAt time.Time `json:"expiresAt"`
}

// mintConsoleToken answers POST /api/console-tokens: 201 with a console
// token for the owner, which the caller (a client allowed api:<owner>)
// hands to its signed-in user's browser.
func (s *Server) mintConsoleToken(c echo.Context) error {
	var req consoleTokenRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	iss, err := s.cfg.Console.Mint(c.Request().Context(), registryCaller(c), caller(c), req.Owner, req.ttl)
	if err != nil {
		return err
	}
	s.cfg.Observer.Minted(token.KindConsole)
	noStore(c)
	return c.JSON(http.StatusCreated, consoleTokenView{Token: iss.Token, ExpiresAt: iss.ExpiresAt})
}

// invalidateConsole is logout for a console token: Tokens.Invalidate
// refuses one on its audience (err), and then the console service is asked.
func (s *Server) invalidateConsole(ctx context.Context, raw string, err error) error {
	if s.cfg.Console == nil || !errors.Is(err, token.ErrAudience) {
		return err
	}
	return s.cfg.Console.Invalidate(ctx, raw)
}

// scopeView is one configured scope of API tokens.
type scopeView struct {
	Name  string `json:"name"`
	Label string `json:"label"`
}

type scopesView struct {
	Scopes []scopeView `json:"scopes"`
}

// listScopes answers GET /api/scopes: the scopes API tokens may carry,
// with their labels, sorted by name.
func (s *Server) listScopes(c echo.Context) error {
	if _, err := queryParams(c); err != nil {
		return err
	}
	sc := s.cfg.Registry.Scopes()
	out := scopesView{Scopes: make([]scopeView, 0, len(sc))}
	for _, name := range slices.Sorted(maps.Keys(sc)) {
		out.Scopes = append(out.Scopes, scopeView{Name: name, Label: sc[name]})
	}
	return c.JSON(http.StatusOK, out)
}
