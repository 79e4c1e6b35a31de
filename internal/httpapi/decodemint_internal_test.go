package httpapi

import (
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/stretchr/testify/require"
)

// requireDecodeMintAsJSON: decodeMint (the request on the handler's stack)
// and decodeJSON give the same error, or the same request, for body under
// contentType.
func requireDecodeMintAsJSON(t *testing.T, e *echo.Echo, contentType string, body []byte) (accepted bool) {
	t.Helper()
	ctx := func() echo.Context {
		r := httptest.NewRequest(http.MethodPost, "/api/v1/token", strings.NewReader(string(body)))
		if contentType != "" {
			r.Header.Set(echo.HeaderContentType, contentType)
		}
		return e.NewContext(r, httptest.NewRecorder())
	}
	a := mintRequest{maxExpiry: time.Hour}
	b := mintRequest{maxExpiry: time.Hour}
	errA := decodeMint(ctx(), &a)
	errB := decodeJSON(ctx(), &b)
	if errB == nil {
		require.NoError(t, errA, "%q", body)
		require.Equal(t, b, a, "%q", body)
		return true
	}
	// On an error the handler answers it and reads no field of the request.
	require.Error(t, errA, "%q", body)
	require.Equal(t, errB.Error(), errA.Error(), "%q", body)
	require.Equal(t, errField(errB), errField(errA), "%q", body)
	return false
}

// TestDecodeMintMatchesDecodeJSON: the mint handler's typed decoding
// answers every body as decodeJSON does (generated bodies the fast reader
// takes, the strict one takes alone, and both refuse; empty, blank, not
// UTF-8, another content type).
func TestDecodeMintMatchesDecodeJSON(t *testing.T) {
	e := echo.New()
	rng := rand.New(rand.NewPCG(17, 41))
	accepted := 0
	for range 5000 {
		if requireDecodeMintAsJSON(t, e, echo.MIMEApplicationJSON, genMintBody(rng)) {
			accepted++
		}
	}
	require.Greater(t, accepted, 500, "accepted bodies")
	require.Less(t, accepted, 4500, "refused bodies")
	for _, b := range []string{"", " \n", "\xff", `{"dashboardId":"a","dashboardSecret":"b","tokenExpiry":7200}`,
		`{"dashboardId":"a","dashboardSecret":"b","securityPolicies":[{"name":"r"}]}`} {
		requireDecodeMintAsJSON(t, e, echo.MIMEApplicationJSON, []byte(b))
	}
	requireDecodeMintAsJSON(t, e, "text/plain", []byte(`{"dashboardId":"a","dashboardSecret":"b"}`))
	requireDecodeMintAsJSON(t, e, "", []byte(`{"dashboardId":"a","dashboardSecret":"b"}`))
}
