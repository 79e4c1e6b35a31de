package httpapi

import (
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/sigil-dev/sigil/internal/apperr"
	"github.com/sigil-dev/sigil/internal/embed"
	"github.com/sigil-dev/sigil/internal/ident"
)

// revokeAllRequest is the body of POST /api/v1/revoke-all: exactly one of its fields.
type revokeAllRequest struct {
	Sub         string `json:"sub"`
	DashboardID string `json:"dashboardId"`
	AppID       string `json:"appId"`
	ReportID    string `json:"reportId"`
	ClientID    string `json:"clientId"`
}

// Validate requires exactly one well-formed field.
func (r *revokeAllRequest) Validate() error {
	set := 0
	for _, f := range []struct{ name, val string }{
		{"sub", r.Sub}, {"dashboardId", r.DashboardID}, {"appId", r.AppID}, {"reportId", r.ReportID}, {"clientId", r.ClientID},
	} {
		if f.val == "" {
			continue
		}
		set++
		if f.name == "sub" {
			if err := validSubject(f.val); err != nil {
				return err
			}
			continue
		}
		if !ident.Valid(f.val) {
			return apperr.Invalid(f.name, ident.Rule)
		}
	}
	if set != 1 {
		return apperr.Invalid("", "exactly one of sub, dashboardId, appId, reportId, clientId is required")
	}
	return nil
}

type revokeAllResponse struct {
	Dimension     string    `json:"dimension"`
	ID            string    `json:"id"`
	RevokedBefore time.Time `json:"revokedBefore"`
}

// revokeAll answers POST /api/v1/revoke-all: every token of a subject,
// resource or client issued until now is rejected from now on, within the
// caller's reach (embed.Service.RevokeAll).
func (s *Server) revokeAll(c echo.Context) error {
	var req revokeAllRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	res, err := s.cfg.Tokens.RevokeAll(c.Request().Context(), registryCaller(c), embed.CutoffRequest{
		Subject: req.Sub, DashboardID: req.DashboardID, AppID: req.AppID, ReportID: req.ReportID, ClientID: req.ClientID,
	})
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, revokeAllResponse{Dimension: res.Dimension, ID: res.ID, RevokedBefore: res.RevokedBefore})
}
