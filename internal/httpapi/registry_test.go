package httpapi_test

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/sigil-dev/sigil/internal/clients"
	"github.com/sigil-dev/sigil/internal/httpapi"
	"github.com/sigil-dev/sigil/internal/registry"
	"github.com/sigil-dev/sigil/internal/store/memory"
	"github.com/sigil-dev/sigil/internal/token"
)

func rfc3339(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// requireNoContent checks an empty 204.
func requireNoContent(tb testing.TB, rec *httptest.ResponseRecorder) {
	tb.Helper()
	require.Equal(tb, http.StatusNoContent, rec.Code, rec.Body.String())
	require.Zero(tb, rec.Body.Len())
}

// TestRegistry_InformerWorkflow drives Informer's seed workflow over HTTP:
// an app token with an expiry and its share URL, the app's HAL listing,
// cleanup of expired tokens, rotation by name, and the report listing.
func TestRegistry_InformerWorkflow(t *testing.T) {
	rf := newRegAPI(t, nil)
	t0 := rf.clock.Now()
	exp := t0.Add(2 * time.Hour)

	kiosk := rf.create(informerID, fmt.Sprintf(
		`{"type":"app-view","appId":"analytics","name":"Kiosk","readOnly":false,"expiresAt":%q}`, rfc3339(exp)), true)
	require.Equal(t, token.KindAppView, kiosk.Type)
	require.Equal(t, "Kiosk", kiosk.Name)
	require.Equal(t, "analytics", kiosk.AppID)
	require.Equal(t, informerID, kiosk.Owner, "the owner of an app token is its creator")
	require.Equal(t, informerID, kiosk.CreatedBy)
	require.True(t, kiosk.ReadOnly, "app tokens are read-only whatever the request says")
	require.Equal(t, string(registry.StatusGeneratedInactive), kiosk.Status)
	require.Equal(t, []string{}, kiosk.Scopes)
	require.Equal(t, t0, kiosk.CreatedAt)
	require.Equal(t, exp, *kiosk.ExpiresAt)
	require.Equal(t, t0, *kiosk.GeneratedAt)
	require.Nil(t, kiosk.LastUsedAt)

	// The share URL is built from the response; a JWT needs no escaping in a path.
	share := "/view/" + kiosk.Token
	require.Equal(t, "/view/"+url.PathEscape(kiosk.Token), share)
	u, err := url.Parse("https://informer.example" + share)
	require.NoError(t, err)
	require.Equal(t, kiosk.Token, strings.TrimPrefix(u.Path, "/view/"))
	rec := rf.do(http.MethodGet, "/api/v1/verify?token="+kiosk.Token, "")
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	require.Equal(t, token.KindAppView, rec.Header().Get(httpapi.HeaderKind))
	require.Equal(t, "app:analytics", rec.Header().Get(httpapi.HeaderResource))

	rf.clock.Advance(time.Second)
	t1 := rf.clock.Now()
	wall := rf.create(informerID, `{"type":"app-view","appId":"analytics","name":"Wall"}`, true)
	require.Nil(t, wall.ExpiresAt, "no expiry: never expires")

	// The app's tokens in Informer's HAL shape, newest first, exactly.
	appItem := func(tj tokenJSON, created time.Time, expires string) string {
		return fmt.Sprintf(`{"id":%q,"type":"app-view","name":%q,"owner":"informer","appId":"analytics",
			"scopes":[],"readOnly":true,"cloud":false,"status":"generated-inactive","createdAt":%q,
			"expiresAt":%s,"generatedAt":%q,"lastUsedAt":null,"createdBy":"informer","tokenHint":%q,
			"_links":{"self":{"href":"/api/tokens/%s"}}}`,
			tj.ID, tj.Name, rfc3339(created), expires, rfc3339(created), tj.TokenHint, tj.ID)
	}
	w, k := appItem(wall, t1, "null"), appItem(kiosk, t0, strconv.Quote(rfc3339(exp)))
	rec = rf.as(informerID, http.MethodGet, "/api/apps/analytics/tokens", "")
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	require.Equal(t, "no-store", rec.Header().Get("Cache-Control"))
	requireSameJSON(t, []byte(fmt.Sprintf(
		`{"_links":{"self":{"href":"/api/apps/analytics/tokens"}},"_embedded":{"inf:app-token":[%s,%s]},"tokens":[%s,%s]}`,
		w, k, w, k)), rec.Body.Bytes())

	// Expired: shown as such, rejected, then removed by the cleanup once
	// the retention (registry.retention, 30 days) has passed (issue 14).
	rf.clock.Advance(2*time.Hour + time.Minute) // past exp and the verifier's leeway
	require.Equal(t, string(registry.StatusExpired), rf.get(informerID, kiosk.ID).Status)
	requireInvalidToken(t, rf.verify(kiosk.Token), descExpired)
	requireError(t, rf.as(informerID, http.MethodPost, "/api/tokens/_cleanup", ""), http.StatusForbidden, "forbidden", "")
	rec = rf.as(clients.AdminID, http.MethodPost, "/api/tokens/_cleanup", "")
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	requireSameJSON(t, []byte(`{"removed":0}`), rec.Body.Bytes())
	require.Equal(t, string(registry.StatusExpired), rf.get(informerID, kiosk.ID).Status, "readable during the retention")
	rf.clock.Advance(registry.LogRetention)
	rec = rf.as(clients.AdminID, http.MethodPost, "/api/tokens/_cleanup", "")
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	requireSameJSON(t, []byte(`{"removed":1}`), rec.Body.Bytes())
	requireError(t, rf.as(informerID, http.MethodGet, "/api/tokens/"+kiosk.ID, ""), http.StatusNotFound, "not_found", "")
	rec = rf.as(clients.AdminID, http.MethodPost, "/api/tokens/_cleanup", "")
	requireSameJSON(t, []byte(`{"removed":0}`), rec.Body.Bytes())
	rec = rf.as(informerID, http.MethodGet, "/api/apps/analytics/tokens", "")
	requireSameJSON(t, []byte(fmt.Sprintf(
		`{"_links":{"self":{"href":"/api/apps/analytics/tokens"}},"_embedded":{"inf:app-token":[%s]},"tokens":[%s]}`, w, w)),
		rec.Body.Bytes())
	require.Equal(t, http.StatusOK, rf.verify(wall.Token).Code)

	// Rotation (issue 14: a share link's name is a display name, not
	// unique): the new link is created with the same name, then the old
	// one revoked; the revoked one leaves the report's listing.
	body := `{"type":"report","reportId":"q3","name":"Q3 share","expiresIn":"90d"}`
	first := rf.create(informerID, body, true)
	require.Equal(t, http.StatusOK, rf.verify(first.Token).Code)
	second := rf.create(informerID, body, true)
	require.NotEqual(t, first.ID, second.ID)
	require.Equal(t, "Q3 share", second.Name)
	requireNoContent(t, rf.as(informerID, http.MethodDelete, "/api/tokens/"+first.ID, ""))
	requireInvalidToken(t, rf.verify(first.Token), descRevoked)
	require.Equal(t, http.StatusOK, rf.verify(second.Token).Code)
	require.Equal(t, "revoked", rf.get(informerID, first.ID).Status, "the revoked link stays readable by id")

	// The report's tokens, with no cloud warning.
	rec = rf.as(informerID, http.MethodGet, "/api/reports/q3/tokens", "")
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	var raw map[string]json.RawMessage
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &raw))
	require.Len(t, raw, 2, rec.Body.String())
	require.Equal(t, "null", string(raw["warning"]))
	var list struct {
		Tokens  []tokenJSON `json:"tokens"`
		Warning *struct{}   `json:"warning"`
	}
	decodeStrict(t, rec, http.StatusOK, &list)
	require.Len(t, list.Tokens, 1)
	require.Equal(t, second.ID, list.Tokens[0].ID)
	require.Equal(t, "q3", list.Tokens[0].ReportID)
	require.Equal(t, second.TokenHint, list.Tokens[0].TokenHint)
	require.Empty(t, list.Tokens[0].Token)
	require.NotContains(t, rec.Body.String(), `"token"`)

	rec = rf.as(informerID, http.MethodGet, "/api/reports/q4/tokens", "")
	require.Equal(t, http.StatusOK, rec.Code)
	requireSameJSON(t, []byte(`{"tokens":[],"warning":null}`), rec.Body.Bytes())
}

// TestRegistry_EnviziWorkflow drives Envizi's seed workflow over HTTP: the
// role, a token created without a JWT, generation, first use, regeneration
// and revocation, with the activity log at each step.
func TestRegistry_EnviziWorkflow(t *testing.T) {
	rf := newRegAPI(t, nil)
	t0 := rf.clock.Now()
	body := `{"type":"api","owner":"alice","name":"CI","scopes":["meta:read"],"expiresIn":"30d","generate":false}`

	requireError(t, rf.as(enviziID, http.MethodPost, "/api/tokens", body), http.StatusForbidden, "forbidden", "owner")
	requireError(t, rf.as(enviziID, http.MethodPut, "/api/owners/alice/roles/api-tokens", ""), http.StatusForbidden, "forbidden", "")
	requireNoContent(t, rf.as(clients.AdminID, http.MethodPut, "/api/owners/alice/roles/api-tokens", ""))
	requireNoContent(t, rf.as(clients.AdminID, http.MethodPut, "/api/owners/alice/roles/api-tokens", ""))

	ci := rf.create(enviziID, body, false)
	require.Equal(t, string(registry.StatusNotGenerated), ci.Status)
	require.Equal(t, "alice", ci.Owner)
	require.Equal(t, enviziID, ci.CreatedBy)
	require.Equal(t, []string{"meta:read"}, ci.Scopes)
	require.Nil(t, ci.ExpiresAt, "issue 14: the preset counts from the generation")
	require.Equal(t, "30d", ci.ExpiresIn)
	require.Nil(t, ci.GeneratedAt)
	require.Empty(t, ci.TokenHint)
	require.Equal(t, []string{"CREATE OK envizi"}, rf.activity(enviziID, ci.ID))

	rf.clock.Advance(time.Minute)
	t1 := rf.clock.Now()
	gen := rf.generate(enviziID, ci.ID)
	require.Equal(t, string(registry.StatusGeneratedInactive), gen.Status)
	require.Equal(t, t1, *gen.GeneratedAt)
	require.Equal(t, t1.Add(30*24*time.Hour), *gen.ExpiresAt)

	rf.clock.Advance(time.Minute)
	t2 := rf.clock.Now()
	rec := rf.verify(gen.Token)
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	require.Equal(t, "alice", rec.Header().Get(httpapi.HeaderSubject))
	require.Equal(t, "meta:read", rec.Header().Get(httpapi.HeaderScope))
	require.Equal(t, string(registry.StatusGeneratedInactive), rf.get(enviziID, ci.ID).Status, "usage is recorded off the hot path")
	require.Equal(t, 1, rf.rec.pending())
	rf.rec.flush(t)
	got := rf.get(enviziID, ci.ID)
	require.Equal(t, string(registry.StatusGeneratedActive), got.Status)
	require.Equal(t, t2, *got.LastUsedAt)
	require.Equal(t, []string{"AUTHENTICATE OK verify", "GENERATE OK envizi", "CREATE OK envizi"}, rf.activity(enviziID, ci.ID))

	// New scopes wait for the next generation.
	rec = rf.as(enviziID, http.MethodPatch, "/api/tokens/"+ci.ID, `{"scopes":["meta:read","report:read"]}`)
	upd := tokenOf(t, rec, http.StatusOK, false)
	require.True(t, *upd.ScopesPending)
	require.Equal(t, []string{"meta:read", "report:read"}, upd.Scopes)
	require.Equal(t, "meta:read", rf.verify(gen.Token).Header().Get(httpapi.HeaderScope))
	rec = rf.as(enviziID, http.MethodPatch, "/api/tokens/"+ci.ID, `{"name":"CI pipeline"}`)
	upd = tokenOf(t, rec, http.StatusOK, false)
	require.False(t, *upd.ScopesPending)
	require.Equal(t, "CI pipeline", upd.Name)

	// Generating again revokes the previous JWT at once.
	regen := rf.generate(enviziID, ci.ID)
	require.NotEqual(t, gen.Token, regen.Token)
	requireInvalidToken(t, rf.verify(gen.Token), descRevoked)
	rec = rf.verify(regen.Token)
	require.Equal(t, http.StatusOK, rec.Code)
	require.Equal(t, "meta:read report:read", rec.Header().Get(httpapi.HeaderScope))
	rf.rec.flush(t)
	// The log is in the order entries were written: the uses buffered since
	// the last flush (the old JWT's OK after the first PATCH, its FAIL after
	// the regeneration, the new JWT's OK) come after the GENERATE that was
	// written at once; their times tell when they happened.
	require.Equal(t, []string{
		"AUTHENTICATE OK verify", "AUTHENTICATE FAIL verify", "AUTHENTICATE OK verify",
		"GENERATE OK envizi", "UPDATE OK envizi", "UPDATE OK envizi",
		"AUTHENTICATE OK verify", "GENERATE OK envizi", "CREATE OK envizi",
	}, rf.activity(enviziID, ci.ID))
	require.Equal(t, string(registry.StatusGeneratedActive), rf.get(enviziID, ci.ID).Status)

	// Log paging, newest first.
	var page logPageJSON
	decodeStrict(t, rf.as(enviziID, http.MethodGet, "/api/tokens/"+ci.ID+"/logs?limit=4", ""), http.StatusOK, &page)
	require.Len(t, page.Logs, 4)
	require.Equal(t, "AUTHENTICATE", page.Logs[0].Activity)
	require.NotNil(t, page.NextCursor)
	var page2 logPageJSON
	decodeStrict(t, rf.as(enviziID, http.MethodGet, "/api/tokens/"+ci.ID+"/logs?limit=4&cursor="+url.QueryEscape(*page.NextCursor), ""), http.StatusOK, &page2)
	require.Len(t, page2.Logs, 4)
	require.Equal(t, "UPDATE", page2.Logs[0].Activity)
	require.NotNil(t, page2.NextCursor)
	var page3 logPageJSON
	decodeStrict(t, rf.as(enviziID, http.MethodGet, "/api/tokens/"+ci.ID+"/logs?limit=4&cursor="+url.QueryEscape(*page2.NextCursor), ""), http.StatusOK, &page3)
	require.Len(t, page3.Logs, 1)
	require.Equal(t, "CREATE", page3.Logs[0].Activity)
	require.Equal(t, t0, page3.Logs[0].At)
	require.Nil(t, page3.NextCursor)

	// The owner's listing (pinned to api:alice) and the admin's.
	var list tokenPageJSON
	decodeStrict(t, rf.as(enviziID, http.MethodGet, "/api/tokens?type=api&owner=alice", ""), http.StatusOK, &list)
	require.Len(t, list.Tokens, 1)
	require.Equal(t, ci.ID, list.Tokens[0].ID)
	require.Nil(t, list.NextCursor)
	// Issue 14: with no filter, the tokens the client created (was a 404).
	decodeStrict(t, rf.as(enviziID, http.MethodGet, "/api/tokens", ""), http.StatusOK, &list)
	require.Len(t, list.Tokens, 1)
	require.Equal(t, ci.ID, list.Tokens[0].ID)
	decodeStrict(t, rf.as(clients.AdminID, http.MethodGet, "/api/tokens?status=generated-active", ""), http.StatusOK, &list)
	require.Len(t, list.Tokens, 1)

	// Delete: 204 once denied; every generation is rejected; the record
	// stays, revoked, readable with its log by its creator (issue 14: it
	// was a 404); revoking again is 204; it can be neither generated nor
	// changed (409 naming status).
	rf.clock.Advance(time.Minute)
	requireNoContent(t, rf.as(enviziID, http.MethodDelete, "/api/tokens/"+ci.ID, ""))
	requireInvalidToken(t, rf.verify(regen.Token), descRevoked)
	requireInvalidToken(t, rf.verify(gen.Token), descRevoked)
	revoked := rf.get(enviziID, ci.ID)
	require.Equal(t, "revoked", revoked.Status)
	require.Equal(t, rf.clock.Now(), *revoked.RevokedAt)
	requireNoContent(t, rf.as(enviziID, http.MethodDelete, "/api/tokens/"+ci.ID, ""))
	requireError(t, rf.as(enviziID, http.MethodPost, "/api/tokens/"+ci.ID+"/_generate", ""), http.StatusConflict, "conflict", "status")
	requireError(t, rf.as(enviziID, http.MethodPatch, "/api/tokens/"+ci.ID, `{"name":"again"}`), http.StatusConflict, "conflict", "status")
	requireInvalidToken(t, rf.verify(regen.Token), descRevoked)
	rf.rec.flush(t)
	logs := rf.activity(enviziID, ci.ID)
	require.Equal(t, []string{"AUTHENTICATE FAIL verify", "AUTHENTICATE FAIL verify", "AUTHENTICATE FAIL verify", "REVOKE OK envizi", "AUTHENTICATE OK verify"}, logs[:5])
	require.Len(t, logs, 13, "one REVOKE: revoking again logs nothing")

	// Without the role no API token is created or generated.
	requireNoContent(t, rf.as(clients.AdminID, http.MethodDelete, "/api/owners/alice/roles/api-tokens", ""))
	requireError(t, rf.as(enviziID, http.MethodPost, "/api/tokens", body), http.StatusForbidden, "forbidden", "owner")
}

// registryErrCase is one request that must fail with status, code and field.
type registryErrCase struct {
	name   string
	as     string // client id; informer by default
	method string // POST by default
	target string // /api/tokens by default
	body   string
	ctype  string // Content-Type when not application/json
	status int
	code   string
	field  string
}

func (tc registryErrCase) run(rf *regFixture) *httptest.ResponseRecorder {
	rf.tb.Helper()
	as, method, target := tc.as, tc.method, tc.target
	if as == "" {
		as = informerID
	}
	if method == "" {
		method = http.MethodPost
	}
	if target == "" {
		target = "/api/tokens"
	}
	r := httptest.NewRequest(method, target, strings.NewReader(tc.body))
	if tc.body != "" {
		r.Header.Set("Content-Type", "application/json")
	}
	if tc.ctype != "" {
		r.Header.Set("Content-Type", tc.ctype)
	}
	r.SetBasicAuth(as, rf.secretOf(as))
	rec := rf.serve(r)
	status, code := tc.status, tc.code
	if status == 0 {
		status, code = http.StatusBadRequest, "invalid_request"
	}
	requireError(rf.tb, rec, status, code, tc.field)
	return rec
}

func TestRegistry_CreateErrors(t *testing.T) {
	past := rfc3339(epoch.Add(-time.Second))
	tests := []registryErrCase{
		{name: "ErrUnknownType", body: `{"type":"embed","reportId":"q3"}`, field: "type"},
		{name: "ErrBogusType", body: `{"type":"dashboard","reportId":"q3"}`, field: "type"},
		{name: "ErrNoType", body: `{"reportId":"q3"}`, field: "type"},
		{name: "ErrReportWithoutReportID", body: `{"type":"report"}`, field: "reportId"},
		{name: "ErrAppWithoutAppID", body: `{"type":"app-view"}`, field: "appId"},
		{name: "ErrAppWithReportID", body: `{"type":"app-view","appId":"analytics","reportId":"q3"}`, field: "reportId"},
		{name: "ErrReportWithAppID", body: `{"type":"report","reportId":"q3","appId":"analytics"}`, field: "appId"},
		// Ids that could not be cut off by revoke-all, or read as a glob or a path (outside attack run).
		{name: "ErrReportIDGlob", as: clients.AdminID, body: `{"type":"report","reportId":"*"}`, field: "reportId"},
		{name: "ErrReportIDDotDot", as: clients.AdminID, body: `{"type":"report","reportId":".."}`, field: "reportId"},
		{name: "ErrReportIDSpace", as: clients.AdminID, body: `{"type":"report","reportId":"a b"}`, field: "reportId"},
		{name: "ErrAppIDBraces", as: clients.AdminID, body: `{"type":"app-view","appId":"{a,b}"}`, field: "appId"},
		{name: "ErrAppIDFullWidth", as: clients.AdminID, body: `{"type":"app-view","appId":"ａ"}`, field: "appId"},
		// Expiries no store or JSON can hold (a second outside attack run:
		// 2400 made DELETE answer 503 for ever on Redis; year 10000 was a 500).
		{name: "ErrExpiresAtCenturiesAhead", body: `{"type":"report","reportId":"q3","expiresAt":"2400-01-01T00:00:00Z"}`, field: "expiresAt"},
		{name: "ErrExpiresAtYear9999", body: `{"type":"report","reportId":"q3","expiresAt":"9999-12-31T23:59:59Z"}`, field: "expiresAt"},
		{name: "ErrExpiresAtPastYear9999InUTC", body: `{"type":"report","reportId":"q3","expiresAt":"9999-12-31T23:59:59.999999999-23:59"}`, field: "expiresAt"},
		{name: "ErrAPIWithoutOwner", as: enviziID, body: `{"type":"api","scopes":["meta:read"]}`, field: "owner"},
		{name: "ErrExpiresAtPast", body: `{"type":"report","reportId":"q3","expiresAt":"` + past + `"}`, field: "expiresAt"},
		{name: "ErrExpiresAtNow", body: `{"type":"report","reportId":"q3","expiresAt":"` + rfc3339(epoch) + `"}`, field: "expiresAt"},
		{name: "ErrExpiresAtNotATime", body: `{"type":"report","reportId":"q3","expiresAt":"tomorrow"}`, field: "expiresAt"},
		{name: "ErrExpiresAtNumber", body: `{"type":"report","reportId":"q3","expiresAt":1999999999}`, field: "expiresAt"},
		{name: "ErrExpiresAtAndIn", body: `{"type":"report","reportId":"q3","expiresAt":"2040-01-01T00:00:00Z","expiresIn":"1d"}`, field: "expiresIn"},
		{name: "ErrUnknownPreset", body: `{"type":"report","reportId":"q3","expiresIn":"2d"}`, field: "expiresIn"},
		{name: "ErrExpiresInNumber", body: `{"type":"report","reportId":"q3","expiresIn":86400}`, field: "expiresIn"},
		{name: "ErrUnknownScope", as: enviziID, body: `{"type":"api","owner":"alice","scopes":["meta:write"]}`, field: "scopes"},
		{name: "ErrEmptyScopes", as: enviziID, body: `{"type":"api","owner":"alice","scopes":[]}`, field: "scopes"},
		{name: "ErrNoScopes", as: enviziID, body: `{"type":"api","owner":"alice"}`, field: "scopes"},
		{name: "ErrScopesNotArray", as: enviziID, body: `{"type":"api","owner":"alice","scopes":"meta:read"}`, field: "scopes"},
		{name: "ErrScopeNotString", as: enviziID, body: `{"type":"api","owner":"alice","scopes":[1]}`, field: "scopes"},
		{name: "ErrNameTooLong", body: `{"type":"report","reportId":"q3","name":"` + strings.Repeat("n", registry.MaxNameLen+1) + `"}`, field: "name"},
		{name: "ErrNameControlChar", body: `{"type":"report","reportId":"q3","name":"a\u0007b"}`, field: "name"},
		{name: "ErrNameNotString", body: `{"type":"report","reportId":"q3","name":5}`, field: "name"},
		{name: "ErrReportIDTooLong", body: `{"type":"report","reportId":"` + strings.Repeat("r", registry.MaxIDLen+1) + `"}`, field: "reportId"},
		{name: "ErrOwnerWithoutRole", as: enviziID, body: `{"type":"api","owner":"bob","scopes":["meta:read"]}`, status: 403, code: "forbidden", field: "owner"},
		{name: "ErrUnknownFieldCloud", body: `{"type":"report","reportId":"q3","cloud":true}`, field: "cloud"},
		{name: "ErrUnknownFieldURL", body: `{"type":"report","reportId":"q3","url":"https://evil.example"}`, field: "url"},
		{name: "ErrUnknownFieldStatus", body: `{"type":"report","reportId":"q3","status":"generated-active"}`, field: "status"},
		{name: "ErrGenerateNotBool", body: `{"type":"report","reportId":"q3","generate":"yes"}`, field: "generate"},
		{name: "ErrReadOnlyNotBool", body: `{"type":"report","reportId":"q3","readOnly":1}`, field: "readOnly"},
		{name: "ErrOtherTenantsReport", body: `{"type":"report","reportId":"other"}`, status: 403, code: "forbidden", field: "reportId"},
		{name: "ErrOtherTenantsApp", body: `{"type":"app-view","appId":"other"}`, status: 403, code: "forbidden", field: "appId"},
		{name: "ErrIssuerAPIToken", body: `{"type":"api","owner":"alice","scopes":["meta:read"]}`, status: 403, code: "forbidden", field: "owner"},
		{name: "ErrNotJSON", body: `{"type":"report","reportId":"q3"}`, ctype: "text/plain", status: 415, code: "unsupported_media", field: "Content-Type"},
		{name: "ErrEmptyBody", ctype: "application/json", field: ""},
		{name: "ErrArrayBody", body: `[]`, field: ""},
		{name: "ErrMalformed", body: `{"type":"report",`, field: ""},
		{name: "ErrTrailingData", body: `{"type":"report","reportId":"q3"} {}`, field: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rf := newRegAPI(t, nil)
			requireNoContent(t, rf.as(clients.AdminID, http.MethodPut, "/api/owners/alice/roles/api-tokens", ""))
			tt.run(rf)
			var list tokenPageJSON
			decodeStrict(t, rf.as(clients.AdminID, http.MethodGet, "/api/tokens", ""), http.StatusOK, &list)
			require.Empty(t, list.Tokens, "a failed create stores nothing")
		})
	}
}

func TestRegistry_ListAndUpdateErrors(t *testing.T) {
	rf := newRegAPI(t, nil)
	requireNoContent(t, rf.as(clients.AdminID, http.MethodPut, "/api/owners/alice/roles/api-tokens", ""))
	rep := rf.create(informerID, `{"type":"report","reportId":"q3","name":"Q3"}`, true)
	api := rf.create(enviziID, `{"type":"api","owner":"alice","name":"CI","scopes":["meta:read"]}`, true)
	rf.create(enviziID, `{"type":"api","owner":"alice","name":"Taken","scopes":["meta:read"]}`, true)
	var page tokenPageJSON
	decodeStrict(t, rf.as(clients.AdminID, http.MethodGet, "/api/tokens?limit=1", ""), http.StatusOK, &page)
	require.NotNil(t, page.NextCursor)
	listCursor := *page.NextCursor
	logs := "/api/tokens/" + api.ID + "/logs"
	patch := "/api/tokens/" + api.ID

	tests := []registryErrCase{
		{name: "ErrCursorGarbage", as: clients.AdminID, method: http.MethodGet, target: "/api/tokens?cursor=garbage!", field: "cursor"},
		{name: "ErrCursorForged", as: clients.AdminID, method: http.MethodGet, target: "/api/tokens?cursor=" + base64.RawURLEncoding.EncodeToString([]byte("x:y")), field: "cursor"},
		{name: "ErrCursorTooLong", as: clients.AdminID, method: http.MethodGet, target: "/api/tokens?cursor=" + strings.Repeat("A", 600), field: "cursor"},
		{name: "ErrCursorPinned", method: http.MethodGet, target: "/api/tokens?reportId=q3&cursor=garbage", field: "cursor"},
		{name: "ErrLimit201", as: clients.AdminID, method: http.MethodGet, target: "/api/tokens?limit=201", field: "limit"},
		{name: "ErrLimit0", as: clients.AdminID, method: http.MethodGet, target: "/api/tokens?limit=0", field: "limit"},
		{name: "ErrLimitNegative", as: clients.AdminID, method: http.MethodGet, target: "/api/tokens?limit=-1", field: "limit"},
		{name: "ErrLimitText", as: clients.AdminID, method: http.MethodGet, target: "/api/tokens?limit=ten", field: "limit"},
		{name: "ErrLimitEmpty", as: clients.AdminID, method: http.MethodGet, target: "/api/tokens?limit=1e2", field: "limit"},
		{name: "ErrFilterType", as: clients.AdminID, method: http.MethodGet, target: "/api/tokens?type=embed", field: "type"},
		{name: "ErrFilterStatus", as: clients.AdminID, method: http.MethodGet, target: "/api/tokens?status=active", field: "status"},
		{name: "ErrMisspeltFilter", as: clients.AdminID, method: http.MethodGet, target: "/api/tokens?reportid=q3", field: "reportid"},
		{name: "ErrRepeatedFilter", as: clients.AdminID, method: http.MethodGet, target: "/api/tokens?type=api&type=report", field: "type"},
		{name: "ErrOtherResourceListing", method: http.MethodGet, target: "/api/tokens?reportId=other", status: 404, code: "not_found"},
		{name: "ErrLogsCursorGarbage", as: enviziID, method: http.MethodGet, target: logs + "?cursor=garbage", field: "cursor"},
		{name: "ErrLogsListingCursor", as: enviziID, method: http.MethodGet, target: logs + "?cursor=" + listCursor, field: "cursor"},
		{name: "ErrLogsLimit201", as: enviziID, method: http.MethodGet, target: logs + "?limit=201", field: "limit"},
		{name: "ErrLogsUnknownParam", as: enviziID, method: http.MethodGet, target: logs + "?since=1", field: "since"},
		{name: "ErrReportListingParam", method: http.MethodGet, target: "/api/reports/q3/tokens?limit=5", field: "limit"},
		{name: "ErrPatchNothing", as: enviziID, method: http.MethodPatch, target: patch, body: `{}`, field: ""},
		{name: "ErrPatchNullOnly", as: enviziID, method: http.MethodPatch, target: patch, body: `{"name":null}`, field: ""},
		{name: "ErrPatchEmptyName", as: enviziID, method: http.MethodPatch, target: patch, body: `{"name":""}`, field: "name"},
		{name: "ErrPatchLongName", as: enviziID, method: http.MethodPatch, target: patch, body: `{"name":"` + strings.Repeat("n", 201) + `"}`, field: "name"},
		{name: "ErrPatchNameTaken", as: enviziID, method: http.MethodPatch, target: patch, body: `{"name":"Taken"}`, status: 409, code: "conflict", field: "name"},
		{name: "ErrPatchUnknownScope", as: enviziID, method: http.MethodPatch, target: patch, body: `{"scopes":["root"]}`, field: "scopes"},
		{name: "ErrPatchEmptyScopes", as: enviziID, method: http.MethodPatch, target: patch, body: `{"scopes":[]}`, field: "scopes"},
		{name: "ErrPatchScopesNotArray", as: enviziID, method: http.MethodPatch, target: patch, body: `{"scopes":"meta:read"}`, field: "scopes"},
		{name: "ErrPatchOwner", as: enviziID, method: http.MethodPatch, target: patch, body: `{"owner":"mallory"}`, field: "owner"},
		{name: "ErrPatchExpiry", as: enviziID, method: http.MethodPatch, target: patch, body: `{"expiresIn":"never"}`, field: "expiresIn"},
		{name: "ErrPatchNotJSON", as: enviziID, method: http.MethodPatch, target: patch, body: `{"name":"x"}`, ctype: "application/merge-patch+json", status: 415, code: "unsupported_media", field: "Content-Type"},
		{name: "ErrPatchUnknownID", as: enviziID, method: http.MethodPatch, target: "/api/tokens/nope", body: `{"name":"x"}`, status: 404, code: "not_found"},
		{name: "ErrGenerateUnknownID", method: http.MethodPost, target: "/api/tokens/nope/_generate", status: 404, code: "not_found"},
		{name: "ErrRoleBadOwner", as: clients.AdminID, method: http.MethodPut, target: "/api/owners/a%07b/roles/api-tokens", field: "owner"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rf.tb = t
			defer func() { rf.tb = nil }()
			tt.run(rf)
		})
	}
	rf.tb = t
	// Nothing changed.
	got := rf.get(enviziID, api.ID)
	require.Equal(t, "CI", got.Name)
	require.Equal(t, []string{"meta:read"}, got.Scopes)
	require.Equal(t, "Q3", rf.get(informerID, rep.ID).Name)
}

func TestRegistry_Paging(t *testing.T) {
	rf := newRegAPI(t, nil)
	var ids []string
	for i := range 5 {
		ids = append(ids, rf.create(informerID, fmt.Sprintf(`{"type":"report","reportId":"q3","name":"r%d"}`, i), true).ID)
		rf.clock.Advance(time.Second)
	}
	rf.create(informerID, `{"type":"report","reportId":"q4","name":"other report"}`, true)
	slices.Reverse(ids) // newest first
	for _, as := range []string{informerID, clients.AdminID} {
		var seen []string
		target := "/api/tokens?reportId=q3&limit=2"
		for pages := 0; ; pages++ {
			require.Less(t, pages, 3)
			var page tokenPageJSON
			decodeStrict(t, rf.as(as, http.MethodGet, target, ""), http.StatusOK, &page)
			for _, tj := range page.Tokens {
				require.Empty(t, tj.Token)
				require.NotEmpty(t, tj.TokenHint)
				seen = append(seen, tj.ID)
			}
			if page.NextCursor == nil {
				break
			}
			target = "/api/tokens?reportId=q3&limit=2&cursor=" + url.QueryEscape(*page.NextCursor)
		}
		require.Equal(t, ids, seen, as)
	}
	var all tokenPageJSON
	decodeStrict(t, rf.as(clients.AdminID, http.MethodGet, "/api/tokens?type=report", ""), http.StatusOK, &all)
	require.Len(t, all.Tokens, 6)
}

// TestRegistry_OtherTenant: an issuer probing another tenant's token ids,
// report and app listings gets the 404 of a missing record, and changes nothing.
func TestRegistry_OtherTenant(t *testing.T) {
	rf := newRegAPI(t, nil)
	rep := rf.create(informerID, `{"type":"report","reportId":"q3","name":"Q3"}`, true)
	app := rf.create(informerID, `{"type":"app-view","appId":"analytics","name":"Kiosk"}`, true)
	missing := rf.as(rivalID, http.MethodGet, "/api/tokens/00000000-0000-0000-0000-000000000000", "")
	requireError(t, missing, http.StatusNotFound, "not_found", "")
	for _, id := range []string{rep.ID, app.ID} {
		for _, req := range []struct{ method, target, body string }{
			{http.MethodGet, "/api/tokens/" + id, ""},
			{http.MethodPatch, "/api/tokens/" + id, `{"name":"mine now"}`},
			{http.MethodDelete, "/api/tokens/" + id, ""},
			{http.MethodPost, "/api/tokens/" + id + "/_generate", ""},
			{http.MethodGet, "/api/tokens/" + id + "/logs", ""},
		} {
			rec := rf.as(rivalID, req.method, req.target, req.body)
			requireError(t, rec, http.StatusNotFound, "not_found", "")
			require.Equal(t, missing.Body.String(), rec.Body.String(), "%s %s: same answer as a missing record", req.method, req.target)
		}
	}
	for _, target := range []string{
		"/api/reports/q3/tokens", "/api/apps/analytics/tokens",
		"/api/tokens?reportId=q3", "/api/tokens?appId=analytics",
	} {
		requireError(t, rf.as(rivalID, http.MethodGet, target, ""), http.StatusNotFound, "not_found", "")
	}
	// Unpinned listings list the rival's own records (issue 14): none of the informer's.
	for _, target := range []string{"/api/tokens", "/api/tokens?type=report", "/api/tokens?type=app-view"} {
		rec := rf.as(rivalID, http.MethodGet, target, "")
		require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
		require.JSONEq(t, `{"tokens":[],"nextCursor":null}`, rec.Body.String(), target)
	}
	// The dashboard client holds no report or app resources either.
	requireError(t, rf.as(dashID, http.MethodGet, "/api/tokens/"+rep.ID, ""), http.StatusNotFound, "not_found", "")
	// Nothing changed, nothing was logged by the rival.
	require.Equal(t, "Q3", rf.get(informerID, rep.ID).Name)
	require.Equal(t, http.StatusOK, rf.verify(rep.Token).Code)
	require.Equal(t, http.StatusOK, rf.verify(app.Token).Code)
	rf.rec.flush(t)
	require.Equal(t, []string{"AUTHENTICATE OK verify", "GENERATE OK informer", "CREATE OK informer"}, rf.activity(informerID, rep.ID))
	// The rival's own resources are its own.
	rf.create(rivalID, `{"type":"report","reportId":"other"}`, true)
}

func TestRegistry_Auth(t *testing.T) {
	rf := newRegAPI(t, nil)
	rep := rf.create(informerID, `{"type":"report","reportId":"q3"}`, true)
	routes := []struct{ method, target string }{
		{http.MethodPost, "/api/tokens"},
		{http.MethodGet, "/api/tokens"},
		{http.MethodGet, "/api/tokens/" + rep.ID},
		{http.MethodPatch, "/api/tokens/" + rep.ID},
		{http.MethodDelete, "/api/tokens/" + rep.ID},
		{http.MethodPost, "/api/tokens/" + rep.ID + "/_generate"},
		{http.MethodGet, "/api/tokens/" + rep.ID + "/logs"},
		{http.MethodPost, "/api/tokens/_cleanup"},
		{http.MethodGet, "/api/reports/q3/tokens"},
		{http.MethodGet, "/api/apps/analytics/tokens"},
		{http.MethodPut, "/api/owners/alice/roles/api-tokens"},
		{http.MethodDelete, "/api/owners/alice/roles/api-tokens"},
	}
	for i, r := range routes {
		requireClientUnauthorized(t, rf.do(r.method, r.target, ""))
		requireClientUnauthorized(t, rf.do(r.method, r.target, "", "Authorization", "Bearer "+rep.Token))
		// Wrong secrets and unknown clients, each from an address and under
		// a client id of its own: under the rate limit.
		addr := fmt.Sprintf("192.0.2.%d:1", 100+i)
		requireClientUnauthorized(t, rf.asFrom(addr, fmt.Sprintf("issuer-%d", i), "wrong", r.method, r.target, ""))
		requireClientUnauthorized(t, rf.asFrom(addr, fmt.Sprintf("nobody-%d", i), rf.informer, r.method, r.target, ""))
	}
	// Admin routes refuse issuers.
	for _, r := range routes[7:] {
		if r.target == "/api/reports/q3/tokens" || r.target == "/api/apps/analytics/tokens" {
			continue
		}
		requireError(t, rf.as(informerID, r.method, r.target, ""), http.StatusForbidden, "forbidden", "")
	}
	// Unknown routes and methods stay 404 and 405.
	requireError(t, rf.do(http.MethodPost, "/api/v1/nope", ""), http.StatusNotFound, "not_found", "")
	requireError(t, rf.do(http.MethodGet, "/api/nope", ""), http.StatusNotFound, "not_found", "")
	requireError(t, rf.as(clients.AdminID, http.MethodGet, "/api/owners/alice/roles/admin", ""), http.StatusNotFound, "not_found", "")
	requireError(t, rf.as(clients.AdminID, http.MethodPut, "/api/tokens", ""), http.StatusMethodNotAllowed, "method_not_allowed", "")
	requireError(t, rf.as(clients.AdminID, http.MethodGet, "/api/tokens/"+rep.ID+"/_generate", ""), http.StatusMethodNotAllowed, "method_not_allowed", "")
}

// TestServer_AuthRateLimit: failed client authentication is limited per
// client id and per address, counted in the shared store.
func TestServer_AuthRateLimit(t *testing.T) {
	const home, elsewhere = "192.0.2.10:40000", "198.51.100.7:5555"
	retry := strconv.Itoa(int(authWindow / time.Second))
	requireLimited := func(tb testing.TB, rec *httptest.ResponseRecorder) {
		tb.Helper()
		requireError(tb, rec, http.StatusTooManyRequests, "rate_limited", "")
		require.Equal(tb, retry, rec.Header().Get("Retry-After"))
	}

	t.Run("OKRightSecretFromElsewhere", func(t *testing.T) {
		rf := newRegAPI(t, nil)
		for range maxFailures {
			requireClientUnauthorized(t, rf.asFrom(home, informerID, "wrong", http.MethodGet, "/api/reports/q3/tokens", ""))
		}
		requireLimited(t, rf.asFrom(home, informerID, "wrong", http.MethodGet, "/api/reports/q3/tokens", ""))
		// This address is blocked on this client id, even with the right
		// secret (the guesser learns nothing) ...
		requireLimited(t, rf.asFrom(home, informerID, rf.informer, http.MethodGet, "/api/reports/q3/tokens", ""))
		// ... but not on other ids: other clients behind the same address
		// keep working (issue 12 B10) ...
		require.Equal(t, http.StatusOK, rf.asFrom(home, enviziID, rf.envizi, http.MethodGet, "/api/tokens?type=api&owner=alice", "").Code)
		// ... and the client is not locked out elsewhere.
		require.Equal(t, http.StatusOK, rf.asFrom(elsewhere, informerID, rf.informer, http.MethodGet, "/api/reports/q3/tokens", "").Code)
		// A wrong secret for that client from anywhere is over its limit.
		requireLimited(t, rf.asFrom(elsewhere, informerID, "wrong", http.MethodGet, "/api/reports/q3/tokens", ""))
		// The window passes.
		rf.clock.Advance(authWindow)
		require.Equal(t, http.StatusOK, rf.asFrom(home, informerID, rf.informer, http.MethodGet, "/api/reports/q3/tokens", "").Code)
		requireClientUnauthorized(t, rf.asFrom(home, informerID, "wrong", http.MethodGet, "/api/reports/q3/tokens", ""))
	})

	t.Run("OKSuccessIsNotCounted", func(t *testing.T) {
		rf := newRegAPI(t, nil)
		for range 3 * maxFailures {
			require.Equal(t, http.StatusOK, rf.asFrom(home, informerID, rf.informer, http.MethodGet, "/api/reports/q3/tokens", "").Code)
		}
		for range maxFailures {
			requireClientUnauthorized(t, rf.asFrom(home, informerID, "wrong", http.MethodGet, "/api/reports/q3/tokens", ""))
		}
		requireLimited(t, rf.asFrom(home, informerID, "wrong", http.MethodGet, "/api/reports/q3/tokens", ""))
	})

	t.Run("ErrPerClientAcrossAddresses", func(t *testing.T) {
		rf := newRegAPI(t, nil)
		for i := range maxFailures {
			requireClientUnauthorized(t, rf.asFrom(fmt.Sprintf("203.0.113.%d:1", i+1), clients.AdminID, "guess", http.MethodGet, "/api/tokens", ""))
		}
		requireLimited(t, rf.asFrom("203.0.113.99:1", clients.AdminID, "guess", http.MethodGet, "/api/tokens", ""))
		require.Equal(t, http.StatusOK, rf.asFrom("203.0.113.100:1", clients.AdminID, rf.adminSecret, http.MethodGet, "/api/tokens", "").Code)
	})

	t.Run("ErrPerAddressAcrossClients", func(t *testing.T) {
		rf := newRegAPI(t, nil)
		for i := range maxFailures {
			requireClientUnauthorized(t, rf.asFrom(home, fmt.Sprintf("client-%d", i), "guess", http.MethodGet, "/api/tokens", ""))
		}
		requireLimited(t, rf.asFrom(home, "client-x", "guess", http.MethodGet, "/api/tokens", ""))
	})

	t.Run("ErrIPv6ByPrefix", func(t *testing.T) {
		rf := newRegAPI(t, nil)
		for i := range maxFailures {
			requireClientUnauthorized(t, rf.asFrom(fmt.Sprintf("[2001:db8:1:2::%x]:443", i+1), fmt.Sprintf("c%d", i), "guess", http.MethodGet, "/api/tokens", ""))
		}
		requireLimited(t, rf.asFrom("[2001:db8:1:2:ffff::1]:443", "c-last", "guess", http.MethodGet, "/api/tokens", ""))
		require.Equal(t, http.StatusOK, rf.asFrom("[2001:db8:1:3::1]:443", informerID, rf.informer, http.MethodGet, "/api/reports/q3/tokens", "").Code)
	})

	t.Run("ErrAcrossInstances", func(t *testing.T) {
		rf := newRegAPI(t, nil)
		other := httpapi.New(rf.cfg) // a second instance on the same stores
		req := func(addr string) *http.Request {
			r := httptest.NewRequest(http.MethodGet, "/api/reports/q3/tokens", nil)
			r.SetBasicAuth(informerID, "wrong")
			r.RemoteAddr = addr
			return r
		}
		for i := range maxFailures {
			if i%2 == 0 {
				requireClientUnauthorized(t, rf.serve(req(home)))
			} else {
				requireClientUnauthorized(t, rf.serveOn(other, req(home)))
			}
		}
		requireLimited(t, rf.serveOn(other, req(home)))
		requireLimited(t, rf.serve(req(home)))
	})

	t.Run("ErrMint", func(t *testing.T) {
		rf := newRegAPI(t, nil)
		mintFrom := func(addr, secret string) *httptest.ResponseRecorder {
			r := httptest.NewRequest(http.MethodPost, "/api/v1/token", strings.NewReader(mustJSON(rf.mintBody(map[string]any{"dashboardSecret": secret}))))
			r.Header.Set("Content-Type", "application/json")
			r.RemoteAddr = addr
			return rf.serve(r)
		}
		for range maxFailures {
			requireClientUnauthorized(t, mintFrom(home, "wrong"))
		}
		rec := mintFrom(home, "wrong")
		requireLimited(t, rec)
		require.NotContains(t, rec.Body.String(), "accessToken")
		requireLimited(t, mintFrom(home, rf.dashSecret))
		rf.tokenOK(mintFrom(elsewhere, rf.dashSecret))
		// Dashboard and client authentication share the client's count.
		requireLimited(t, rf.asFrom(elsewhere, dashID, "wrong", http.MethodPost, "/api/v1/introspect", ""))
	})
}

// TestRegistry_StoreUnavailable: a denylist that can't be written makes
// DELETE and _generate 503 + Retry-After, never a false success, and the
// token still verifies; a registry store outage is a 503 too.
func TestRegistry_StoreUnavailable(t *testing.T) {
	t.Run("ErrDeleteDenylistDown", func(t *testing.T) {
		rf := newRegAPI(t, nil, withStore(func(m *memory.Store) apiStore { return failingDenyStore{m} }))
		tj := rf.create(informerID, `{"type":"report","reportId":"q3","name":"Q3"}`, true)
		for _, req := range []struct{ method, target string }{
			{http.MethodDelete, "/api/tokens/" + tj.ID},
			{http.MethodPost, "/api/tokens/" + tj.ID + "/_generate"},
		} {
			rec := rf.as(informerID, req.method, req.target, "")
			rf.expectServerError(rec)
			requireError(t, rec, http.StatusServiceUnavailable, "unavailable", "")
			require.Equal(t, strconv.Itoa(int(retryAfter/time.Second)), rec.Header().Get("Retry-After"))
			require.NotContains(t, rec.Body.String(), "refused")
		}
		require.Equal(t, http.StatusOK, rf.verify(tj.Token).Code)
		got := rf.get(informerID, tj.ID)
		require.Equal(t, string(registry.StatusGeneratedInactive), got.Status)
		require.Equal(t, tj.TokenHint, got.TokenHint)
		require.Equal(t, []string{"GENERATE OK informer", "CREATE OK informer"}, rf.activity(informerID, tj.ID))
	})

	t.Run("ErrRegistryStoreDown", func(t *testing.T) {
		rf := newRegAPI(t, []regOption{withRegistryStore(func(m *memory.Registry) registry.Store { return failingRegistry{m} })})
		tj := rf.create(informerID, `{"type":"report","reportId":"q3"}`, true)
		for _, target := range []string{"/api/reports/q3/tokens", "/api/tokens?reportId=q3", "/api/tokens/" + tj.ID + "/logs"} {
			rec := rf.as(informerID, http.MethodGet, target, "")
			rf.expectServerError(rec)
			requireError(t, rec, http.StatusServiceUnavailable, "unavailable", "")
			require.NotEmpty(t, rec.Header().Get("Retry-After"))
			require.NotContains(t, rec.Body.String(), "timeout")
		}
	})
}

// TestRegistry_RecordsUse: verification and introspection hand uses of
// registered tokens to the Recorder; failures only for genuine tokens
// rejected as revoked or expired.
func TestRegistry_RecordsUse(t *testing.T) {
	rf := newRegAPI(t, nil)
	rep := rf.create(informerID, `{"type":"report","reportId":"q3","expiresIn":"1d"}`, true)
	app := rf.create(informerID, `{"type":"app-view","appId":"analytics"}`, true)

	// Not registered, forged, or not a token: nothing recorded.
	embed := rf.mint(nil).AccessToken
	require.Equal(t, http.StatusOK, rf.verify(embed).Code)
	requireInvalidToken(t, rf.verify(flipSpareBit(t, rep.Token)), descMalformed)
	forged := newAttacker(t).sign(rf.fixture, rf.hdr("EdDSA", ""), rf.payload(map[string]any{"tt": "report", "reportId": "q3", "tid": rep.ID}))
	requireInvalidToken(t, rf.verify(forged), descSignature)
	rf.do(http.MethodGet, "/api/v1/verify?token=x.y.z", "")
	require.Zero(t, rf.rec.pending())

	// Introspection by a client that may see the token records a use; by
	// another tenant it records nothing.
	requireInactive(t, introspect(rf.fixture, rep.Token, rivalID, rf.rival))
	require.Zero(t, rf.rec.pending())
	rec := introspect(rf.fixture, rep.Token, informerID, rf.informer)
	require.Equal(t, http.StatusOK, rec.Code)
	require.Contains(t, rec.Body.String(), `"tid":"`+rep.ID+`"`)
	require.Equal(t, 1, rf.rec.pending())

	// Expired: a FAIL, by verify and by introspection.
	rf.clock.Advance(24*time.Hour + testLeeway + time.Second)
	requireInvalidToken(t, rf.verify(rep.Token), descExpired)
	requireInactive(t, introspect(rf.fixture, rep.Token, informerID, rf.informer))
	requireInactive(t, introspect(rf.fixture, rep.Token, rivalID, rf.rival))
	// Revoked: a FAIL.
	requireNoContent(t, rf.as(informerID, http.MethodDelete, "/api/tokens/"+app.ID, ""))
	requireInvalidToken(t, rf.verify(app.Token), descRevoked)
	rf.rec.flush(t)
	require.Equal(t, []string{"AUTHENTICATE FAIL verify", "AUTHENTICATE FAIL verify", "AUTHENTICATE OK verify", "GENERATE OK informer", "CREATE OK informer"},
		rf.activity(informerID, rep.ID))
	require.Equal(t, []string{"AUTHENTICATE FAIL verify", "REVOKE OK informer", "GENERATE OK informer", "CREATE OK informer"},
		rf.activity(clients.AdminID, app.ID))
}

// TestRegistry_Reveal: with registry.reveal_tokens on, reads and listings
// show the current JWT again; without it they never do.
func TestRegistry_Reveal(t *testing.T) {
	rf := newRegAPI(t, []regOption{withReveal()})
	rep := rf.create(informerID, `{"type":"report","reportId":"q3","name":"Q3"}`, true)
	app := rf.create(informerID, `{"type":"app-view","appId":"analytics"}`, true)
	notYet := rf.create(informerID, `{"type":"report","reportId":"q3","name":"later","generate":false}`, false)

	require.Equal(t, rep.Token, rf.get(informerID, rep.ID).Token)
	require.Empty(t, rf.get(informerID, notYet.ID).Token)
	var list struct {
		Tokens  []tokenJSON `json:"tokens"`
		Warning *struct{}   `json:"warning"`
	}
	decodeStrict(t, rf.as(informerID, http.MethodGet, "/api/reports/q3/tokens", ""), http.StatusOK, &list)
	require.Len(t, list.Tokens, 2)
	for _, tj := range list.Tokens {
		switch tj.ID {
		case rep.ID:
			require.Equal(t, rep.Token, tj.Token)
		case notYet.ID:
			require.Empty(t, tj.Token)
		default:
			t.Fatalf("unexpected token %s", tj.ID)
		}
	}
	var hal struct {
		Embedded struct {
			AppTokens []tokenJSON `json:"inf:app-token"`
		} `json:"_embedded"`
	}
	rec := rf.as(informerID, http.MethodGet, "/api/apps/analytics/tokens", "")
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &hal))
	require.Equal(t, app.Token, hal.Embedded.AppTokens[0].Token)

	// After a new generation the listing shows the new JWT.
	regen := rf.generate(informerID, rep.ID)
	require.Equal(t, regen.Token, rf.get(informerID, rep.ID).Token)
	// PATCH answers never carry it.
	tokenOf(t, rf.as(informerID, http.MethodPatch, "/api/tokens/"+rep.ID, `{"name":"Q3 renamed"}`), http.StatusOK, false)
	// Nor do the logs.
	require.NotContains(t, rf.as(informerID, http.MethodGet, "/api/tokens/"+rep.ID+"/logs", "").Body.String(), `"token"`)
}

// TestRegistry_PathEscaping: resource ids travel escaped in paths and come
// back in links escaped.
func TestRegistry_PathEscaping(t *testing.T) {
	var secret string
	rf := newRegAPI(t, nil, withClient(clients.NewClient{ID: "odd", Resources: []string{"app:a.b:c"}}, &secret))
	rec := rf.asClient(http.MethodPost, "/api/tokens", `{"type":"app-view","appId":"a.b:c"}`, "odd", secret)
	require.Equal(t, http.StatusCreated, rec.Code, rec.Body.String())
	rec = rf.asClient(http.MethodGet, "/api/apps/a.b%3Ac/tokens", "", "odd", secret)
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	require.Contains(t, rec.Body.String(), `"href":"/api/apps/a.b:c/tokens"`)
	// An escaped slash is part of the id, not a path separator.
	requireError(t, rf.asClient(http.MethodGet, "/api/apps/a.b%2Fc/tokens", "", "odd", secret), http.StatusNotFound, "not_found", "")
	rec = rf.as(clients.AdminID, http.MethodGet, "/api/apps/a%2Fb/tokens", "")
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	require.Contains(t, rec.Body.String(), `"href":"/api/apps/a%2Fb/tokens"`)
}
