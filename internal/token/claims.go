package token

import (
	"encoding/json"
	"strings"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"
)

// Token kinds, the values of the tt claim (DESIGN §1).
const (
	KindEmbed   = "embed"
	KindReport  = "report"
	KindAppView = "app-view"
	KindAPI     = "api"
	// KindConsole is a short-lived, owner-bound token that a host backend
	// mints for its signed-in user so that the <sigil-api-tokens> component
	// can call the registry API (internal/consoletoken). It carries its own
	// audience, and only the console verifier (VerifierConfig.Console)
	// accepts it: never forward-auth, introspection, /view or refresh.
	KindConsole = "console"
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
	// AuthTime (auth_time, as in OpenID Connect) is when the credential
	// that started this token's refresh chain was presented: an embed
	// token's mint time, carried unchanged through its refreshes, so that
	// a chain's age is read from the signed claims (refresh limits).
	AuthTime *jwt.NumericDate `json:"auth_time,omitempty"`
	// SecretTag (cst) binds a console token to its client's secret at
	// mint time: a digest of the stored secret hash (internal/consoletoken),
	// compared with the client's current record on every use, so that a
	// rotation ends the token whenever it was minted.
	SecretTag string `json:"cst,omitempty"`
}

var _ jwt.ClaimsValidator = (*Claims)(nil)

// Validate checks what every sigil token needs whatever its signature: a
// jti, an iat, a known tt, the binding claim of that kind (embed:
// dashboardId, report: reportId, app-view: appId, api: sub), the record id
// (tid) of a registered kind (report, app-view, api: a token of those kinds
// is valid only with its record, so one without a tid is refused here,
// without any lookup), and an exp unless the kind is registered, whose
// tokens may never expire; and that every claim forward-auth hands on in an
// X-Sigil-* header is HeaderSafe. It returns an error wrapping ErrClaims.
// golang-jwt calls it during parsing (jwt.ClaimsValidator).
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
	case KindAPI, KindConsole:
		binding = c.Subject
	case "":
		return fail(ErrClaims, "missing tt")
	default:
		return fail(ErrClaims, "unknown tt")
	}
	if binding == "" {
		return fail(ErrClaims, "missing binding claim for tt "+c.Kind)
	}
	if c.Registered() && c.TID == "" {
		return fail(ErrClaims, "missing tid: a "+c.Kind+" token needs its record")
	}
	if c.ExpiresAt == nil && !c.Registered() {
		return fail(ErrClaims, "missing exp")
	}
	if c.AuthTime != nil && c.AuthTime.After(c.IssuedAt.Time) {
		return fail(ErrClaims, "auth_time after iat")
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

// IssuedAtMilli is the token's issue instant in Unix milliseconds, what
// revocation cutoffs compare: the timestamp of its jti when that is a
// UUIDv7 (NewJTI) within iat's second, else the start of iat's second (a
// token from before UUIDv7 jtis, which a cutoff in that second covers). 0
// without iat.
func (c *Claims) IssuedAtMilli() int64 {
	if c.IssuedAt == nil {
		return 0
	}
	iat := c.IssuedAt.Unix() * 1000
	u, err := uuid.Parse(c.ID)
	if err != nil || len(c.ID) != 36 || u.Version() != 7 || u.Variant() != uuid.RFC4122 {
		return iat
	}
	ms := int64(u[0])<<40 | int64(u[1])<<32 | int64(u[2])<<24 | int64(u[3])<<16 | int64(u[4])<<8 | int64(u[5])
	if ms < iat || ms >= iat+1000 {
		return iat // not minted with this iat: trust only iat
	}
	return ms
}
