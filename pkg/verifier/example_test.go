package verifier_test

import (
	"context"
	"fmt"
	"log"
	"net/http"
	"time"

	goredis "github.com/redis/go-redis/v9"

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

// ExampleNew_redisAndPolicy verifies like a sigil instance: revocations come
// from sigil's Redis through an in-memory replica, and each request is held
// to the same per-kind policy as forward-auth (app-view tokens read-only on
// their app, report tokens on their report, API tokens by scope).
func ExampleNew_redisAndPolicy() {
	ctx := context.Background()
	rdb := goredis.NewClient(&goredis.Options{Addr: "127.0.0.1:6379"})
	defer rdb.Close()
	v, err := verifier.New(ctx, verifier.Config{
		JWKSURL:  "https://sigil.example.com/.well-known/jwks.json",
		Issuer:   "https://sigil.example.com",
		Audience: "sigil",
		Redis:    verifier.RedisConfig{Client: rdb, Prefix: "sigil:"},
		Policy: &verifier.PolicyConfig{
			AppAPIWhitelist: map[string][]string{"analytics": {"/datasets/*"}},
		},
	})
	if err != nil {
		log.Fatal(err)
	}
	defer v.Close()
	api := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		claims, _ := verifier.ClaimsFrom(r.Context())
		fmt.Fprintf(w, "hello %s (%s)\n", claims.Subject, claims.Kind)
	})
	log.Fatal(http.ListenAndServe("127.0.0.1:8081", v.Middleware(api)))
}
