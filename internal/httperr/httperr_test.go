package httperr_test

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/sigil-dev/sigil/internal/apperr"
	"github.com/sigil-dev/sigil/internal/httperr"
	"github.com/sigil-dev/sigil/internal/policy"
	"github.com/sigil-dev/sigil/internal/token"
)

func TestSetHeaders(t *testing.T) {
	for _, tc := range []struct {
		name       string
		err        *apperr.Error
		preset     http.Header
		status     int
		www, retry string
	}{
		{name: "InvalidToken", err: httperr.Token(token.ErrExpired), status: 401,
			www: `Bearer realm="sigil", error="invalid_token", error_description="the token has expired"`},
		{name: "TokenRequired", err: apperr.New(apperr.CodeTokenRequired, "a token is required"), status: 401, www: `Bearer realm="sigil"`},
		{name: "InsufficientScope", err: httperr.Denied(&policy.Denied{Code: policy.CodeInsufficientScope, Message: "m", Scope: "meta:read"}),
			status: 403, www: `Bearer error="insufficient_scope", scope="meta:read"`},
		{name: "ReadOnly", err: httperr.Denied(&policy.Denied{Code: policy.CodeReadOnly, Message: "m"}), status: 403},
		{name: "Unauthorized", err: apperr.New(apperr.CodeUnauthorized, "m"), status: 401, www: `Basic realm="sigil"`},
		{name: "Unavailable", err: apperr.New(apperr.CodeUnavailable, "m"), status: 503, retry: "2"},
		{name: "RateLimitedKeepsItsOwn", err: apperr.New(apperr.CodeRateLimited, "m"), preset: http.Header{"Retry-After": {"7"}}, status: 429, retry: "7"},
		{name: "Invalid", err: apperr.Invalid("f", "bad"), status: 400},
		{name: "UnknownCode", err: apperr.New("nope", "m"), status: 500},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := http.Header{}
			for k, v := range tc.preset {
				h[k] = v
			}
			httperr.SetHeaders(h, tc.err, 1500*time.Millisecond)
			require.Equal(t, tc.status, httperr.Status(tc.err.Code))
			require.Equal(t, "no-store", h.Get("Cache-Control"))
			require.Equal(t, tc.www, h.Get("WWW-Authenticate"))
			require.Equal(t, tc.retry, h.Get("Retry-After"))
		})
	}
}

func TestToken(t *testing.T) {
	require.Nil(t, httperr.Token(errors.New("redis down")), "not the token's fault")
	e := httperr.Token(token.ErrRevoked)
	require.Equal(t, apperr.CodeInvalidToken, e.Code)
	require.Equal(t, "the token has been revoked", e.Message)
	require.ErrorIs(t, e, token.ErrRevoked)
}

func TestWrite(t *testing.T) {
	rec := httptest.NewRecorder()
	httperr.Write(rec, httperr.Token(token.ErrSignature), time.Second)
	require.Equal(t, http.StatusUnauthorized, rec.Code)
	require.Equal(t, "application/json", rec.Header().Get("Content-Type"))
	require.JSONEq(t, `{"error":{"code":"invalid_token","message":"the token signature is invalid"}}`, rec.Body.String())
}
