// Package httperr is the one table from sigil's error codes to HTTP answers — status, WWW-Authenticate challenge, Retry-After — and the JSON error body, shared by the server (internal/httpapi) and the Go verifier's middleware (pkg/verifier).
package httperr

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"time"

	"github.com/sigil-dev/sigil/internal/apperr"
	"github.com/sigil-dev/sigil/internal/policy"
	"github.com/sigil-dev/sigil/internal/token"
)

// Body is the JSON shape of every error: {"error": {"code","message","field"?}}.
type Body struct {
	Error Detail `json:"error"`
}

// Detail is the error member of Body.
type Detail struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Field   string `json:"field,omitempty"`
}

// BodyOf is the body of e's answer.
func BodyOf(e *apperr.Error) Body {
	return Body{Error: Detail{Code: e.Code, Message: e.Message, Field: e.Field}}
}

// challenge is what an answer of a code says in WWW-Authenticate.
type challenge int

const (
	noChallenge challenge = iota
	bearerInvalidToken
	bearerRealm
	bearerInsufficientScope
	basicRealm
)

// answer is one row of the table.
type answer struct {
	status     int
	challenge  challenge
	retryAfter bool
}

var table = map[string]answer{
	apperr.CodeInvalid:           {status: http.StatusBadRequest},
	apperr.CodeInvalidToken:      {status: http.StatusUnauthorized, challenge: bearerInvalidToken},
	apperr.CodeTokenRequired:     {status: http.StatusUnauthorized, challenge: bearerRealm},
	apperr.CodeUnauthorized:      {status: http.StatusUnauthorized, challenge: basicRealm},
	apperr.CodeForbidden:         {status: http.StatusForbidden},
	apperr.CodeInsufficientScope: {status: http.StatusForbidden, challenge: bearerInsufficientScope},
	apperr.CodeReadOnly:          {status: http.StatusForbidden},
	apperr.CodeNotFound:          {status: http.StatusNotFound},
	apperr.CodeMethodNotAllowed:  {status: http.StatusMethodNotAllowed},
	apperr.CodeConflict:          {status: http.StatusConflict},
	apperr.CodeTooLarge:          {status: http.StatusRequestEntityTooLarge},
	apperr.CodeUnsupportedMedia:  {status: http.StatusUnsupportedMediaType},
	apperr.CodeRateLimited:       {status: http.StatusTooManyRequests, retryAfter: true},
	apperr.CodeUnavailable:       {status: http.StatusServiceUnavailable, retryAfter: true},
	apperr.CodeUpstream:          {status: http.StatusBadGateway},
	apperr.CodeInternal:          {status: http.StatusInternalServerError},
}

// Status is the HTTP status of code; 500 for a code the table lacks.
func Status(code string) int {
	if a, ok := table[code]; ok {
		return a.status
	}
	return http.StatusInternalServerError
}

// SetHeaders sets the headers of e's answer: Cache-Control: no-store; the
// challenge of its code (RFC 6750 Bearer with error_description for
// invalid_token, the bare realm for token_required, insufficient_scope with
// the missing scopes of the policy.Denied that e wraps, Basic for client
// authentication); and for unavailable and rate_limited, Retry-After in
// whole seconds (rounded up) unless the handler has set one.
func SetHeaders(h http.Header, e *apperr.Error, retryAfter time.Duration) {
	h.Set("Cache-Control", "no-store")
	a := table[e.Code]
	switch a.challenge {
	case bearerInvalidToken:
		h.Set("WWW-Authenticate", fmt.Sprintf(`Bearer realm="sigil", error="invalid_token", error_description=%q`, e.Message))
	case bearerRealm:
		h.Set("WWW-Authenticate", `Bearer realm="sigil"`)
	case bearerInsufficientScope:
		if d, ok := policy.IsDenied(e); ok {
			h.Set("WWW-Authenticate", fmt.Sprintf(`Bearer error="insufficient_scope", scope=%q`, d.Scope))
		}
	case basicRealm:
		h.Set("WWW-Authenticate", `Basic realm="sigil"`)
	}
	switch {
	case !a.retryAfter:
	case e.RetryAfter > 0: // the error knows when to come back (a refresh too soon)
		h.Set("Retry-After", strconv.FormatInt(max(int64(math.Ceil(e.RetryAfter.Seconds())), 1), 10))
	case h.Get("Retry-After") == "":
		h.Set("Retry-After", strconv.Itoa(int(math.Ceil(retryAfter.Seconds()))))
	}
}

// Write answers e on a plain net/http response: headers, status and the
// JSON body (which net/http's server itself drops from a HEAD answer).
func Write(w http.ResponseWriter, e *apperr.Error, retryAfter time.Duration) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	SetHeaders(h, e, retryAfter)
	w.WriteHeader(Status(e.Code))
	_ = json.NewEncoder(w).Encode(BodyOf(e))
}

// tokenMessages are the public descriptions of token rejections, by token.Reason.
var tokenMessages = map[string]string{
	"malformed":     "the token is malformed",
	"header":        "the token header is not acceptable",
	"unknown_key":   "the token was not signed by a known key",
	"signature":     "the token signature is invalid",
	"expired":       "the token has expired",
	"not_yet_valid": "the token is not valid yet",
	"issuer":        "the token was issued by another issuer",
	"audience":      "the token is not meant for this audience",
	"claims":        "the token claims are not acceptable",
	"revoked":       "the token has been revoked",
}

// Token is the public error of a verification failure that matches
// token.ErrInvalidToken (the token's fault): invalid_token with the public
// description of its token.Reason. It returns nil for any other error.
func Token(err error) *apperr.Error {
	if !errors.Is(err, token.ErrInvalidToken) {
		return nil
	}
	msg, ok := tokenMessages[token.Reason(err)]
	if !ok {
		msg = "the token is invalid"
	}
	return apperr.Wrap(apperr.CodeInvalidToken, msg, err)
}

// Denied is the public error of a policy denial: forbidden, read_only or
// insufficient_scope (whose challenge names d.Scope), with d's message.
func Denied(d *policy.Denied) *apperr.Error {
	code := apperr.CodeForbidden
	switch d.Code {
	case policy.CodeReadOnly:
		code = apperr.CodeReadOnly
	case policy.CodeInsufficientScope:
		code = apperr.CodeInsufficientScope
	}
	return apperr.Wrap(code, d.Message, d)
}
