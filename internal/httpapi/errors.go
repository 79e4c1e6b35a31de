package httpapi

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/sigil-dev/sigil/internal/apperr"
	"github.com/sigil-dev/sigil/internal/httperr"
	"github.com/sigil-dev/sigil/internal/policy"
)

// toAppError turns any error a handler returns into the public error it stands for.
func toAppError(err error) *apperr.Error {
	if e, ok := apperr.As(err); ok {
		return e
	}
	if d, ok := policy.IsDenied(err); ok {
		return httperr.Denied(d)
	}
	if e := httperr.Token(err); e != nil {
		return e
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
	status := httperr.Status(e.Code)
	httperr.SetHeaders(c.Response().Header(), e, s.cfg.RetryAfter)
	dropBasicChallenge(c)
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
	body := httperr.BodyOf(e)
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
