package httpapi

import (
	"context"
	"errors"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/sigil-dev/sigil/internal/apperr"
	"github.com/sigil-dev/sigil/internal/clients"
	"github.com/sigil-dev/sigil/internal/console"
)

// SessionCookie is the name of the console's session cookie over plain
// HTTP (development); SecureSessionCookie its name when the browser's
// connection is TLS: with the __Host- prefix a browser accepts the cookie
// only with Secure, Path=/ and no Domain, so a sibling subdomain cannot
// plant its own session cookie for this host (RFC 6265bis §4.1.3.2).
const (
	SessionCookie       = "sigil_console"
	SecureSessionCookie = "__Host-sigil_console"
)

// HeaderCSRF carries the session's CSRF token on every state-changing
// request a session cookie authenticates.
const HeaderCSRF = "X-CSRF-Token"

// Sessions are the console's sign-in sessions; *console.Service satisfies it.
type Sessions interface {
	// Start signs an authenticated client in.
	Start(ctx context.Context, cl clients.Client) (console.Started, error)
	// Resume returns the client of a live session, moving its idle
	// deadline on; console.ErrNoSession when the cookie names none.
	Resume(ctx context.Context, cookie string) (clients.Client, console.Session, error)
	// End signs a session out (an unknown one is no error).
	End(ctx context.Context, cookie string) error
	// Max is a session's absolute lifetime.
	Max() time.Duration
}

var _ Sessions = (*console.Service)(nil)

// sessionKey holds the console.Session of a request the session cookie authenticated.
const sessionKey = "sigil.session"

// sessionCookieName is the session cookie's name for the request: the
// __Host- one over TLS, the plain one otherwise. Only that one is read: a
// plain-named cookie on a TLS request may have been planted by a sibling
// domain.
func (s *Server) sessionCookieName(c echo.Context) string {
	if s.overTLS(c.Request()) {
		return SecureSessionCookie
	}
	return SessionCookie
}

// sessionCookie returns the value of the request's session cookie, ""
// without one. Two or more are a 401: which one the browser sent first
// depends on their paths, and a sibling domain can add one (login CSRF),
// so none is taken.
func (s *Server) sessionCookie(c echo.Context) (string, error) {
	name, value, n := s.sessionCookieName(c), "", 0
	for _, ck := range c.Request().Cookies() {
		if ck.Name == name {
			value, n = ck.Value, n+1
		}
	}
	if n > 1 {
		return "", &apperr.Error{Code: apperr.CodeUnauthorized, Field: "Cookie",
			Message: "more than one console session cookie; clear this site's cookies and sign in again"}
	}
	return value, nil
}

// hasSessionCookie reports whether the request carries a console session
// cookie of either name.
func hasSessionCookie(c echo.Context) bool {
	for _, ck := range c.Request().Cookies() {
		if ck.Name == SessionCookie || ck.Name == SecureSessionCookie {
			return true
		}
	}
	return false
}

// fromSession is requireClient's second path: a request with no
// Authorization header and a console session cookie is authenticated as
// the session's client. A state-changing request must carry the session's
// CSRF token and, with an Origin, come from this service's origin (403
// naming the CSRF token otherwise); an ended session is a 401 that clears
// the cookie. An Authorization header (Basic or Bearer) wins: the cookie is
// then ignored, so a script holding credentials never acts through a
// browser's session by accident.
func (s *Server) fromSession(c echo.Context, cookie string) (clients.Client, error) {
	if !safeMethod(c.Request().Method) {
		if err := s.checkCSRF(c, cookie); err != nil {
			return clients.Client{}, err
		}
	}
	cl, sess, err := s.cfg.Sessions.Resume(c.Request().Context(), cookie)
	if errors.Is(err, console.ErrNoSession) {
		s.clearSessionCookie(c)
		return clients.Client{}, unauthorized("the console session has ended (signed out, timed out, or the client's secret changed); sign in again")
	}
	if err != nil {
		return clients.Client{}, err
	}
	c.Set(sessionKey, sess)
	return cl, nil
}

// safeMethod reports the methods that change nothing (RFC 9110 §9.2.1).
func safeMethod(m string) bool {
	return m == http.MethodGet || m == http.MethodHead || m == http.MethodOptions
}

// csrfRefused is the 403 of a request that fails the CSRF checks.
func csrfRefused(msg string) error {
	return &apperr.Error{Code: apperr.CodeForbidden, Field: HeaderCSRF, Message: "csrf: " + msg}
}

// checkCSRF requires the session's CSRF token in X-CSRF-Token (compared in
// constant time) and a same-origin request.
func (s *Server) checkCSRF(c echo.Context, cookie string) error {
	if err := s.checkOrigin(c); err != nil {
		return err
	}
	hs := c.Request().Header.Values(HeaderCSRF)
	if len(hs) != 1 || !console.CheckCSRF(cookie, hs[0]) {
		return csrfRefused("a state-changing request of a console session needs the session's X-CSRF-Token")
	}
	return nil
}

// checkOrigin refuses a request that says it comes from another origin:
// an Origin header that is not this service's own, or Sec-Fetch-Site
// cross-site. Requests without either (non-browser clients) pass here; the
// CSRF token is what they lack.
func (s *Server) checkOrigin(c echo.Context) error {
	if why := s.crossSite(c); why != "" {
		return csrfRefused(why)
	}
	return nil
}

// crossSite says why the request comes from another site, "" when nothing
// says so: Sec-Fetch-Site cross-site or same-site, or an Origin header
// (or several) that is not this service's own origin.
func (s *Server) crossSite(c echo.Context) string {
	r := c.Request()
	if site := firstHeader(r.Header, "Sec-Fetch-Site"); site == "cross-site" || site == "same-site" {
		return "the request comes from another site (Sec-Fetch-Site " + site + ")"
	}
	origins := r.Header["Origin"] // Header.Values: the name is canonical
	if len(origins) == 0 {
		return ""
	}
	if len(origins) > 1 || !strings.EqualFold(origins[0], s.selfOrigin(c)) {
		return "the request's Origin is not this service's"
	}
	return ""
}

// checkBasicCrossSite refuses a state-changing request authenticated by
// HTTP Basic that a browser sent from another site (403 naming Origin): a
// browser attaches Basic credentials it has cached to cross-site form
// posts, so without this a page the admin visits could rotate a client's
// secret. Server-to-server callers send neither Origin nor Sec-Fetch-*.
func (s *Server) checkBasicCrossSite(c echo.Context) error {
	if safeMethod(c.Request().Method) {
		return nil
	}
	if why := s.crossSite(c); why != "" {
		return &apperr.Error{Code: apperr.CodeForbidden, Field: "Origin",
			Message: why + "; a request authenticated by HTTP Basic that changes state must not come from a browser page of another site"}
	}
	return nil
}

// noBody guards the state-changing routes that read no body
// (_rotate-secret, _generate, _cleanup, ...): a Content-Type other than
// application/json is a 415 naming Content-Type, so a cross-site HTML form
// or a "simple" fetch (form, multipart, text/plain) cannot reach them
// whatever credentials the browser attaches. No Content-Type is fine.
func noBody(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if c.Request().Header.Get(echo.HeaderContentType) != "" {
			if err := requireMediaType(c, echo.MIMEApplicationJSON); err != nil {
				return err
			}
		}
		return next(c)
	}
}

// selfOrigin is the origin the browser reached this service at: https when
// the connection is TLS or a trusted proxy says so (X-Forwarded-Proto), and
// the Host header (X-Forwarded-Host from a trusted proxy).
func (s *Server) selfOrigin(c echo.Context) string {
	r := c.Request()
	host := r.Host
	if s.fromTrustedProxy(r) {
		if h := r.Header.Get("X-Forwarded-Host"); h != "" {
			host = strings.TrimSpace(strings.Split(h, ",")[0])
		}
	}
	scheme := "http"
	if s.overTLS(r) {
		scheme = "https"
	}
	return scheme + "://" + host
}

// overTLS reports whether the browser's connection was TLS: to sigil
// itself, or to a trusted proxy that says so in X-Forwarded-Proto.
func (s *Server) overTLS(r *http.Request) bool {
	if r.TLS != nil {
		return true
	}
	if !s.fromTrustedProxy(r) {
		return false
	}
	proto := strings.TrimSpace(strings.Split(r.Header.Get("X-Forwarded-Proto"), ",")[0])
	return strings.EqualFold(proto, "https")
}

// fromTrustedProxy reports whether the peer is one of http.trusted_proxies.
func (s *Server) fromTrustedProxy(r *http.Request) bool {
	if len(s.cfg.TrustedProxies) == 0 {
		return false
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	ip := net.ParseIP(host)
	if ip == nil {
		return false
	}
	for _, n := range s.cfg.TrustedProxies {
		if n.Contains(ip) {
			return true
		}
	}
	return false
}

// setSessionCookie hands the browser the session: HttpOnly (no script
// reads it), SameSite=Strict (no other site's page sends it), Path=/ (the
// API routes under /api need it), Secure over TLS.
func (s *Server) setSessionCookie(c echo.Context, value string) {
	c.SetCookie(&http.Cookie{
		Name: s.sessionCookieName(c), Value: value, Path: "/", HttpOnly: true, SameSite: http.SameSiteStrictMode,
		Secure: s.overTLS(c.Request()), MaxAge: int(s.cfg.Sessions.Max() / time.Second),
	})
}

// clearSessionCookie tells the browser to drop the cookie.
func (s *Server) clearSessionCookie(c echo.Context) {
	c.SetCookie(&http.Cookie{
		Name: s.sessionCookieName(c), Value: "", Path: "/", HttpOnly: true, SameSite: http.SameSiteStrictMode,
		Secure: s.overTLS(c.Request()), MaxAge: -1,
	})
}

// sessionRoutes are the console's sign-in, who-am-I and sign-out.
func (s *Server) sessionRoutes() {
	e := s.echo
	e.POST("/console/api/session", s.signIn)
	e.GET("/console/api/session", s.whoAmI, s.requireSession)
	e.DELETE("/console/api/session", s.signOut, s.requireSession)
}

// requireSession authenticates by the session cookie alone (CSRF checks
// included), for the session's own routes.
func (s *Server) requireSession(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		cookie, err := s.sessionCookie(c)
		if err != nil {
			return err
		}
		if cookie == "" {
			return unauthorized("no console session; sign in first")
		}
		cl, err := s.fromSession(c, cookie)
		if err != nil {
			return err
		}
		c.Set(clientKey, cl)
		return next(c)
	}
}

// signInRequest is the body of POST /console/api/session.
type signInRequest struct {
	ClientID     string `json:"clientId"`
	ClientSecret string `json:"clientSecret"`
}

// Validate requires both fields.
func (r *signInRequest) Validate() error {
	if r.ClientID == "" {
		return apperr.Invalid("clientId", "required")
	}
	if len(r.ClientID) > 128 {
		return apperr.Invalid("clientId", "at most 128 characters")
	}
	if r.ClientSecret == "" {
		return apperr.Invalid("clientSecret", "required")
	}
	if len(r.ClientSecret) > 1024 {
		return apperr.Invalid("clientSecret", "at most 1024 characters")
	}
	return nil
}

// sessionView is who a session is, with its CSRF token.
type sessionView struct {
	ClientID  string    `json:"clientId"`
	Name      string    `json:"name"`
	Role      string    `json:"role"`
	CSRFToken string    `json:"csrfToken"`
	ExpiresAt time.Time `json:"expiresAt"`
}

// signIn answers POST /console/api/session: the client's id and secret
// are checked as HTTP Basic ones are, under the same failed-login limit;
// the answer sets the session cookie and carries the CSRF token.
func (s *Server) signIn(c echo.Context) error {
	if err := s.checkOrigin(c); err != nil {
		return err
	}
	var req signInRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	if err := s.checkAuthLimit(c, req.ClientID); err != nil {
		return err
	}
	ctx := c.Request().Context()
	cl, err := s.cfg.Clients.Authenticate(ctx, req.ClientID, req.ClientSecret)
	if errors.Is(err, clients.ErrBadCredentials) {
		return s.authFailed(c, req.ClientID, &apperr.Error{Code: apperr.CodeUnauthorized, Field: "clientSecret", Message: "invalid client id or secret"})
	}
	if err != nil {
		return err
	}
	// Several cookies: none is ended (a planted one is not the caller's).
	if old, _ := s.sessionCookie(c); old != "" {
		if err := s.cfg.Sessions.End(ctx, old); err != nil {
			return err
		}
	}
	st, err := s.cfg.Sessions.Start(ctx, cl)
	if err != nil {
		return err
	}
	s.setSessionCookie(c, st.Cookie)
	noStore(c)
	return c.JSON(http.StatusCreated, sessionView{ClientID: cl.ID, Name: cl.Name, Role: cl.Role, CSRFToken: st.CSRF, ExpiresAt: st.Session.ExpiresAt})
}

// whoAmI answers GET /console/api/session.
func (s *Server) whoAmI(c echo.Context) error {
	cookie, _ := s.sessionCookie(c) // one: requireSession checked
	sess, _ := c.Get(sessionKey).(console.Session)
	cl := caller(c)
	noStore(c)
	return c.JSON(http.StatusOK, sessionView{ClientID: cl.ID, Name: cl.Name, Role: cl.Role, CSRFToken: console.CSRFToken(cookie), ExpiresAt: sess.ExpiresAt})
}

// signOut answers DELETE /console/api/session: the session ends on every
// instance and the cookie is cleared.
func (s *Server) signOut(c echo.Context) error {
	cookie, _ := s.sessionCookie(c) // one: requireSession checked
	if err := s.cfg.Sessions.End(c.Request().Context(), cookie); err != nil {
		return err
	}
	s.clearSessionCookie(c)
	return c.NoContent(http.StatusNoContent)
}

// HeaderConsole marks the console's own API calls (X-Requested-With:
// sigil-console).
const HeaderConsole = "X-Requested-With"

// dropBasicChallenge replaces the Basic challenge of a 401 answered to the
// console (its calls, its session routes, a request with its cookie) by
// `Session realm="sigil"`: a browser meeting "WWW-Authenticate: Basic" on a
// fetch opens its own password prompt over the console (headless Chromium
// waits on it for ever); a scheme it does not know it leaves to the page.
func dropBasicChallenge(c echo.Context) {
	h := c.Response().Header()
	if !strings.HasPrefix(h.Get("WWW-Authenticate"), "Basic") {
		return
	}
	r := c.Request()
	// A browser navigation (an address typed, a link followed) gets no
	// Basic challenge either: the browser's prompt would cache the
	// credentials it is given and attach them to later cross-site requests.
	if r.Header.Get(HeaderConsole) == "sigil-console" || strings.HasPrefix(r.URL.Path, "/console/") || hasSessionCookie(c) ||
		r.Header.Get("Sec-Fetch-Mode") == "navigate" {
		h.Set("WWW-Authenticate", `Session realm="sigil"`)
	}
}
