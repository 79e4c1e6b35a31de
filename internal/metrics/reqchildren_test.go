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

// TestRequest_ResolvedChildrenBounded: Request keeps the children of at
// most maxReqChildren (route, method, status) triples, whatever routes a
// caller passes, and still counts every request beyond that bound; the
// copy-on-write map is safe under concurrent requests (run with -race)
// and counts each one exactly once.
func TestRequest_ResolvedChildrenBounded(t *testing.T) {
	m := New()
	for i := range maxReqChildren + 100 {
		m.Request(fmt.Sprintf("/r/%d", i), http.MethodGet, 200, time.Millisecond)
	}
	require.Equal(t, maxReqChildren, m.reqChildrenLen())
	m.Request("/r/overflow", http.MethodGet, 200, time.Millisecond)
	m.Request("/r/overflow", http.MethodGet, 200, time.Millisecond)
	require.Equal(t, maxReqChildren, m.reqChildrenLen(), "no growth past the bound")
	require.InDelta(t, 2, counterValue(t, m.requests.WithLabelValues("/r/overflow", "GET", "200")), 0)

	m = New()
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 500 {
				m.Request("/api/v1/verify", http.MethodGet, []int{200, 401, 403}[(g+i)%3], time.Millisecond)
			}
		}()
	}
	wg.Wait()
	require.Equal(t, 3, m.reqChildrenLen())
	total := 0.0
	for _, st := range []string{"200", "401", "403"} {
		total += counterValue(t, m.requests.WithLabelValues("/api/v1/verify", "GET", st))
	}
	require.InDelta(t, 8*500, total, 0)
}

func counterValue(t *testing.T, c prometheus.Counter) float64 {
	t.Helper()
	var out dto.Metric
	require.NoError(t, c.Write(&out))
	return out.GetCounter().GetValue()
}

// TestRequest_RunsAndSwitches: Request's shortcut for a run of requests
// with one triple (lastReq) counts every request under its own triple
// when triples alternate, repeat and come back, each one exactly once,
// with its latency observed under its route; and Verified("ok") counts
// in the same child as the other reasons' map would give.
func TestRequest_RunsAndSwitches(t *testing.T) {
	m := New()
	seq := []reqKey{
		{"/api/v1/verify", "GET", 200}, {"/api/v1/verify", "GET", 200}, {"/api/v1/verify", "GET", 401},
		{"/api/v1/introspect", "POST", 200}, {"/api/v1/verify", "GET", 200}, {"/api/v1/verify", "HEAD", 200},
		{"/api/v1/verify", "GET", 200}, {"/api/v1/introspect", "POST", 200}, {"/api/v1/introspect", "POST", 200},
	}
	want := map[reqKey]float64{}
	for _, k := range seq {
		m.Request(k.route, k.method, k.status, time.Millisecond)
		want[k]++
	}
	for k, n := range want {
		require.InDelta(t, n, counterValue(t, m.requests.WithLabelValues(k.route, k.method, statusLabel(k.status))), 0, "%v", k)
	}
	var h dto.Metric
	require.NoError(t, m.latency.WithLabelValues("/api/v1/verify").(prometheus.Histogram).Write(&h))
	require.Equal(t, uint64(6), h.GetHistogram().GetSampleCount())
	m.Verified("ok")
	m.Verified("ok")
	m.Verified("revoked")
	require.InDelta(t, 2, counterValue(t, m.verify.WithLabelValues("ok")), 0)
	require.InDelta(t, 1, counterValue(t, m.verify.WithLabelValues("revoked")), 0)
}
