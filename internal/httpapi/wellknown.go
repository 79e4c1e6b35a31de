package httpapi

import (
	"context"
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
)

func (s *Server) jwks(c echo.Context) error {
	// Short caching: verifiers refetch on an unknown kid anyway.
	c.Response().Header().Set("Cache-Control", "public, max-age=300")
	return c.JSON(http.StatusOK, s.cfg.Keys.Set().JWKS())
}

// serverMetadata is the RFC 8414 document.
type serverMetadata struct {
	Issuer                             string   `json:"issuer"`
	JWKSURI                            string   `json:"jwks_uri"`
	TokenEndpoint                      string   `json:"token_endpoint"`
	IntrospectionEndpoint              string   `json:"introspection_endpoint"`
	RevocationEndpoint                 string   `json:"revocation_endpoint"`
	ResponseTypesSupported             []string `json:"response_types_supported"`
	GrantTypesSupported                []string `json:"grant_types_supported"`
	TokenEndpointAuthMethods           []string `json:"token_endpoint_auth_methods_supported"`
	IntrospectionEndpointAuthMethods   []string `json:"introspection_endpoint_auth_methods_supported"`
	RevocationEndpointAuthMethods      []string `json:"revocation_endpoint_auth_methods_supported"`
	TokenEndpointAuthSigningAlgsValues []string `json:"token_endpoint_auth_signing_alg_values_supported,omitempty"`
	ServiceDocumentation               string   `json:"service_documentation,omitempty"`
}

func (s *Server) metadata(c echo.Context) error {
	base := strings.TrimSuffix(s.cfg.Issuer, "/")
	c.Response().Header().Set("Cache-Control", "public, max-age=300")
	return c.JSON(http.StatusOK, serverMetadata{
		Issuer:                           s.cfg.Issuer,
		JWKSURI:                          base + "/.well-known/jwks.json",
		TokenEndpoint:                    base + "/api/v1/token",
		IntrospectionEndpoint:            base + "/api/v1/introspect",
		RevocationEndpoint:               base + "/api/v1/revoke",
		ResponseTypesSupported:           []string{},
		GrantTypesSupported:              []string{},
		TokenEndpointAuthMethods:         []string{"client_secret_post"},
		IntrospectionEndpointAuthMethods: []string{"client_secret_basic"},
		RevocationEndpointAuthMethods:    []string{"client_secret_basic"},
	})
}

func (s *Server) healthz(c echo.Context) error {
	return c.JSON(http.StatusOK, map[string]string{"status": "ok"})
}

// readyz reports ready only when keys are loaded and every check passes.
func (s *Server) readyz(c echo.Context) error {
	status, checks := s.readiness(c.Request().Context())
	if status == "unavailable" {
		return c.JSON(http.StatusServiceUnavailable, map[string]any{"status": status, "checks": checks})
	}
	return c.JSON(http.StatusOK, map[string]any{"status": status, "checks": checks})
}

// readiness runs the readiness checks: "ready", "degraded" (only checks
// that degrade failed) or "unavailable", with each check's answer.
func (s *Server) readiness(ctx context.Context) (string, map[string]string) {
	checks := map[string]string{}
	ready, degraded := true, false
	if set := s.cfg.Keys.Set(); set == nil || set.Active() == nil {
		checks["keys"], ready = "no active key", false
	} else {
		checks["keys"] = "ok"
	}
	for _, ch := range s.cfg.Ready {
		cctx, cancel := context.WithTimeout(ctx, time.Second)
		err := ch.Fn(cctx)
		cancel()
		if err != nil {
			checks[ch.Name] = "unavailable"
			if ch.Degrades {
				degraded = true
			} else {
				ready = false
			}
			continue
		}
		checks[ch.Name] = "ok"
	}
	switch {
	case !ready:
		return "unavailable", checks
	case degraded:
		return "degraded", checks
	}
	return "ready", checks
}
