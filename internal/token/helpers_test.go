package token_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/stretchr/testify/require"

	"github.com/sigil-dev/sigil/internal/keys"
	"github.com/sigil-dev/sigil/internal/testclock"
	"github.com/sigil-dev/sigil/internal/token"
)

const (
	testIssuer   = "https://sigil.test"
	testAudience = "sigil-test"
)

// epoch is the injected clock's starting point.
var epoch = time.Date(2031, 5, 6, 7, 8, 9, 0, time.UTC)

// keyRing is a fixed token.Keys for tests.
type keyRing struct {
	active *keys.Key
	byKID  map[string]*keys.Key
}

var _ token.Keys = (*keyRing)(nil)

func (r *keyRing) Active() *keys.Key { return r.active }

func (r *keyRing) Lookup(kid string) (*keys.Key, bool) {
	k, ok := r.byKID[kid]
	return k, ok
}

func newRing(active *keys.Key, others ...*keys.Key) *keyRing {
	r := &keyRing{active: active, byKID: map[string]*keys.Key{}}
	for _, k := range append([]*keys.Key{active}, others...) {
		if k != nil {
			r.byKID[k.KID] = k
		}
	}
	return r
}

var (
	keyCacheMu sync.Mutex
	keyCache   = map[string]*keys.Key{}
)

// testKey returns a freshly generated key for alg (one per alg and name per
// test binary, since RSA generation is slow).
func testKey(tb testing.TB, alg, name string) *keys.Key {
	tb.Helper()
	keyCacheMu.Lock()
	defer keyCacheMu.Unlock()
	id := alg + "/" + name
	if k, ok := keyCache[id]; ok {
		return k
	}
	k := &keys.Key{KID: "kid-" + strings.ToLower(alg) + "-" + name, Alg: alg, CreatedAt: epoch}
	switch alg {
	case keys.EdDSA:
		pub, priv, err := ed25519.GenerateKey(rand.Reader)
		require.NoError(tb, err)
		k.Signer, k.Public = priv, pub
	case keys.ES256:
		priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		require.NoError(tb, err)
		k.Signer, k.Public = priv, &priv.PublicKey
	case keys.RS256:
		priv, err := rsa.GenerateKey(rand.Reader, 2048)
		require.NoError(tb, err)
		k.Signer, k.Public = priv, &priv.PublicKey
	case keys.HS256:
		k.Secret = make([]byte, 32)
		_, err := rand.Read(k.Secret)
		require.NoError(tb, err)
	default:
		tb.Fatalf("unknown alg %s", alg)
	}
	keyCache[id] = k
	return k
}

// newClock is the injected clock, at epoch; tests move it by hand.
func newClock() *testclock.Clock { return testclock.New(epoch) }

// revocationFunc is a per-test token.Revocation.
type revocationFunc func(ctx context.Context, c *token.Claims) error

func (f revocationFunc) Check(ctx context.Context, c *token.Claims) error { return f(ctx, c) }

// fixture bundles the keys, an issuer and a verifier sharing one clock.
type fixture struct {
	clock    *testclock.Clock
	ring     *keyRing
	issuer   *token.Issuer
	verifier *token.Verifier
	ids      int
}

type fixtureOpt func(*token.VerifierConfig)

func newFixture(tb testing.TB, active *keys.Key, opts ...fixtureOpt) *fixture {
	tb.Helper()
	f := &fixture{clock: newClock()}
	others := []*keys.Key{}
	for _, alg := range []string{keys.EdDSA, keys.ES256, keys.RS256, keys.HS256} {
		if k := testKey(tb, alg, "main"); k != active {
			others = append(others, k)
		}
	}
	f.ring = newRing(active, others...)
	var mu sync.Mutex
	f.issuer = token.NewIssuer(token.IssuerConfig{
		Issuer: testIssuer, Audience: testAudience, Keys: f.ring, Now: f.clock.Now,
		NewID: func() string {
			mu.Lock()
			defer mu.Unlock()
			f.ids++
			return "jti-" + strconv.Itoa(f.ids)
		},
	})
	cfg := token.VerifierConfig{Issuer: testIssuer, Audience: testAudience, Keys: f.ring, Now: f.clock.Now}
	for _, o := range opts {
		o(&cfg)
	}
	f.verifier = token.NewVerifier(cfg)
	return f
}

func (f *fixture) mint(tb testing.TB, c token.Claims, ttl time.Duration) (string, *token.Claims) {
	tb.Helper()
	raw, claims, err := f.issuer.Mint(c, ttl)
	require.NoError(tb, err)
	return raw, claims
}

func embedClaims() token.Claims {
	return token.Claims{
		RegisteredClaims: jwt.RegisteredClaims{Subject: "user-42"},
		Kind:             token.KindEmbed,
		Scope:            "dashboard:view",
		ClientID:         "dash-1",
		DashboardID:      "dash-1",
		Params:           map[string]any{"locale": "de-DE", "currency": "EUR", "n": json.Number("3.5"), "on": true},
		SecurityPolicies: []token.Policy{{Name: "region", Params: map[string]any{"region": "EU"}}},
	}
}

var b64 = base64.RawURLEncoding

// seg base64url-encodes a JSON text written by hand.
func seg(jsonText string) string { return b64.EncodeToString([]byte(jsonText)) }

// header returns the JSON of a header with alg and kid.
func header(alg, kid string) string {
	return `{"alg":"` + alg + `","kid":"` + kid + `","typ":"JWT"}`
}

// payload returns a valid embed payload at now, with extra members
// appended verbatim (",..." form) and members in drop removed.
func payload(now time.Time, extra string, drop ...string) string {
	m := map[string]string{
		"iss":         `"` + testIssuer + `"`,
		"aud":         `"` + testAudience + `"`,
		"sub":         `"user-42"`,
		"jti":         `"hand-jti"`,
		"iat":         itoa(now.Unix()),
		"nbf":         itoa(now.Unix()),
		"exp":         itoa(now.Add(time.Hour).Unix()),
		"tt":          `"embed"`,
		"dashboardId": `"dash-1"`,
	}
	for _, d := range drop {
		delete(m, d)
	}
	order := []string{"iss", "aud", "sub", "jti", "iat", "nbf", "exp", "tt", "dashboardId"}
	var b strings.Builder
	b.WriteByte('{')
	first := true
	for _, k := range order {
		v, ok := m[k]
		if !ok {
			continue
		}
		if !first {
			b.WriteByte(',')
		}
		first = false
		b.WriteString(`"` + k + `":` + v)
	}
	if extra != "" {
		if first {
			extra = strings.TrimPrefix(extra, ",")
		}
		b.WriteString(extra)
	}
	b.WriteByte('}')
	return b.String()
}

func itoa(n int64) string {
	b, _ := json.Marshal(n)
	return string(b)
}

// sign returns header.payload.signature, signed by k with k's algorithm.
func sign(tb testing.TB, k *keys.Key, headerJSON, payloadJSON string) string {
	tb.Helper()
	return signWith(tb, jwt.GetSigningMethod(k.Alg), k.SigningKey(), seg(headerJSON)+"."+seg(payloadJSON))
}

func signWith(tb testing.TB, m jwt.SigningMethod, key any, signingInput string) string {
	tb.Helper()
	sig, err := m.Sign(signingInput, key)
	require.NoError(tb, err)
	return signingInput + "." + b64.EncodeToString(sig)
}
