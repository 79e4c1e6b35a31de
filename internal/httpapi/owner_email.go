package httpapi

import (
	"context"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/sigil-dev/sigil/internal/apperr"
	"github.com/sigil-dev/sigil/internal/registry"
)

// OwnerEmails manages owners' email addresses, the recipients of
// notifications; *registry.Service satisfies it. Only an admin or a client
// that may act for the owner (api:<owner>) may: a forbidden error naming
// owner otherwise.
type OwnerEmails interface {
	SetOwnerEmail(ctx context.Context, caller registry.Caller, owner, email string) (string, error)
	OwnerEmail(ctx context.Context, caller registry.Caller, owner string) (string, error)
	DeleteOwnerEmail(ctx context.Context, caller registry.Caller, owner string) error
}

var _ OwnerEmails = (*registry.Service)(nil)

// ownerEmailRoutes registers /api/owners/{owner}/email beside the role routes.
func (s *Server) ownerEmailRoutes() {
	e, auth := s.echo, s.requireClient
	e.PUT("/api/owners/:owner/email", s.putOwnerEmail, auth)
	e.GET("/api/owners/:owner/email", s.getOwnerEmail, auth)
	e.DELETE("/api/owners/:owner/email", s.deleteOwnerEmail, auth)
}

// ownerEmailRequest is the body of PUT /api/owners/{owner}/email.
type ownerEmailRequest struct {
	Email *string `json:"email"`
}

func (r *ownerEmailRequest) Validate() error {
	if r.Email == nil {
		return apperr.Invalid("email", "required")
	}
	return nil
}

// ownerEmailView is the answer of PUT and GET.
type ownerEmailView struct {
	Owner string `json:"owner"`
	Email string `json:"email"`
}

func (s *Server) ownerEmails() (OwnerEmails, error) {
	oe, ok := s.cfg.Registry.(OwnerEmails)
	if !ok {
		return nil, &apperr.Error{Code: apperr.CodeNotFound, Message: "owner email addresses are not available"}
	}
	return oe, nil
}

// putOwnerEmail answers PUT /api/owners/{owner}/email: 200 with the stored address.
func (s *Server) putOwnerEmail(c echo.Context) error {
	owner, err := pathParam(c, "owner")
	if err != nil {
		return err
	}
	var req ownerEmailRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	oe, err := s.ownerEmails()
	if err != nil {
		return err
	}
	email, err := oe.SetOwnerEmail(c.Request().Context(), registryCaller(c), owner, *req.Email)
	if err != nil {
		return registryError(err)
	}
	noStore(c)
	return c.JSON(http.StatusOK, ownerEmailView{Owner: owner, Email: email})
}

// getOwnerEmail answers GET /api/owners/{owner}/email: 404 when none is stored.
func (s *Server) getOwnerEmail(c echo.Context) error {
	owner, err := pathParam(c, "owner")
	if err != nil {
		return err
	}
	oe, err := s.ownerEmails()
	if err != nil {
		return err
	}
	email, err := oe.OwnerEmail(c.Request().Context(), registryCaller(c), owner)
	if err != nil {
		return registryError(err)
	}
	noStore(c)
	return c.JSON(http.StatusOK, ownerEmailView{Owner: owner, Email: email})
}

// deleteOwnerEmail answers DELETE /api/owners/{owner}/email: 204, also when none was stored.
func (s *Server) deleteOwnerEmail(c echo.Context) error {
	owner, err := pathParam(c, "owner")
	if err != nil {
		return err
	}
	oe, err := s.ownerEmails()
	if err != nil {
		return err
	}
	if err := oe.DeleteOwnerEmail(c.Request().Context(), registryCaller(c), owner); err != nil {
		return registryError(err)
	}
	return c.NoContent(http.StatusNoContent)
}
