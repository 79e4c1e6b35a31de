package registry_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/sigil-dev/sigil/internal/apperr"
	"github.com/sigil-dev/sigil/internal/keys"
	"github.com/sigil-dev/sigil/internal/registry"
	"github.com/sigil-dev/sigil/internal/revocation"
	"github.com/sigil-dev/sigil/internal/store/memory"
	"github.com/sigil-dev/sigil/internal/testclock"
	"github.com/sigil-dev/sigil/internal/token"
)

const (
	testIssuer   = "https://sigil.test"
	testAudience = "sigil-test"
)

// epoch is where the injected clock starts.
var epoch = time.Date(2031, 3, 4, 5, 6, 7, 0, time.UTC)

// newKeys generates an Ed25519 signing key for one test.
func newKeys(tb testing.TB) *keys.Set {
	tb.Helper()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(tb, err)
	set, err := keys.NewSet([]*keys.Key{{KID: "test-key", Alg: keys.EdDSA, Signer: priv, Public: pub, CreatedAt: epoch}}, "")
	require.NoError(tb, err)
	return set
}

// revokerFunc is a per-test Revoker.
type revokerFunc func(ctx context.Context, c *token.Claims) error

func (f revokerFunc) Revoke(ctx context.Context, c *token.Claims) error { return f(ctx, c) }

// fixture is a Service on the real memory stores, a real issuer and
// verifier, and a memory-backed revocation.Service, all on one clock.
type fixture struct {
	svc   *registry.Service
	store *memory.Registry
	deny  *memory.Store
	rev   *revocation.Service
	ver   *token.Verifier
	clk   *testclock.Clock
}

func newFixture(tb testing.TB, tweak ...func(*registry.ServiceConfig)) *fixture {
	tb.Helper()
	clk := testclock.New(epoch)
	set := newKeys(tb)
	f := &fixture{clk: clk, store: memory.NewRegistry(clk.Now), deny: memory.New(clk.Now)}
	f.rev = revocation.NewService(f.deny, token.DefaultLeeway, clk.Now)
	f.ver = token.NewVerifier(token.VerifierConfig{
		Issuer: testIssuer, Audience: testAudience, Keys: set, Revocation: f.rev, Now: clk.Now,
	})
	var n atomic.Int64
	cfg := registry.ServiceConfig{
		Store:   f.store,
		Issuer:  token.NewIssuer(token.IssuerConfig{Issuer: testIssuer, Audience: testAudience, Keys: set, Now: clk.Now}),
		Revoker: f.rev,
		Now:     clk.Now,
		NewID:   func() string { return fmt.Sprintf("rec-%04d-aaaa-bbbb", n.Add(1)) },
	}
	for _, fn := range tweak {
		fn(&cfg)
	}
	svc, err := registry.NewService(cfg)
	require.NoError(tb, err)
	f.svc = svc
	return f
}

// grant gives owner the api-tokens role.
func (f *fixture) grant(tb testing.TB, owner string) {
	tb.Helper()
	require.NoError(tb, f.svc.SetRole(context.Background(), owner, true))
}

// issuer is a non-admin caller allowed the given resource patterns.
func issuer(id string, allowed ...string) registry.Caller {
	return registry.Caller{ID: id, Allows: func(res string) bool {
		for _, a := range allowed {
			if a == res {
				return true
			}
		}
		return false
	}}
}

var admin = registry.Caller{ID: "admin", Admin: true}

func ptr[T any](v T) *T { return &v }

// requireAppErr asserts err is an *apperr.Error with code and field.
func requireAppErr(tb testing.TB, err error, code, field string) *apperr.Error {
	tb.Helper()
	require.Error(tb, err)
	e, ok := apperr.As(err)
	require.True(tb, ok, "not an apperr: %v", err)
	require.Equal(tb, code, e.Code, "%v", err)
	require.Equal(tb, field, e.Field, "%v", err)
	return e
}

// logActivities returns the record's log as "ACTIVITY/RESULT by" strings, oldest first.
func (f *fixture) logActivities(tb testing.TB, id string) []string {
	tb.Helper()
	logs, next, err := f.svc.Logs(context.Background(), admin, id, registry.MaxLimit, "")
	require.NoError(tb, err)
	require.Empty(tb, next)
	out := make([]string, len(logs))
	for i, e := range logs {
		out[len(logs)-1-i] = e.Activity + "/" + e.Result + " " + e.By
	}
	return out
}
