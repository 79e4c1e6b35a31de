package httpapi_test

import (
	"bytes"
	"context"
	"crypto"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/stretchr/testify/require"

	"github.com/sigil-dev/sigil/internal/clients"
	"github.com/sigil-dev/sigil/internal/embed"
	"github.com/sigil-dev/sigil/internal/httpapi"
	"github.com/sigil-dev/sigil/internal/keys"
	"github.com/sigil-dev/sigil/internal/revocation"
	"github.com/sigil-dev/sigil/internal/store/memory"
	"github.com/sigil-dev/sigil/internal/testclock"
	"github.com/sigil-dev/sigil/internal/token"
	"github.com/sigil-dev/sigil/test/testproc"
)

const (
	testIssuer   = "https://sigil.test"
	testAudience = "sigil-test"
	// dashID is the pre-created dashboard client of every fixture.
	dashID = "sales"
	// testLeeway is the verifier's clock leeway.
	testLeeway = 30 * time.Second
	// retryAfter is the configured Retry-After of 503 answers.
	retryAfter = 2 * time.Second
)

// epoch is where every fixture's clock starts: far from the real time, so
// that anything reading time.Now instead of the injected clock shows up.
var epoch = time.Date(2031, 5, 6, 7, 8, 9, 0, time.UTC)

// signers caches one generated private key per algorithm for the test
// binary (RSA generation is slow); each fixture writes them into its own
// TempDir and loads them back from there.
var signers = struct {
	mu sync.Mutex
	m  map[string]crypto.Signer
}{m: map[string]crypto.Signer{}}

func testSigner(tb testing.TB, alg string) crypto.Signer {
	tb.Helper()
	signers.mu.Lock()
	defer signers.mu.Unlock()
	if s, ok := signers.m[alg]; ok {
		return s
	}
	s, err := keys.Generate(alg)
	require.NoError(tb, err)
	signers.m[alg] = s
	return s
}

// hsSecret is the HS256 shared secret of the fixtures that load one.
var hsSecret = func() []byte {
	b := make([]byte, 48)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return b
}()

// apiStore is what the fixture's services need of a store.
type apiStore interface {
	clients.Store
	revocation.Store
}

// failingDenyStore is a memory store whose denylist cannot be written: the
// Redis-is-down case of DESIGN §5.
type failingDenyStore struct{ *memory.Store }

func (failingDenyStore) Deny(context.Context, string, time.Time) error {
	return fmt.Errorf("redis: connection refused: %w", revocation.ErrUnavailable)
}

func (failingDenyStore) DenyOnce(context.Context, string, time.Time) (bool, error) {
	return false, fmt.Errorf("redis: connection refused: %w", revocation.ErrUnavailable)
}

// panickingStore is a memory store whose denylist lookup panics.
type panickingStore struct{ *memory.Store }

func (panickingStore) IsDenied(context.Context, ...string) (bool, error) {
	panic("store exploded")
}

// gateStore is a memory store whose first two denylist lookups wait for
// each other (or for their request's deadline) before answering: two
// requests racing on one token both read the denylist before either goes on.
type gateStore struct {
	*memory.Store
	n    *atomic.Int32
	both chan struct{}
}

func newGateStore(m *memory.Store) gateStore {
	return gateStore{Store: m, n: new(atomic.Int32), both: make(chan struct{})}
}

func (g gateStore) IsDenied(ctx context.Context, ids ...string) (bool, error) {
	denied, err := g.Store.IsDenied(ctx, ids...)
	switch g.n.Add(1) {
	case 1:
		select {
		case <-g.both:
		case <-ctx.Done():
		}
	case 2:
		close(g.both)
	}
	return denied, err
}

// record is one request the fixture served and what it answered.
type record struct {
	method, target string
	status         int
	header         http.Header
	body           []byte
	// serverErrorOK marks a deliberate 5xx (failing store, failing check).
	serverErrorOK bool
}

// fixture is a fully wired API on real parts: memory store, generated keys
// loaded from a TempDir, the clients and revocation services, the token
// Issuer and Verifier, and an injected clock.
type fixture struct {
	tb testing.TB

	// Options, set by the opts of newAPI before anything is built.
	activeAlg string                                // signing key's alg; EdDSA by default
	hsOnly    bool                                  // the key set is one HS256 secret
	noHS      bool                                  // leave the HS256 secret out of the set
	wrapStore func(*memory.Store) apiStore          // replaces the store the services use
	ready     []httpapi.Check                       // readiness checks
	tweak     func(*httpapi.Config)                 // last word on the API config
	embedCfg  func(*embed.Config)                   // last word on the embed service's config
	seed      func(f *fixture, ctx context.Context) // extra clients etc.

	h http.Handler
	// records is the verifier's record check, set by withRegistry (none
	// without the registry, so tokens minted directly need no record).
	recordCheck lateRecords
	clock       *testclock.Clock
	set         *keys.Set
	keyByAlg    map[string]*keys.Key
	mem         *memory.Store
	clients     *clients.Service
	issuer      *token.Issuer
	verifier    *token.Verifier
	rev         *revocation.Service
	pepper      []byte
	adminSecret string
	dashSecret  string
	logs        *testproc.Buffer

	mu      sync.Mutex
	records []*record
	byRec   map[*httptest.ResponseRecorder]*record
	// tokens and secrets must never show up where they don't belong (see checkLeaks).
	tokens  []string
	secrets []string
}

// Options of newAPI.

func withActive(alg string) func(*fixture) { return func(f *fixture) { f.activeAlg = alg } }

func withOnlyHS256() func(*fixture) { return func(f *fixture) { f.hsOnly = true } }

func withStore(wrap func(*memory.Store) apiStore) func(*fixture) {
	return func(f *fixture) { f.wrapStore = wrap }
}

func withReady(checks ...httpapi.Check) func(*fixture) {
	return func(f *fixture) { f.ready = append(f.ready, checks...) }
}

// withClient pre-creates one more client; its secret lands in *secret.
func withClient(in clients.NewClient, secret *string) func(*fixture) {
	return func(f *fixture) {
		prev := f.seed
		f.seed = func(f *fixture, ctx context.Context) {
			if prev != nil {
				prev(f, ctx)
			}
			_, s, err := f.clients.Create(ctx, in)
			require.NoError(f.tb, err)
			*secret = s
			f.secrets = append(f.secrets, s)
		}
	}
}

// newAPI builds a fixture: by default an EdDSA signing key, ES256 and RS256
// keys that still verify, an HS256 secret (never the active key), the
// bootstrap admin client and the dashboard client "sales" (resources
// ["dashboard:sales"]). When the test ends it checks that no response was a
// 5xx unless marked deliberate, and that no token or secret leaked.
func newAPI(tb testing.TB, opts ...func(*fixture)) *fixture {
	tb.Helper()
	f := &fixture{
		tb:        tb,
		activeAlg: keys.EdDSA,
		clock:     testclock.New(epoch),
		logs:      &testproc.Buffer{},
		byRec:     map[*httptest.ResponseRecorder]*record{},
		keyByAlg:  map[string]*keys.Key{},
	}
	for _, o := range opts {
		o(f)
	}

	// Keys: generated (once per binary), written into this test's TempDir
	// with the real writer and loaded back with the real loader.
	var all []*keys.Key
	if !f.hsOnly {
		dir := tb.TempDir()
		for _, alg := range []string{keys.EdDSA, keys.ES256, keys.RS256} {
			_, _, err := keys.WritePEM(dir, testSigner(tb, alg))
			require.NoError(tb, err)
		}
		loaded, err := keys.LoadDir(dir)
		require.NoError(tb, err)
		require.Len(tb, loaded, 3)
		all = append(all, loaded...)
	}
	if f.hsOnly || !f.noHS {
		k, err := keys.SecretKey(hsSecret)
		require.NoError(tb, err)
		all = append(all, k)
	}
	for _, k := range all {
		f.keyByAlg[k.Alg] = k
	}
	active := keys.HS256
	if !f.hsOnly {
		active = f.activeAlg
	}
	require.Contains(tb, f.keyByAlg, active)
	set, err := keys.NewSet(all, f.keyByAlg[active].KID)
	require.NoError(tb, err)
	f.set = set
	ring, err := keys.NewRing(func() (*keys.Set, error) { return set, nil })
	require.NoError(tb, err)

	f.mem = memory.New(f.clock.Now)
	var st apiStore = f.mem
	if f.wrapStore != nil {
		st = f.wrapStore(f.mem)
	}
	f.pepper = []byte("test-pepper-0123456789abcdef0123")
	f.clients = clients.NewService(clients.ServiceConfig{
		Store: st, Pepper: f.pepper, MaxTokenExpiry: 86400, Now: f.clock.Now,
	})
	f.rev = revocation.NewService(st, testLeeway, f.clock.Now)
	f.issuer = token.NewIssuer(token.IssuerConfig{Issuer: testIssuer, Audience: testAudience, Keys: ring, Now: f.clock.Now})
	f.verifier = token.NewVerifier(token.VerifierConfig{
		Issuer: testIssuer, Audience: testAudience, Keys: ring, Revocation: f.rev, Leeway: testLeeway, Now: f.clock.Now,
		CacheSize: 1024, // on, as in production: a cache hit must never skip revocation or expiry
		Records:   &f.recordCheck,
	})

	ctx := context.Background()
	f.adminSecret = "admin-" + randomString(tb)
	require.NoError(tb, f.clients.EnsureAdmin(ctx, f.adminSecret))
	_, f.dashSecret, err = f.clients.Create(ctx, clients.NewClient{
		ID: dashID, Name: "Sales dashboard", Resources: []string{"dashboard:" + dashID},
	})
	require.NoError(tb, err)
	f.secrets = append(f.secrets, f.adminSecret, f.dashSecret)
	if f.seed != nil {
		f.seed(f, ctx)
	}

	cfg := httpapi.Config{
		Issuer: testIssuer, Verifier: f.verifier, Clients: f.clients, Keys: ring,
		Ready:      f.ready,
		RetryAfter: retryAfter, StoreTimeout: 5 * time.Second,
		Logger: slog.New(slog.NewJSONHandler(f.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Now:    f.clock.Now,
	}
	if f.tweak != nil {
		f.tweak(&cfg)
	}
	if cfg.Tokens == nil {
		cfg.Tokens = f.newTokens(nil)
	}
	f.h = httpapi.New(cfg)
	tb.Cleanup(f.checkRecords)
	return f
}

// newTokens builds the embed service on the fixture's parts, with reg (may
// be nil) revoking presented registered tokens.
func (f *fixture) newTokens(reg embed.Registry) httpapi.Tokens {
	f.tb.Helper()
	cfg := embed.Config{
		Minter: f.issuer, Verifier: f.verifier, Revoker: f.rev, Clients: f.clients, Registry: reg,
		DefaultTTL: time.Hour, MaxTTL: 24 * time.Hour, Now: f.clock.Now,
	}
	if f.embedCfg != nil {
		f.embedCfg(&cfg)
	}
	svc, err := embed.New(cfg)
	require.NoError(f.tb, err)
	return svc
}

// withEmbed adds fn to the fixture's last word on the embed service's config.
func withEmbed(fn func(*embed.Config)) func(*fixture) {
	return func(f *fixture) {
		prev := f.embedCfg
		f.embedCfg = func(c *embed.Config) {
			if prev != nil {
				prev(c)
			}
			fn(c)
		}
	}
}

// lateRecords is a token.Records set after the verifier is built; until
// then every registered token passes.
type lateRecords struct{ r atomic.Pointer[token.Records] }

func (l *lateRecords) set(r token.Records) { l.r.Store(&r) }

func (l *lateRecords) CheckRecord(ctx context.Context, c *token.Claims) error {
	if r := l.r.Load(); r != nil {
		return (*r).CheckRecord(ctx, c)
	}
	return nil
}

func randomString(tb testing.TB) string {
	tb.Helper()
	b := make([]byte, 16)
	_, err := rand.Read(b)
	require.NoError(tb, err)
	return hex.EncodeToString(b)
}

// serve runs one request through the handler and records the answer.
func (f *fixture) serve(r *http.Request) *httptest.ResponseRecorder {
	f.tb.Helper()
	rec := httptest.NewRecorder()
	f.h.ServeHTTP(rec, r)
	f.mu.Lock()
	defer f.mu.Unlock()
	rr := &record{
		method: r.Method, target: r.URL.String(), status: rec.Code,
		header: rec.Header().Clone(), body: bytes.Clone(rec.Body.Bytes()),
	}
	f.records = append(f.records, rr)
	f.byRec[rec] = rr
	return rec
}

// do sends method target with a raw body (may be empty) and header pairs.
func (f *fixture) do(method, target, body string, header ...string) *httptest.ResponseRecorder {
	f.tb.Helper()
	require.Zero(f.tb, len(header)%2, "header pairs")
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	r := httptest.NewRequest(method, target, rd)
	for i := 0; i < len(header); i += 2 {
		r.Header.Set(header[i], header[i+1])
	}
	return f.serve(r)
}

// postJSON posts body (a string is sent as is, anything else is encoded).
func (f *fixture) postJSON(target string, body any, header ...string) *httptest.ResponseRecorder {
	f.tb.Helper()
	raw, ok := body.(string)
	if !ok {
		b, err := json.Marshal(body)
		require.NoError(f.tb, err)
		raw = string(b)
	}
	return f.do(http.MethodPost, target, raw, append([]string{"Content-Type", "application/json"}, header...)...)
}

// postForm posts an urlencoded form with HTTP Basic id:secret (none if id is "").
func (f *fixture) postForm(target string, form url.Values, id, secret string) *httptest.ResponseRecorder {
	f.tb.Helper()
	r := httptest.NewRequest(http.MethodPost, target, strings.NewReader(form.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if id != "" {
		r.SetBasicAuth(id, secret)
	}
	return f.serve(r)
}

// asClient sends a request with HTTP Basic id:secret.
func (f *fixture) asClient(method, target, body, id, secret string) *httptest.ResponseRecorder {
	f.tb.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	r := httptest.NewRequest(method, target, rd)
	if body != "" {
		r.Header.Set("Content-Type", "application/json")
	}
	r.SetBasicAuth(id, secret)
	return f.serve(r)
}

func (f *fixture) asAdmin(method, target, body string) *httptest.ResponseRecorder {
	f.tb.Helper()
	return f.asClient(method, target, body, clients.AdminID, f.adminSecret)
}

// bearer sends method target with Authorization: Bearer tok.
func (f *fixture) bearer(method, target, tok string) *httptest.ResponseRecorder {
	f.tb.Helper()
	return f.do(method, target, "", "Authorization", "Bearer "+tok)
}

// revokeAsAdmin revokes tok through RFC 7009 as the admin client (a
// registered token cannot be revoked by presenting it to invalidate-token).
func (f *fixture) revokeAsAdmin(tok string) *httptest.ResponseRecorder {
	f.tb.Helper()
	return f.postForm("/api/v1/revoke", url.Values{"token": {tok}}, clients.AdminID, f.adminSecret)
}

// verify is forward-auth with a Bearer token.
func (f *fixture) verify(tok string) *httptest.ResponseRecorder {
	f.tb.Helper()
	return f.bearer(http.MethodGet, "/api/v1/verify", tok)
}

// expectServerError marks rec's answer as a deliberate 5xx.
func (f *fixture) expectServerError(rec *httptest.ResponseRecorder) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if r, ok := f.byRec[rec]; ok {
		r.serverErrorOK = true
	}
}

// track registers a token whose text must not appear in any answer other
// than the accessToken of the mint or refresh that issued it.
func (f *fixture) track(tok string) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.tokens = append(f.tokens, tok)
	return tok
}

// tokenResp is the body of a successful mint or refresh.
type tokenResp struct {
	AccessToken string    `json:"accessToken"`
	TokenType   string    `json:"tokenType"`
	ExpiresIn   int64     `json:"expiresIn"`
	ExpiresAt   time.Time `json:"expiresAt"`
}

// mintBody is the default mint request of the sales dashboard, with extra
// members merged in (a nil value deletes a member).
func (f *fixture) mintBody(extra map[string]any) map[string]any {
	b := map[string]any{"dashboardId": dashID, "dashboardSecret": f.dashSecret}
	for k, v := range extra {
		if v == nil {
			delete(b, k)
			continue
		}
		b[k] = v
	}
	return b
}

// mint mints through POST /api/v1/token and requires a 200.
func (f *fixture) mint(extra map[string]any) tokenResp {
	f.tb.Helper()
	rec := f.postJSON("/api/v1/token", f.mintBody(extra))
	return f.tokenOK(rec)
}

// tokenOK checks a 200 mint/refresh answer and returns it.
func (f *fixture) tokenOK(rec *httptest.ResponseRecorder) tokenResp {
	f.tb.Helper()
	require.Equal(f.tb, http.StatusOK, rec.Code, rec.Body.String())
	requireJSON(f.tb, rec)
	require.Equal(f.tb, "no-store", rec.Header().Get("Cache-Control"))
	var tr tokenResp
	dec := json.NewDecoder(bytes.NewReader(rec.Body.Bytes()))
	dec.DisallowUnknownFields()
	require.NoError(f.tb, dec.Decode(&tr))
	require.NotEmpty(f.tb, tr.AccessToken)
	require.Equal(f.tb, "Bearer", tr.TokenType)
	f.track(tr.AccessToken)
	return tr
}

// mintDirect mints with the Issuer itself (for kinds the HTTP API does not mint yet).
func (f *fixture) mintDirect(c token.Claims, ttl time.Duration) string {
	f.tb.Helper()
	raw, _, err := f.issuer.Mint(c, ttl)
	require.NoError(f.tb, err)
	return f.track(raw)
}

// Hand-built tokens.

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

// forge assembles header.payload (both written by the test, as JSON text)
// and signs them with method alg and key.
func (f *fixture) forge(header, payload, alg string, key any) string {
	f.tb.Helper()
	si := b64([]byte(header)) + "." + b64([]byte(payload))
	m := jwt.GetSigningMethod(alg)
	require.NotNil(f.tb, m, alg)
	sig, err := m.Sign(si, key)
	require.NoError(f.tb, err)
	return f.track(si + "." + b64(sig))
}

// signAs signs header and payload with the fixture's key of alg.
func (f *fixture) signAs(alg, header, payload string) string {
	f.tb.Helper()
	k := f.keyByAlg[alg]
	require.NotNil(f.tb, k, alg)
	return f.forge(header, payload, alg, k.SigningKey())
}

// hdr is a header for the fixture's key of alg, with extra members (raw JSON, leading comma).
func (f *fixture) hdr(alg, extra string) string {
	return fmt.Sprintf(`{"alg":%q,"kid":%q,"typ":"JWT"%s}`, alg, f.keyByAlg[alg].KID, extra)
}

// claims is a valid embed payload for the sales dashboard at the current
// time, with mods applied (a nil value deletes a claim).
func (f *fixture) claims(mods map[string]any) map[string]any {
	now := f.clock.Now().Unix()
	c := map[string]any{
		"iss": testIssuer, "aud": testAudience, "sub": "user-1", "jti": randomString(f.tb),
		"iat": now, "nbf": now, "exp": now + 3600,
		"tt": "embed", "scope": "dashboard:view", "client_id": dashID, "dashboardId": dashID,
	}
	for k, v := range mods {
		if v == nil {
			delete(c, k)
			continue
		}
		c[k] = v
	}
	return c
}

// payload is claims(mods) as JSON text.
func (f *fixture) payload(mods map[string]any) string {
	f.tb.Helper()
	b, err := json.Marshal(f.claims(mods))
	require.NoError(f.tb, err)
	return string(b)
}

// genuine is a valid token signed by the active key, with mods.
func (f *fixture) genuine(mods map[string]any) string {
	f.tb.Helper()
	alg := f.set.Active().Alg
	return f.signAs(alg, f.hdr(alg, ""), f.payload(mods))
}

// segments splits a compact token.
func segments(tb testing.TB, tok string) (h, p, s string) {
	tb.Helper()
	parts := strings.Split(tok, ".")
	require.Len(tb, parts, 3)
	return parts[0], parts[1], parts[2]
}

// decodePart decodes a base64url JSON segment into a map.
func decodePart(tb testing.TB, seg string) map[string]any {
	tb.Helper()
	b, err := base64.RawURLEncoding.DecodeString(seg)
	require.NoError(tb, err)
	var m map[string]any
	require.NoError(tb, json.Unmarshal(b, &m))
	return m
}

// Assertions.

// errBody is the one error shape.
type errBody struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
		Field   string `json:"field"`
	} `json:"error"`
}

func requireJSON(tb testing.TB, rec *httptest.ResponseRecorder) {
	tb.Helper()
	mt, _, err := mime.ParseMediaType(rec.Header().Get("Content-Type"))
	require.NoError(tb, err, "Content-Type %q", rec.Header().Get("Content-Type"))
	require.Equal(tb, "application/json", mt)
}

// requireError checks status, the JSON error shape (nothing more, nothing
// less), code, field, a message, and Cache-Control: no-store.
func requireError(tb testing.TB, rec *httptest.ResponseRecorder, status int, code, field string) errBody {
	tb.Helper()
	require.Equal(tb, status, rec.Code, "body: %s", rec.Body.String())
	requireJSON(tb, rec)
	require.Equal(tb, "no-store", rec.Header().Get("Cache-Control"))
	var raw map[string]map[string]any
	require.NoError(tb, json.Unmarshal(rec.Body.Bytes(), &raw), rec.Body.String())
	require.Len(tb, raw, 1, rec.Body.String())
	for k := range raw["error"] {
		require.Contains(tb, []string{"code", "message", "field"}, k, rec.Body.String())
	}
	var e errBody
	dec := json.NewDecoder(bytes.NewReader(rec.Body.Bytes()))
	dec.DisallowUnknownFields()
	require.NoError(tb, dec.Decode(&e))
	require.Equal(tb, code, e.Error.Code, rec.Body.String())
	require.Equal(tb, field, e.Error.Field, rec.Body.String())
	require.NotEmpty(tb, e.Error.Message)
	return e
}

// Public descriptions of token rejections (error_description and message).
const (
	descMalformed   = "the token is malformed"
	descHeader      = "the token header is not acceptable"
	descUnknownKey  = "the token was not signed by a known key"
	descSignature   = "the token signature is invalid"
	descExpired     = "the token has expired"
	descNotYetValid = "the token is not valid yet"
	descIssuer      = "the token was issued by another issuer"
	descAudience    = "the token is not meant for this audience"
	descClaims      = "the token claims are not acceptable"
	descRevoked     = "the token has been revoked"
)

// requireInvalidToken checks a 401 invalid_token with its RFC 6750 challenge.
func requireInvalidToken(tb testing.TB, rec *httptest.ResponseRecorder, desc string) {
	tb.Helper()
	e := requireError(tb, rec, http.StatusUnauthorized, "invalid_token", "")
	require.Equal(tb,
		fmt.Sprintf(`Bearer realm="sigil", error="invalid_token", error_description=%q`, desc),
		rec.Header().Get("WWW-Authenticate"))
	require.Equal(tb, desc, e.Error.Message)
}

// requireClientUnauthorized checks the 401 of failed client authentication.
func requireClientUnauthorized(tb testing.TB, rec *httptest.ResponseRecorder) {
	tb.Helper()
	requireError(tb, rec, http.StatusUnauthorized, "unauthorized", "")
	require.Equal(tb, `Basic realm="sigil"`, rec.Header().Get("WWW-Authenticate"))
}

// checkRecords runs when the test ends, over every answer the fixture gave.
func (f *fixture) checkRecords() {
	tb := f.tb
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, r := range f.records {
		if !r.serverErrorOK {
			require.Less(tb, r.status, 500, "%s %s answered %d: %s", r.method, r.target, r.status, r.body)
		}
		f.checkLeaks(r)
	}
	logs := f.logs.String()
	for _, s := range append(leakNeedles(f.tokens), f.secrets...) {
		require.NotContains(tb, logs, s, "the logs hold a token or secret")
	}
}

// checkLeaks fails if an answer holds the text of a token anywhere but in
// the accessToken of a mint or refresh.
func (f *fixture) checkLeaks(r *record) {
	tb := f.tb
	body := r.body
	var m map[string]any
	if json.Unmarshal(body, &m) == nil {
		if _, ok := m["accessToken"]; ok {
			delete(m, "accessToken")
			b, err := json.Marshal(m)
			require.NoError(tb, err)
			body = b
		}
	}
	var hdr strings.Builder
	for k, vs := range r.header {
		fmt.Fprintf(&hdr, "%s: %s\n", k, strings.Join(vs, ", "))
	}
	for _, n := range leakNeedles(f.tokens) {
		require.NotContains(tb, string(body), n, "%s %s: the body holds a token", r.method, r.target)
		require.NotContains(tb, hdr.String(), n, "%s %s: a header holds a token", r.method, r.target)
	}
}

// leakNeedles are the distinctive parts of tokens: the whole text, the
// signature segment, and its first and last 32 characters (a truncated
// token is still a leak).
func leakNeedles(toks []string) []string {
	const frag = 32
	var out []string
	for _, t := range toks {
		if len(t) < 24 || strings.Trim(t, ".") == "" {
			continue
		}
		out = append(out, t)
		i := strings.LastIndexByte(t, '.')
		if i < 0 {
			continue
		}
		if sig := t[i+1:]; len(sig) >= 2*frag {
			out = append(out, sig[:frag], sig[len(sig)-frag:])
		} else if len(sig) > 24 {
			out = append(out, sig)
		}
	}
	return out
}

// secretHashes are the stored forms of a client secret, which must never
// be shown either.
func (f *fixture) secretHashes(secret string) []string {
	m := hmac.New(sha256.New, f.pepper)
	m.Write([]byte(secret))
	sum := m.Sum(nil)
	return []string{
		base64.StdEncoding.EncodeToString(sum), base64.RawStdEncoding.EncodeToString(sum),
		base64.RawURLEncoding.EncodeToString(sum), hex.EncodeToString(sum),
	}
}
