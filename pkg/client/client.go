package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// DefaultTimeout bounds each call made with the default HTTP client.
const DefaultTimeout = 10 * time.Second

// maxBody bounds how much of a successful answer is read.
const maxBody = 16 << 20

// Client calls one sigil deployment. It is safe for concurrent use. Calls
// under /api/tokens, /api/clients, /api/reports, /api/apps, /api/owners,
// introspect, revoke and revoke-all authenticate with the client
// credentials given to New (HTTP Basic); the others carry their own
// credentials (a dashboard secret, a bearer token). A Client made
// WithConsoleToken sends that token instead on the calls a console token
// may make (one owner's API tokens, Scopes).
type Client struct {
	base       *url.URL
	http       *http.Client
	id, secret string
	console    string
	userAgent  string
}

// Option configures a Client.
type Option func(*Client)

// WithCredentials sets the client id and secret sent with HTTP Basic.
func WithCredentials(clientID, clientSecret string) Option {
	return func(c *Client) { c.id, c.secret = clientID, clientSecret }
}

// WithConsoleToken makes the client act with a console token (MintConsoleToken)
// as Authorization: Bearer on the calls of one owner's API tokens
// (CreateToken, ListTokens, GetToken, UpdateToken, DeleteToken,
// GenerateToken, TokenLogs) and Scopes; the server refuses it everywhere else.
func WithConsoleToken(token string) Option {
	return func(c *Client) { c.console = token }
}

// WithHTTPClient replaces the HTTP client (default: one with DefaultTimeout
// that does not follow redirects).
func WithHTTPClient(hc *http.Client) Option {
	return func(c *Client) { c.http = hc }
}

// WithUserAgent sets the User-Agent header.
func WithUserAgent(ua string) Option {
	return func(c *Client) { c.userAgent = ua }
}

// New returns a Client of the deployment at baseURL (scheme and host, and
// an optional path prefix), e.g. "https://sigil.example.com".
func New(baseURL string, opts ...Option) (*Client, error) {
	u, err := url.Parse(strings.TrimRight(baseURL, "/"))
	if err != nil {
		return nil, fmt.Errorf("sigil client: base URL: %w", err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("sigil client: base URL %q: must be an absolute http(s) URL", baseURL)
	}
	if u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("sigil client: base URL: must not carry user info, a query or a fragment")
	}
	c := &Client{base: u, userAgent: "sigil-go-client"}
	for _, o := range opts {
		o(c)
	}
	if c.http == nil {
		c.http = &http.Client{
			Timeout: DefaultTimeout,
			CheckRedirect: func(*http.Request, []*http.Request) error {
				return http.ErrUseLastResponse
			},
		}
	}
	return c, nil
}

// BaseURL returns the deployment's base URL, without a trailing slash.
func (c *Client) BaseURL() string { return c.base.String() }

// ClientID returns the client id of the credentials, "" without any.
func (c *Client) ClientID() string { return c.id }

// call is one request: method and path (escaped by the caller), an
// optional query, a body (JSON-encoded unless it is url.Values, sent as a
// form), the credentials to use, the statuses that count as success, and
// where to decode the answer (nil to discard it).
type call struct {
	method, path string
	query        url.Values
	body         any
	auth         authKind
	bearer       string
	header       http.Header
	ok           []int
	out          any
}

type authKind int

const (
	authNone authKind = iota
	authBasic
	authBearer
	// authOwner is the console token when the client has one, else Basic.
	authOwner
)

// do sends cl and decodes the answer; a non-2xx status is an *Error.
func (c *Client) do(ctx context.Context, op string, cl call) (*http.Response, error) {
	u := *c.base
	u.Path = c.base.Path + cl.path
	u.RawPath = c.base.EscapedPath() + cl.path
	if len(cl.query) > 0 {
		u.RawQuery = cl.query.Encode()
	}
	var body io.Reader
	contentType := ""
	switch b := cl.body.(type) {
	case nil:
	case url.Values:
		body, contentType = strings.NewReader(b.Encode()), "application/x-www-form-urlencoded"
	default:
		raw, err := json.Marshal(b)
		if err != nil {
			return nil, fmt.Errorf("sigil: %s: encode request: %w", op, err)
		}
		body, contentType = bytes.NewReader(raw), "application/json"
	}
	req, err := http.NewRequestWithContext(ctx, cl.method, u.String(), body)
	if err != nil {
		return nil, fmt.Errorf("sigil: %s: %w", op, err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	for k, v := range cl.header {
		req.Header[k] = v
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", c.userAgent)
	if cl.auth == authOwner {
		cl.auth = authBasic
		if c.console != "" {
			cl.auth, cl.bearer = authBearer, c.console
		}
	}
	switch cl.auth {
	case authBasic:
		if c.id == "" || c.secret == "" {
			return nil, fmt.Errorf("sigil: %s: this call needs client credentials (client.WithCredentials)", op)
		}
		req.SetBasicAuth(c.id, c.secret)
	case authBearer:
		req.Header.Set("Authorization", "Bearer "+cl.bearer)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		// url.Error repeats the URL, which may carry a token in its query
		// (never for the calls of this package, but keep it out anyway).
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, fmt.Errorf("sigil: %s %s: %w", cl.method, op, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 400 {
		raw, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
		return resp, errorFrom(resp, raw)
	}
	okStatus := false
	for _, s := range cl.ok {
		okStatus = okStatus || s == resp.StatusCode
	}
	if !okStatus {
		return resp, unexpectedStatus(op, resp.StatusCode)
	}
	if cl.out == nil {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxBody))
		return resp, nil
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, maxBody)).Decode(cl.out); err != nil {
		return resp, fmt.Errorf("sigil: %s: decode answer: %w", op, err)
	}
	return resp, nil
}

// seg escapes one path segment.
func seg(s string) string { return url.PathEscape(s) }
