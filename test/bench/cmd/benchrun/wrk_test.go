package main

import (
	"strings"
	"testing"
	"time"
)

const wrkFull = `Running 10s test @ http://127.0.0.1:40000/api/v1/verify
  2 threads and 32 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     1.71ms    2.05ms  44.14ms   91.12%
    Req/Sec    10.65k     1.02k   12.97k    70.50%
  Latency Distribution
     50%    1.23ms
     75%    1.80ms
     90%    3.01ms
     99%   11.47ms
  211989 requests in 10.00s, 95.46MB read
  Socket errors: connect 1, read 2, write 3, timeout 4
  Non-2xx or 3xx responses: 2120
Requests/sec:  21197.87
Transfer/sec:      9.55MB
`

const wrkClean = `Running 1s test @ http://127.0.0.1:40001/
  2 threads and 32 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency   612.00us  400.00us   1.02s    90.00%
    Req/Sec    20.00k     1.00k   22.00k    70.00%
  Latency Distribution
     50%  612.00us
     75%  800.00us
     90%    1.00ms
     99%    1.50s
  40000 requests in 1.00s, 5.00MB read
Requests/sec:  39950.12
Transfer/sec:      4.99MB
`

func TestParseWrk(t *testing.T) {
	r, err := parseWrk(wrkFull)
	if err != nil {
		t.Fatal(err)
	}
	want := wrkResult{
		Requests: 211989, RPS: 21197.87, P50: 1230, P99: 11470, HasP50: true, HasP99: true,
		Non2xx: 2120, SockConnect: 1, SockRead: 2, SockWrite: 3, SockTimeout: 4,
	}
	if !approx(r.P50, want.P50) || !approx(r.P99, want.P99) {
		t.Errorf("percentiles %v/%v, want %v/%v", r.P50, r.P99, want.P50, want.P99)
	}
	r.P50, r.P99 = want.P50, want.P99
	if r != want {
		t.Errorf("got %+v\nwant %+v", r, want)
	}
	if r.SocketErrors() != 10 {
		t.Errorf("SocketErrors = %d", r.SocketErrors())
	}
}

func TestParseWrk_AbsentCountersAreZero(t *testing.T) {
	r, err := parseWrk(wrkClean)
	if err != nil {
		t.Fatal(err)
	}
	if r.Non2xx != 0 || r.SocketErrors() != 0 || r.Requests != 40000 || !approx(r.RPS, 39950.12) {
		t.Errorf("got %+v", r)
	}
	if !approx(r.P50, 612) || !approx(r.P99, 1.5e6) {
		t.Errorf("percentiles %v µs / %v µs, want 612 / 1500000", r.P50, r.P99)
	}
}

func TestParseWrk_Incomplete(t *testing.T) {
	for name, out := range map[string]string{
		"connection refused": "unable to connect to 127.0.0.1:1 Connection refused\n",
		"no latency":         strings.Replace(wrkClean, "  Latency Distribution\n", "", 1),
		"no rps":             strings.Replace(wrkClean, "Requests/sec:  39950.12\n", "", 1),
	} {
		if _, err := parseWrk(out); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

func TestWrkArgs(t *testing.T) {
	c := wrkConfig{bin: "wrk", script: "/tmp/rotate.lua", threads: 2, connections: 32}
	got := strings.Join(c.args(10*time.Second, wrkLoad{
		url: "http://127.0.0.1:1/api/v1/verify", values: "/tmp/t.txt", method: "GET", body: "-",
		headers: []string{"Authorization: Bearer {}"},
	}), " ")
	want := "-t 2 -c 32 -d 10s --latency -s /tmp/rotate.lua http://127.0.0.1:1/api/v1/verify -- /tmp/t.txt GET - 2 Authorization: Bearer {}"
	if got != want {
		t.Errorf("args\n got %s\nwant %s", got, want)
	}
	if wrkDuration(1500*time.Millisecond) != "2s" || wrkDuration(100*time.Millisecond) != "1s" {
		t.Error("wrkDuration rounding")
	}
}

func approx(a, b float64) bool {
	d := a - b
	return d < 1e-6*max(1, b) && -d < 1e-6*max(1, b)
}

func TestPerRequest(t *testing.T) {
	for _, tc := range []struct {
		requests int64
		cpu      time.Duration
		want     string
	}{
		{1000, 25 * time.Millisecond, "25.0 µs"},
		{3, time.Millisecond, "333.3 µs"},
		{0, time.Second, "n/a"},     // no request completed
		{1000, 0, "n/a"},            // the CPU time could not be read
		{1000, -time.Second, "n/a"}, // never a negative figure
	} {
		if got := (wrkResult{Requests: tc.requests}).perRequest(tc.cpu); got != tc.want {
			t.Errorf("perRequest(%d requests, %v) = %q, want %q", tc.requests, tc.cpu, got, tc.want)
		}
	}
}
