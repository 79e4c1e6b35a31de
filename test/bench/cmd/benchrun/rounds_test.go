package main

import (
	"testing"
	"time"
)

func TestMedian(t *testing.T) {
	for _, tc := range []struct {
		v    []float64
		want float64
	}{
		{nil, 0}, {[]float64{3}, 3}, {[]float64{5, 1, 3}, 3}, {[]float64{4, 1, 3, 2}, 2.5},
	} {
		if got := median(tc.v); got != tc.want {
			t.Errorf("median(%v) = %v, want %v", tc.v, got, tc.want)
		}
	}
	v := []float64{3, 1, 2}
	median(v)
	if v[0] != 3 || v[1] != 1 || v[2] != 2 {
		t.Errorf("median sorted its argument: %v", v)
	}
}

func TestMerge(t *testing.T) {
	res := func(rps float64, req int64, cpu time.Duration) wrkResult {
		return wrkResult{RPS: rps, P50: rps / 100, P99: rps / 10, HasP50: true, HasP99: true, Requests: req, Non2xx: 1, ServerCPU: cpu, CPU: cpu / 2}
	}
	rounds := [][]row{
		{{scenario: scenario{name: "noop"}, res: res(100, 1000, time.Second), others: 1, attempts: 1},
			{scenario: scenario{name: "verify", base: "noop"}, res: res(80, 800, time.Second), others: 0, attempts: 2}},
		{{scenario: scenario{name: "noop"}, res: res(50, 500, time.Second), others: 7, attempts: 1},
			{scenario: scenario{name: "verify", base: "noop"}, res: res(45, 450, time.Second), others: 3, attempts: 1}},
		{{scenario: scenario{name: "noop"}, res: res(90, 900, time.Second), others: 2, attempts: 1},
			{scenario: scenario{name: "verify", base: "noop"}, res: res(63, 630, time.Second), others: 0, attempts: 1}},
	}
	rows := merge(rounds)
	if len(rows) != 2 || rows[0].name != "noop" || rows[1].name != "verify" {
		t.Fatalf("merge: %+v", rows)
	}
	noop, verify := rows[0], rows[1]
	if noop.res.RPS != 90 || noop.res.P99 != 9 || noop.others != 7 || noop.attempts != 3 {
		t.Errorf("noop merged = RPS %v, p99 %v, others %v, attempts %v; want the medians 90 and 9, the worst others 7, 3 attempts",
			noop.res.RPS, noop.res.P99, noop.others, noop.attempts)
	}
	if noop.res.Requests != 2400 || noop.res.Non2xx != 3 || noop.res.perRequest(noop.res.ServerCPU) != "1250.0 µs" {
		t.Errorf("noop counts = %d requests, %d non-2xx, %s CPU/req; want sums 2400, 3 and 3 s ÷ 2400",
			noop.res.Requests, noop.res.Non2xx, noop.res.perRequest(noop.res.ServerCPU))
	}
	// Per round: 0.80, 0.90, 0.70. The ratio of the medians (63/90 = 0.70)
	// would be another figure: ratios are taken within each round.
	r, ok := ratioOf(verify, noop, rps)
	if !ok || r.median != 0.8 || r.lo != 0.7 || r.hi != 0.9 || r.n != 3 {
		t.Errorf("ratioOf = %+v, %v; want median 0.80, range 0.70–0.90 over 3", r, ok)
	}
	if got := r.String(); got != "0.80 (0.70–0.90)" {
		t.Errorf("ratio text %q", got)
	}
	if got := r.times(); got != "0.80× (0.70–0.90)" {
		t.Errorf("ratio text with × %q", got)
	}
	if got := (ratio{median: 0.8, lo: 0.8, hi: 0.8, n: 1}).times(); got != "0.80×" {
		t.Errorf("one round's ratio text %q", got)
	}
	noop.rounds[1].RPS = 0
	if _, ok := ratioOf(verify, noop, rps); ok {
		t.Error("ratioOf with a baseline round without requests/s: ok")
	}
	if _, ok := ratioOf(verify, row{}, rps); ok {
		t.Error("ratioOf without baseline rounds: ok")
	}
}
