package httpapi

import (
	"errors"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/sigil-dev/sigil/internal/apperr"
	"github.com/sigil-dev/sigil/internal/clients"
)

const clientKey = "sigil.client"

// requireClient authenticates the caller with HTTP Basic clientId:clientSecret.
func (s *Server) requireClient(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		id, secret, ok := c.Request().BasicAuth()
		if !ok || id == "" || secret == "" {
			return unauthorized("client authentication required (HTTP Basic clientId:clientSecret)")
		}
		cl, err := s.cfg.Clients.Authenticate(c.Request().Context(), id, secret)
		if errors.Is(err, clients.ErrBadCredentials) {
			return unauthorized("invalid client credentials")
		}
		if err != nil {
			return err
		}
		c.Set(clientKey, cl)
		return next(c)
	}
}

// requireAdmin lets only admin clients through; it runs after requireClient.
func (s *Server) requireAdmin(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if caller(c).Role != clients.RoleAdmin {
			return forbidden("this endpoint is for admin clients")
		}
		return next(c)
	}
}

func caller(c echo.Context) clients.Client {
	cl, _ := c.Get(clientKey).(clients.Client)
	return cl
}

// bearerToken returns the token of an "Authorization: Bearer" header, or "".
func bearerToken(c echo.Context) string {
	h := c.Request().Header.Get(echo.HeaderAuthorization)
	scheme, tok, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return ""
	}
	return strings.TrimSpace(tok)
}

// requireBearer returns the bearer token or a 401 asking for one.
func requireBearer(c echo.Context) (string, error) {
	tok := bearerToken(c)
	if tok == "" {
		return "", &apperr.Error{Code: apperr.CodeTokenRequired, Field: "Authorization", Message: "an Authorization: Bearer token is required"}
	}
	return tok, nil
}
