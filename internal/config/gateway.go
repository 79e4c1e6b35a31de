package config

import (
	"strings"

	"github.com/sigil-dev/sigil/internal/policy"
)

// Gateway configures the policy step of forward-auth (DESIGN §4 step 6):
// what each token kind may reach through a gateway.
type Gateway struct {
	// DashboardPrefix is the path under which embed tokens may be used,
	// {dashboardId} replaced by the token's; default /dashboards/{dashboardId}.
	// The methods embed tokens may use there may precede it, space-separated
	// ("GET HEAD POST /dashboards/{dashboardId}"); default GET and HEAD.
	DashboardPrefix string `yaml:"dashboard_prefix" env:"DASHBOARD_PREFIX"`
	// AppAPIWhitelist maps an appId to space-separated glob patterns of the
	// paths below /api/apps/{appId}/view/api that its app-view tokens may
	// reach (matched against the part after view/api). In the
	// environment: SIGIL_GATEWAY_APP_API_WHITELIST="analytics=/datasets/* /queries/**,hr=/people/*".
	AppAPIWhitelist map[string]string `yaml:"app_api_whitelist" env:"APP_API_WHITELIST" envKeyValSeparator:"="`
	// APIRoutes maps route rules to the scope API tokens need there. A rule
	// is a glob pattern, optionally preceded by the methods it applies to
	// ("POST PUT /api/meta/**"); a rule without methods applies to GET and
	// HEAD only. Unset keeps the defaults (/api/meta/** meta:read,
	// /api/reports/** report:read, both GET and HEAD). In the environment:
	// SIGIL_GATEWAY_API_ROUTES="/api/meta/**=meta:read,POST /api/meta/**=meta:write".
	APIRoutes map[string]string `yaml:"api_routes" env:"API_ROUTES" envKeyValSeparator:"="`
}

// Policy is the policy configuration these keys describe.
func (g Gateway) Policy() policy.Config {
	pc := policy.Config{DashboardPrefix: g.DashboardPrefix, APIRoutes: g.APIRoutes}
	if len(g.AppAPIWhitelist) > 0 {
		pc.AppAPIWhitelist = make(map[string][]string, len(g.AppAPIWhitelist))
		for app, globs := range g.AppAPIWhitelist {
			pc.AppAPIWhitelist[app] = strings.Fields(globs)
		}
	}
	return pc
}

// validate reports each invalid gateway key through bad.
func (g Gateway) validate(bad func(key, format string, args ...any)) {
	_, err := policy.New(g.Policy())
	if err == nil {
		return
	}
	errs := []error{err}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		errs = j.Unwrap()
	}
	for _, e := range errs {
		key, msg, ok := strings.Cut(e.Error(), ": ")
		if !ok || strings.ContainsAny(key, " /") {
			key, msg = "gateway", e.Error()
		} else {
			key = "gateway." + key
		}
		bad(key, "%s", msg)
	}
}
