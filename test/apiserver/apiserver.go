package apiserver

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/sigil-dev/sigil/internal/clients"
	"github.com/sigil-dev/sigil/internal/httpapi"
	"github.com/sigil-dev/sigil/internal/keys"
	"github.com/sigil-dev/sigil/internal/registry"
	"github.com/sigil-dev/sigil/internal/revocation"
	"github.com/sigil-dev/sigil/internal/store/memory"
	"github.com/sigil-dev/sigil/internal/token"
)

// Audience is the audience of the server's tokens; its issuer is its URL.
const Audience = "sigil-test"

// Server is a running API.
type Server struct {
	// URL is the base URL, e.g. http://127.0.0.1:41234.
	URL string
	// AdminSecret is the secret of the client "admin".
	AdminSecret string
	// KeysDir holds the server's signing key (EdDSA, PEM).
	KeysDir string
	// Active is the signing key.
	Active *keys.Key

	srv *httptest.Server
}

// Option tweaks the runtime configuration before the API is built.
type Option func(*httpapi.Config)

// WithReveal makes the registry keep JWTs sealed so that reads reveal them.
func WithReveal() Option {
	return func(c *httpapi.Config) { c.RevealTokens = true }
}

// Start builds the real API (memory store, a fresh Ed25519 key in a
// TempDir, the registry, an admin client) and serves it on a loopback port
// until the test ends.
func Start(tb testing.TB, opts ...Option) *Server {
	tb.Helper()
	dir := tb.TempDir()
	signer, err := keys.Generate(keys.EdDSA)
	if err != nil {
		tb.Fatalf("apiserver: generate key: %v", err)
	}
	if _, _, err := keys.WritePEM(dir, signer); err != nil {
		tb.Fatalf("apiserver: write key: %v", err)
	}
	ring, err := keys.NewRing(func() (*keys.Set, error) {
		ks, err := keys.LoadDir(dir)
		if err != nil {
			return nil, err
		}
		return keys.NewSet(ks, "")
	})
	if err != nil {
		tb.Fatalf("apiserver: load key: %v", err)
	}

	// The issuer is the URL, known only once the listener is open.
	srv := httptest.NewUnstartedServer(nil)
	base := "http://" + srv.Listener.Addr().String()

	mem := memory.New(nil)
	cl := clients.NewService(clients.ServiceConfig{Store: mem, Pepper: []byte(randHex(tb)), MaxTokenExpiry: 86400})
	admin := "admin-" + randHex(tb)
	if err := cl.EnsureAdmin(context.Background(), admin); err != nil {
		tb.Fatalf("apiserver: admin: %v", err)
	}
	rev := revocation.NewService(mem, 30*time.Second, nil)
	issuer := token.NewIssuer(token.IssuerConfig{Issuer: base, Audience: Audience, Keys: ring})
	verifier := token.NewVerifier(token.VerifierConfig{Issuer: base, Audience: Audience, Keys: ring, Revocation: rev, Leeway: 30 * time.Second})
	cfg := httpapi.Config{
		Issuer: base, Minter: issuer, Verifier: verifier, Revoker: rev, Clients: cl, Keys: ring,
		EmbedDefaultTTL: time.Hour, EmbedMaxTTL: 24 * time.Hour, StoreTimeout: 5 * time.Second,
	}
	for _, o := range opts {
		o(&cfg)
	}
	var sealer []byte
	if cfg.RevealTokens {
		sealer = make([]byte, 32)
		if _, err := rand.Read(sealer); err != nil {
			tb.Fatal(err)
		}
	}
	regStore := memory.NewRegistry(nil)
	reg, err := registry.NewService(registry.ServiceConfig{Store: regStore, Issuer: issuer, Revoker: rev, Sealer: sealer})
	if err != nil {
		tb.Fatalf("apiserver: registry: %v", err)
	}
	if cfg.Registry == nil {
		cfg.Registry = reg
	}
	cfg.AuthFailures = regStore
	srv.Config.Handler = httpapi.New(cfg)
	srv.Start()
	tb.Cleanup(srv.Close)
	return &Server{URL: base, AdminSecret: admin, KeysDir: dir, Active: ring.Active(), srv: srv}
}

// Close stops the server (also done when the test ends); calls to it then
// fail to connect.
func (s *Server) Close() { s.srv.Close() }

func randHex(tb testing.TB) string {
	tb.Helper()
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		tb.Fatal(err)
	}
	return hex.EncodeToString(b)
}
