// Package apperr defines sigil's application error: a machine code, a public message and the offending field.
package apperr

import (
	"errors"
	"fmt"
	"time"
)

// Codes, each mapped to one HTTP status by the HTTP layer.
const (
	CodeInvalid           = "invalid_request"    // 400
	CodeInvalidToken      = "invalid_token"      // 401
	CodeTokenRequired     = "token_required"     // 401, no token presented (RFC 6750 §3.1: no error attribute)
	CodeUnauthorized      = "unauthorized"       // 401 (client authentication)
	CodeForbidden         = "forbidden"          // 403
	CodeInsufficientScope = "insufficient_scope" // 403
	CodeReadOnly          = "read_only"          // 403, a read-only token used with a writing method
	CodeNotFound          = "not_found"          // 404
	CodeMethodNotAllowed  = "method_not_allowed" // 405
	CodeConflict          = "conflict"           // 409
	CodeTooLarge          = "too_large"          // 413
	CodeUnsupportedMedia  = "unsupported_media"  // 415
	CodeRateLimited       = "rate_limited"       // 429
	CodeUnavailable       = "unavailable"        // 503
	CodeUpstream          = "upstream_error"     // 502, a deployment this one relies on (the cloud) refused or failed
	CodeInternal          = "internal"           // 500
)

// ErrStoreUnavailable marks a failure of the backing store (Redis down, a
// timeout). Stores wrap it; the HTTP layer answers 503 + Retry-After.
var ErrStoreUnavailable = errors.New("store unavailable")

// Error is an error safe to show a client: Message and Field are public,
// Err is the internal cause and only ever logged.
type Error struct {
	Code    string
	Message string
	Field   string
	// RetryAfter, when positive, tells the client when to try again
	// (Retry-After on a 429 or 503).
	RetryAfter time.Duration
	Err        error
}

func (e *Error) Error() string {
	s := e.Code + ": " + e.Message
	if e.Field != "" {
		s += " (field " + e.Field + ")"
	}
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

func (e *Error) Unwrap() error { return e.Err }

// New returns an Error with code and message.
func New(code, message string) *Error { return &Error{Code: code, Message: message} }

// Invalid returns a 400-class error naming field.
func Invalid(field, format string, args ...any) *Error {
	return &Error{Code: CodeInvalid, Field: field, Message: fmt.Sprintf(format, args...)}
}

// Wrap returns an Error with code and message that wraps cause.
func Wrap(code, message string, cause error) *Error {
	return &Error{Code: code, Message: message, Err: cause}
}

// As returns the first *Error in err's chain, if any.
func As(err error) (*Error, bool) {
	var e *Error
	if errors.As(err, &e) {
		return e, true
	}
	return nil, false
}
