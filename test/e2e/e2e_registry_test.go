package e2e_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sigil-dev/sigil/test/redisserver"
)

// The seed documents' registered-token workflows (issue 3), run against the
// built binary on a real Redis: Informer's app and report tokens, Envizi's
// personal API tokens, and the bad input each field must refuse.

type e2eToken struct {
	ID        string   `json:"id"`
	Type      string   `json:"type"`
	Name      string   `json:"name"`
	Owner     string   `json:"owner"`
	AppID     string   `json:"appId"`
	ReportID  string   `json:"reportId"`
	Scopes    []string `json:"scopes"`
	ReadOnly  bool     `json:"readOnly"`
	Status    string   `json:"status"`
	ExpiresAt *string  `json:"expiresAt"`
	Token     string   `json:"token"`
	Links     struct {
		Self struct {
			Href string `json:"href"`
		} `json:"self"`
	} `json:"_links"`
}

type e2eLog struct {
	Activity string `json:"activity"`
	Result   string `json:"result"`
	By       string `json:"by"`
	At       string `json:"at"`
}

// e2eReg is one sigil with registry clients: informer (reports q3, q4 and
// app analytics), envizi (API tokens) and rival (someone else's resources).
type e2eReg struct {
	t       *testing.T
	base    string
	secrets map[string]string
}

func newE2EReg(t *testing.T, extra map[string]string) *e2eReg {
	srv := redisserver.Start(t)
	env := e2eRedisEnv(srv.URL(), t.TempDir(), map[string]string{
		"SIGIL_REGISTRY_SCOPES": "meta:read=Meta Record,report:read=Report Record",
	})
	for k, v := range extra {
		env[k] = v
	}
	inst := e2eStart(t, env)
	r := &e2eReg{t: t, base: inst.URL, secrets: map[string]string{"admin": e2eAdminSecret}}
	for id, resources := range map[string]string{
		"informer": `["report:q3","report:q4","app:analytics"]`,
		"envizi":   `["api:*"]`,
		"rival":    `["report:other","app:other"]`,
	} {
		resp := r.as("admin", http.MethodPost, "/api/clients", fmt.Sprintf(`{"id":%q,"resources":%s}`, id, resources))
		e2eWantStatus(t, "create client "+id, resp.Status, http.StatusCreated)
		var out struct {
			Secret string `json:"secret"`
		}
		e2eJSON(t, resp, &out)
		r.secrets[id] = out.Secret
	}
	return r
}

func (r *e2eReg) as(id, method, path, body string) e2eResponse {
	r.t.Helper()
	return e2eDo(r.t, method, r.base+path, body, e2eBasic(id, r.secrets[id]))
}

func (r *e2eReg) create(id, body string) e2eToken {
	r.t.Helper()
	resp := r.as(id, http.MethodPost, "/api/tokens", body)
	e2eWantStatus(r.t, "create token "+body, resp.Status, http.StatusCreated)
	var tok e2eToken
	e2eJSON(r.t, resp, &tok)
	if tok.ID == "" || tok.Links.Self.Href != "/api/tokens/"+tok.ID {
		r.t.Fatalf("create token: id %q, self link %q in %s", tok.ID, tok.Links.Self.Href, resp.Body)
	}
	return tok
}

func (r *e2eReg) verify(tok string) int { return e2eVerify(r.t, r.base, tok) }

// logs answers the activity of token id as "ACTIVITY RESULT by", newest first.
func (r *e2eReg) logs(id, tokenID string) []string {
	r.t.Helper()
	resp := r.as(id, http.MethodGet, "/api/tokens/"+tokenID+"/logs", "")
	e2eWantStatus(r.t, "logs of "+tokenID, resp.Status, http.StatusOK)
	var page struct {
		Logs []e2eLog `json:"logs"`
	}
	e2eJSON(r.t, resp, &page)
	var out []string
	for _, l := range page.Logs {
		if l.At == "" {
			r.t.Fatalf("log entry without at: %+v", l)
		}
		out = append(out, l.Activity+" "+l.Result+" "+l.By)
	}
	return out
}

// e2eRevoke answers POST /api/v1/revoke (RFC 7009) of tok as client id:
// how the client that manages a registered token revokes it by presenting
// it (invalidate-token refuses registered kinds).
func e2eRevoke(t testing.TB, base, id, secret, tok string) e2eResponse {
	t.Helper()
	hdr := e2eBasic(id, secret)
	hdr["Content-Type"] = "application/x-www-form-urlencoded"
	return e2eDo(t, http.MethodPost, base+"/api/v1/revoke", url.Values{"token": {tok}}.Encode(), hdr)
}

func e2eJSON(t testing.TB, resp e2eResponse, v any) {
	t.Helper()
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Fatalf("Content-Type %q, want JSON; body %s", ct, resp.Body)
	}
	if err := json.Unmarshal([]byte(resp.Body), v); err != nil {
		t.Fatalf("decode %s: %v", resp.Body, err)
	}
}

// e2eWantError checks a JSON error answer: status, code and the field it names.
func e2eWantError(t testing.TB, what string, resp e2eResponse, status int, field string) {
	t.Helper()
	var body struct {
		Error struct {
			Code  string `json:"code"`
			Field string `json:"field"`
		} `json:"error"`
	}
	if resp.Status != status {
		t.Errorf("%s: status %d, want %d; body %s", what, resp.Status, status, resp.Body)
		return
	}
	e2eJSON(t, resp, &body)
	if body.Error.Code == "" || body.Error.Field != field {
		t.Errorf("%s: error code %q field %q, want a code and field %q; body %s", what, body.Error.Code, body.Error.Field, field, resp.Body)
	}
	if strings.Contains(resp.Body, "eyJ") {
		t.Errorf("%s: the error answer echoes a JWT: %s", what, resp.Body)
	}
}

func TestE2E_RegistryInformer(t *testing.T) {
	// Expired and revoked records stay for registry.retention: 1s here.
	r := newE2EReg(t, map[string]string{"SIGIL_REGISTRY_RETENTION": "1s"})

	// An app token with an expiry, its share URL, and the app's listing.
	exp := time.Now().Add(3 * time.Second).UTC().Format(time.RFC3339)
	kiosk := r.create("informer", fmt.Sprintf(`{"type":"app-view","appId":"analytics","name":"Kiosk","readOnly":false,"expiresAt":%q}`, exp))
	if !kiosk.ReadOnly || kiosk.Status != "generated-inactive" || kiosk.Token == "" {
		t.Fatalf("app token: readOnly %v status %q token present %v; want read-only, generated-inactive, a token",
			kiosk.ReadOnly, kiosk.Status, kiosk.Token != "")
	}
	share, err := url.Parse(r.base + "/view/" + kiosk.Token)
	if err != nil || strings.TrimPrefix(share.Path, "/view/") != kiosk.Token {
		t.Fatalf("share URL %v does not carry the token intact (%v)", share, err)
	}
	e2eWantStatus(t, "verify ?token= from the share URL", e2eDo(t, http.MethodGet, r.base+"/api/v1/verify?token="+kiosk.Token, "", nil).Status, http.StatusOK)
	wall := r.create("informer", `{"type":"app-view","appId":"analytics","name":"Wall"}`)

	resp := r.as("informer", http.MethodGet, "/api/apps/analytics/tokens", "")
	e2eWantStatus(t, "app listing", resp.Status, http.StatusOK)
	var hal struct {
		Links struct {
			Self struct {
				Href string `json:"href"`
			} `json:"self"`
		} `json:"_links"`
		Embedded map[string][]e2eToken `json:"_embedded"`
		Tokens   []e2eToken            `json:"tokens"`
	}
	e2eJSON(t, resp, &hal)
	items := hal.Embedded["inf:app-token"]
	if hal.Links.Self.Href != "/api/apps/analytics/tokens" || len(items) != 2 || len(hal.Tokens) != 2 ||
		items[0].ID != wall.ID || items[1].ID != kiosk.ID || items[0].Links.Self.Href != "/api/tokens/"+wall.ID {
		t.Fatalf("app listing is not the HAL collection of Wall then Kiosk: %s", resp.Body)
	}
	if strings.Contains(resp.Body, kiosk.Token) || strings.Contains(resp.Body, wall.Token) {
		t.Fatal("a listing carries a JWT")
	}

	// Revoke expired tokens: past its expiry Kiosk is rejected and the
	// cleanup removes it once the retention has passed (only admins may run it).
	e2eEventually(t, 10*time.Second, "Kiosk to expire", func() bool {
		var tok e2eToken
		resp := r.as("informer", http.MethodGet, "/api/tokens/"+kiosk.ID, "")
		e2eJSON(t, resp, &tok)
		return tok.Status == "expired"
	})
	e2eWantError(t, "cleanup as a non-admin", r.as("informer", http.MethodPost, "/api/tokens/_cleanup", ""), http.StatusForbidden, "")
	removed := 0
	e2eEventually(t, 10*time.Second, "the cleanup to remove Kiosk after the retention", func() bool {
		resp := r.as("admin", http.MethodPost, "/api/tokens/_cleanup", "")
		e2eWantStatus(t, "cleanup", resp.Status, http.StatusOK)
		var out struct {
			Removed int `json:"removed"`
		}
		e2eJSON(t, resp, &out)
		removed += out.Removed
		return removed > 0
	})
	if removed != 1 {
		t.Fatalf("cleanup removed %d records, want 1 (Kiosk)", removed)
	}
	e2eWantError(t, "the cleaned-up token", r.as("informer", http.MethodGet, "/api/tokens/"+kiosk.ID, ""), http.StatusNotFound, "")
	e2eWantStatus(t, "verify of Wall after the cleanup", r.verify(wall.Token), http.StatusOK)

	// Rotate (Informer): the new link with the same name first, then the
	// old one deleted; share-link names are display names (issue 14).
	body := `{"type":"report","reportId":"q3","name":"Q3 share","expiresIn":"90d"}`
	first := r.create("informer", body)
	second := r.create("informer", body)
	e2eWantStatus(t, "delete the old token", r.as("informer", http.MethodDelete, "/api/tokens/"+first.ID, "").Status, http.StatusNoContent)
	e2eWantStatus(t, "verify of the deleted token", r.verify(first.Token), http.StatusUnauthorized)
	e2eWantStatus(t, "verify of the new token", r.verify(second.Token), http.StatusOK)

	// The report's tokens with warning null.
	resp = r.as("informer", http.MethodGet, "/api/reports/q3/tokens", "")
	e2eWantStatus(t, "report listing", resp.Status, http.StatusOK)
	var rep struct {
		Tokens  []e2eToken      `json:"tokens"`
		Warning json.RawMessage `json:"warning"`
	}
	e2eJSON(t, resp, &rep)
	if string(rep.Warning) != "null" || len(rep.Tokens) != 1 || rep.Tokens[0].ID != second.ID || rep.Tokens[0].ReportID != "q3" {
		t.Fatalf("report listing: want the new token and warning null, got %s", resp.Body)
	}

	// Another tenant probing these ids learns nothing: 404, as for an unknown id.
	for _, p := range []string{"/api/tokens/" + second.ID, "/api/tokens/" + second.ID + "/logs"} {
		e2eWantError(t, "rival GET "+p, r.as("rival", http.MethodGet, p, ""), http.StatusNotFound, "")
	}
	e2eWantError(t, "rival DELETE", r.as("rival", http.MethodDelete, "/api/tokens/"+second.ID, ""), http.StatusNotFound, "")
	e2eWantError(t, "rival _generate", r.as("rival", http.MethodPost, "/api/tokens/"+second.ID+"/_generate", ""), http.StatusNotFound, "")
	e2eWantStatus(t, "verify after the rival's attempts", r.verify(second.Token), http.StatusOK)
}

func TestE2E_RegistryEnvizi(t *testing.T) {
	r := newE2EReg(t, map[string]string{"SIGIL_REGISTRY_JANITOR_INTERVAL": "1h"})
	body := `{"type":"api","owner":"alice","name":"CI","scopes":["meta:read"],"expiresIn":"30d","generate":false}`

	e2eWantError(t, "owner without the role", r.as("envizi", http.MethodPost, "/api/tokens", body), http.StatusForbidden, "owner")
	e2eWantStatus(t, "grant the role", r.as("admin", http.MethodPut, "/api/owners/alice/roles/api-tokens", "").Status, http.StatusNoContent)

	// Create without a JWT, then generate it.
	ci := r.create("envizi", body)
	if ci.Status != "not-generated" || ci.Token != "" {
		t.Fatalf("generate:false: status %q, token present %v", ci.Status, ci.Token != "")
	}
	resp := r.as("envizi", http.MethodPost, "/api/tokens/"+ci.ID+"/_generate", "")
	e2eWantStatus(t, "generate", resp.Status, http.StatusOK)
	var gen e2eToken
	e2eJSON(t, resp, &gen)
	if gen.Token == "" || gen.Status != "generated-inactive" {
		t.Fatalf("generate: status %q, token present %v", gen.Status, gen.Token != "")
	}

	// First use: the status and the log follow, off the hot path.
	v := e2eDo(t, http.MethodGet, r.base+"/api/v1/verify", "", e2eBearer(gen.Token))
	e2eWantStatus(t, "first use", v.Status, http.StatusOK)
	if v.Header.Get("X-Sigil-Subject") != "alice" || v.Header.Get("X-Sigil-Scope") != "meta:read" {
		t.Errorf("identity headers: subject %q scope %q", v.Header.Get("X-Sigil-Subject"), v.Header.Get("X-Sigil-Scope"))
	}
	e2eEventually(t, 10*time.Second, "the first use to show in the log and the status", func() bool {
		var tok e2eToken
		e2eJSON(t, r.as("envizi", http.MethodGet, "/api/tokens/"+ci.ID, ""), &tok)
		return tok.Status == "generated-active" && len(r.logs("envizi", ci.ID)) == 3
	})
	if got, want := strings.Join(r.logs("envizi", ci.ID), ", "), "AUTHENTICATE OK verify, GENERATE OK envizi, CREATE OK envizi"; got != want {
		t.Fatalf("logs: %s, want %s", got, want)
	}

	// Regenerate: the old JWT is rejected at once (and that attempt logged as FAIL).
	resp = r.as("envizi", http.MethodPost, "/api/tokens/"+ci.ID+"/_generate", "")
	e2eWantStatus(t, "regenerate", resp.Status, http.StatusOK)
	var regen e2eToken
	e2eJSON(t, resp, &regen)
	e2eWantStatus(t, "verify of the old JWT after regeneration", r.verify(gen.Token), http.StatusUnauthorized)
	e2eWantStatus(t, "verify of the new JWT", r.verify(regen.Token), http.StatusOK)

	// Revoke: 204, then every JWT of the token is rejected, and the log says so.
	e2eWantStatus(t, "revoke", r.as("envizi", http.MethodDelete, "/api/tokens/"+ci.ID, "").Status, http.StatusNoContent)
	e2eWantStatus(t, "verify after revoke", r.verify(regen.Token), http.StatusUnauthorized)
	var logs []string
	e2eEventually(t, 10*time.Second, "the revoke and the failed use to show in the admin's log", func() bool {
		logs = r.logs("admin", ci.ID)
		return len(logs) == 8
	})
	want := []string{"AUTHENTICATE FAIL verify", "REVOKE OK envizi", "AUTHENTICATE OK verify", "AUTHENTICATE FAIL verify", "GENERATE OK envizi"}
	for _, w := range want {
		if !strings.Contains(strings.Join(logs, ","), w) {
			t.Errorf("log lacks %q: %v", w, logs)
		}
	}
	if logs[len(logs)-1] != "CREATE OK envizi" {
		t.Errorf("oldest log entry %q, want CREATE", logs[len(logs)-1])
	}
}

func TestE2E_RegistryBadInput(t *testing.T) {
	r := newE2EReg(t, nil)
	e2eWantStatus(t, "grant the role", r.as("admin", http.MethodPut, "/api/owners/alice/roles/api-tokens", "").Status, http.StatusNoContent)
	past := time.Now().Add(-time.Hour).UTC().Format(time.RFC3339)
	cases := []struct {
		name, as, method, path, body string
		status                       int
		field                        string
	}{
		{"unknown type", "informer", "POST", "/api/tokens", `{"type":"admin","reportId":"q3","name":"x"}`, 400, "type"},
		{"report without reportId", "informer", "POST", "/api/tokens", `{"type":"report","name":"x"}`, 400, "reportId"},
		{"app without appId", "informer", "POST", "/api/tokens", `{"type":"app-view","name":"x"}`, 400, "appId"},
		{"past expiresAt", "informer", "POST", "/api/tokens", fmt.Sprintf(`{"type":"report","reportId":"q3","name":"x","expiresAt":%q}`, past), 400, "expiresAt"},
		{"unknown preset", "informer", "POST", "/api/tokens", `{"type":"report","reportId":"q3","name":"x","expiresIn":"2w"}`, 400, "expiresIn"},
		{"unknown scope", "envizi", "POST", "/api/tokens", `{"type":"api","owner":"alice","name":"x","scopes":["root"],"expiresIn":"7d"}`, 400, "scopes"},
		{"empty scopes", "envizi", "POST", "/api/tokens", `{"type":"api","owner":"alice","name":"x","scopes":[],"expiresIn":"7d"}`, 400, "scopes"},
		{"name over 200 chars", "informer", "POST", "/api/tokens", fmt.Sprintf(`{"type":"report","reportId":"q3","name":%q}`, strings.Repeat("n", 201)), 400, "name"},
		{"owner without the role", "envizi", "POST", "/api/tokens", `{"type":"api","owner":"bob","name":"x","scopes":["meta:read"],"expiresIn":"7d"}`, 403, "owner"},
		{"another tenant's report", "informer", "POST", "/api/tokens", `{"type":"report","reportId":"other","name":"x"}`, 403, "reportId"},
		{"paging cursor garbage", "admin", "GET", "/api/tokens?cursor=%ff%fe..", "", 400, "cursor"},
		{"limit over 200", "admin", "GET", "/api/tokens?limit=201", "", 400, "limit"},
		{"unknown status filter", "admin", "GET", "/api/tokens?status=alive", "", 400, "status"},
		{"unknown field", "informer", "POST", "/api/tokens", `{"type":"report","reportId":"q3","name":"x","admin":true}`, 400, "admin"},
		{"name of the wrong type", "informer", "POST", "/api/tokens", `{"type":"report","reportId":"q3","name":7}`, 400, "name"},
		{"unknown token id", "informer", "GET", "/api/tokens/does-not-exist", "", 404, ""},
	}
	for _, tc := range cases {
		e2eWantError(t, tc.name, r.as(tc.as, tc.method, tc.path, tc.body), tc.status, tc.field)
	}
	// Nothing was created by any of them.
	resp := r.as("admin", http.MethodGet, "/api/tokens", "")
	e2eWantStatus(t, "admin listing", resp.Status, http.StatusOK)
	var page struct {
		Tokens []e2eToken `json:"tokens"`
	}
	e2eJSON(t, resp, &page)
	if len(page.Tokens) != 0 {
		t.Errorf("bad requests created %d tokens: %s", len(page.Tokens), resp.Body)
	}
}

// TestE2E_RegistryIntegrity is issue 12's part C against the built binary
// on a real Redis: concurrent regenerations leave one live JWT (C13), a
// share link cannot revoke itself and the owner's revocation shows in the
// record and log (C14), a sign-in right after revoke-all lives (C16), and
// logs list by event time (C18).
func TestE2E_RegistryIntegrity(t *testing.T) {
	r := newE2EReg(t, nil)

	// C13: 20 concurrent _generate calls, exactly one returned JWT verifies.
	rep := r.create("informer", `{"type":"report","reportId":"q3","name":"race"}`)
	const n = 20
	jwts := make([]string, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp := e2eDo(t, http.MethodPost, r.base+"/api/tokens/"+rep.ID+"/_generate", "", e2eBasic("informer", r.secrets["informer"]))
			if resp.Status == http.StatusOK {
				var tok e2eToken
				if err := json.Unmarshal([]byte(resp.Body), &tok); err == nil {
					jwts[i] = tok.Token
				}
			} else if resp.Status != http.StatusConflict {
				t.Errorf("_generate %d: status %d %s", i, resp.Status, resp.Body)
			}
		}()
	}
	wg.Wait()
	live := 0
	for _, jwt := range append(jwts, rep.Token) {
		if jwt != "" && r.verify(jwt) == http.StatusOK {
			live++
		}
	}
	if live != 1 {
		t.Fatalf("after %d concurrent _generate calls %d JWTs verify, want exactly 1", n, live)
	}

	// C14: presenting a share link to invalidate-token does not kill it.
	app := r.create("informer", `{"type":"app-view","appId":"analytics","name":"wall"}`)
	e2eWantStatus(t, "invalidate-token with an app-view link", e2eInvalidate(t, r.base, app.Token).Status, http.StatusForbidden)
	e2eWantStatus(t, "the link after the attempt", r.verify(app.Token), http.StatusOK)
	form := func(id, tok string) e2eResponse { return e2eRevoke(t, r.base, id, r.secrets[id], tok) }
	e2eWantStatus(t, "RFC 7009 revoke by a client without the app", form("rival", app.Token).Status, http.StatusForbidden)
	e2eWantStatus(t, "RFC 7009 revoke by the owner", form("informer", app.Token).Status, http.StatusOK)
	e2eWantStatus(t, "the link after the owner revoked it", r.verify(app.Token), http.StatusUnauthorized)
	var logs []string
	e2eEventually(t, 10*time.Second, "the revocation in the log", func() bool {
		logs = r.logs("admin", app.ID)
		return slices.Contains(logs, "REVOKE OK informer")
	})

	// C16: revoke-all for a subject, then sign in again at once.
	secretResp := r.as("admin", http.MethodPost, "/api/clients", `{"id":"sales","resources":["dashboard:sales"]}`)
	e2eWantStatus(t, "create dashboard client", secretResp.Status, http.StatusCreated)
	var sales struct {
		Secret string `json:"secret"`
	}
	e2eJSON(t, secretResp, &sales)
	mint := func() string {
		resp := e2eDo(t, http.MethodPost, r.base+"/api/v1/token", fmt.Sprintf(`{"dashboardId":"sales","dashboardSecret":%q,"sub":"alice"}`, sales.Secret), nil)
		e2eWantStatus(t, "mint", resp.Status, http.StatusOK)
		var out struct {
			AccessToken string `json:"accessToken"`
		}
		e2eJSON(t, resp, &out)
		return out.AccessToken
	}
	for try := range 3 {
		before := mint()
		e2eWantStatus(t, "revoke-all alice", r.as("admin", http.MethodPost, "/api/v1/revoke-all", `{"sub":"alice"}`).Status, http.StatusOK)
		time.Sleep(2 * time.Millisecond) // a later millisecond than the cutoff's, not a timed assertion
		after := mint()
		e2eWantStatus(t, fmt.Sprintf("try %d: the token minted before revoke-all", try), r.verify(before), http.StatusUnauthorized)
		e2eWantStatus(t, fmt.Sprintf("try %d: the token minted right after revoke-all", try), r.verify(after), http.StatusOK)
	}
}
