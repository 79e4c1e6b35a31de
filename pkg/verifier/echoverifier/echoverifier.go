// Package echoverifier is the Echo (v4) middleware of pkg/verifier, apart so that a net/http service does not depend on Echo.
package echoverifier

import (
	"github.com/labstack/echo/v4"

	"github.com/sigil-dev/sigil/pkg/verifier"
)

// ContextKey is where the middleware stores the *verifier.Claims (c.Get).
const ContextKey = "sigil.claims"

// Middleware is v's net/http middleware for echo v4: the same checks and
// answers (verifier.Verifier.Authenticate and WriteError); the claims are in
// c.Get(ContextKey) and in the request context (verifier.ClaimsFrom).
func Middleware(v *verifier.Verifier) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			claims, err := v.Authenticate(c.Request())
			if err != nil {
				v.WriteError(c.Response(), err)
				return nil
			}
			c.Set(ContextKey, claims)
			c.SetRequest(c.Request().WithContext(verifier.NewContext(c.Request().Context(), claims)))
			return next(c)
		}
	}
}
