package e2e_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/sigil-dev/sigil/test/redisserver"
)

// e2eScrape reads and parses the instance's /metrics.
func e2eScrape(t testing.TB, base string) map[string]*dto.MetricFamily {
	t.Helper()
	r := e2eDo(t, http.MethodGet, base+"/metrics", "", nil)
	e2eWantStatus(t, "GET /metrics", r.Status, http.StatusOK)
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(strings.NewReader(r.Body))
	if err != nil {
		t.Fatalf("parse /metrics: %v", err)
	}
	return families
}

// e2eMetric returns the value of the sample of name whose labels include
// labels (a histogram's sample count); ok false if there is none.
func e2eMetric(families map[string]*dto.MetricFamily, name string, labels map[string]string) (float64, bool) {
	f, ok := families[name]
	if !ok {
		return 0, false
	}
next:
	for _, m := range f.GetMetric() {
		have := map[string]string{}
		for _, lp := range m.GetLabel() {
			have[lp.GetName()] = lp.GetValue()
		}
		for k, v := range labels {
			if have[k] != v {
				continue next
			}
		}
		switch {
		case m.Counter != nil:
			return m.GetCounter().GetValue(), true
		case m.Gauge != nil:
			return m.GetGauge().GetValue(), true
		case m.Histogram != nil:
			return float64(m.GetHistogram().GetSampleCount()), true
		}
	}
	return 0, false
}

func e2eMustMetric(t testing.TB, families map[string]*dto.MetricFamily, name string, labels map[string]string) float64 {
	t.Helper()
	v, ok := e2eMetric(families, name, labels)
	if !ok {
		t.Fatalf("/metrics has no %s%v", name, labels)
	}
	return v
}

// TestE2E_Metrics scrapes a sigil on Redis (replica mode) after real traffic
// and checks each metric the operations guide lists.
func TestE2E_Metrics(t *testing.T) {
	srv := redisserver.Start(t)
	inst := e2eStart(t, e2eRedisEnv(srv.URL(), t.TempDir(), nil))
	base := inst.URL
	secret := e2eCreateClient(t, base, e2eAdminSecret, "sales")
	tok := e2eMint(t, base, "sales", secret)
	e2eWantStatus(t, "verify", e2eVerify(t, base, tok), http.StatusOK)
	e2eWantStatus(t, "invalidate", e2eInvalidate(t, base, tok).Status, http.StatusNoContent)
	e2eWantStatus(t, "verify revoked", e2eVerify(t, base, tok), http.StatusUnauthorized)
	e2eWantStatus(t, "verify garbage", e2eVerify(t, base, "not-a-token"), http.StatusUnauthorized)

	admin := e2eBasic("admin", e2eAdminSecret)
	rec := e2eDo(t, http.MethodPost, base+"/api/tokens", `{"type":"report","name":"Q3","reportId":"q3"}`, admin)
	e2eWantStatus(t, "create report token", rec.Status, http.StatusCreated)
	id := e2eJSONField(t, rec.Body, "id")
	e2eWantStatus(t, "generate", e2eDo(t, http.MethodPost, base+"/api/tokens/"+id+"/_generate", "", admin).Status, http.StatusOK)
	e2eWantStatus(t, "create unissued app token", e2eDo(t, http.MethodPost, base+"/api/tokens",
		`{"type":"app-view","name":"A","appId":"analytics","generate":false}`, admin).Status, http.StatusCreated)

	var m map[string]*dto.MetricFamily
	e2eEventually(t, 5*time.Second, "the replica to hold the two denied ids (token, previous report JWT)", func() bool {
		m = e2eScrape(t, base)
		v, _ := e2eMetric(m, "sigil_denylist_entries", nil)
		return v >= 2
	})

	for reason, min := range map[string]float64{"ok": 1, "revoked": 1, "malformed": 1, "policy": 0, "unavailable": 0} {
		if v := e2eMustMetric(t, m, "sigil_verify_total", map[string]string{"reason": reason}); v < min {
			t.Errorf("sigil_verify_total{reason=%q} = %v, want at least %v", reason, v, min)
		}
	}
	for kind, want := range map[string]float64{"embed": 1, "report": 2, "app-view": 0, "api": 0} {
		if v := e2eMustMetric(t, m, "sigil_tokens_minted_total", map[string]string{"kind": kind}); v != want {
			t.Errorf("sigil_tokens_minted_total{kind=%q} = %v, want %v", kind, v, want)
		}
	}
	if v := e2eMustMetric(t, m, "sigil_http_requests_total", map[string]string{"route": "/api/v1/verify", "method": "GET", "status": "401"}); v < 2 {
		t.Errorf("verify 401s counted: %v, want at least 2", v)
	}
	if v := e2eMustMetric(t, m, "sigil_http_request_duration_seconds", map[string]string{"route": "/api/v1/verify"}); v < 3 {
		t.Errorf("verify latency samples: %v, want at least 3", v)
	}
	if v := e2eMustMetric(t, m, "sigil_replica_staleness_seconds", nil); v < 0 || v > 300 {
		t.Errorf("sigil_replica_staleness_seconds = %v, want a loaded replica within max_staleness (0..300)", v)
	}
	if v := e2eMustMetric(t, m, "sigil_active_key_age_seconds", nil); v < 0 {
		t.Errorf("sigil_active_key_age_seconds = %v, want >= 0", v)
	}
	e2eMustMetric(t, m, "sigil_revocation_cutoffs", nil)
	e2eMustMetric(t, m, "sigil_audit_buffer_depth", nil)
	if v := e2eMustMetric(t, m, "sigil_audit_buffer_capacity", nil); v <= 0 {
		t.Errorf("sigil_audit_buffer_capacity = %v", v)
	}
	for _, name := range []string{"sigil_audit_events_dropped_total", "sigil_audit_events_lost_total"} {
		if v := e2eMustMetric(t, m, name, nil); v != 0 {
			t.Errorf("%s = %v, want 0 under this light load", name, v)
		}
		if typ := m[name].GetType(); typ != dto.MetricType_COUNTER {
			t.Errorf("%s is a %v, want a counter", name, typ)
		}
	}
	e2eMustMetric(t, m, "go_goroutines", nil)
	e2eMustMetric(t, m, "process_resident_memory_bytes", nil)
}

// TestE2E_MetricsMemoryStore: on the memory store (direct mode) the
// denylist size comes from the store and nothing is ever stale.
func TestE2E_MetricsMemoryStore(t *testing.T) {
	inst := e2eStart(t, map[string]string{"SIGIL_ADMIN_SECRET": e2eAdminSecret})
	secret := e2eCreateClient(t, inst.URL, e2eAdminSecret, "sales")
	for i := range 3 {
		tok := e2eMint(t, inst.URL, "sales", secret)
		e2eWantStatus(t, fmt.Sprintf("invalidate %d", i), e2eInvalidate(t, inst.URL, tok).Status, http.StatusNoContent)
	}
	m := e2eScrape(t, inst.URL)
	if v := e2eMustMetric(t, m, "sigil_denylist_entries", nil); v != 3 {
		t.Errorf("sigil_denylist_entries = %v, want 3", v)
	}
	if v := e2eMustMetric(t, m, "sigil_replica_staleness_seconds", nil); v != 0 {
		t.Errorf("sigil_replica_staleness_seconds = %v, want 0 in direct mode", v)
	}
}

// TestE2E_MetricsRandomMethodsAndPaths: requests with made-up 2 KB methods
// and paths, through the real listener, add no series to /metrics (every
// label comes from a fixed set) — issue 12 B9.
func TestE2E_MetricsRandomMethodsAndPaths(t *testing.T) {
	inst := e2eStart(t, map[string]string{"SIGIL_ADMIN_SECRET": e2eAdminSecret})
	series := func() int {
		n := 0
		for name, f := range e2eScrape(t, inst.URL) {
			if strings.HasPrefix(name, "sigil_http_") {
				n += len(f.GetMetric())
			}
		}
		return n
	}
	send := func(method, path string) {
		req, err := http.NewRequest(method, inst.URL+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("%.20s %.40s: %v", method, path, err)
		}
		resp.Body.Close()
	}
	round := func(i int) {
		send(fmt.Sprintf("M%d%s", i, strings.Repeat("X", 2000)), "/healthz")
		send(http.MethodGet, fmt.Sprintf("/nope/%d/%s", i, strings.Repeat("p", 2000)))
		send(fmt.Sprintf("Q%d", i), fmt.Sprintf("/nope/%d", i))
	}
	round(0)
	series() // the scrape is a series of its own
	before := series()
	for i := 1; i <= 500; i++ {
		round(i)
	}
	if after := series(); after != before {
		t.Fatalf("sigil_http_* series: %d before 1,500 made-up requests, %d after", before, after)
	}
}

// TestE2E_GCHeapFloor: `sigil serve` raises GOGC for its heap floor
// (runtime.gc_heap_floor_mib, default 128 MiB) while the heap is small, as
// the Go collector's own go_gc_gogc_percent shows; a floor of 0 leaves Go's
// 100, and a GOGC in the environment wins (and is logged).
func TestE2E_GCHeapFloor(t *testing.T) {
	for _, c := range []struct {
		name string
		env  map[string]string
		want func(float64) bool
		log  string
	}{
		{"default", nil, func(v float64) bool { return v > 100 }, ""},
		{"floor 0", map[string]string{"SIGIL_RUNTIME_GC_HEAP_FLOOR_MIB": "0"}, func(v float64) bool { return v == 100 }, ""},
		{"GOGC=50", map[string]string{"GOGC": "50"}, func(v float64) bool { return v == 50 }, "GOGC is set in the environment"},
	} {
		t.Run(c.name, func(t *testing.T) {
			inst := e2eStart(t, c.env)
			v := e2eMustMetric(t, e2eScrape(t, inst.URL), "go_gc_gogc_percent", nil)
			if !c.want(v) {
				t.Errorf("go_gc_gogc_percent = %v", v)
			}
			if c.log != "" && !strings.Contains(inst.Stderr.String(), c.log) {
				t.Errorf("stderr lacks %q:\n%s", c.log, inst.Stderr)
			}
		})
	}
}
