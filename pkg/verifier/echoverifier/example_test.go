package echoverifier_test

import (
	"context"
	"log"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/sigil-dev/sigil/pkg/verifier"
	"github.com/sigil-dev/sigil/pkg/verifier/echoverifier"
)

// ExampleMiddleware protects an Echo group with sigil tokens.
func ExampleMiddleware() {
	v, err := verifier.New(context.Background(), verifier.Config{
		JWKSURL:  "https://sigil.example.com/.well-known/jwks.json",
		Issuer:   "https://sigil.example.com",
		Audience: "sigil",
	})
	if err != nil {
		log.Fatal(err)
	}
	e := echo.New()
	reports := e.Group("/reports", echoverifier.Middleware(v))
	reports.GET("/:id", func(c echo.Context) error {
		claims := c.Get(echoverifier.ContextKey).(*verifier.Claims)
		return c.String(http.StatusOK, "report for "+claims.Subject)
	})
	log.Fatal(e.Start("127.0.0.1:8081"))
}
