package httpapi

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"unicode"

	"github.com/labstack/echo/v4"

	"github.com/sigil-dev/sigil/internal/apperr"
	"github.com/sigil-dev/sigil/internal/cloud"
	"github.com/sigil-dev/sigil/internal/registry"
)

// Cloud is the cloud deployment report tokens are published to (DESIGN §7,
// "Cloud"); *cloud.Publisher satisfies it. Each method is bounded by the
// configured cloud timeout; errors are *apperr.Error values: unavailable
// (503) when the cloud can't be reached in time, upstream_error (502) when
// it refuses, not_found for a token it does not have or this deployment did
// not publish.
type Cloud interface {
	// Publish returns the published cloud token of reportID, creating it
	// (created true) when there is none, or giving it a new JWT when rotate.
	Publish(ctx context.Context, reportID string, rotate bool) (rec registry.Record, created bool, err error)
	// ReportTokens lists the published cloud tokens of reportID.
	ReportTokens(ctx context.Context, reportID string) ([]registry.Record, error)
	// Get returns one published cloud token.
	Get(ctx context.Context, id string) (registry.Record, error)
	// Delete revokes and deletes a published cloud token.
	Delete(ctx context.Context, id string) error
}

var _ Cloud = (*cloud.Publisher)(nil)

// Warning codes of GET /api/reports/{id}/tokens.
const (
	WarnCloudUnavailable = "cloud_unavailable"
	WarnCloudError       = "cloud_error"
)

// cloudPublish answers POST /api/reports/{id}/_cloud-publish: the report's
// token on the cloud deployment, created (201) or existing (200), or with a
// new JWT with ?rotate=true (200). Nothing is recorded locally.
func (s *Server) cloudPublish(c echo.Context) error {
	id, err := pathParam(c, "id")
	if err != nil {
		return err
	}
	q, err := queryParams(c, "rotate")
	if err != nil {
		return err
	}
	rotate := false
	switch q.Get("rotate") {
	case "", "false":
	case "true":
		rotate = true
	default:
		return apperr.Invalid("rotate", "must be true or false")
	}
	if err := s.checkReportAccess(c, id); err != nil {
		return err
	}
	if s.cfg.Cloud == nil {
		return notFound("cloud publishing is not configured on this deployment (cloud.url)")
	}
	rec, created, err := s.cfg.Cloud.Publish(c.Request().Context(), id, rotate)
	if err != nil {
		return err
	}
	noStore(c)
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	return c.JSON(status, cloudView(rec))
}

// checkReportAccess answers 404 unless the caller may act on the report,
// and 400 for a report id the registry would not take.
func (s *Server) checkReportAccess(c echo.Context, reportID string) error {
	if reportID == "" || len(reportID) > registry.MaxIDLen {
		return apperr.Invalid("id", "must be 1-%d characters", registry.MaxIDLen)
	}
	if !s.allowsReport(c, reportID) {
		return notFound("token not found")
	}
	return nil
}

// allowsReport reports whether the caller may act on the report.
func (s *Server) allowsReport(c echo.Context, reportID string) bool {
	return registryCaller(c).Admin || caller(c).Allows("report:"+reportID)
}

// cloudView is a cloud record as the API shows it: its url, no JWT field.
func cloudView(r registry.Record) tokenView {
	return generatedView(r, "")
}

// cloudReportTokens fetches the cloud's tokens of a report for the merged
// listing, for a caller allowed the report; on failure the listing goes on
// with a warning instead. It runs beside the local listing, so it takes
// what it needs of the request rather than the echo.Context.
func (s *Server) cloudReportTokens(ctx context.Context, reqID string, allowed bool, reportID string) ([]tokenView, *listWarning) {
	if s.cfg.Cloud == nil || !allowed {
		return nil, nil
	}
	rs, err := s.cfg.Cloud.ReportTokens(ctx, reportID)
	if err != nil {
		s.log.LogAttrs(ctx, slog.LevelWarn, "cloud: report listing failed; answering local tokens only",
			slog.String("request_id", reqID), slog.String("err", err.Error()))
		w := &listWarning{Code: WarnCloudError, Message: "the cloud deployment refused the listing; cloud tokens are missing"}
		if e, ok := apperr.As(err); ok && e.Code == apperr.CodeUnavailable {
			w = &listWarning{Code: WarnCloudUnavailable, Message: "the cloud deployment did not answer in time; cloud tokens are missing"}
		}
		return nil, w
	}
	views := make([]tokenView, 0, len(rs))
	for _, r := range rs {
		views = append(views, cloudView(r))
	}
	return views, nil
}

// deleteCloudToken revokes a published cloud token through DELETE
// /api/tokens/{id} when no local record has that id: the caller must be
// allowed the token's report, as for a local one.
func (s *Server) deleteCloudToken(c echo.Context, id string) error {
	ctx := c.Request().Context()
	rec, err := s.cfg.Cloud.Get(ctx, id)
	if err != nil {
		return err
	}
	if !registryCaller(c).Admin && !caller(c).Allows(rec.Resource()) {
		return notFound("token not found")
	}
	return s.cfg.Cloud.Delete(ctx, id)
}

// couldBeCloudID reports whether id may be a record id of the cloud (one
// the registry could have made): other ids are not sent there.
func couldBeCloudID(id string) bool {
	return id != "" && len(id) <= registry.MaxIDLen && strings.IndexFunc(id, unicode.IsControl) < 0
}

// isNotFound reports whether err is the registry's not-found.
func isNotFound(err error) bool {
	if errors.Is(err, registry.ErrNotFound) {
		return true
	}
	e, ok := apperr.As(err)
	return ok && e.Code == apperr.CodeNotFound
}
