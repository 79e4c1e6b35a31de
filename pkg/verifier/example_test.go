package verifier_test

import (
	"context"
	"fmt"
	"log"
	"net/http"
	"time"

	"github.com/sigil-dev/sigil/pkg/verifier"
)

// ExampleNew protects a route of a Go service with sigil tokens, verified
// offline with the keys sigil publishes.
func ExampleNew() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	v, err := verifier.New(ctx, verifier.Config{
		JWKSURL:  "https://sigil.example.com/.well-known/jwks.json",
		Issuer:   "https://sigil.example.com",
		Audience: "sigil",
	})
	if err != nil {
		log.Fatal(err)
	}
	reports := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		claims, _ := verifier.ClaimsFrom(r.Context())
		fmt.Fprintf(w, "report for dashboard %s\n", claims.DashboardID)
	})
	mux := http.NewServeMux()
	mux.Handle("/reports/", v.Middleware(reports))
	log.Fatal(http.ListenAndServe("127.0.0.1:8081", mux))
}
