package client

import (
	"context"
	"net/http"
)

// OwnerEmail is an owner's email address, the recipient of notifications.
type OwnerEmail struct {
	Owner string `json:"owner"`
	Email string `json:"email"`
}

// ownerEmailRequest is the body of PUT /api/owners/{owner}/email.
type ownerEmailRequest struct {
	Email string `json:"email"`
}

// SetOwnerEmail stores owner's email address (PUT
// /api/owners/{owner}/email) and returns it as stored; admin, or a client
// that may act for api:<owner>.
func (c *Client) SetOwnerEmail(ctx context.Context, owner, email string) (*OwnerEmail, error) {
	var out OwnerEmail
	_, err := c.do(ctx, "set owner email", call{method: http.MethodPut, path: "/api/owners/" + seg(owner) + "/email",
		body: ownerEmailRequest{Email: email}, auth: authBasic, ok: []int{http.StatusOK}, out: &out})
	if err != nil {
		return nil, err
	}
	return &out, nil
}

// OwnerEmail returns owner's email address (GET /api/owners/{owner}/email);
// an *Error with status 404 when none is stored.
func (c *Client) OwnerEmail(ctx context.Context, owner string) (*OwnerEmail, error) {
	var out OwnerEmail
	_, err := c.do(ctx, "get owner email", call{method: http.MethodGet, path: "/api/owners/" + seg(owner) + "/email", auth: authBasic, ok: []int{http.StatusOK}, out: &out})
	if err != nil {
		return nil, err
	}
	return &out, nil
}

// DeleteOwnerEmail removes owner's email address (DELETE
// /api/owners/{owner}/email); idempotent.
func (c *Client) DeleteOwnerEmail(ctx context.Context, owner string) error {
	_, err := c.do(ctx, "delete owner email", call{method: http.MethodDelete, path: "/api/owners/" + seg(owner) + "/email", auth: authBasic, ok: []int{http.StatusNoContent}})
	return err
}
