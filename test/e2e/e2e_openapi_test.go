package e2e_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

func e2eWith(h map[string]string, k, v string) map[string]string {
	out := map[string]string{k: v}
	for hk, hv := range h {
		out[hk] = hv
	}
	return out
}

// TestE2E_OpenAPIContract walks every operation of the API through e2eClient,
// which validates each request and response against the OpenAPI document:
// the happy paths, and what a careless or hostile caller sends.
func TestE2E_OpenAPIContract(t *testing.T) {
	inst := e2eStart(t, map[string]string{"SIGIL_ADMIN_SECRET": e2eAdminSecret, "SIGIL_TOKENS_REFRESH_MIN_AGE": "1s"})
	base := inst.URL
	admin := e2eBasic("admin", e2eAdminSecret)
	want := func(what string, r e2eResponse, status int) e2eResponse {
		t.Helper()
		if r.Status != status {
			t.Fatalf("%s: status %d, want %d; body %s", what, r.Status, status, r.Body)
		}
		return r
	}
	do := func(method, path, body string, hdr map[string]string) e2eResponse {
		t.Helper()
		return e2eDo(t, method, base+path, body, hdr)
	}

	// Operations and documents.
	for _, p := range []string{"/healthz", "/readyz", "/metrics", "/openapi.json", "/.well-known/jwks.json",
		"/.well-known/oauth-authorization-server", "/sdk/sigil-embed.js", "/sdk/sigil-api-tokens.js", "/demo/", "/demo/demo.js"} {
		want("GET "+p, do(http.MethodGet, p, "", nil), http.StatusOK)
	}
	var served map[string]any
	if err := json.Unmarshal([]byte(do(http.MethodGet, "/openapi.json", "", nil).Body), &served); err != nil || served["openapi"] == nil {
		t.Fatalf("/openapi.json is not an OpenAPI document: %v", err)
	}

	// Clients.
	secret := e2eCreateClient(t, base, e2eAdminSecret, "sales")
	want("create an issuer", do(http.MethodPost, "/api/clients",
		`{"id":"reports-app","name":"Reports","resources":["report:*","app:*","api:*"],"scopes":["meta:read","report:read"]}`, admin), http.StatusCreated)
	want("list clients", do(http.MethodGet, "/api/clients", "", admin), http.StatusOK)
	want("get client", do(http.MethodGet, "/api/clients/sales", "", admin), http.StatusOK)
	rot := want("rotate secret", do(http.MethodPost, "/api/clients/reports-app/_rotate-secret", "", admin), http.StatusOK)
	var rotated struct {
		Secret string `json:"secret"`
	}
	if err := json.Unmarshal([]byte(rot.Body), &rotated); err != nil || rotated.Secret == "" {
		t.Fatalf("rotate secret: no secret in %s", rot.Body)
	}
	issuer := e2eBasic("reports-app", rotated.Secret)
	want("duplicate client", do(http.MethodPost, "/api/clients", `{"id":"sales"}`, admin), http.StatusConflict)
	want("client as non-admin", do(http.MethodGet, "/api/clients", "", issuer), http.StatusForbidden)
	want("unknown client", do(http.MethodGet, "/api/clients/nobody", "", admin), http.StatusNotFound)
	want("clients without credentials", do(http.MethodGet, "/api/clients", "", nil), http.StatusUnauthorized)

	// Embed tokens.
	mintBody := fmt.Sprintf(`{"dashboardId":"sales","dashboardSecret":%q,"tokenExpiry":600,"sub":"u1",`+
		`"params":{"amount":1234.56,"currencyFormat":{"locale":"de-DE","currency":"EUR"}},`+
		`"securityPolicies":[{"name":"region","params":{"region":"EU"}}]}`, secret)
	var tok struct {
		AccessToken string `json:"accessToken"`
	}
	if err := json.Unmarshal([]byte(want("mint", do(http.MethodPost, "/api/v1/token", mintBody, nil), http.StatusOK).Body), &tok); err != nil {
		t.Fatal(err)
	}
	want("verify", do(http.MethodGet, "/api/v1/verify", "", e2eBearer(tok.AccessToken)), http.StatusOK)
	want("verify ?token=", do(http.MethodGet, "/api/v1/verify?token="+url.QueryEscape(tok.AccessToken), "", nil), http.StatusOK)
	want("verify X-Forwarded-Uri", do(http.MethodGet, "/api/v1/verify", "",
		map[string]string{"X-Forwarded-Uri": "/dashboards/sales?token=" + url.QueryEscape(tok.AccessToken), "X-Forwarded-Method": "GET"}), http.StatusOK)
	form := func(tokStr string) string { return "token=" + url.QueryEscape(tokStr) }
	formHdr := func(h map[string]string) map[string]string {
		return e2eWith(h, "Content-Type", "application/x-www-form-urlencoded")
	}
	want("introspect", do(http.MethodPost, "/api/v1/introspect", form(tok.AccessToken), formHdr(e2eBasic("sales", secret))), http.StatusOK)
	want("introspect garbage", do(http.MethodPost, "/api/v1/introspect", form("garbage"), formHdr(e2eBasic("sales", secret))), http.StatusOK)
	var refreshed struct {
		AccessToken string `json:"accessToken"`
	}
	// A token younger than tokens.refresh_min_age (1s here) is 429 + Retry-After.
	var refreshedBody string
	e2eEventually(t, 10*time.Second, "refresh once the token is old enough", func() bool {
		rec := do(http.MethodPost, "/api/v1/token/refresh", "", e2eBearer(tok.AccessToken))
		if rec.Status == http.StatusTooManyRequests {
			return false
		}
		refreshedBody = want("refresh", rec, http.StatusOK).Body
		return true
	})
	if err := json.Unmarshal([]byte(refreshedBody), &refreshed); err != nil {
		t.Fatal(err)
	}
	want("verify the refreshed-away token", do(http.MethodGet, "/api/v1/verify", "", e2eBearer(tok.AccessToken)), http.StatusUnauthorized)
	want("revoke (RFC 7009)", do(http.MethodPost, "/api/v1/revoke", form(refreshed.AccessToken), formHdr(e2eBasic("sales", secret))), http.StatusOK)
	want("invalidate a revoked token", do(http.MethodPost, "/api/v1/invalidate-token", "", e2eBearer(refreshed.AccessToken)), http.StatusNoContent)
	want("revoke-all", do(http.MethodPost, "/api/v1/revoke-all", `{"dashboardId":"sales"}`, e2eBasic("sales", secret)), http.StatusOK)

	// Hostile and careless callers.
	want("mint: unknown field", do(http.MethodPost, "/api/v1/token", `{"dashboardId":"sales","x":1}`, nil), http.StatusBadRequest)
	want("mint: wrong type", do(http.MethodPost, "/api/v1/token", `{"dashboardId":7}`, nil), http.StatusBadRequest)
	want("mint: not JSON", do(http.MethodPost, "/api/v1/token", `{"dashboardId":`, nil), http.StatusBadRequest)
	want("mint: wrong secret", do(http.MethodPost, "/api/v1/token", `{"dashboardId":"sales","dashboardSecret":"nope"}`, nil), http.StatusUnauthorized)
	want("mint: bad currency", do(http.MethodPost, "/api/v1/token",
		fmt.Sprintf(`{"dashboardId":"sales","dashboardSecret":%q,"params":{"currency":"EURO"}}`, secret), nil), http.StatusBadRequest)
	want("mint: form body", do(http.MethodPost, "/api/v1/token", "dashboardId=sales",
		map[string]string{"Content-Type": "application/x-www-form-urlencoded"}), http.StatusUnsupportedMediaType)
	want("mint: body over 64 KiB", do(http.MethodPost, "/api/v1/token",
		`{"dashboardId":"`+strings.Repeat("a", 70<<10)+`"}`, nil), http.StatusRequestEntityTooLarge)
	want("verify: no token", do(http.MethodGet, "/api/v1/verify", "", nil), http.StatusUnauthorized)
	want("verify: forged", do(http.MethodGet, "/api/v1/verify", "", e2eBearer("a.b.c")), http.StatusUnauthorized)
	want("invalidate: no token", do(http.MethodPost, "/api/v1/invalidate-token", "", nil), http.StatusUnauthorized)
	want("introspect: no token field", do(http.MethodPost, "/api/v1/introspect", "x=1", formHdr(e2eBasic("sales", secret))), http.StatusBadRequest)
	want("revoke-all: two fields", do(http.MethodPost, "/api/v1/revoke-all", `{"sub":"a","appId":"b"}`, e2eBasic("sales", secret)), http.StatusBadRequest)
	want("unknown path", do(http.MethodGet, "/api/v2/nothing", "", nil), http.StatusNotFound)
	want("wrong method", do(http.MethodDelete, "/api/v1/token", "", nil), http.StatusMethodNotAllowed)

	// Registered tokens.
	var rec struct {
		ID    string `json:"id"`
		Token string `json:"token"`
	}
	created := want("create report token", do(http.MethodPost, "/api/tokens",
		`{"type":"report","name":"Q3","reportId":"q3","expiresIn":"30d"}`, issuer), http.StatusCreated)
	if err := json.Unmarshal([]byte(created.Body), &rec); err != nil || rec.ID == "" || rec.Token == "" {
		t.Fatalf("create report token: %s", created.Body)
	}
	want("verify report token", do(http.MethodGet, "/api/v1/verify", "", e2eBearer(rec.Token)), http.StatusOK)
	want("create app token (not generated)", do(http.MethodPost, "/api/tokens",
		`{"type":"app-view","name":"A","appId":"analytics","generate":false}`, issuer), http.StatusCreated)
	want("grant api-tokens", do(http.MethodPut, "/api/owners/alice/roles/api-tokens", "", admin), http.StatusNoContent)
	want("create api token", do(http.MethodPost, "/api/tokens",
		`{"type":"api","name":"ci","owner":"alice","scopes":["meta:read"],"expiresAt":"2099-01-02T03:04:05Z"}`, issuer), http.StatusCreated)
	want("duplicate api token name", do(http.MethodPost, "/api/tokens",
		`{"type":"api","name":"CI","owner":"alice","scopes":["meta:read"]}`, issuer), http.StatusConflict)
	// Console tokens (issue 14): minted with client credentials, used as Bearer.
	var console struct {
		Token string `json:"token"`
	}
	minted := want("mint console token", do(http.MethodPost, "/api/console-tokens", `{"owner":"alice","ttl":"5m"}`, admin), http.StatusCreated)
	if err := json.Unmarshal([]byte(minted.Body), &console); err != nil || console.Token == "" {
		t.Fatalf("mint console token: %s", minted.Body)
	}
	want("mint console token: bad ttl", do(http.MethodPost, "/api/console-tokens", `{"owner":"alice","ttl":"5 minutes"}`, admin), http.StatusBadRequest)
	want("mint console token: no credentials", do(http.MethodPost, "/api/console-tokens", `{"owner":"alice"}`, nil), http.StatusUnauthorized)
	want("scopes", do(http.MethodGet, "/api/scopes", "", issuer), http.StatusOK)
	want("scopes with a console token", do(http.MethodGet, "/api/scopes", "", e2eBearer(console.Token)), http.StatusOK)
	want("list tokens with a console token", do(http.MethodGet, "/api/tokens", "", e2eBearer(console.Token)), http.StatusOK)
	want("console token at verify", do(http.MethodGet, "/api/v1/verify", "", e2eBearer(console.Token)), http.StatusUnauthorized)
	want("console token at an admin route", do(http.MethodGet, "/api/clients", "", e2eBearer(console.Token)), http.StatusUnauthorized)
	want("logout of the console token", do(http.MethodPost, "/api/v1/invalidate-token", "", e2eBearer(console.Token)), http.StatusNoContent)
	want("list tokens with a logged-out console token", do(http.MethodGet, "/api/tokens", "", e2eBearer(console.Token)), http.StatusUnauthorized)
	want("withdraw api-tokens", do(http.MethodDelete, "/api/owners/alice/roles/api-tokens", "", admin), http.StatusNoContent)
	// Owner email addresses (notifications).
	want("no owner email yet", do(http.MethodGet, "/api/owners/alice/email", "", admin), http.StatusNotFound)
	want("set owner email", do(http.MethodPut, "/api/owners/alice/email", `{"email":"alice@Example.com"}`, admin), http.StatusOK)
	want("set owner email as a client acting for api:alice", do(http.MethodPut, "/api/owners/alice/email", `{"email":"alice@example.com"}`, issuer), http.StatusOK)
	want("get owner email", do(http.MethodGet, "/api/owners/alice/email", "", admin), http.StatusOK)
	want("owner email with a display name", do(http.MethodPut, "/api/owners/alice/email", `{"email":"Alice <alice@example.com>"}`, admin), http.StatusBadRequest)
	want("owner email, unknown member", do(http.MethodPut, "/api/owners/alice/email", `{"email":"alice@example.com","cc":"x@example.com"}`, admin), http.StatusBadRequest)
	want("owner email of another tenant", do(http.MethodGet, "/api/owners/alice/email", "", e2eBasic("sales", secret)), http.StatusForbidden)
	want("owner email without credentials", do(http.MethodGet, "/api/owners/alice/email", "", nil), http.StatusUnauthorized)
	want("delete owner email", do(http.MethodDelete, "/api/owners/alice/email", "", admin), http.StatusNoContent)
	want("create token: bad type", do(http.MethodPost, "/api/tokens", `{"type":"root"}`, issuer), http.StatusBadRequest)
	want("list tokens", do(http.MethodGet, "/api/tokens?limit=2", "", admin), http.StatusOK)
	want("list own tokens", do(http.MethodGet, "/api/tokens", "", issuer), http.StatusOK)
	want("list tokens: unknown filter", do(http.MethodGet, "/api/tokens?colour=red", "", admin), http.StatusBadRequest)
	want("get token", do(http.MethodGet, "/api/tokens/"+rec.ID, "", issuer), http.StatusOK)
	want("update token", do(http.MethodPatch, "/api/tokens/"+rec.ID, `{"name":"Q3 final"}`, issuer), http.StatusOK)
	want("update token: nothing", do(http.MethodPatch, "/api/tokens/"+rec.ID, `{}`, issuer), http.StatusBadRequest)
	want("generate token", do(http.MethodPost, "/api/tokens/"+rec.ID+"/_generate", "", issuer), http.StatusOK)
	want("token logs", do(http.MethodGet, "/api/tokens/"+rec.ID+"/logs?limit=10", "", issuer), http.StatusOK)
	want("report tokens", do(http.MethodGet, "/api/reports/q3/tokens", "", issuer), http.StatusOK)
	want("app tokens", do(http.MethodGet, "/api/apps/analytics/tokens", "", issuer), http.StatusOK)
	want("cleanup", do(http.MethodPost, "/api/tokens/_cleanup", "", admin), http.StatusOK)
	want("delete token", do(http.MethodDelete, "/api/tokens/"+rec.ID, "", issuer), http.StatusNoContent)
	want("get revoked token (kept until cleanup)", do(http.MethodGet, "/api/tokens/"+rec.ID, "", issuer), http.StatusOK)
	want("revoke again", do(http.MethodDelete, "/api/tokens/"+rec.ID, "", issuer), http.StatusNoContent)
	want("generate a revoked token", do(http.MethodPost, "/api/tokens/"+rec.ID+"/_generate", "", issuer), http.StatusConflict)
	want("delete client", do(http.MethodDelete, "/api/clients/reports-app", "", admin), http.StatusNoContent)

	// Webhooks and dead letters (#15).
	var hook struct{ ID, Secret string }
	if err := json.Unmarshal([]byte(want("create webhook", do(http.MethodPost, "/api/webhooks",
		`{"url":"http://127.0.0.1:9/hook","events":["token.revoked","token.created"]}`, admin), http.StatusCreated).Body), &hook); err != nil || hook.Secret == "" {
		t.Fatalf("create webhook: no secret (%v)", err)
	}
	want("webhook: unknown event", do(http.MethodPost, "/api/webhooks", `{"url":"http://127.0.0.1:9/","events":["token.nope"]}`, admin), http.StatusBadRequest)
	want("webhook: userinfo", do(http.MethodPost, "/api/webhooks", `{"url":"http://u:p@127.0.0.1:9/","events":["token.created"]}`, admin), http.StatusBadRequest)
	want("webhooks with a deleted client's secret", do(http.MethodGet, "/api/webhooks", "", issuer), http.StatusUnauthorized)
	want("list webhooks", do(http.MethodGet, "/api/webhooks", "", admin), http.StatusOK)
	want("get webhook", do(http.MethodGet, "/api/webhooks/"+hook.ID, "", admin), http.StatusOK)
	want("rotate webhook secret", do(http.MethodPost, "/api/webhooks/"+hook.ID+"/_rotate-secret", "", admin), http.StatusOK)
	want("delete webhook", do(http.MethodDelete, "/api/webhooks/"+hook.ID, "", admin), http.StatusNoContent)
	want("get deleted webhook", do(http.MethodGet, "/api/webhooks/"+hook.ID, "", admin), http.StatusNotFound)
	want("dead letters", do(http.MethodGet, "/api/notifications/dead-letters?limit=10", "", admin), http.StatusOK)
	want("dead letters: bad cursor", do(http.MethodGet, "/api/notifications/dead-letters?cursor=x", "", admin), http.StatusBadRequest)
	want("retry unknown dead letter", do(http.MethodPost, "/api/notifications/dead-letters/evt~email/_retry", "", admin), http.StatusNotFound)
	want("delete unknown dead letter", do(http.MethodDelete, "/api/notifications/dead-letters/evt~email", "", admin), http.StatusNotFound)
}

func jsonUnmarshalString(s string, v any) error { return json.Unmarshal([]byte(s), v) }
