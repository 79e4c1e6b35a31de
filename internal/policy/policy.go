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
	"golang.org/x/text/unicode/norm"

	"github.com/sigil-dev/sigil/internal/token"
)

// DefaultDashboardPrefix is where embed tokens may go when no template is configured.
const DefaultDashboardPrefix = "/dashboards/{dashboardId}"

// DashboardPlaceholder is the part of the dashboard prefix template replaced by the token's dashboardId.
const DashboardPlaceholder = "{dashboardId}"

// DefaultMethods are the methods of a rule (the dashboard prefix, an API
// route) that names none: reads only.
var DefaultMethods = []string{http.MethodGet, http.MethodHead}

// DefaultAPIRoutes is the route → scope map of API tokens when none is
// configured; like every route that names no methods, both allow GET and
// HEAD only.
func DefaultAPIRoutes() map[string]string {
	return map[string]string{"/api/meta/**": "meta:read", "/api/reports/**": "report:read"}
}

// Denial codes: why a genuine, live token may not be used for a request.
const (
	CodeReadOnly          = "read_only"          // a method the token's kind or route does not allow
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
	// with {dashboardId} replaced by its dashboardId, optionally preceded by
	// the methods allowed there, space-separated ("GET HEAD POST
	// /dashboards/{dashboardId}"); default DefaultDashboardPrefix, and
	// DefaultMethods when it names none.
	DashboardPrefix string
	// AppAPIWhitelist maps an appId to the glob patterns (doublestar: * within a
	// segment, ** across segments) of the paths below
	// /api/apps/{appId}/view/api that its app-view tokens may reach; the
	// part after view/api is matched, with its leading slash. An app without
	// patterns reaches none.
	AppAPIWhitelist map[string][]string
	// APIRoutes maps route rules to the scope they need. A rule is a glob
	// pattern, optionally preceded by the methods it applies to,
	// space-separated ("POST PUT /api/meta/**"); a rule that names none
	// applies to DefaultMethods. An API token must hold the scope of every
	// rule whose pattern matches the path and whose methods hold the
	// request's; a path no pattern matches is refused (forbidden), and so is
	// a method no rule of a matching pattern allows (read_only). Nil means
	// DefaultAPIRoutes.
	APIRoutes map[string]string
}

// Policy decides requests; it is safe for concurrent use.
type Policy struct {
	prefix string
	// prefixParts are prefix split at each DashboardPlaceholder.
	prefixParts  []string
	embedMethods []string
	whitelist    map[string][]string
	routes       []route
}

type route struct {
	pattern, scope string
	methods        []string
}

// readMethods are the only methods of tokens that travel in URLs and
// public pages (report, app-view): they never write (DESIGN §10).
var readMethods = []string{http.MethodGet, http.MethodHead}

// splitRule splits a rule "[METHOD ...] /path" into its methods
// (DefaultMethods when it names none) and its path. Methods are compared
// exactly, so they must be written as sent: upper case.
func splitRule(rule string) (methods []string, path string, err error) {
	fields := strings.Fields(rule)
	if len(fields) == 0 {
		return nil, "", errors.New("is empty")
	}
	path = fields[len(fields)-1]
	for _, m := range fields[:len(fields)-1] {
		if !validMethod(m) {
			return nil, path, fmt.Errorf("method %q must be an upper-case HTTP method such as GET", m)
		}
		if !slices.Contains(methods, m) {
			methods = append(methods, m)
		}
	}
	if len(methods) == 0 {
		methods = slices.Clone(DefaultMethods)
	}
	return methods, path, nil
}

func validMethod(m string) bool {
	if m == "" || len(m) > 32 {
		return false
	}
	for i := 0; i < len(m); i++ {
		if c := m[i]; !(c >= 'A' && c <= 'Z' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// New checks the configuration and returns the Policy. Errors name the
// offending part (dashboard_prefix, app_api_whitelist, api_routes).
func New(cfg Config) (*Policy, error) {
	p := &Policy{whitelist: map[string][]string{}}
	prefix := cfg.DashboardPrefix
	if strings.TrimSpace(prefix) == "" {
		prefix = DefaultDashboardPrefix
	}
	var errs []error
	methods, path, err := splitRule(prefix)
	if err != nil {
		errs = append(errs, fmt.Errorf("dashboard_prefix: %w", err))
	}
	p.prefix, p.embedMethods = path, methods
	if !strings.HasPrefix(p.prefix, "/") || !strings.Contains(p.prefix, DashboardPlaceholder) {
		errs = append(errs, fmt.Errorf("dashboard_prefix: must start with / and contain %s, got %q", DashboardPlaceholder, p.prefix))
	} else if c, ok := Clean(strings.ReplaceAll(p.prefix, DashboardPlaceholder, "x")); !ok || c == "/" {
		errs = append(errs, fmt.Errorf("dashboard_prefix: must be a clean path below /, got %q", p.prefix))
	}
	p.prefix = strings.TrimSuffix(p.prefix, "/")
	p.prefixParts = strings.Split(p.prefix, DashboardPlaceholder)
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
	for _, rule := range slices.Sorted(maps.Keys(routes)) {
		scope := routes[rule]
		methods, pat, err := splitRule(rule)
		if err != nil {
			errs = append(errs, fmt.Errorf("api_routes: rule %q: %w", rule, err))
		}
		if !strings.HasPrefix(pat, "/") || !doublestar.ValidatePattern(pat) {
			errs = append(errs, fmt.Errorf("api_routes: pattern %q must start with / and be a valid glob", pat))
		}
		if scope == "" || strings.ContainsAny(scope, " \t\"\\") {
			errs = append(errs, fmt.Errorf("api_routes: pattern %q: scope %q must be one scope name", pat, scope))
		}
		p.routes = append(p.routes, route{pattern: pat, scope: scope, methods: methods})
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
	// Overrides are the methods the request names besides Method, in the
	// headers and parameters that frameworks read as the real method
	// (MethodOverrides): each must be allowed too.
	Overrides []string
}

// overrideHeaders are the headers through which frameworks let a client
// replace the request's method (Rails, Laravel, Symfony, Spring's
// HiddenHttpMethodFilter with _method, Express method-override, ...).
var overrideHeaders = []string{"X-Http-Method-Override", "X-Http-Method", "X-Method-Override"}

// MethodOverrides returns the methods that h and the query of uri name as
// overrides of the request's method: every value of the method-override
// headers (comma-separated lists split) and of _method parameters (names
// unescaped, any letter case, pairs split at & and ;). A read-only token
// must not write through GET + "X-HTTP-Method-Override: DELETE".
func MethodOverrides(h http.Header, uri string) []string {
	var out []string
	for _, name := range overrideHeaders {
		// h[name], not h.Values(name): the names are canonical already
		// (TestOverrideHeadersCanonical), and canonicalising them again on
		// every forward-auth request was a tenth of the policy step.
		for _, v := range h[name] {
			for m := range strings.SplitSeq(v, ",") {
				out = append(out, strings.TrimSpace(m))
			}
		}
	}
	_, q, _ := strings.Cut(uri, "?")
	if strings.IndexByte(q, '_') < 0 && strings.IndexByte(q, '%') < 0 {
		// No name can read _method: '_' folds to no other rune, and only
		// %5F unescapes to it.
		return out
	}
	for k, v := range token.QueryPairs(q) {
		if strings.EqualFold(k, "_method") {
			out = append(out, v)
		}
	}
	return out
}

// Check returns nil when c may make req, else a *Denied. The method is
// checked first: report and app-view tokens may only read (GET, HEAD)
// wherever they are used, embed tokens may use the methods of the
// dashboard prefix, API tokens those of the routes that match the path.
//
// A URI holding "#" is refused: a request target carries no fragment (RFC
// 9112 §3.2), yet a gateway may forward one as sent, and an upstream that
// takes the "#" as part of the path would read another path than the one
// judged here (/api/reports/q3#/../q4). A method override (Overrides) must
// be allowed like the method itself.
func (p *Policy) Check(c *token.Claims, req Request) error {
	if strings.Contains(req.URI, "#") {
		return deny(CodeForbidden, "the request URI holds a fragment (#), which no request target carries")
	}
	raw, _, _ := strings.Cut(req.URI, "?")
	path, ok := Clean(raw)
	if !ok {
		return deny(CodeForbidden, "the request path is not canonical (dot segments, empty segments, encoded slashes, bad escapes or characters that normalise to ASCII)")
	}
	if err := p.check(c, req.Method, path, req.Token); err != nil {
		return err
	}
	for _, m := range req.Overrides {
		if err := p.check(c, m, path, req.Token); err != nil {
			return err
		}
	}
	return nil
}

// check decides one method on a canonical path.
func (p *Policy) check(c *token.Claims, method, path, tok string) error {
	switch c.Kind {
	case token.KindAppView:
		return p.appView(c, method, path)
	case token.KindReport:
		return report(c, method, path, tok)
	case token.KindEmbed:
		return p.embed(c, method, path)
	case token.KindAPI:
		return p.api(c, method, path)
	}
	return deny(CodeForbidden, "this token kind may not be used through a gateway")
}

// appView allows an app-view token to read its app's paths, read as
// sub-paths of /api/apps/{appId} (DESIGN §1): view itself, view/-/**,
// contents/**, and view/api/** where the part after view/api is on the
// app's whitelist. Nothing outside /api/apps/{appId} binds to an app, so the
// app-less /view/-, /view/api and /contents paths are refused.
func (p *Policy) appView(c *token.Claims, method, path string) error {
	if !slices.Contains(readMethods, method) {
		return deny(CodeReadOnly, "app-view tokens are read-only: GET and HEAD only")
	}
	if !segmentID(c.AppID) {
		return deny(CodeForbidden, "the token's appId cannot be matched against a path")
	}
	base := "/api/apps/" + c.AppID
	if !under(path, base) {
		return deny(CodeForbidden, "this path is outside the token's app")
	}
	rest := path[len(base):]
	switch {
	case rest == "/view" || rest == "/view/" || strings.HasPrefix(rest, "/view/-/") || strings.HasPrefix(rest, "/contents/"):
		return nil
	case under(rest, "/view/api"):
		sub := strings.TrimPrefix(rest, "/view/api")
		if sub == "" {
			sub = "/"
		}
		for _, g := range p.whitelist[c.AppID] {
			if doublestar.MatchUnvalidated(g, sub) {
				return nil
			}
		}
		return deny(CodeForbidden, "this API path is not on the app's whitelist")
	}
	return deny(CodeForbidden, "this path is not one of the app's view paths")
}

func report(c *token.Claims, method, path, tok string) error {
	if !slices.Contains(readMethods, method) {
		return deny(CodeReadOnly, "report tokens are read-only: GET and HEAD only")
	}
	if segmentID(c.ReportID) && under(path, "/api/reports/"+c.ReportID) {
		return nil
	}
	if tok != "" && path == "/view/"+tok {
		return nil
	}
	return deny(CodeForbidden, "this path is outside the token's report")
}

func (p *Policy) embed(c *token.Claims, method, path string) error {
	if !slices.Contains(p.embedMethods, method) {
		return deny(CodeReadOnly, "embed tokens may use "+strings.Join(p.embedMethods, ", ")+" only")
	}
	if segmentID(c.DashboardID) && p.underDashboard(path, c.DashboardID) {
		return nil
	}
	return deny(CodeForbidden, "this path is outside the token's dashboard")
}

func (p *Policy) api(c *token.Claims, method, path string) error {
	have := c.Scopes()
	var missing []string
	pathMatched, matched := false, false
	for _, r := range p.routes {
		if !doublestar.MatchUnvalidated(r.pattern, path) {
			continue
		}
		pathMatched = true
		if !slices.Contains(r.methods, method) {
			continue
		}
		matched = true
		if !slices.Contains(have, r.scope) && !slices.Contains(missing, r.scope) {
			missing = append(missing, r.scope)
		}
	}
	if !pathMatched {
		return deny(CodeForbidden, "API tokens may not be used on this path")
	}
	if !matched {
		return deny(CodeReadOnly, "no API route allows this method on this path")
	}
	if len(missing) > 0 {
		return &Denied{Code: CodeInsufficientScope, Message: "the token lacks the scope this route requires", Scope: strings.Join(missing, " ")}
	}
	return nil
}

// underDashboard is under(path, the prefix with id for each placeholder),
// without building that string on every request.
func (p *Policy) underDashboard(path, id string) bool {
	for i, part := range p.prefixParts {
		if i > 0 {
			if !strings.HasPrefix(path, id) {
				return false
			}
			path = path[len(id):]
		}
		if !strings.HasPrefix(path, part) {
			return false
		}
		path = path[len(part):]
	}
	return path == "" || path[0] == '/'
}

// under reports whether path is base or below it.
func under(path, base string) bool {
	return path == base || (strings.HasPrefix(path, base) && path[len(base)] == '/')
}

// segmentID reports whether id can stand for one path segment: a binding
// claim with a slash or a dot segment could otherwise reach another
// resource's paths.
func segmentID(id string) bool {
	if id == "" || id == "." || id == ".." {
		return false
	}
	// strings.ContainsAny(id, "/\\;%") without building its set of bytes
	// on every request: the four are ASCII, matched byte by byte.
	for i := 0; i < len(id); i++ {
		switch id[i] {
		case '/', '\\', ';', '%':
			return false
		}
	}
	return true
}

func deny(code, msg string) *Denied { return &Denied{Code: code, Message: msg} }

// Clean percent-decodes the path of a request URI and returns it if it is
// canonical, so that sigil and the upstream cannot read it differently. It
// refuses (ok false) rather than repairs: a path that does not start with /,
// holds bytes outside printable ASCII, a backslash, an encoded slash,
// backslash or NUL (%2f %5c %00), a bad or double escape (%252e), control
// characters or invalid UTF-8 once decoded, an empty segment (//) other
// than a trailing slash, a dot segment (. or .., also as %2e%2e or with a
// ;parameter as in ..;), or a non-ASCII character whose compatibility form
// (NFKC) holds an ASCII character: full-width ．／＼％ and letters, which an
// upstream that normalises would read as dot segments, separators, escapes
// or another route (see asciiLookalike).
func Clean(raw string) (string, bool) {
	if raw == "" || raw[0] != '/' {
		return "", false
	}
	// One pass over raw: bytes it may not hold, whether it has an escape,
	// and its segments (cleanSegments, which decides a raw path without
	// escapes: it is its own decoding).
	escaped, segsOK := false, true
	start, semi := 1, -1 // the current segment's start and first ';'
	for i := 1; i < len(raw); i++ {
		switch rawClass[raw[i]] {
		case rawPlain:
		case rawBad:
			return "", false
		case rawEscape:
			escaped = true
		case rawSemi:
			if semi < 0 {
				semi = i
			}
		case rawSlash:
			segsOK = segsOK && segmentOK(raw, start, semi, i, true)
			start, semi = i+1, -1
		}
	}
	if !escaped {
		// Nothing to decode: raw is its own decoding, printable ASCII
		// without a backslash (checked above), so only its segments are left to check.
		if !segsOK || !segmentOK(raw, start, semi, len(raw), false) {
			return "", false
		}
		return raw, true
	}
	lower := strings.ToLower(raw)
	if strings.Contains(lower, "%2f") || strings.Contains(lower, "%5c") || strings.Contains(lower, "%00") {
		return "", false
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
		if dec[i] >= utf8.RuneSelf && utf8.RuneStart(dec[i]) && asciiLookalike(dec[i:]) {
			return "", false
		}
	}
	if !cleanSegments(dec) {
		return "", false
	}
	return dec, true
}

// cleanSegments reports whether the segments of the decoded path dec
// (after its leading /) hold no empty one but the last and no dot segment
// (also with a ;parameter).
func cleanSegments(dec string) bool {
	start, semi := 1, -1 // the current segment's start and first ';'
	for i := 1; i < len(dec); i++ {
		switch dec[i] {
		case ';':
			if semi < 0 {
				semi = i
			}
		case '/':
			if !segmentOK(dec, start, semi, i, true) {
				return false
			}
			start, semi = i+1, -1
		}
	}
	return segmentOK(dec, start, semi, len(dec), false)
}

// segmentOK reports whether the segment path[start:end] (first ';' at
// semi, -1 without one), followed by another one when more, is neither
// empty before another segment nor a dot segment (also with a ;parameter).
func segmentOK(path string, start, semi, end int, more bool) bool {
	if start == end && more {
		return false
	}
	if semi >= 0 {
		end = semi
	}
	base := path[start:end]
	return base != "." && base != ".."
}

// Byte classes of a raw request path for Clean's single pass.
const (
	rawPlain = iota
	rawBad   // at most ' ', DEL and above, or a backslash: refused
	rawEscape
	rawSlash
	rawSemi
)

var rawClass = func() (t [256]uint8) {
	for b := range 256 {
		switch {
		case b <= ' ' || b >= 0x7f || b == '\\':
			t[b] = rawBad
		case b == '%':
			t[b] = rawEscape
		case b == '/':
			t[b] = rawSlash
		case b == ';':
			t[b] = rawSemi
		}
	}
	return t
}()

// asciiLookalike reports whether the rune s starts with, a non-ASCII one,
// has a compatibility form (NFKC) holding an ASCII character: "．" is ".",
// "／" is "/", "ａ" is "a". Characters that stay non-ASCII ("é", "ä",
// "日") are kept.
func asciiLookalike(s string) bool {
	r, size := utf8.DecodeRuneInString(s)
	if r == utf8.RuneError || r < utf8.RuneSelf {
		return false
	}
	var buf [4 * utf8.UTFMax]byte
	nf := norm.NFKC.AppendString(buf[:0], s[:size])
	for _, b := range nf {
		if b < utf8.RuneSelf {
			return true
		}
	}
	return false
}

func ishex(b byte) bool {
	return ('0' <= b && b <= '9') || ('a' <= b && b <= 'f') || ('A' <= b && b <= 'F')
}
