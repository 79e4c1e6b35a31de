package verifier_test

import (
	"bytes"
	"context"
	"encoding/base64"
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
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sigil-dev/sigil/internal/keys"
	"github.com/sigil-dev/sigil/internal/testclock"
	"github.com/sigil-dev/sigil/internal/token"
	"github.com/sigil-dev/sigil/pkg/verifier"
	"github.com/sigil-dev/sigil/pkg/verifier/echoverifier"
)

const (
	issuer   = "https://sigil.test"
	audience = "sigil"
	// refetch is the verifiers' RefetchInterval in these tests.
	refetch = 30 * time.Second
)

// start is where every test clock begins: far from the real time, so that a
// verifier reading time.Now instead of Config.Now would reject every token.
var start = time.Date(2031, 5, 6, 7, 8, 9, 0, time.UTC)

// newClock is the injected time source, at start; tests move it, never sleep.
func newClock() *testclock.Clock { return testclock.New(start) }

// newKey generates a key of alg as sigil holds it: kid = RFC 7638 thumbprint.
func newKey(tb testing.TB, alg string) *keys.Key {
	tb.Helper()
	signer, err := keys.Generate(alg)
	require.NoError(tb, err)
	kid, err := keys.Thumbprint(signer.Public())
	require.NoError(tb, err)
	return &keys.Key{KID: kid, Alg: alg, Signer: signer, Public: signer.Public(), CreatedAt: start}
}

// jwks is a JWKS endpoint whose key set a test swaps, which counts its hits
// and can be made to fail.
type jwks struct {
	srv  *httptest.Server
	hits atomic.Int64
	fail atomic.Bool
	set  atomic.Pointer[keys.Set]
}

func newJWKS(tb testing.TB, ks ...*keys.Key) *jwks {
	tb.Helper()
	j := &jwks{}
	j.publish(tb, ks...)
	j.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		j.hits.Add(1)
		if j.fail.Load() {
			http.Error(w, "sigil is down", http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(j.set.Load().JWKS())
	}))
	tb.Cleanup(j.srv.Close)
	return j
}

// publish makes the endpoint serve exactly ks.
func (j *jwks) publish(tb testing.TB, ks ...*keys.Key) {
	tb.Helper()
	set, err := keys.NewSet(ks, "")
	require.NoError(tb, err)
	j.set.Store(set)
}

func (j *jwks) URL() string { return j.srv.URL + "/.well-known/jwks.json" }

// newOfflineVerifier returns a verifier of j's keys on clk.
func newOfflineVerifier(tb testing.TB, j *jwks, clk *testclock.Clock, rev verifier.Revocation) *verifier.Verifier {
	tb.Helper()
	v, err := verifier.New(context.Background(), verifier.Config{
		JWKSURL: j.URL(), Issuer: issuer, Audience: audience,
		Revocation: rev, RefetchInterval: refetch, Now: clk.Now,
	})
	require.NoError(tb, err)
	return v
}

// mint signs an embed token with k, valid for ttl from clk's now.
func mint(tb testing.TB, k *keys.Key, clk *testclock.Clock, ttl time.Duration) string {
	tb.Helper()
	set, err := keys.NewSet([]*keys.Key{k}, "")
	require.NoError(tb, err)
	iss := token.NewIssuer(token.IssuerConfig{Issuer: issuer, Audience: audience, Keys: set, Now: clk.Now})
	c := token.Claims{Kind: token.KindEmbed, DashboardID: "sales", ClientID: "sales", Scope: "dashboard:view"}
	c.Subject = "user-42"
	raw, _, err := iss.Mint(c, ttl)
	require.NoError(tb, err)
	return raw
}

// revocation is a Revocation built from a function.
type revocation func(ctx context.Context, c *verifier.Claims) error

func (f revocation) Check(ctx context.Context, c *verifier.Claims) error { return f(ctx, c) }

// errorBody is the JSON error both middlewares answer with.
type errorBody struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

// checkRejection checks a middleware's refusal: status, JSON error code,
// headers, and no token text in the answer.
func checkRejection(t *testing.T, rec *httptest.ResponseRecorder, status int, code, tok string) {
	t.Helper()
	require.Equal(t, status, rec.Code, "body: %s", rec.Body)
	assert.Equal(t, "application/json", rec.Header().Get("Content-Type"))
	assert.Equal(t, "no-store", rec.Header().Get("Cache-Control"))
	var body errorBody
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &body), "body: %s", rec.Body)
	assert.Equal(t, code, body.Error.Code)
	assert.NotEmpty(t, body.Error.Message)
	switch status {
	case http.StatusUnauthorized:
		www := rec.Header().Get("WWW-Authenticate")
		assert.True(t, strings.HasPrefix(www, `Bearer realm="sigil"`), "WWW-Authenticate: %q", www)
		if code == "invalid_token" {
			assert.Contains(t, www, `error="invalid_token"`)
		}
	case http.StatusServiceUnavailable:
		assert.NotEmpty(t, rec.Header().Get("Retry-After"))
	}
	if tok != "" {
		assert.NotContains(t, rec.Body.String(), tok, "the answer never repeats the token")
		assert.NotContains(t, rec.Header().Get("WWW-Authenticate"), tok)
	}
}

// middlewareCase is one request through a middleware and what it should get.
type middlewareCase struct {
	name   string
	header string // Authorization
	status int
	code   string // error.code when rejected
}

// middlewareCases mints the tokens of the shared table: the clock is moved
// only by the expired case's own verifier, so each case builds its inputs.
func middlewareCases(t *testing.T, k *keys.Key, clk *testclock.Clock) []middlewareCase {
	t.Helper()
	valid := mint(t, k, clk, time.Hour)
	expired := mint(t, k, testclock.New(start.Add(-2*time.Hour)), time.Hour)
	parts := strings.Split(valid, ".")
	// Same header and kid, signed by another key: a forgery.
	other := newKey(t, keys.EdDSA)
	other.KID = k.KID
	forged := mint(t, other, clk, time.Hour)
	// The payload edited (another subject), the signature kept.
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	require.NoError(t, err)
	payload = bytes.Replace(payload, []byte(`"user-42"`), []byte(`"user-43"`), 1)
	tampered := parts[0] + "." + base64.RawURLEncoding.EncodeToString(payload) + "." + parts[2]
	unknownKID := mint(t, newKey(t, keys.EdDSA), clk, time.Hour)
	return []middlewareCase{
		{name: "OK", header: "Bearer " + valid, status: http.StatusOK},
		{name: "OKLowerCaseScheme", header: "bearer " + valid, status: http.StatusOK},
		{name: "ErrMissing", header: "", status: http.StatusUnauthorized, code: "token_required"},
		{name: "ErrBasicScheme", header: "Basic c2FsZXM6c2VjcmV0", status: http.StatusUnauthorized, code: "token_required"},
		{name: "ErrEmptyBearer", header: "Bearer ", status: http.StatusUnauthorized, code: "token_required"},
		{name: "ErrForged", header: "Bearer " + forged, status: http.StatusUnauthorized, code: "invalid_token"},
		{name: "ErrTampered", header: "Bearer " + tampered, status: http.StatusUnauthorized, code: "invalid_token"},
		{name: "ErrExpired", header: "Bearer " + expired, status: http.StatusUnauthorized, code: "invalid_token"},
		{name: "ErrUnknownKID", header: "Bearer " + unknownKID, status: http.StatusUnauthorized, code: "invalid_token"},
		{name: "ErrGarbage", header: "Bearer not.a.jwt", status: http.StatusUnauthorized, code: "invalid_token"},
	}
}

// TestVerifier_HTTPMiddleware drives the net/http middleware: a valid token
// reaches the handler with its claims; others get a 401 JSON error with
// RFC 6750 WWW-Authenticate and never reach it.
func TestVerifier_HTTPMiddleware(t *testing.T) {
	t.Parallel()
	k := newKey(t, keys.EdDSA)
	clk := newClock()
	v := newOfflineVerifier(t, newJWKS(t, k), clk, nil)

	for _, tc := range middlewareCases(t, k, clk) {
		t.Run(tc.name, func(t *testing.T) {
			var got *verifier.Claims
			h := v.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				c, ok := verifier.ClaimsFrom(r.Context())
				require.True(t, ok, "claims in the request context")
				got = c
				w.WriteHeader(http.StatusOK)
			}))
			req := httptest.NewRequest(http.MethodGet, "/reports/1", nil)
			if tc.header != "" {
				req.Header.Set("Authorization", tc.header)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)

			if tc.status == http.StatusOK {
				require.Equal(t, http.StatusOK, rec.Code, "body: %s", rec.Body)
				require.NotNil(t, got)
				assert.Equal(t, "sales", got.DashboardID)
				assert.Equal(t, "user-42", got.Subject)
				assert.Equal(t, token.KindEmbed, got.Kind)
				assert.NotEmpty(t, got.ID)
				return
			}
			assert.Nil(t, got, "the handler is not reached")
			checkRejection(t, rec, tc.status, tc.code, strings.TrimPrefix(tc.header, "Bearer "))
		})
	}
}

// TestVerifier_EchoMiddleware drives the Echo middleware with the same
// table: claims are in c.Get(echoverifier.ContextKey) and in the request context.
func TestVerifier_EchoMiddleware(t *testing.T) {
	t.Parallel()
	k := newKey(t, keys.EdDSA)
	clk := newClock()
	v := newOfflineVerifier(t, newJWKS(t, k), clk, nil)

	for _, tc := range middlewareCases(t, k, clk) {
		t.Run(tc.name, func(t *testing.T) {
			var got, fromCtx *verifier.Claims
			e := echo.New()
			e.Use(echoverifier.Middleware(v))
			e.GET("/reports/:id", func(c echo.Context) error {
				var ok bool
				got, ok = c.Get(echoverifier.ContextKey).(*verifier.Claims)
				require.True(t, ok, "claims under echoverifier.ContextKey")
				fromCtx, ok = verifier.ClaimsFrom(c.Request().Context())
				require.True(t, ok, "claims in the request context")
				return c.String(http.StatusOK, "report")
			})
			req := httptest.NewRequest(http.MethodGet, "/reports/1", nil)
			if tc.header != "" {
				req.Header.Set("Authorization", tc.header)
			}
			rec := httptest.NewRecorder()
			e.ServeHTTP(rec, req)

			if tc.status == http.StatusOK {
				require.Equal(t, http.StatusOK, rec.Code, "body: %s", rec.Body)
				require.NotNil(t, got)
				assert.Same(t, got, fromCtx)
				assert.Equal(t, "sales", got.DashboardID)
				assert.Equal(t, "user-42", got.Subject)
				return
			}
			assert.Nil(t, got, "the handler is not reached")
			checkRejection(t, rec, tc.status, tc.code, strings.TrimPrefix(tc.header, "Bearer "))
		})
	}
}

// TestVerifier_Verify checks Verify's errors directly: the reason labels
// callers see and that every token fault matches ErrInvalidToken.
func TestVerifier_Verify(t *testing.T) {
	t.Parallel()
	k := newKey(t, keys.EdDSA)
	clk := newClock()
	v := newOfflineVerifier(t, newJWKS(t, k), clk, nil)
	ctx := context.Background()

	tok := mint(t, k, clk, time.Minute)
	c, err := v.Verify(ctx, tok)
	require.NoError(t, err)
	assert.Equal(t, issuer, c.Issuer)

	clk.Advance(time.Minute + 29*time.Second)
	_, err = v.Verify(ctx, tok)
	assert.NoError(t, err, "within the default 30s leeway")

	clk.Advance(2 * time.Second)
	_, err = v.Verify(ctx, tok)
	require.ErrorIs(t, err, verifier.ErrInvalidToken)
	assert.Equal(t, "expired", verifier.Reason(err))
}

// TestVerifier_RotationRefetch publishes a new key after the verifier
// started: a token with the new kid verifies once the refetch interval has
// passed since the last fetch; until then the kid is unknown and no fetch
// is made.
func TestVerifier_RotationRefetch(t *testing.T) {
	t.Parallel()
	clk := newClock()
	k1, k2 := newKey(t, keys.EdDSA), newKey(t, keys.ES256)
	j := newJWKS(t, k1)
	v := newOfflineVerifier(t, j, clk, nil)
	ctx := context.Background()
	require.EqualValues(t, 1, j.hits.Load(), "New fetches once")

	j.publish(t, k1, k2) // sigil rotated: k2 signs now
	tok2 := mint(t, k2, clk, time.Hour)

	clk.Advance(refetch - time.Second)
	_, err := v.Verify(ctx, tok2)
	require.ErrorIs(t, err, verifier.ErrInvalidToken)
	assert.Equal(t, "unknown_key", verifier.Reason(err))
	assert.EqualValues(t, 1, j.hits.Load(), "no refetch within the interval of the last fetch")

	clk.Advance(time.Second)
	c, err := v.Verify(ctx, tok2)
	require.NoError(t, err, "the unknown kid triggered a refetch")
	assert.Equal(t, "sales", c.DashboardID)
	assert.EqualValues(t, 2, j.hits.Load())

	// Both keys verify now, without further fetches.
	_, err = v.Verify(ctx, mint(t, k1, clk, time.Hour))
	require.NoError(t, err)
	_, err = v.Verify(ctx, tok2)
	require.NoError(t, err)
	assert.EqualValues(t, 2, j.hits.Load(), "known kids never fetch")

	// sigil drops k1: after the next refetch its tokens are refused.
	j.publish(t, k2)
	tok1 := mint(t, k1, clk, time.Hour)
	_, err = v.Verify(ctx, tok1)
	require.NoError(t, err, "a known kid does not refetch, so k1 is still trusted")
	clk.Advance(refetch)
	_, err = v.Verify(ctx, mint(t, newKey(t, keys.EdDSA), clk, time.Hour)) // any unknown kid refetches
	require.ErrorIs(t, err, verifier.ErrInvalidToken)
	assert.EqualValues(t, 3, j.hits.Load())
	_, err = v.Verify(ctx, tok1)
	require.ErrorIs(t, err, verifier.ErrInvalidToken, "k1 is gone from the refetched set")
	assert.Equal(t, "unknown_key", verifier.Reason(err))
}

// TestVerifier_RefetchRateLimited sends many tokens with random unknown
// kids, concurrently, within one interval: at most one extra JWKS fetch.
func TestVerifier_RefetchRateLimited(t *testing.T) {
	t.Parallel()
	clk := newClock()
	k := newKey(t, keys.EdDSA)
	j := newJWKS(t, k)
	v := newOfflineVerifier(t, j, clk, nil)
	ctx := context.Background()

	const n = 50
	toks := make([]string, n)
	for i := range toks {
		toks[i] = mint(t, newKey(t, keys.EdDSA), clk, time.Hour)
	}
	flood := func() {
		var wg sync.WaitGroup
		for _, tok := range toks {
			wg.Go(func() {
				_, err := v.Verify(ctx, tok)
				assert.ErrorIs(t, err, verifier.ErrInvalidToken)
				assert.Equal(t, "unknown_key", verifier.Reason(err))
			})
		}
		wg.Wait()
	}

	flood()
	assert.EqualValues(t, 1, j.hits.Load(), "within the interval of New's fetch: no fetch at all")

	clk.Advance(refetch)
	flood()
	assert.EqualValues(t, 2, j.hits.Load(), "one interval later: exactly one extra fetch for %d unknown kids", n)

	clk.Advance(refetch / 2)
	flood()
	assert.EqualValues(t, 2, j.hits.Load(), "half an interval later: none")

	_, err := v.Verify(ctx, mint(t, k, clk, time.Hour))
	assert.NoError(t, err, "the known key keeps verifying through the flood")
}

// TestVerifier_JWKSDown keeps verifying tokens of known keys when the JWKS
// endpoint fails (500) and when it is gone altogether.
func TestVerifier_JWKSDown(t *testing.T) {
	t.Parallel()
	clk := newClock()
	k := newKey(t, keys.RS256)
	j := newJWKS(t, k)
	v := newOfflineVerifier(t, j, clk, nil)
	ctx := context.Background()
	tok := mint(t, k, clk, time.Hour)

	j.fail.Store(true)
	clk.Advance(refetch)
	_, err := v.Verify(ctx, mint(t, newKey(t, keys.EdDSA), clk, time.Hour))
	require.ErrorIs(t, err, verifier.ErrInvalidToken, "an unknown kid while the JWKS fails")
	assert.EqualValues(t, 2, j.hits.Load(), "the refetch was tried")
	_, err = v.Verify(ctx, tok)
	require.NoError(t, err, "the last good key set is kept after a failed refetch (500)")

	j.srv.Close()
	clk.Advance(refetch)
	_, err = v.Verify(ctx, mint(t, newKey(t, keys.EdDSA), clk, time.Hour))
	require.ErrorIs(t, err, verifier.ErrInvalidToken, "an unknown kid while the JWKS server is gone")
	c, err := v.Verify(ctx, tok)
	require.NoError(t, err, "the last good key set is kept after a failed refetch (connection refused)")
	assert.Equal(t, "sales", c.DashboardID)

	rec := httptest.NewRecorder()
	req := httptest.NewRequest(http.MethodGet, "/", nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	v.Middleware(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) })).ServeHTTP(rec, req)
	assert.Equal(t, http.StatusNoContent, rec.Code, "the middleware too")
}

// TestVerifier_RevocationCheck consults the configured Revocation for every
// token: revoked is 401, a failing backend is 503 with Retry-After.
func TestVerifier_RevocationCheck(t *testing.T) {
	t.Parallel()
	k := newKey(t, keys.EdDSA)
	clk := newClock()
	j := newJWKS(t, k)
	tok := mint(t, k, clk, time.Hour)

	tests := []struct {
		name   string
		check  func(context.Context, *verifier.Claims) error
		status int
		code   string
		reason string
	}{
		{name: "OK", check: func(context.Context, *verifier.Claims) error { return nil }, status: http.StatusOK, reason: "ok"},
		{name: "ErrRevoked", check: func(context.Context, *verifier.Claims) error { return token.ErrRevoked },
			status: http.StatusUnauthorized, code: "invalid_token", reason: "revoked"},
		{name: "ErrBackend", check: func(context.Context, *verifier.Claims) error { return errors.New("redis: connection refused") },
			status: http.StatusServiceUnavailable, code: "unavailable", reason: "unavailable"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var seen atomic.Pointer[verifier.Claims]
			v := newOfflineVerifier(t, j, clk, revocation(func(ctx context.Context, c *verifier.Claims) error {
				seen.Store(c)
				return tc.check(ctx, c)
			}))
			_, err := v.Verify(context.Background(), tok)
			assert.Equal(t, tc.reason, verifier.Reason(err))
			if tc.status == http.StatusServiceUnavailable {
				assert.NotErrorIs(t, err, verifier.ErrInvalidToken, "a backend failure is not the token's fault")
			}
			require.NotNil(t, seen.Load(), "the revocation check ran")
			assert.NotEmpty(t, seen.Load().ID, "it gets the token's jti")

			reached := false
			h := v.Middleware(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				reached = true
				w.WriteHeader(http.StatusOK)
			}))
			req := httptest.NewRequest(http.MethodGet, "/", nil)
			req.Header.Set("Authorization", "Bearer "+tok)
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if tc.status == http.StatusOK {
				assert.Equal(t, http.StatusOK, rec.Code)
				assert.True(t, reached)
				return
			}
			assert.False(t, reached, "the handler is not reached")
			checkRejection(t, rec, tc.status, tc.code, tok)
			assert.NotContains(t, rec.Body.String(), "redis", "backend detail stays internal")
		})
	}
}

// TestNew checks New's configuration errors and that it needs one good fetch.
func TestNew(t *testing.T) {
	t.Parallel()
	k := newKey(t, keys.EdDSA)
	j := newJWKS(t, k)
	down := newJWKS(t, k)
	down.fail.Store(true)
	notJWKS := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte(`<html>not a key set</html>`))
	}))
	t.Cleanup(notJWKS.Close)
	gone := newJWKS(t, k)
	gone.srv.Close() // connection refused

	tests := []struct {
		name string
		cfg  verifier.Config
	}{
		{name: "ErrNoURL", cfg: verifier.Config{Issuer: issuer, Audience: audience}},
		{name: "ErrNoIssuer", cfg: verifier.Config{JWKSURL: j.URL(), Audience: audience}},
		{name: "ErrNoAudience", cfg: verifier.Config{JWKSURL: j.URL(), Issuer: issuer}},
		{name: "ErrJWKS500", cfg: verifier.Config{JWKSURL: down.URL(), Issuer: issuer, Audience: audience}},
		{name: "ErrNotJWKS", cfg: verifier.Config{JWKSURL: notJWKS.URL, Issuer: issuer, Audience: audience}},
		{name: "ErrJWKSUnreachable", cfg: verifier.Config{JWKSURL: gone.URL(), Issuer: issuer, Audience: audience}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v, err := verifier.New(context.Background(), tc.cfg)
			assert.Error(t, err)
			assert.Nil(t, v)
		})
	}
	t.Run("OK", func(t *testing.T) {
		_, err := verifier.New(context.Background(), verifier.Config{JWKSURL: j.URL(), Issuer: issuer, Audience: audience})
		require.NoError(t, err)
	})
}

// TestVerifier_OverlongEmbedTokenRefused: the offline verifier applies the
// same lifetime bound as sigil's /verify (issue 12 A8): an embed token
// signed with a published key but living longer than the maximum (a
// leaked key, a buggy minting path) is refused; MaxEmbedLifetime follows
// a deployment's tokens.embed_max_expiry.
func TestVerifier_OverlongEmbedTokenRefused(t *testing.T) {
	k := newKey(t, keys.EdDSA)
	j := newJWKS(t, k)
	clk := newClock()
	v := newOfflineVerifier(t, j, clk, nil)
	_, err := v.Verify(context.Background(), mint(t, k, clk, 10*365*24*time.Hour))
	require.ErrorIs(t, err, verifier.ErrInvalidToken)
	require.Equal(t, "claims", verifier.Reason(err))
	_, err = v.Verify(context.Background(), mint(t, k, clk, 36*time.Hour))
	require.ErrorIs(t, err, verifier.ErrInvalidToken, "over the 24h default")
	_, err = v.Verify(context.Background(), mint(t, k, clk, 24*time.Hour))
	require.NoError(t, err)

	long, err := verifier.New(context.Background(), verifier.Config{
		JWKSURL: j.URL(), Issuer: issuer, Audience: audience, Now: clk.Now, MaxEmbedLifetime: 48 * time.Hour,
	})
	require.NoError(t, err)
	_, err = long.Verify(context.Background(), mint(t, k, clk, 36*time.Hour))
	require.NoError(t, err)
	_, err = long.Verify(context.Background(), mint(t, k, clk, 49*time.Hour))
	require.ErrorIs(t, err, verifier.ErrInvalidToken)
}

// TestVerifier_RetryAfter: a 503 of the middleware says Config.RetryAfter
// (whole seconds, rounded up), from the same table as sigil's server.
func TestVerifier_RetryAfter(t *testing.T) {
	t.Parallel()
	k := newKey(t, keys.EdDSA)
	clk := newClock()
	v, err := verifier.New(context.Background(), verifier.Config{
		JWKSURL: newJWKS(t, k).URL(), Issuer: issuer, Audience: audience, Now: clk.Now, RetryAfter: 2500 * time.Millisecond,
		Revocation: revocation(func(context.Context, *verifier.Claims) error { return errors.New("redis: connection refused") }),
	})
	require.NoError(t, err)
	req := httptest.NewRequest(http.MethodGet, "/", nil)
	req.Header.Set("Authorization", "Bearer "+mint(t, k, clk, time.Hour))
	rec := httptest.NewRecorder()
	v.Middleware(http.NotFoundHandler()).ServeHTTP(rec, req)
	checkRejection(t, rec, http.StatusServiceUnavailable, "unavailable", "")
	assert.Equal(t, "3", rec.Header().Get("Retry-After"))
}
