package cloud_test

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/sigil-dev/sigil/internal/config"
	"github.com/sigil-dev/sigil/internal/httpapi"
	"github.com/sigil-dev/sigil/pkg/client"
	"github.com/sigil-dev/sigil/test/apiserver"
)

// pair is a local deployment publishing to a cloud deployment, both the
// real API, with an issuer "informer" for report:q3 on the local side.
type pair struct {
	cloud, local *apiserver.Server
	cloudAdmin   *client.Client
	informer     *client.Client // on local
	rival        *client.Client // on local, report:other only
	anon         *client.Client // on cloud, no credentials
}

// newPair starts the cloud (revealing tokens), creates the local
// deployment's client there (issuer, report:*), and starts the local one
// pointing at cloudURL (the cloud's own URL when empty) with secret.
func newPair(t *testing.T, cloudURL, secretOverride string) *pair {
	t.Helper()
	ctx := context.Background()
	p := &pair{}
	p.cloud = apiserver.Start(t, apiserver.WithReveal())
	var err error
	p.cloudAdmin, err = client.New(p.cloud.URL, client.WithCredentials("admin", p.cloud.AdminSecret))
	require.NoError(t, err)
	acme, err := p.cloudAdmin.CreateClient(ctx, client.NewClient{ID: "acme", Resources: []string{"report:*"}})
	require.NoError(t, err)
	if cloudURL == "" {
		cloudURL = p.cloud.URL
	}
	secret := acme.Secret
	if secretOverride != "" {
		secret = secretOverride
	}
	p.local = apiserver.Start(t, apiserver.WithConfig(func(c *config.Config) {
		c.Cloud = config.Cloud{URL: cloudURL, PublicURL: "https://public.example.com/", ClientID: "acme", ClientSecret: secret,
			Timeout: 500 * time.Millisecond}
	}))
	admin, err := client.New(p.local.URL, client.WithCredentials("admin", p.local.AdminSecret))
	require.NoError(t, err)
	inf, err := admin.CreateClient(ctx, client.NewClient{ID: "informer", Resources: []string{"report:q3"}})
	require.NoError(t, err)
	p.informer, err = client.New(p.local.URL, client.WithCredentials("informer", inf.Secret))
	require.NoError(t, err)
	riv, err := admin.CreateClient(ctx, client.NewClient{ID: "rival", Resources: []string{"report:other"}})
	require.NoError(t, err)
	p.rival, err = client.New(p.local.URL, client.WithCredentials("rival", riv.Secret))
	require.NoError(t, err)
	p.anon, err = client.New(p.cloud.URL)
	require.NoError(t, err)
	return p
}

// jwtOf is the token in a public URL.
func jwtOf(t *testing.T, u string) string {
	t.Helper()
	const prefix = "https://public.example.com/view/"
	require.True(t, strings.HasPrefix(u, prefix), u)
	return strings.TrimPrefix(u, prefix)
}

func TestPublisher_PublishListRevoke(t *testing.T) {
	p := newPair(t, "", "")
	ctx := context.Background()

	local, err := p.informer.CreateToken(ctx, client.CreateTokenRequest{Type: client.KindReport, ReportID: "q3", Name: "internal"})
	require.NoError(t, err)

	pub, err := p.informer.PublishReport(ctx, "q3", false)
	require.NoError(t, err)
	require.True(t, pub.Cloud)
	require.Equal(t, client.KindReport, pub.Type)
	require.Equal(t, "q3", pub.ReportID)
	require.Empty(t, pub.Token, "the JWT travels in the url only")
	jwt := jwtOf(t, pub.URL)
	v, err := p.anon.Verify(ctx, client.VerifyRequest{Token: jwt})
	require.NoError(t, err, "the token was minted by the cloud")
	require.Equal(t, "report:q3", v.Resource)

	again, err := p.informer.PublishReport(ctx, "q3", false)
	require.NoError(t, err)
	require.Equal(t, pub.ID, again.ID, "publishing twice returns the existing token")
	require.Equal(t, pub.URL, again.URL)

	list, err := p.informer.ReportTokens(ctx, "q3")
	require.NoError(t, err)
	require.Nil(t, list.Warning)
	require.Len(t, list.Tokens, 2)
	require.Equal(t, local.ID, list.Tokens[0].ID)
	require.False(t, list.Tokens[0].Cloud)
	require.Empty(t, list.Tokens[0].URL)
	require.Equal(t, pub.ID, list.Tokens[1].ID)
	require.True(t, list.Tokens[1].Cloud)
	require.Equal(t, pub.URL, list.Tokens[1].URL)

	rot, err := p.informer.PublishReport(ctx, "q3", true)
	require.NoError(t, err)
	require.Equal(t, pub.ID, rot.ID, "rotation keeps the record")
	require.NotEqual(t, pub.URL, rot.URL)
	_, err = p.anon.Verify(ctx, client.VerifyRequest{Token: jwt})
	require.ErrorIs(t, err, client.ErrInvalidToken, "rotation revokes the old link")

	// Hostile callers: another issuer, a foreign record id, bad queries.
	_, err = p.rival.PublishReport(ctx, "q3", false)
	require.ErrorIs(t, err, client.ErrNotFound)
	require.ErrorIs(t, p.rival.DeleteToken(ctx, rot.ID), client.ErrNotFound, "a cloud token of a report the caller may not see")
	_, err = p.rival.ReportTokens(ctx, "q3")
	require.ErrorIs(t, err, client.ErrNotFound)

	// A cloud token this deployment did not publish is not reachable through it.
	foreign, err := p.cloudAdmin.CreateToken(ctx, client.CreateTokenRequest{Type: client.KindReport, ReportID: "q3"})
	require.NoError(t, err)
	require.ErrorIs(t, p.informer.DeleteToken(ctx, foreign.ID), client.ErrNotFound)
	list, err = p.informer.ReportTokens(ctx, "q3")
	require.NoError(t, err)
	require.Len(t, list.Tokens, 2, "the cloud admin's own token is not listed")

	require.NoError(t, p.informer.DeleteToken(ctx, rot.ID))
	_, err = p.anon.Verify(ctx, client.VerifyRequest{Token: jwtOf(t, rot.URL)})
	require.ErrorIs(t, err, client.ErrInvalidToken, "revoked on the cloud")
	require.NoError(t, p.informer.DeleteToken(ctx, rot.ID), "revoking a revoked token is idempotent (issue 14: the record stays, revoked)")
	list, err = p.informer.ReportTokens(ctx, "q3")
	require.NoError(t, err)
	require.Len(t, list.Tokens, 1)

	// Published again after the revocation: a new token.
	fresh, err := p.informer.PublishReport(ctx, "q3", false)
	require.NoError(t, err)
	require.NotEqual(t, rot.ID, fresh.ID)
	_, err = p.anon.Verify(ctx, client.VerifyRequest{Token: jwtOf(t, fresh.URL)})
	require.NoError(t, err)
	_, err = p.cloudAdmin.Verify(ctx, client.VerifyRequest{Token: jwtOf(t, fresh.URL)})
	require.NoError(t, err)
	require.NoError(t, p.informer.DeleteToken(ctx, local.ID), "local tokens are still deleted locally")
}

func TestPublisher_BadInput(t *testing.T) {
	p := newPair(t, "", "")
	hc := &http.Client{}
	for _, tc := range []struct {
		name, method, path string
		status             int
	}{
		{"ErrRotateValue", http.MethodPost, "/api/reports/q3/_cloud-publish?rotate=maybe", http.StatusBadRequest},
		{"ErrUnknownQuery", http.MethodPost, "/api/reports/q3/_cloud-publish?force=true", http.StatusBadRequest},
		{"ErrRepeatedQuery", http.MethodPost, "/api/reports/q3/_cloud-publish?rotate=true&rotate=false", http.StatusBadRequest},
		{"ErrLongReportID", http.MethodPost, "/api/reports/" + strings.Repeat("r", 201) + "/_cloud-publish", http.StatusBadRequest},
		{"ErrControlReportID", http.MethodPost, "/api/reports/q%0A3/_cloud-publish", http.StatusBadRequest},
		{"ErrGetPublish", http.MethodGet, "/api/reports/q3/_cloud-publish", http.StatusMethodNotAllowed},
		{"ErrDeleteHugeID", http.MethodDelete, "/api/tokens/" + strings.Repeat("x", 20000), http.StatusNotFound},
		{"ErrDeleteControlID", http.MethodDelete, "/api/tokens/a%00b", http.StatusNotFound},
		{"ErrDeleteSlashID", http.MethodDelete, "/api/tokens/..%2Fclients", http.StatusNotFound},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, err := http.NewRequest(tc.method, p.local.URL+tc.path, nil)
			require.NoError(t, err)
			req.SetBasicAuth("admin", p.local.AdminSecret)
			resp, err := hc.Do(req)
			require.NoError(t, err)
			var body struct {
				Error struct{ Code, Message string }
			}
			require.NoError(t, json.NewDecoder(resp.Body).Decode(&body))
			resp.Body.Close()
			require.Equal(t, tc.status, resp.StatusCode, body.Error.Message)
			require.NotEmpty(t, body.Error.Code)
		})
	}
}

func TestPublisher_CloudDown(t *testing.T) {
	// A listener that never accepts: connections hang until the timeout.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { ln.Close() })
	p := newPair(t, "http://"+ln.Addr().String(), "")
	ctx := context.Background()
	local, err := p.informer.CreateToken(ctx, client.CreateTokenRequest{Type: client.KindReport, ReportID: "q3"})
	require.NoError(t, err)

	start := time.Now()
	list, err := p.informer.ReportTokens(ctx, "q3")
	t.Logf("listing with a cloud that never answers took %s (timeout 500ms)", time.Since(start))
	require.NoError(t, err)
	require.Len(t, list.Tokens, 1)
	require.Equal(t, local.ID, list.Tokens[0].ID)
	require.NotNil(t, list.Warning)
	require.Equal(t, httpapi.WarnCloudUnavailable, list.Warning.Code)
	require.NotEmpty(t, list.Warning.Message)

	_, err = p.informer.PublishReport(ctx, "q3", false)
	require.ErrorIs(t, err, client.ErrUnavailable)
	var ce *client.Error
	require.ErrorAs(t, err, &ce)
	require.Equal(t, http.StatusServiceUnavailable, ce.Status)
	require.Positive(t, ce.RetryAfter)

	// An unknown id may be a cloud token: with the cloud down that is a 503, not a false 404.
	require.ErrorIs(t, p.informer.DeleteToken(ctx, "0b5e0b5e-0000-4000-8000-000000000000"), client.ErrUnavailable)
}

func TestPublisher_CloudRefuses(t *testing.T) {
	p := newPair(t, "", "wrong-secret-wrong-secret-wrong-secret")
	ctx := context.Background()
	list, err := p.informer.ReportTokens(ctx, "q3")
	require.NoError(t, err)
	require.NotNil(t, list.Warning)
	require.Equal(t, httpapi.WarnCloudError, list.Warning.Code)

	_, err = p.informer.PublishReport(ctx, "q3", false)
	require.ErrorIs(t, err, client.ErrUpstream)
	var ce *client.Error
	require.ErrorAs(t, err, &ce)
	require.Equal(t, http.StatusBadGateway, ce.Status)
	require.NotContains(t, ce.Message, "wrong-secret")
}

// Concurrent publications of one report end with one cloud token.
func TestPublisher_ConcurrentPublish(t *testing.T) {
	p := newPair(t, "", "")
	ctx := context.Background()
	const n = 8
	ids := make([]string, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			tok, err := p.informer.PublishReport(ctx, "q3", false)
			errs[i] = err
			if err == nil {
				ids[i] = tok.ID
			}
		}()
	}
	wg.Wait()
	first := ""
	for i := range n {
		if errs[i] != nil {
			// The one allowed failure: lost the race twice; retrying is the answer.
			require.ErrorIs(t, errs[i], client.ErrConflict)
			continue
		}
		if first == "" {
			first = ids[i]
		}
		require.Equal(t, first, ids[i])
	}
	require.NotEmpty(t, first)
	list, err := p.informer.ReportTokens(ctx, "q3")
	require.NoError(t, err)
	require.Len(t, list.Tokens, 1)
}
