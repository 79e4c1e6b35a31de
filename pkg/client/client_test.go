package client_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/sigil-dev/sigil/internal/app"
	"github.com/sigil-dev/sigil/internal/config"
	"github.com/sigil-dev/sigil/internal/testclock"
	"github.com/sigil-dev/sigil/pkg/client"
	"github.com/sigil-dev/sigil/test/apiserver"
)

// setup starts the real API and returns an admin client, a dashboard
// client "sales" with its secret, and an issuer client for report:q3.
func setup(t *testing.T, opts ...apiserver.Option) (srv *apiserver.Server, admin *client.Client, dashSecret string, issuer *client.Client) {
	t.Helper()
	srv = apiserver.Start(t, opts...)
	admin, err := client.New(srv.URL, client.WithCredentials("admin", srv.AdminSecret))
	require.NoError(t, err)
	ctx := context.Background()
	dash, err := admin.CreateClient(ctx, client.NewClient{ID: "sales", Resources: []string{"dashboard:sales"}})
	require.NoError(t, err)
	require.NotEmpty(t, dash.Secret)
	inf, err := admin.CreateClient(ctx, client.NewClient{ID: "informer", Resources: []string{"report:q3"}})
	require.NoError(t, err)
	issuer, err = client.New(srv.URL, client.WithCredentials(inf.ID, inf.Secret))
	require.NoError(t, err)
	return srv, admin, dash.Secret, issuer
}

func TestClient_EmbedLifecycle(t *testing.T) {
	// Refresh at once, on the real clock: no minimum token age.
	srv, admin, dashSecret, _ := setup(t, apiserver.WithConfig(func(c *config.Config) { c.Tokens.RefreshMinAge = time.Nanosecond }))
	ctx := context.Background()
	anon, err := client.New(srv.URL + "/")
	require.NoError(t, err)

	tok, err := anon.Mint(ctx, client.MintRequest{
		DashboardID: "sales", DashboardSecret: dashSecret, TokenExpiry: 600, Sub: "ana",
		Params:           map[string]any{"locale": "de-DE", "currency": "EUR"},
		SecurityPolicies: []client.Policy{{Name: "region", Params: map[string]any{"region": "EU"}}},
	})
	require.NoError(t, err)
	require.Equal(t, "Bearer", tok.TokenType)
	require.EqualValues(t, 600, tok.ExpiresIn)

	v, err := anon.Verify(ctx, client.VerifyRequest{Token: tok.AccessToken})
	require.NoError(t, err)
	require.True(t, v.Active)
	require.Equal(t, "embed", v.Kind)
	require.Equal(t, "ana", v.Subject)
	require.Equal(t, "de-DE", v.Params["locale"])
	require.Equal(t, []client.Policy{{Name: "region", Params: map[string]any{"region": "EU"}}}, v.Policies)

	in, err := admin.Introspect(ctx, tok.AccessToken)
	require.NoError(t, err)
	require.True(t, in.Active)
	require.Equal(t, "sales", in.DashboardID)

	next, err := anon.Refresh(ctx, tok.AccessToken)
	require.NoError(t, err)
	require.NotEqual(t, tok.AccessToken, next.AccessToken)
	_, err = anon.Verify(ctx, client.VerifyRequest{Token: tok.AccessToken})
	require.ErrorIs(t, err, client.ErrInvalidToken, "the refreshed-away token is revoked")

	require.NoError(t, anon.Invalidate(ctx, next.AccessToken))
	require.NoError(t, anon.Invalidate(ctx, next.AccessToken), "invalidate is idempotent")
	_, err = anon.Verify(ctx, client.VerifyRequest{Token: next.AccessToken})
	var ce *client.Error
	require.ErrorAs(t, err, &ce)
	require.Equal(t, http.StatusUnauthorized, ce.Status)
	require.Equal(t, "invalid_token", ce.Code)
	require.Contains(t, ce.Message, "revoked")

	in, err = admin.Introspect(ctx, next.AccessToken)
	require.NoError(t, err)
	require.False(t, in.Active)

	third, err := anon.Mint(ctx, client.MintRequest{DashboardID: "sales", DashboardSecret: dashSecret})
	require.NoError(t, err)
	require.NoError(t, admin.Revoke(ctx, third.AccessToken))
	_, err = anon.Verify(ctx, client.VerifyRequest{Token: third.AccessToken})
	require.ErrorIs(t, err, client.ErrInvalidToken)

	cut, err := admin.RevokeAll(ctx, client.RevokeAllRequest{DashboardID: "sales"})
	require.NoError(t, err)
	require.Equal(t, "sales", cut.ID)
	require.Equal(t, "dashboard", cut.Dimension)
}

func TestClient_Errors(t *testing.T) {
	srv, admin, dashSecret, issuer := setup(t)
	ctx := context.Background()
	anon, err := client.New(srv.URL)
	require.NoError(t, err)

	tests := []struct {
		name   string
		call   func() error
		want   *client.Error
		status int
		field  string
	}{
		{"ErrUnauthorized/WrongDashboardSecret", func() error {
			_, err := anon.Mint(ctx, client.MintRequest{DashboardID: "sales", DashboardSecret: dashSecret + "x"})
			return err
		}, client.ErrUnauthorized, 401, ""},
		{"ErrInvalidRequest/NamesField", func() error {
			_, err := anon.Mint(ctx, client.MintRequest{DashboardID: "sales", DashboardSecret: dashSecret, TokenExpiry: 999999999})
			return err
		}, client.ErrInvalidRequest, 400, "tokenExpiry"},
		{"ErrTokenRequired", func() error {
			_, err := anon.Verify(ctx, client.VerifyRequest{})
			return err
		}, client.ErrTokenRequired, 401, ""},
		{"ErrInvalidToken/Forged", func() error {
			return anon.Invalidate(ctx, "eyJhbGciOiJFZERTQSJ9.eyJqdGkiOiJ4In0.AAAA")
		}, client.ErrInvalidToken, 401, ""},
		{"ErrForbidden/IssuerOnAdminRoute", func() error {
			_, err := issuer.ListClients(ctx)
			return err
		}, client.ErrForbidden, 403, ""},
		{"ErrNotFound/Client", func() error {
			return admin.DeleteClient(ctx, "nobody")
		}, client.ErrNotFound, 404, ""},
		{"ErrNotFound/PathIsEscaped", func() error {
			// A hostile id must stay one path segment, never reach /api/clients.
			_, err := admin.GetToken(ctx, "../clients")
			return err
		}, client.ErrNotFound, 404, ""},
		{"ErrForbidden/ForeignReport", func() error {
			_, err := issuer.CreateToken(ctx, client.CreateTokenRequest{Type: client.KindReport, ReportID: "q4"})
			return err
		}, client.ErrForbidden, 403, "reportId"},
		{"ErrConflict/ClientID", func() error {
			_, err := admin.CreateClient(ctx, client.NewClient{ID: "sales", Resources: []string{"dashboard:sales"}})
			return err
		}, client.ErrConflict, 409, "id"},
		{"ErrInvalidRequest/TokenType", func() error {
			_, err := issuer.CreateToken(ctx, client.CreateTokenRequest{Type: "root"})
			return err
		}, client.ErrInvalidRequest, 400, "type"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.call()
			require.ErrorIs(t, err, tc.want)
			var ce *client.Error
			require.ErrorAs(t, err, &ce)
			require.Equal(t, tc.status, ce.Status)
			require.Equal(t, tc.field, ce.Field)
			require.NotEmpty(t, ce.Message)
			for _, other := range []*client.Error{client.ErrNotFound, client.ErrUnauthorized, client.ErrInvalidRequest, client.ErrConflict} {
				if other != tc.want {
					require.NotErrorIs(t, err, other)
				}
			}
		})
	}
}

func TestClient_RegisteredTokens(t *testing.T) {
	_, admin, _, issuer := setup(t, apiserver.WithReveal())
	ctx := context.Background()

	created, err := issuer.CreateToken(ctx, client.CreateTokenRequest{Type: client.KindReport, ReportID: "q3", Name: "board", ExpiresIn: "30d"})
	require.NoError(t, err)
	require.NotEmpty(t, created.Token)
	require.Equal(t, "generated-inactive", created.Status)
	require.Equal(t, "informer", created.Owner)
	require.NotNil(t, created.ExpiresAt)

	got, err := issuer.GetToken(ctx, created.ID)
	require.NoError(t, err)
	require.Equal(t, created.Token, got.Token, "reveal on: reads show the JWT")
	require.Equal(t, created.Token[len(created.Token)-6:], got.TokenHint)

	name := "board v2"
	upd, err := issuer.UpdateToken(ctx, created.ID, client.UpdateTokenRequest{Name: &name})
	require.NoError(t, err)
	require.Equal(t, name, upd.Name)
	require.False(t, upd.ScopesPending)

	gen, err := issuer.GenerateToken(ctx, created.ID)
	require.NoError(t, err)
	require.NotEqual(t, created.Token, gen.Token)
	anon, err := client.New(issuer.BaseURL())
	require.NoError(t, err)
	_, err = anon.Verify(ctx, client.VerifyRequest{Token: created.Token})
	require.ErrorIs(t, err, client.ErrInvalidToken, "generation revokes the previous JWT")
	_, err = anon.Verify(ctx, client.VerifyRequest{Token: gen.Token})
	require.NoError(t, err)

	logs, err := issuer.TokenLogs(ctx, created.ID, 2, "")
	require.NoError(t, err)
	require.Len(t, logs.Logs, 2)
	require.NotEmpty(t, logs.NextCursor)
	more, err := issuer.TokenLogs(ctx, created.ID, 0, logs.NextCursor)
	require.NoError(t, err)
	require.NotEmpty(t, more.Logs)

	rep, err := issuer.ReportTokens(ctx, "q3")
	require.NoError(t, err)
	require.Nil(t, rep.Warning)
	require.Len(t, rep.Tokens, 1)
	require.Equal(t, created.ID, rep.Tokens[0].ID)

	app, err := admin.CreateToken(ctx, client.CreateTokenRequest{Type: client.KindAppView, AppID: "analytics", Generate: new(bool)})
	require.NoError(t, err)
	require.Empty(t, app.Token)
	require.Equal(t, "not-generated", app.Status)
	apps, err := admin.AppTokens(ctx, "analytics")
	require.NoError(t, err)
	require.Len(t, apps, 1)
	require.True(t, apps[0].ReadOnly)

	require.NoError(t, admin.SetAPITokensRole(ctx, "ana", true))
	api, err := admin.CreateToken(ctx, client.CreateTokenRequest{Type: client.KindAPI, Owner: "ana", Scopes: []string{"meta:read"}, ExpiresIn: "1d"})
	require.NoError(t, err)
	require.Equal(t, []string{"meta:read"}, api.Scopes)
	require.NoError(t, admin.SetAPITokensRole(ctx, "ana", false))

	page, err := admin.ListTokens(ctx, client.TokenFilter{Limit: 2})
	require.NoError(t, err)
	require.Len(t, page.Tokens, 2)
	require.NotEmpty(t, page.NextCursor)
	rest, err := admin.ListTokens(ctx, client.TokenFilter{Cursor: page.NextCursor})
	require.NoError(t, err)
	require.Len(t, rest.Tokens, 1)
	require.Empty(t, rest.NextCursor)
	only, err := admin.ListTokens(ctx, client.TokenFilter{Type: client.KindAPI})
	require.NoError(t, err)
	require.Len(t, only.Tokens, 1)
	require.Equal(t, api.ID, only.Tokens[0].ID)

	require.NoError(t, issuer.DeleteToken(ctx, created.ID))
	gone, err := issuer.GetToken(ctx, created.ID)
	require.NoError(t, err, "issue 14: a revoked token's record stays readable")
	require.Equal(t, "revoked", gone.Status)
	require.NotNil(t, gone.RevokedAt)
	require.NoError(t, issuer.DeleteToken(ctx, created.ID), "revoking again is 204")
	_, err = anon.Verify(ctx, client.VerifyRequest{Token: gen.Token})
	require.ErrorIs(t, err, client.ErrInvalidToken, "deletion revokes the JWT")

	n, err := admin.CleanupTokens(ctx)
	require.NoError(t, err)
	require.Zero(t, n)

	_, err = issuer.PublishReport(ctx, "q3", false)
	require.ErrorIs(t, err, client.ErrNotFound, "no cloud configured")
}

func TestClient_Clients(t *testing.T) {
	_, admin, _, _ := setup(t)
	ctx := context.Background()
	list, err := admin.ListClients(ctx)
	require.NoError(t, err)
	ids := []string{}
	for _, c := range list {
		require.Empty(t, c.Secret, "listings never show a secret")
		ids = append(ids, c.ID)
	}
	require.ElementsMatch(t, []string{"admin", "sales", "informer"}, ids)
	got, err := admin.GetClient(ctx, "informer")
	require.NoError(t, err)
	require.Equal(t, client.RoleIssuer, got.Role)
	rot, err := admin.RotateClientSecret(ctx, "informer")
	require.NoError(t, err)
	require.NotEmpty(t, rot.Secret)
	require.NoError(t, admin.DeleteClient(ctx, "informer"))
	_, err = admin.GetClient(ctx, "informer")
	require.ErrorIs(t, err, client.ErrNotFound)
}

func TestNew_Err(t *testing.T) {
	for _, u := range []string{"", "ftp://x", "/relative", "http://", "http://u:p@host", "http://host?x=1", "http://host#f", "http://[::1"} {
		_, err := client.New(u)
		require.Error(t, err, u)
	}
}

func TestClient_ErrNoCredentials(t *testing.T) {
	srv := apiserver.Start(t)
	c, err := client.New(srv.URL)
	require.NoError(t, err)
	_, err = c.ListClients(context.Background())
	require.ErrorContains(t, err, "client credentials")
}

func TestClient_ErrTransport(t *testing.T) {
	srv := apiserver.Start(t)
	c, err := client.New(srv.URL, client.WithCredentials("admin", srv.AdminSecret))
	require.NoError(t, err)
	srv.Close()
	_, err = c.ListClients(context.Background())
	require.Error(t, err)
	var ce *client.Error
	require.False(t, errors.As(err, &ce), "a transport failure is not an API answer")
}

// A gateway in front of sigil may answer with its own HTML page: the
// status still classifies the error.
func TestClient_NonJSONError(t *testing.T) {
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Retry-After", "7")
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = w.Write([]byte("<html>down</html>"))
	}))
	defer proxy.Close()
	c, err := client.New(proxy.URL, client.WithCredentials("a", "b"))
	require.NoError(t, err)
	_, err = c.ListClients(context.Background())
	require.ErrorIs(t, err, client.ErrUnavailable)
	var ce *client.Error
	require.ErrorAs(t, err, &ce)
	require.Equal(t, 503, ce.Status)
	require.EqualValues(t, 7, ce.RetryAfter.Seconds())
	require.False(t, strings.Contains(ce.Error(), "<html>"))
}

// TestClient_ConsoleToken: a host backend mints a console token with its
// credentials; a Client made WithConsoleToken manages that owner's API
// tokens with it, and nothing else.
func TestClient_ConsoleToken(t *testing.T) {
	clk := testclock.New(time.Date(2031, 1, 2, 3, 4, 5, 0, time.UTC))
	srv, admin, _, _ := setup(t, apiserver.WithApp(app.WithNow(clk.Now)))
	ctx := context.Background()
	host, err := admin.CreateClient(ctx, client.NewClient{ID: "host", Resources: []string{"api:*"}})
	require.NoError(t, err)
	backend, err := client.New(srv.URL, client.WithCredentials("host", host.Secret))
	require.NoError(t, err)
	require.NoError(t, admin.SetAPITokensRole(ctx, "alice", true))

	ct, err := backend.MintConsoleToken(ctx, "alice", 15*time.Minute)
	require.NoError(t, err)
	require.NotEmpty(t, ct.Token)
	require.Equal(t, clk.Now().Add(15*time.Minute), ct.ExpiresAt)
	_, err = backend.MintConsoleToken(ctx, "alice", 2*time.Hour)
	require.ErrorIs(t, err, client.ErrInvalidRequest)

	browser, err := client.New(srv.URL, client.WithConsoleToken(ct.Token))
	require.NoError(t, err)
	scopes, err := browser.Scopes(ctx)
	require.NoError(t, err)
	require.Equal(t, []client.Scope{{Name: "meta:read", Label: "Meta Record"}, {Name: "report:read", Label: "Report Record"}}, scopes)
	tok, err := browser.CreateToken(ctx, client.CreateTokenRequest{Type: client.KindAPI, Name: "CI", Scopes: []string{"meta:read"}, ExpiresIn: "7d"})
	require.NoError(t, err)
	require.Equal(t, "alice", tok.Owner)
	require.Equal(t, "7d", tok.ExpiresIn)
	page, err := browser.ListTokens(ctx, client.TokenFilter{})
	require.NoError(t, err)
	require.Len(t, page.Tokens, 1)
	require.NoError(t, browser.DeleteToken(ctx, tok.ID))
	got, err := browser.GetToken(ctx, tok.ID)
	require.NoError(t, err)
	require.Equal(t, "revoked", got.Status)
	_, err = browser.ListTokens(ctx, client.TokenFilter{Owner: "bob"})
	require.ErrorIs(t, err, client.ErrNotFound)
	_, err = browser.MintConsoleToken(ctx, "alice", 0)
	require.Error(t, err, "no client credentials, and a console token mints nothing")
	_, err = browser.ReportTokens(ctx, "q3")
	require.Error(t, err)
}
