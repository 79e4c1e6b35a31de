package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/sigil-dev/sigil/internal/apperr"
	"github.com/sigil-dev/sigil/internal/clients"
	"github.com/sigil-dev/sigil/internal/registry"
)

// Registry manages registered token records (report, app-view and API
// tokens) on behalf of authenticated clients; *registry.Service satisfies
// it. A caller's mistake is an *apperr.Error naming the field; a record the
// caller may not see is a not-found error like a missing one; store
// failures wrap apperr.ErrStoreUnavailable.
type Registry interface {
	// Create stores a record and, unless in.Generate is false, returns its
	// first JWT, which is never shown again.
	Create(ctx context.Context, caller registry.Caller, in registry.CreateInput) (registry.Record, string, error)
	Get(ctx context.Context, caller registry.Caller, id string) (registry.Record, error)
	// Update renames the record or changes its scopes; the bool reports
	// that new scopes wait for the next generation.
	Update(ctx context.Context, caller registry.Caller, id string, in registry.UpdateInput) (registry.Record, bool, error)
	// Generate mints a new JWT, returned this once; the previous one is denied first.
	Generate(ctx context.Context, caller registry.Caller, id string) (registry.Record, string, error)
	// Delete returns only once every JWT of the record is denied.
	Delete(ctx context.Context, caller registry.Caller, id string) error
	// List and Logs return one page and the next cursor ("" after the last).
	List(ctx context.Context, caller registry.Caller, f registry.Filter) ([]registry.Record, string, error)
	ListForReport(ctx context.Context, caller registry.Caller, reportID string) ([]registry.Record, error)
	ListForApp(ctx context.Context, caller registry.Caller, appID string) ([]registry.Record, error)
	Logs(ctx context.Context, caller registry.Caller, id string, limit int, cursor string) ([]registry.LogEntry, string, error)
	// Cleanup deletes the records expired at now and returns how many.
	Cleanup(ctx context.Context, now time.Time) (int, error)
	// Scopes returns the scopes API tokens may carry, with their labels.
	Scopes() map[string]string
	// SetRole grants or withdraws an owner's api-tokens role.
	SetRole(ctx context.Context, owner string, granted bool) error
	// RevealToken returns the record's current JWT when it is kept sealed,
	// "" otherwise; registry.ErrUnseal if it does not open.
	RevealToken(r registry.Record) (string, error)
}

var (
	_ Registry       = (*registry.Service)(nil)
	_ Recorder       = (*registry.Recorder)(nil)
	_ FailureCounter = registry.Store(nil)
)

// registryRoutes registers the registered-token API (DESIGN §7). Every
// route authenticates a client; middleware is given per route, not to a
// group, so that unknown paths under /api stay 404s.
func (s *Server) registryRoutes() {
	e, auth, admin := s.echo, s.requireClient, s.requireAdmin
	// The routes of one owner's API tokens also take a console token.
	owner := s.requireConsoleOrClient
	e.POST("/api/tokens", s.createToken, owner)
	e.GET("/api/tokens", s.listTokens, owner)
	e.POST("/api/tokens/_cleanup", s.cleanupTokens, auth, admin, noBody)
	e.GET("/api/tokens/:id", s.getToken, owner)
	e.PATCH("/api/tokens/:id", s.updateToken, owner)
	e.DELETE("/api/tokens/:id", s.deleteToken, owner)
	e.POST("/api/tokens/:id/_generate", s.generateToken, owner, noBody)
	e.GET("/api/tokens/:id/logs", s.tokenLogs, owner)
	e.GET("/api/scopes", s.listScopes, owner)
	e.GET("/api/reports/:id/tokens", s.reportTokens, auth)
	e.POST("/api/reports/:id/_cloud-publish", s.cloudPublish, auth, noBody)
	e.GET("/api/apps/:id/tokens", s.appTokens, auth)
	e.PUT("/api/owners/:owner/roles/"+registry.RoleAPITokens, s.grantRole, auth, admin, noBody)
	e.DELETE("/api/owners/:owner/roles/"+registry.RoleAPITokens, s.withdrawRole, auth, admin)
	s.ownerEmailRoutes()
}

// createTokenRequest is the body of POST /api/tokens: registry.CreateInput
// field for field (a test keeps them in step), except that expiresAt is
// read as raw JSON so that a malformed time is a 400 naming expiresAt.
type createTokenRequest struct {
	Type      string          `json:"type"`
	Name      string          `json:"name"`
	Owner     string          `json:"owner"`
	ReportID  string          `json:"reportId"`
	AppID     string          `json:"appId"`
	Scopes    []string        `json:"scopes"`
	ReadOnly  *bool           `json:"readOnly"`
	ExpiresAt json.RawMessage `json:"expiresAt"`
	ExpiresIn string          `json:"expiresIn"`
	Generate  *bool           `json:"generate"`
	// UniqueName: see registry.CreateInput.
	UniqueName bool `json:"uniqueName"`

	expiresAt *time.Time
}

// Validate parses expiresAt; the registry checks everything else against
// its configuration.
func (r *createTokenRequest) Validate() error {
	if len(r.ExpiresAt) == 0 || string(r.ExpiresAt) == "null" {
		return nil
	}
	var s string
	if err := json.Unmarshal(r.ExpiresAt, &s); err != nil {
		return apperr.Invalid("expiresAt", "must be an RFC 3339 date-time string")
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return apperr.Invalid("expiresAt", "must be an RFC 3339 date-time such as 2030-01-02T15:04:05Z")
	}
	r.expiresAt = &t
	return nil
}

func (r *createTokenRequest) input() registry.CreateInput {
	return registry.CreateInput{
		Type: r.Type, Name: r.Name, Owner: r.Owner, ReportID: r.ReportID, AppID: r.AppID,
		Scopes: r.Scopes, ReadOnly: r.ReadOnly, ExpiresAt: r.expiresAt, ExpiresIn: r.ExpiresIn, Generate: r.Generate,
		UniqueName: r.UniqueName,
	}
}

// updateTokenRequest is the body of PATCH /api/tokens/{id}. It is a defined
// type, not an embedding, so that JSON errors name the field.
type updateTokenRequest registry.UpdateInput

// Validate requires something to change; the registry checks the values.
func (r *updateTokenRequest) Validate() error {
	if r.Name == nil && r.Scopes == nil {
		return apperr.Invalid("", "nothing to update: give name or scopes")
	}
	return nil
}

// link is a HAL link.
type link struct {
	Href string `json:"href"`
}

type selfLinks struct {
	Self link `json:"self"`
}

// tokenView is a record as the API shows it (the TokenRecord schema of
// openapi.yaml): never its jti or sealed JWT; the JWT only in the response
// that generates it (or, with reveal on, in reads), and a self link. It is
// the API's own type, apart from registry.Record and from the stores'
// formats, so that renaming a field here changes the API and nothing else.
type tokenView struct {
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
	// ExpiresIn is the preset the token was created with (1d 7d 30d 60d
	// 90d 1y never): each generation expires that long after it; absent
	// for an absolute expiresAt or none.
	ExpiresIn string `json:"expiresIn,omitempty"`
	// RevokedAt is when the token was revoked (status revoked).
	RevokedAt   *time.Time `json:"revokedAt,omitempty"`
	GeneratedAt *time.Time `json:"generatedAt"`
	LastUsedAt  *time.Time `json:"lastUsedAt"`
	CreatedBy   string     `json:"createdBy"`
	// TokenHint is the last 6 characters of the current JWT.
	TokenHint string    `json:"tokenHint,omitempty"`
	Token     string    `json:"token,omitempty"`
	Links     selfLinks `json:"_links"`
}

// updatedTokenView is the answer of PATCH: scopesPending says the current
// JWT still carries the old scopes until the next generation.
type updatedTokenView struct {
	tokenView
	ScopesPending bool `json:"scopesPending"`
}

type tokenPage struct {
	Tokens     []tokenView `json:"tokens"`
	NextCursor *string     `json:"nextCursor"`
}

// logEntryView is a registry.LogEntry as the API shows it.
type logEntryView struct {
	Activity string    `json:"activity"` // CREATE GENERATE UPDATE REVOKE AUTHENTICATE
	At       time.Time `json:"at"`
	By       string    `json:"by"`
	Result   string    `json:"result"` // OK FAIL
}

type logPage struct {
	Logs       []logEntryView `json:"logs"`
	NextCursor *string        `json:"nextCursor"`
}

// listWarning says that part of a listing could not be read (the cloud deployment).
type listWarning struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

type reportTokensView struct {
	Tokens  []tokenView  `json:"tokens"`
	Warning *listWarning `json:"warning"`
}

// appTokensView is Informer's HAL listing of an app's tokens.
type appTokensView struct {
	Links    selfLinks `json:"_links"`
	Embedded struct {
		AppTokens []tokenView `json:"inf:app-token"`
	} `json:"_embedded"`
	Tokens []tokenView `json:"tokens"`
}

type cleanupView struct {
	Removed int `json:"removed"`
}

// registryCaller is the authenticated client as the services (registry,
// embed, cloud) see it.
func registryCaller(c echo.Context) registry.Caller {
	if cc, ok := consoleCaller(c); ok {
		return cc
	}
	return clientCaller(caller(c))
}

// clientCaller is client cl as the services see it. Allows is cl.Allows,
// without a bound copy of the whole record: for an admin a function that
// allows everything (as cl.Allows does), else a match against cl's
// resource patterns alone (TestClientCallerAllowsAsClient).
func clientCaller(cl clients.Client) registry.Caller {
	if cl.Role == clients.RoleAdmin {
		return registry.Caller{ID: cl.ID, Admin: true, Allows: allowAll}
	}
	patterns := cl.Resources
	return registry.Caller{ID: cl.ID, Allows: func(resource string) bool { return clients.MatchesAny(patterns, resource) }}
}

// allowAll is an admin's Allows.
func allowAll(string) bool { return true }

// registryError maps the registry's sentinel errors to API errors, the one
// place they are mapped: a missing record is 404, a name the owner already
// uses 409 naming name, a foreign cursor 400 naming cursor. The Service
// returns such *apperr.Error values itself; bare sentinels are mapped here.
func registryError(err error) error {
	if _, ok := apperr.As(err); ok {
		return err
	}
	switch {
	case errors.Is(err, registry.ErrNotFound):
		return &apperr.Error{Code: apperr.CodeNotFound, Message: "token not found", Err: err}
	case errors.Is(err, registry.ErrNameTaken):
		return &apperr.Error{Code: apperr.CodeConflict, Field: "name", Message: "the owner already has a token with this name", Err: err}
	case errors.Is(err, registry.ErrBadCursor):
		return &apperr.Error{Code: apperr.CodeInvalid, Field: "cursor", Message: "invalid cursor", Err: err}
	}
	return err
}

// selfLink is the HAL self link of record id.
func selfLink(id string) selfLinks {
	return selfLinks{Self: link{Href: "/api/tokens/" + url.PathEscape(id)}}
}

// generatedView is the one view that carries a freshly minted JWT.
func generatedView(r registry.Record, jwt string) tokenView {
	scopes := r.Scopes
	if scopes == nil {
		scopes = []string{}
	}
	return tokenView{
		ID: r.ID, Type: r.Type, Name: r.Name, Owner: r.Owner, ReportID: r.ReportID, AppID: r.AppID,
		Scopes: scopes, ReadOnly: r.ReadOnly, Cloud: r.Cloud, URL: r.URL, Status: string(r.Status),
		CreatedAt: r.CreatedAt, ExpiresAt: r.ExpiresAt, ExpiresIn: r.ExpiresIn, RevokedAt: r.RevokedAt,
		GeneratedAt: r.GeneratedAt, LastUsedAt: r.LastUsedAt,
		CreatedBy: r.CreatedBy, TokenHint: r.TokenHint, Token: jwt, Links: selfLink(r.ID),
	}
}

// readView is a record as reads show it: the tokenHint, and the JWT itself
// only with reveal on.
func (s *Server) readView(c echo.Context, r registry.Record) tokenView {
	v := generatedView(r, "")
	if s.cfg.RevealTokens {
		jwt, err := s.cfg.Registry.RevealToken(r)
		if err != nil {
			s.log.LogAttrs(c.Request().Context(), slog.LevelWarn, "registry: cannot reveal token",
				slog.String("request_id", requestID(c)), slog.String("record", r.ID), slog.String("err", err.Error()))
		}
		v.Token = jwt
	}
	return v
}

func (s *Server) readViews(c echo.Context, rs []registry.Record) []tokenView {
	out := make([]tokenView, 0, len(rs))
	for _, r := range rs {
		out = append(out, s.readView(c, r))
	}
	return out
}

// pathParam is an unescaped path parameter: echo hands it over escaped
// when the path holds an escaped slash, unescaped otherwise.
func pathParam(c echo.Context, name string) (string, error) {
	v := c.Param(name)
	if c.Request().URL.RawPath == "" {
		return v, nil
	}
	u, err := url.PathUnescape(v)
	if err != nil {
		return "", apperr.Invalid(name, "malformed path parameter")
	}
	return u, nil
}

var queryNamePattern = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,32}$`)

// queryParams returns the request's query: each parameter must be one of
// allowed and appear at most once (a misspelt filter must not widen a
// listing silently).
func queryParams(c echo.Context, allowed ...string) (url.Values, error) {
	q, err := url.ParseQuery(c.Request().URL.RawQuery)
	if err != nil {
		return nil, apperr.Invalid("", "malformed query string")
	}
	names := make([]string, 0, len(q))
	for k := range q {
		names = append(names, k)
	}
	slices.Sort(names)
	for _, k := range names {
		if !slices.Contains(allowed, k) {
			if !queryNamePattern.MatchString(k) {
				return nil, apperr.Invalid("", "unknown query parameter")
			}
			return nil, apperr.Invalid(k, "unknown query parameter")
		}
		if len(q[k]) > 1 {
			return nil, apperr.Invalid(k, "must appear once")
		}
	}
	return q, nil
}

// maxCursorLen bounds a paging cursor.
const maxCursorLen = 512

// pageParams reads limit (1..registry.MaxLimit; 0 when absent: the
// default) and cursor.
func pageParams(q url.Values) (limit int, cursor string, err error) {
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > registry.MaxLimit {
			return 0, "", apperr.Invalid("limit", "must be an integer between 1 and %d", registry.MaxLimit)
		}
		limit = n
	}
	cursor = q.Get("cursor")
	if len(cursor) > maxCursorLen {
		return 0, "", apperr.Invalid("cursor", "invalid cursor")
	}
	return limit, cursor, nil
}

// maxExpiringDays bounds expiringWithinDays (ten years).
const maxExpiringDays = 3650

// expiringWithin sets f to keep the tokens that expire from now to v days
// on (v empty: no such filter).
func expiringWithin(v string, now time.Time, f *registry.Filter) error {
	if v == "" {
		return nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > maxExpiringDays {
		return apperr.Invalid("expiringWithinDays", "must be an integer between 1 and %d", maxExpiringDays)
	}
	now = now.UTC()
	f.ExpiresAfter, f.ExpiresBefore = now, now.AddDate(0, 0, n)
	return nil
}

func nextCursor(next string) *string {
	if next == "" {
		return nil
	}
	return &next
}

// createToken answers POST /api/tokens: 201 with the record and, unless
// generate is false, its JWT, shown this once.
func (s *Server) createToken(c echo.Context) error {
	var req createTokenRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	r, jwt, err := s.cfg.Registry.Create(c.Request().Context(), registryCaller(c), req.input())
	if err != nil {
		return registryError(err)
	}
	if jwt != "" {
		s.cfg.Observer.Minted(r.Type)
	}
	noStore(c)
	v := generatedView(r, jwt)
	c.Response().Header().Set(echo.HeaderLocation, v.Links.Self.Href)
	return c.JSON(http.StatusCreated, v)
}

// listTokens answers GET /api/tokens: one page of records, newest first.
func (s *Server) listTokens(c echo.Context) error {
	q, err := queryParams(c, "type", "owner", "status", "reportId", "appId", "expiringWithinDays", "limit", "cursor")
	if err != nil {
		return err
	}
	limit, cursor, err := pageParams(q)
	if err != nil {
		return err
	}
	f := registry.Filter{
		Type: q.Get("type"), Owner: q.Get("owner"), Status: q.Get("status"),
		ReportID: q.Get("reportId"), AppID: q.Get("appId"), Limit: limit, Cursor: cursor,
	}
	if err := expiringWithin(q.Get("expiringWithinDays"), s.cfg.Now(), &f); err != nil {
		return err
	}
	rs, next, err := s.cfg.Registry.List(c.Request().Context(), registryCaller(c), f)
	if err != nil {
		return registryError(err)
	}
	noStore(c)
	return c.JSON(http.StatusOK, tokenPage{Tokens: s.readViews(c, rs), NextCursor: nextCursor(next)})
}

func (s *Server) getToken(c echo.Context) error {
	id, err := pathParam(c, "id")
	if err != nil {
		return err
	}
	r, err := s.cfg.Registry.Get(c.Request().Context(), registryCaller(c), id)
	if err != nil {
		return registryError(err)
	}
	noStore(c)
	return c.JSON(http.StatusOK, s.readView(c, r))
}

// updateToken answers PATCH /api/tokens/{id} (name, scopes).
func (s *Server) updateToken(c echo.Context) error {
	id, err := pathParam(c, "id")
	if err != nil {
		return err
	}
	var req updateTokenRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	r, pending, err := s.cfg.Registry.Update(c.Request().Context(), registryCaller(c), id, registry.UpdateInput(req))
	if err != nil {
		return registryError(err)
	}
	noStore(c)
	return c.JSON(http.StatusOK, updatedTokenView{tokenView: generatedView(r, ""), ScopesPending: pending})
}

// deleteToken answers DELETE /api/tokens/{id}: 204 only once every JWT of
// the record is denied; 503 + Retry-After if the denylist can't take it.
// An id with no local record may be a token this deployment published
// (cloud.Service.Delete).
func (s *Server) deleteToken(c echo.Context) error {
	id, err := pathParam(c, "id")
	if err != nil {
		return err
	}
	if err := s.cfg.Reports.Delete(c.Request().Context(), registryCaller(c), id); err != nil {
		return registryError(err)
	}
	noStore(c)
	return c.NoContent(http.StatusNoContent)
}

// generateToken answers POST /api/tokens/{id}/_generate: a new JWT, shown
// this once; the previous one is revoked first.
func (s *Server) generateToken(c echo.Context) error {
	id, err := pathParam(c, "id")
	if err != nil {
		return err
	}
	r, jwt, err := s.cfg.Registry.Generate(c.Request().Context(), registryCaller(c), id)
	if err != nil {
		return registryError(err)
	}
	s.cfg.Observer.Minted(r.Type)
	noStore(c)
	return c.JSON(http.StatusOK, generatedView(r, jwt))
}

// tokenLogs answers GET /api/tokens/{id}/logs: one page, newest first.
func (s *Server) tokenLogs(c echo.Context) error {
	id, err := pathParam(c, "id")
	if err != nil {
		return err
	}
	q, err := queryParams(c, "limit", "cursor")
	if err != nil {
		return err
	}
	limit, cursor, err := pageParams(q)
	if err != nil {
		return err
	}
	logs, next, err := s.cfg.Registry.Logs(c.Request().Context(), registryCaller(c), id, limit, cursor)
	if err != nil {
		return registryError(err)
	}
	views := make([]logEntryView, 0, len(logs))
	for _, e := range logs {
		views = append(views, logEntryView{Activity: e.Activity, At: e.At, By: e.By, Result: e.Result})
	}
	noStore(c)
	return c.JSON(http.StatusOK, logPage{Logs: views, NextCursor: nextCursor(next)})
}

// cleanupTokens answers POST /api/tokens/_cleanup (admin): what the janitor
// does, now.
func (s *Server) cleanupTokens(c echo.Context) error {
	n, err := s.cfg.Registry.Cleanup(c.Request().Context(), s.cfg.Now().UTC())
	if err != nil {
		return registryError(err)
	}
	return c.JSON(http.StatusOK, cleanupView{Removed: n})
}

// reportTokens answers GET /api/reports/{id}/tokens: the local tokens and,
// with a cloud deployment configured, its published tokens (cloud: true),
// read at the same time. If the cloud fails or does not answer within its
// timeout, the local tokens come back with a warning, still 200.
func (s *Server) reportTokens(c echo.Context) error {
	id, err := pathParam(c, "id")
	if err != nil {
		return err
	}
	if _, err := queryParams(c); err != nil {
		return err
	}
	ts, err := s.cfg.Reports.ReportTokens(c.Request().Context(), registryCaller(c), id)
	if err != nil {
		return registryError(err)
	}
	views := s.readViews(c, ts.Local)
	for _, r := range ts.Cloud {
		views = append(views, cloudView(r))
	}
	noStore(c)
	return c.JSON(http.StatusOK, reportTokensView{Tokens: views, Warning: s.cloudWarning(c, ts.CloudErr)})
}

// appTokens answers GET /api/apps/{id}/tokens in Informer's HAL shape.
func (s *Server) appTokens(c echo.Context) error {
	id, err := pathParam(c, "id")
	if err != nil {
		return err
	}
	if _, err := queryParams(c); err != nil {
		return err
	}
	rs, err := s.cfg.Registry.ListForApp(c.Request().Context(), registryCaller(c), id)
	if err != nil {
		return registryError(err)
	}
	views := s.readViews(c, rs)
	var v appTokensView
	v.Links.Self.Href = "/api/apps/" + url.PathEscape(id) + "/tokens"
	v.Embedded.AppTokens = views
	v.Tokens = views
	noStore(c)
	return c.JSON(http.StatusOK, v)
}

// grantRole answers PUT /api/owners/{owner}/roles/api-tokens (admin).
func (s *Server) grantRole(c echo.Context) error { return s.setRole(c, true) }

// withdrawRole answers DELETE /api/owners/{owner}/roles/api-tokens (admin).
func (s *Server) withdrawRole(c echo.Context) error { return s.setRole(c, false) }

func (s *Server) setRole(c echo.Context, granted bool) error {
	owner, err := pathParam(c, "owner")
	if err != nil {
		return err
	}
	if err := s.cfg.Registry.SetRole(c.Request().Context(), owner, granted); err != nil {
		return registryError(err)
	}
	return c.NoContent(http.StatusNoContent)
}
