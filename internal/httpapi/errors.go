package httpapi

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"strconv"

	"github.com/labstack/echo/v4"

	"github.com/sigil-dev/sigil/internal/apperr"
	"github.com/sigil-dev/sigil/internal/policy"
	"github.com/sigil-dev/sigil/internal/token"
)

// errorBody is the JSON shape of every error: {"error": {"code","message","field"?}}.
type errorBody struct {
	Error errorDetail `json:"error"`
}

type errorDetail struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Field   string `json:"field,omitempty"`
}

var statusByCode = map[string]int{
	apperr.CodeInvalid:           http.StatusBadRequest,
	apperr.CodeInvalidToken:      http.StatusUnauthorized,
	apperr.CodeTokenRequired:     http.StatusUnauthorized,
	apperr.CodeUnauthorized:      http.StatusUnauthorized,
	apperr.CodeForbidden:         http.StatusForbidden,
	apperr.CodeInsufficientScope: http.StatusForbidden,
	apperr.CodeReadOnly:          http.StatusForbidden,
	apperr.CodeNotFound:          http.StatusNotFound,
	apperr.CodeMethodNotAllowed:  http.StatusMethodNotAllowed,
	apperr.CodeConflict:          http.StatusConflict,
	apperr.CodeTooLarge:          http.StatusRequestEntityTooLarge,
	apperr.CodeUnsupportedMedia:  http.StatusUnsupportedMediaType,
	apperr.CodeRateLimited:       http.StatusTooManyRequests,
	apperr.CodeUnavailable:       http.StatusServiceUnavailable,
	apperr.CodeUpstream:          http.StatusBadGateway,
	apperr.CodeInternal:          http.StatusInternalServerError,
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

// toAppError turns any error a handler returns into the public error it stands for.
func toAppError(err error) *apperr.Error {
	if e, ok := apperr.As(err); ok {
		return e
	}
	if d, ok := policy.IsDenied(err); ok {
		return policyError(d)
	}
	if errors.Is(err, token.ErrInvalidToken) {
		msg, ok := tokenMessages[token.Reason(err)]
		if !ok {
			msg = "the token is invalid"
		}
		return apperr.Wrap(apperr.CodeInvalidToken, msg, err)
	}
	if errors.Is(err, apperr.ErrStoreUnavailable) || errors.Is(err, context.DeadlineExceeded) {
		return apperr.Wrap(apperr.CodeUnavailable, "the store is unavailable, retry later", err)
	}
	var maxBytes *http.MaxBytesError
	if errors.As(err, &maxBytes) {
		return apperr.Wrap(apperr.CodeTooLarge, fmt.Sprintf("the request body is over %d bytes", maxBytes.Limit), err)
	}
	var he *echo.HTTPError
	if errors.As(err, &he) {
		switch he.Code {
		case http.StatusNotFound:
			return apperr.Wrap(apperr.CodeNotFound, "no such resource", err)
		case http.StatusMethodNotAllowed:
			return apperr.Wrap(apperr.CodeMethodNotAllowed, "method not allowed on this resource", err)
		case http.StatusRequestEntityTooLarge:
			return apperr.Wrap(apperr.CodeTooLarge, "the request is too large", err)
		case http.StatusUnsupportedMediaType:
			return apperr.Wrap(apperr.CodeUnsupportedMedia, "unsupported content type", err)
		}
		if he.Code >= 400 && he.Code < 500 {
			return apperr.Wrap(apperr.CodeInvalid, http.StatusText(he.Code), err)
		}
	}
	return apperr.Wrap(apperr.CodeInternal, "internal error", err)
}

// errorHandler is echo's HTTPErrorHandler: the one place errors become responses.
func (s *Server) errorHandler(err error, c echo.Context) {
	if c.Response().Committed {
		return
	}
	e := toAppError(err)
	status, ok := statusByCode[e.Code]
	if !ok {
		status = http.StatusInternalServerError
	}
	h := c.Response().Header()
	h.Set("Cache-Control", "no-store")
	switch e.Code {
	case apperr.CodeInvalidToken:
		h.Set("WWW-Authenticate", fmt.Sprintf(`Bearer realm="sigil", error="invalid_token", error_description=%q`, e.Message))
	case apperr.CodeTokenRequired:
		h.Set("WWW-Authenticate", `Bearer realm="sigil"`)
	case apperr.CodeInsufficientScope:
		if d, ok := policy.IsDenied(err); ok {
			h.Set("WWW-Authenticate", insufficientScopeChallenge(d.Scope))
		}
	case apperr.CodeUnauthorized:
		h.Set("WWW-Authenticate", `Basic realm="sigil"`)
	case apperr.CodeUnavailable, apperr.CodeRateLimited:
		if e.RetryAfter > 0 {
			h.Set("Retry-After", strconv.FormatInt(max(int64(math.Ceil(e.RetryAfter.Seconds())), 1), 10))
		} else if h.Get("Retry-After") == "" {
			h.Set("Retry-After", strconv.Itoa(int(math.Ceil(s.cfg.RetryAfter.Seconds()))))
		}
	}
	level := slog.LevelDebug
	if status >= 500 {
		level = slog.LevelError
	}
	s.log.LogAttrs(c.Request().Context(), level, "request failed",
		slog.String("request_id", requestID(c)), slog.String("route", s.routeLabel(c)),
		slog.Int("status", status), slog.String("code", e.Code), slog.String("err", e.Error()))
	if status == http.StatusInternalServerError {
		e = apperr.New(apperr.CodeInternal, "internal error")
	}
	body := errorBody{Error: errorDetail{Code: e.Code, Message: e.Message, Field: e.Field}}
	if c.Request().Method == http.MethodHead {
		_ = c.NoContent(status)
		return
	}
	if werr := c.JSON(status, body); werr != nil {
		s.log.Warn("write error response", slog.String("err", werr.Error()))
	}
}

func unauthorized(msg string) *apperr.Error { return apperr.New(apperr.CodeUnauthorized, msg) }
func forbidden(msg string) *apperr.Error    { return apperr.New(apperr.CodeForbidden, msg) }
func notFound(msg string) *apperr.Error     { return apperr.New(apperr.CodeNotFound, msg) }
