package client_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sigil-dev/sigil/pkg/client"
)

// TestClient_OwnerEmail: an admin and a client that may act for api:<owner>
// set, read and remove an owner's address; a client of another tenant, or
// one with only report resources, is refused (403 naming owner) and never
// reads it; malformed addresses are 400s naming email.
func TestClient_OwnerEmail(t *testing.T) {
	srv, admin, _, issuer := setup(t)
	ctx := context.Background()
	envizi, err := admin.CreateClient(ctx, client.NewClient{ID: "envizi", Resources: []string{"api:ana", "api:team-*"}})
	require.NoError(t, err)
	host, err := client.New(srv.URL, client.WithCredentials(envizi.ID, envizi.Secret))
	require.NoError(t, err)
	other, err := admin.CreateClient(ctx, client.NewClient{ID: "other", Resources: []string{"api:bob"}})
	require.NoError(t, err)
	otherTenant, err := client.New(srv.URL, client.WithCredentials(other.ID, other.Secret))
	require.NoError(t, err)

	status := func(err error) (int, string) {
		t.Helper()
		var ae *client.Error
		require.True(t, errors.As(err, &ae), "an API error: %v", err)
		return ae.Status, ae.Field
	}

	_, err = admin.OwnerEmail(ctx, "ana")
	st, _ := status(err)
	assert.Equal(t, http.StatusNotFound, st, "none yet")

	got, err := host.SetOwnerEmail(ctx, "ana", "Ana.Lima@Example.COM")
	require.NoError(t, err)
	assert.Equal(t, client.OwnerEmail{Owner: "ana", Email: "Ana.Lima@example.com"}, *got, "the domain is lower-cased, the local part kept")
	got, err = admin.OwnerEmail(ctx, "ana")
	require.NoError(t, err)
	assert.Equal(t, "Ana.Lima@example.com", got.Email)
	_, err = host.SetOwnerEmail(ctx, "team-blue", "blue@example.com")
	require.NoError(t, err, "a resource pattern covers the owner")

	for name, c := range map[string]*client.Client{"issuer with report resources": issuer, "other tenant": otherTenant} {
		_, err := c.OwnerEmail(ctx, "ana")
		st, field := status(err)
		assert.Equal(t, http.StatusForbidden, st, name)
		assert.Equal(t, "owner", field, name)
		_, err = c.SetOwnerEmail(ctx, "ana", "evil@example.com")
		st, _ = status(err)
		assert.Equal(t, http.StatusForbidden, st, name)
		st, _ = status(c.DeleteOwnerEmail(ctx, "ana"))
		assert.Equal(t, http.StatusForbidden, st, name)
	}
	got, err = admin.OwnerEmail(ctx, "ana")
	require.NoError(t, err)
	assert.Equal(t, "Ana.Lima@example.com", got.Email, "refused callers changed nothing")

	for _, bad := range []string{
		"", "ana", "@example.com", "ana@", "Ana <ana@example.com>", "ana@example.com, eve@example.com",
		"ana@example.com\r\nBcc: eve@example.com", "ana@example.com (comment)", "\"ana\"@example.com",
		"ana@exämple.com", "ana @example.com", "ana@[127.0.0.1]", "ana@example.com.",
		strings.Repeat("a", 250) + "@example.com", "eve@example.com>", "<ana@example.com>", "undisclosed-recipients:;",
	} {
		_, err := admin.SetOwnerEmail(ctx, "ana", bad)
		st, field := status(err)
		assert.Equal(t, http.StatusBadRequest, st, "%q", bad)
		assert.Equal(t, "email", field, "%q", bad)
	}
	got, err = admin.OwnerEmail(ctx, "ana")
	require.NoError(t, err)
	assert.Equal(t, "Ana.Lima@example.com", got.Email, "bad input changed nothing")

	require.NoError(t, host.DeleteOwnerEmail(ctx, "ana"))
	require.NoError(t, host.DeleteOwnerEmail(ctx, "ana"), "idempotent")
	_, err = admin.OwnerEmail(ctx, "ana")
	st, _ = status(err)
	assert.Equal(t, http.StatusNotFound, st)

	resp, err := http.Get(srv.URL + "/api/owners/team-blue/email")
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusUnauthorized, resp.StatusCode, "no credentials")

	// A token of another kind: the owner's own console token (for the
	// <sigil-api-tokens> component) does not reach the address routes.
	console, err := host.MintConsoleToken(ctx, "team-blue", 0)
	require.NoError(t, err)
	for _, method := range []string{http.MethodGet, http.MethodPut, http.MethodDelete} {
		req, err := http.NewRequestWithContext(ctx, method, srv.URL+"/api/owners/team-blue/email", strings.NewReader(`{"email":"evil@example.com"}`))
		require.NoError(t, err)
		req.Header.Set("Authorization", "Bearer "+console.Token)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		assert.Equal(t, http.StatusUnauthorized, resp.StatusCode, "%s with a console token", method)
	}
	got, err = admin.OwnerEmail(ctx, "team-blue")
	require.NoError(t, err)
	assert.Equal(t, "blue@example.com", got.Email, "the console token changed nothing")
}
