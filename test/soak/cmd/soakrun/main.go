// Command soakrun is sigil's soak test (make soak): it runs the built binary
// on a real redis-server, both started on loopback and stopped by PID, under
// a steady mixed load (embed mint, verify, invalidate, registered-token
// verify) at a fixed request rate for a set time, and prints a sample every
// interval: requests, errors, client-side p50/p99, RSS and threads
// (/proc/<pid>/status), open fds (/proc/<pid>/fd), goroutines and the
// replica's denylist size (/metrics). At the end it compares the first
// sample after warm-up with the last and fails if goroutines, fds or RSS grew
// past the limits, or if any request got an unexpected answer.
//
//	soakrun -sigil bin/sigil [-duration 10m] [-rate 400] [-workers 8] [-sample 30s] [-warmup 30s]
package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	mrand "math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/sigil-dev/sigil/test/testproc"
)

type options struct {
	sigil, redis   string
	duration       time.Duration
	warmup, sample time.Duration
	rate, workers  int
	pool           int
	tokenTTL       time.Duration
	cacheSize      int
	maxRSSGrowth   float64
	maxGoroutines  int
	maxFDs         int
}

func main() {
	var o options
	flag.StringVar(&o.sigil, "sigil", "bin/sigil", "path to the sigil binary")
	flag.StringVar(&o.redis, "redis-server", "redis-server", "redis-server binary")
	flag.DurationVar(&o.duration, "duration", 10*time.Minute, "how long the load runs (warm-up included)")
	flag.DurationVar(&o.warmup, "warmup", 2*time.Minute, "load before the start figures are taken (long enough for the denylist and cache to fill)")
	flag.DurationVar(&o.sample, "sample", 30*time.Second, "sampling interval")
	flag.IntVar(&o.rate, "rate", 400, "requests per second, all workers together")
	flag.IntVar(&o.workers, "workers", 8, "concurrent clients")
	flag.IntVar(&o.pool, "pool", 1000, "embed tokens in rotation")
	flag.DurationVar(&o.tokenTTL, "token-ttl", 90*time.Second, "tokenExpiry of minted tokens: denylist entries expire with them, so the denylist levels off")
	flag.IntVar(&o.cacheSize, "cache-size", 10_000, "SIGIL_TOKENS_CACHE_SIZE (0: sigil's default, 100000, which takes ~20 min to fill at the default mix)")
	flag.Float64Var(&o.maxRSSGrowth, "max-rss-growth", 0.5, "fail if RSS grows by more than this fraction from start to end")
	flag.IntVar(&o.maxGoroutines, "max-goroutine-growth", 50, "fail if goroutines grow by more than this from start to end")
	flag.IntVar(&o.maxFDs, "max-fd-growth", 20, "fail if open fds grow by more than this from start to end")
	flag.Parse()
	if o.warmup+o.sample > o.duration || o.rate < 1 || o.workers < 1 || o.sample <= 0 {
		fmt.Fprintln(os.Stderr, "soakrun: need duration >= warmup + sample, rate >= 1, workers >= 1")
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, o); err != nil {
		fmt.Fprintln(os.Stderr, "soakrun:", err)
		os.Exit(1)
	}
}

// proc is a child process stopped by PID.
type proc struct {
	name string
	cmd  *exec.Cmd
	done chan struct{}
}

func start(name string, cmd *exec.Cmd, logPath string) (*proc, error) {
	f, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	cmd.Stdout, cmd.Stderr = f, f
	if err := cmd.Start(); err != nil {
		f.Close()
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	p := &proc{name: name, cmd: cmd, done: make(chan struct{})}
	go func() { _ = cmd.Wait(); f.Close(); close(p.done) }()
	return p, nil
}

// stop sends SIGTERM to the process's PID, then SIGKILL after 15s.
func (p *proc) stop() {
	_ = syscall.Kill(p.cmd.Process.Pid, syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(15 * time.Second):
		_ = syscall.Kill(p.cmd.Process.Pid, syscall.SIGKILL)
		<-p.done
	}
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

var listenRE = regexp.MustCompile(`sigil listening on (http://\S+)`)

func run(ctx context.Context, o options) error {
	dir, err := os.MkdirTemp("", "sigil-soak-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)

	port, err := testproc.ReservePort()
	if err != nil {
		return err
	}
	redis, err := start("redis-server", exec.Command(o.redis, "--port", strconv.Itoa(port), "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no", "--dir", dir, "--maxmemory-policy", "noeviction"), filepath.Join(dir, "redis.log"))
	if err != nil {
		return err
	}
	defer redis.stop()
	redisAddr := "127.0.0.1:" + strconv.Itoa(port)
	if err := waitFor(ctx, 10*time.Second, func() bool {
		c, err := net.Dial("tcp", redisAddr)
		if err != nil {
			return false
		}
		c.Close()
		return true
	}); err != nil {
		return fmt.Errorf("redis-server did not listen: %w", err)
	}

	admin := randomHex(24)
	keysDir := filepath.Join(dir, "keys")
	if err := os.Mkdir(keysDir, 0o700); err != nil {
		return err
	}
	cmd := exec.Command(o.sigil, "serve")
	cmd.Env = []string{
		"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME"),
		"SIGIL_ADDR=127.0.0.1:0", "SIGIL_REDIS_URL=redis://" + redisAddr + "/0", "SIGIL_PEPPER=" + randomHex(32),
		"SIGIL_ADMIN_SECRET=" + admin, "SIGIL_KEYS_DIR=" + keysDir, "SIGIL_LOG_LEVEL=warn",
		// Without the heap floor the heap follows the live data (GOGC=100),
		// so RSS growth after the warm-up means a leak; with it, the heap
		// would legitimately fill up to the floor during the run.
		"SIGIL_RUNTIME_GC_HEAP_FLOOR_MIB=0",
	}
	if o.cacheSize > 0 {
		cmd.Env = append(cmd.Env, "SIGIL_TOKENS_CACHE_SIZE="+strconv.Itoa(o.cacheSize))
	}
	// dev mode generates the key; the soak is about the process, not the config.
	sigilLog := filepath.Join(dir, "sigil.log")
	sig, err := start("sigil", cmd, sigilLog)
	if err != nil {
		return err
	}
	defer sig.stop()
	var base string
	if err := waitFor(ctx, 20*time.Second, func() bool {
		b, _ := os.ReadFile(sigilLog)
		if m := listenRE.FindSubmatch(b); m != nil {
			base = string(m[1])
			return true
		}
		return false
	}); err != nil {
		b, _ := os.ReadFile(sigilLog)
		return fmt.Errorf("sigil did not start: %w\n%s", err, b)
	}
	pid := sig.cmd.Process.Pid

	c := &client{base: base, admin: admin, http: &http.Client{
		Timeout:   10 * time.Second,
		Transport: &http.Transport{MaxIdleConnsPerHost: o.workers * 2},
	}}
	l, err := newLoad(ctx, c, o.pool, int64(o.tokenTTL/time.Second))
	if err != nil {
		return err
	}

	fmt.Printf("soak: sigil %s (pid %d) on redis %s; %d req/s from %d workers for %s (warm-up %s, sample every %s)\n",
		base, pid, redisAddr, o.rate, o.workers, o.duration, o.warmup, o.sample)
	fmt.Printf("mix: 45%% verify embed, 20%% verify registered, 20%% mint, 10%% invalidate, 5%% verify revoked; tokens live %s, token cache %d\n",
		o.tokenTTL, o.cacheSize)
	fmt.Printf("machine: %s, %d CPUs, %s\n\n", runtime.GOOS+"/"+runtime.GOARCH, runtime.NumCPU(), runtime.Version())

	loadCtx, cancel := context.WithTimeout(ctx, o.duration)
	defer cancel()
	ticks := make(chan struct{}, o.workers)
	go pace(loadCtx, o.rate, ticks)
	var wg sync.WaitGroup
	for w := 0; w < o.workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range ticks {
				l.one(loadCtx)
			}
		}()
	}

	header := fmt.Sprintf("%8s %9s %6s %8s %8s %9s %7s %5s %10s %9s", "t", "requests", "errors", "req/s", "p50", "p99", "RSS", "fds", "goroutines", "denylist")
	fmt.Println(header)
	var samples []sample
	startAt := time.Now()
	next := startAt.Add(o.sample)
	for {
		select {
		case <-loadCtx.Done():
		case <-time.After(time.Until(next)):
		}
		s, err := takeSample(c, pid, l, time.Since(startAt))
		if err != nil {
			cancel()
			wg.Wait()
			return err
		}
		samples = append(samples, s)
		fmt.Println(s.row())
		next = next.Add(o.sample)
		if loadCtx.Err() != nil {
			break
		}
	}
	cancel()
	wg.Wait()
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return verdict(o, samples, l)
}

// pace sends rate ticks a second into ticks until ctx ends, then closes it;
// a tick no worker is free for is skipped, so the rate is a ceiling.
func pace(ctx context.Context, rate int, ticks chan<- struct{}) {
	defer close(ticks)
	every := time.Second / time.Duration(rate)
	t := time.NewTicker(max(every, time.Millisecond))
	defer t.Stop()
	per := max(1, int(time.Millisecond/every)) // ticks per timer fire when rate > 1000
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			for i := 0; i < per; i++ {
				select {
				case ticks <- struct{}{}:
				default:
				}
			}
		}
	}
}

func waitFor(ctx context.Context, timeout time.Duration, cond func() bool) error {
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			return fmt.Errorf("timed out after %s", timeout)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
	return nil
}

// client talks to sigil's HTTP API.
type client struct {
	base, admin string
	http        *http.Client
}

func (c *client) do(ctx context.Context, method, path, body string, hdr ...string) (int, []byte, error) {
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	if err != nil {
		return 0, nil, err
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, b, err
}

func (c *client) asAdmin(ctx context.Context, method, path, body string) (int, []byte, error) {
	req, _ := http.NewRequest(method, "/", nil)
	req.SetBasicAuth("admin", c.admin)
	return c.do(ctx, method, path, body, "Authorization", req.Header.Get("Authorization"))
}

// load is the mixed workload and what it has seen.
type load struct {
	c      *client
	secret string
	ttl    int64 // tokenExpiry of minted tokens, seconds

	mu         sync.Mutex
	pool       []string        // live embed tokens
	revoked    []string        // invalidated embed tokens to re-check (a bounded sample)
	revokedSet map[string]bool // every invalidated embed token
	registered []string        // registered report tokens
	lat        []time.Duration // latencies since the last sample
	requests   atomic.Int64
	errors     atomic.Int64
	lastErr    atomic.Value
}

func newLoad(ctx context.Context, c *client, pool int, ttl int64) (*load, error) {
	st, b, err := c.asAdmin(ctx, http.MethodPost, "/api/clients", `{"id":"soak","resources":["dashboard:soak"]}`)
	if err != nil || st != http.StatusCreated {
		return nil, fmt.Errorf("create client: %d %s %v", st, b, err)
	}
	var cl struct {
		Secret string `json:"secret"`
	}
	if err := json.Unmarshal(b, &cl); err != nil {
		return nil, err
	}
	l := &load{c: c, secret: cl.Secret, ttl: ttl, revokedSet: map[string]bool{}}
	for i := 0; i < pool; i++ {
		tok, err := l.mint(ctx)
		if err != nil {
			return nil, err
		}
		l.pool = append(l.pool, tok)
	}
	for i := 0; i < 20; i++ {
		st, b, err := c.asAdmin(ctx, http.MethodPost, "/api/tokens",
			fmt.Sprintf(`{"type":"report","reportId":"r%d","name":"soak-%d","owner":"soak"}`, i, i))
		var rec struct {
			Token string `json:"token"`
		}
		if err != nil || st != http.StatusCreated || json.Unmarshal(b, &rec) != nil || rec.Token == "" {
			return nil, fmt.Errorf("create registered token: %d %s %v", st, b, err)
		}
		l.registered = append(l.registered, rec.Token)
	}
	return l, nil
}

func (l *load) mint(ctx context.Context) (string, error) {
	st, b, err := l.c.do(ctx, http.MethodPost, "/api/v1/token", fmt.Sprintf(`{"dashboardId":"soak","dashboardSecret":%q,"tokenExpiry":%d}`, l.secret, l.ttl))
	var out struct {
		AccessToken string `json:"accessToken"`
	}
	if err != nil || st != http.StatusOK || json.Unmarshal(b, &out) != nil || out.AccessToken == "" {
		return "", fmt.Errorf("mint: %d %.200s %v", st, b, err)
	}
	return out.AccessToken, nil
}

// one runs one operation of the mix and checks its answer.
func (l *load) one(ctx context.Context) {
	start := time.Now()
	err := l.op(ctx, mrand.IntN(100))
	if ctx.Err() != nil {
		return // cut off by the end of the run: not counted
	}
	d := time.Since(start)
	l.requests.Add(1)
	if err != nil {
		l.errors.Add(1)
		l.lastErr.Store(err.Error())
	}
	l.mu.Lock()
	l.lat = append(l.lat, d)
	l.mu.Unlock()
}

func (l *load) op(ctx context.Context, n int) error {
	l.mu.Lock()
	i := mrand.IntN(len(l.pool))
	tok := l.pool[i]
	reg := l.registered[mrand.IntN(len(l.registered))]
	var dead string
	if len(l.revoked) > 0 {
		dead = l.revoked[mrand.IntN(len(l.revoked))]
	}
	l.mu.Unlock()
	bearer := func(t string) []string { return []string{"Authorization", "Bearer " + t} }
	switch {
	case n < 45: // verify a pool token: 200, or 401 if it was invalidated or has expired
		st, _, err := l.c.do(ctx, http.MethodGet, "/api/v1/verify", "", bearer(tok)...)
		if err != nil {
			return err
		}
		if st != http.StatusOK && !(st == http.StatusUnauthorized && (l.isRevoked(tok) || expired(tok))) {
			return fmt.Errorf("verify: status %d", st)
		}
	case n < 65:
		st, _, err := l.c.do(ctx, http.MethodGet, "/api/v1/verify", "", bearer(reg)...)
		if err != nil {
			return err
		}
		if st != http.StatusOK {
			return fmt.Errorf("verify registered: status %d", st)
		}
	case n < 85: // mint a token into the pool
		t, err := l.mint(ctx)
		if err != nil {
			return err
		}
		l.mu.Lock()
		l.pool[mrand.IntN(len(l.pool))] = t
		l.mu.Unlock()
	case n < 95: // invalidate a pool token and replace it
		st, _, err := l.c.do(ctx, http.MethodPost, "/api/v1/invalidate-token", "", bearer(tok)...)
		if err != nil {
			return err
		}
		if st != http.StatusNoContent && !(st == http.StatusUnauthorized && expired(tok)) {
			return fmt.Errorf("invalidate: status %d", st)
		}
		l.mu.Lock()
		l.revokedSet[tok] = true
		if l.pool[i] == tok {
			l.pool[i] = l.pool[(i+1)%len(l.pool)]
		}
		if len(l.revoked) < 1000 {
			l.revoked = append(l.revoked, tok)
		} else {
			l.revoked[mrand.IntN(len(l.revoked))] = tok
		}
		l.mu.Unlock()
	default: // an invalidated token stays rejected
		if dead == "" {
			return nil
		}
		st, _, err := l.c.do(ctx, http.MethodGet, "/api/v1/verify", "", bearer(dead)...)
		if err != nil {
			return err
		}
		if st != http.StatusUnauthorized {
			return fmt.Errorf("verify of an invalidated token: status %d", st)
		}
	}
	return nil
}

// expired reports whether tok's exp has passed (or is within a second).
func expired(tok string) bool {
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		return false
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return false
	}
	var c struct {
		Exp int64 `json:"exp"`
	}
	return json.Unmarshal(b, &c) == nil && c.Exp > 0 && c.Exp <= time.Now().Unix()+1
}

func (l *load) isRevoked(tok string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.revokedSet[tok]
}

// sample is one line of the report.
type sample struct {
	at                 time.Duration
	requests, errors   int64
	rps                float64
	p50, p99           time.Duration
	rssKiB, threads    int64
	fds                int
	goroutines, denied int64
}

func (s sample) row() string {
	return fmt.Sprintf("%8s %9d %6d %8.0f %8s %9s %7s %5d %10d %9d", s.at.Round(time.Second), s.requests, s.errors, s.rps,
		s.p50.Round(time.Microsecond), s.p99.Round(time.Microsecond), fmt.Sprintf("%.1fM", float64(s.rssKiB)/1024), s.fds, s.goroutines, s.denied)
}

var lastSample struct {
	at       time.Duration
	requests int64
}

func takeSample(c *client, pid int, l *load, at time.Duration) (sample, error) {
	s := sample{at: at, requests: l.requests.Load(), errors: l.errors.Load()}
	s.rps = float64(s.requests-lastSample.requests) / (at - lastSample.at).Seconds()
	lastSample.at, lastSample.requests = at, s.requests
	l.mu.Lock()
	lat := l.lat
	l.lat = nil
	l.mu.Unlock()
	slices.Sort(lat)
	s.p50, s.p99 = percentile(lat, 0.50), percentile(lat, 0.99)

	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return s, fmt.Errorf("sigil is gone: %w", err)
	}
	sc := bufio.NewScanner(strings.NewReader(string(status)))
	for sc.Scan() {
		k, v, _ := strings.Cut(sc.Text(), ":")
		f := strings.Fields(v)
		if len(f) == 0 {
			continue
		}
		switch k {
		case "VmRSS":
			s.rssKiB, _ = strconv.ParseInt(f[0], 10, 64)
		case "Threads":
			s.threads, _ = strconv.ParseInt(f[0], 10, 64)
		}
	}
	fds, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	if err != nil {
		return s, fmt.Errorf("read fds: %w", err)
	}
	s.fds = len(fds)

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	st, b, err := c.do(ctx, http.MethodGet, "/metrics", "")
	if err != nil || st != http.StatusOK {
		return s, fmt.Errorf("metrics: %d %v", st, err)
	}
	m := parseMetrics(string(b))
	s.goroutines, s.denied = int64(m["go_goroutines"]), int64(m["sigil_denylist_entries"])
	return s, nil
}

func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(math.Ceil(p*float64(len(sorted)))) - 1
	return sorted[max(0, min(i, len(sorted)-1))]
}

// parseMetrics reads the label-less samples of a Prometheus text exposition.
func parseMetrics(text string) map[string]float64 {
	m := map[string]float64{}
	for _, line := range strings.Split(text, "\n") {
		if line == "" || line[0] == '#' || strings.Contains(line, "{") {
			continue
		}
		name, v, ok := strings.Cut(line, " ")
		if !ok {
			continue
		}
		if f, err := strconv.ParseFloat(strings.TrimSpace(v), 64); err == nil {
			m[name] = f
		}
	}
	return m
}

// verdict compares the first sample after the warm-up with the last one.
func verdict(o options, samples []sample, l *load) error {
	var first *sample
	for i := range samples {
		if samples[i].at >= o.warmup {
			first = &samples[i]
			break
		}
	}
	last := samples[len(samples)-1]
	if first == nil || first == &samples[len(samples)-1] {
		return errors.New("too few samples after the warm-up: lengthen -duration or shorten -sample")
	}
	fmt.Printf("\n%-12s %10s %10s %10s\n", "", "start", "end", "change")
	fmt.Printf("%-12s %10s %10s %+9.1f%%\n", "RSS", fmt.Sprintf("%.1f MiB", float64(first.rssKiB)/1024), fmt.Sprintf("%.1f MiB", float64(last.rssKiB)/1024),
		100*float64(last.rssKiB-first.rssKiB)/float64(first.rssKiB))
	fmt.Printf("%-12s %10d %10d %+10d\n", "goroutines", first.goroutines, last.goroutines, last.goroutines-first.goroutines)
	fmt.Printf("%-12s %10d %10d %+10d\n", "open fds", first.fds, last.fds, last.fds-first.fds)
	fmt.Printf("%-12s %10d %10d %+10d\n", "threads", first.threads, last.threads, last.threads-first.threads)
	fmt.Printf("%-12s %10s %10s\n", "p99", first.p99.Round(time.Microsecond), last.p99.Round(time.Microsecond))
	fmt.Printf("%-12s %10d %10d %+10d\n", "denylist", first.denied, last.denied, last.denied-first.denied)
	fmt.Printf("requests %d, unexpected answers %d\n", last.requests, last.errors)

	var problems []string
	if last.errors > 0 {
		e, _ := l.lastErr.Load().(string)
		problems = append(problems, fmt.Sprintf("%d requests got an unexpected answer (last: %s)", last.errors, e))
	}
	if growth := float64(last.rssKiB-first.rssKiB) / float64(first.rssKiB); growth > o.maxRSSGrowth {
		problems = append(problems, fmt.Sprintf("RSS grew %.0f%% (limit %.0f%%)", 100*growth, 100*o.maxRSSGrowth))
	}
	if d := last.goroutines - first.goroutines; d > int64(o.maxGoroutines) {
		problems = append(problems, fmt.Sprintf("goroutines grew by %d (limit %d)", d, o.maxGoroutines))
	}
	if d := last.fds - first.fds; d > o.maxFDs {
		problems = append(problems, fmt.Sprintf("open fds grew by %d (limit %d)", d, o.maxFDs))
	}
	if len(problems) > 0 {
		return errors.New(strings.Join(problems, "; "))
	}
	fmt.Println("flat: within the limits")
	return nil
}
