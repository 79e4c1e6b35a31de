package metrics

import (
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/stretchr/testify/require"
)

// TestAttack5_ConcurrentTriplesCountExactly: 12 goroutines send requests
// whose (route, method, status) alternate, run and come back in patterns
// of their own — the verify route in runs, other routes, methods a client
// invents (PROPFIND, "get", "") and statuses outside 100..599 (0, 99, 600,
// 999, -1: several keys, one label), plus a flood of distinct routes past
// maxReqChildren from two of them — while others record Verified reasons
// ("ok", known ones, unknown ones). Every request is counted exactly once
// under its bounded labels, every latency observed under its route, every
// reason under its label (unknown: other), and the kept children stay
// bounded.
func TestAttack5_ConcurrentTriplesCountExactly(t *testing.T) {
	m := New()
	type lbl struct{ route, method, status string }
	routes := []string{"/api/v1/verify", "/api/v1/verify", "/api/v1/verify", "/api/v1/introspect", "/api/v1/tokens"}
	methods := []string{http.MethodGet, http.MethodGet, http.MethodHead, http.MethodPost, "PROPFIND", "get", ""}
	statuses := []int{200, 200, 200, 401, 403, 0, 99, 600, 999, -1, 100, 599}
	reasons := []string{"ok", "ok", "ok", "revoked", "expired", "signature", "nonsense", "", "OK"}
	const goroutines, perG = 12, 3000
	var mu sync.Mutex
	wantReq := map[lbl]float64{}
	wantLat := map[string]uint64{}
	wantVer := map[string]float64{}
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Go(func() {
			req := map[lbl]float64{}
			lat := map[string]uint64{}
			ver := map[string]float64{}
			for i := range perG {
				// Runs of one triple of length g%5+1, then a switch.
				j := i / (g%5 + 1)
				route := routes[(j+g)%len(routes)]
				if g < 2 && i%3 == 0 {
					route = fmt.Sprintf("/flood/%d/%d", g, i) // distinct triples past the bound
				}
				method := methods[(j*7+g)%len(methods)]
				status := statuses[(j*5+g*3)%len(statuses)]
				m.Request(route, method, status, time.Millisecond)
				req[lbl{route, Method(method), statusLabel(status)}]++
				lat[route]++
				r := reasons[(i+g)%len(reasons)]
				m.Verified(r)
				known := false
				for _, v := range VerifyReasons {
					known = known || v == r
				}
				if !known {
					r = OtherLabel
				}
				ver[r]++
			}
			mu.Lock()
			defer mu.Unlock()
			for k, n := range req {
				wantReq[k] += n
			}
			for k, n := range lat {
				wantLat[k] += n
			}
			for k, n := range ver {
				wantVer[k] += n
			}
		})
	}
	wg.Wait()
	require.LessOrEqual(t, m.reqChildrenLen(), maxReqChildren)
	total := 0.0
	for k, n := range wantReq {
		require.InDelta(t, n, counterValue(t, m.requests.WithLabelValues(k.route, k.method, k.status)), 0, "%v", k)
		total += n
	}
	require.InDelta(t, goroutines*perG, total, 0)
	for route, n := range wantLat {
		var h dto.Metric
		require.NoError(t, m.latency.WithLabelValues(route).(prometheus.Histogram).Write(&h))
		require.Equal(t, n, h.GetHistogram().GetSampleCount(), route)
	}
	for r, n := range wantVer {
		require.InDelta(t, n, counterValue(t, m.verify.WithLabelValues(r)), 0, "reason %q", r)
	}
	// Nothing counted under a label nobody sent.
	require.InDelta(t, 0, counterValue(t, m.requests.WithLabelValues("/api/v1/verify", "PROPFIND", "200")), 0)
	require.InDelta(t, 0, counterValue(t, m.verify.WithLabelValues("OK")), 0)
}
