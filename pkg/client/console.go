package client

import (
	"context"
	"net/http"
	"time"
)

// ConsoleToken is a console token: short-lived, bound to one owner and to
// the client that minted it, for the <sigil-api-tokens> component (or a
// Client made WithConsoleToken) to manage that owner's API tokens.
type ConsoleToken struct {
	Token     string    `json:"token"`
	ExpiresAt time.Time `json:"expiresAt"`
}

// consoleTokenRequest is the body of POST /api/console-tokens.
type consoleTokenRequest struct {
	Owner string `json:"owner"`
	TTL   string `json:"ttl,omitempty"`
}

// MintConsoleToken mints a console token for owner (POST
// /api/console-tokens) with the client credentials, which must be allowed
// api:<owner>. ttl 0 means the server's default (10m); it is sent in
// whole seconds and may not exceed the server's console.token_max_ttl.
// Hand the token to the owner's browser only; never log it.
func (c *Client) MintConsoleToken(ctx context.Context, owner string, ttl time.Duration) (*ConsoleToken, error) {
	req := consoleTokenRequest{Owner: owner}
	if ttl > 0 {
		req.TTL = ttl.Round(time.Second).String()
	}
	var out ConsoleToken
	_, err := c.do(ctx, "mint console token", call{method: http.MethodPost, path: "/api/console-tokens", body: req, auth: authBasic, ok: []int{http.StatusCreated}, out: &out})
	if err != nil {
		return nil, err
	}
	return &out, nil
}

// Scope is one scope API tokens may carry, with its label.
type Scope struct {
	Name  string `json:"name"`
	Label string `json:"label"`
}

// scopesBody is the answer of GET /api/scopes.
type scopesBody struct {
	Scopes []Scope `json:"scopes"`
}

// Scopes returns the scopes API tokens may carry (GET /api/scopes), sorted
// by name.
func (c *Client) Scopes(ctx context.Context) ([]Scope, error) {
	var out scopesBody
	_, err := c.do(ctx, "scopes", call{method: http.MethodGet, path: "/api/scopes", auth: authOwner, ok: []int{http.StatusOK}, out: &out})
	if err != nil {
		return nil, err
	}
	return out.Scopes, nil
}
