package client

import (
	"context"
	"net/http"
	"net/url"
	"time"
)

// Token kinds of registered tokens.
const (
	KindReport  = "report"
	KindAppView = "app-view"
	KindAPI     = "api"
)

// Token is a registered token record as the API shows it. Token (the JWT)
// is set only in the answer that generates it, or in reads of a server
// that reveals tokens (registry.reveal_tokens).
type Token struct {
	ID        string     `json:"id"`
	Type      string     `json:"type"`
	Name      string     `json:"name"`
	Owner     string     `json:"owner"`
	ReportID  string     `json:"reportId,omitempty"`
	AppID     string     `json:"appId,omitempty"`
	Scopes    []string   `json:"scopes"`
	ReadOnly  bool       `json:"readOnly"`
	Cloud     bool       `json:"cloud"`
	URL       string     `json:"url,omitempty"`
	Status    string     `json:"status"`
	CreatedAt time.Time  `json:"createdAt"`
	ExpiresAt *time.Time `json:"expiresAt"`
	// ExpiresIn is the preset the token was created with (1d … 1y,
	// never): each generation expires that long after it.
	ExpiresIn string `json:"expiresIn,omitempty"`
	// RevokedAt is when the token was revoked (Status "revoked"); the
	// record stays readable until the server's retention has passed.
	RevokedAt   *time.Time `json:"revokedAt,omitempty"`
	GeneratedAt *time.Time `json:"generatedAt"`
	LastUsedAt  *time.Time `json:"lastUsedAt"`
	CreatedBy   string     `json:"createdBy"`
	TokenHint   string     `json:"tokenHint,omitempty"`
	Token       string     `json:"token,omitempty"`
}

// CreateTokenRequest is the body of POST /api/tokens. Give ExpiresAt or
// ExpiresIn (1d 7d 30d 60d 90d 1y never), not both; with neither the token
// never expires.
type CreateTokenRequest struct {
	Type      string     `json:"type"`
	Name      string     `json:"name,omitempty"`
	Owner     string     `json:"owner,omitempty"`
	ReportID  string     `json:"reportId,omitempty"`
	AppID     string     `json:"appId,omitempty"`
	Scopes    []string   `json:"scopes,omitempty"`
	ReadOnly  *bool      `json:"readOnly,omitempty"`
	ExpiresAt *time.Time `json:"expiresAt,omitempty"`
	ExpiresIn string     `json:"expiresIn,omitempty"`
	// Generate false creates the record without a JWT (default true).
	Generate *bool `json:"generate,omitempty"`
	// UniqueName makes a report or app-view token's name unique among its
	// owner's (ErrConflict otherwise); an API token's name always is.
	UniqueName bool `json:"uniqueName,omitempty"`
}

// CreateToken creates a registered token (POST /api/tokens); its JWT, in
// Token.Token, is shown this once.
func (c *Client) CreateToken(ctx context.Context, req CreateTokenRequest) (*Token, error) {
	var out Token
	_, err := c.do(ctx, "create token", call{method: http.MethodPost, path: "/api/tokens", body: req, auth: authOwner, ok: []int{http.StatusCreated}, out: &out})
	if err != nil {
		return nil, err
	}
	return &out, nil
}

// TokenFilter selects records for ListTokens; empty fields match all.
type TokenFilter struct {
	Type, Owner, Status, ReportID, AppID string
	// Limit is the page size (server default when 0); Cursor is the
	// NextCursor of the previous page.
	Limit  int
	Cursor string
}

// TokenPage is one page of records, newest first; NextCursor is "" after
// the last page.
type TokenPage struct {
	Tokens     []Token
	NextCursor string
}

// tokenPageBody is TokenPage as the API sends it (the TokenPage schema).
type tokenPageBody struct {
	Tokens     []Token `json:"tokens"`
	NextCursor *string `json:"nextCursor"`
}

// ListTokens lists one page of records (GET /api/tokens).
func (c *Client) ListTokens(ctx context.Context, f TokenFilter) (*TokenPage, error) {
	q := url.Values{}
	for k, v := range map[string]string{"type": f.Type, "owner": f.Owner, "status": f.Status, "reportId": f.ReportID, "appId": f.AppID, "cursor": f.Cursor} {
		if v != "" {
			q.Set(k, v)
		}
	}
	if f.Limit > 0 {
		q.Set("limit", itoa(f.Limit))
	}
	var out tokenPageBody
	_, err := c.do(ctx, "list tokens", call{method: http.MethodGet, path: "/api/tokens", query: q, auth: authOwner, ok: []int{http.StatusOK}, out: &out})
	if err != nil {
		return nil, err
	}
	p := &TokenPage{Tokens: out.Tokens}
	if out.NextCursor != nil {
		p.NextCursor = *out.NextCursor
	}
	return p, nil
}

// GetToken reads one record (GET /api/tokens/{id}); ErrNotFound for a
// missing record or one outside the client's resources.
func (c *Client) GetToken(ctx context.Context, id string) (*Token, error) {
	var out Token
	_, err := c.do(ctx, "get token", call{method: http.MethodGet, path: "/api/tokens/" + seg(id), auth: authOwner, ok: []int{http.StatusOK}, out: &out})
	if err != nil {
		return nil, err
	}
	return &out, nil
}

// UpdateTokenRequest is the body of PATCH /api/tokens/{id}: nil fields are
// left as they are.
type UpdateTokenRequest struct {
	Name   *string  `json:"name,omitempty"`
	Scopes []string `json:"scopes,omitempty"`
}

// UpdatedToken is the answer of UpdateToken: ScopesPending says the current
// JWT carries the old scopes until the next generation.
type UpdatedToken struct {
	Token
	ScopesPending bool `json:"scopesPending"`
}

// UpdateToken renames a record or changes its scopes (PATCH /api/tokens/{id}).
func (c *Client) UpdateToken(ctx context.Context, id string, req UpdateTokenRequest) (*UpdatedToken, error) {
	var out UpdatedToken
	_, err := c.do(ctx, "update token", call{method: http.MethodPatch, path: "/api/tokens/" + seg(id), body: req, auth: authOwner, ok: []int{http.StatusOK}, out: &out})
	if err != nil {
		return nil, err
	}
	return &out, nil
}

// DeleteToken revokes every JWT of a record and deletes it (DELETE
// /api/tokens/{id}); it returns once the denylist holds them.
func (c *Client) DeleteToken(ctx context.Context, id string) error {
	_, err := c.do(ctx, "delete token", call{method: http.MethodDelete, path: "/api/tokens/" + seg(id), auth: authOwner, ok: []int{http.StatusNoContent}})
	return err
}

// GenerateToken mints a new JWT for a record, shown this once in
// Token.Token; the previous one is revoked (POST /api/tokens/{id}/_generate).
func (c *Client) GenerateToken(ctx context.Context, id string) (*Token, error) {
	var out Token
	_, err := c.do(ctx, "generate token", call{method: http.MethodPost, path: "/api/tokens/" + seg(id) + "/_generate", auth: authOwner, ok: []int{http.StatusOK}, out: &out})
	if err != nil {
		return nil, err
	}
	return &out, nil
}

// LogEntry is one activity on a record.
type LogEntry struct {
	Activity string    `json:"activity"` // CREATE GENERATE UPDATE REVOKE AUTHENTICATE
	At       time.Time `json:"at"`
	By       string    `json:"by"`
	Result   string    `json:"result"` // OK FAIL
}

// LogPage is one page of a record's activity, newest first.
type LogPage struct {
	Logs       []LogEntry
	NextCursor string
}

// logPageBody is LogPage as the API sends it (the LogPage schema).
type logPageBody struct {
	Logs       []LogEntry `json:"logs"`
	NextCursor *string    `json:"nextCursor"`
}

// TokenLogs reads one page of a record's activity (GET
// /api/tokens/{id}/logs); limit 0 takes the server default, cursor "" the
// first page.
func (c *Client) TokenLogs(ctx context.Context, id string, limit int, cursor string) (*LogPage, error) {
	q := url.Values{}
	if limit > 0 {
		q.Set("limit", itoa(limit))
	}
	if cursor != "" {
		q.Set("cursor", cursor)
	}
	var out logPageBody
	_, err := c.do(ctx, "token logs", call{method: http.MethodGet, path: "/api/tokens/" + seg(id) + "/logs", query: q, auth: authOwner, ok: []int{http.StatusOK}, out: &out})
	if err != nil {
		return nil, err
	}
	p := &LogPage{Logs: out.Logs}
	if out.NextCursor != nil {
		p.NextCursor = *out.NextCursor
	}
	return p, nil
}

// Warning says that part of a listing could not be read (the cloud
// deployment, for a report listing).
type Warning struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// ReportTokens is the answer of GET /api/reports/{id}/tokens: local tokens
// and, when the server publishes to a cloud deployment, the cloud's
// (Cloud true, URL set); Warning is non-nil when the cloud could not be read.
type ReportTokens struct {
	Tokens  []Token  `json:"tokens"`
	Warning *Warning `json:"warning"`
}

// ReportTokens lists the tokens of a report (GET /api/reports/{id}/tokens).
func (c *Client) ReportTokens(ctx context.Context, reportID string) (*ReportTokens, error) {
	var out ReportTokens
	_, err := c.do(ctx, "report tokens", call{method: http.MethodGet, path: "/api/reports/" + seg(reportID) + "/tokens", auth: authBasic, ok: []int{http.StatusOK}, out: &out})
	if err != nil {
		return nil, err
	}
	return &out, nil
}

// appTokensBody is the part of the AppTokens schema that AppTokens reads:
// its plain list, not the HAL copy of it.
type appTokensBody struct {
	Tokens []Token `json:"tokens"`
}

// AppTokens lists the tokens of an app (GET /api/apps/{id}/tokens).
func (c *Client) AppTokens(ctx context.Context, appID string) ([]Token, error) {
	var out appTokensBody
	_, err := c.do(ctx, "app tokens", call{method: http.MethodGet, path: "/api/apps/" + seg(appID) + "/tokens", auth: authBasic, ok: []int{http.StatusOK}, out: &out})
	if err != nil {
		return nil, err
	}
	return out.Tokens, nil
}

// PublishReport publishes a report to the server's cloud deployment (POST
// /api/reports/{id}/_cloud-publish): the answer is the cloud token's record,
// Cloud true, with its public URL. Publishing again returns the existing
// cloud token unless rotate is true, which replaces its JWT (the old URL
// stops working).
func (c *Client) PublishReport(ctx context.Context, reportID string, rotate bool) (*Token, error) {
	var q url.Values
	if rotate {
		q = url.Values{"rotate": {"true"}}
	}
	var out Token
	_, err := c.do(ctx, "publish report", call{method: http.MethodPost, path: "/api/reports/" + seg(reportID) + "/_cloud-publish", query: q, auth: authBasic, ok: []int{http.StatusOK, http.StatusCreated}, out: &out})
	if err != nil {
		return nil, err
	}
	return &out, nil
}

// SetAPITokensRole grants (or withdraws) an owner's api-tokens role (PUT or
// DELETE /api/owners/{owner}/roles/api-tokens); admin only.
func (c *Client) SetAPITokensRole(ctx context.Context, owner string, granted bool) error {
	method := http.MethodPut
	if !granted {
		method = http.MethodDelete
	}
	_, err := c.do(ctx, "set role", call{method: method, path: "/api/owners/" + seg(owner) + "/roles/api-tokens", auth: authBasic, ok: []int{http.StatusNoContent}})
	return err
}

// CleanupTokens deletes the records that have expired (POST
// /api/tokens/_cleanup) and returns how many; admin only.
func (c *Client) CleanupTokens(ctx context.Context) (int, error) {
	var out cleanupBody
	_, err := c.do(ctx, "cleanup tokens", call{method: http.MethodPost, path: "/api/tokens/_cleanup", auth: authBasic, ok: []int{http.StatusOK}, out: &out})
	return out.Removed, err
}

// cleanupBody is the answer of POST /api/tokens/_cleanup.
type cleanupBody struct {
	Removed int `json:"removed"`
}
