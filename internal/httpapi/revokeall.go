package httpapi

import (
	"context"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/sigil-dev/sigil/internal/apperr"
	"github.com/sigil-dev/sigil/internal/clients"
	"github.com/sigil-dev/sigil/internal/registry"
	"github.com/sigil-dev/sigil/internal/revocation"
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
		if !resourceIDPattern.MatchString(f.val) {
			return apperr.Invalid(f.name, "must be 1-128 characters of A-Z a-z 0-9 . _ : - starting with a letter or digit")
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
// resource or client issued until now is rejected from now on. An issuer
// acts within its own resources and on the tokens it minted: its sub,
// report and app cutoffs cover only tokens it minted (client_id), and it
// may cut off only its own client id.
func (s *Server) revokeAll(c echo.Context) error {
	var req revokeAllRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	who := caller(c)
	admin := who.Role == clients.RoleAdmin
	var cut revocation.Cutoff
	switch {
	case req.Sub != "" && admin:
		cut = revocation.Cutoff{Dim: revocation.DimSubject, ID: req.Sub}
	case req.Sub != "":
		cut = revocation.ClientSubject(who.ID, req.Sub)
	case req.ClientID != "":
		if !admin && req.ClientID != who.ID {
			return apperr.Invalid("clientId", "an issuer may revoke only its own client's tokens")
		}
		cut = revocation.Cutoff{Dim: revocation.DimClient, ID: req.ClientID}
	case req.DashboardID != "":
		cut = revocation.Cutoff{Dim: revocation.DimDashboard, ID: req.DashboardID}
	case req.AppID != "":
		cut = revocation.Cutoff{Dim: revocation.DimApp, ID: req.AppID}
	default:
		cut = revocation.Cutoff{Dim: revocation.DimReport, ID: req.ReportID}
	}
	res := cut
	if cut.Dim == revocation.DimDashboard || cut.Dim == revocation.DimApp || cut.Dim == revocation.DimReport {
		if !who.Allows(cut.Key()) {
			return notFound("no such resource for this client")
		}
		if !admin && cut.Dim != revocation.DimDashboard {
			// Report and app tokens are registered, each managed by the
			// client that created it: an issuer's cutoff covers its own
			// (client_id), so tenants whose patterns overlap (report:* on a
			// shared cloud) cannot cut each other's off. Embed tokens are
			// minted with the dashboard's own credential, whichever issuer
			// manages it: a dashboard cutoff stays whole.
			cut = revocation.ClientResource(who.ID, cut)
		}
	}
	at, err := s.cfg.Revoker.RevokeAll(c.Request().Context(), cut)
	if err != nil {
		return err
	}
	if err := s.revokeCoveredRecords(c.Request().Context(), who, req, at); err != nil {
		return err
	}
	dim, id := cut.Dim, cut.ID
	switch cut.Dim {
	case revocation.DimClientSubject:
		id = req.Sub
	case revocation.DimClientResource:
		dim, id = res.Dim, res.ID // as asked; the scope is the caller's tokens
	}
	return c.JSON(http.StatusOK, revokeAllResponse{Dimension: dim, ID: id, RevokedBefore: at})
}

// revokeCoveredRecords has the registered tokens that the cutoff asked
// for rejects say so in their records and logs (DESIGN §10): the cutoff
// already refuses their JWTs. An issuer's cutoff covers the records it
// created, as the cutoff itself covers the tokens it minted. Embed tokens
// have no records, so a dashboard cutoff has none to mark.
func (s *Server) revokeCoveredRecords(ctx context.Context, who clients.Client, req revokeAllRequest, at time.Time) error {
	if s.cfg.Registry == nil || req.DashboardID != "" {
		return nil
	}
	cov := registry.Covered{Owner: req.Sub, ReportID: req.ReportID, AppID: req.AppID, CreatedBy: req.ClientID}
	if who.Role != clients.RoleAdmin {
		cov.CreatedBy = who.ID
	}
	_, err := s.cfg.Registry.RevokeCovered(ctx, who.ID, cov, at)
	return err
}
