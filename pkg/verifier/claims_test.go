package verifier_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/sigil-dev/sigil/internal/keys"
	"github.com/sigil-dev/sigil/internal/token"
	"github.com/sigil-dev/sigil/pkg/verifier"
)

// TestClaims_Boundary: the verifier's own Claims carry every claim of the
// token, and their JSON is the token's claim set (what `sigil token verify`
// prints), though they are converted from the pipeline's at the boundary.
func TestClaims_Boundary(t *testing.T) {
	k := newKey(t, keys.EdDSA)
	clk := newClock()
	v := newOfflineVerifier(t, newJWKS(t, k), clk, nil)
	set, err := keys.NewSet([]*keys.Key{k}, "")
	require.NoError(t, err)
	iss := token.NewIssuer(token.IssuerConfig{Issuer: issuer, Audience: audience, Keys: set, Now: clk.Now})
	c := token.Claims{Kind: token.KindEmbed, DashboardID: "sales", ClientID: "sales", Scope: "dashboard:view export",
		Params:           map[string]any{"locale": "de-DE", "amount": json.Number("12.50")},
		SecurityPolicies: []token.Policy{{Name: "region", Params: map[string]any{"region": "EU"}}, {Name: "all"}}}
	c.Subject = "user-42"
	raw, minted, err := iss.Mint(c, time.Hour)
	require.NoError(t, err)

	got, err := v.Verify(context.Background(), raw)
	require.NoError(t, err)
	require.Equal(t, minted.ID, got.ID)
	require.Equal(t, issuer, got.Issuer)
	require.Equal(t, []string{audience}, got.Audience)
	require.Equal(t, "user-42", got.Subject)
	require.Equal(t, verifier.KindEmbed, got.Kind)
	require.Equal(t, []string{"dashboard:view", "export"}, got.Scopes())
	require.Equal(t, "dashboard:sales", got.Resource())
	require.Equal(t, minted.ExpiresAt.Time, got.ExpiresAt)
	require.Equal(t, minted.IssuedAt.Time, got.IssuedAt)
	require.True(t, got.NotBefore.IsZero() == (minted.NotBefore == nil))
	require.Equal(t, minted.Params, got.Params)
	require.Equal(t, []verifier.Policy{{Name: "region", Params: map[string]any{"region": "EU"}}, {Name: "all"}}, got.SecurityPolicies)

	b, err := json.Marshal(got)
	require.NoError(t, err)
	payload, err := base64.RawURLEncoding.DecodeString(strings.Split(raw, ".")[1])
	require.NoError(t, err)
	require.JSONEq(t, string(payload), string(b))
}
