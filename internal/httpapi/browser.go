package httpapi

import (
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
)

// corsPaths are the endpoints a browser calls cross-origin: minting (from
// a backend-for-frontend page), refresh, logout and verify.
var corsPaths = map[string]bool{
	"/api/v1/token":            true,
	"/api/v1/token/refresh":    true,
	"/api/v1/invalidate-token": true,
	"/api/v1/verify":           true,
}

// corsMiddleware answers preflights and sets the CORS headers for the
// allowed origins on corsPaths only; other origins get no CORS headers, so
// browsers refuse to hand them the answer. The console token's routes have
// their own list of origins (consoleCORSMiddleware): a page allowed to mint
// and verify embed tokens is not thereby allowed to manage API tokens.
func corsMiddleware(origins []string) echo.MiddlewareFunc {
	return middleware.CORSWithConfig(middleware.CORSConfig{
		Skipper:      func(c echo.Context) bool { return !corsPaths[c.Request().URL.Path] },
		AllowOrigins: origins,
		AllowMethods: []string{http.MethodGet, http.MethodHead, http.MethodPost},
		AllowHeaders: []string{echo.HeaderAuthorization, echo.HeaderContentType},
		ExposeHeaders: []string{
			HeaderSubject, HeaderKind, HeaderScope, HeaderResource, HeaderParams, HeaderPolicies,
			"WWW-Authenticate", "Retry-After",
		},
		MaxAge: 600,
	})
}

// consolePath reports whether p is a route a console token may call:
// /api/tokens and what is under it, and /api/scopes.
func consolePath(p string) bool {
	return p == "/api/tokens" || strings.HasPrefix(p, "/api/tokens/") || p == "/api/scopes"
}

// consoleCORSMiddleware answers preflights and sets the CORS headers on the
// console token's routes (consolePath) for the host pages of
// console.allowed_origins, which embed <sigil-api-tokens>. The component
// sends its console token as Authorization: Bearer and never a cookie, so
// credentials are never allowed: a browser then refuses to hand a
// cross-origin page the answer to a request made with the console's
// session cookie, whatever the origin.
func consoleCORSMiddleware(origins []string) echo.MiddlewareFunc {
	return middleware.CORSWithConfig(middleware.CORSConfig{
		Skipper:       func(c echo.Context) bool { return !consolePath(c.Request().URL.Path) },
		AllowOrigins:  origins,
		AllowMethods:  []string{http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPatch, http.MethodDelete},
		AllowHeaders:  []string{echo.HeaderAuthorization, echo.HeaderContentType, echo.HeaderAccept},
		ExposeHeaders: []string{"WWW-Authenticate", "Retry-After", echo.HeaderLocation},
		MaxAge:        600,
	})
}

// browserRoutes serves the OpenAPI document, the browser SDK and the demo page.
func (s *Server) browserRoutes() {
	e := s.echo
	if s.cfg.OpenAPI != nil {
		e.GET("/openapi.json", func(c echo.Context) error {
			c.Response().Header().Set("Cache-Control", "public, max-age=300")
			return c.Blob(http.StatusOK, echo.MIMEApplicationJSON, s.cfg.OpenAPI)
		})
	}
	if s.cfg.SDKScript != nil {
		e.GET("/sdk/sigil-embed.js", func(c echo.Context) error {
			h := c.Response().Header()
			h.Set("Cache-Control", "public, max-age=300")
			// Browsers fetch module scripts in CORS mode: any page may import
			// this public file (no credentials are involved); what it may
			// then call is up to http.cors_allowed_origins.
			h.Set("Access-Control-Allow-Origin", "*")
			return c.Blob(http.StatusOK, "text/javascript; charset=utf-8", s.cfg.SDKScript)
		})
	}
	if s.cfg.APITokensScript != nil {
		e.GET("/sdk/sigil-api-tokens.js", func(c echo.Context) error {
			h := c.Response().Header()
			h.Set("Cache-Control", "public, max-age=300")
			h.Set("X-Content-Type-Options", "nosniff")
			// A host page on any origin may load the component (a public
			// file, no credentials); the API answers it only for the
			// origins of console.allowed_origins and a console token.
			h.Set("Access-Control-Allow-Origin", "*")
			return c.Blob(http.StatusOK, "text/javascript; charset=utf-8", s.cfg.APITokensScript)
		})
	}
	if s.cfg.DemoPage != nil {
		e.GET("/demo/", func(c echo.Context) error {
			h := c.Response().Header()
			h.Set("Cache-Control", "no-store")
			// The page runs only its own module and the SDK, from this origin.
			h.Set("Content-Security-Policy", "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; base-uri 'none'; frame-ancestors 'none'")
			h.Set("Referrer-Policy", "no-referrer")
			return c.HTMLBlob(http.StatusOK, s.cfg.DemoPage)
		})
	}
	if s.cfg.DemoScript != nil {
		e.GET("/demo/demo.js", func(c echo.Context) error {
			c.Response().Header().Set("Cache-Control", "no-store")
			return c.Blob(http.StatusOK, "text/javascript; charset=utf-8", s.cfg.DemoScript)
		})
	}
}
