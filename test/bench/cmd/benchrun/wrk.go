package main

import (
	"bufio"
	"context"
	"fmt"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// wrkResult is what one wrk run reports.
type wrkResult struct {
	Requests    int64   // completed requests
	RPS         float64 // Requests/sec
	P50, P99    float64 // latency percentiles, microseconds
	HasP50      bool
	HasP99      bool
	Non2xx      int64 // "Non-2xx or 3xx responses" (wrk counts status > 399)
	SockConnect int64
	SockRead    int64
	SockWrite   int64
	SockTimeout int64

	CPU time.Duration // wrk's own CPU time (user + system), not parsed
	// ServerCPU is the measured server's CPU time (user + system) during
	// the run, 0 if unknown: with CPU, where the machine's time went.
	ServerCPU time.Duration
}

// perRequest is d divided among the completed requests, "n/a" if either is
// unknown: CPU per request does not depend on how the two processes shared
// the cores, so it shows where a ratio of requests/s comes from.
func (r wrkResult) perRequest(d time.Duration) string {
	if d <= 0 || r.Requests <= 0 {
		return "n/a"
	}
	return fmt.Sprintf("%.1f µs", float64(d)/float64(time.Microsecond)/float64(r.Requests))
}

// SocketErrors is the sum of wrk's socket error counters.
func (r wrkResult) SocketErrors() int64 {
	return r.SockConnect + r.SockRead + r.SockWrite + r.SockTimeout
}

var (
	wrkRequestsRE = regexp.MustCompile(`^(\d+) requests in `)
	wrkRPSRE      = regexp.MustCompile(`^Requests/sec:\s*([0-9.]+(?:[eE][+-]?\d+)?)`)
	wrkPctRE      = regexp.MustCompile(`^([0-9.]+)%\s+([0-9.]+)\s*(us|ms|s|m|h)$`)
	wrkSocketRE   = regexp.MustCompile(`^Socket errors:\s*connect (\d+),\s*read (\d+),\s*write (\d+),\s*timeout (\d+)`)
	wrkNon2xxRE   = regexp.MustCompile(`^Non-2xx or 3xx responses:\s*(\d+)`)
)

// wrkUnit is microseconds per unit of wrk's time format.
var wrkUnit = map[string]float64{"us": 1, "ms": 1e3, "s": 1e6, "m": 60e6, "h": 3600e6}

// parseWrk reads wrk's text output (run with --latency). Lines it does not
// know are ignored; wrk prints "Socket errors" and "Non-2xx or 3xx
// responses" only when they are not zero, so their absence means zero.
// Requests/sec and the requests line are required.
func parseWrk(out string) (wrkResult, error) {
	var r wrkResult
	var haveRPS, haveReqs, inDist bool
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		switch {
		case line == "Latency Distribution":
			inDist = true
			continue
		case inDist:
			m := wrkPctRE.FindStringSubmatch(line)
			if m == nil {
				inDist = false
				break
			}
			pct, err1 := strconv.ParseFloat(m[1], 64)
			v, err2 := strconv.ParseFloat(m[2], 64)
			if err1 != nil || err2 != nil {
				return r, fmt.Errorf("wrk latency line %q", line)
			}
			us := v * wrkUnit[m[3]]
			switch pct {
			case 50:
				r.P50, r.HasP50 = us, true
			case 99:
				r.P99, r.HasP99 = us, true
			}
			continue
		}
		if m := wrkRequestsRE.FindStringSubmatch(line); m != nil {
			n, err := strconv.ParseInt(m[1], 10, 64)
			if err != nil {
				return r, fmt.Errorf("wrk requests line %q: %w", line, err)
			}
			r.Requests, haveReqs = n, true
		} else if m := wrkRPSRE.FindStringSubmatch(line); m != nil {
			v, err := strconv.ParseFloat(m[1], 64)
			if err != nil {
				return r, fmt.Errorf("wrk Requests/sec line %q: %w", line, err)
			}
			r.RPS, haveRPS = v, true
		} else if m := wrkSocketRE.FindStringSubmatch(line); m != nil {
			vals := make([]int64, 4)
			for i := range vals {
				v, err := strconv.ParseInt(m[i+1], 10, 64)
				if err != nil {
					return r, fmt.Errorf("wrk socket errors line %q: %w", line, err)
				}
				vals[i] = v
			}
			r.SockConnect, r.SockRead, r.SockWrite, r.SockTimeout = vals[0], vals[1], vals[2], vals[3]
		} else if m := wrkNon2xxRE.FindStringSubmatch(line); m != nil {
			v, err := strconv.ParseInt(m[1], 10, 64)
			if err != nil {
				return r, fmt.Errorf("wrk non-2xx line %q: %w", line, err)
			}
			r.Non2xx = v
		}
	}
	if err := sc.Err(); err != nil {
		return r, err
	}
	var missing []string
	if !haveRPS {
		missing = append(missing, "Requests/sec")
	}
	if !haveReqs {
		missing = append(missing, "request count")
	}
	if !r.HasP50 || !r.HasP99 {
		missing = append(missing, "latency distribution (50%, 99%)")
	}
	if len(missing) > 0 {
		return r, fmt.Errorf("wrk output lacks %s", strings.Join(missing, ", "))
	}
	return r, nil
}

// wrkConfig holds the settings shared by every scenario.
type wrkConfig struct {
	bin         string
	script      string
	threads     int
	connections int
}

// wrkLoad is what one scenario sends: see rotate.lua.
type wrkLoad struct {
	url     string
	values  string   // file with one value per line
	method  string   // GET, POST
	body    string   // template, "-" for none
	headers []string // "Name: template"
}

func (c wrkConfig) args(d time.Duration, l wrkLoad) []string {
	args := []string{
		"-t", strconv.Itoa(c.threads), "-c", strconv.Itoa(c.connections),
		"-d", wrkDuration(d), "--latency", "-s", c.script, l.url,
		"--", l.values, l.method, l.body, strconv.Itoa(c.threads),
	}
	return append(args, l.headers...)
}

// wrkDuration formats d for wrk's -d, which takes whole seconds (at least 1).
func wrkDuration(d time.Duration) string {
	return strconv.FormatInt(max(1, int64((d+time.Second/2)/time.Second)), 10) + "s"
}

// run runs wrk for d and parses what it prints. The run is bounded: wrk is
// killed (by PID, through the context) if it has not finished 30 s after d.
func (c wrkConfig) run(ctx context.Context, d time.Duration, l wrkLoad) (wrkResult, string, error) {
	ctx, cancel := context.WithTimeout(ctx, d+30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, c.bin, c.args(d, l)...)
	cmd.WaitDelay = 5 * time.Second
	// Its own process group: a terminal's Ctrl-C goes to the driver only,
	// which then kills wrk through ctx instead of wrk printing a partial run.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	out, err := cmd.CombinedOutput()
	if err != nil {
		if ctx.Err() != nil {
			return wrkResult{}, string(out), fmt.Errorf("wrk stopped: %w", ctx.Err())
		}
		return wrkResult{}, string(out), fmt.Errorf("wrk: %w\n%s", err, out)
	}
	r, err := parseWrk(string(out))
	if err != nil {
		return r, string(out), fmt.Errorf("%w\n%s", err, out)
	}
	if ps := cmd.ProcessState; ps != nil {
		r.CPU = ps.UserTime() + ps.SystemTime()
	}
	return r, string(out), nil
}
