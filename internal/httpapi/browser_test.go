package httpapi_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/sigil-dev/sigil/internal/httpapi"
)

func withCORS(origins ...string) func(*fixture) {
	return func(f *fixture) {
		f.tweak = func(cfg *httpapi.Config) { cfg.CORSOrigins = origins }
	}
}

func preflight(f *fixture, path, origin, method string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(http.MethodOptions, path, nil)
	r.Header.Set("Origin", origin)
	r.Header.Set("Access-Control-Request-Method", method)
	r.Header.Set("Access-Control-Request-Headers", "authorization")
	return f.serve(r)
}

func TestCORS_Preflight(t *testing.T) {
	const app = "https://app.example.com"
	f := newAPI(t, withCORS(app, "http://localhost:3000"))
	tests := []struct {
		name, path, origin string
		wantAllowed        bool
	}{
		{"OKInvalidate", "/api/v1/invalidate-token", app, true},
		{"OKToken", "/api/v1/token", app, true},
		{"OKRefresh", "/api/v1/token/refresh", "http://localhost:3000", true},
		{"OKVerify", "/api/v1/verify", app, true},
		{"ErrOtherOrigin", "/api/v1/invalidate-token", "https://evil.example.com", false},
		{"ErrLookalikeOrigin", "/api/v1/invalidate-token", app + ".evil.example.com", false},
		{"ErrSchemeDiffers", "/api/v1/invalidate-token", "http://app.example.com", false},
		{"ErrNullOrigin", "/api/v1/invalidate-token", "null", false},
		{"ErrNotACORSEndpoint", "/api/clients", app, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rec := preflight(f, tc.path, tc.origin, http.MethodPost)
			require.Less(t, rec.Code, 500)
			if !tc.wantAllowed {
				require.Empty(t, rec.Header().Get("Access-Control-Allow-Origin"), "origin %s must not be allowed", tc.origin)
				return
			}
			require.Equal(t, http.StatusNoContent, rec.Code)
			require.Equal(t, tc.origin, rec.Header().Get("Access-Control-Allow-Origin"))
			require.Contains(t, rec.Header().Get("Access-Control-Allow-Methods"), http.MethodPost)
			require.Contains(t, rec.Header().Get("Access-Control-Allow-Headers"), "Authorization")
			require.Empty(t, rec.Header().Get("Access-Control-Allow-Credentials"), "no cookies are involved")
		})
	}
}

func TestCORS_ActualRequest(t *testing.T) {
	const app = "https://app.example.com"
	f := newAPI(t, withCORS(app))
	tok := f.mint(nil).AccessToken

	t.Run("OKAllowedOriginSeesIdentityHeaders", func(t *testing.T) {
		r := httptest.NewRequest(http.MethodGet, "/api/v1/verify", nil)
		r.Header.Set("Authorization", "Bearer "+tok)
		r.Header.Set("Origin", app)
		rec := f.serve(r)
		require.Equal(t, http.StatusOK, rec.Code)
		require.Equal(t, app, rec.Header().Get("Access-Control-Allow-Origin"))
		require.Contains(t, rec.Header().Get("Access-Control-Expose-Headers"), httpapi.HeaderParams)
	})
	t.Run("ErrOtherOriginGetsNoCORSHeaders", func(t *testing.T) {
		r := httptest.NewRequest(http.MethodPost, "/api/v1/invalidate-token", nil)
		r.Header.Set("Authorization", "Bearer "+tok)
		r.Header.Set("Origin", "https://evil.example.com")
		rec := f.serve(r)
		require.Empty(t, rec.Header().Get("Access-Control-Allow-Origin"))
	})
	t.Run("OKInvalidateFromAllowedOrigin", func(t *testing.T) {
		r := httptest.NewRequest(http.MethodPost, "/api/v1/invalidate-token", nil)
		r.Header.Set("Authorization", "Bearer "+tok)
		r.Header.Set("Origin", app)
		rec := f.serve(r)
		require.Equal(t, http.StatusNoContent, rec.Code)
		require.Equal(t, app, rec.Header().Get("Access-Control-Allow-Origin"))
	})
}

func TestCORS_OffByDefault(t *testing.T) {
	f := newAPI(t)
	rec := preflight(f, "/api/v1/invalidate-token", "https://app.example.com", http.MethodPost)
	require.Empty(t, rec.Header().Get("Access-Control-Allow-Origin"))
	require.Less(t, rec.Code, 500)
}

func TestBrowserAssets(t *testing.T) {
	f := newAPI(t, func(f *fixture) {
		f.tweak = func(cfg *httpapi.Config) {
			cfg.SDKScript, cfg.OpenAPI = []byte("export {};"), []byte(`{"openapi":"3.0.3"}`)
		}
	})
	t.Run("OKSDK", func(t *testing.T) {
		rec := f.do(http.MethodGet, "/sdk/sigil-embed.js", "")
		require.Equal(t, http.StatusOK, rec.Code)
		require.Equal(t, "text/javascript; charset=utf-8", rec.Header().Get("Content-Type"))
		require.Equal(t, "*", rec.Header().Get("Access-Control-Allow-Origin"), "module scripts are fetched in CORS mode")
	})
	t.Run("OKOpenAPI", func(t *testing.T) {
		rec := f.do(http.MethodGet, "/openapi.json", "")
		require.Equal(t, http.StatusOK, rec.Code)
		require.JSONEq(t, `{"openapi":"3.0.3"}`, rec.Body.String())
	})
	t.Run("ErrNoDemoOutsideDevMode", func(t *testing.T) {
		rec := f.do(http.MethodGet, "/demo/", "")
		require.Equal(t, http.StatusNotFound, rec.Code)
	})
}
