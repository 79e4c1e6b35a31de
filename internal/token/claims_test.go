package token_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/stretchr/testify/require"

	"github.com/sigil-dev/sigil/internal/token"
)

func TestClaims_Validate(t *testing.T) {
	base := func(kind string, mod func(c *token.Claims)) token.Claims {
		c := token.Claims{
			RegisteredClaims: jwt.RegisteredClaims{
				ID: "jti-1", Subject: "owner", IssuedAt: jwt.NewNumericDate(epoch), ExpiresAt: jwt.NewNumericDate(epoch.Add(time.Hour)),
			},
			Kind: kind, DashboardID: "d", ReportID: "r", AppID: "a", TID: "rec-1",
		}
		if mod != nil {
			mod(&c)
		}
		return c
	}
	noExp := func(c *token.Claims) { c.ExpiresAt = nil }
	tests := []struct {
		name    string
		claims  token.Claims
		wantErr bool
	}{
		{name: "OK/embed", claims: base(token.KindEmbed, nil)},
		{name: "OK/report", claims: base(token.KindReport, nil)},
		{name: "OK/app-view", claims: base(token.KindAppView, nil)},
		{name: "OK/api", claims: base(token.KindAPI, nil)},
		{name: "OK/report without exp", claims: base(token.KindReport, noExp)},
		{name: "OK/app-view without exp", claims: base(token.KindAppView, noExp)},
		{name: "OK/api without exp", claims: base(token.KindAPI, noExp)},
		{name: "ErrClaims/embed without exp", claims: base(token.KindEmbed, noExp), wantErr: true},
		{name: "ErrClaims/report without a record id", claims: base(token.KindReport, func(c *token.Claims) { c.TID = "" }), wantErr: true},
		{name: "ErrClaims/app-view without a record id", claims: base(token.KindAppView, func(c *token.Claims) { c.TID = "" }), wantErr: true},
		{name: "ErrClaims/api without a record id", claims: base(token.KindAPI, func(c *token.Claims) { c.TID = "" }), wantErr: true},
		{name: "ErrClaims/missing jti", claims: base(token.KindEmbed, func(c *token.Claims) { c.ID = "" }), wantErr: true},
		{name: "ErrClaims/missing iat", claims: base(token.KindAPI, func(c *token.Claims) { c.IssuedAt = nil }), wantErr: true},
		{name: "ErrClaims/missing tt", claims: base("", nil), wantErr: true},
		{name: "ErrClaims/unknown tt", claims: base("Embed", nil), wantErr: true},
		{name: "ErrClaims/embed without dashboardId", claims: base(token.KindEmbed, func(c *token.Claims) { c.DashboardID = "" }), wantErr: true},
		{name: "ErrClaims/report without reportId", claims: base(token.KindReport, func(c *token.Claims) { c.ReportID = "" }), wantErr: true},
		{name: "ErrClaims/app-view without appId", claims: base(token.KindAppView, func(c *token.Claims) { c.AppID = "" }), wantErr: true},
		{name: "ErrClaims/api without sub", claims: base(token.KindAPI, func(c *token.Claims) { c.Subject = "" }), wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.claims.Validate()
			if !tc.wantErr {
				require.NoError(t, err)
				return
			}
			require.ErrorIs(t, err, token.ErrClaims)
			require.ErrorIs(t, err, token.ErrInvalidToken)
		})
	}
}

func TestClaims_ResourceScopesRegistered(t *testing.T) {
	tests := []struct {
		name       string
		claims     token.Claims
		resource   string
		registered bool
	}{
		{name: "embed", claims: token.Claims{Kind: token.KindEmbed, DashboardID: "d1"}, resource: "dashboard:d1"},
		{name: "report", claims: token.Claims{Kind: token.KindReport, ReportID: "r1"}, resource: "report:r1", registered: true},
		{name: "app-view", claims: token.Claims{Kind: token.KindAppView, AppID: "a1"}, resource: "app:a1", registered: true},
		{name: "api", claims: token.Claims{Kind: token.KindAPI, RegisteredClaims: jwt.RegisteredClaims{Subject: "u1"}}, resource: "api:u1", registered: true},
		{name: "unknown", claims: token.Claims{Kind: "admin"}, resource: ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.resource, tc.claims.Resource())
			require.Equal(t, tc.registered, tc.claims.Registered())
		})
	}

	scopes := []struct {
		scope string
		want  []string
	}{
		{"", nil},
		{"meta:read", []string{"meta:read"}},
		{" meta:read  report:read ", []string{"meta:read", "report:read"}},
	}
	for _, tc := range scopes {
		t.Run("Scopes/"+tc.scope, func(t *testing.T) {
			c := token.Claims{Scope: tc.scope}
			require.Equal(t, tc.want, c.Scopes())
		})
	}
}

func TestClaims_MarshalJSON(t *testing.T) {
	tests := []struct {
		name string
		aud  jwt.ClaimStrings
		want string
	}{
		{name: "no audience", aud: nil, want: `{"tt":"api","sub":"u"}`},
		{name: "one audience is a string", aud: jwt.ClaimStrings{"a"}, want: `{"tt":"api","sub":"u","aud":"a"}`},
		{name: "two audiences are an array", aud: jwt.ClaimStrings{"a", "b"}, want: `{"tt":"api","sub":"u","aud":["a","b"]}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := token.Claims{RegisteredClaims: jwt.RegisteredClaims{Subject: "u", Audience: tc.aud}, Kind: token.KindAPI}
			b, err := json.Marshal(c)
			require.NoError(t, err)
			require.JSONEq(t, tc.want, string(b))
			var back token.Claims
			require.NoError(t, json.Unmarshal(b, &back))
			require.Equal(t, c, back)
		})
	}
}
