package httpapi

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"regexp"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/sigil-dev/sigil/internal/apperr"
	"github.com/sigil-dev/sigil/internal/notify"
	"github.com/sigil-dev/sigil/internal/notify/webhook"
)

// Webhooks manages webhook endpoints; *webhook.Service satisfies it.
// Invalid input is an *apperr.Error naming the field; a missing endpoint
// wraps webhook.ErrNotFound.
type Webhooks interface {
	// Create returns the endpoint and its secret, shown this once.
	Create(ctx context.Context, url string, events []string) (webhook.Endpoint, string, error)
	List(ctx context.Context) ([]webhook.Endpoint, error)
	Get(ctx context.Context, id string) (webhook.Endpoint, error)
	Delete(ctx context.Context, id string) error
	// RotateSecret returns the endpoint and its new secret, shown this once.
	RotateSecret(ctx context.Context, id string) (webhook.Endpoint, string, error)
}

// DeadLetters lists, retries and deletes the notifications that ran out
// of attempts; notify.Outbox satisfies it.
type DeadLetters interface {
	DeadLetters(ctx context.Context, limit int, cursor string) ([]notify.Delivery, string, error)
	Revive(ctx context.Context, id string, now time.Time) (notify.Delivery, error)
	DeleteDead(ctx context.Context, id string) error
}

var (
	_ Webhooks    = (*webhook.Service)(nil)
	_ DeadLetters = notify.Outbox(nil)
)

// notifyRoutes registers the admin API of notifications (#15).
func (s *Server) notifyRoutes() {
	if s.cfg.Webhooks != nil {
		g := s.echo.Group("/api/webhooks", s.requireClient, s.requireAdmin)
		g.POST("", s.createWebhook)
		g.GET("", s.listWebhooks)
		g.GET("/:id", s.getWebhook)
		g.DELETE("/:id", s.deleteWebhook)
		g.POST("/:id/_rotate-secret", s.rotateWebhookSecret, noBody)
	}
	if s.cfg.DeadLetters != nil {
		g := s.echo.Group("/api/notifications/dead-letters", s.requireClient, s.requireAdmin)
		g.GET("", s.listDeadLetters)
		g.POST("/:id/_retry", s.retryDeadLetter, noBody)
		g.DELETE("/:id", s.deleteDeadLetter)
	}
}

// createWebhookRequest is the body of POST /api/webhooks.
type createWebhookRequest struct {
	URL    string   `json:"url"`
	Events []string `json:"events"`
}

// Validate leaves the rules to the webhook service (which resolves the host).
func (r *createWebhookRequest) Validate() error {
	if len(r.Events) > 2*len(notify.Types) {
		return apperr.Invalid("events", "at most %d event types", len(notify.Types))
	}
	return nil
}

// webhookView is an endpoint as the API shows it: never a stored secret.
type webhookView struct {
	ID        string    `json:"id"`
	URL       string    `json:"url"`
	Events    []string  `json:"events"`
	CreatedAt time.Time `json:"createdAt"`
	// PreviousSecretUntil is when a rotated-out secret stops signing.
	PreviousSecretUntil *time.Time `json:"previousSecretUntil,omitempty"`
	// Secret is present only in the answer that creates or rotates it.
	Secret string `json:"secret,omitempty"`
}

func viewWebhook(e webhook.Endpoint, secret string) webhookView {
	v := webhookView{ID: e.ID, URL: e.URL, Events: e.Events, CreatedAt: e.CreatedAt, Secret: secret}
	for _, s := range e.Secrets[min(1, len(e.Secrets)):] {
		if s.ExpiresAt != nil {
			v.PreviousSecretUntil = s.ExpiresAt
		}
	}
	return v
}

func webhookErr(err error) error {
	if errors.Is(err, webhook.ErrNotFound) {
		return notFound("no such webhook endpoint")
	}
	return err
}

func (s *Server) createWebhook(c echo.Context) error {
	var req createWebhookRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	ep, secret, err := s.cfg.Webhooks.Create(c.Request().Context(), req.URL, req.Events)
	if err != nil {
		return err
	}
	noStore(c)
	return c.JSON(http.StatusCreated, viewWebhook(ep, secret))
}

func (s *Server) listWebhooks(c echo.Context) error {
	if _, err := queryParams(c); err != nil {
		return err
	}
	all, err := s.cfg.Webhooks.List(c.Request().Context())
	if err != nil {
		return err
	}
	views := make([]webhookView, 0, len(all))
	for _, e := range all {
		views = append(views, viewWebhook(e, ""))
	}
	return c.JSON(http.StatusOK, map[string]any{"webhooks": views})
}

func (s *Server) getWebhook(c echo.Context) error {
	ep, err := s.cfg.Webhooks.Get(c.Request().Context(), c.Param("id"))
	if err != nil {
		return webhookErr(err)
	}
	return c.JSON(http.StatusOK, viewWebhook(ep, ""))
}

func (s *Server) deleteWebhook(c echo.Context) error {
	if err := s.cfg.Webhooks.Delete(c.Request().Context(), c.Param("id")); err != nil {
		return webhookErr(err)
	}
	return c.NoContent(http.StatusNoContent)
}

func (s *Server) rotateWebhookSecret(c echo.Context) error {
	ep, secret, err := s.cfg.Webhooks.RotateSecret(c.Request().Context(), c.Param("id"))
	if err != nil {
		return webhookErr(err)
	}
	noStore(c)
	return c.JSON(http.StatusOK, viewWebhook(ep, secret))
}

// deadLetterView is a dead letter as the API shows it.
type deadLetterView struct {
	ID string `json:"id"`
	// Channel is "email" or "webhook"; Destination names the endpoint
	// ("email", "webhook:<id>").
	Channel     string       `json:"channel"`
	Destination string       `json:"destination"`
	Event       notify.Event `json:"event"`
	Attempts    int          `json:"attempts"`
	LastError   string       `json:"lastError,omitempty"`
	DeadAt      *time.Time   `json:"deadAt,omitempty"`
}

func viewDeadLetter(d notify.Delivery) deadLetterView {
	v := deadLetterView{ID: d.ID, Channel: notify.ChannelLabel(d.Dest), Destination: d.Dest, Event: d.Event,
		Attempts: d.Attempts, LastError: d.LastError}
	if !d.DeadAt.IsZero() {
		v.DeadAt = &d.DeadAt
	}
	return v
}

// deadLetterID is the shape of a delivery id: <event id>~<destination>.
var deadLetterID = regexp.MustCompile(`^[A-Za-z0-9._:-]{1,160}~[A-Za-z0-9._:-]{1,160}$`)

// deadLetterParam reads the {id} of a dead-letter route; an id no dead
// letter can have is not looked up.
func deadLetterParam(c echo.Context) (string, error) {
	id, err := url.PathUnescape(c.Param("id"))
	if err != nil || !deadLetterID.MatchString(id) {
		return "", notFound("no such dead letter")
	}
	return id, nil
}

func deadLetterErr(err error) error {
	switch {
	case errors.Is(err, notify.ErrNotFound):
		return notFound("no such dead letter")
	case errors.Is(err, notify.ErrBadCursor):
		return &apperr.Error{Code: apperr.CodeInvalid, Field: "cursor", Message: "invalid cursor", Err: err}
	}
	return err
}

func (s *Server) listDeadLetters(c echo.Context) error {
	q, err := queryParams(c, "limit", "cursor")
	if err != nil {
		return err
	}
	limit, cursor, err := pageParams(q)
	if err != nil {
		return err
	}
	if limit == 0 {
		limit = 50
	}
	list, next, err := s.cfg.DeadLetters.DeadLetters(c.Request().Context(), limit, cursor)
	if err != nil {
		return deadLetterErr(err)
	}
	views := make([]deadLetterView, 0, len(list))
	for _, d := range list {
		views = append(views, viewDeadLetter(d))
	}
	return c.JSON(http.StatusOK, map[string]any{"deadLetters": views, "next": next})
}

func (s *Server) retryDeadLetter(c echo.Context) error {
	id, err := deadLetterParam(c)
	if err != nil {
		return err
	}
	d, err := s.cfg.DeadLetters.Revive(c.Request().Context(), id, s.cfg.Now())
	if err != nil {
		return deadLetterErr(err)
	}
	return c.JSON(http.StatusAccepted, viewDeadLetter(d))
}

func (s *Server) deleteDeadLetter(c echo.Context) error {
	id, err := deadLetterParam(c)
	if err != nil {
		return err
	}
	if err := s.cfg.DeadLetters.DeleteDead(c.Request().Context(), id); err != nil {
		return deadLetterErr(err)
	}
	return c.NoContent(http.StatusNoContent)
}
