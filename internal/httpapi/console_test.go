package httpapi_test

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/sigil-dev/sigil/internal/app"
	"github.com/sigil-dev/sigil/internal/config"
	"github.com/sigil-dev/sigil/internal/testclock"
	"github.com/sigil-dev/sigil/test/apiserver"
	"github.com/sigil-dev/sigil/test/redisserver"
)

// consoleEnv is a whole server (internal/app, as sigil serve builds it)
// with a host client allowed api:*, the api-tokens role granted to alice
// and bob, and a clock the test moves.
type consoleEnv struct {
	t     *testing.T
	srv   *apiserver.Server
	clk   *testclock.Clock
	host  string // secret of client "host"
	other string // secret of client "other" (report:q3 only)
}

func newConsoleEnv(t *testing.T, opts ...apiserver.Option) *consoleEnv {
	t.Helper()
	clk := testclock.New(time.Date(2026, 12, 3, 8, 0, 0, 0, time.UTC))
	opts = append([]apiserver.Option{apiserver.WithApp(app.WithNow(clk.Now))}, opts...)
	e := &consoleEnv{t: t, clk: clk}
	e.srv = apiserver.Start(t, opts...)
	e.host = e.newClient("host", "api:*")
	e.other = e.newClient("other", "report:q3")
	for _, o := range []string{"alice", "bob"} {
		rec := e.basic("admin", e.srv.AdminSecret, http.MethodPut, "/api/owners/"+o+"/roles/api-tokens", "")
		require.Equal(t, http.StatusNoContent, rec.status, rec.body)
	}
	return e
}

// newClient creates an issuer client with resources and returns its secret.
func (e *consoleEnv) newClient(id string, resources ...string) string {
	e.t.Helper()
	body, _ := json.Marshal(map[string]any{"id": id, "resources": resources})
	rec := e.basic("admin", e.srv.AdminSecret, http.MethodPost, "/api/clients", string(body))
	require.Equal(e.t, http.StatusCreated, rec.status, rec.body)
	var v struct{ Secret string }
	require.NoError(e.t, json.Unmarshal([]byte(rec.body), &v))
	return v.Secret
}

type answer struct {
	status int
	header http.Header
	body   string
}

func (a answer) decode(t *testing.T, v any) {
	t.Helper()
	require.NoError(t, json.Unmarshal([]byte(a.body), v), a.body)
}

func (e *consoleEnv) send(method, path, body string, set func(*http.Request)) answer {
	e.t.Helper()
	r, err := http.NewRequest(method, e.srv.URL+path, strings.NewReader(body))
	require.NoError(e.t, err)
	if body != "" {
		r.Header.Set("Content-Type", "application/json")
	}
	if set != nil {
		set(r)
	}
	res, err := http.DefaultClient.Do(r)
	require.NoError(e.t, err)
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	require.NoError(e.t, err)
	return answer{status: res.StatusCode, header: res.Header, body: string(b)}
}

func (e *consoleEnv) basic(id, secret, method, path, body string) answer {
	return e.send(method, path, body, func(r *http.Request) { r.SetBasicAuth(id, secret) })
}

func (e *consoleEnv) bearer(tok, method, path, body string) answer {
	return e.send(method, path, body, func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+tok) })
}

// mintConsole mints a console token for owner as client id.
func (e *consoleEnv) mintConsole(id, secret, owner string) string {
	e.t.Helper()
	rec := e.basic(id, secret, http.MethodPost, "/api/console-tokens", `{"owner":"`+owner+`"}`)
	require.Equal(e.t, http.StatusCreated, rec.status, rec.body)
	var v struct{ Token string }
	rec.decode(e.t, &v)
	require.NotEmpty(e.t, v.Token)
	return v.Token
}

type consoleRecord struct {
	ID, Type, Name, Owner, Status, CreatedBy, Token string
	Scopes                                          []string
}

func requireErr(t *testing.T, a answer, status int, code, field string) {
	t.Helper()
	require.Equal(t, status, a.status, a.body)
	var v struct {
		Error struct{ Code, Field string }
	}
	a.decode(t, &v)
	if code != "" {
		require.Equal(t, code, v.Error.Code, a.body)
	}
	require.Equal(t, field, v.Error.Field, a.body)
}

func TestConsoleToken_Mint(t *testing.T) {
	e := newConsoleEnv(t)
	t.Run("OK", func(t *testing.T) {
		rec := e.basic("host", e.host, http.MethodPost, "/api/console-tokens", `{"owner":"alice"}`)
		require.Equal(t, http.StatusCreated, rec.status, rec.body)
		require.Equal(t, "no-store", rec.header.Get("Cache-Control"))
		var v struct {
			Token     string
			ExpiresAt time.Time
		}
		rec.decode(t, &v)
		require.Equal(t, e.clk.Now().Add(10*time.Minute), v.ExpiresAt)
		claims := decodeClaims(t, v.Token)
		require.Equal(t, "console", claims["tt"])
		require.Equal(t, "alice", claims["sub"])
		require.Equal(t, "host", claims["client_id"])
		require.Equal(t, apiserver.Audience+"#console", claims["aud"])
		require.NotContains(t, claims, "scope")
	})
	t.Run("TTL", func(t *testing.T) {
		rec := e.basic("host", e.host, http.MethodPost, "/api/console-tokens", `{"owner":"alice","ttl":"1h"}`)
		require.Equal(t, http.StatusCreated, rec.status, rec.body)
		var v struct{ ExpiresAt time.Time }
		rec.decode(t, &v)
		require.Equal(t, e.clk.Now().Add(time.Hour), v.ExpiresAt)
	})
	bad := []struct{ name, body, field string }{
		{"ErrTTLOverMax", `{"owner":"alice","ttl":"61m"}`, "ttl"},
		{"ErrTTLTooShort", `{"owner":"alice","ttl":"10s"}`, "ttl"},
		{"ErrTTLNegative", `{"owner":"alice","ttl":"-10m"}`, "ttl"},
		{"ErrTTLMalformed", `{"owner":"alice","ttl":"ten minutes"}`, "ttl"},
		{"ErrTTLFraction", `{"owner":"alice","ttl":"90.5s"}`, "ttl"},
		{"ErrNoOwner", `{"ttl":"10m"}`, "owner"},
		{"ErrOwnerControl", `{"owner":"al\u0000ice"}`, "owner"},
		{"ErrUnknownField", `{"owner":"alice","scopes":["meta:read"]}`, "scopes"},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			requireErr(t, e.basic("host", e.host, http.MethodPost, "/api/console-tokens", tc.body), http.StatusBadRequest, "invalid_request", tc.field)
		})
	}
	t.Run("ErrClientNotAllowedOwner", func(t *testing.T) {
		requireErr(t, e.basic("other", e.other, http.MethodPost, "/api/console-tokens", `{"owner":"alice"}`), http.StatusForbidden, "forbidden", "owner")
	})
	t.Run("ErrNoCredentials", func(t *testing.T) {
		require.Equal(t, http.StatusUnauthorized, e.send(http.MethodPost, "/api/console-tokens", `{"owner":"alice"}`, nil).status)
	})
	t.Run("ErrConsoleTokenMintsConsoleToken", func(t *testing.T) {
		tok := e.mintConsole("host", e.host, "alice")
		require.Equal(t, http.StatusUnauthorized, e.bearer(tok, http.MethodPost, "/api/console-tokens", `{"owner":"alice"}`).status)
	})
	t.Run("ErrMethod", func(t *testing.T) {
		require.Equal(t, http.StatusMethodNotAllowed, e.basic("host", e.host, http.MethodGet, "/api/console-tokens", "").status)
	})
}

// decodeClaims reads a JWT's payload without verifying it.
func decodeClaims(t *testing.T, jwt string) map[string]any {
	t.Helper()
	parts := strings.Split(jwt, ".")
	require.Len(t, parts, 3)
	var m map[string]any
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(b, &m))
	return m
}

// TestConsoleToken_OwnerLifecycle is what the <sigil-api-tokens> component
// does with a console token: scopes, create, list, get, rename, change
// scopes, generate, regenerate, logs, revoke; and logout.
func TestConsoleToken_OwnerLifecycle(t *testing.T) {
	e := newConsoleEnv(t)
	tok := e.mintConsole("host", e.host, "alice")

	rec := e.bearer(tok, http.MethodGet, "/api/scopes", "")
	require.Equal(t, http.StatusOK, rec.status, rec.body)
	require.JSONEq(t, `{"scopes":[{"name":"meta:read","label":"Meta Record"},{"name":"report:read","label":"Report Record"}]}`, rec.body)

	rec = e.bearer(tok, http.MethodPost, "/api/tokens", `{"name":"ci","scopes":["meta:read","report:read"],"expiresIn":"7d","generate":false}`)
	require.Equal(t, http.StatusCreated, rec.status, rec.body)
	var created consoleRecord
	rec.decode(t, &created)
	require.Equal(t, consoleRecord{ID: created.ID, Type: "api", Name: "ci", Owner: "alice", Status: "not-generated",
		CreatedBy: "host", Scopes: []string{"meta:read", "report:read"}}, created)

	rec = e.bearer(tok, http.MethodGet, "/api/tokens", "")
	require.Equal(t, http.StatusOK, rec.status, rec.body)
	var page struct{ Tokens []consoleRecord }
	rec.decode(t, &page)
	require.Len(t, page.Tokens, 1)
	require.Equal(t, created.ID, page.Tokens[0].ID)

	rec = e.bearer(tok, http.MethodPatch, "/api/tokens/"+created.ID, `{"name":"ci-main","scopes":["meta:read"]}`)
	require.Equal(t, http.StatusOK, rec.status, rec.body)

	rec = e.bearer(tok, http.MethodPost, "/api/tokens/"+created.ID+"/_generate", "")
	require.Equal(t, http.StatusOK, rec.status, rec.body)
	var gen consoleRecord
	rec.decode(t, &gen)
	require.NotEmpty(t, gen.Token)
	require.Equal(t, "meta:read", decodeClaims(t, gen.Token)["scope"])
	// The API token works where API tokens work; the console token does not.
	require.Equal(t, http.StatusOK, e.bearer(gen.Token, http.MethodGet, "/api/v1/verify", "").status)

	rec = e.bearer(tok, http.MethodGet, "/api/tokens/"+created.ID+"/logs", "")
	require.Equal(t, http.StatusOK, rec.status, rec.body)
	var logs struct {
		Logs []struct{ Activity, By, Result string }
	}
	rec.decode(t, &logs)
	require.Equal(t, "GENERATE", logs.Logs[0].Activity)
	require.Equal(t, "alice", logs.Logs[0].By, "a console caller's entries name the owner")

	rec = e.bearer(tok, http.MethodDelete, "/api/tokens/"+created.ID, "")
	require.Equal(t, http.StatusNoContent, rec.status, rec.body)
	require.Equal(t, http.StatusUnauthorized, e.bearer(gen.Token, http.MethodGet, "/api/v1/verify", "").status)

	// Logout: the console token is denied at once.
	rec = e.bearer(tok, http.MethodPost, "/api/v1/invalidate-token", "")
	require.Equal(t, http.StatusNoContent, rec.status, rec.body)
	requireErr(t, e.bearer(tok, http.MethodGet, "/api/tokens", ""), http.StatusUnauthorized, "invalid_token", "")
	// Idempotent, like every invalidation.
	require.Equal(t, http.StatusNoContent, e.bearer(tok, http.MethodPost, "/api/v1/invalidate-token", "").status)
}

// TestConsoleToken_Attacks: what a holder of a console token, or of
// another kind of token, tries against the registry API.
func TestConsoleToken_Attacks(t *testing.T) {
	e := newConsoleEnv(t, apiserver.WithConfig(func(c *config.Config) {
		c.View.URLTemplate = "https://viewer.example/{reportId}?token={token}"
	}))
	alice := e.mintConsole("host", e.host, "alice")

	// Bob's token, made by the same host client with its credentials.
	rec := e.basic("host", e.host, http.MethodPost, "/api/tokens", `{"type":"api","owner":"bob","name":"bob-ci","scopes":["meta:read"]}`)
	require.Equal(t, http.StatusCreated, rec.status, rec.body)
	var bobs consoleRecord
	rec.decode(t, &bobs)
	// A report token of the same client.
	rec = e.basic("admin", e.srv.AdminSecret, http.MethodPost, "/api/tokens", `{"type":"report","reportId":"q3"}`)
	require.Equal(t, http.StatusCreated, rec.status, rec.body)
	var report consoleRecord
	rec.decode(t, &report)
	// Alice's own token, made by the admin (another client): not the host's.
	rec = e.basic("admin", e.srv.AdminSecret, http.MethodPost, "/api/tokens", `{"type":"api","owner":"alice","name":"by-admin","scopes":["meta:read"]}`)
	require.Equal(t, http.StatusCreated, rec.status, rec.body)
	var byAdmin consoleRecord
	rec.decode(t, &byAdmin)

	t.Run("ErrOtherOwnersTokens", func(t *testing.T) {
		for _, id := range []string{bobs.ID, report.ID, byAdmin.ID} {
			requireErr(t, e.bearer(alice, http.MethodGet, "/api/tokens/"+id, ""), http.StatusNotFound, "not_found", "")
			requireErr(t, e.bearer(alice, http.MethodGet, "/api/tokens/"+id+"/logs", ""), http.StatusNotFound, "not_found", "")
			requireErr(t, e.bearer(alice, http.MethodPost, "/api/tokens/"+id+"/_generate", ""), http.StatusNotFound, "not_found", "")
			requireErr(t, e.bearer(alice, http.MethodPatch, "/api/tokens/"+id, `{"name":"mine"}`), http.StatusNotFound, "not_found", "")
			requireErr(t, e.bearer(alice, http.MethodDelete, "/api/tokens/"+id, ""), http.StatusNotFound, "not_found", "")
		}
		// Bob's token is untouched.
		rec := e.basic("host", e.host, http.MethodGet, "/api/tokens/"+bobs.ID, "")
		require.Equal(t, http.StatusOK, rec.status, rec.body)
		var got consoleRecord
		rec.decode(t, &got)
		require.Equal(t, "bob-ci", got.Name)
		require.Equal(t, "generated-inactive", got.Status)
	})
	t.Run("ErrOtherOwnersListing", func(t *testing.T) {
		for _, q := range []string{"?owner=bob", "?type=api&owner=bob", "?type=report", "?reportId=q3", "?appId=analytics"} {
			requireErr(t, e.bearer(alice, http.MethodGet, "/api/tokens"+q, ""), http.StatusNotFound, "not_found", "")
		}
		rec := e.bearer(alice, http.MethodGet, "/api/tokens", "")
		require.Equal(t, http.StatusOK, rec.status, rec.body)
		require.JSONEq(t, `{"tokens":[],"nextCursor":null}`, rec.body, "neither bob's nor the admin's tokens")
	})
	t.Run("ErrCreateForOthers", func(t *testing.T) {
		requireErr(t, e.bearer(alice, http.MethodPost, "/api/tokens", `{"type":"api","owner":"bob","scopes":["meta:read"]}`), http.StatusForbidden, "forbidden", "owner")
		requireErr(t, e.bearer(alice, http.MethodPost, "/api/tokens", `{"type":"report","reportId":"q3"}`), http.StatusForbidden, "forbidden", "reportId")
		requireErr(t, e.bearer(alice, http.MethodPost, "/api/tokens", `{"type":"app-view","appId":"analytics"}`), http.StatusForbidden, "forbidden", "appId")
	})
	t.Run("ErrOtherRoutes", func(t *testing.T) {
		for _, r := range []struct{ method, path, body string }{
			{http.MethodGet, "/api/clients", ""},
			{http.MethodPost, "/api/clients", `{"id":"evil"}`},
			{http.MethodPost, "/api/tokens/_cleanup", ""},
			{http.MethodPut, "/api/owners/alice/roles/api-tokens", ""},
			{http.MethodGet, "/api/reports/q3/tokens", ""},
			{http.MethodGet, "/api/apps/analytics/tokens", ""},
			{http.MethodPost, "/api/v1/revoke-all", `{"sub":"bob"}`},
			{http.MethodPost, "/api/console-tokens", `{"owner":"alice"}`},
		} {
			rec := e.bearer(alice, r.method, r.path, r.body)
			require.Equal(t, http.StatusUnauthorized, rec.status, "%s %s: %s", r.method, r.path, rec.body)
		}
		form := url.Values{"token": {alice}}.Encode()
		rec := e.send(http.MethodPost, "/api/v1/revoke", form, func(r *http.Request) {
			r.Header.Set("Authorization", "Bearer "+alice)
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		})
		require.Equal(t, http.StatusUnauthorized, rec.status, rec.body)
	})
	t.Run("ErrConsoleTokenElsewhere", func(t *testing.T) {
		requireErr(t, e.bearer(alice, http.MethodGet, "/api/v1/verify", ""), http.StatusUnauthorized, "invalid_token", "")
		rec := e.send(http.MethodGet, "/api/v1/verify", "", func(r *http.Request) {
			r.Header.Set("X-Forwarded-Method", "GET")
			r.Header.Set("X-Forwarded-Uri", "/api/tokens?token="+alice)
		})
		require.Equal(t, http.StatusUnauthorized, rec.status, rec.body)
		require.Equal(t, http.StatusUnauthorized, e.send(http.MethodGet, "/api/v1/verify?token="+alice, "", nil).status)
		require.Equal(t, http.StatusUnauthorized, e.bearer(alice, http.MethodPost, "/api/v1/token/refresh", "").status)
		rec = e.send(http.MethodGet, "/view/"+alice, "", func(r *http.Request) {})
		require.Equal(t, http.StatusUnauthorized, rec.status, rec.body)
		require.Empty(t, rec.header.Get("Location"))
		rec = e.send(http.MethodPost, "/api/v1/introspect", url.Values{"token": {alice}}.Encode(), func(r *http.Request) {
			r.SetBasicAuth("admin", e.srv.AdminSecret)
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		})
		require.Equal(t, http.StatusOK, rec.status, rec.body)
		require.JSONEq(t, `{"active":false}`, rec.body)
	})
	t.Run("ErrOtherKindsAsConsoleToken", func(t *testing.T) {
		// An API token of alice, a report token, an embed token.
		rec := e.basic("host", e.host, http.MethodPost, "/api/tokens", `{"type":"api","owner":"alice","name":"mine","scopes":["meta:read"]}`)
		require.Equal(t, http.StatusCreated, rec.status, rec.body)
		var api consoleRecord
		rec.decode(t, &api)
		rec = e.basic("admin", e.srv.AdminSecret, http.MethodPost, "/api/tokens", `{"type":"report","reportId":"q4"}`)
		require.Equal(t, http.StatusCreated, rec.status, rec.body)
		var rep consoleRecord
		rec.decode(t, &rep)
		dash := e.newClient("sales", "dashboard:sales")
		rec = e.send(http.MethodPost, "/api/v1/token", `{"dashboardId":"sales","dashboardSecret":"`+dash+`"}`, nil)
		require.Equal(t, http.StatusOK, rec.status, rec.body)
		var emb struct{ AccessToken string }
		rec.decode(t, &emb)
		for name, tok := range map[string]string{"api": api.Token, "report": rep.Token, "embed": emb.AccessToken, "garbage": "a.b.c"} {
			for _, p := range []string{"/api/tokens", "/api/scopes", "/api/tokens/" + api.ID} {
				rec := e.bearer(tok, http.MethodGet, p, "")
				require.Equal(t, http.StatusUnauthorized, rec.status, "%s at %s: %s", name, p, rec.body)
			}
		}
	})
	t.Run("ErrTwoCredentials", func(t *testing.T) {
		rec := e.send(http.MethodGet, "/api/tokens?token="+alice, "", func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+alice) })
		require.Equal(t, http.StatusBadRequest, rec.status, rec.body)
		rec = e.send(http.MethodGet, "/api/tokens", "", func(r *http.Request) {
			r.Header.Add("Authorization", "Bearer "+alice)
			r.SetBasicAuth("host", e.host)
			r.Header.Add("Authorization", "Bearer "+alice)
		})
		require.Equal(t, http.StatusBadRequest, rec.status, rec.body)
	})
	t.Run("ErrExpired", func(t *testing.T) {
		tok := e.mintConsole("host", e.host, "alice")
		require.Equal(t, http.StatusOK, e.bearer(tok, http.MethodGet, "/api/tokens", "").status)
		e.clk.Advance(10*time.Minute + 31*time.Second) // past exp and the 30s leeway
		requireErr(t, e.bearer(tok, http.MethodGet, "/api/tokens", ""), http.StatusUnauthorized, "invalid_token", "")
	})
}

// TestConsoleToken_ClientChanges: a console token lives only as long as
// the client that minted it stays as it was.
func TestConsoleToken_ClientChanges(t *testing.T) {
	e := newConsoleEnv(t)
	t.Run("ErrDeletedClient", func(t *testing.T) {
		secret := e.newClient("doomed", "api:alice")
		tok := e.mintConsole("doomed", secret, "alice")
		require.Equal(t, http.StatusOK, e.bearer(tok, http.MethodGet, "/api/tokens", "").status)
		require.Equal(t, http.StatusNoContent, e.basic("admin", e.srv.AdminSecret, http.MethodDelete, "/api/clients/doomed", "").status)
		requireErr(t, e.bearer(tok, http.MethodGet, "/api/tokens", ""), http.StatusUnauthorized, "invalid_token", "")
		// A new client of the same id does not bring it back.
		_ = e.newClient("doomed", "api:alice")
		requireErr(t, e.bearer(tok, http.MethodGet, "/api/tokens", ""), http.StatusUnauthorized, "invalid_token", "")
	})
	t.Run("ErrRotatedSecret", func(t *testing.T) {
		secret := e.newClient("rotating", "api:alice")
		tok := e.mintConsole("rotating", secret, "alice")
		require.Equal(t, http.StatusOK, e.bearer(tok, http.MethodGet, "/api/tokens", "").status)
		e.clk.Advance(time.Second)
		require.Equal(t, http.StatusOK, e.basic("admin", e.srv.AdminSecret, http.MethodPost, "/api/clients/rotating/_rotate-secret", "").status)
		requireErr(t, e.bearer(tok, http.MethodGet, "/api/tokens", ""), http.StatusUnauthorized, "invalid_token", "")
	})
	t.Run("AdminMintedIsNoAdmin", func(t *testing.T) {
		tok := e.mintConsole("admin", e.srv.AdminSecret, "alice")
		require.Equal(t, http.StatusUnauthorized, e.bearer(tok, http.MethodGet, "/api/clients", "").status)
		requireErr(t, e.bearer(tok, http.MethodGet, "/api/tokens?owner=bob", ""), http.StatusNotFound, "not_found", "")
		requireErr(t, e.bearer(tok, http.MethodPost, "/api/tokens", `{"type":"report","reportId":"q3"}`), http.StatusForbidden, "forbidden", "reportId")
	})
}

// withRedis runs the server on a real redis-server, checking revocations
// there directly (the tests move the clock by days, and a replica that
// has not heard from Redis for that long fails closed).
func withRedis(t *testing.T) apiserver.Option {
	srv := redisserver.Start(t)
	return apiserver.WithConfig(func(c *config.Config) {
		c.Redis.URL = srv.URL()
		c.Revocation.Mode = "direct"
		c.Pepper = "pepper-" + t.Name()
	})
}

// TestRegistry_Issue14Lifecycle is the registry behaviour issue 14 asks
// for, through HTTP, on both stores: presets count from each generation;
// names are unique per owner for API tokens (ignoring case, freed by
// revocation) and display names for share links; a revoked token stays
// readable with its log by its owner until the retention has passed.
func TestRegistry_Issue14Lifecycle(t *testing.T) {
	for name, opts := range map[string]func(t *testing.T) []apiserver.Option{
		"Memory": func(*testing.T) []apiserver.Option { return nil },
		"Redis":  func(t *testing.T) []apiserver.Option { return []apiserver.Option{withRedis(t)} },
	} {
		t.Run(name, func(t *testing.T) {
			e := newConsoleEnv(t, append(opts(t), apiserver.WithConfig(func(c *config.Config) { c.Registry.Retention = 48 * time.Hour }))...)
			alice := e.mintConsole("host", e.host, "alice")

			// A 7-day preset, generated a month after the creation.
			rec := e.bearer(alice, http.MethodPost, "/api/tokens", `{"name":"CI","scopes":["meta:read"],"expiresIn":"7d","generate":false}`)
			require.Equal(t, http.StatusCreated, rec.status, rec.body)
			var ci struct {
				ID        string
				ExpiresAt *time.Time
				ExpiresIn string
				Status    string
			}
			rec.decode(t, &ci)
			require.Nil(t, ci.ExpiresAt)
			require.Equal(t, "7d", ci.ExpiresIn)
			e.clk.Advance(30 * 24 * time.Hour)
			alice = e.mintConsole("host", e.host, "alice")
			rec = e.bearer(alice, http.MethodPost, "/api/tokens/"+ci.ID+"/_generate", "")
			require.Equal(t, http.StatusOK, rec.status, rec.body)
			var gen struct {
				ExpiresAt *time.Time
				Token     string
			}
			rec.decode(t, &gen)
			require.Equal(t, e.clk.Now().Add(7*24*time.Hour), *gen.ExpiresAt)
			require.Equal(t, float64(e.clk.Now().Add(7*24*time.Hour).Unix()), decodeClaims(t, gen.Token)["exp"])

			// Names: unique per owner for API tokens, ignoring case.
			for _, n := range []string{"CI", "ci", "Ci"} {
				requireErr(t, e.bearer(alice, http.MethodPost, "/api/tokens", `{"name":"`+n+`","scopes":["meta:read"]}`), http.StatusConflict, "conflict", "name")
			}
			rec = e.basic("host", e.host, http.MethodPost, "/api/tokens", `{"type":"api","owner":"bob","name":"ci","scopes":["meta:read"]}`)
			require.Equal(t, http.StatusCreated, rec.status, "another owner's name: %s", rec.body)
			rec = e.bearer(alice, http.MethodPost, "/api/tokens", `{"name":"other","scopes":["meta:read"]}`)
			require.Equal(t, http.StatusCreated, rec.status, rec.body)
			var other struct{ ID string }
			rec.decode(t, &other)
			requireErr(t, e.bearer(alice, http.MethodPatch, "/api/tokens/"+other.ID, `{"name":"cI"}`), http.StatusConflict, "conflict", "name")

			// Share links: display names, shared (the rotate workflow), unless uniqueName.
			for range 2 {
				rec = e.basic("admin", e.srv.AdminSecret, http.MethodPost, "/api/tokens", `{"type":"report","reportId":"q3","name":"Board"}`)
				require.Equal(t, http.StatusCreated, rec.status, rec.body)
			}
			rec = e.basic("admin", e.srv.AdminSecret, http.MethodPost, "/api/tokens", `{"type":"report","reportId":"q3","name":"Pinned","uniqueName":true}`)
			require.Equal(t, http.StatusCreated, rec.status, rec.body)
			requireErr(t, e.basic("admin", e.srv.AdminSecret, http.MethodPost, "/api/tokens", `{"type":"app-view","appId":"a1","name":"pinned","uniqueName":true}`),
				http.StatusConflict, "conflict", "name")

			// Revoke: the record stays, readable with its log by the owner; the name is free.
			require.Equal(t, http.StatusNoContent, e.bearer(alice, http.MethodDelete, "/api/tokens/"+ci.ID, "").status)
			require.Equal(t, http.StatusUnauthorized, e.bearer(gen.Token, http.MethodGet, "/api/v1/verify", "").status)
			require.Equal(t, http.StatusNoContent, e.bearer(alice, http.MethodDelete, "/api/tokens/"+ci.ID, "").status, "idempotent")
			rec = e.bearer(alice, http.MethodGet, "/api/tokens/"+ci.ID, "")
			require.Equal(t, http.StatusOK, rec.status, rec.body)
			rec.decode(t, &ci)
			require.Equal(t, "revoked", ci.Status)
			rec = e.bearer(alice, http.MethodGet, "/api/tokens/"+ci.ID+"/logs", "")
			require.Equal(t, http.StatusOK, rec.status, rec.body)
			require.Contains(t, rec.body, `"activity":"REVOKE"`)
			require.Equal(t, 1, strings.Count(rec.body, `"REVOKE"`))
			requireErr(t, e.bearer(alice, http.MethodPost, "/api/tokens/"+ci.ID+"/_generate", ""), http.StatusConflict, "conflict", "status")
			requireErr(t, e.bearer(alice, http.MethodPatch, "/api/tokens/"+ci.ID, `{"scopes":["report:read"]}`), http.StatusConflict, "conflict", "status")
			rec = e.bearer(alice, http.MethodGet, "/api/tokens?status=revoked", "")
			require.Equal(t, http.StatusOK, rec.status, rec.body)
			require.Contains(t, rec.body, ci.ID)
			rec = e.bearer(alice, http.MethodPost, "/api/tokens", `{"name":"ci","scopes":["meta:read"]}`)
			require.Equal(t, http.StatusCreated, rec.status, "a revoked token frees its name: %s", rec.body)
			require.Equal(t, http.StatusUnauthorized, e.bearer(gen.Token, http.MethodGet, "/api/v1/verify", "").status, "still denied")

			// Cleanup after registry.retention (48h here), with the log.
			rec = e.basic("admin", e.srv.AdminSecret, http.MethodPost, "/api/tokens/_cleanup", "")
			require.JSONEq(t, `{"removed":0}`, rec.body)
			e.clk.Advance(48 * time.Hour)
			alice = e.mintConsole("host", e.host, "alice")
			rec = e.basic("admin", e.srv.AdminSecret, http.MethodPost, "/api/tokens/_cleanup", "")
			require.JSONEq(t, `{"removed":1}`, rec.body)
			requireErr(t, e.bearer(alice, http.MethodGet, "/api/tokens/"+ci.ID, ""), http.StatusNotFound, "not_found", "")
			requireErr(t, e.bearer(alice, http.MethodGet, "/api/tokens/"+ci.ID+"/logs", ""), http.StatusNotFound, "not_found", "")
			requireErr(t, e.basic("admin", e.srv.AdminSecret, http.MethodGet, "/api/tokens/"+ci.ID+"/logs", ""), http.StatusNotFound, "not_found", "")
			require.Equal(t, http.StatusUnauthorized, e.bearer(gen.Token, http.MethodGet, "/api/v1/verify", "").status, "still denied after cleanup")
		})
	}
}

// TestRegistry_ListOwnTokens: GET /api/tokens without a filter lists what
// the caller created (a 404 before issue 14), paged, never another
// client's; a console caller its owner's API tokens.
func TestRegistry_ListOwnTokens(t *testing.T) {
	e := newConsoleEnv(t, withRedis(t))
	rivalSecret := e.newClient("rival", "api:*", "report:*")
	var mine []string
	for i := range 5 {
		rec := e.basic("host", e.host, http.MethodPost, "/api/tokens", fmt.Sprintf(`{"type":"api","owner":"alice","name":"t%d","scopes":["meta:read"]}`, i))
		require.Equal(t, http.StatusCreated, rec.status, rec.body)
		var v struct{ ID string }
		rec.decode(t, &v)
		mine = append([]string{v.ID}, mine...)
		e.clk.Advance(time.Second)
		rec = e.basic("rival", rivalSecret, http.MethodPost, "/api/tokens", fmt.Sprintf(`{"type":"api","owner":"alice","name":"r%d","scopes":["meta:read"]}`, i))
		require.Equal(t, http.StatusCreated, rec.status, rec.body)
	}
	var got []string
	cursor := ""
	for pages := 0; ; pages++ {
		require.Less(t, pages, 5)
		rec := e.basic("host", e.host, http.MethodGet, "/api/tokens?limit=2"+cursor, "")
		require.Equal(t, http.StatusOK, rec.status, rec.body)
		var page struct {
			Tokens     []struct{ ID, CreatedBy string }
			NextCursor *string
		}
		rec.decode(t, &page)
		for _, tk := range page.Tokens {
			require.Equal(t, "host", tk.CreatedBy)
			got = append(got, tk.ID)
		}
		if page.NextCursor == nil {
			break
		}
		cursor = "&cursor=" + url.QueryEscape(*page.NextCursor)
	}
	require.Equal(t, mine, got)
	// The console caller of the host client sees the same (alice's, the host's).
	rec := e.bearer(e.mintConsole("host", e.host, "alice"), http.MethodGet, "/api/tokens?limit=200", "")
	require.Equal(t, http.StatusOK, rec.status, rec.body)
	for _, id := range mine {
		require.Contains(t, rec.body, id)
	}
	require.Equal(t, 5, strings.Count(rec.body, `"createdBy":"host"`))
	require.NotContains(t, rec.body, `"createdBy":"rival"`)
}

// TestRegistry_AppTokensNotReadable: GET /api/apps/{id}/tokens (and the
// report listing) for an app the caller may not read is 404, as for a
// missing token, never an empty list.
func TestRegistry_AppTokensNotReadable(t *testing.T) {
	e := newConsoleEnv(t)
	appSecret := e.newClient("apps", "app:analytics")
	rec := e.basic("apps", appSecret, http.MethodPost, "/api/tokens", `{"type":"app-view","appId":"analytics"}`)
	require.Equal(t, http.StatusCreated, rec.status, rec.body)
	rec = e.basic("apps", appSecret, http.MethodGet, "/api/apps/analytics/tokens", "")
	require.Equal(t, http.StatusOK, rec.status, rec.body)
	for _, path := range []string{
		"/api/apps/finance/tokens", "/api/apps/ANALYTICS/tokens", "/api/apps/*/tokens", "/api/apps/analytic%3F/tokens",
		"/api/apps/..%2Fanalytics/tokens", "/api/reports/q3/tokens",
	} {
		requireErr(t, e.basic("apps", appSecret, http.MethodGet, path, ""), http.StatusNotFound, "not_found", "")
	}
	for _, c := range []struct{ id, secret string }{{"other", e.other}, {"host", e.host}} {
		requireErr(t, e.basic(c.id, c.secret, http.MethodGet, "/api/apps/analytics/tokens", ""), http.StatusNotFound, "not_found", "")
	}
	rec = e.basic("admin", e.srv.AdminSecret, http.MethodGet, "/api/apps/unknown/tokens", "")
	require.Equal(t, http.StatusOK, rec.status, "an admin may read every app: %s", rec.body)
}

// TestConsoleToken_CORS: the host app's origin (console.allowed_origins)
// may call the routes a console token uses, with PATCH and DELETE and the
// Authorization header, never with cookies; other origins and other
// routes get no CORS answer.
func TestConsoleToken_CORS(t *testing.T) {
	const host = "https://host.example"
	e := newConsoleEnv(t, apiserver.WithConfig(func(c *config.Config) { c.Console.AllowedOrigins = []string{host} }))
	preflight := func(origin, path, method string) answer {
		return e.send(http.MethodOptions, path, "", func(r *http.Request) {
			r.Header.Set("Origin", origin)
			r.Header.Set("Access-Control-Request-Method", method)
			r.Header.Set("Access-Control-Request-Headers", "authorization, content-type")
		})
	}
	for _, c := range []struct{ path, method string }{
		{"/api/tokens", http.MethodPost}, {"/api/tokens/x", http.MethodPatch}, {"/api/tokens/x", http.MethodDelete},
		{"/api/tokens/x/_generate", http.MethodPost}, {"/api/tokens/x/logs", http.MethodGet}, {"/api/scopes", http.MethodGet},
	} {
		a := preflight(host, c.path, c.method)
		require.Equal(t, host, a.header.Get("Access-Control-Allow-Origin"), "%s %s", c.method, c.path)
		require.Contains(t, a.header.Get("Access-Control-Allow-Methods"), c.method)
		require.Contains(t, strings.ToLower(a.header.Get("Access-Control-Allow-Headers")), "authorization")
		require.Empty(t, a.header.Get("Access-Control-Allow-Credentials"), "never cookies")
	}
	require.Empty(t, preflight("https://evil.example", "/api/tokens", http.MethodPost).header.Get("Access-Control-Allow-Origin"))
	for _, p := range []string{"/api/clients", "/api/console-tokens", "/api/owners/alice/roles/api-tokens"} {
		require.Empty(t, preflight(host, p, http.MethodPost).header.Get("Access-Control-Allow-Origin"), p)
	}
	tok := e.mintConsole("host", e.host, "alice")
	a := e.send(http.MethodGet, "/api/tokens", "", func(r *http.Request) {
		r.Header.Set("Origin", host)
		r.Header.Set("Authorization", "Bearer "+tok)
	})
	require.Equal(t, http.StatusOK, a.status, a.body)
	require.Equal(t, host, a.header.Get("Access-Control-Allow-Origin"))
}
