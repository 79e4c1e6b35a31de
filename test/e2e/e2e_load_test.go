package e2e_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// e2eOp is one request the load generator made.
type e2eOp struct {
	Kind       string // mint, verify, invalidate
	Start, End time.Time
	Status     int // 0 when the request failed without an answer
	Err        error
	Token      string // the token verified or invalidated
}

// e2eLoad is a bounded loop of mint + verify + invalidate + verify on
// loopback, run by a few workers against one sigil until Stop.
type e2eLoad struct {
	stop chan struct{}
	wg   sync.WaitGroup
	mu   sync.Mutex
	ops  []e2eOp
}

// e2eLoadMaxRounds bounds each worker's loop whatever happens.
const e2eLoadMaxRounds = 20000

var e2eLoadClient = &http.Client{Timeout: 15 * time.Second}

// e2eStartLoad starts workers goroutines that each loop (at most
// e2eLoadMaxRounds times, pausing 2ms between rounds): mint a token for
// dashboard id, verify it, invalidate it, verify it again. It stops them
// when the test ends if Stop was not called.
func e2eStartLoad(t testing.TB, base, id, secret string, workers int) *e2eLoad {
	t.Helper()
	l := &e2eLoad{stop: make(chan struct{})}
	for range workers {
		l.wg.Go(func() {
			for range e2eLoadMaxRounds {
				select {
				case <-l.stop:
					return
				case <-time.After(2 * time.Millisecond):
				}
				op := l.do("mint", http.MethodPost, base+"/api/v1/token",
					fmt.Sprintf(`{"dashboardId":%q,"dashboardSecret":%q}`, id, secret), "")
				if op.Status != http.StatusOK {
					continue
				}
				tok := op.Token
				l.do("verify", http.MethodGet, base+"/api/v1/verify", "", tok)
				l.do("invalidate", http.MethodPost, base+"/api/v1/invalidate-token", "", tok)
				l.do("verify", http.MethodGet, base+"/api/v1/verify", "", tok)
			}
		})
	}
	t.Cleanup(func() { l.Stop() })
	return l
}

// do sends one request and records it; for a mint, Token is the minted token.
func (l *e2eLoad) do(kind, method, url, body, tok string) e2eOp {
	op := e2eOp{Kind: kind, Token: tok, Start: time.Now()}
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, url, rd)
	if err == nil {
		if body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		if tok != "" {
			req.Header.Set("Authorization", "Bearer "+tok)
		}
		var resp *http.Response
		if resp, err = e2eLoadClient.Do(req); err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			op.Status = resp.StatusCode
			if kind == "mint" && resp.StatusCode == http.StatusOK {
				var out struct {
					AccessToken string `json:"accessToken"`
				}
				_ = json.Unmarshal(b, &out)
				op.Token = out.AccessToken
			}
		}
	}
	op.Err, op.End = err, time.Now()
	l.mu.Lock()
	l.ops = append(l.ops, op)
	l.mu.Unlock()
	return op
}

// Stop ends the loop, waits for the workers and returns every op; it is idempotent.
func (l *e2eLoad) Stop() []e2eOp {
	l.mu.Lock()
	select {
	case <-l.stop:
	default:
		close(l.stop)
	}
	l.mu.Unlock()
	l.wg.Wait()
	return l.Ops()
}

// Ops returns the ops recorded so far.
func (l *e2eLoad) Ops() []e2eOp {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]e2eOp(nil), l.ops...)
}

// WaitOps waits (bounded) until at least n ops of kind answered status.
func (l *e2eLoad) WaitOps(t testing.TB, kind string, status, n int) {
	t.Helper()
	e2eEventually(t, 20*time.Second, fmt.Sprintf("%d %s answering %d under load", n, kind, status), func() bool {
		return len(e2eFilter(l.Ops(), kind, status)) >= n
	})
}

// e2eFilter returns the ops of kind with status (any status when status < 0).
func e2eFilter(ops []e2eOp, kind string, status int) []e2eOp {
	var out []e2eOp
	for _, op := range ops {
		if op.Kind == kind && (status < 0 || op.Status == status) {
			out = append(out, op)
		}
	}
	return out
}

// e2eStatusCounts summarises ops of kind as "status:count ...".
func e2eStatusCounts(ops []e2eOp, kind string) string {
	m := map[int]int{}
	for _, op := range e2eFilter(ops, kind, -1) {
		m[op.Status]++
	}
	keys := make([]int, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Ints(keys)
	var b strings.Builder
	for _, k := range keys {
		fmt.Fprintf(&b, "%d:%d ", k, m[k])
	}
	return strings.TrimSpace(b.String())
}

// e2eJTI returns a token's jti (payload decoded, not verified).
func e2eJTI(t testing.TB, tok string) string {
	t.Helper()
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		t.Fatalf("not a compact JWT: %d segments", len(parts))
	}
	raw, err := e2eB64(parts[1])
	if err != nil {
		t.Fatalf("token payload: %v", err)
	}
	var c struct {
		JTI string `json:"jti"`
	}
	if err := json.Unmarshal(raw, &c); err != nil || c.JTI == "" {
		t.Fatalf("token payload has no jti (%v)", err)
	}
	return c.JTI
}

var e2eGoroutinesRE = regexp.MustCompile(`(?m)^go_goroutines (\d+)`)

// e2eGoroutines reads go_goroutines from the instance's /metrics.
func e2eGoroutines(t testing.TB, base string) int {
	t.Helper()
	r := e2eDo(t, http.MethodGet, base+"/metrics", "", nil)
	m := e2eGoroutinesRE.FindStringSubmatch(r.Body)
	if r.Status != http.StatusOK || m == nil {
		t.Fatalf("/metrics: status %d, no go_goroutines", r.Status)
	}
	n, _ := strconv.Atoi(m[1])
	return n
}

// e2ePercentile returns the p-th percentile (0..100) of ds by nearest rank.
func e2ePercentile(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	i := int(float64(len(s))*p/100+0.5) - 1
	return s[min(max(i, 0), len(s)-1)]
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
