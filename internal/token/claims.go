package token

import (
	"encoding/json"
	"strings"

	"github.com/golang-jwt/jwt/v5"
)

// Token kinds, the values of the tt claim (DESIGN §1).
const (
	KindEmbed   = "embed"
	KindReport  = "report"
	KindAppView = "app-view"
	KindAPI     = "api"
)

// Policy is one row-level data restriction carried by an embed token: a name
// and scalar parameters that the dashboard enforces.
type Policy struct {
	Name   string         `json:"name"`
	Params map[string]any `json:"params,omitempty"`
}

// Claims is the payload of every sigil token (DESIGN §2).
type Claims struct {
	jwt.RegisteredClaims
	// Kind is the token kind (tt): KindEmbed, KindReport, KindAppView or KindAPI.
	Kind string `json:"tt"`
	// Scope is a space-separated list of scopes.
	Scope    string `json:"scope,omitempty"`
	ClientID string `json:"client_id,omitempty"`
	// TID is the registered token record id (registered kinds only).
	TID         string         `json:"tid,omitempty"`
	DashboardID string         `json:"dashboardId,omitempty"`
	ReportID    string         `json:"reportId,omitempty"`
	AppID       string         `json:"appId,omitempty"`
	ReadOnly    bool           `json:"readOnly,omitempty"`
	Params      map[string]any `json:"params,omitempty"`
	// SecurityPolicies are row-level restrictions (embed tokens).
	SecurityPolicies []Policy `json:"securityPolicies,omitempty"`
}

var _ jwt.ClaimsValidator = (*Claims)(nil)

// Validate checks what every sigil token needs whatever its signature: a
// jti, an iat, a known tt, the binding claim of that kind (embed:
// dashboardId, report: reportId, app-view: appId, api: sub), and an exp
// unless the kind is registered (report, app-view, api), whose tokens may
// never expire; and that every claim forward-auth hands on in an X-Sigil-*
// header is HeaderSafe. It returns an error wrapping ErrClaims. golang-jwt
// calls it during parsing (jwt.ClaimsValidator).
func (c *Claims) Validate() error {
	if c.ID == "" {
		return fail(ErrClaims, "missing jti")
	}
	if c.IssuedAt == nil {
		// Revocation cutoffs ("issued before") need it.
		return fail(ErrClaims, "missing iat")
	}
	var binding string
	switch c.Kind {
	case KindEmbed:
		binding = c.DashboardID
	case KindReport:
		binding = c.ReportID
	case KindAppView:
		binding = c.AppID
	case KindAPI:
		binding = c.Subject
	case "":
		return fail(ErrClaims, "missing tt")
	default:
		return fail(ErrClaims, "unknown tt")
	}
	if binding == "" {
		return fail(ErrClaims, "missing binding claim for tt "+c.Kind)
	}
	if c.ExpiresAt == nil && !c.Registered() {
		return fail(ErrClaims, "missing exp")
	}
	if name := c.headerUnsafeClaim(); name != "" {
		return fail(ErrClaims, name+" holds a value no header carries byte for byte")
	}
	return nil
}

// Registered reports whether the token kind has a registry record (report,
// app-view, api) and so may omit exp.
func (c *Claims) Registered() bool {
	switch c.Kind {
	case KindReport, KindAppView, KindAPI:
		return true
	}
	return false
}

// Resource returns the resource the token is bound to: "dashboard:<id>",
// "report:<id>", "app:<id>" or "api:<sub>"; "" for an unknown kind.
func (c *Claims) Resource() string {
	switch c.Kind {
	case KindEmbed:
		return "dashboard:" + c.DashboardID
	case KindReport:
		return "report:" + c.ReportID
	case KindAppView:
		return "app:" + c.AppID
	case KindAPI:
		return "api:" + c.Subject
	}
	return ""
}

// Scopes returns the space-separated scope claim as a list (nil if empty).
func (c *Claims) Scopes() []string {
	if c.Scope == "" {
		return nil
	}
	return strings.Fields(c.Scope)
}

// MarshalJSON encodes the claims with a single audience as a plain string
// (golang-jwt would write a one-element array), leaving golang-jwt's global
// MarshalSingleStringAsArray untouched.
func (c Claims) MarshalJSON() ([]byte, error) {
	type plain Claims // drops this method, so no recursion
	var aud any
	switch len(c.Audience) {
	case 0:
	case 1:
		aud = c.Audience[0]
	default:
		aud = []string(c.Audience)
	}
	return json.Marshal(struct {
		plain
		Audience any `json:"aud,omitempty"` // shallower, so it hides RegisteredClaims.Audience
	}{plain(c), aud})
}
