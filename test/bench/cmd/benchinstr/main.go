// Command benchinstr prints instructions per request for sigil's hot paths
// and their baselines (make bench-instr, also run by make bench): each
// sub-benchmark of internal/httpapi's BenchmarkHotPath runs under valgrind
// --tool=callgrind at two iteration counts, and the difference of the
// instructions executed, divided by the difference of the counts, is the
// cost of one request. Setup (building the stack, minting the pool of
// tokens) is the same in both runs and cancels out.
//
// The runs are made deterministic: GOGC=off (no collection cycles, whose
// timing depends on the machine; allocation itself is still counted),
// GOMAXPROCS=1 and GODEBUG=asyncpreemptoff=1 (callgrind cannot deliver Go's
// preemption signals). What the figure leaves out is the network stack and
// the garbage collector's background work; what it keeps is every
// instruction of the handler, middleware, decoding, crypto and allocation.
//
//	benchinstr -test bin/httpapi.bench [-n1 100] [-n2 1100] [-repeat 1] [-only REGEXP] [-out FILE]
package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"time"

	"golang.org/x/text/language"
	"golang.org/x/text/message"
)

// benches are BenchmarkHotPath's sub-benchmarks, sigil's beside their baselines.
var benches = []string{
	"noop", "verify-warm", "verify-warm-10k", "introspect",
	"bare-verify-EdDSA", "verify-cold-EdDSA", "bare-verify-ES256", "verify-cold-ES256",
	"bare-sign-EdDSA", "mint-EdDSA", "bare-sign-ES256", "mint-ES256",
}

// optIn are benchmarks measured only when -only names them: their setup
// (10,000 tokens minted and verified under valgrind) takes minutes.
var optIn = map[string]bool{"verify-warm-10k": true}

// ratios compare a sigil row with its baseline: baseline ÷ sigil, so that
// 1.00 means "costs what the baseline costs", like make bench's vs columns.
var ratios = []struct{ row, base string }{
	{"verify-warm", "noop"}, {"introspect", "noop"},
	{"verify-cold-EdDSA", "bare-verify-EdDSA"}, {"verify-cold-ES256", "bare-verify-ES256"},
	{"mint-EdDSA", "bare-sign-EdDSA"}, {"mint-ES256", "bare-sign-ES256"},
}

type result struct {
	name   string
	perReq []float64 // one per repeat
	// misses are the cache simulation's read misses per request (-cache):
	// D1mr and DLmr, of the last repeat.
	d1, ll        float64
	allocs, bytes string
}

func main() {
	test := flag.String("test", "bin/httpapi.bench", "test binary of ./internal/httpapi (go test -c)")
	n1 := flag.Int("n1", 100, "iterations of the first run")
	n2 := flag.Int("n2", 1100, "iterations of the second run")
	repeat := flag.Int("repeat", 1, "measure each benchmark this many times (the spread is printed)")
	only := flag.String("only", "", "measure only the benchmarks matching this regexp")
	out := flag.String("out", "", "also write the report to this markdown file")
	flag.BoolVar(&cacheSim, "cache", false, "also simulate the caches (--cache-sim=yes) and print D1 and LL data read misses per request")
	flag.StringVar(&llCache, "ll", "", "with -cache: the last-level cache simulated, size,associativity,line (e.g. 4194304,16,64); default the host's")
	flag.Parse()
	if err := run(*test, *n1, *n2, *repeat, *only, *out); err != nil {
		fmt.Fprintln(os.Stderr, "benchinstr:", err)
		os.Exit(1)
	}
}

func run(test string, n1, n2, repeat int, only, out string) error {
	if n2 <= n1 || n1 < 1 || repeat < 1 {
		return errors.New("want 1 ≤ -n1 < -n2 and -repeat ≥ 1")
	}
	if _, err := exec.LookPath("valgrind"); err != nil {
		return errors.New("valgrind not found (make bench-instr installs it with apt-get)")
	}
	var re *regexp.Regexp
	if only != "" {
		var err error
		if re, err = regexp.Compile(only); err != nil {
			return fmt.Errorf("-only: %w", err)
		}
	}
	start := time.Now()
	res := map[string]*result{}
	var order []string
	for _, name := range benches {
		if re != nil && !re.MatchString(name) || re == nil && optIn[name] {
			continue
		}
		r := &result{name: name}
		for range repeat {
			i1, _, err := collect(test, name, n1)
			if err != nil {
				return err
			}
			i2, line, err := collect(test, name, n2)
			if err != nil {
				return err
			}
			r.perReq = append(r.perReq, float64(i2["Ir"]-i1["Ir"])/float64(n2-n1))
			r.d1 = float64(i2["D1mr"]-i1["D1mr"]) / float64(n2-n1)
			r.ll = float64(i2["DLmr"]-i1["DLmr"]) / float64(n2-n1)
			r.bytes, r.allocs = benchMem(line)
		}
		if cacheSim {
			fmt.Fprintf(os.Stderr, "[%6.1fs] %s: %s instructions/request, %.1f D1 and %.1f LL read misses/request\n",
				time.Since(start).Seconds(), name, fmtInstr(r.perReq), r.d1, r.ll)
		} else {
			fmt.Fprintf(os.Stderr, "[%6.1fs] %s: %s instructions/request\n", time.Since(start).Seconds(), name, fmtInstr(r.perReq))
		}
		res[name] = r
		order = append(order, name)
	}

	var b strings.Builder
	fmt.Fprintf(&b, "## Instructions per request (callgrind, in-process)\n\n")
	if cacheSim {
		fmt.Fprintf(&b, "| benchmark | instructions/request | D1 read misses/request | LL read misses/request | B/op | allocs/op |\n|---|---:|---:|---:|---:|---:|\n")
	} else {
		fmt.Fprintf(&b, "| benchmark | instructions/request | B/op | allocs/op |\n|---|---:|---:|---:|\n")
	}
	for _, name := range order {
		r := res[name]
		if cacheSim {
			fmt.Fprintf(&b, "| %s | %s | %.1f | %.1f | %s | %s |\n", name, fmtInstr(r.perReq), r.d1, r.ll, r.bytes, r.allocs)
			continue
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s |\n", name, fmtInstr(r.perReq), r.bytes, r.allocs)
	}
	var lines []string
	for _, q := range ratios {
		r, base := res[q.row], res[q.base]
		if r == nil || base == nil {
			continue
		}
		lines = append(lines, fmt.Sprintf("| %s vs %s | %.2f | %s |", q.row, q.base,
			mean(base.perReq)/mean(r.perReq), moreOrFewer(int64(mean(r.perReq)-mean(base.perReq)))))
	}
	if len(lines) > 0 {
		fmt.Fprintf(&b, "\n| ratio (baseline ÷ sigil instructions) | ratio | sigil's own work |\n|---|---:|---:|\n%s\n", strings.Join(lines, "\n"))
	}
	fmt.Fprintf(&b, "\nEach figure: (instructions at %d iterations − at %d) ÷ %d, under `valgrind --tool=callgrind` with GOGC=off GOMAXPROCS=1 "+
		"GODEBUG=asyncpreemptoff=1 (`%s -test.bench '^BenchmarkHotPath/NAME$' -test.benchtime Nx`). "+
		"In-process: no network stack, no background GC work, so the ratios are lower than the HTTP table's; compare them between commits.",
		n2, n1, n2-n1, test)
	if repeat > 1 {
		fmt.Fprintf(&b, " %d measurements each, shown as min–max.", repeat)
	}
	b.WriteString("\n")
	fmt.Print(b.String())
	if out != "" {
		return os.WriteFile(out, []byte(b.String()), 0o644)
	}
	return nil
}

// cacheSim is -cache: callgrind also simulates the caches (the host's
// sizes, no prefetcher), and the report adds data read misses per request.
var cacheSim bool

// llCache is -ll: callgrind's --LL (the host's last level is shared with
// other processes in production; a smaller one shows the misses a working
// set larger than its share of the cache costs).
var llCache string

var (
	eventsRe    = regexp.MustCompile(`Events\s*:\s*(.+)`)
	collectedRe = regexp.MustCompile(`Collected\s*:\s*(.+)`)
	benchLineRe = regexp.MustCompile(`(?m)^BenchmarkHotPath/\S+.*$`)
)

// collect runs one sub-benchmark for n iterations under callgrind and
// returns the events counted (Ir: instructions executed; with -cache also
// D1mr, DLmr...) and the benchmark's result line.
func collect(test, name string, n int) (map[string]int64, string, error) {
	args := []string{"--tool=callgrind", "--callgrind-out-file=/dev/null"}
	if cacheSim {
		args = append(args, "--cache-sim=yes")
		if llCache != "" {
			args = append(args, "--LL="+llCache)
		}
	}
	cmd := exec.Command("valgrind", append(args,
		test, "-test.run", "^$", "-test.bench", "^BenchmarkHotPath/"+regexp.QuoteMeta(name)+"$",
		"-test.benchtime", strconv.Itoa(n)+"x", "-test.benchmem")...)
	cmd.Env = append(os.Environ(), "GOGC=off", "GOMAXPROCS=1", "GODEBUG=asyncpreemptoff=1")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return nil, "", fmt.Errorf("%s ×%d: %w\n%s%s", name, n, err, stdout.String(), tail(stderr.String()))
	}
	m := collectedRe.FindStringSubmatch(stderr.String())
	line := benchLineRe.FindString(stdout.String())
	if m == nil || line == "" {
		return nil, "", fmt.Errorf("%s ×%d: no instruction count or no benchmark line\n%s%s", name, n, stdout.String(), tail(stderr.String()))
	}
	names := []string{"Ir"}
	if e := eventsRe.FindStringSubmatch(stderr.String()); e != nil {
		names = strings.Fields(e[1])
	}
	events := map[string]int64{}
	for i, f := range strings.Fields(m[1]) {
		if i >= len(names) {
			break
		}
		v, err := strconv.ParseInt(f, 10, 64)
		if err != nil {
			return nil, "", fmt.Errorf("%s ×%d: event %s: %w", name, n, names[i], err)
		}
		events[names[i]] = v
	}
	if _, ok := events["Ir"]; !ok {
		return nil, "", fmt.Errorf("%s ×%d: no Ir event in %q", name, n, m[0])
	}
	return events, line, nil
}

// benchMem reads B/op and allocs/op from a benchmark line.
func benchMem(line string) (bytes, allocs string) {
	f := strings.Fields(line)
	for i := 1; i < len(f); i++ {
		switch f[i] {
		case "B/op":
			bytes = f[i-1]
		case "allocs/op":
			allocs = f[i-1]
		}
	}
	return bytes, allocs
}

func tail(s string) string {
	if len(s) > 2000 {
		return "…" + s[len(s)-2000:]
	}
	return s
}

func mean(v []float64) float64 {
	s := 0.0
	for _, x := range v {
		s += x
	}
	return s / float64(len(v))
}

func fmtInstr(v []float64) string {
	lo, hi := v[0], v[0]
	for _, x := range v {
		lo, hi = min(lo, x), max(hi, x)
	}
	if len(v) == 1 || int64(lo) == int64(hi) {
		return fmtInt(int64(lo + 0.5))
	}
	return fmtInt(int64(lo+0.5)) + "–" + fmtInt(int64(hi+0.5)) + fmt.Sprintf(" (±%.2f%%)", 50*(hi-lo)/mean(v))
}

// fmtInt groups thousands: 1234567 → "1,234,567".
func fmtInt(n int64) string { return english.Sprintf("%d", n) }

var english = message.NewPrinter(language.English)

// moreOrFewer says how many instructions sigil runs beyond its baseline:
// "1,234 more", or "1,234 fewer" where it runs fewer.
func moreOrFewer(d int64) string {
	if d < 0 {
		return fmtInt(-d) + " fewer"
	}
	return fmtInt(d) + " more"
}
