package httpapi_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/sigil-dev/sigil/internal/apperr"
	"github.com/sigil-dev/sigil/internal/clients"
	"github.com/sigil-dev/sigil/internal/httpapi"
	"github.com/sigil-dev/sigil/internal/registry"
	"github.com/sigil-dev/sigil/internal/store/memory"
)

// Clients of the registry fixtures: Informer-style report and app tokens,
// Envizi-style API tokens, and a rival tenant.
const (
	informerID = "informer"
	enviziID   = "envizi"
	rivalID    = "rival"
	// maxFailures is the fixtures' authentication rate limit per window.
	maxFailures = 10
	authWindow  = time.Minute
)

// regFixture is a fixture with the registered-token API: a real memory
// registry store on the fixture's clock, the registry Service with the
// fixture's Issuer and revocation service, a Recorder that tests flush on
// demand, and the auth rate limit counted in the registry store.
type regFixture struct {
	*fixture

	// Options, set before the fixture is built.
	reveal    bool                                  // registry.reveal_tokens
	wrapStore func(*memory.Registry) registry.Store // replaces the registry store

	reg      *memory.Registry
	svc      *registry.Service
	rec      *flushRecorder
	cfg      httpapi.Config // the API's config, for a second instance
	informer string         // client secrets
	envizi   string
	rival    string
}

// regOption configures a regFixture.
type regOption func(*regFixture)

func withReveal() regOption { return func(rf *regFixture) { rf.reveal = true } }

func withRegistryStore(wrap func(*memory.Registry) registry.Store) regOption {
	return func(rf *regFixture) { rf.wrapStore = wrap }
}

// withRegistry is the newAPI option that adds the registry to a fixture:
// rf's parts are filled in while the fixture is built, and when the test
// ends rf checks that no registered JWT leaked.
func withRegistry(rf *regFixture) func(*fixture) {
	return func(f *fixture) {
		prev := f.tweak
		f.tweak = func(cfg *httpapi.Config) {
			if prev != nil {
				prev(cfg)
			}
			rf.reg = memory.NewRegistry(f.clock.Now)
			var st registry.Store = rf.reg
			if rf.wrapStore != nil {
				st = rf.wrapStore(rf.reg)
			}
			var key []byte
			if rf.reveal {
				key = make([]byte, 32)
				_, err := rand.Read(key)
				require.NoError(f.tb, err)
			}
			svc, err := registry.NewService(registry.ServiceConfig{
				Store: st, Issuer: f.issuer, Revoker: f.rev, Sealer: key, Now: f.clock.Now,
			})
			require.NoError(f.tb, err)
			rf.svc = svc
			f.recordCheck.set(registry.NewLiveness(st))
			rf.rec = newFlushRecorder(st)
			cfg.Registry, cfg.RevealTokens, cfg.Recorder = svc, rf.reveal, rf.rec
			cfg.AuthFailures, cfg.AuthMaxFailures, cfg.AuthWindow = st, maxFailures, authWindow
			cfg.Tokens = f.newTokens(svc)
			rf.cfg = *cfg
		}
		f.tb.Cleanup(rf.checkNoJWTLeaks)
	}
}

// newRegAPI builds a fixture with the registry and three more clients:
// informer (report:q3, report:q4, app:analytics), envizi (api:*) and rival
// (report:other, app:other).
func newRegAPI(tb testing.TB, ropts []regOption, opts ...func(*fixture)) *regFixture {
	tb.Helper()
	rf := &regFixture{}
	for _, o := range ropts {
		o(rf)
	}
	opts = append(opts,
		withClient(clients.NewClient{ID: informerID, Resources: []string{"report:q3", "report:q4", "app:analytics"}}, &rf.informer),
		withClient(clients.NewClient{ID: enviziID, Resources: []string{"api:*"}}, &rf.envizi),
		withClient(clients.NewClient{ID: rivalID, Resources: []string{"report:other", "app:other"}}, &rf.rival),
		withRegistry(rf),
	)
	rf.fixture = newAPI(tb, opts...)
	return rf
}

// secretOf is the secret of a fixture client.
func (rf *regFixture) secretOf(id string) string {
	switch id {
	case informerID:
		return rf.informer
	case enviziID:
		return rf.envizi
	case rivalID:
		return rf.rival
	case clients.AdminID:
		return rf.adminSecret
	case dashID:
		return rf.dashSecret
	}
	rf.tb.Fatalf("no client %q", id)
	return ""
}

// as sends method target with body (JSON when non-empty) as client id.
func (rf *regFixture) as(id, method, target, body string) *httptest.ResponseRecorder {
	rf.tb.Helper()
	return rf.asClient(method, target, body, id, rf.secretOf(id))
}

// asFrom is as from the remote address addr.
func (rf *regFixture) asFrom(addr, id, secret, method, target, body string) *httptest.ResponseRecorder {
	rf.tb.Helper()
	r := httptest.NewRequest(method, target, strings.NewReader(body))
	if body != "" {
		r.Header.Set("Content-Type", "application/json")
	}
	r.SetBasicAuth(id, secret)
	r.RemoteAddr = addr
	return rf.serve(r)
}

// serveOn runs r through another handler (a second instance) and records
// the answer like serve.
func (rf *regFixture) serveOn(h http.Handler, r *http.Request) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	rf.mu.Lock()
	defer rf.mu.Unlock()
	rr := &record{method: r.Method, target: r.URL.String(), status: rec.Code,
		header: rec.Header().Clone(), body: bytes.Clone(rec.Body.Bytes())}
	rf.records = append(rf.records, rr)
	rf.byRec[rec] = rr
	return rec
}

// tokenJSON is a token item of the registry API; decoding it with unknown
// fields disallowed shows that nothing else (jti, sealed JWT) is sent.
type tokenJSON struct {
	ID          string     `json:"id"`
	Type        string     `json:"type"`
	Name        string     `json:"name"`
	Owner       string     `json:"owner"`
	ReportID    string     `json:"reportId"`
	AppID       string     `json:"appId"`
	Scopes      []string   `json:"scopes"`
	ReadOnly    bool       `json:"readOnly"`
	Cloud       bool       `json:"cloud"`
	URL         string     `json:"url"`
	Status      string     `json:"status"`
	CreatedAt   time.Time  `json:"createdAt"`
	ExpiresAt   *time.Time `json:"expiresAt"`
	ExpiresIn   string     `json:"expiresIn"`
	RevokedAt   *time.Time `json:"revokedAt"`
	GeneratedAt *time.Time `json:"generatedAt"`
	LastUsedAt  *time.Time `json:"lastUsedAt"`
	CreatedBy   string     `json:"createdBy"`
	TokenHint   string     `json:"tokenHint"`
	Token       string     `json:"token"`
	Links       struct {
		Self struct {
			Href string `json:"href"`
		} `json:"self"`
	} `json:"_links"`
	ScopesPending *bool `json:"scopesPending"`
}

type tokenPageJSON struct {
	Tokens     []tokenJSON `json:"tokens"`
	NextCursor *string     `json:"nextCursor"`
}

type logJSON struct {
	Activity string    `json:"activity"`
	At       time.Time `json:"at"`
	By       string    `json:"by"`
	Result   string    `json:"result"`
}

type logPageJSON struct {
	Logs       []logJSON `json:"logs"`
	NextCursor *string   `json:"nextCursor"`
}

// decodeStrict decodes a JSON answer with status want into v, rejecting unknown fields.
func decodeStrict(tb testing.TB, rec *httptest.ResponseRecorder, want int, v any) {
	tb.Helper()
	require.Equal(tb, want, rec.Code, rec.Body.String())
	requireJSON(tb, rec)
	dec := json.NewDecoder(bytes.NewReader(rec.Body.Bytes()))
	dec.DisallowUnknownFields()
	require.NoError(tb, dec.Decode(v), rec.Body.String())
}

// tokenOf decodes one token item answered with status want, and checks
// what every item carries: no-store, its self link, and a JWT only where
// wantJWT says.
func tokenOf(tb testing.TB, rec *httptest.ResponseRecorder, want int, wantJWT bool) tokenJSON {
	tb.Helper()
	tj := anyTokenOf(tb, rec, want)
	if wantJWT {
		require.NotEmpty(tb, tj.Token, "a generating answer carries the JWT")
		require.Equal(tb, tj.Token[len(tj.Token)-6:], tj.TokenHint)
	} else {
		require.NotContains(tb, rec.Body.String(), `"token"`, "only the generating answer carries the JWT")
	}
	return tj
}

// anyTokenOf is tokenOf without expectations about the JWT.
func anyTokenOf(tb testing.TB, rec *httptest.ResponseRecorder, want int) tokenJSON {
	tb.Helper()
	var tj tokenJSON
	decodeStrict(tb, rec, want, &tj)
	require.Equal(tb, "no-store", rec.Header().Get("Cache-Control"))
	require.Equal(tb, "/api/tokens/"+tj.ID, tj.Links.Self.Href)
	if tj.Token != "" {
		require.Equal(tb, tj.Token[len(tj.Token)-6:], tj.TokenHint)
	}
	return tj
}

// create posts body to /api/tokens as client id and requires a 201.
func (rf *regFixture) create(id, body string, wantJWT bool) tokenJSON {
	rf.tb.Helper()
	rec := rf.as(id, http.MethodPost, "/api/tokens", body)
	tj := tokenOf(rf.tb, rec, http.StatusCreated, wantJWT)
	require.Equal(rf.tb, tj.Links.Self.Href, rec.Header().Get("Location"))
	return tj
}

// generate calls _generate on record id as client id and requires a 200.
func (rf *regFixture) generate(id, recID string) tokenJSON {
	rf.tb.Helper()
	return tokenOf(rf.tb, rf.as(id, http.MethodPost, "/api/tokens/"+recID+"/_generate", ""), http.StatusOK, true)
}

// get reads record recID as client id and requires a 200.
func (rf *regFixture) get(id, recID string) tokenJSON {
	rf.tb.Helper()
	rec := rf.as(id, http.MethodGet, "/api/tokens/"+recID, "")
	if rf.reveal {
		return anyTokenOf(rf.tb, rec, http.StatusOK)
	}
	return tokenOf(rf.tb, rec, http.StatusOK, false)
}

// activity reads the log of recID as client id (one page of up to 200)
// and returns "ACTIVITY RESULT by" lines, newest first.
func (rf *regFixture) activity(id, recID string) []string {
	rf.tb.Helper()
	var page logPageJSON
	decodeStrict(rf.tb, rf.as(id, http.MethodGet, "/api/tokens/"+recID+"/logs?limit=200", ""), http.StatusOK, &page)
	require.Nil(rf.tb, page.NextCursor)
	out := make([]string, len(page.Logs))
	for i, l := range page.Logs {
		out[i] = fmt.Sprintf("%s %s %s", l.Activity, l.Result, l.By)
	}
	return out
}

// flushRecorder is the API's Recorder: a registry.Recorder that tests can
// flush at a point of their choosing. flush closes the current Recorder,
// which writes its buffer, and puts a fresh one in its place.
type flushRecorder struct {
	store registry.UsageStore
	cur   atomic.Pointer[registry.Recorder]
}

func newFlushRecorder(st registry.UsageStore) *flushRecorder {
	fr := &flushRecorder{store: st}
	fr.cur.Store(registry.NewRecorder(st, 10_000, time.Hour))
	return fr
}

func (fr *flushRecorder) Authenticated(tid string, at time.Time, ok bool) {
	fr.cur.Load().Authenticated(tid, at, ok)
}

func (fr *flushRecorder) flush(tb testing.TB) {
	tb.Helper()
	old := fr.cur.Swap(registry.NewRecorder(fr.store, 10_000, time.Hour))
	require.NoError(tb, old.Close(context.Background()))
	require.Zero(tb, old.Dropped())
	require.Zero(tb, old.Lost())
}

// pending is how many events wait in the current Recorder.
func (fr *flushRecorder) pending() int { return fr.cur.Load().Pending() }

// failingRegistry is a registry store whose listings and log reads fail as
// a Redis outage does.
type failingRegistry struct{ *memory.Registry }

func (failingRegistry) ListRecords(context.Context, registry.Filter) ([]registry.Record, string, error) {
	return nil, "", fmt.Errorf("redis: i/o timeout: %w", apperr.ErrStoreUnavailable)
}

func (failingRegistry) ListLogs(context.Context, string, int, string) ([]registry.LogEntry, string, error) {
	return nil, "", fmt.Errorf("redis: i/o timeout: %w", apperr.ErrStoreUnavailable)
}

// isGenerating reports whether r is an answer that hands out a new JWT.
func isGenerating(r *record) bool {
	return r.method == http.MethodPost && r.status < 300 &&
		(r.target == "/api/tokens" || strings.HasSuffix(r.target, "/_generate"))
}

// isRegistryRead reports whether r reads records (with reveal on, these
// may show JWTs again).
func isRegistryRead(r *record) bool {
	if r.method != http.MethodGet || r.status >= 300 {
		return false
	}
	path, _, _ := strings.Cut(r.target, "?")
	if strings.HasSuffix(path, "/logs") {
		return false
	}
	return strings.HasPrefix(path, "/api/tokens") ||
		(strings.HasPrefix(path, "/api/reports/") || strings.HasPrefix(path, "/api/apps/")) && strings.HasSuffix(path, "/tokens")
}

// stripTokens removes every "token" member from the JSON value v, at any depth.
func stripTokens(v any) any {
	switch x := v.(type) {
	case map[string]any:
		delete(x, "token")
		for k, e := range x {
			x[k] = stripTokens(e)
		}
	case []any:
		for i, e := range x {
			x[i] = stripTokens(e)
		}
	}
	return v
}

// checkNoJWTLeaks runs when the test ends. Every JWT a generating answer
// handed out must appear nowhere else: not in another answer's body or
// headers (with reveal on, reads may carry it in "token"), not in the logs.
func (rf *regFixture) checkNoJWTLeaks() {
	tb := rf.tb
	rf.mu.Lock()
	defer rf.mu.Unlock()
	var jwts []string
	for _, r := range rf.records {
		if !isGenerating(r) {
			continue
		}
		var m map[string]any
		if json.Unmarshal(r.body, &m) == nil {
			if tok, _ := m["token"].(string); tok != "" {
				jwts = append(jwts, tok)
			}
		}
	}
	needles := leakNeedles(jwts)
	for _, r := range rf.records {
		body := r.body
		if isGenerating(r) || (rf.reveal && isRegistryRead(r)) {
			var v any
			if json.Unmarshal(body, &v) == nil {
				b, err := json.Marshal(stripTokens(v))
				require.NoError(tb, err)
				body = b
			}
		}
		var hdr strings.Builder
		for k, vs := range r.header {
			fmt.Fprintf(&hdr, "%s: %s\n", k, strings.Join(vs, ", "))
		}
		for _, n := range needles {
			require.NotContains(tb, string(body), n, "%s %s: the body holds a registered JWT", r.method, r.target)
			require.NotContains(tb, hdr.String(), n, "%s %s: a header holds a registered JWT", r.method, r.target)
		}
	}
	logs := rf.fixture.logs.String()
	for _, n := range needles {
		require.NotContains(tb, logs, n, "the logs hold a registered JWT")
	}
}
