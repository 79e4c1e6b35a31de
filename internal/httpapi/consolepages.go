package httpapi

import (
	"io/fs"
	"net/http"
	"path"
	"strings"

	"github.com/labstack/echo/v4"
)

// consoleCSP is the Content-Security-Policy of the console's files: only
// its own scripts, styles and API calls; no inline script or style, no
// framing, no plugin, no form posting elsewhere.
const consoleCSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
	"object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

// consoleTypes are the content types of the files the console has.
var consoleTypes = map[string]string{
	".html": "text/html; charset=utf-8",
	".js":   "text/javascript; charset=utf-8",
	".css":  "text/css; charset=utf-8",
	".svg":  "image/svg+xml",
}

// consolePageRoutes serves the console: /console/ is index.html, /console/{file}
// a file of ConsolePages (flat: no directories). Every answer carries the
// strict CSP and is not cached (a new binary's files are picked up at once).
func (s *Server) consolePageRoutes() {
	serve := func(c echo.Context, name string) error {
		typ, ok := consoleTypes[path.Ext(name)]
		if !ok || strings.ContainsAny(name, "/\\") || strings.HasPrefix(name, ".") {
			return notFound("no such console file")
		}
		b, err := fs.ReadFile(s.cfg.ConsolePages, name)
		if err != nil {
			return notFound("no such console file")
		}
		h := c.Response().Header()
		h.Set("Content-Security-Policy", consoleCSP)
		h.Set("Cache-Control", "no-cache")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		return c.Blob(http.StatusOK, typ, b)
	}
	index := func(c echo.Context) error { return serve(c, "index.html") }
	asset := func(c echo.Context) error {
		name, err := pathParam(c, "asset")
		if err != nil {
			return err
		}
		return serve(c, name)
	}
	// HEAD is answered as GET, without the body (RFC 9110 §9.3.2).
	s.echo.GET("/console/", index)
	s.echo.HEAD("/console/", index)
	s.echo.GET("/console/:asset", asset)
	s.echo.HEAD("/console/:asset", asset)
}
