package verifier

import (
	"encoding/json"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/sigil-dev/sigil/internal/token"
)

// Token kinds, the values of Claims.Kind (sigil's tt claim).
const (
	KindEmbed   = "embed"
	KindReport  = "report"
	KindAppView = "app-view"
	KindAPI     = "api"
)

// Claims are the claims of a verified sigil token. Verify may hand the same
// Claims to several callers (verified tokens are cached): treat them, their
// slices and maps as read-only.
type Claims struct {
	// ID is the jti; Issuer, Subject and Audience are iss, sub and aud.
	ID, Issuer, Subject string
	Audience            []string
	// ExpiresAt, NotBefore and IssuedAt are exp, nbf and iat (UTC); zero
	// when the token has none (a registered token may never expire).
	ExpiresAt, NotBefore, IssuedAt time.Time
	// AuthTime (auth_time) is when the credential that started an embed
	// token's refresh chain was presented; zero when absent.
	AuthTime time.Time
	// Kind is the token kind (tt): KindEmbed, KindReport, KindAppView or KindAPI.
	Kind string
	// Scope is a space-separated list of scopes.
	Scope    string
	ClientID string
	// TID is the registered token record id (report, app-view and api tokens).
	TID string
	// DashboardID, ReportID and AppID bind embed, report and app-view tokens.
	DashboardID, ReportID, AppID string
	ReadOnly                     bool
	// Params are an embed token's parameters; numbers are json.Number.
	Params map[string]any
	// SecurityPolicies are an embed token's row-level restrictions.
	SecurityPolicies []Policy
}

// Policy is one row-level data restriction of an embed token: a name and
// scalar parameters that the dashboard enforces.
type Policy struct {
	Name   string         `json:"name"`
	Params map[string]any `json:"params,omitempty"`
}

// Resource is what the token is bound to: "dashboard:<id>", "report:<id>",
// "app:<id>" or "api:<subject>"; "" for an unknown kind.
func (c *Claims) Resource() string { return c.token().Resource() }

// Scopes returns Scope as a list (nil if empty).
func (c *Claims) Scopes() []string { return strings.Fields(c.Scope) }

// MarshalJSON writes the claims as the token's JWT claim set (NumericDate
// times, sigil's claim names), as sigil's introspection names them.
func (c *Claims) MarshalJSON() ([]byte, error) { return json.Marshal(c.token()) }

// claimsOf converts the pipeline's claims at the package boundary.
func claimsOf(tc *token.Claims) *Claims {
	c := &Claims{
		ID: tc.ID, Issuer: tc.Issuer, Subject: tc.Subject, Audience: tc.Audience,
		ExpiresAt: timeOf(tc.ExpiresAt), NotBefore: timeOf(tc.NotBefore), IssuedAt: timeOf(tc.IssuedAt), AuthTime: timeOf(tc.AuthTime),
		Kind: tc.Kind, Scope: tc.Scope, ClientID: tc.ClientID, TID: tc.TID,
		DashboardID: tc.DashboardID, ReportID: tc.ReportID, AppID: tc.AppID, ReadOnly: tc.ReadOnly,
		Params: tc.Params,
	}
	if tc.SecurityPolicies != nil {
		c.SecurityPolicies = make([]Policy, len(tc.SecurityPolicies))
		for i, p := range tc.SecurityPolicies {
			c.SecurityPolicies[i] = Policy{Name: p.Name, Params: p.Params}
		}
	}
	return c
}

// token converts c back for the pipeline's policy and for MarshalJSON.
func (c *Claims) token() *token.Claims {
	tc := &token.Claims{
		RegisteredClaims: jwt.RegisteredClaims{
			ID: c.ID, Issuer: c.Issuer, Subject: c.Subject, Audience: c.Audience,
			ExpiresAt: dateOf(c.ExpiresAt), NotBefore: dateOf(c.NotBefore), IssuedAt: dateOf(c.IssuedAt),
		},
		AuthTime: dateOf(c.AuthTime),
		Kind:     c.Kind, Scope: c.Scope, ClientID: c.ClientID, TID: c.TID,
		DashboardID: c.DashboardID, ReportID: c.ReportID, AppID: c.AppID, ReadOnly: c.ReadOnly,
		Params: c.Params,
	}
	if c.SecurityPolicies != nil {
		tc.SecurityPolicies = make([]token.Policy, len(c.SecurityPolicies))
		for i, p := range c.SecurityPolicies {
			tc.SecurityPolicies[i] = token.Policy{Name: p.Name, Params: p.Params}
		}
	}
	return tc
}

func timeOf(d *jwt.NumericDate) time.Time {
	if d == nil {
		return time.Time{}
	}
	return d.UTC()
}

func dateOf(t time.Time) *jwt.NumericDate {
	if t.IsZero() {
		return nil
	}
	return jwt.NewNumericDate(t)
}
