package verifier_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/stretchr/testify/require"

	"github.com/sigil-dev/sigil/internal/clients"
	"github.com/sigil-dev/sigil/internal/embed"
	"github.com/sigil-dev/sigil/internal/httpapi"
	"github.com/sigil-dev/sigil/internal/keys"
	"github.com/sigil-dev/sigil/internal/policy"
	"github.com/sigil-dev/sigil/internal/registry"
	revstore "github.com/sigil-dev/sigil/internal/revocation"
	redisstore "github.com/sigil-dev/sigil/internal/store/redis"
	"github.com/sigil-dev/sigil/internal/token"
	"github.com/sigil-dev/sigil/pkg/verifier"
	"github.com/sigil-dev/sigil/test/redisserver"
)

const (
	parityIssuer   = "https://sigil.parity.test"
	parityAudience = "sigil-parity"
	parityPrefix   = "parity:"
)

// parityGateway is the policy configuration both sides get.
var parityGateway = policy.Config{
	AppAPIWhitelist: map[string][]string{"A": {"/datasets/*"}},
	APIRoutes:       map[string]string{"/api/meta/**": "meta:read", "/api/reports/**": "report:read"},
}

// parity is a sigil API server and an offline verifier over the same keys
// and the same real Redis, with one fixed clock.
type parity struct {
	now     time.Time
	set     *keys.Set
	server  *httptest.Server
	replica *revstore.Replica
	records *redisstore.Store // sigil's registry records, in the same Redis
	ids     int
	v       *verifier.Verifier
}

func newParity(t *testing.T) *parity {
	t.Helper()
	p := &parity{now: time.Now().UTC().Truncate(time.Second)}
	now := func() time.Time { return p.now }
	dir := t.TempDir()
	for _, alg := range []string{keys.EdDSA, keys.ES256, keys.RS256} {
		s, err := keys.Generate(alg)
		require.NoError(t, err)
		_, _, err = keys.WritePEM(dir, s)
		require.NoError(t, err)
	}
	loaded, err := keys.LoadDir(dir)
	require.NoError(t, err)
	var active string
	for _, k := range loaded {
		if k.Alg == keys.EdDSA {
			active = k.KID
		}
	}
	p.set, err = keys.NewSet(loaded, active)
	require.NoError(t, err)
	ring, err := keys.NewRing(func() (*keys.Set, error) { return p.set, nil })
	require.NoError(t, err)

	rds := redisserver.Start(t)
	client, err := redisstore.NewClient(rds.URL())
	require.NoError(t, err)
	t.Cleanup(func() { _ = client.Close() })
	st := redisstore.New(client, parityPrefix, redisstore.WithNow(now))
	p.records = st
	p.replica = revstore.NewReplica(revstore.ReplicaConfig{Store: st, Leeway: 30 * time.Second, Now: now})
	require.NoError(t, p.replica.Sync(context.Background()))
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); p.replica.Run(ctx) }()
	t.Cleanup(func() { cancel(); wg.Wait() })

	pol, err := policy.New(parityGateway)
	require.NoError(t, err)
	iss := token.NewIssuer(token.IssuerConfig{Issuer: parityIssuer, Audience: parityAudience, Keys: ring, Now: now})
	ver := token.NewVerifier(token.VerifierConfig{
		Issuer: parityIssuer, Audience: parityAudience, Keys: ring, Revocation: p.replica, Now: now, CacheSize: 1024,
		Records: registry.NewLiveness(st),
	})
	cls := clients.NewService(clients.ServiceConfig{Store: st, Pepper: []byte("parity-pepper-0123456789abcdef01"), Now: now})
	tokens, err := embed.New(embed.Config{Minter: iss, Verifier: ver, Revoker: p.replica, Clients: cls, Now: now})
	require.NoError(t, err)
	api := httpapi.New(httpapi.Config{
		Issuer: parityIssuer, Verifier: ver, Tokens: tokens, Clients: cls,
		Keys: ring, Now: now, Policy: pol,
	})
	p.server = httptest.NewServer(api)
	t.Cleanup(p.server.Close)

	// The same gateway values, through the verifier's own configuration type.
	pc := verifier.PolicyConfig{DashboardPrefix: parityGateway.DashboardPrefix, AppAPIWhitelist: parityGateway.AppAPIWhitelist, APIRoutes: parityGateway.APIRoutes}
	p.v, err = verifier.New(context.Background(), verifier.Config{
		JWKSURL: p.server.URL + "/.well-known/jwks.json", Issuer: parityIssuer, Audience: parityAudience, Now: now,
		Redis:  verifier.RedisConfig{Client: client, Prefix: parityPrefix},
		Policy: &pc,
	})
	require.NoError(t, err)
	t.Cleanup(p.v.Close)
	return p
}

// mint signs c with the set's key of alg, issued at iat, as issuer iss for audience aud.
func (p *parity) mint(t *testing.T, c token.Claims, alg string, iat time.Time, ttl time.Duration, iss, aud string) string {
	t.Helper()
	var k *keys.Key
	for _, kk := range p.set.All() {
		if kk.Alg == alg {
			k = kk
		}
	}
	require.NotNil(t, k, alg)
	raw, _, err := token.NewIssuer(token.IssuerConfig{
		Issuer: iss, Audience: aud, Keys: staticKeys{k}, Now: func() time.Time { return iat },
	}).Mint(c, ttl)
	require.NoError(t, err)
	return raw
}

// registered mints c (a registered kind) like p.mint and stores its record
// as sigil's registry would, under a fresh record id: a registered token is
// valid only as its record's current generation, on both sides.
func (p *parity) registered(t *testing.T, c token.Claims, alg string, iat time.Time, ttl time.Duration) string {
	t.Helper()
	p.ids++
	c.TID = fmt.Sprintf("%s-%d", c.TID, p.ids)
	raw := p.mint(t, c, alg, iat, ttl, parityIssuer, parityAudience)
	p.storeRecord(t, raw, iat)
	return raw
}

// storeRecord stores the record whose current generation is raw.
func (p *parity) storeRecord(t *testing.T, raw string, at time.Time) {
	t.Helper()
	claims, err := token.NewVerifier(token.VerifierConfig{Issuer: parityIssuer, Audience: parityAudience, Keys: staticKeys{p.set.Active()},
		Now: func() time.Time { return at }}).VerifyIgnoringExpiry(context.Background(), raw)
	require.NoError(t, err)
	r := registry.Record{
		ID: claims.TID, Type: claims.Kind, Name: claims.TID, Owner: "owner", ReportID: claims.ReportID, AppID: claims.AppID,
		Status: registry.StatusGeneratedInactive, CreatedAt: at, CreatedBy: "parity", JTI: claims.ID,
	}
	if claims.Kind == token.KindAPI {
		r.Owner = claims.Subject
	}
	if claims.ExpiresAt != nil {
		exp := claims.ExpiresAt.Time
		r.ExpiresAt = &exp
	}
	require.NoError(t, p.records.CreateRecord(context.Background(), r))
}

type staticKeys struct{ k *keys.Key }

func (s staticKeys) Active() *keys.Key                   { return s.k }
func (s staticKeys) Lookup(kid string) (*keys.Key, bool) { return s.k, kid == s.k.KID }

// forge signs hand-written header and payload JSON with key under method alg.
func forge(t *testing.T, header, payload, alg string, key any) string {
	t.Helper()
	si := base64.RawURLEncoding.EncodeToString([]byte(header)) + "." + base64.RawURLEncoding.EncodeToString([]byte(payload))
	sig, err := jwt.GetSigningMethod(alg).Sign(si, key)
	require.NoError(t, err)
	return si + "." + base64.RawURLEncoding.EncodeToString(sig)
}

// serverVerify asks the server's forward-auth; it returns the status, the
// error code and the token error description (WWW-Authenticate).
func (p *parity) serverVerify(t *testing.T, raw, method, uri string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, p.server.URL+"/api/v1/verify", nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+raw)
	if uri != "" {
		req.Header.Set("X-Forwarded-Method", method)
		req.Header.Set("X-Forwarded-Uri", uri)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	var body struct {
		Error struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	if resp.StatusCode != http.StatusOK {
		require.NoError(t, json.NewDecoder(resp.Body).Decode(&body))
	}
	return resp.StatusCode, body.Error.Code + "|" + body.Error.Message
}

// middleware runs the request through the verifier's net/http middleware.
func (p *parity) middleware(t *testing.T, raw, method, uri string) (int, string) {
	t.Helper()
	h := p.v.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, ok := verifier.ClaimsFrom(r.Context())
		require.True(t, ok)
	}))
	if uri == "" {
		uri = "/"
	}
	req := httptest.NewRequest(method, uri, nil)
	req.Header.Set("Authorization", "Bearer "+raw)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	var body struct {
		Error struct {
			Code string `json:"code"`
		} `json:"error"`
	}
	if rec.Code != http.StatusOK {
		require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &body), rec.Body.String())
	}
	return rec.Code, body.Error.Code
}

// TestParity runs one token table against sigil's /api/v1/verify and the
// offline verifier (Verify, and its middleware with the policy): both must
// accept and reject the same tokens, for the same reason.
func TestParity(t *testing.T) {
	p := newParity(t)
	ctx := context.Background()
	now := p.now
	ed := func(c token.Claims) string {
		if c.Registered() {
			return p.registered(t, c, keys.EdDSA, now, time.Hour)
		}
		return p.mint(t, c, keys.EdDSA, now, time.Hour, parityIssuer, parityAudience)
	}
	embed := token.Claims{Kind: token.KindEmbed, DashboardID: "sales", Scope: "dashboard:view", ClientID: "sales", RegisteredClaims: jwt.RegisteredClaims{Subject: "u1"}}
	report := token.Claims{Kind: token.KindReport, ReportID: "R1", TID: "rec-r1"}
	app := token.Claims{Kind: token.KindAppView, AppID: "A", ReadOnly: true, TID: "rec-a"}
	api := token.Claims{Kind: token.KindAPI, Scope: "meta:read", TID: "rec-api", RegisteredClaims: jwt.RegisteredClaims{Subject: "alice"}}

	edKey := p.set.Active()
	hdr := func(extra string) string {
		return fmt.Sprintf(`{"alg":"EdDSA","kid":%q,"typ":"JWT"%s}`, edKey.KID, extra)
	}
	claimsJSON := func(extra string) string {
		return fmt.Sprintf(`{"iss":%q,"aud":%q,"jti":"%s","iat":%d,"nbf":%d,"exp":%d,"tt":"embed","dashboardId":"sales"%s}`,
			parityIssuer, parityAudience, "b7f6a3a2-1111-4a4a-9c9c-0123456789ab", now.Unix(), now.Unix(), now.Add(time.Hour).Unix(), extra)
	}
	other, err := keys.Generate(keys.EdDSA)
	require.NoError(t, err)
	valid := ed(embed)
	parts := strings.Split(valid, ".")

	revokedJTI := ed(embed)
	require.Equal(t, http.StatusNoContent, func() int {
		req, _ := http.NewRequest(http.MethodPost, p.server.URL+"/api/v1/invalidate-token", nil)
		req.Header.Set("Authorization", "Bearer "+revokedJTI)
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		return resp.StatusCode
	}())
	cutDash := p.mint(t, token.Claims{Kind: token.KindEmbed, DashboardID: "hr", Scope: "dashboard:view"}, keys.EdDSA, now.Add(-time.Minute), time.Hour, parityIssuer, parityAudience)
	// Issued a second after the cutoff (iat within the leeway ahead of the clock).
	afterCut := p.mint(t, token.Claims{Kind: token.KindEmbed, DashboardID: "hr", Scope: "dashboard:view"}, keys.EdDSA, now.Add(time.Second), time.Hour, parityIssuer, parityAudience)
	_, err = p.replica.RevokeAll(ctx, revstore.Cutoff{Dim: revstore.DimDashboard, ID: "hr"})
	require.NoError(t, err)
	revokedTID := p.mint(t, token.Claims{Kind: token.KindReport, ReportID: "R7", TID: "rec-r7"}, keys.EdDSA, now, time.Hour, parityIssuer, parityAudience)
	// The record is revoked (its id denied, as the registry does on DELETE):
	// every generation of it is refused.
	require.NoError(t, p.replica.Revoke(ctx, &token.Claims{Kind: token.KindReport, ReportID: "R7",
		RegisteredClaims: jwt.RegisteredClaims{ID: "rec-r7"}}))

	rows := []struct {
		name string
		raw  string
		want string // "ok" or token.Reason
	}{
		{"EmbedEdDSA", valid, "ok"},
		{"EmbedES256", p.mint(t, embed, keys.ES256, now, time.Hour, parityIssuer, parityAudience), "ok"},
		{"EmbedRS256", p.mint(t, embed, keys.RS256, now, time.Hour, parityIssuer, parityAudience), "ok"},
		{"ReportNeverExpires", ed(report), "ok"},
		{"ReportNeverExpiresTTL0", p.registered(t, report, keys.EdDSA, now, 0), "ok"},
		{"ReportWithoutRecord", p.mint(t, report, keys.EdDSA, now, time.Hour, parityIssuer, parityAudience), "revoked"},
		{"ReportNotTheCurrentGeneration", func() string {
			gen := token.Claims{Kind: token.KindReport, ReportID: "R1", TID: "rec-gen"}
			old := p.mint(t, gen, keys.EdDSA, now, time.Hour, parityIssuer, parityAudience)
			p.storeRecord(t, p.mint(t, gen, keys.EdDSA, now, time.Hour, parityIssuer, parityAudience), now)
			return old
		}(), "revoked"},
		{"AppView", ed(app), "ok"},
		{"API", ed(api), "ok"},
		{"IssuedAfterCutoff", afterCut, "ok"},
		{"WithinLeeway", p.mint(t, embed, keys.EdDSA, now.Add(-time.Hour-10*time.Second), time.Hour, parityIssuer, parityAudience), "ok"},
		{"Expired", p.mint(t, embed, keys.EdDSA, now.Add(-2*time.Hour), time.Hour, parityIssuer, parityAudience), "expired"},
		{"EmbedTenYears", p.mint(t, embed, keys.EdDSA, now, 10*365*24*time.Hour, parityIssuer, parityAudience), "claims"},
		{"EmbedMaxLifetime", p.mint(t, embed, keys.EdDSA, now, token.DefaultEmbedMaxLifetime, parityIssuer, parityAudience), "ok"},
		{"NotYetValid", p.mint(t, embed, keys.EdDSA, now.Add(time.Hour), time.Hour, parityIssuer, parityAudience), "not_yet_valid"},
		{"RevokedJTI", revokedJTI, "revoked"},
		{"RevokedTID", revokedTID, "revoked"},
		{"DashboardCutoff", cutDash, "revoked"},
		{"WrongIssuer", p.mint(t, embed, keys.EdDSA, now, time.Hour, "https://evil.test", parityAudience), "issuer"},
		{"WrongAudience", p.mint(t, embed, keys.EdDSA, now, time.Hour, parityIssuer, "other"), "audience"},
		{"UnknownKey", forge(t, `{"alg":"EdDSA","kid":"nope","typ":"JWT"}`, claimsJSON(""), "EdDSA", other), "unknown_key"},
		{"ForgedSameKID", forge(t, hdr(""), claimsJSON(""), "EdDSA", other), "signature"},
		{"Tampered", parts[0] + "." + base64.RawURLEncoding.EncodeToString([]byte(claimsJSON(`,"sub":"admin"`))) + "." + parts[2], "signature"},
		{"AlgNone", base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none","typ":"JWT"}`)) + "." + parts[1] + ".", "malformed"},
		{"AlgMismatch", forge(t, fmt.Sprintf(`{"alg":"HS256","kid":%q,"typ":"JWT"}`, edKey.KID), claimsJSON(""), "HS256", []byte("public-key-as-hmac-secret-0123456789")), "header"},
		{"Crit", forge(t, hdr(`,"crit":["exp"]`), claimsJSON(""), "EdDSA", edKey.SigningKey()), "header"},
		{"Jku", forge(t, hdr(`,"jku":"https://evil.test/jwks"`), claimsJSON(""), "EdDSA", edKey.SigningKey()), "ok"},
		{"BadTyp", forge(t, fmt.Sprintf(`{"alg":"EdDSA","kid":%q,"typ":"JOSE+JSON"}`, edKey.KID), claimsJSON(""), "EdDSA", edKey.SigningKey()), "header"},
		{"DuplicateCaseVariant", forge(t, hdr(""), claimsJSON(fmt.Sprintf(`,"EXP":%d`, now.Add(100*time.Hour).Unix())), "EdDSA", edKey.SigningKey()), "claims"},
		{"UnknownKind", forge(t, hdr(""), strings.Replace(claimsJSON(""), `"tt":"embed"`, `"tt":"admin"`, 1), "EdDSA", edKey.SigningKey()), "claims"},
		{"MissingBinding", forge(t, hdr(""), strings.Replace(claimsJSON(""), `,"dashboardId":"sales"`, ``, 1), "EdDSA", edKey.SigningKey()), "claims"},
		// Issue 12 A6: a claim no header carries byte for byte, signed with the real key.
		{"UntrimmedSubject", forge(t, hdr(""), claimsJSON(`,"sub":" admin "`), "EdDSA", edKey.SigningKey()), "claims"},
		{"CRLFInBinding", forge(t, hdr(""), strings.Replace(claimsJSON(""), `"dashboardId":"sales"`, `"dashboardId":"sales\r\nX-Sigil-Kind: api"`, 1), "EdDSA", edKey.SigningKey()), "claims"},
		{"Garbage", "a.b.c", "malformed"},
		{"TooLarge", strings.Repeat("A", 9000) + ".e30.e30", "malformed"},
		{"Padded", valid + "=", "malformed"},
	}
	for _, r := range rows {
		t.Run(r.name, func(t *testing.T) {
			status, _ := p.serverVerify(t, r.raw, "", "")
			claims, err := p.v.Verify(ctx, r.raw)
			got := verifier.Reason(err)
			if err == nil {
				require.NotNil(t, claims)
			}
			if r.want == "ok" {
				require.Equal(t, http.StatusOK, status, "server")
				require.NoError(t, err, "offline verifier")
			} else {
				require.Equal(t, http.StatusUnauthorized, status, "server")
				require.ErrorIs(t, err, verifier.ErrInvalidToken, "offline verifier")
			}
			require.Equal(t, r.want, got, "offline verifier reason")
			// The server's description is the one of the same reason.
			_, desc := p.serverVerify(t, r.raw, "", "")
			if r.want != "ok" {
				require.Contains(t, desc, "invalid_token|", "server")
				require.Equal(t, descByReason[r.want], strings.TrimPrefix(desc, "invalid_token|"), "server reason")
			}
			mstatus, _ := p.middleware(t, r.raw, http.MethodGet, "")
			if r.want == "ok" {
				// No forwarded URI on the server side: only the token is
				// judged; the middleware always has a path ("/"), so it is
				// checked against the policy in TestParity_Policy instead.
				require.Contains(t, []int{http.StatusOK, http.StatusForbidden}, mstatus)
			} else {
				require.Equal(t, http.StatusUnauthorized, mstatus, "middleware")
			}
		})
	}

	t.Run("PolicyTable", func(t *testing.T) {
		reportTok := ed(report)
		cases := []struct {
			tok, method, uri string
		}{
			{valid, "GET", "/dashboards/sales/w"},
			{valid, "POST", "/dashboards/sales"},
			{valid, "GET", "/dashboards/hr"},
			{valid, "GET", "/dashboards/sales/../hr"},
			{valid, "GET", "/dashboards/sales/%2e%2e/hr"},
			{valid, "GET", "/dashboards/sales%2f..%2fhr"},
			{ed(app), "GET", "/api/apps/A/view"},
			{ed(app), "HEAD", "/contents/x.png"},
			{ed(app), "POST", "/api/apps/A/view"},
			{ed(app), "GET", "/api/apps/B/view"},
			{ed(app), "GET", "/view/api/datasets/orders"},
			{ed(app), "GET", "/view/api/secrets"},
			{ed(app), "GET", "/api/apps/A/view/..;/..;/B/view"},
			{reportTok, "GET", "/api/reports/R1?token=x"},
			{reportTok, "GET", "/view/" + reportTok},
			{reportTok, "GET", "/api/reports/R2"},
			{ed(api), "GET", "/api/meta/tables"},
			{ed(api), "GET", "/api/reports/R1"},
			{ed(api), "GET", "/api/other"},
			// Issue 12: share links never write, whitelists hold under the
			// app prefix, methods per route, NFKC lookalikes.
			{reportTok, "DELETE", "/api/reports/R1"},
			{reportTok, "POST", "/api/reports/R1/_cloud-publish"},
			{reportTok, "PUT", "/api/reports/R1/tokens/t1"},
			{reportTok, "HEAD", "/api/reports/R1/tokens"},
			{valid, "HEAD", "/dashboards/sales/w"},
			{valid, "DELETE", "/dashboards/sales/w"},
			{valid, "GET", "/dashboards/sales/%EF%BC%8E%EF%BC%8E/hr"},
			{ed(app), "GET", "/api/apps/A/view/api/datasets/orders"},
			{ed(app), "GET", "/api/apps/A/view/api/admin/users"},
			{ed(app), "GET", "/api/apps/A/contents/x.png"},
			{ed(app), "GET", "/api/apps/A/view/-/app.js"},
			{ed(app), "GET", "/contents/x.png"},
			{ed(api), "POST", "/api/meta/tables"},
		}
		seen := map[int]bool{}
		for _, c := range cases {
			sStatus, sCode := p.serverVerify(t, c.tok, c.method, c.uri)
			mStatus, mCode := p.middleware(t, c.tok, c.method, c.uri)
			require.Equal(t, sStatus, mStatus, "%s %s", c.method, c.uri)
			code, _, _ := strings.Cut(sCode, "|")
			require.Equal(t, code, mCode, "%s %s", c.method, c.uri)
			seen[sStatus] = true
		}
		require.True(t, seen[http.StatusOK] && seen[http.StatusForbidden], "the table has both outcomes")
	})

	t.Run("QueryToken", func(t *testing.T) {
		reportTok := ed(report)
		h := p.v.Middleware(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
		for uri, want := range map[string]int{
			"/api/reports/R1?token=" + reportTok:             http.StatusOK,
			"/api/reports/R1/rows?page=2&token=" + reportTok: http.StatusOK,
			"/api/reports/R2?token=" + reportTok:             http.StatusForbidden,
			"/api/reports/R1?token=" + revokedJTI:            http.StatusUnauthorized,
			"/api/reports/R1?token=":                         http.StatusUnauthorized,
		} {
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, uri, nil))
			require.Equal(t, want, rec.Code, uri)
			require.NotContains(t, rec.Body.String(), reportTok)
			req, err := http.NewRequest(http.MethodGet, p.server.URL+"/api/v1/verify", nil)
			require.NoError(t, err)
			req.Header.Set("X-Forwarded-Method", http.MethodGet)
			req.Header.Set("X-Forwarded-Uri", uri)
			resp, err := http.DefaultClient.Do(req)
			require.NoError(t, err)
			resp.Body.Close()
			require.Equal(t, want, resp.StatusCode, "server: %s", uri)
		}
	})

	t.Run("RevocationReachesTheVerifier", func(t *testing.T) {
		tok := ed(embed)
		_, err := p.v.Verify(ctx, tok)
		require.NoError(t, err)
		req, _ := http.NewRequest(http.MethodPost, p.server.URL+"/api/v1/invalidate-token", nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		require.Equal(t, http.StatusNoContent, resp.StatusCode)
		// Pub/sub delivers it; bounded wait, no timing asserted.
		deadline := time.Now().Add(10 * time.Second)
		for {
			_, err := p.v.Verify(ctx, tok)
			if verifier.Reason(err) == "revoked" {
				break
			}
			require.NoError(t, err)
			require.True(t, time.Now().Before(deadline), "the revocation never reached the verifier's replica")
			time.Sleep(10 * time.Millisecond)
		}
	})

	t.Run("SigilDown", func(t *testing.T) {
		p.server.Close()
		_, err := p.v.Verify(ctx, valid)
		require.NoError(t, err, "the cached key set keeps verifying")
		_, err = p.v.Verify(ctx, ed(report))
		require.NoError(t, err)
		_, err = p.v.Verify(ctx, forge(t, `{"alg":"EdDSA","kid":"rotated","typ":"JWT"}`, claimsJSON(""), "EdDSA", other))
		require.Equal(t, "unknown_key", verifier.Reason(err))
		_, err = p.v.Verify(ctx, revokedJTI)
		require.Equal(t, "revoked", verifier.Reason(err), "revocations come from Redis, not from sigil")
	})
}

// descByReason are sigil's public descriptions of token rejections.
var descByReason = map[string]string{
	"malformed":     "the token is malformed",
	"header":        "the token header is not acceptable",
	"unknown_key":   "the token was not signed by a known key",
	"signature":     "the token signature is invalid",
	"expired":       "the token has expired",
	"not_yet_valid": "the token is not valid yet",
	"issuer":        "the token was issued by another issuer",
	"audience":      "the token is not meant for this audience",
	"claims":        "the token claims are not acceptable",
	"revoked":       "the token has been revoked",
}

// TestParity_OneCredential: sigil's forward-auth and the middleware both
// refuse a request that carries a second credential (RFC 6750 §2) with 400.
func TestParity_OneCredential(t *testing.T) {
	p := newParity(t)
	tok := p.mint(t, token.Claims{Kind: token.KindEmbed, DashboardID: "sales", Scope: "dashboard:view", ClientID: "sales"},
		keys.EdDSA, p.now, time.Hour, parityIssuer, parityAudience)
	h := p.v.Middleware(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	for name, c := range map[string]struct {
		query string
		auth  []string
	}{
		"TwoAuthorizationHeaders": {"", []string{"Bearer " + tok, "Bearer " + tok}},
		"BearerAndQuery":          {"token=" + tok, []string{"Bearer " + tok}},
		"TwoQueryTokens":          {"token=" + tok + "&token=" + tok, nil},
		"EscapedQueryName":        {"%74oken=" + tok, []string{"Bearer " + tok}},
	} {
		req, err := http.NewRequest(http.MethodGet, p.server.URL+"/api/v1/verify?"+c.query, nil)
		require.NoError(t, err)
		req.Header["Authorization"] = c.auth
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		require.Equal(t, http.StatusBadRequest, resp.StatusCode, "server: %s", name)

		mreq := httptest.NewRequest(http.MethodGet, "/dashboards/sales?"+c.query, nil)
		mreq.Header["Authorization"] = c.auth
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, mreq)
		require.Equal(t, http.StatusBadRequest, rec.Code, "middleware: %s", name)
		require.Contains(t, rec.Body.String(), `"invalid_request"`, name)
		require.NotContains(t, rec.Body.String(), tok, name)
	}
}

// TestParity_ErrorAnswers: the middleware answers a rejection from the same
// table as sigil's server (internal/httperr): the same status, code,
// message, WWW-Authenticate and Cache-Control, for token faults, a missing
// token and policy refusals.
func TestParity_ErrorAnswers(t *testing.T) {
	p := newParity(t)
	now := p.now
	embed := token.Claims{Kind: token.KindEmbed, DashboardID: "sales", Scope: "dashboard:view", ClientID: "sales"}
	valid := p.mint(t, embed, keys.EdDSA, now, time.Hour, parityIssuer, parityAudience)
	expired := p.mint(t, embed, keys.EdDSA, now.Add(-2*time.Hour), time.Hour, parityIssuer, parityAudience)
	parts := strings.Split(valid, ".")
	api := p.registered(t, token.Claims{Kind: token.KindAPI, Scope: "meta:read", TID: "rec-api", RegisteredClaims: jwt.RegisteredClaims{Subject: "alice"}},
		keys.EdDSA, now, time.Hour)
	h := p.v.Middleware(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	answer := func(status int, header http.Header, body []byte) string {
		var b struct {
			Error struct{ Code, Message string } `json:"error"`
		}
		require.NoError(t, json.Unmarshal(body, &b), string(body))
		return fmt.Sprintf("%d %s|%s www=%q cache=%q", status, b.Error.Code, b.Error.Message, header.Get("WWW-Authenticate"), header.Get("Cache-Control"))
	}
	for name, c := range map[string]struct{ tok, method, uri string }{
		"Expired":           {expired, http.MethodGet, "/dashboards/sales"},
		"Forged":            {parts[0] + "." + parts[1] + ".AAAA" + parts[2][4:], http.MethodGet, "/dashboards/sales"},
		"Garbage":           {"a.b.c", http.MethodGet, "/dashboards/sales"},
		"Missing":           {"", http.MethodGet, "/dashboards/sales"},
		"OutsideBinding":    {valid, http.MethodGet, "/dashboards/hr"},
		"ReadOnly":          {valid, http.MethodDelete, "/dashboards/sales"},
		"InsufficientScope": {api, http.MethodGet, "/api/reports/R1"},
	} {
		t.Run(name, func(t *testing.T) {
			req, err := http.NewRequest(http.MethodGet, p.server.URL+"/api/v1/verify", nil)
			require.NoError(t, err)
			mreq := httptest.NewRequest(c.method, c.uri, nil)
			if c.tok != "" {
				req.Header.Set("Authorization", "Bearer "+c.tok)
				mreq.Header.Set("Authorization", "Bearer "+c.tok)
			}
			req.Header.Set("X-Forwarded-Method", c.method)
			req.Header.Set("X-Forwarded-Uri", c.uri)
			resp, err := http.DefaultClient.Do(req)
			require.NoError(t, err)
			body, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			require.NoError(t, err)
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, mreq)
			want := answer(resp.StatusCode, resp.Header, body)
			t.Log(want)
			require.Equal(t, want, answer(rec.Code, rec.Header(), rec.Body.Bytes()))
		})
	}
}

// TestParity_OverridesAndFragments: a method override that the policy does
// not allow, and a URI holding "#", are refused alike by sigil's forward-auth
// and by the middleware (found by an outside attack run on the gateway).
func TestParity_OverridesAndFragments(t *testing.T) {
	p := newParity(t)
	tok := p.mint(t, token.Claims{Kind: token.KindEmbed, DashboardID: "sales", Scope: "dashboard:view", ClientID: "sales"},
		keys.EdDSA, p.now, time.Hour, parityIssuer, parityAudience)
	h := p.v.Middleware(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	for name, c := range map[string]struct{ uri, override string }{
		"OverrideHeader": {"/dashboards/sales", "DELETE"},
		"OverrideQuery":  {"/dashboards/sales?_method=PUT", ""},
		"Fragment":       {"/dashboards/sales#/../hr", ""},
	} {
		req, err := http.NewRequest(http.MethodGet, p.server.URL+"/api/v1/verify", nil)
		require.NoError(t, err)
		req.Header.Set("Authorization", "Bearer "+tok)
		req.Header.Set("X-Forwarded-Method", http.MethodGet)
		req.Header.Set("X-Forwarded-Uri", c.uri)
		if c.override != "" {
			req.Header.Set("X-HTTP-Method-Override", c.override)
		}
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		require.Equal(t, http.StatusForbidden, resp.StatusCode, "server: %s", name)

		mreq := httptest.NewRequest(http.MethodGet, "/", nil)
		mreq.RequestURI = c.uri
		mreq.Header.Set("Authorization", "Bearer "+tok)
		if c.override != "" {
			mreq.Header.Set("X-HTTP-Method-Override", c.override)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, mreq)
		require.Equal(t, http.StatusForbidden, rec.Code, "middleware: %s: %s", name, rec.Body.String())
	}
	// The same request without the override or fragment passes both.
	mreq := httptest.NewRequest(http.MethodGet, "/", nil)
	mreq.RequestURI = "/dashboards/sales?_method=GET"
	mreq.Header.Set("Authorization", "Bearer "+tok)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, mreq)
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
}
