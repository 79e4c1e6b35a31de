package client

import (
	"context"
	"net/http"
	"time"
)

// Client roles.
const (
	RoleAdmin  = "admin"
	RoleIssuer = "issuer"
)

// NewClient is the body of POST /api/clients. An empty ID is generated;
// Role defaults to issuer.
type NewClient struct {
	ID             string   `json:"id,omitempty"`
	Name           string   `json:"name,omitempty"`
	Role           string   `json:"role,omitempty"`
	Resources      []string `json:"resources,omitempty"`
	Scopes         []string `json:"scopes,omitempty"`
	MaxTokenExpiry int64    `json:"maxTokenExpiry,omitempty"`
}

// APIClient is a client record as the API shows it. Secret is set only in
// the answer that creates or rotates it.
type APIClient struct {
	ID             string    `json:"id"`
	Name           string    `json:"name"`
	Role           string    `json:"role"`
	Resources      []string  `json:"resources"`
	Scopes         []string  `json:"scopes"`
	MaxTokenExpiry int64     `json:"maxTokenExpiry"`
	CreatedAt      time.Time `json:"createdAt"`
	Secret         string    `json:"secret,omitempty"`
}

// CreateClient creates an API client (POST /api/clients, admin); its
// secret, in APIClient.Secret, is shown this once. ErrConflict if the id is taken.
func (c *Client) CreateClient(ctx context.Context, req NewClient) (*APIClient, error) {
	var out APIClient
	_, err := c.do(ctx, "create client", call{method: http.MethodPost, path: "/api/clients", body: req, auth: authBasic, ok: []int{http.StatusCreated}, out: &out})
	if err != nil {
		return nil, err
	}
	return &out, nil
}

// ListClients lists every client (GET /api/clients, admin).
func (c *Client) ListClients(ctx context.Context) ([]APIClient, error) {
	var out struct {
		Clients []APIClient `json:"clients"`
	}
	_, err := c.do(ctx, "list clients", call{method: http.MethodGet, path: "/api/clients", auth: authBasic, ok: []int{http.StatusOK}, out: &out})
	if err != nil {
		return nil, err
	}
	return out.Clients, nil
}

// GetClient reads one client (GET /api/clients/{id}, admin); ErrNotFound if unknown.
func (c *Client) GetClient(ctx context.Context, id string) (*APIClient, error) {
	var out APIClient
	_, err := c.do(ctx, "get client", call{method: http.MethodGet, path: "/api/clients/" + seg(id), auth: authBasic, ok: []int{http.StatusOK}, out: &out})
	if err != nil {
		return nil, err
	}
	return &out, nil
}

// DeleteClient deletes a client (DELETE /api/clients/{id}, admin); ErrNotFound if unknown.
func (c *Client) DeleteClient(ctx context.Context, id string) error {
	_, err := c.do(ctx, "delete client", call{method: http.MethodDelete, path: "/api/clients/" + seg(id), auth: authBasic, ok: []int{http.StatusNoContent}})
	return err
}

// RotateClientSecret replaces a client's secret (POST
// /api/clients/{id}/_rotate-secret, admin); the new one, in
// APIClient.Secret, is shown this once.
func (c *Client) RotateClientSecret(ctx context.Context, id string) (*APIClient, error) {
	var out APIClient
	_, err := c.do(ctx, "rotate client secret", call{method: http.MethodPost, path: "/api/clients/" + seg(id) + "/_rotate-secret", auth: authBasic, ok: []int{http.StatusOK}, out: &out})
	if err != nil {
		return nil, err
	}
	return &out, nil
}
