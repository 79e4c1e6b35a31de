package config_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/sigil-dev/sigil/internal/config"
	"github.com/sigil-dev/sigil/internal/policy"
)

func TestLoad_Gateway(t *testing.T) {
	t.Run("Defaults", func(t *testing.T) {
		cfg, err := config.Load("", nil)
		require.NoError(t, err)
		pc := cfg.Gateway.Policy()
		require.Empty(t, pc.DashboardPrefix)
		require.Nil(t, pc.APIRoutes, "nil keeps policy.DefaultAPIRoutes")
		require.Empty(t, pc.AppAPIWhitelist)
	})
	t.Run("File", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "sigil.yaml")
		require.NoError(t, os.WriteFile(path, []byte(`gateway:
  dashboard_prefix: /embed/{dashboardId}
  app_api_whitelist:
    analytics: "/datasets/* /queries/**"
  api_routes:
    /api/meta/**: meta:read
`), 0o600))
		cfg, err := config.Load(path, nil)
		require.NoError(t, err)
		require.Equal(t, policy.Config{
			DashboardPrefix: "/embed/{dashboardId}",
			AppAPIWhitelist: map[string][]string{"analytics": {"/datasets/*", "/queries/**"}},
			APIRoutes:       map[string]string{"/api/meta/**": "meta:read"},
		}, cfg.Gateway.Policy())
	})
	t.Run("Env", func(t *testing.T) {
		cfg, err := config.Load("", []string{
			"SIGIL_GATEWAY_APP_API_WHITELIST=analytics=/datasets/* /queries/**,hr=/people/*",
			"SIGIL_GATEWAY_API_ROUTES=/api/meta/**=meta:read,/api/reports/**=report:read",
			"SIGIL_GATEWAY_DASHBOARD_PREFIX=/d/{dashboardId}",
		})
		require.NoError(t, err)
		require.Equal(t, policy.Config{
			DashboardPrefix: "/d/{dashboardId}",
			AppAPIWhitelist: map[string][]string{"analytics": {"/datasets/*", "/queries/**"}, "hr": {"/people/*"}},
			APIRoutes:       map[string]string{"/api/meta/**": "meta:read", "/api/reports/**": "report:read"},
		}, cfg.Gateway.Policy())
	})
	// A2: a rule names its methods before its path; without them, GET and HEAD.
	t.Run("MethodsInRules", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "sigil.yaml")
		require.NoError(t, os.WriteFile(path, []byte(`gateway:
  dashboard_prefix: GET HEAD POST /embed/{dashboardId}
  api_routes:
    /api/meta/**: meta:read
    "POST PUT /api/meta/**": meta:write
`), 0o600))
		cfg, err := config.Load(path, nil)
		require.NoError(t, err)
		require.Equal(t, "GET HEAD POST /embed/{dashboardId}", cfg.Gateway.Policy().DashboardPrefix)
		require.Equal(t, map[string]string{"/api/meta/**": "meta:read", "POST PUT /api/meta/**": "meta:write"}, cfg.Gateway.Policy().APIRoutes)
		cfg, err = config.Load("", []string{
			"SIGIL_GATEWAY_API_ROUTES=/api/meta/**=meta:read,POST PUT /api/meta/**=meta:write",
			"SIGIL_GATEWAY_DASHBOARD_PREFIX=GET POST /d/{dashboardId}",
		})
		require.NoError(t, err)
		require.Equal(t, map[string]string{"/api/meta/**": "meta:read", "POST PUT /api/meta/**": "meta:write"}, cfg.Gateway.Policy().APIRoutes)
		require.Equal(t, "GET POST /d/{dashboardId}", cfg.Gateway.Policy().DashboardPrefix)
	})
	for name, tc := range map[string]struct{ env, key string }{
		"PrefixLowerCaseMethod":    {"SIGIL_GATEWAY_DASHBOARD_PREFIX=post /dashboards/{dashboardId}", "gateway.dashboard_prefix"},
		"RouteBadMethod":           {"SIGIL_GATEWAY_API_ROUTES=G*T /api/**=meta:read", "gateway.api_routes"},
		"PrefixWithoutPlaceholder": {"SIGIL_GATEWAY_DASHBOARD_PREFIX=/dashboards", "gateway.dashboard_prefix"},
		"BadWhitelistGlob":         {"SIGIL_GATEWAY_APP_API_WHITELIST=analytics=/[x", "gateway.app_api_whitelist"},
		"BadRouteGlob":             {"SIGIL_GATEWAY_API_ROUTES=/api/[=meta:read", "gateway.api_routes"},
		"RouteWithoutScope":        {"SIGIL_GATEWAY_API_ROUTES=/api/**=", "gateway.api_routes"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := config.Load("", []string{tc.env})
			require.Error(t, err)
			require.Contains(t, err.Error(), "config key "+tc.key+" (env SIGIL_")
		})
	}
}
