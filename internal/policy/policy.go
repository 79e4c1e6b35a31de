// Package policy is step 6 of verification (DESIGN §4): given a verified
// token and the method and URI that a gateway forwards, it decides whether
// the token may be used for that request.
package policy

import (
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/bmatcuk/doublestar/v4"

	"github.com/sigil-dev/sigil/internal/token"
)

// DefaultDashboardPrefix is where embed tokens may go when no template is configured.
const DefaultDashboardPrefix = "/dashboards/{dashboardId}"

// DashboardPlaceholder is the part of the dashboard prefix template replaced by the token's dashboardId.
const DashboardPlaceholder = "{dashboardId}"

// DefaultAPIRoutes is the route → scope map of API tokens when none is configured.
func DefaultAPIRoutes() map[string]string {
	return map[string]string{"/api/meta/**": "meta:read", "/api/reports/**": "report:read"}
}

// Denial codes: why a genuine, live token may not be used for a request.
const (
	CodeReadOnly          = "read_only"          // app-view tokens: a method other than GET or HEAD
	CodeForbidden         = "forbidden"          // a path outside the token's binding
	CodeInsufficientScope = "insufficient_scope" // api tokens: a route scope the token lacks
)

// Denied is the error of a request the token may not make. Message is
// public; Scope names the missing scopes (space-separated) of an
// insufficient_scope denial.
type Denied struct {
	Code    string
	Message string
	Scope   string
}

func (d *Denied) Error() string { return "policy: " + d.Code + ": " + d.Message }

// IsDenied reports whether err is a policy denial and returns it.
func IsDenied(err error) (*Denied, bool) {
	var d *Denied
	ok := errors.As(err, &d)
	return d, ok
}

// Config holds the per-deployment parts of the rules.
type Config struct {
	// DashboardPrefix is the path under which an embed token may be used,
	// with {dashboardId} replaced by its dashboardId; default
	// DefaultDashboardPrefix.
	DashboardPrefix string
	// AppAPIWhitelist maps an appId to the glob patterns (doublestar: * within a
	// segment, ** across segments) of the paths below /view/api that its
	// app-view tokens may reach; the part after /view/api is matched, with
	// its leading slash. An app without patterns reaches none.
	AppAPIWhitelist map[string][]string
	// APIRoutes maps route glob patterns to the scope they need; an API token
	// must hold the scope of every pattern that matches the path, and a
	// path no pattern matches is refused. Nil means DefaultAPIRoutes.
	APIRoutes map[string]string
}

// Policy decides requests; it is safe for concurrent use.
type Policy struct {
	prefix    string
	whitelist map[string][]string
	routes    []route
}

type route struct{ pattern, scope string }

// New checks the configuration and returns the Policy. Errors name the
// offending part (dashboard_prefix, app_api_whitelist, api_routes).
func New(cfg Config) (*Policy, error) {
	p := &Policy{prefix: cfg.DashboardPrefix, whitelist: map[string][]string{}}
	if p.prefix == "" {
		p.prefix = DefaultDashboardPrefix
	}
	var errs []error
	if !strings.HasPrefix(p.prefix, "/") || !strings.Contains(p.prefix, DashboardPlaceholder) {
		errs = append(errs, fmt.Errorf("dashboard_prefix: must start with / and contain %s, got %q", DashboardPlaceholder, p.prefix))
	} else if c, ok := Clean(strings.ReplaceAll(p.prefix, DashboardPlaceholder, "x")); !ok || c == "/" {
		errs = append(errs, fmt.Errorf("dashboard_prefix: must be a clean path below /, got %q", p.prefix))
	}
	p.prefix = strings.TrimSuffix(p.prefix, "/")
	for _, app := range slices.Sorted(maps.Keys(cfg.AppAPIWhitelist)) {
		for _, g := range cfg.AppAPIWhitelist[app] {
			if !strings.HasPrefix(g, "/") || !doublestar.ValidatePattern(g) {
				errs = append(errs, fmt.Errorf("app_api_whitelist: app %q: pattern %q must start with / and be a valid glob", app, g))
				continue
			}
			p.whitelist[app] = append(p.whitelist[app], g)
		}
	}
	routes := cfg.APIRoutes
	if routes == nil {
		routes = DefaultAPIRoutes()
	}
	for _, pat := range slices.Sorted(maps.Keys(routes)) {
		scope := routes[pat]
		if !strings.HasPrefix(pat, "/") || !doublestar.ValidatePattern(pat) {
			errs = append(errs, fmt.Errorf("api_routes: pattern %q must start with / and be a valid glob", pat))
		}
		if scope == "" || strings.ContainsAny(scope, " \t\"\\") {
			errs = append(errs, fmt.Errorf("api_routes: pattern %q: scope %q must be one scope name", pat, scope))
		}
		p.routes = append(p.routes, route{pat, scope})
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return p, nil
}

// Request is what the gateway forwards: the original method and request
// URI (path and query, as sent by the client), and the raw token presented.
type Request struct {
	Method string
	URI    string
	Token  string
}

// Check returns nil when c may make req, else a *Denied.
func (p *Policy) Check(c *token.Claims, req Request) error {
	raw, _, _ := strings.Cut(req.URI, "?")
	raw, _, _ = strings.Cut(raw, "#")
	path, ok := Clean(raw)
	if !ok {
		return deny(CodeForbidden, "the request path is not canonical (dot segments, empty segments, encoded slashes or bad escapes)")
	}
	switch c.Kind {
	case token.KindAppView:
		return p.appView(c, req.Method, path)
	case token.KindReport:
		return report(c, path, req.Token)
	case token.KindEmbed:
		return p.embed(c, path)
	case token.KindAPI:
		return p.api(c, path)
	}
	return deny(CodeForbidden, "this token kind may not be used through a gateway")
}

func (p *Policy) appView(c *token.Claims, method, path string) error {
	if method != http.MethodGet && method != http.MethodHead {
		return deny(CodeReadOnly, "app-view tokens are read-only: GET and HEAD only")
	}
	if !segmentID(c.AppID) {
		return deny(CodeForbidden, "the token's appId cannot be matched against a path")
	}
	if under(path, "/api/apps/"+c.AppID+"/view") || strings.HasPrefix(path, "/view/-/") || strings.HasPrefix(path, "/contents/") {
		return nil
	}
	if rest, ok := strings.CutPrefix(path, "/view/api/"); ok {
		for _, g := range p.whitelist[c.AppID] {
			if doublestar.MatchUnvalidated(g, "/"+rest) {
				return nil
			}
		}
		return deny(CodeForbidden, "this API path is not on the app's whitelist")
	}
	return deny(CodeForbidden, "this path is outside the token's app")
}

func report(c *token.Claims, path, tok string) error {
	if segmentID(c.ReportID) && under(path, "/api/reports/"+c.ReportID) {
		return nil
	}
	if tok != "" && path == "/view/"+tok {
		return nil
	}
	return deny(CodeForbidden, "this path is outside the token's report")
}

func (p *Policy) embed(c *token.Claims, path string) error {
	if segmentID(c.DashboardID) && under(path, strings.ReplaceAll(p.prefix, DashboardPlaceholder, c.DashboardID)) {
		return nil
	}
	return deny(CodeForbidden, "this path is outside the token's dashboard")
}

func (p *Policy) api(c *token.Claims, path string) error {
	have := c.Scopes()
	var missing []string
	matched := false
	for _, r := range p.routes {
		if !doublestar.MatchUnvalidated(r.pattern, path) {
			continue
		}
		matched = true
		if !slices.Contains(have, r.scope) && !slices.Contains(missing, r.scope) {
			missing = append(missing, r.scope)
		}
	}
	if !matched {
		return deny(CodeForbidden, "API tokens may not be used on this path")
	}
	if len(missing) > 0 {
		return &Denied{Code: CodeInsufficientScope, Message: "the token lacks the scope this route requires", Scope: strings.Join(missing, " ")}
	}
	return nil
}

// under reports whether path is base or below it.
func under(path, base string) bool {
	return path == base || (strings.HasPrefix(path, base) && path[len(base)] == '/')
}

// segmentID reports whether id can stand for one path segment: a binding
// claim with a slash or a dot segment could otherwise reach another
// resource's paths.
func segmentID(id string) bool {
	return id != "" && id != "." && id != ".." && !strings.ContainsAny(id, "/\\;%")
}

func deny(code, msg string) *Denied { return &Denied{Code: code, Message: msg} }

// Clean percent-decodes the path of a request URI and returns it if it is
// canonical, so that sigil and the upstream cannot read it differently. It
// refuses (ok false) rather than repairs: a path that does not start with /,
// holds bytes outside printable ASCII, a backslash, an encoded slash,
// backslash or NUL (%2f %5c %00), a bad or double escape (%252e), control
// characters or invalid UTF-8 once decoded, an empty segment (//) other
// than a trailing slash, or a dot segment (. or .., also as %2e%2e or
// with a ;parameter as in ..;).
func Clean(raw string) (string, bool) {
	if raw == "" || raw[0] != '/' {
		return "", false
	}
	for i := 0; i < len(raw); i++ {
		if b := raw[i]; b <= ' ' || b >= 0x7f || b == '\\' {
			return "", false
		}
	}
	if strings.Contains(raw, "%") {
		lower := strings.ToLower(raw)
		if strings.Contains(lower, "%2f") || strings.Contains(lower, "%5c") || strings.Contains(lower, "%00") {
			return "", false
		}
	}
	dec, err := url.PathUnescape(raw)
	if err != nil || !utf8.ValidString(dec) {
		return "", false
	}
	for i := 0; i < len(dec); i++ {
		if b := dec[i]; b < ' ' || b == 0x7f || b == '\\' {
			return "", false
		}
		if dec[i] == '%' && i+2 < len(dec) && ishex(dec[i+1]) && ishex(dec[i+2]) {
			return "", false // still an escape once decoded: double encoding
		}
	}
	segs := strings.Split(dec[1:], "/")
	for i, s := range segs {
		if s == "" && i != len(segs)-1 {
			return "", false
		}
		if base, _, _ := strings.Cut(s, ";"); base == "." || base == ".." {
			return "", false
		}
	}
	return dec, true
}

func ishex(b byte) bool {
	return ('0' <= b && b <= '9') || ('a' <= b && b <= 'f') || ('A' <= b && b <= 'F')
}
