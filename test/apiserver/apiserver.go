package apiserver

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/sigil-dev/sigil/internal/app"
	"github.com/sigil-dev/sigil/internal/config"
	"github.com/sigil-dev/sigil/internal/keys"
)

// Audience is the audience of the server's tokens; its issuer is its URL.
const Audience = "sigil-test"

// Server is a running API.
type Server struct {
	// URL is the base URL, e.g. http://127.0.0.1:41234.
	URL string
	// AdminSecret is the secret of the client "admin".
	AdminSecret string
	// KeysDir is the server's keys dir (keys.dir): by default a TempDir
	// holding one fresh Ed25519 key (PEM).
	KeysDir string
	// Active is the signing key.
	Active *keys.Key

	stop     context.CancelFunc
	done     chan error
	stopOnce sync.Once
}

// Settings is what Start builds the server from; Options change it.
type Settings struct {
	// Config is the server's configuration, as a user would write it:
	// config.Default() on the memory store, with the issuer set to the
	// server's URL, Audience, the keys dir holding a fresh Ed25519 key, and
	// an admin secret. Set Redis.URL for Redis (replica mode by default).
	Config config.Config
	// App are more options of app.New: a clock, an injected store, a logger
	// (the default discards logs).
	App []app.Option
}

// Option changes the settings before the server is built.
type Option func(*Settings)

// WithConfig lets fn change the configuration.
func WithConfig(fn func(*config.Config)) Option {
	return func(s *Settings) { fn(&s.Config) }
}

// WithApp adds options of app.New (app.WithNow, app.WithStore, app.WithLogger).
func WithApp(opts ...app.Option) Option {
	return func(s *Settings) { s.App = append(s.App, opts...) }
}

// WithReveal makes the registry keep JWTs sealed so that reads reveal them
// (registry.reveal_tokens with a fresh key).
func WithReveal() Option {
	return func(s *Settings) {
		s.Config.Registry.RevealTokens = true
		s.Config.Registry.RevealKey = make([]byte, config.RevealKeySize)
		_, _ = rand.Read(s.Config.Registry.RevealKey) // crypto/rand.Read never fails (Go 1.24+)
	}
}

// Start builds the application sigil serve runs (internal/app, from a
// config) and serves it on a loopback port until the test ends.
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
	// The issuer is the URL, known only once the listener is open.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatalf("apiserver: listen: %v", err)
	}
	base := "http://" + ln.Addr().String()

	cfg := config.Default()
	cfg.Addr, cfg.Issuer, cfg.Audience = ln.Addr().String(), base, Audience
	cfg.Keys.Dir = dir
	cfg.AdminSecret = "admin-" + randHex(tb)
	cfg.HTTP.StoreTimeout = 5 * time.Second
	cfg.HTTP.ShutdownTimeout = 5 * time.Second
	s := Settings{Config: cfg}
	for _, o := range opts {
		o(&s)
	}
	appOpts := append([]app.Option{app.WithListener(ln), app.WithLogger(slog.New(slog.DiscardHandler))}, s.App...)
	a, err := app.New(context.Background(), s.Config, appOpts...)
	if err != nil {
		_ = ln.Close()
		tb.Fatalf("apiserver: %v", err)
	}
	ctx, stop := context.WithCancel(context.Background())
	srv := &Server{
		URL: base, AdminSecret: s.Config.AdminSecret, KeysDir: s.Config.Keys.Dir, Active: a.Info.ActiveKey,
		stop: stop, done: make(chan error, 1),
	}
	go func() { srv.done <- a.Run(ctx) }()
	tb.Cleanup(srv.Close)
	return srv
}

// Close stops the server as sigil serve stops on a signal (also done when
// the test ends); calls to it then fail to connect.
func (s *Server) Close() {
	s.stopOnce.Do(func() {
		s.stop()
		<-s.done
	})
}

func randHex(tb testing.TB) string {
	tb.Helper()
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		tb.Fatal(err)
	}
	return hex.EncodeToString(b)
}
