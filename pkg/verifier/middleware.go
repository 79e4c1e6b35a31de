package verifier

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/sigil-dev/sigil/internal/token"
)

type ctxKey struct{}

// ClaimsFrom returns the claims the middleware verified for this request.
func ClaimsFrom(ctx context.Context) (*Claims, bool) {
	c, ok := ctx.Value(ctxKey{}).(*Claims)
	return c, ok
}

// EchoContextKey is where the Echo middleware stores the *Claims (c.Get).
const EchoContextKey = "sigil.claims"

// Middleware is net/http middleware: requests without a valid token
// (Authorization: Bearer, else ?token=) get 401 (503 if revocation could
// not be checked), and with Config.Policy a valid token used outside its
// binding gets 403; others reach next with the claims in their context
// (ClaimsFrom).
func (v *Verifier) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		claims, status, err := v.check(r)
		if err != nil {
			writeError(w, status, err)
			return
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), ctxKey{}, claims)))
	})
}

// Echo is the same middleware for echo v4: the claims are in
// c.Get(EchoContextKey) and in the request context.
func (v *Verifier) Echo() echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			claims, status, err := v.check(c.Request())
			if err != nil {
				writeError(c.Response(), status, err)
				return nil
			}
			c.Set(EchoContextKey, claims)
			c.SetRequest(c.Request().WithContext(context.WithValue(c.Request().Context(), ctxKey{}, claims)))
			return next(c)
		}
	}
}

func (v *Verifier) check(r *http.Request) (*Claims, int, error) {
	raw, err := requestToken(r)
	if err != nil {
		return nil, http.StatusBadRequest, err
	}
	if raw == "" {
		return nil, http.StatusUnauthorized, errMissing
	}
	claims, err := v.Verify(r.Context(), raw)
	switch {
	case err == nil:
	case errors.Is(err, ErrInvalidToken):
		return nil, http.StatusUnauthorized, err
	default:
		return nil, http.StatusServiceUnavailable, err
	}
	if v.policy != nil {
		uri := r.RequestURI
		if uri == "" {
			uri = r.URL.RequestURI()
		}
		if err := v.Authorize(claims, r.Method, uri, raw); err != nil {
			return nil, http.StatusForbidden, err
		}
	}
	return claims, http.StatusOK, nil
}

// requestToken is the Bearer token, else the ?token= query parameter (as
// sigil's forward-auth reads it: report links carry their token in the URL).
// As sigil does, it refuses (errTwoCredentials) a second credential: two
// Authorization headers, two token parameters, or both ways at once
// (RFC 6750 §2).
func requestToken(r *http.Request) (string, error) {
	hs := r.Header.Values("Authorization")
	if len(hs) > 1 {
		return "", errTwoCredentials
	}
	var bearer string
	if len(hs) == 1 {
		if scheme, raw, ok := strings.Cut(hs[0], " "); ok && strings.EqualFold(scheme, "Bearer") {
			bearer = strings.TrimSpace(raw)
		}
	}
	var q string
	n := 0
	if r.URL != nil {
		q, n = token.QueryToken(r.URL.RawQuery)
	}
	switch {
	case n > 1, n > 0 && bearer != "":
		return "", errTwoCredentials
	case bearer != "":
		return bearer, nil
	}
	return q, nil
}

var (
	errMissing        = errors.New("missing bearer token")
	errTwoCredentials = errors.New("more than one credential")
)

// writeError answers like sigil does: JSON error body, RFC 6750 header, no
// token text and no internal detail.
func writeError(w http.ResponseWriter, status int, err error) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	code, msg := "invalid_token", "the token is invalid ("+Reason(err)+")"
	var denied *Denied
	switch {
	case errors.As(err, &denied):
		code, msg = denied.Code, denied.Message
		if denied.Code == "insufficient_scope" {
			h.Set("WWW-Authenticate", fmt.Sprintf(`Bearer error="insufficient_scope", scope=%q`, denied.Scope))
		}
	case errors.Is(err, errTwoCredentials):
		code, msg = "invalid_request", "send one token per request, as an Authorization: Bearer header or as ?token=, never both (RFC 6750 §2)"
	case errors.Is(err, errMissing):
		code, msg = "token_required", "a token is required: Authorization: Bearer, or ?token="
		h.Set("WWW-Authenticate", `Bearer realm="sigil"`)
	case status == http.StatusServiceUnavailable:
		code, msg = "unavailable", "revocation could not be checked, retry later"
		h.Set("Retry-After", "2")
	default:
		h.Set("WWW-Authenticate", fmt.Sprintf(`Bearer realm="sigil", error="invalid_token", error_description=%q`, msg))
	}
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"error": map[string]string{"code": code, "message": msg}})
}
