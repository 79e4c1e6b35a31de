package httpapi_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/stretchr/testify/require"

	"github.com/sigil-dev/sigil/internal/httpapi"
	"github.com/sigil-dev/sigil/internal/metrics"
)

// withTweak adds fn to the fixture's last word on the API config.
func withTweak(fn func(*httpapi.Config)) func(*fixture) {
	return func(f *fixture) {
		prev := f.tweak
		f.tweak = func(c *httpapi.Config) {
			if prev != nil {
				prev(c)
			}
			fn(c)
		}
	}
}

// withMetrics wires real Prometheus metrics, served at /metrics.
func withMetrics() func(*fixture) {
	return withTweak(func(c *httpapi.Config) {
		m := metrics.New()
		c.Observer, c.MetricsHandler = m, m.Handler()
	})
}

// sigilSeries scrapes /metrics and returns the number of series of each
// sigil_http_* family, and every label value seen.
func sigilSeries(t *testing.T, f *fixture) (map[string]int, map[string]bool) {
	t.Helper()
	rec := f.do(http.MethodGet, "/metrics", "")
	require.Equal(t, http.StatusOK, rec.Code)
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(rec.Body)
	require.NoError(t, err)
	counts, values := map[string]int{}, map[string]bool{}
	for name, fam := range families {
		if !strings.HasPrefix(name, "sigil_") {
			continue
		}
		counts[name] = len(fam.GetMetric())
		for _, m := range fam.GetMetric() {
			for _, lp := range m.GetLabel() {
				values[lp.GetName()+"="+lp.GetValue()] = true
			}
		}
	}
	return counts, values
}

// Thousands of requests with distinct made-up methods and paths must not
// make thousands of series: every label comes from a fixed set.
func TestMetrics_RandomMethodsAndPathsDoNotGrowSeries(t *testing.T) {
	f := newAPI(t, withMetrics())
	send := func(method, target string) {
		r := httptest.NewRequest(http.MethodGet, target, nil)
		r.Method = method
		f.serve(r)
	}
	// One round of every kind of request first, so that the fixed set of
	// series is there before counting.
	warm := func(i int) {
		send(http.MethodGet, "/healthz")
		send(fmt.Sprintf("M%dETHOD", i), "/healthz")            // unknown method, known route
		send(http.MethodGet, fmt.Sprintf("/no/such/%d", i))     // unmatched route
		send(fmt.Sprintf("X%d", i), fmt.Sprintf("/nope/%d", i)) // both
		send(http.MethodDelete, "/api/v1/verify")               // known route, wrong method
	}
	warm(0)
	sigilSeries(t, f) // the scrape itself is a series too
	before, _ := sigilSeries(t, f)
	for i := 1; i <= 2000; i++ {
		warm(i)
		send(strings.Repeat("Z", 1000)+fmt.Sprint(i), "/"+strings.Repeat("p", 1000)+fmt.Sprint(i))
	}
	after, values := sigilSeries(t, f)
	require.Equal(t, before, after, "series per family before and after 12,000 requests")
	require.Less(t, after["sigil_http_requests_total"], 20)
	for v := range values {
		require.Less(t, len(v), 64, "label value %q", v)
	}
	require.True(t, values["method=OTHER"], "unknown methods are OTHER")
	require.True(t, values["route=unmatched"], "unmatched paths are one route")
}
