package httpapi

import (
	"errors"
	"net/http"
	"net/url"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/sigil-dev/sigil/internal/embed"
	"github.com/sigil-dev/sigil/internal/token"
)

// Placeholders of the viewer URL template (view.url_template).
const (
	ViewReportIDPlaceholder = "{reportId}"
	ViewTokenPlaceholder    = "{token}"
)

// ExpandViewURL fills the viewer URL template: {reportId} path-escaped,
// {token} query-escaped.
func ExpandViewURL(template, reportID, tok string) string {
	return strings.NewReplacer(
		ViewReportIDPlaceholder, url.PathEscape(reportID),
		ViewTokenPlaceholder, url.QueryEscape(tok),
	).Replace(template)
}

// ReasonPolicy is the verification outcome (Observer.Verified) of a genuine,
// live token used where its kind, resource, method or scopes do not allow.
const ReasonPolicy = "policy"

// expiredPage is what a browser sees for a link that does not verify: no
// detail, no token, nothing to retry.
const expiredPage = `<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><meta name="robots" content="noindex"><title>Session expired</title></head>
<body>
<h1>Session expired</h1>
<p>Session expired — this link has expired or is invalid.</p>
</body>
</html>
`

// view answers GET /view/{token}, the iframe entry of report tokens: a
// genuine, live report token is redirected (302) to the viewer; anything
// else (embed.Service.View refuses it) gets a small HTML page, 401. A store
// outage stays a 503.
func (s *Server) view(c echo.Context) error {
	raw := c.Param("token")
	h := c.Response().Header()
	noStore(c)
	// The token is in this URL and in the viewer's: never hand it on in a Referer.
	h.Set("Referrer-Policy", "no-referrer")
	// The token is the path: another one beside it is a second credential (RFC 6750 §2).
	bearer, err := bearerToken(c)
	if err != nil {
		return err
	}
	if bearer != "" || hasAuthorization(c) || queryTokens(c) > 0 {
		return oneCredential("token", "a token in the path and another in the Authorization header or ?token=")
	}
	claims, err := s.cfg.Tokens.View(c.Request().Context(), raw)
	refused := errors.Is(err, embed.ErrNotViewable)
	reason := token.Reason(err)
	if refused {
		reason = ReasonPolicy
	}
	s.cfg.Observer.Verified(reason)
	switch {
	case err == nil:
		s.recordUse(claims)
		return c.Redirect(http.StatusFound, ExpandViewURL(s.cfg.ViewURLTemplate, claims.ReportID, raw))
	case refused || errors.Is(err, token.ErrInvalidToken):
		s.recordRejected(err)
		h.Set("Content-Type", "text/html; charset=utf-8")
		h.Set("X-Content-Type-Options", "nosniff")
		if c.Request().Method == http.MethodHead {
			return c.NoContent(http.StatusUnauthorized)
		}
		return c.HTML(http.StatusUnauthorized, expiredPage)
	}
	return err
}
