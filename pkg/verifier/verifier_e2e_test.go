package verifier_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/sigil-dev/sigil/internal/keys"
	"github.com/sigil-dev/sigil/internal/token"
	"github.com/sigil-dev/sigil/pkg/verifier"
)

const (
	testIssuer   = "https://sigil.verifier.test"
	testAudience = "sigil"
)

// newTestKey generates an Ed25519 key and loads it the way sigil does: a PEM
// file in a temporary keys dir.
func newTestKey(tb testing.TB) *keys.Key {
	tb.Helper()
	signer, err := keys.Generate(keys.EdDSA)
	if err != nil {
		tb.Fatal(err)
	}
	_, k, err := keys.WritePEM(tb.TempDir(), signer)
	if err != nil {
		tb.Fatal(err)
	}
	return k
}

// jwksServer publishes the JWKS of a key set that a test can grow.
type jwksServer struct {
	*httptest.Server
	mu      sync.Mutex
	keys    []*keys.Key
	fetches atomic.Int32
}

func newJWKSServer(tb testing.TB, ks ...*keys.Key) *jwksServer {
	tb.Helper()
	s := &jwksServer{keys: ks}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		s.fetches.Add(1)
		s.mu.Lock()
		set, err := keys.NewSet(s.keys, "")
		s.mu.Unlock()
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(set.JWKS())
	}))
	tb.Cleanup(s.Close)
	return s
}

func (s *jwksServer) add(k *keys.Key) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.keys = append(s.keys, k)
}

func (s *jwksServer) jwksURL() string { return s.URL + "/.well-known/jwks.json" }

// signingKey is a token.Keys that signs with one key.
type signingKey struct{ k *keys.Key }

func (s signingKey) Active() *keys.Key { return s.k }
func (s signingKey) Lookup(kid string) (*keys.Key, bool) {
	return s.k, s.k != nil && kid == s.k.KID
}

// mintWith mints an embed token for dashboard "sales" signed by k, issued at now.
func mintWith(tb testing.TB, k *keys.Key, now time.Time, ttl time.Duration) string {
	tb.Helper()
	iss := token.NewIssuer(token.IssuerConfig{
		Issuer: testIssuer, Audience: testAudience, Keys: signingKey{k},
		Now: func() time.Time { return now },
	})
	raw, _, err := iss.Mint(token.Claims{Kind: token.KindEmbed, DashboardID: "sales", Scope: "dashboard:view"}, ttl)
	if err != nil {
		tb.Fatalf("mint: %v", err)
	}
	return raw
}

func newVerifier(tb testing.TB, cfg verifier.Config) *verifier.Verifier {
	tb.Helper()
	cfg.Issuer, cfg.Audience = testIssuer, testAudience
	v, err := verifier.New(context.Background(), cfg)
	if err != nil {
		tb.Fatalf("verifier.New: %v", err)
	}
	return v
}

// revocationFunc is a verifier.Revocation built from a function.
type revocationFunc func(ctx context.Context, c *verifier.Claims) error

func (f revocationFunc) Check(ctx context.Context, c *verifier.Claims) error { return f(ctx, c) }

// middlewares are the two ways to mount the verifier: net/http and Echo. The
// protected handler answers 200 with the dashboardId of the verified claims.
var middlewares = []struct {
	name    string
	handler func(tb testing.TB, v *verifier.Verifier) http.Handler
}{
	{name: "NetHTTP", handler: func(tb testing.TB, v *verifier.Verifier) http.Handler {
		return v.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			c, ok := verifier.ClaimsFrom(r.Context())
			if !ok || c == nil {
				http.Error(w, "no claims in the context", http.StatusInternalServerError)
				return
			}
			_, _ = w.Write([]byte(c.DashboardID))
		}))
	}},
	{name: "Echo", handler: func(tb testing.TB, v *verifier.Verifier) http.Handler {
		e := echo.New()
		e.Use(v.Echo())
		e.GET("/*", func(c echo.Context) error {
			claims, ok := c.Get(verifier.EchoContextKey).(*verifier.Claims)
			fromCtx, ok2 := verifier.ClaimsFrom(c.Request().Context())
			if !ok || !ok2 || claims == nil || fromCtx != claims {
				return c.String(http.StatusInternalServerError, "no claims in the echo or request context")
			}
			return c.String(http.StatusOK, claims.DashboardID)
		})
		return e
	}},
}

func serve(h http.Handler, authz string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(http.MethodGet, "/reports/1", nil)
	if authz != "" {
		req.Header.Set("Authorization", authz)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

// checkRejected asserts a JSON error answer with status and, for 401, a Bearer challenge.
func checkRejected(t *testing.T, rec *httptest.ResponseRecorder, status int) {
	t.Helper()
	if rec.Code != status {
		t.Fatalf("status %d, want %d; body %s", rec.Code, status, rec.Body)
	}
	if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("Content-Type %q, want application/json", ct)
	}
	var body struct {
		Error struct{ Code, Message string } `json:"error"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil || body.Error.Code == "" {
		t.Errorf("body %q is not a JSON error (%v)", rec.Body, err)
	}
	switch status {
	case http.StatusUnauthorized:
		if wa := rec.Header().Get("WWW-Authenticate"); !strings.HasPrefix(wa, "Bearer ") {
			t.Errorf("WWW-Authenticate %q, want a Bearer challenge", wa)
		}
	case http.StatusServiceUnavailable:
		if rec.Header().Get("Retry-After") == "" {
			t.Error("503 without Retry-After")
		}
	}
}

func TestVerifier_Middleware(t *testing.T) {
	k := newTestKey(t)
	js := newJWKSServer(t, k)
	now := time.Now()
	valid := mintWith(t, k, now, time.Hour)
	// forged: sigil's kid in the header, signed by another key.
	forged := mintWith(t, &keys.Key{KID: k.KID, Alg: keys.EdDSA, Signer: newTestKey(t).Signer}, now, time.Hour)
	expired := mintWith(t, k, now.Add(-2*time.Hour), time.Hour)

	tests := []struct {
		name   string
		authz  string
		status int
	}{
		{name: "OK", authz: "Bearer " + valid, status: http.StatusOK},
		{name: "ErrMissing", status: http.StatusUnauthorized},
		{name: "ErrNotBearer", authz: "Basic " + valid, status: http.StatusUnauthorized},
		{name: "ErrForged", authz: "Bearer " + forged, status: http.StatusUnauthorized},
		{name: "ErrExpired", authz: "Bearer " + expired, status: http.StatusUnauthorized},
		{name: "ErrGarbage", authz: "Bearer not.a.jwt", status: http.StatusUnauthorized},
	}
	for _, mw := range middlewares {
		t.Run(mw.name, func(t *testing.T) {
			h := mw.handler(t, newVerifier(t, verifier.Config{JWKSURL: js.jwksURL()}))
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					rec := serve(h, tt.authz)
					if tt.status == http.StatusOK {
						if rec.Code != http.StatusOK || rec.Body.String() != "sales" {
							t.Fatalf("got %d %q, want 200 \"sales\"", rec.Code, rec.Body)
						}
						return
					}
					checkRejected(t, rec, tt.status)
					if strings.Contains(rec.Body.String()+strings.Join(rec.Header().Values("WWW-Authenticate"), ""), valid) {
						t.Error("the answer echoes the token")
					}
				})
			}
		})
	}
}

func TestVerifier_Revocation(t *testing.T) {
	k := newTestKey(t)
	js := newJWKSServer(t, k)
	tok := mintWith(t, k, time.Now(), time.Hour)

	tests := []struct {
		name   string
		check  revocationFunc
		status int
	}{
		{name: "OK", check: func(context.Context, *verifier.Claims) error { return nil }, status: http.StatusOK},
		{name: "ErrRevoked", check: func(context.Context, *verifier.Claims) error {
			return token.ErrRevoked
		}, status: http.StatusUnauthorized},
		{name: "ErrBackendDown", check: func(context.Context, *verifier.Claims) error {
			return errors.New("denylist unreachable")
		}, status: http.StatusServiceUnavailable},
	}
	for _, mw := range middlewares {
		for _, tt := range tests {
			t.Run(mw.name+"/"+tt.name, func(t *testing.T) {
				h := mw.handler(t, newVerifier(t, verifier.Config{JWKSURL: js.jwksURL(), Revocation: tt.check}))
				rec := serve(h, "Bearer "+tok)
				if tt.status == http.StatusOK {
					if rec.Code != http.StatusOK {
						t.Fatalf("status %d, want 200; body %s", rec.Code, rec.Body)
					}
					return
				}
				checkRejected(t, rec, tt.status)
			})
		}
	}
}

func TestVerifier_JWKSRefetch(t *testing.T) {
	k1, k2, k3 := newTestKey(t), newTestKey(t), newTestKey(t)
	js := newJWKSServer(t, k1)
	var offset atomic.Int64 // advances the verifier's clock past the refetch interval
	clock := func() time.Time { return time.Now().Add(time.Duration(offset.Load())) }
	v := newVerifier(t, verifier.Config{JWKSURL: js.jwksURL(), Now: clock})
	ctx := context.Background()
	now := time.Now()
	tok1, tok2, tok3 := mintWith(t, k1, now, time.Hour), mintWith(t, k2, now, time.Hour), mintWith(t, k3, now, time.Hour)
	if n := js.fetches.Load(); n != 1 {
		t.Fatalf("New fetched the JWKS %d times, want 1", n)
	}
	if _, err := v.Verify(ctx, tok1); err != nil {
		t.Fatalf("token of the published key: %v", err)
	}

	js.add(k2)
	_, err := v.Verify(ctx, tok2)
	if !errors.Is(err, verifier.ErrInvalidToken) || verifier.Reason(err) != "unknown_key" {
		t.Fatalf("unknown kid within the refetch interval: err %v (reason %s), want unknown_key", err, verifier.Reason(err))
	}
	if n := js.fetches.Load(); n != 1 {
		t.Fatalf("an unknown kid within the refetch interval fetched the JWKS (%d fetches), want no refetch", n)
	}

	offset.Add(int64(31 * time.Second))
	if _, err := v.Verify(ctx, tok2); err != nil {
		t.Fatalf("token of a key added to the JWKS later, after the refetch interval: %v", err)
	}
	if n := js.fetches.Load(); n != 2 {
		t.Errorf("%d JWKS fetches, want 2 (one refetch on the unknown kid)", n)
	}

	js.Close() // sigil is down: the last good set stays
	offset.Add(int64(31 * time.Second))
	_, err = v.Verify(ctx, tok3)
	if !errors.Is(err, verifier.ErrInvalidToken) {
		t.Errorf("unknown kid with the JWKS server down: err %v, want an ErrInvalidToken", err)
	}
	for name, tok := range map[string]string{"first key": tok1, "added key": tok2} {
		if _, err := v.Verify(ctx, tok); err != nil {
			t.Errorf("token of the %s with the JWKS server down: %v", name, err)
		}
	}
}

func TestVerifier_NewErrJWKSDown(t *testing.T) {
	js := newJWKSServer(t, newTestKey(t))
	js.Close()
	if _, err := verifier.New(context.Background(), verifier.Config{JWKSURL: js.jwksURL(), Issuer: testIssuer, Audience: testAudience}); err == nil {
		t.Fatal("New with an unreachable JWKS URL: nil error")
	}
}
