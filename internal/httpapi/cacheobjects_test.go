package httpapi_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"runtime"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestVerifyCache_ObjectsPerToken: what a token kept by the verified-token
// cache costs the collector, counted as live heap objects after a forward-
// auth answer was served for it (its cache slot, claims and rendered
// answer), so that every collection cycle marks few objects per cached
// token. The bound fails when the layout grows back to one object per
// field.
func TestVerifyCache_ObjectsPerToken(t *testing.T) {
	bs := newBenchStack(t)
	const n = 2000
	auth := make([]string, n)
	for i := range auth {
		raw, _, err := bs.issuer.Mint(benchClaims(fmt.Sprintf("user-%d", i)), time.Hour)
		require.NoError(t, err)
		auth[i] = "Bearer " + raw
	}
	r := httptest.NewRequest(http.MethodGet, "/api/v1/verify", nil)
	r.Header.Set("Authorization", auth[0])
	r.Header.Set("X-Original-Method", "GET")
	r.Header.Set("X-Original-URI", "/dashboards/sales/widgets/7?lang=de")
	serve := func() {
		for _, a := range auth {
			r.Header["Authorization"][0] = a
			w := httptest.NewRecorder()
			bs.api.ServeHTTP(w, r)
			require.Equal(t, http.StatusOK, w.Code, w.Body.String())
		}
	}
	live := func() uint64 {
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		return m.HeapObjects
	}
	before := live()
	serve()
	serve() // hits: nothing more is kept
	after := live()
	runtime.KeepAlive(auth)
	perToken := float64(after-before) / n
	t.Logf("%.2f live heap objects per cached token", perToken)
	require.LessOrEqual(t, perToken, 12.0, "before the slot layout: 18 objects per cached token")
}
