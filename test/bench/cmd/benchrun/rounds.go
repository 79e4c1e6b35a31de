package main

import (
	"fmt"
	"slices"
)

// merge turns the rows of each round (the same scenarios in the same order
// every round) into one row per scenario: requests/s, latencies and CPU
// per request are the rounds' medians, counts are summed, others' CPU is
// the worst round's, and every round's result is kept for ratios.
func merge(rounds [][]row) []row {
	if len(rounds) == 0 {
		return nil
	}
	out := make([]row, len(rounds[0]))
	for i := range out {
		rw := rounds[0][i]
		rw.attempts, rw.others = 0, -1
		var res []wrkResult
		for _, rows := range rounds {
			res = append(res, rows[i].res)
			rw.attempts += rows[i].attempts
			rw.others = max(rw.others, rows[i].others)
		}
		rw.rounds = res
		rw.res = medianResult(res)
		out[i] = rw
	}
	return out
}

// medianResult is the median of each figure of rs, counts summed.
func medianResult(rs []wrkResult) wrkResult {
	pick := func(f func(wrkResult) float64) float64 {
		v := make([]float64, len(rs))
		for i, r := range rs {
			v[i] = f(r)
		}
		return median(v)
	}
	var m wrkResult
	m.RPS = pick(func(r wrkResult) float64 { return r.RPS })
	m.P50 = pick(func(r wrkResult) float64 { return r.P50 })
	m.P99 = pick(func(r wrkResult) float64 { return r.P99 })
	m.HasP50, m.HasP99 = true, true
	for _, r := range rs {
		m.HasP50 = m.HasP50 && r.HasP50
		m.HasP99 = m.HasP99 && r.HasP99
		m.Requests += r.Requests
		m.Non2xx += r.Non2xx
		m.SockConnect += r.SockConnect
		m.SockRead += r.SockRead
		m.SockWrite += r.SockWrite
		m.SockTimeout += r.SockTimeout
		m.CPU += r.CPU
		m.ServerCPU += r.ServerCPU
	}
	// CPU times are summed with Requests, so perRequest stays their ratio.
	return m
}

// median of v (the mean of the middle two for an even count); 0 for none.
func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := slices.Clone(v)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// ratio compares rw with base round by round: the median of rw's
// figure ÷ base's in each round, and the smallest and largest of them.
// ok is false when base has no figure in some round.
type ratio struct {
	median, lo, hi float64
	n              int
}

func ratioOf(rw, base row, figure func(wrkResult) float64) (ratio, bool) {
	n := min(len(rw.rounds), len(base.rounds))
	if n == 0 {
		return ratio{}, false
	}
	v := make([]float64, n)
	for i := range n {
		b := figure(base.rounds[i])
		if b <= 0 {
			return ratio{}, false
		}
		v[i] = figure(rw.rounds[i]) / b
	}
	return ratio{median: median(v), lo: slices.Min(v), hi: slices.Max(v), n: n}, true
}

func rps(r wrkResult) float64 { return r.RPS }
func p99(r wrkResult) float64 { return r.P99 }

// String is "0.74" for one round, "0.74 (0.71–0.77)" for several.
func (r ratio) String() string { return fmt.Sprintf("%.2f%s", r.median, r.spread()) }

// times is String with the ×: "0.74× (0.71–0.77)".
func (r ratio) times() string { return fmt.Sprintf("%.2f×%s", r.median, r.spread()) }

// spread is " (lo–hi)" over several rounds, "" for one.
func (r ratio) spread() string {
	if r.n <= 1 {
		return ""
	}
	return fmt.Sprintf(" (%.2f–%.2f)", r.lo, r.hi)
}
