package httpapi

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/sigil-dev/sigil/internal/clients"
)

// TestClientCallerAllowsAsClient: the Caller of a client allows exactly
// what the client's own Allows does, for admins and issuers, patterns and
// exact resources, and says Admin for an admin only.
func TestClientCallerAllowsAsClient(t *testing.T) {
	resources := []string{
		"dashboard:sales", "dashboard:finance", "dashboard:", "dashboard:*", "report:q3", "report:q", "app:x",
		"api:alice", "api:", "", "*", "dashboard:sales/x", "Dashboard:sales", "dashboard:[",
	}
	for _, cl := range []clients.Client{
		{ID: "admin", Role: clients.RoleAdmin},
		{ID: "admin2", Role: clients.RoleAdmin, Resources: []string{"dashboard:sales"}},
		{ID: "sales", Role: clients.RoleIssuer, Resources: []string{"dashboard:sales"}},
		{ID: "wild", Role: clients.RoleIssuer, Resources: []string{"dashboard:*", "report:q?"}},
		{ID: "all", Role: clients.RoleIssuer, Resources: []string{"*"}},
		{ID: "none", Role: clients.RoleIssuer},
		{ID: "bad", Role: clients.RoleIssuer, Resources: []string{"dashboard:["}},
		{ID: "norole", Resources: []string{"app:x"}},
	} {
		c := clientCaller(cl)
		require.Equal(t, cl.ID, c.ID)
		require.Equal(t, cl.Role == clients.RoleAdmin, c.Admin, cl.ID)
		require.Empty(t, c.Owner, cl.ID)
		for _, r := range resources {
			require.Equal(t, cl.Allows(r), c.Allows(r), "%s on %q", cl.ID, r)
			require.Equal(t, cl.Allows(r), c.CanActOn(r), "%s on %q", cl.ID, r)
		}
	}
}
