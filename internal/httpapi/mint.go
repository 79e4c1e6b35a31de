package httpapi

import (
	"errors"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"

	"github.com/labstack/echo/v4"

	"github.com/sigil-dev/sigil/internal/apperr"
	"github.com/sigil-dev/sigil/internal/clients"
	"github.com/sigil-dev/sigil/internal/embed"
	"github.com/sigil-dev/sigil/internal/ident"
	"github.com/sigil-dev/sigil/internal/token"
)

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
	case !ident.Valid(r.DashboardID):
		return apperr.Invalid("dashboardId", ident.Rule)
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
	req := mintRequest{maxExpiry: s.cfg.Tokens.MaxTTL()}
	if err := decodeMint(c, &req); err != nil {
		return err
	}
	if err := s.checkAuthLimit(c, req.DashboardID); err != nil {
		return err
	}
	issued, err := s.cfg.Tokens.Mint(c.Request().Context(), req.toService())
	if errors.Is(err, clients.ErrBadCredentials) {
		return s.authFailed(c, req.DashboardID, err)
	}
	if err != nil {
		return err
	}
	return s.writeToken(c, issued)
}

// decodeMint is decodeJSON(c, req), step for step, with req left on the
// caller's stack (decodeJSON's interface argument moves it to the heap):
// only the strict route, which decodes by reflection, works on a copy.
func decodeMint(c echo.Context, req *mintRequest) error {
	body, err := jsonBody(c)
	if err != nil {
		return err
	}
	if !req.decodeFast(body) {
		strict := new(mintRequest)
		*strict = *req
		if err := decodeStrict(body, strict); err != nil {
			return err
		}
		*req = *strict
	}
	return req.Validate()
}

// toService is the validated request as the embed service takes it.
func (r *mintRequest) toService() embed.MintRequest {
	out := embed.MintRequest{
		DashboardID: r.DashboardID, DashboardSecret: r.DashboardSecret, Subject: r.Sub,
		Params: r.Params, SecurityPolicies: r.SecurityPolicies,
	}
	if r.TokenExpiry != nil {
		out.Expiry = time.Duration(*r.TokenExpiry) * time.Second
	}
	return out
}

// refresh answers POST /api/v1/token/refresh: a live embed token is swapped
// for a new one with the same claims and a fresh expiry, and the old one is
// revoked, within the limits of a refresh chain (embed.Service.Refresh).
func (s *Server) refresh(c echo.Context) error {
	raw, err := requireBearer(c)
	if err != nil {
		return err
	}
	issued, err := s.cfg.Tokens.Refresh(c.Request().Context(), raw)
	if err != nil {
		return err
	}
	return s.writeToken(c, issued)
}

func (s *Server) writeToken(c echo.Context, t embed.Issued) error {
	s.cfg.Observer.Minted(t.Claims.Kind)
	noStore(c)
	resp := tokenResponse{AccessToken: t.Raw, TokenType: "Bearer"}
	if t.Claims.ExpiresAt != nil {
		resp.ExpiresAt = t.Claims.ExpiresAt.UTC()
		resp.ExpiresIn = int64(t.Claims.ExpiresAt.Sub(t.Claims.IssuedAt.Time) / time.Second)
	}
	if !c.Echo().Debug && c.Request().URL.RawQuery == "" {
		buf := tokenAnswers.Get().(*[]byte)
		defer tokenAnswers.Put(buf)
		if b, ok := appendTokenResponse((*buf)[:0], &resp); ok {
			if cap(b) <= maxTokenAnswer {
				*buf = b[:0] // keep a buffer that grew, up to the bound
			}
			// The writer copies b (an io.Writer retains nothing): the
			// buffer is free again when JSONBlob returns.
			return c.JSONBlob(http.StatusOK, b)
		}
	}
	return c.JSON(http.StatusOK, resp)
}

// tokenAnswers holds buffers for writeToken's answer, which lives only
// until it is written: one per concurrent answer instead of one per mint.
var tokenAnswers = sync.Pool{New: func() any {
	b := make([]byte, 0, 1024)
	return &b
}}

// maxTokenAnswer bounds the buffers tokenAnswers keeps: a token answer is
// at most token.MaxTokenSize and a few dozen bytes.
const maxTokenAnswer = token.MaxTokenSize + 256

// appendTokenResponse appends the JSON of r as Echo's c.JSON writes it
// (encoding/json, then a newline), byte for byte
// (TestAppendTokenResponseMatchesJSON), without reflection; false when the
// token holds a byte JSON would escape or the expiry is outside what
// time.Time.MarshalJSON writes: then c.JSON writes it. (c.JSON indents
// for Echo's debug mode or a "pretty" query parameter: writeToken leaves
// those to it too.)
func appendTokenResponse(b []byte, r *tokenResponse) ([]byte, bool) {
	for i := 0; i < len(r.AccessToken); i++ {
		if !plainJSONByte[r.AccessToken[i]] {
			return nil, false
		}
	}
	if r.TokenType != "Bearer" {
		return nil, false
	}
	b = append(b, `{"accessToken":"`...)
	b = append(b, r.AccessToken...)
	b = append(b, `","tokenType":"Bearer","expiresIn":`...)
	b = strconv.AppendInt(b, r.ExpiresIn, 10)
	b = append(b, `,"expiresAt":"`...)
	b, err := r.ExpiresAt.AppendText(b)
	if err != nil {
		return nil, false
	}
	return append(b, "\"}\n"...), true
}

// plainJSONByte holds the bytes encoding/json writes as they are in a
// string: printable ASCII but '"', '\\' and the HTML characters it escapes.
var plainJSONByte = func() (t [256]bool) {
	for c := 0x20; c < 0x7f; c++ {
		t[c] = c != '"' && c != '\\' && c != '<' && c != '>' && c != '&'
	}
	return t
}()
