package metrics_test

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/stretchr/testify/require"

	"github.com/sigil-dev/sigil/internal/metrics"
)

func TestMetrics_Scrape(t *testing.T) {
	m := metrics.New()
	m.Request("/api/v1/verify", http.MethodGet, 200, 3*time.Millisecond)
	m.Request("/api/v1/verify", http.MethodGet, 401, time.Millisecond)
	m.Verified("ok")
	m.Verified("revoked")
	m.Verified("revoked")
	// The same labels again (children kept after the first use), an unknown
	// method and an unknown reason (bounded to "other").
	m.Request("/api/v1/verify", http.MethodGet, 200, time.Millisecond)
	m.Request("/api/v1/verify", "BREW", 200, time.Millisecond)
	m.Request("/api/v1/verify", "TEAPOT", 200, time.Millisecond)
	m.Verified("no-such-reason")
	m.Minted("no-such-kind")
	m.Minted("embed")
	m.Gauge("sigil_test_gauge", "test", func() float64 { return 42 })
	m.CounterFunc("sigil_test_total", "test", func() float64 { return 7 })

	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	require.Equal(t, http.StatusOK, rec.Code)
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(rec.Body)
	require.NoError(t, err)

	value := func(name string, labels map[string]string) float64 {
		t.Helper()
		f, ok := families[name]
		require.True(t, ok, "metric %s missing", name)
		for _, mt := range f.GetMetric() {
			match := true
			for _, lp := range mt.GetLabel() {
				if want, ok := labels[lp.GetName()]; ok && want != lp.GetValue() {
					match = false
				}
			}
			if !match {
				continue
			}
			switch {
			case mt.Counter != nil:
				return mt.GetCounter().GetValue()
			case mt.Gauge != nil:
				return mt.GetGauge().GetValue()
			case mt.Histogram != nil:
				return float64(mt.GetHistogram().GetSampleCount())
			}
		}
		t.Fatalf("no %s with labels %v", name, labels)
		return 0
	}
	require.Equal(t, 2.0, value("sigil_verify_total", map[string]string{"reason": "revoked"}))
	require.Equal(t, 1.0, value("sigil_verify_total", map[string]string{"reason": "ok"}))
	require.Equal(t, 1.0, value("sigil_http_requests_total", map[string]string{"route": "/api/v1/verify", "status": "401"}))
	require.Equal(t, 2.0, value("sigil_http_requests_total", map[string]string{"route": "/api/v1/verify", "method": "GET", "status": "200"}))
	require.Equal(t, 2.0, value("sigil_http_requests_total", map[string]string{"route": "/api/v1/verify", "method": metrics.OtherMethod, "status": "200"}))
	require.Equal(t, 1.0, value("sigil_verify_total", map[string]string{"reason": metrics.OtherLabel}))
	require.Equal(t, 1.0, value("sigil_tokens_minted_total", map[string]string{"kind": metrics.OtherLabel}))
	require.Equal(t, 5.0, value("sigil_http_request_duration_seconds", map[string]string{"route": "/api/v1/verify"}))
	require.Equal(t, 1.0, value("sigil_tokens_minted_total", map[string]string{"kind": "embed"}))
	require.Equal(t, 42.0, value("sigil_test_gauge", nil))
	require.Equal(t, 7.0, value("sigil_test_total", nil))
	require.Equal(t, "COUNTER", families["sigil_test_total"].GetType().String())
	// Known outcomes and kinds are there from the start, at 0.
	for _, r := range metrics.VerifyReasons {
		want := map[string]float64{"ok": 1, "revoked": 2}[r]
		require.Equal(t, want, value("sigil_verify_total", map[string]string{"reason": r}), "reason %s", r)
	}
	require.Contains(t, metrics.VerifyReasons, "policy")
	for _, k := range []string{"report", "app-view", "api"} {
		require.Equal(t, 0.0, value("sigil_tokens_minted_total", map[string]string{"kind": k}), "kind %s", k)
	}
	require.Contains(t, families, "go_goroutines")
}
