package httpapi

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/sigil-dev/sigil/internal/apperr"
	"github.com/sigil-dev/sigil/internal/cloud"
	"github.com/sigil-dev/sigil/internal/registry"
)

// Reports applies the rules of a report's tokens across this deployment
// and the cloud deployment it publishes to (DESIGN §7, "Cloud"): who may
// publish, list and delete them, and whether publishing is on;
// *cloud.Service satisfies it. Its errors are *apperr.Error values or the
// registry's sentinels.
type Reports interface {
	// Publish returns the report's cloud token, existing, created (created
	// true) or with a new JWT when rotate; not found when publishing is off
	// or the caller may not act on the report.
	Publish(ctx context.Context, caller registry.Caller, reportID string, rotate bool) (rec registry.Record, created bool, err error)
	// ReportTokens lists the report's local and published tokens; a cloud
	// failure is reported in CloudErr, not as the error.
	ReportTokens(ctx context.Context, caller registry.Caller, reportID string) (cloud.ReportTokens, error)
	// Delete deletes a local record or, failing that, a published cloud token.
	Delete(ctx context.Context, caller registry.Caller, id string) error
}

var _ Reports = (*cloud.Service)(nil)

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
	rec, created, err := s.cfg.Reports.Publish(c.Request().Context(), registryCaller(c), id, rotate)
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

// cloudView is a cloud record as the API shows it: its url, no JWT field.
func cloudView(r registry.Record) tokenView {
	return generatedView(r, "")
}

// cloudWarning is the warning of a report listing whose cloud part failed
// (cloud.ReportTokens.CloudErr): cloud_unavailable when the cloud did not
// answer in time, cloud_error when it refused. The failure is logged.
func (s *Server) cloudWarning(c echo.Context, err error) *listWarning {
	if err == nil {
		return nil
	}
	s.log.LogAttrs(c.Request().Context(), slog.LevelWarn, "cloud: report listing failed; answering local tokens only",
		slog.String("request_id", requestID(c)), slog.String("err", err.Error()))
	if e, ok := apperr.As(err); ok && e.Code == apperr.CodeUnavailable {
		return &listWarning{Code: WarnCloudUnavailable, Message: "the cloud deployment did not answer in time; cloud tokens are missing"}
	}
	return &listWarning{Code: WarnCloudError, Message: "the cloud deployment refused the listing; cloud tokens are missing"}
}

// localReports is the Reports of a deployment that does not publish.
func localReports(reg Registry) Reports {
	svc, err := cloud.NewService(cloud.ServiceConfig{Local: reg})
	if err != nil {
		panic(fmt.Sprintf("httpapi: local reports: %v", err)) // reg is not nil
	}
	return svc
}
