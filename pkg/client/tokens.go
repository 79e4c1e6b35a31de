package client

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// MintRequest is the body of POST /api/v1/token: a dashboard credential
// buys an embed token.
type MintRequest struct {
	DashboardID     string `json:"dashboardId"`
	DashboardSecret string `json:"dashboardSecret"`
	// TokenExpiry is the lifetime in seconds; 0 takes the server default.
	TokenExpiry      int64          `json:"tokenExpiry,omitempty"`
	Params           map[string]any `json:"params,omitempty"`
	SecurityPolicies []Policy       `json:"securityPolicies,omitempty"`
	Sub              string         `json:"sub,omitempty"`
}

// Policy is a row-level security policy carried by an embed token.
type Policy struct {
	Name   string         `json:"name"`
	Params map[string]any `json:"params,omitempty"`
}

// AccessToken is the answer of a mint or refresh.
type AccessToken struct {
	AccessToken string    `json:"accessToken"`
	TokenType   string    `json:"tokenType"`
	ExpiresIn   int64     `json:"expiresIn"`
	ExpiresAt   time.Time `json:"expiresAt"`
}

// Mint mints an embed token (POST /api/v1/token).
func (c *Client) Mint(ctx context.Context, req MintRequest) (*AccessToken, error) {
	var out AccessToken
	_, err := c.do(ctx, "mint", call{method: http.MethodPost, path: "/api/v1/token", body: req, ok: []int{http.StatusOK}, out: &out})
	if err != nil {
		return nil, err
	}
	return &out, nil
}

// Refresh swaps a live embed token for a new one with the same claims; the
// old one is revoked (POST /api/v1/token/refresh).
func (c *Client) Refresh(ctx context.Context, token string) (*AccessToken, error) {
	var out AccessToken
	_, err := c.do(ctx, "refresh", call{method: http.MethodPost, path: "/api/v1/token/refresh", auth: authBearer, bearer: token, ok: []int{http.StatusOK}, out: &out})
	if err != nil {
		return nil, err
	}
	return &out, nil
}

// Invalidate revokes token, as a logout does (POST
// /api/v1/invalidate-token). An expired or already revoked token is not an
// error; a forged one is ErrInvalidToken.
func (c *Client) Invalidate(ctx context.Context, token string) error {
	_, err := c.do(ctx, "invalidate", call{method: http.MethodPost, path: "/api/v1/invalidate-token", auth: authBearer, bearer: token, ok: []int{http.StatusNoContent, http.StatusOK}})
	return err
}

// VerifyRequest is a forward-auth check: the token and, optionally, the
// method and URI of the request it guards (policy check).
type VerifyRequest struct {
	Token  string
	Method string
	URI    string
}

// Verification is the answer of a successful forward-auth check.
type Verification struct {
	Active   bool   `json:"active"`
	Subject  string `json:"sub,omitempty"`
	Kind     string `json:"tt"`
	Scope    string `json:"scope,omitempty"`
	Resource string `json:"resource"`
	Exp      int64  `json:"exp,omitempty"`
	// Params and Policies are the X-Sigil-Params and X-Sigil-Policies
	// headers, decoded.
	Params   map[string]any `json:"-"`
	Policies []Policy       `json:"-"`
}

// Verify checks a token through GET /api/v1/verify. A rejected token is
// ErrInvalidToken (401); a valid one on the wrong resource or method is
// ErrForbidden or ErrInsufficientScope (403).
func (c *Client) Verify(ctx context.Context, req VerifyRequest) (*Verification, error) {
	var out Verification
	h := http.Header{}
	if req.Method != "" {
		h.Set("X-Forwarded-Method", req.Method)
	}
	if req.URI != "" {
		h.Set("X-Forwarded-Uri", req.URI)
	}
	resp, err := c.do(ctx, "verify", call{method: http.MethodGet, path: "/api/v1/verify", auth: authBearer, bearer: req.Token, header: h, ok: []int{http.StatusOK}, out: &out})
	if err != nil {
		return nil, err
	}
	decodeHeaderJSON(resp.Header.Get("X-Sigil-Params"), &out.Params)
	decodeHeaderJSON(resp.Header.Get("X-Sigil-Policies"), &out.Policies)
	return &out, nil
}

func decodeHeaderJSON(v string, dst any) {
	if v == "" {
		return
	}
	raw, err := base64.RawURLEncoding.DecodeString(v)
	if err != nil {
		return
	}
	_ = json.Unmarshal(raw, dst)
}

// Introspection is RFC 7662's answer. Inactive tokens have Active false and
// nothing else.
type Introspection struct {
	Active           bool           `json:"active"`
	Scope            string         `json:"scope,omitempty"`
	ClientID         string         `json:"client_id,omitempty"`
	Subject          string         `json:"sub,omitempty"`
	TokenType        string         `json:"token_type,omitempty"`
	Exp              int64          `json:"exp,omitempty"`
	Iat              int64          `json:"iat,omitempty"`
	Nbf              int64          `json:"nbf,omitempty"`
	Aud              []string       `json:"aud,omitempty"`
	Iss              string         `json:"iss,omitempty"`
	Jti              string         `json:"jti,omitempty"`
	Kind             string         `json:"tt,omitempty"`
	TID              string         `json:"tid,omitempty"`
	DashboardID      string         `json:"dashboardId,omitempty"`
	ReportID         string         `json:"reportId,omitempty"`
	AppID            string         `json:"appId,omitempty"`
	ReadOnly         bool           `json:"readOnly,omitempty"`
	Params           map[string]any `json:"params,omitempty"`
	SecurityPolicies []Policy       `json:"securityPolicies,omitempty"`
}

// Introspect asks about a token (POST /api/v1/introspect, RFC 7662); needs
// client credentials. A token outside the client's resources is inactive.
func (c *Client) Introspect(ctx context.Context, token string) (*Introspection, error) {
	var out Introspection
	_, err := c.do(ctx, "introspect", call{method: http.MethodPost, path: "/api/v1/introspect", body: url.Values{"token": {token}}, auth: authBasic, ok: []int{http.StatusOK}, out: &out})
	if err != nil {
		return nil, err
	}
	return &out, nil
}

// Revoke revokes a token (POST /api/v1/revoke, RFC 7009); needs client
// credentials. An invalid token is not an error (RFC 7009 §2.2); a genuine
// one outside the client's resources is ErrForbidden.
func (c *Client) Revoke(ctx context.Context, token string) error {
	_, err := c.do(ctx, "revoke", call{method: http.MethodPost, path: "/api/v1/revoke", body: url.Values{"token": {token}}, auth: authBasic, ok: []int{http.StatusOK}})
	return err
}

// RevokeAllRequest names exactly one subject, resource or client whose
// tokens issued until now are rejected from now on.
type RevokeAllRequest struct {
	Sub         string `json:"sub,omitempty"`
	DashboardID string `json:"dashboardId,omitempty"`
	AppID       string `json:"appId,omitempty"`
	ReportID    string `json:"reportId,omitempty"`
	ClientID    string `json:"clientId,omitempty"`
}

// Cutoff is the answer of RevokeAll.
type Cutoff struct {
	Dimension     string    `json:"dimension"`
	ID            string    `json:"id"`
	RevokedBefore time.Time `json:"revokedBefore"`
}

// RevokeAll writes a cutoff (POST /api/v1/revoke-all); needs client credentials.
func (c *Client) RevokeAll(ctx context.Context, req RevokeAllRequest) (*Cutoff, error) {
	var out Cutoff
	_, err := c.do(ctx, "revoke-all", call{method: http.MethodPost, path: "/api/v1/revoke-all", body: req, auth: authBasic, ok: []int{http.StatusOK}, out: &out})
	if err != nil {
		return nil, err
	}
	return &out, nil
}

// itoa formats n for a query.
func itoa(n int) string { return strconv.Itoa(n) }
