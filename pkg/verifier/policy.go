package verifier

import (
	"errors"
	"maps"

	"github.com/sigil-dev/sigil/internal/policy"
)

// PolicyConfig is sigil's forward-auth policy configuration (gateway.* keys):
// the dashboard prefix of embed tokens and the methods allowed there, the
// /api/apps/{appId}/view/api whitelist of each app, and the route → scope
// rules of API tokens with their methods (GET and HEAD unless a rule names
// others). Report and app-view tokens only ever GET and HEAD.
type PolicyConfig struct {
	// DashboardPrefix is the path under which an embed token may be used,
	// with {dashboardId} replaced by its dashboardId, optionally preceded by
	// the methods allowed there, space-separated ("GET HEAD POST
	// /dashboards/{dashboardId}"); default "/dashboards/{dashboardId}", GET
	// and HEAD when it names none (sigil's gateway.dashboard_prefix).
	DashboardPrefix string
	// AppAPIWhitelist maps an appId to the glob patterns (* within a
	// segment, ** across segments) of the paths below
	// /api/apps/{appId}/view/api that its app-view tokens may reach; the
	// part after view/api is matched, with its leading slash. An app without
	// patterns reaches none (gateway.app_api_whitelist).
	AppAPIWhitelist map[string][]string
	// APIRoutes maps route rules to the scope they need. A rule is a glob
	// pattern, optionally preceded by the methods it applies to,
	// space-separated ("POST PUT /api/meta/**"); a rule that names none
	// applies to GET and HEAD. An API token must hold the scope of every
	// rule whose pattern matches the path and whose methods hold the
	// request's; a path no pattern matches is refused (forbidden), and so is
	// a method no rule of a matching pattern allows (read_only). Nil means
	// sigil's default routes (gateway.api_routes).
	APIRoutes map[string]string
}

// config converts c for the pipeline's policy.
func (c PolicyConfig) config() policy.Config {
	return policy.Config{DashboardPrefix: c.DashboardPrefix, AppAPIWhitelist: maps.Clone(c.AppAPIWhitelist), APIRoutes: maps.Clone(c.APIRoutes)}
}

// Denied is the error of a genuine token used where its kind, binding,
// method or scopes do not allow; Code is "forbidden", "read_only" or
// "insufficient_scope" (then Scope names the missing scopes).
type Denied struct {
	Code    string
	Message string
	Scope   string
}

func (d *Denied) Error() string { return "verifier: " + d.Code + ": " + d.Message }

// deniedOf converts a policy error at the package boundary: a *Denied for
// a denial, err unchanged otherwise.
func deniedOf(err error) error {
	if d, ok := policy.IsDenied(err); ok {
		return &Denied{Code: d.Code, Message: d.Message, Scope: d.Scope}
	}
	return err
}

// ErrNoPolicy is returned by Authorize on a Verifier built without Config.Policy.
var ErrNoPolicy = errors.New("verifier: no policy configured")

// Authorize applies the policy to verified claims for a request: its
// method, its URI as the client sent it (path and query: r.RequestURI on a
// server) and the raw token. It returns nil or a *Denied — the same
// decision as sigil's /api/v1/verify given those forwarded values. A
// _method parameter in requestURI must be allowed like method; Authorize
// does not see headers, so a service that honours method-override headers
// (X-HTTP-Method-Override) uses the middlewares, which check them too.
func (v *Verifier) Authorize(c *Claims, method, requestURI, raw string) error {
	if v.policy == nil {
		return ErrNoPolicy
	}
	return deniedOf(v.policy.Check(c.token(), policy.Request{Method: method, URI: requestURI, Token: raw,
		Overrides: policy.MethodOverrides(nil, requestURI)}))
}
