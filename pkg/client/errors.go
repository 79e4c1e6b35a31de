package client

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"time"
)

// Error is an error answer of the API: {"error": {"code", "message", "field"}}
// and its HTTP status. Compare it with the sentinel values below through
// errors.Is, which matches on Code:
//
//	if errors.Is(err, client.ErrNotFound) { ... }
type Error struct {
	// Status is the HTTP status code (0 for a sentinel).
	Status int
	// Code is the machine code, e.g. "invalid_request", "not_found".
	Code string
	// Message is the server's public description.
	Message string
	// Field names the offending input, when the server named one.
	Field string
	// RetryAfter is the Retry-After of a 429 or 503, zero otherwise.
	RetryAfter time.Duration
}

// Error describes e in one line.
func (e *Error) Error() string {
	s := "sigil: "
	if e.Status != 0 {
		s += strconv.Itoa(e.Status) + " "
	}
	s += e.Code
	if e.Message != "" {
		s += ": " + e.Message
	}
	if e.Field != "" {
		s += " (field " + e.Field + ")"
	}
	return s
}

// Is reports whether target is an *Error with the same Code: it makes the
// sentinels below work with errors.Is.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Code != "" && t.Code == e.Code
}

// Sentinels for errors.Is, one per code the API answers with.
var (
	ErrInvalidRequest    = &Error{Code: "invalid_request"}    // 400
	ErrInvalidToken      = &Error{Code: "invalid_token"}      // 401: the token was rejected
	ErrTokenRequired     = &Error{Code: "token_required"}     // 401: no token presented
	ErrUnauthorized      = &Error{Code: "unauthorized"}       // 401: client authentication failed
	ErrForbidden         = &Error{Code: "forbidden"}          // 403
	ErrInsufficientScope = &Error{Code: "insufficient_scope"} // 403
	ErrNotFound          = &Error{Code: "not_found"}          // 404
	ErrMethodNotAllowed  = &Error{Code: "method_not_allowed"} // 405
	ErrConflict          = &Error{Code: "conflict"}           // 409
	ErrTooLarge          = &Error{Code: "too_large"}          // 413
	ErrUnsupportedMedia  = &Error{Code: "unsupported_media"}  // 415
	ErrRateLimited       = &Error{Code: "rate_limited"}       // 429
	ErrUnavailable       = &Error{Code: "unavailable"}        // 503
	ErrUpstream          = &Error{Code: "upstream_error"}     // 502: a deployment this one relies on failed
	ErrInternal          = &Error{Code: "internal"}           // 500
)

// codeByStatus is the code given to an error answer without a JSON body
// (a proxy's 502 page, say), so that errors.Is still works on it.
var codeByStatus = map[int]string{
	http.StatusBadRequest:            "invalid_request",
	http.StatusUnauthorized:          "unauthorized",
	http.StatusForbidden:             "forbidden",
	http.StatusNotFound:              "not_found",
	http.StatusMethodNotAllowed:      "method_not_allowed",
	http.StatusConflict:              "conflict",
	http.StatusRequestEntityTooLarge: "too_large",
	http.StatusUnsupportedMediaType:  "unsupported_media",
	http.StatusTooManyRequests:       "rate_limited",
	http.StatusBadGateway:            "upstream_error",
	http.StatusServiceUnavailable:    "unavailable",
	http.StatusGatewayTimeout:        "unavailable",
}

// maxErrorBody bounds how much of an error answer is read.
const maxErrorBody = 64 << 10

// errorFrom builds the *Error of a non-2xx answer from its (bounded) body.
func errorFrom(resp *http.Response, body []byte) *Error {
	e := &Error{Status: resp.StatusCode}
	var b errorBody
	if json.Unmarshal(body, &b) == nil && b.Error.Code != "" {
		e.Code, e.Message, e.Field = b.Error.Code, b.Error.Message, b.Error.Field
	} else {
		e.Code = codeByStatus[resp.StatusCode]
		if e.Code == "" {
			e.Code = "internal"
			if resp.StatusCode < 500 {
				e.Code = "invalid_request"
			}
		}
		e.Message = http.StatusText(resp.StatusCode)
	}
	if s, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && s > 0 {
		e.RetryAfter = time.Duration(s) * time.Second
	}
	return e
}

// unexpectedStatus is the error of a 2xx or 3xx answer the call did not expect.
func unexpectedStatus(op string, status int) error {
	return fmt.Errorf("sigil: %s: unexpected status %d", op, status)
}

// errorBody is sigil's error answer (the Error schema).
type errorBody struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
		Field   string `json:"field"`
	} `json:"error"`
}
