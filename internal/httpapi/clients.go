package httpapi

import (
	"errors"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/sigil-dev/sigil/internal/clients"
)

// createClientRequest is the body of POST /api/clients. It is a defined type,
// not an embedding, so that JSON errors name the field ("id"), not a Go path.
type createClientRequest clients.NewClient

// Validate is done by the clients service, which owns the rules; the
// decoder only needs the method.
func (r *createClientRequest) Validate() error { return nil }

// clientView is a client as the API shows it: never the secret hash.
type clientView struct {
	ID             string    `json:"id"`
	Name           string    `json:"name"`
	Role           string    `json:"role"`
	Resources      []string  `json:"resources"`
	Scopes         []string  `json:"scopes"`
	MaxTokenExpiry int64     `json:"maxTokenExpiry"`
	CreatedAt      time.Time `json:"createdAt"`
	// Secret is present only in the response that creates or rotates it.
	Secret string `json:"secret,omitempty"`
}

func viewClient(c clients.Client, secret string) clientView {
	return clientView{
		ID: c.ID, Name: c.Name, Role: c.Role, Resources: c.Resources, Scopes: c.Scopes,
		MaxTokenExpiry: c.MaxTokenExpiry, CreatedAt: c.CreatedAt, Secret: secret,
	}
}

func (s *Server) createClient(c echo.Context) error {
	var req createClientRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	cl, secret, err := s.cfg.Clients.Create(c.Request().Context(), clients.NewClient(req))
	if err != nil {
		return err
	}
	noStore(c)
	return c.JSON(http.StatusCreated, viewClient(cl, secret))
}

func (s *Server) listClients(c echo.Context) error {
	list, err := s.cfg.Clients.List(c.Request().Context())
	if err != nil {
		return err
	}
	views := make([]clientView, 0, len(list))
	for _, cl := range list {
		views = append(views, viewClient(cl, ""))
	}
	return c.JSON(http.StatusOK, map[string]any{"clients": views})
}

func (s *Server) getClient(c echo.Context) error {
	cl, err := s.cfg.Clients.Get(c.Request().Context(), c.Param("id"))
	if err != nil {
		return clientErr(err)
	}
	return c.JSON(http.StatusOK, viewClient(cl, ""))
}

// deleteClient answers DELETE /api/clients/{id}: the client goes, and so
// does every token it minted (embed.Service.DeleteClient).
func (s *Server) deleteClient(c echo.Context) error {
	if err := s.cfg.Tokens.DeleteClient(c.Request().Context(), registryCaller(c), c.Param("id")); err != nil {
		return clientErr(err)
	}
	return c.NoContent(http.StatusNoContent)
}

func (s *Server) rotateClientSecret(c echo.Context) error {
	cl, secret, err := s.cfg.Clients.RotateSecret(c.Request().Context(), c.Param("id"))
	if err != nil {
		return clientErr(err)
	}
	noStore(c)
	return c.JSON(http.StatusOK, viewClient(cl, secret))
}

func clientErr(err error) error {
	if errors.Is(err, clients.ErrNotFound) {
		return notFound("no such client")
	}
	return err
}
