package verifier

import (
	"context"
	"errors"
	"net/http"
	"strings"

	"github.com/sigil-dev/sigil/internal/apperr"
	"github.com/sigil-dev/sigil/internal/httperr"
	"github.com/sigil-dev/sigil/internal/policy"
	"github.com/sigil-dev/sigil/internal/token"
)

type ctxKey struct{}

// NewContext returns ctx carrying claims, where ClaimsFrom finds them.
func NewContext(ctx context.Context, c *Claims) context.Context {
	return context.WithValue(ctx, ctxKey{}, c)
}

// ClaimsFrom returns the claims the middleware verified for this request.
func ClaimsFrom(ctx context.Context) (*Claims, bool) {
	c, ok := ctx.Value(ctxKey{}).(*Claims)
	return c, ok
}

// Middleware is net/http middleware: requests without a valid token
// (Authorization: Bearer, else ?token=) get 401 (503 if revocation could
// not be checked), and with Config.Policy a valid token used outside its
// binding gets 403; others reach next with the claims in their context
// (ClaimsFrom). Rejections are answered as sigil answers them (WriteError).
// The Echo middleware is in the echoverifier package.
func (v *Verifier) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		claims, err := v.Authenticate(r)
		if err != nil {
			v.WriteError(w, err)
			return
		}
		next.ServeHTTP(w, r.WithContext(NewContext(r.Context(), claims)))
	})
}

// Authenticate is what the middleware does to a request: it reads the token
// (a Bearer header, else ?token=; one credential only), verifies it and,
// with Config.Policy, authorizes the request's method and URI. Its error
// is for WriteError: a token fault matches ErrInvalidToken, a policy
// refusal is a *Denied, and any other error means revocation could not be
// checked.
func (v *Verifier) Authenticate(r *http.Request) (*Claims, error) {
	raw, err := requestToken(r)
	if err != nil {
		return nil, err
	}
	if raw == "" {
		return nil, errMissing
	}
	claims, tc, err := v.verify(r.Context(), raw)
	if err != nil {
		return nil, err
	}
	if v.policy != nil {
		uri := r.RequestURI
		if uri == "" {
			uri = r.URL.RequestURI()
		}
		if err := v.policy.Check(tc, policy.Request{Method: r.Method, URI: uri, Token: raw, Overrides: policy.MethodOverrides(r.Header, uri)}); err != nil {
			return nil, deniedOf(err)
		}
	}
	return claims, nil
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

// WriteError answers an error of Authenticate as sigil answers the same
// failure — status, code, WWW-Authenticate and Retry-After from the one
// table sigil's server renders its errors with; a JSON error body,
// Cache-Control: no-store — with no token text and no internal detail.
func (v *Verifier) WriteError(w http.ResponseWriter, err error) {
	httperr.Write(w, publicError(err), v.retryAfter)
}

// publicError is the public error an error of Authenticate stands for.
func publicError(err error) *apperr.Error {
	var denied *Denied
	switch {
	case errors.As(err, &denied):
		return httperr.Denied(&policy.Denied{Code: denied.Code, Message: denied.Message, Scope: denied.Scope})
	case errors.Is(err, errTwoCredentials):
		return apperr.Wrap(apperr.CodeInvalid, "send one token per request, as an Authorization: Bearer header or as ?token=, never both (RFC 6750 §2)", err)
	case errors.Is(err, errMissing):
		return apperr.Wrap(apperr.CodeTokenRequired, "a token is required: Authorization: Bearer, or ?token=", err)
	}
	if e := httperr.Token(err); e != nil {
		return e
	}
	return apperr.Wrap(apperr.CodeUnavailable, "revocation could not be checked, retry later", err)
}
