package httpapi_test

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/sigil-dev/sigil/internal/clients"
	"github.com/sigil-dev/sigil/internal/httpapi"
	"github.com/sigil-dev/sigil/internal/token"
)

// Tests of issue 12, part C (registry integrity) and A4/A5, over HTTP.

const tenantBID = "tenant-b"

// withTenantB adds a second tenant whose resources cover everyone's
// reports and apps, as a cloud set up per the README gives each tenant.
func withTenantB(secret *string) func(*fixture) {
	return withClient(clients.NewClient{ID: tenantBID, Resources: []string{"report:*", "app:*"}}, secret)
}

// jwtClaims decodes a JWT's payload without verifying it.
func jwtClaims(tb testing.TB, jwt string) map[string]any {
	tb.Helper()
	parts := strings.Split(jwt, ".")
	require.Len(tb, parts, 3)
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	require.NoError(tb, err)
	var m map[string]any
	require.NoError(tb, json.Unmarshal(b, &m))
	return m
}

// TestRegistry_TokenWithoutLiveRecordIs401: a token of a registered kind
// is valid only as its record's current generation — not without a tid
// (sigil token mint --offline), not with the tid of a record that does not
// exist, that holds another generation, or that is of another kind — on
// verify, introspect and /view alike (A4).
func TestRegistry_TokenWithoutLiveRecordIs401(t *testing.T) {
	rf := newRegAPI(t, nil, func(f *fixture) {
		f.tweak = func(cfg *httpapi.Config) { cfg.ViewURLTemplate = viewTemplate }
	})
	rep := rf.create(informerID, `{"type":"report","reportId":"q3"}`, true)
	app := rf.create(informerID, `{"type":"app-view","appId":"analytics"}`, true)
	require.Equal(t, http.StatusOK, rf.verify(rep.Token).Code, "the record's own JWT")

	attacks := map[string]struct {
		tok  string
		desc string
	}{
		"NoTIDLikeAnOfflineMint":   {rf.track(rf.genuine(map[string]any{"tt": "report", "reportId": "q3", "dashboardId": nil, "scope": nil})), descClaims},
		"TIDOfNoRecord":            {rf.mintDirect(token.Claims{Kind: token.KindReport, ReportID: "q3", TID: "no-such-record"}, time.Hour), descRevoked},
		"ForeignJTIForARealRecord": {rf.mintDirect(token.Claims{Kind: token.KindReport, ReportID: "q3", TID: rep.ID}, time.Hour), descRevoked},
		"ReportTokenOnAnAppRecord": {rf.mintDirect(token.Claims{Kind: token.KindReport, ReportID: "q3", TID: app.ID}, time.Hour), descRevoked},
		"OutlivesItsRecord": {rf.mintDirect(token.Claims{Kind: token.KindReport, ReportID: "q3", TID: rf.create(informerID,
			`{"type":"report","reportId":"q3","name":"short","expiresIn":"1d"}`, true).ID}, 48*time.Hour), descRevoked},
	}
	for name, a := range attacks {
		t.Run(name, func(t *testing.T) {
			requireInvalidToken(t, rf.verify(a.tok), a.desc)
			requireInvalidToken(t, rf.forward(a.tok, http.MethodGet, "/api/reports/q3", true), a.desc)
			requireInactive(t, introspect(rf.fixture, a.tok, informerID, rf.informer))
			rec := rf.do(http.MethodGet, "/view/"+a.tok, "")
			requireExpiredPage(t, rec, rec.Body.String(), a.tok)
		})
	}
	require.Equal(t, http.StatusOK, rf.verify(rep.Token).Code, "the genuine token still verifies")
}

// TestRegistry_ScopesOnlyOnAPITokens: a report or app-view token with
// scopes is refused at creation and at PATCH, naming scopes (A5).
func TestRegistry_ScopesOnlyOnAPITokens(t *testing.T) {
	rf := newRegAPI(t, nil)
	for _, body := range []string{
		`{"type":"report","reportId":"q3","scopes":["report:read"]}`,
		`{"type":"app-view","appId":"analytics","scopes":["meta:read"]}`,
	} {
		requireError(t, rf.as(informerID, http.MethodPost, "/api/tokens", body), http.StatusBadRequest, "invalid_request", "scopes")
	}
	app := rf.create(informerID, `{"type":"app-view","appId":"analytics"}`, true)
	requireError(t, rf.as(informerID, http.MethodPatch, "/api/tokens/"+app.ID, `{"scopes":["meta:read"]}`), http.StatusBadRequest, "invalid_request", "scopes")
	rec := rf.verify(app.Token)
	require.Equal(t, http.StatusOK, rec.Code)
	require.Empty(t, rec.Header().Get(httpapi.HeaderScope), "no scope reaches the upstream")
}

// TestRegistry_ConcurrentGenerateLeavesOneLiveJWT: 20 concurrent
// _generate calls on one record: exactly one of the JWTs they return
// verifies, and it is the record's current one (C13: 5–8 stayed valid).
func TestRegistry_ConcurrentGenerateLeavesOneLiveJWT(t *testing.T) {
	rf := newRegAPI(t, nil)
	rep := rf.create(informerID, `{"type":"report","reportId":"q3"}`, true)
	const n = 20
	jwts := make([]string, n)
	codes := make([]int, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			rec := rf.as(informerID, http.MethodPost, "/api/tokens/"+rep.ID+"/_generate", "")
			codes[i] = rec.Code
			if rec.Code == http.StatusOK {
				var tj tokenJSON
				require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &tj))
				jwts[i] = tj.Token
			}
		}()
	}
	close(start)
	wg.Wait()
	live := 0
	var liveJWT string
	for i, jwt := range append(jwts, rep.Token) {
		if i < n {
			require.Contains(t, []int{http.StatusOK, http.StatusConflict}, codes[i])
		}
		if jwt == "" {
			continue
		}
		if rf.verify(jwt).Code == http.StatusOK {
			live++
			liveJWT = jwt
		}
	}
	require.Equal(t, 1, live, "exactly one JWT of the record is live")
	require.Equal(t, liveJWT[len(liveJWT)-6:], rf.get(informerID, rep.ID).TokenHint, "the live one is the record's current one")
}

// TestRegistry_PresentingALinkCannotRevokeIt: invalidate-token with a
// report or app-view token is 403 (anyone holding a public link could kill
// it for everyone, and the record would not know); RFC 7009 revoke is for
// the client that manages the record, and then the record and its log say
// so (C14).
func TestRegistry_PresentingALinkCannotRevokeIt(t *testing.T) {
	var tenantB string
	rf := newRegAPI(t, nil, withTenantB(&tenantB))
	rep := rf.create(informerID, `{"type":"report","reportId":"q3"}`, true)
	app := rf.create(informerID, `{"type":"app-view","appId":"analytics"}`, true)

	for _, tok := range []string{rep.Token, app.Token} {
		rec := rf.bearer(http.MethodPost, "/api/v1/invalidate-token", tok)
		e := requireError(t, rec, http.StatusForbidden, "forbidden", "")
		require.Contains(t, e.Error.Message, "DELETE /api/tokens/{id}")
		require.Equal(t, http.StatusOK, rf.verify(tok).Code, "the link still works for everyone")
	}
	revoke := func(id, secret, tok string) int {
		return rf.postForm("/api/v1/revoke", url.Values{"token": {tok}}, id, secret).Code
	}
	require.Equal(t, http.StatusForbidden, revoke(rivalID, rf.rival, rep.Token), "a client without the resource")
	require.Equal(t, http.StatusForbidden, revoke(tenantBID, tenantB, rep.Token), "another tenant with a matching pattern")
	require.Equal(t, http.StatusOK, rf.verify(rep.Token).Code)
	require.NotContains(t, strings.Join(rf.activity(informerID, rep.ID), "\n"), "REVOKE")

	// An older generation presented by the owner: denied (already), the
	// record and its current JWT untouched.
	cur := rf.generate(informerID, rep.ID)
	require.Equal(t, http.StatusOK, revoke(informerID, rf.informer, rep.Token))
	require.Equal(t, http.StatusOK, rf.verify(cur.Token).Code)
	got := rf.get(informerID, rep.ID)
	require.Equal(t, "generated-inactive", got.Status)
	require.Equal(t, cur.TokenHint, got.TokenHint)

	// The current one, by its owner: the record is revoked and says so.
	require.Equal(t, http.StatusOK, revoke(informerID, rf.informer, cur.Token))
	requireInvalidToken(t, rf.verify(cur.Token), descRevoked)
	require.Equal(t, "revoked", rf.get(informerID, rep.ID).Status, "kept, revoked (issue 14)")
	require.Equal(t, "REVOKE OK "+informerID, rf.activity(clients.AdminID, rep.ID)[0])
}

// TestRegistry_OtherTenantCannotTouchAToken: on a shared deployment a
// second tenant whose resource patterns match (report:*) gets 404 on every
// route of another tenant's token and never sees it listed (C15).
func TestRegistry_OtherTenantCannotTouchAToken(t *testing.T) {
	var tenantB string
	rf := newRegAPI(t, nil, withTenantB(&tenantB))
	rep := rf.create(informerID, `{"type":"report","reportId":"q3"}`, true)
	app := rf.create(informerID, `{"type":"app-view","appId":"analytics"}`, true)
	own := rf.asClient(http.MethodPost, "/api/tokens", `{"type":"report","reportId":"q3","name":"mine"}`, tenantBID, tenantB)
	require.Equal(t, http.StatusCreated, own.Code, own.Body.String())
	var mine tokenJSON
	require.NoError(t, json.Unmarshal(own.Body.Bytes(), &mine))

	asB := func(method, target, body string) int {
		return rf.asClient(method, target, body, tenantBID, tenantB).Code
	}
	for _, id := range []string{rep.ID, app.ID} {
		for _, r := range []struct{ method, path, body string }{
			{http.MethodGet, "/api/tokens/" + id, ""},
			{http.MethodPatch, "/api/tokens/" + id, `{"name":"pwned"}`},
			{http.MethodPost, "/api/tokens/" + id + "/_generate", ""},
			{http.MethodGet, "/api/tokens/" + id + "/logs", ""},
			{http.MethodDelete, "/api/tokens/" + id, ""},
		} {
			require.Equal(t, http.StatusNotFound, asB(r.method, r.path, r.body), "%s %s", r.method, r.path)
		}
	}
	for _, path := range []string{"/api/tokens?reportId=q3", "/api/reports/q3/tokens", "/api/tokens?appId=analytics", "/api/apps/analytics/tokens"} {
		rec := rf.asClient(http.MethodGet, path, "", tenantBID, tenantB)
		require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
		require.NotContains(t, rec.Body.String(), rep.ID, path)
		require.NotContains(t, rec.Body.String(), app.ID, path)
	}
	rec := rf.asClient(http.MethodGet, "/api/tokens?reportId=q3", "", tenantBID, tenantB)
	require.Contains(t, rec.Body.String(), mine.ID, "its own token is listed")
	require.Equal(t, http.StatusOK, rf.verify(rep.Token).Code, "A's token survived")
	require.Equal(t, rep.Name, rf.get(informerID, rep.ID).Name)
	require.Equal(t, http.StatusOK, rf.as(clients.AdminID, http.MethodGet, "/api/tokens/"+rep.ID, "").Code, "admins see everything")
}

// TestRevokeAll_SignInRightAfterLives: revoke-all for a subject, then a
// token minted a millisecond later (same second) verifies, and one minted
// before it does not (C16: the cutoff compared whole seconds).
func TestRevokeAll_SignInRightAfterLives(t *testing.T) {
	f := newAPI(t)
	f.clock.Advance(400 * time.Millisecond)
	before := f.mint(map[string]any{"sub": "alice"}).AccessToken
	f.clock.Advance(time.Millisecond)
	rec := f.asAdmin(http.MethodPost, "/api/v1/revoke-all", `{"sub":"alice"}`)
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	f.clock.Advance(time.Millisecond)
	after := f.mint(map[string]any{"sub": "alice"}).AccessToken
	requireInvalidToken(t, f.verify(before), descRevoked)
	require.Equal(t, http.StatusOK, f.verify(after).Code, "signed in again right after revoke-all")
}

// TestRegistry_ExpiresAtIsExact: a token created with expiresAt carries
// exactly that exp, whatever the milliseconds of the clock (C17).
func TestRegistry_ExpiresAtIsExact(t *testing.T) {
	rf := newRegAPI(t, nil)
	rf.clock.Advance(750 * time.Millisecond)
	rep := rf.create(informerID, `{"type":"report","reportId":"q3","expiresAt":"2032-01-01T00:00:00Z"}`, true)
	want := time.Date(2032, 1, 1, 0, 0, 0, 0, time.UTC)
	require.EqualValues(t, want.Unix(), jwtClaims(t, rep.Token)["exp"])
	require.True(t, want.Equal(*rep.ExpiresAt))
	gen := rf.generate(informerID, rep.ID)
	require.EqualValues(t, want.Unix(), jwtClaims(t, gen.Token)["exp"])

	api := rf.create(clients.AdminID, `{"type":"report","reportId":"q4","expiresIn":"7d"}`, true)
	require.EqualValues(t, api.ExpiresAt.Unix(), jwtClaims(t, api.Token)["exp"], "presets too")
	require.Zero(t, api.ExpiresAt.Nanosecond())
}

// TestRegistry_LogsNewestFirstByEventTime: a use recorded before a
// revocation lists below it even though the recorder writes it later, and
// every entry carries milliseconds (C18).
func TestRegistry_LogsNewestFirstByEventTime(t *testing.T) {
	rf := newRegAPI(t, nil)
	rf.clock.Advance(100 * time.Millisecond)
	created := rf.clock.Now()
	rep := rf.create(informerID, `{"type":"report","reportId":"q3"}`, true)
	rf.clock.Advance(10 * time.Millisecond)
	require.Equal(t, http.StatusOK, rf.verify(rep.Token).Code)
	rf.clock.Advance(10 * time.Millisecond)
	requireNoContent(t, rf.as(informerID, http.MethodDelete, "/api/tokens/"+rep.ID, ""))
	rf.rec.flush(t) // the AUTHENTICATE entry is written after the REVOKE

	var page logPageJSON
	decodeStrict(t, rf.as(clients.AdminID, http.MethodGet, "/api/tokens/"+rep.ID+"/logs", ""), http.StatusOK, &page)
	var got []string
	for _, l := range page.Logs {
		got = append(got, fmt.Sprintf("%s +%dms", l.Activity, l.At.Sub(created).Milliseconds()))
	}
	require.Equal(t, []string{"REVOKE +20ms", "AUTHENTICATE +10ms", "GENERATE +0ms", "CREATE +0ms"}, got)
}

// TestRevokeAll_OtherTenantCannotCutOffATenantsTokens: a tenant's
// revoke-all of a report covers only the tokens it created; another tenant
// whose pattern matches (report:*) cuts off its own, never the first one's.
// An admin's covers everyone's (C15, revoke-all path).
func TestRevokeAll_OtherTenantCannotCutOffATenantsTokens(t *testing.T) {
	var tenantB string
	rf := newRegAPI(t, nil, withTenantB(&tenantB))
	rf.clock.Advance(100 * time.Millisecond)
	a := rf.create(informerID, `{"type":"report","reportId":"q3"}`, true)
	rec := rf.asClient(http.MethodPost, "/api/tokens", `{"type":"report","reportId":"q3","name":"b"}`, tenantBID, tenantB)
	require.Equal(t, http.StatusCreated, rec.Code, rec.Body.String())
	var b tokenJSON
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &b))
	rf.clock.Advance(10 * time.Millisecond)

	rec = rf.asClient(http.MethodPost, "/api/v1/revoke-all", `{"reportId":"q3"}`, tenantBID, tenantB)
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	require.Contains(t, rec.Body.String(), `"dimension":"report","id":"q3"`)
	requireInvalidToken(t, rf.verify(b.Token), descRevoked)
	require.Equal(t, http.StatusOK, rf.verify(a.Token).Code, "tenant A's token survives tenant B's revoke-all")

	// A regeneration by an admin still carries the record's client: the
	// owner's own cutoff covers it.
	gen := rf.generate(clients.AdminID, a.ID)
	rf.clock.Advance(10 * time.Millisecond)
	require.Equal(t, http.StatusOK, rf.as(informerID, http.MethodPost, "/api/v1/revoke-all", `{"reportId":"q3"}`).Code)
	requireInvalidToken(t, rf.verify(gen.Token), descRevoked)

	rf.clock.Advance(10 * time.Millisecond)
	c := rf.create(informerID, `{"type":"report","reportId":"q3","name":"c"}`, true)
	rf.clock.Advance(10 * time.Millisecond)
	require.Equal(t, http.StatusOK, rf.as(clients.AdminID, http.MethodPost, "/api/v1/revoke-all", `{"reportId":"q3"}`).Code)
	requireInvalidToken(t, rf.verify(c.Token), descRevoked)
}

// TestRegistry_CutoffsMarkRecordsRevoked: a registered token rejected by a
// revoke-all cutoff or by its client's deletion says so in its record and
// log, as a DELETE would (C14: record, logs and verification agree whichever
// path revoked it); what the cutoff does not cover is untouched.
func TestRegistry_CutoffsMarkRecordsRevoked(t *testing.T) {
	var tenantB string
	rf := newRegAPI(t, nil, withTenantB(&tenantB))
	q3a := rf.create(informerID, `{"type":"report","reportId":"q3","name":"a"}`, true)
	q3b := rf.create(informerID, `{"type":"report","reportId":"q3","name":"b"}`, true)
	q4 := rf.create(informerID, `{"type":"report","reportId":"q4"}`, true)
	app := rf.create(informerID, `{"type":"app-view","appId":"analytics"}`, true)
	notGenerated := rf.create(informerID, `{"type":"report","reportId":"q3","name":"later","generate":false}`, false)
	res := rf.asClient(http.MethodPost, "/api/tokens", `{"type":"report","reportId":"q3","name":"theirs"}`, tenantBID, tenantB)
	require.Equal(t, http.StatusCreated, res.Code, res.Body.String())
	var theirs tokenJSON
	require.NoError(t, json.Unmarshal(res.Body.Bytes(), &theirs))

	revoked := func(tok tokenJSON, by string) {
		t.Helper()
		requireInvalidToken(t, rf.verify(tok.Token), descRevoked)
		require.Equal(t, "revoked", rf.get(clients.AdminID, tok.ID).Status, "kept, revoked (issue 14)")
		require.Equal(t, "REVOKE OK "+by, rf.activity(clients.AdminID, tok.ID)[0], "the log says who revoked it")
	}
	untouched := func(tok tokenJSON) {
		t.Helper()
		require.Equal(t, http.StatusOK, rf.verify(tok.Token).Code)
		require.NotContains(t, strings.Join(rf.activity(clients.AdminID, tok.ID), "\n"), "REVOKE")
	}

	// The issuer's report cutoff: its q3 records, not tenant B's, not q4's, not the app's.
	rec := rf.as(informerID, http.MethodPost, "/api/v1/revoke-all", `{"reportId":"q3"}`)
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	revoked(q3a, informerID)
	revoked(q3b, informerID)
	untouched(theirs)
	untouched(q4)
	untouched(app)
	// A record with no JWT has nothing the cutoff rejects: it stays, and
	// its first generation (issued after the cutoff) verifies.
	require.Equal(t, "not-generated", rf.get(informerID, notGenerated.ID).Status)
	rf.clock.Advance(10 * time.Millisecond)
	require.Equal(t, http.StatusOK, rf.verify(rf.generate(informerID, notGenerated.ID).Token).Code)

	// A subject cutoff: the owner's API tokens (their sub), each record by
	// whoever asked; the issuer's own cutoff covers only the records it created.
	requireNoContent(t, rf.as(clients.AdminID, http.MethodPut, "/api/owners/alice/roles/api-tokens", ""))
	requireNoContent(t, rf.as(clients.AdminID, http.MethodPut, "/api/owners/bob/roles/api-tokens", ""))
	ci := rf.create(enviziID, `{"type":"api","owner":"alice","name":"CI","scopes":["meta:read"]}`, true)
	bob := rf.create(enviziID, `{"type":"api","owner":"bob","name":"CI","scopes":["meta:read"]}`, true)
	byAdmin := rf.create(clients.AdminID, `{"type":"api","owner":"alice","name":"admin's","scopes":["meta:read"]}`, true)
	rec = rf.as(enviziID, http.MethodPost, "/api/v1/revoke-all", `{"sub":"alice"}`)
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	revoked(ci, enviziID)
	untouched(bob)
	untouched(byAdmin)
	rec = rf.as(clients.AdminID, http.MethodPost, "/api/v1/revoke-all", `{"sub":"alice"}`)
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	revoked(byAdmin, clients.AdminID)
	untouched(bob)

	// Deleting tenant B's client: every record it created is revoked, by the admin.
	require.Equal(t, http.StatusNoContent, rf.as(clients.AdminID, http.MethodDelete, "/api/clients/"+tenantBID, "").Code)
	revoked(theirs, clients.AdminID)
	untouched(q4)
}

// TestRegistry_OtherTenantCannotIntrospectAToken: introspection is access
// to a registered token too: another tenant whose patterns match learns
// nothing (inactive) and leaves no AUTHENTICATE entry in the token's log.
func TestRegistry_OtherTenantCannotIntrospectAToken(t *testing.T) {
	var tenantB string
	rf := newRegAPI(t, nil, withTenantB(&tenantB))
	rep := rf.create(informerID, `{"type":"report","reportId":"q3"}`, true)
	introspect := func(id, secret string) map[string]any {
		rec := rf.postForm("/api/v1/introspect", url.Values{"token": {rep.Token}}, id, secret)
		require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
		var m map[string]any
		require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &m))
		return m
	}
	require.Equal(t, map[string]any{"active": false}, introspect(tenantBID, tenantB))
	rf.rec.flush(t)
	require.NotContains(t, strings.Join(rf.activity(informerID, rep.ID), "\n"), "AUTHENTICATE")
	require.Equal(t, true, introspect(informerID, rf.informer)["active"])
	require.Equal(t, true, introspect(clients.AdminID, rf.secretOf(clients.AdminID))["active"])
}
