package httpapi

import (
	"encoding/json"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/labstack/echo/v4"
	"github.com/stretchr/testify/require"

	"github.com/sigil-dev/sigil/internal/console"
	"github.com/sigil-dev/sigil/internal/openapi"
	"github.com/sigil-dev/sigil/internal/registry"
)

// TestRoutes_InOpenAPIDocument keeps the route table and the OpenAPI
// document in step: every route the server registers, with every optional
// part turned on, is an operation of the document.
func TestRoutes_InOpenAPIDocument(t *testing.T) {
	raw, err := openapi.JSON()
	require.NoError(t, err)
	var doc struct {
		Paths map[string]map[string]json.RawMessage `json:"paths"`
	}
	require.NoError(t, json.Unmarshal(raw, &doc))

	s := New(Config{
		Registry: (*registry.Service)(nil), MetricsHandler: http.NotFoundHandler(),
		OpenAPI: raw, SDKScript: []byte("//"), APITokensScript: []byte("//"), DemoPage: []byte("<p>"), DemoScript: []byte("//"),
		CORSOrigins: []string{"https://app.example.com"},
		Sessions:    (*console.Service)(nil), ConsolePages: fstest.MapFS{"index.html": {Data: []byte("<p>")}},
	})
	param := regexp.MustCompile(`:([A-Za-z]+)`)
	n := 0
	for _, r := range s.echo.Routes() {
		if r.Method == echo.RouteNotFound {
			continue // a group's catch-all 404, not an operation
		}
		path := param.ReplaceAllString(r.Path, "{$1}")
		ops, ok := doc.Paths[path]
		require.True(t, ok, "route %s %s: path %s is not in internal/openapi/openapi.yaml", r.Method, r.Path, path)
		_, ok = ops[strings.ToLower(r.Method)]
		require.True(t, ok, "route %s %s is not an operation of internal/openapi/openapi.yaml", r.Method, path)
		n++
	}
	require.Greater(t, n, 30, "the route table looks empty")
}
