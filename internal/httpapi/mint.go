package httpapi

import (
	"errors"
	"math"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/golang-jwt/jwt/v5"
	"github.com/labstack/echo/v4"

	"github.com/sigil-dev/sigil/internal/apperr"
	"github.com/sigil-dev/sigil/internal/clients"
	"github.com/sigil-dev/sigil/internal/token"
)

// ScopeDashboardView is the scope of every embed token.
const ScopeDashboardView = "dashboard:view"

var resourceIDPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$`)

// mintRequest is the body of POST /api/v1/token.
type mintRequest struct {
	DashboardID      string         `json:"dashboardId"`
	DashboardSecret  string         `json:"dashboardSecret"`
	TokenExpiry      *int64         `json:"tokenExpiry"`
	Params           map[string]any `json:"params"`
	SecurityPolicies []token.Policy `json:"securityPolicies"`
	Sub              string         `json:"sub"`

	maxExpiry time.Duration
}

// Validate checks every field; the per-client expiry cap is checked after authentication.
func (r *mintRequest) Validate() error {
	switch {
	case r.DashboardID == "":
		return apperr.Invalid("dashboardId", "dashboardId is required")
	case !resourceIDPattern.MatchString(r.DashboardID):
		return apperr.Invalid("dashboardId", "must be 1-128 characters of A-Z a-z 0-9 . _ : - starting with a letter or digit")
	case r.DashboardSecret == "":
		return apperr.Invalid("dashboardSecret", "dashboardSecret is required")
	case len(r.DashboardSecret) > 256:
		return apperr.Invalid("dashboardSecret", "must be at most 256 characters")
	}
	if r.TokenExpiry != nil && (*r.TokenExpiry < 1 || *r.TokenExpiry > int64(r.maxExpiry/time.Second)) {
		return apperr.Invalid("tokenExpiry", "must be between 1 and %d seconds", int64(r.maxExpiry/time.Second))
	}
	if err := validSubject(r.Sub); err != nil {
		return err
	}
	if err := token.ValidateParams(r.Params); err != nil {
		return err
	}
	return token.ValidatePolicies(r.SecurityPolicies)
}

// validSubject accepts an optional subject of printable characters without
// leading or trailing white space, since it travels on to upstreams in the
// X-Sigil-Subject header, which must carry it byte for byte.
func validSubject(sub string) error {
	if len(sub) > 256 {
		return apperr.Invalid("sub", "must be at most 256 characters")
	}
	if err := token.CheckHeaderSafe("sub", sub); err != nil {
		return err
	}
	if strings.IndexFunc(sub, func(r rune) bool { return !unicode.IsPrint(r) }) >= 0 {
		return apperr.Invalid("sub", "must contain printable characters only")
	}
	return nil
}

// tokenResponse is the answer of a successful mint or refresh.
type tokenResponse struct {
	AccessToken string    `json:"accessToken"`
	TokenType   string    `json:"tokenType"`
	ExpiresIn   int64     `json:"expiresIn"`
	ExpiresAt   time.Time `json:"expiresAt"`
}

// mint answers POST /api/v1/token: a dashboard credential buys an embed token.
func (s *Server) mint(c echo.Context) error {
	req := mintRequest{maxExpiry: s.cfg.EmbedMaxTTL}
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	if err := s.limiter.check(c, req.DashboardID); err != nil {
		return err
	}
	ctx := c.Request().Context()
	cl, err := s.cfg.Clients.Authenticate(ctx, req.DashboardID, req.DashboardSecret)
	if errors.Is(err, clients.ErrBadCredentials) {
		return s.limiter.failed(c, req.DashboardID, unauthorized("invalid dashboard credentials"))
	}
	if err != nil {
		return err
	}
	if !cl.Allows("dashboard:" + req.DashboardID) {
		return forbidden("this client may not mint tokens for this dashboard")
	}
	maxTTL := s.clientMaxTTL(cl)
	ttl := min(s.cfg.EmbedDefaultTTL, maxTTL)
	if req.TokenExpiry != nil {
		ttl = time.Duration(*req.TokenExpiry) * time.Second
		if ttl > maxTTL {
			return apperr.Invalid("tokenExpiry", "must be between 1 and %d seconds for this dashboard", int64(maxTTL/time.Second))
		}
	}
	claims := token.Claims{
		Kind:             token.KindEmbed,
		ClientID:         cl.ID,
		DashboardID:      req.DashboardID,
		Scope:            ScopeDashboardView,
		Params:           req.Params,
		SecurityPolicies: req.SecurityPolicies,
	}
	claims.Subject = req.Sub
	return s.issue(c, claims, ttl)
}

// refresh answers POST /api/v1/token/refresh: a live embed token is swapped
// for a new one with the same claims and a fresh expiry; the old one is
// revoked. Every refresh adds a denylist entry, so a chain of refreshes is
// bounded by rules read from its signed claims alone (no per-chain state):
//   - a token younger than RefreshMinAge (or half its lifetime, if less)
//     is refused with 429 + Retry-After: one chain writes at most one entry
//     per that age, however fast it is driven;
//   - the chain ends RefreshMaxLifetime after its start (auth_time, or iat
//     for a token minted before auth_time existed): the new token's exp is
//     capped there, and past it refresh is refused (401);
//   - the chain ends when its client's secret is rotated after the chain
//     started (401), or the client is deleted (its tokens are cut off).
//
// Tokens already issued keep verifying until their exp after a rotation:
// rotation is for a leaked secret, and the holder of a leaked secret can
// mint anyway until it is rotated; revoke-all with clientId kills them.
func (s *Server) refresh(c echo.Context) error {
	raw, err := requireBearer(c)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	old, err := s.cfg.Verifier.Verify(ctx, raw)
	if err != nil {
		return err
	}
	if old.Kind != token.KindEmbed {
		return forbidden("only embed tokens can be refreshed")
	}
	cl, err := s.cfg.Clients.Get(ctx, old.ClientID)
	if errors.Is(err, clients.ErrNotFound) {
		return apperr.New(apperr.CodeInvalidToken, "the token's client no longer exists")
	}
	if err != nil {
		return err
	}
	if !cl.Allows("dashboard:" + old.DashboardID) {
		return forbidden("this client may no longer mint tokens for this dashboard")
	}
	ttl := s.cfg.EmbedDefaultTTL
	if old.ExpiresAt != nil && old.IssuedAt != nil {
		ttl = old.ExpiresAt.Sub(old.IssuedAt.Time)
	}
	ttl = min(ttl, s.clientMaxTTL(cl))
	start := old.IssuedAt.Time
	if old.AuthTime != nil {
		start = old.AuthTime.Time
	}
	now := s.cfg.Now()
	if !cl.SecretRotatedAt.IsZero() && !start.After(cl.SecretRotatedAt) {
		return apperr.New(apperr.CodeInvalidToken, "the client's secret was rotated after this token's session started; mint a new token")
	}
	left := start.Add(s.cfg.RefreshMaxLifetime).Sub(now).Truncate(time.Second)
	if left < time.Second {
		return apperr.New(apperr.CodeInvalidToken, "this token's session has reached its maximum lifetime; mint a new token")
	}
	ttl = min(ttl, left)
	minAge := min(s.cfg.RefreshMinAge, old.ExpiresAt.Sub(old.IssuedAt.Time)/2)
	if wait := old.IssuedAt.Add(minAge).Sub(now); wait > 0 {
		secs := max(int64(math.Ceil(wait.Seconds())), 1)
		c.Response().Header().Set("Retry-After", strconv.FormatInt(secs, 10))
		return apperr.New(apperr.CodeRateLimited, "this token is too new to be refreshed, retry later")
	}
	next := token.Claims{
		Kind:             token.KindEmbed,
		ClientID:         old.ClientID,
		DashboardID:      old.DashboardID,
		Scope:            old.Scope,
		Params:           old.Params,
		SecurityPolicies: old.SecurityPolicies,
		AuthTime:         jwt.NewNumericDate(start),
	}
	next.Subject = old.Subject
	raw2, minted, err := s.cfg.Minter.Mint(next, ttl)
	if err != nil {
		return err
	}
	// The new token is only handed out once the old one is durably revoked,
	// and only to the one request that revoked it: two concurrent refreshes
	// of one token must not fork it into two live sessions.
	first, err := s.cfg.Revoker.RevokeOnce(ctx, old)
	if err != nil {
		return err
	}
	if !first {
		return token.ErrRevoked
	}
	return s.writeToken(c, raw2, minted)
}

func (s *Server) issue(c echo.Context, claims token.Claims, ttl time.Duration) error {
	raw, minted, err := s.cfg.Minter.Mint(claims, ttl)
	if err != nil {
		return err
	}
	return s.writeToken(c, raw, minted)
}

func (s *Server) writeToken(c echo.Context, raw string, claims *token.Claims) error {
	s.cfg.Observer.Minted(claims.Kind)
	noStore(c)
	resp := tokenResponse{AccessToken: raw, TokenType: "Bearer"}
	if claims.ExpiresAt != nil {
		resp.ExpiresAt = claims.ExpiresAt.UTC()
		resp.ExpiresIn = int64(claims.ExpiresAt.Sub(claims.IssuedAt.Time) / time.Second)
	}
	return c.JSON(http.StatusOK, resp)
}

// clientMaxTTL is the longest embed token a client may mint.
func (s *Server) clientMaxTTL(cl clients.Client) time.Duration {
	if cl.MaxTokenExpiry > 0 {
		return min(time.Duration(cl.MaxTokenExpiry)*time.Second, s.cfg.EmbedMaxTTL)
	}
	return s.cfg.EmbedMaxTTL
}
