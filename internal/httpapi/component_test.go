package httpapi_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/sigil-dev/sigil/internal/httpapi"
	"github.com/sigil-dev/sigil/internal/web"
)

func withConsoleOrigins(origins ...string) func(*fixture) {
	return func(f *fixture) {
		prev := f.tweak
		f.tweak = func(cfg *httpapi.Config) {
			if prev != nil {
				prev(cfg)
			}
			cfg.ConsoleOrigins = origins
			cfg.APITokensScript = web.APITokensScript
		}
	}
}

func TestComponent_Script(t *testing.T) {
	f := newAPI(t, withConsoleOrigins())
	rec := f.do(http.MethodGet, "/sdk/sigil-api-tokens.js", "")
	require.Equal(t, http.StatusOK, rec.Code)
	require.Equal(t, "text/javascript; charset=utf-8", rec.Header().Get("Content-Type"))
	require.Equal(t, "nosniff", rec.Header().Get("X-Content-Type-Options"))
	require.Equal(t, "*", rec.Header().Get("Access-Control-Allow-Origin"), "module scripts are fetched in CORS mode")
	require.Empty(t, rec.Header().Get("Access-Control-Allow-Credentials"))
	require.Equal(t, web.APITokensScript, rec.Body.Bytes())
	body := rec.Body.String()
	// What a strict host CSP or Trusted Types would block, and what would
	// leak a token, is absent from the module.
	for _, banned := range []string{"innerHTML", "outerHTML", "insertAdjacentHTML", "eval(", "new Function", "localStorage", "sessionStorage", "console.log", "document.cookie", `"style"`, "setAttribute(\"style"} {
		require.False(t, strings.Contains(body, banned), "the module uses %s", banned)
	}
	require.Contains(t, body, `customElements.define("sigil-api-tokens"`)
	require.Contains(t, body, "adoptedStyleSheets")

	t.Run("ErrOffWithoutScript", func(t *testing.T) {
		f := newAPI(t)
		require.Equal(t, http.StatusNotFound, f.do(http.MethodGet, "/sdk/sigil-api-tokens.js", "").Code)
	})
}

func TestComponent_CORS(t *testing.T) {
	const host = "https://host.example.com"
	rf := newRegAPI(t, nil, withCORS("https://embed.example.com"), withConsoleOrigins(host))
	tests := []struct {
		name, path, origin, method string
		wantAllowed                bool
	}{
		{"OKList", "/api/tokens", host, http.MethodGet, true},
		{"OKCreate", "/api/tokens", host, http.MethodPost, true},
		{"OKGenerate", "/api/tokens/abc/_generate", host, http.MethodPost, true},
		{"OKRevoke", "/api/tokens/abc", host, http.MethodDelete, true},
		{"OKRename", "/api/tokens/abc", host, http.MethodPatch, true},
		{"OKLogs", "/api/tokens/abc/logs", host, http.MethodGet, true},
		{"OKScopes", "/api/scopes", host, http.MethodGet, true},
		{"ErrOtherOrigin", "/api/tokens", "https://evil.example.com", http.MethodGet, false},
		{"ErrLookalike", "/api/tokens", host + ".evil.example.com", http.MethodGet, false},
		{"ErrNullOrigin", "/api/tokens", "null", http.MethodGet, false},
		{"ErrEmbedOriginIsNotAConsoleOrigin", "/api/tokens", "https://embed.example.com", http.MethodGet, false},
		{"ErrClients", "/api/clients", host, http.MethodPost, false},
		{"ErrRoles", "/api/owners/alice/roles/api-tokens", host, http.MethodPut, false},
		{"ErrRevokeAll", "/api/v1/revoke-all", host, http.MethodPost, false},
		{"ErrTokensPrefixLookalike", "/api/tokensX", host, http.MethodGet, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rec := preflight(rf.fixture, tc.path, tc.origin, tc.method)
			require.Less(t, rec.Code, 500)
			require.Empty(t, rec.Header().Get("Access-Control-Allow-Credentials"), "never with cookies")
			if !tc.wantAllowed {
				require.Empty(t, rec.Header().Get("Access-Control-Allow-Origin"), "origin %s must not be allowed on %s", tc.origin, tc.path)
				return
			}
			require.Equal(t, http.StatusNoContent, rec.Code)
			require.Equal(t, tc.origin, rec.Header().Get("Access-Control-Allow-Origin"))
			require.Contains(t, rec.Header().Get("Access-Control-Allow-Methods"), tc.method)
			require.Contains(t, rec.Header().Get("Access-Control-Allow-Headers"), "Authorization")
		})
	}

	t.Run("OKActualRequestCarriesNoCredentialsGrant", func(t *testing.T) {
		r := httptest.NewRequest(http.MethodGet, "/api/tokens?owner=alice", nil)
		r.SetBasicAuth(enviziID, rf.envizi)
		r.Header.Set("Origin", host)
		rec := rf.serve(r)
		require.Equal(t, host, rec.Header().Get("Access-Control-Allow-Origin"))
		require.Empty(t, rec.Header().Get("Access-Control-Allow-Credentials"))
		require.Contains(t, rec.Header().Get("Vary"), "Origin")
	})
	t.Run("ErrTraversalOutOfTheConsolePaths", func(t *testing.T) {
		// A path that starts like the console's but names another route
		// is routed literally: it never reaches the clients list.
		for _, p := range []string{"/api/tokens/../clients", "/api/tokens/%2e%2e/clients", "/api/tokens/..%2fclients"} {
			r := httptest.NewRequest(http.MethodGet, p, nil)
			r.SetBasicAuth("admin", rf.adminSecret)
			r.Header.Set("Origin", host)
			rec := rf.serve(r)
			require.NotEqual(t, http.StatusOK, rec.Code, "%s: %s", p, rec.Body.String())
			require.NotContains(t, rec.Body.String(), `"clients"`, p)
		}
	})
	t.Run("ErrOffByDefault", func(t *testing.T) {
		f := newAPI(t)
		rec := preflight(f, "/api/tokens", host, http.MethodGet)
		require.Empty(t, rec.Header().Get("Access-Control-Allow-Origin"))
	})
}
