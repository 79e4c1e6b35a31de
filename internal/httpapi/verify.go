package httpapi

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/labstack/echo/v4"

	"github.com/sigil-dev/sigil/internal/apperr"
	"github.com/sigil-dev/sigil/internal/token"
)

// Identity headers handed to the upstream by forward-auth.
const (
	HeaderSubject  = "X-Sigil-Subject"
	HeaderKind     = "X-Sigil-Kind"
	HeaderScope    = "X-Sigil-Scope"
	HeaderResource = "X-Sigil-Resource"
	HeaderParams   = "X-Sigil-Params"
	HeaderPolicies = "X-Sigil-Policies"
)

// verifyResponse is the body of a 200 from /api/v1/verify (gateways use the headers).
type verifyResponse struct {
	Active   bool   `json:"active"`
	Subject  string `json:"sub,omitempty"`
	Kind     string `json:"tt"`
	Scope    string `json:"scope,omitempty"`
	Resource string `json:"resource"`
	Exp      int64  `json:"exp,omitempty"`
}

// verify answers GET /api/v1/verify, the forward-auth endpoint of gateways.
func (s *Server) verify(c echo.Context) error {
	raw, err := forwardedToken(c)
	if err != nil {
		return err
	}
	fwd, gated, err := forwardedRequest(c.Request())
	if err != nil {
		return err
	}
	claims, err := s.cfg.Verifier.Verify(c.Request().Context(), raw)
	if err != nil {
		s.cfg.Observer.Verified(token.Reason(err))
		s.recordRejected(err, nil)
		return err
	}
	if gated {
		if err := s.applyPolicy(claims, fwd, raw); err != nil {
			s.cfg.Observer.Verified(ReasonPolicy)
			return err
		}
	}
	s.cfg.Observer.Verified(token.Reason(nil))
	s.recordUse(claims)
	// The hot path of every gateway: headers go straight into the map under
	// their canonical names, and the body is appended by hand rather than
	// through encoding/json's reflection.
	h := c.Response().Header()
	h["Cache-Control"] = noStoreValue
	if claims.Subject != "" {
		h[HeaderSubject] = []string{claims.Subject}
	}
	resource := claims.Resource()
	h[HeaderKind] = []string{claims.Kind}
	if claims.Scope != "" {
		h[HeaderScope] = []string{claims.Scope}
	}
	h[HeaderResource] = []string{resource}
	if len(claims.Params) > 0 {
		h[HeaderParams] = []string{encodeHeaderJSON(claims.Params)}
	}
	if len(claims.SecurityPolicies) > 0 {
		h[HeaderPolicies] = []string{encodeHeaderJSON(claims.SecurityPolicies)}
	}
	if c.Request().Method == http.MethodHead {
		return c.NoContent(http.StatusOK)
	}
	var exp int64
	if claims.ExpiresAt != nil {
		exp = claims.ExpiresAt.Unix()
	}
	return c.Blob(http.StatusOK, echo.MIMEApplicationJSON, appendVerifyBody(make([]byte, 0, 160), claims.Subject, claims.Kind, claims.Scope, resource, exp))
}

// noStoreValue is shared by every answer: net/http only reads it.
var noStoreValue = []string{"no-store"}

// appendVerifyBody appends the JSON of a verify 200, the same document
// encoding/json would write for verifyResponse (which the tests check).
func appendVerifyBody(b []byte, sub, kind, scope, resource string, exp int64) []byte {
	b = append(b, `{"active":true`...)
	if sub != "" {
		b = appendJSONString(append(b, `,"sub":`...), sub)
	}
	b = appendJSONString(append(b, `,"tt":`...), kind)
	if scope != "" {
		b = appendJSONString(append(b, `,"scope":`...), scope)
	}
	b = appendJSONString(append(b, `,"resource":`...), resource)
	if exp != 0 {
		b = strconv.AppendInt(append(b, `,"exp":`...), exp, 10)
	}
	return append(b, '}', '\n')
}

// appendJSONString appends s as a JSON string exactly as encoding/json
// does: quotes, backslashes, control characters, <, >, &, U+2028 and
// U+2029 escaped, invalid UTF-8 replaced by \ufffd.
func appendJSONString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		ch := s[i]
		if ch < utf8.RuneSelf {
			if ch >= 0x20 && ch != '"' && ch != '\\' && ch != '<' && ch != '>' && ch != '&' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch ch {
			case '"', '\\':
				b = append(b, '\\', ch)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			default:
				b = append(b, '\\', 'u', '0', '0', hex[ch>>4], hex[ch&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b = append(append(b, s[start:i]...), `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			b = append(append(b, s[start:i]...), '\\', 'u', '2', '0', '2', hex[r&0xf])
		default:
			i += size
			continue
		}
		i += size
		start = i
	}
	return append(append(b, s[start:]...), '"')
}

// recordUse hands a successful use of a registered token (one with a tid)
// to the Recorder, which never blocks (DESIGN §8).
func (s *Server) recordUse(claims *token.Claims) {
	if claims.TID != "" && s.cfg.Recorder != nil {
		s.cfg.Recorder.Authenticated(claims.TID, s.cfg.Now().UTC().Truncate(time.Millisecond), true)
	}
}

// recordRejected hands a failed use to the Recorder when the token was
// rejected as revoked or expired and is a genuine registered token: the
// pipeline's rejection carries its claims (token.RejectedClaims), so it is
// not parsed again to learn its tid. allows, when non-nil, must allow the
// token's resource (introspection by a client that may not see the token
// records nothing).
func (s *Server) recordRejected(err error, allows func(string) bool) {
	if s.cfg.Recorder == nil {
		return
	}
	claims, ok := token.RejectedClaims(err)
	if !ok || claims.TID == "" || (allows != nil && !allows(claims.Resource())) {
		return
	}
	s.cfg.Recorder.Authenticated(claims.TID, s.cfg.Now().UTC().Truncate(time.Millisecond), false)
}

// encodeHeaderJSON is base64url(JSON) so that any value fits a header safely.
// Params maps of plain values (what nearly every token carries) are encoded
// by hand, exactly as encoding/json would; anything else goes through it.
func encodeHeaderJSON(v any) string {
	var buf [512]byte
	b, ok := buf[:0], false
	if m, isMap := v.(map[string]any); isMap {
		b, ok = appendPlainMap(b, m, 0)
	}
	if !ok {
		var err error
		if b, err = json.Marshal(v); err != nil {
			return ""
		}
	}
	var enc [700]byte
	return string(base64.RawURLEncoding.AppendEncode(enc[:0], b))
}

// appendPlainMap appends m as encoding/json does (keys sorted) when every
// value is a string, a bool, nil, a json.Number or such a map; ok is false
// for anything else, and the caller falls back to encoding/json.
func appendPlainMap(b []byte, m map[string]any, depth int) ([]byte, bool) {
	if depth > 4 || len(m) > 64 {
		return b, false
	}
	var keysBuf [64]string
	keys := keysBuf[:0]
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	b = append(b, '{')
	for i, k := range keys {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(appendJSONString(b, k), ':')
		var ok bool
		switch v := m[k].(type) {
		case string:
			b = appendJSONString(b, v)
		case bool:
			b = strconv.AppendBool(b, v)
		case nil:
			b = append(b, "null"...)
		case json.Number:
			// Claims decode numbers as json.Number; a valid literal is
			// written as it stands, like encoding/json does.
			if !isJSONNumber(string(v)) {
				return b, false
			}
			b = append(b, v...)
		case map[string]any:
			if b, ok = appendPlainMap(b, v, depth+1); !ok {
				return b, false
			}
		default:
			return b, false
		}
	}
	return append(b, '}'), true
}

// isJSONNumber reports whether s is a JSON number literal (RFC 8259 §6),
// the check encoding/json makes before writing a json.Number.
func isJSONNumber(s string) bool {
	i := 0
	if i < len(s) && s[i] == '-' {
		i++
	}
	switch {
	case i < len(s) && s[i] == '0':
		i++
	case i < len(s) && s[i] >= '1' && s[i] <= '9':
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
	default:
		return false
	}
	if i < len(s) && s[i] == '.' {
		i++
		if i == len(s) || s[i] < '0' || s[i] > '9' {
			return false
		}
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		if i == len(s) || s[i] < '0' || s[i] > '9' {
			return false
		}
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
	}
	return i == len(s)
}

// forwardedToken finds the token of a forward-auth request: the Bearer
// header, ?token= of the verify request, or the token query of the original
// URI that the gateway forwards (the URI the policy step reads). Exactly one
// of them may carry a token, once (RFC 6750 §2): two Authorization headers,
// two token parameters, or a token in two places is a 400, since a gateway,
// sigil and the upstream could each read another one.
func forwardedToken(c echo.Context) (string, error) {
	tok, err := bearerToken(c)
	if err != nil {
		return "", err
	}
	sources := 0
	if tok != "" {
		sources++
	}
	for _, src := range []struct{ field, query string }{
		{"token", c.Request().URL.RawQuery},
		{forwardedURIField(c.Request().Header), forwardedQuery(c.Request().Header)},
	} {
		qt, n := token.QueryToken(src.query)
		if n > 1 {
			return "", oneCredential(src.field, "more than one token query parameter")
		}
		if n == 1 {
			sources++
			if tok == "" {
				tok = qt
			}
		}
	}
	if v, _ := first(c.Request().Header, hdrForwardedURI, hdrOriginalURI); v != "" && sources == 0 {
		// The only place left for the token: say so when it cannot be read.
		if _, err := url.ParseRequestURI(v); err != nil {
			name := forwardedURIField(c.Request().Header)
			return "", apperr.Invalid(name, "%s is not a valid request URI", name)
		}
	}
	if sources > 1 {
		return "", oneCredential("token", "a token in more than one place (Authorization, ?token=, the forwarded URI)")
	}
	if tok == "" {
		return "", &apperr.Error{Code: apperr.CodeTokenRequired, Message: "a token is required: Authorization: Bearer, or ?token="}
	}
	return tok, nil
}

// forwardedQuery is the query of the URI the gateway forwards (the one the
// policy step reads), "" without one.
func forwardedQuery(h http.Header) string {
	v, _ := first(h, hdrForwardedURI, hdrOriginalURI)
	_, q, _ := strings.Cut(v, "?")
	q, _, _ = strings.Cut(q, "#")
	return q
}

func forwardedURIField(h http.Header) string {
	if _, n := first(h, hdrForwardedURI, hdrOriginalURI); n == hdrOriginalURI {
		return "X-Original-URI"
	}
	return "X-Forwarded-Uri"
}

// invalidate answers POST /api/v1/invalidate-token: logout. 204 only once
// the denylist holds the token's id; an expired or already revoked genuine
// token is 204 too; a forged one is 401. A registered token (report,
// app-view, api) is 403: whoever holds a share link could otherwise kill it
// for everyone behind its owner's back; its owner revokes it with DELETE
// /api/tokens/{id} (or RFC 7009 revoke), which the record and log show.
func (s *Server) invalidate(c echo.Context) error {
	raw, err := requireBearer(c)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	claims, err := s.cfg.Verifier.VerifyIgnoringExpiry(ctx, raw)
	if err != nil {
		return err
	}
	if claims.Registered() {
		// A report or app-view token travels in public links: holding one
		// must not be enough to kill it for everyone, and its record must
		// say when it dies. Its owner revokes it through the registry.
		return forbidden("a " + claims.Kind + " token is revoked by the client that manages it: DELETE /api/tokens/{id}")
	}
	if err := s.cfg.Revoker.Revoke(ctx, claims); err != nil {
		return err
	}
	noStore(c)
	return c.NoContent(http.StatusNoContent)
}

// introspectResponse is RFC 7662's answer; inactive tokens get {"active": false} only.
type introspectResponse struct {
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
	SecurityPolicies []token.Policy `json:"securityPolicies,omitempty"`
}

// introspect answers POST /api/v1/introspect (RFC 7662) for authenticated
// clients. A token outside the caller's resources is reported inactive.
func (s *Server) introspect(c echo.Context) error {
	raw, err := formValue(c, "token")
	if err != nil {
		return err
	}
	noStore(c)
	claims, err := s.cfg.Verifier.Verify(c.Request().Context(), raw)
	s.cfg.Observer.Verified(token.Reason(err))
	if errors.Is(err, token.ErrInvalidToken) {
		s.recordRejected(err, caller(c).Allows)
	}
	if errors.Is(err, token.ErrInvalidToken) || (err == nil && !caller(c).Allows(claims.Resource())) {
		return c.JSON(http.StatusOK, introspectResponse{Active: false})
	}
	if err != nil {
		return err
	}
	s.recordUse(claims)
	resp := introspectResponse{
		Active: true, Scope: claims.Scope, ClientID: claims.ClientID, Subject: claims.Subject,
		TokenType: "Bearer", Aud: claims.Audience, Iss: claims.Issuer, Jti: claims.ID, Kind: claims.Kind,
		TID: claims.TID, DashboardID: claims.DashboardID, ReportID: claims.ReportID, AppID: claims.AppID,
		ReadOnly: claims.ReadOnly, Params: claims.Params, SecurityPolicies: claims.SecurityPolicies,
	}
	if claims.ExpiresAt != nil {
		resp.Exp = claims.ExpiresAt.Unix()
	}
	if claims.IssuedAt != nil {
		resp.Iat = claims.IssuedAt.Unix()
	}
	if claims.NotBefore != nil {
		resp.Nbf = claims.NotBefore.Unix()
	}
	return c.JSON(http.StatusOK, resp)
}

// revoke answers POST /api/v1/revoke (RFC 7009). An invalid token is a 200
// (RFC 7009 §2.2); a genuine token outside the caller's resources is a 403,
// and so is a registered token whose record the caller did not create
// (Registry.RevokePresented marks the record revoked and logs REVOKE).
func (s *Server) revoke(c echo.Context) error {
	raw, err := formValue(c, "token")
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	claims, err := s.cfg.Verifier.VerifyIgnoringExpiry(ctx, raw)
	if errors.Is(err, token.ErrInvalidToken) {
		return c.NoContent(http.StatusOK)
	}
	if err != nil {
		return err
	}
	if !caller(c).Allows(claims.Resource()) {
		return forbidden("this client may not revoke tokens of this resource")
	}
	if claims.Registered() && s.cfg.Registry != nil {
		// Through the registry: only the record's manager, and the record
		// and its log say so.
		if err := s.cfg.Registry.RevokePresented(ctx, registryCaller(c), claims); err != nil {
			return registryError(err)
		}
		return c.NoContent(http.StatusOK)
	}
	if err := s.cfg.Revoker.Revoke(ctx, claims); err != nil {
		return err
	}
	return c.NoContent(http.StatusOK)
}
