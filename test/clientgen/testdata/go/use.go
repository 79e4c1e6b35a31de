// Built by test/clientgen beside client.go, which oapi-codegen generated from
// the served /openapi.json: the generator's own names and a few of the
// document's types must be there and fit together.
package sigilclient

import (
	"context"
	"net/http"
)

var (
	_ ClientInterface              = (*Client)(nil)
	_ ClientWithResponsesInterface = (*ClientWithResponses)(nil)
)

// Mint mints an embed token through the generated client.
func Mint(ctx context.Context, server, dashboard, secret string) (*TokenResponse, int, error) {
	c, err := NewClientWithResponses(server, WithHTTPClient(http.DefaultClient))
	if err != nil {
		return nil, 0, err
	}
	r, err := c.MintEmbedTokenWithResponse(ctx, MintEmbedTokenJSONRequestBody{DashboardId: dashboard, DashboardSecret: secret})
	if err != nil {
		return nil, 0, err
	}
	return r.JSON200, r.StatusCode(), nil
}

// CreateClient registers a client and returns the record with its secret.
func CreateClient(ctx context.Context, c ClientWithResponsesInterface, id string) (*ClientRecord, error) {
	r, err := c.CreateClientWithResponse(ctx, CreateClientJSONRequestBody{Id: id})
	if err != nil {
		return nil, err
	}
	return r.JSON201, nil
}

// Verify reports whether a token verifies.
func Verify(ctx context.Context, c ClientWithResponsesInterface, params *VerifyParams) (*VerifyResult, error) {
	r, err := c.VerifyWithResponse(ctx, params)
	if err != nil {
		return nil, err
	}
	return r.JSON200, nil
}
