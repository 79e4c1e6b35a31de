package main

import (
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"time"

	"golang.org/x/text/language"
	"golang.org/x/text/message"
)

// fmtLatency formats microseconds: "612 µs" below a millisecond, else ms.
func fmtLatency(us float64) string {
	if us < 1000 {
		return fmt.Sprintf("%.0f µs", us)
	}
	return fmt.Sprintf("%.2f ms", us/1000)
}

func fmtDuration(d time.Duration) string {
	switch {
	case d < time.Millisecond:
		return fmt.Sprintf("%d µs", d.Microseconds())
	case d < time.Second:
		return fmt.Sprintf("%.2f ms", float64(d)/float64(time.Millisecond))
	default:
		return fmt.Sprintf("%.2f s", d.Seconds())
	}
}

func fmtMiB(kib int64) string { return fmt.Sprintf("%.1f MiB", float64(kib)/1024) }

// fmtInt groups thousands: 1234567 → "1,234,567".
func fmtInt(n int64) string { return english.Sprintf("%d", n) }

var english = message.NewPrinter(language.English)

// table renders a markdown table with padded columns; right aligns numeric columns.
func table(header []string, right []bool, rows [][]string) string {
	w := make([]int, len(header))
	for i, h := range header {
		w[i] = len([]rune(h))
	}
	for _, r := range rows {
		for i, c := range r {
			w[i] = max(w[i], len([]rune(c)))
		}
	}
	pad := func(s string, i int) string {
		n := w[i] - len([]rune(s))
		if right[i] {
			return strings.Repeat(" ", n) + s
		}
		return s + strings.Repeat(" ", n)
	}
	var b strings.Builder
	line := func(cells []string) {
		b.WriteString("|")
		for i, c := range cells {
			b.WriteString(" " + pad(c, i) + " |")
		}
		b.WriteString("\n")
	}
	line(header)
	b.WriteString("|")
	for i := range header {
		if right[i] {
			b.WriteString(strings.Repeat("-", w[i]+1) + ":|")
		} else {
			b.WriteString(strings.Repeat("-", w[i]+2) + "|")
		}
	}
	b.WriteString("\n")
	for _, r := range rows {
		line(r)
	}
	return b.String()
}

func (r *runner) report(rows []row, prop *propagationResult, deny *denylistResult) string {
	var b strings.Builder
	fmt.Fprintf(&b, "## sigil HTTP benchmark\n\n")

	byName := map[string]row{}
	for _, rw := range rows {
		byName[rw.name] = rw
	}
	// The GET baseline of the vs noop column, not noop-introspect.
	noop, haveNoop := byName["noop"]
	var cells [][]string
	var notes []string
	for _, rw := range rows {
		vsNoop := "n/a"
		if r, ok := ratioOf(rw, noop, rps); haveNoop && ok {
			vsNoop = r.String()
		}
		non2xx := fmtInt(rw.res.Non2xx)
		if rw.res.Requests > 0 {
			non2xx += fmt.Sprintf(" (%.2f%%)", 100*float64(rw.res.Non2xx)/float64(rw.res.Requests))
		}
		others := "n/a"
		if rw.others >= 0 {
			others = fmt.Sprintf("%.0f%%", rw.others)
		}
		vsBase := ""
		if b, ok := byName[rw.base]; ok && rw.base != "noop" {
			if r, ok := ratioOf(rw, b, rps); ok {
				vsBase = fmt.Sprintf("%s × %s", r, rw.base)
			}
		}
		cells = append(cells, []string{
			rw.name, fmtInt(int64(rw.res.RPS + 0.5)), fmtLatency(rw.res.P50), fmtLatency(rw.res.P99), vsNoop, vsBase,
			rw.res.perRequest(rw.res.ServerCPU), rw.res.perRequest(rw.res.CPU),
			non2xx, fmtInt(rw.res.SocketErrors()), others,
		})
		if rw.attempts > len(rw.rounds) && len(rw.rounds) > 0 {
			notes = append(notes, fmt.Sprintf("%s: measured %d times because other processes were busy; the least disturbed run is shown", rw.name, rw.attempts))
		}
		if rw.others > maxOthersPct {
			notes = append(notes, fmt.Sprintf("%s: other processes used %.0f%% of the CPUs during the run shown: its numbers are skewed", rw.name, rw.others))
		}
		if rw.res.Non2xx > 0 && rw.expect == "" {
			notes = append(notes, fmt.Sprintf("%s: %d non-2xx answers where none were expected (see the sigil log)", rw.name, rw.res.Non2xx))
		}
		if rw.expect != "" && rw.res.Requests > 0 {
			if pct := 100 * float64(rw.res.Non2xx) / float64(rw.res.Requests); pct < 0.5 || pct > 1.5 {
				notes = append(notes, fmt.Sprintf("%s: %.2f%% non-2xx, expected ≈1%% (%s)", rw.name, pct, rw.expect))
			}
		}
		if e := rw.res.SocketErrors(); e > 0 {
			notes = append(notes, fmt.Sprintf("%s: socket errors connect %d, read %d, write %d, timeout %d",
				rw.name, rw.res.SockConnect, rw.res.SockRead, rw.res.SockWrite, rw.res.SockTimeout))
		}
	}
	b.WriteString(table(
		[]string{"scenario", "requests/s", "p50", "p99", "vs noop", "vs baseline", "server CPU/req", "wrk CPU/req", "non-2xx", "socket errors", "others' CPU"},
		[]bool{false, true, true, true, true, true, true, true, true, true, true}, cells))
	fmt.Fprintf(&b, "\nvs noop = requests/s ÷ the noop row's, same run; vs baseline = requests/s ÷ the named baseline row's (bare-verify: golang-jwt parse and check only; bare-sign: decode {\"sub\"} and sign a fixed claim set; same key, same wrk load). "+
		"non-2xx in the verify rows are the 1%% revoked tokens (401) among the %s rotated. "+
		"server CPU/req and wrk CPU/req = user + system CPU time of the measured server and of wrk during the run ÷ requests completed (10 ms /proc resolution): with both processes on the same cores, requests/s follow their sum. "+
		"others' CPU = CPU used during the run by processes outside the benchmark (and steal), in %% of all CPUs: above a few %% the row is skewed.\n",
		fmtInt(int64(len(r.tokens))))
	if r.o.rounds > 1 {
		fmt.Fprintf(&b, "Each figure is the median of %d rounds of the whole table (one after the other); each ratio is the median of the rounds' ratios, each taken within its round, with the lowest and highest in brackets.\n", r.o.rounds)
	}
	for _, n := range notes {
		fmt.Fprintf(&b, "- NOTE %s\n", n)
	}

	b.WriteString(targets(byName))

	if prop != nil || deny != nil {
		fmt.Fprintf(&b, "\n### Redis-backed measurements\n\n")
	}
	if prop != nil {
		b.WriteString(propagationText(*prop))
	}
	if deny != nil {
		b.WriteString(denylistText(*deny))
	}
	b.WriteString(r.setupText())
	return b.String()
}

// targets compares each row with its target (issue #17) and says pass or
// MISS; a missed target is reported, not an error: wall-clock figures on a
// shared machine move by 10–30 %.
func targets(byName map[string]row) string {
	var cells [][]string
	add := func(target, measured string, ok bool) {
		verdict := "pass"
		if !ok {
			verdict = "MISS"
		}
		cells = append(cells, []string{target, measured, verdict})
	}
	for _, name := range []string{"verify-warm", "verify-cold-eddsa", "verify-cold-es256", "mint-eddsa", "mint-es256", "introspect"} {
		rw, ok1 := byName[name]
		base, ok2 := byName[rw.base]
		if !ok1 || !ok2 || rw.min == 0 {
			continue
		}
		r, ok := ratioOf(rw, base, rps)
		if !ok {
			continue
		}
		add(fmt.Sprintf("%s ≥ %.2f× %s", name, rw.min, rw.base), r.times(), r.median >= rw.min)
		if p, ok := ratioOf(rw, base, p99); ok && rw.maxP99 > 0 {
			add(fmt.Sprintf("%s p99 ≤ %.1f× %s's", name, rw.maxP99, rw.base),
				fmt.Sprintf("%s, %s vs %s", p.times(), fmtLatency(rw.res.P99), fmtLatency(base.res.P99)), p.median <= rw.maxP99)
		}
	}
	// How much of verify-warm's distance to the no-op is its answer's
	// transport: the no-op serving the same headers and body.
	if vw, ok := byName["verify-warm"]; ok {
		if na, ok := byName["noop-answer"]; ok {
			r, ok1 := ratioOf(vw, na, rps)
			nn, ok2 := ratioOf(na, byName["noop"], rps)
			if ok1 && ok2 {
				cells = append(cells, []string{"verify-warm ÷ noop-answer (the same answer, nothing verified)",
					fmt.Sprintf("%s; noop-answer ÷ noop %s", r.times(), nn.times()), "no target"})
			}
		}
	}
	// The floor of a verifier that caches 10 000 tokens: the no-op finding
	// each token's own answer in a map, nothing verified.
	if vw, ok := byName["verify-warm"]; ok {
		if nc, ok := byName["noop-cache"]; ok {
			r, ok1 := ratioOf(vw, nc, rps)
			nn, ok2 := ratioOf(nc, byName["noop"], rps)
			np, ok3 := ratioOf(nc, byName["noop"], p99)
			if ok1 && ok2 && ok3 {
				cells = append(cells, []string{"verify-warm ÷ noop-cache (10 000 answers looked up, nothing verified)",
					fmt.Sprintf("%s; noop-cache ÷ noop %s, p99 %s", r.times(), nn.times(), np.times()), "no target"})
			}
		}
	}
	// The same verify with one token repeated: what is left once the
	// cache's memory is no longer 10 000 tokens wide.
	if v1, ok := byName["verify-warm-1"]; ok {
		if r, ok := ratioOf(v1, byName["noop"], rps); ok {
			cells = append(cells, []string{"verify-warm-1 ÷ noop (one token repeated)", r.times(), "no target"})
		}
	}
	// Introspection against the GET no-op too, the stricter reading of
	// goal 4: there the baseline is spared the POST body net/http reads.
	if in, ok := byName["introspect"]; ok {
		if r, ok := ratioOf(in, byName["noop"], rps); ok && in.min > 0 {
			add(fmt.Sprintf("introspect ≥ %.2f× noop (a GET without a body)", in.min), r.times(), r.median >= in.min)
		}
	}
	for _, pair := range [][2]string{{"verify-warm", "verify-warm-memory"}, {"verify-cold-eddsa", "verify-cold-memory"}} {
		rd, ok1 := byName[pair[0]]
		mem, ok2 := byName[pair[1]]
		if !ok1 || !ok2 {
			continue
		}
		if r, ok := ratioOf(rd, mem, rps); ok {
			add(fmt.Sprintf("%s (Redis, replica) within 5%% of %s", pair[0], pair[1]), r.times(), r.median >= 0.95)
		}
	}
	if len(cells) == 0 {
		return ""
	}
	return "\n### Targets\n\n" + table([]string{"target", "measured", ""}, []bool{false, true, false}, cells) +
		"\nA MISS on a loaded machine (others' CPU above a few %) says little: run make bench again on a quiet one.\n"
}

func propagationText(prop propagationResult) string {
	var b strings.Builder
	fmt.Fprintf(&b, "- **propagation** (instances A and B on one Redis, revocation mode %s; %s tokens: verify on B → 200, invalidate on A → 204, then poll verify on B until 401, at most %s each): ",
		prop.mode, fmtInt(int64(prop.tokens)), propagationTimeout)
	if len(prop.delays) > 0 {
		fmt.Fprintf(&b, "delay from A's 204 to B's first 401 p50 %s, p99 %s, max %s; ",
			fmtDuration(percentile(prop.delays, 50)), fmtDuration(percentile(prop.delays, 99)), fmtDuration(prop.delays[len(prop.delays)-1]))
	}
	fmt.Fprintf(&b, "timeouts %d; tokens B still accepted after A's 204: %d; %s polls in all. The delay includes one verify round trip to B.\n",
		prop.timeouts, prop.stale, fmtInt(int64(prop.polls)))
	return b.String()
}

func denylistText(deny denylistResult) string {
	var b strings.Builder

	planted := "NO: the planted entry was not honoured, check the key format"
	if deny.plantedRevoked {
		planted = "yes (a real token whose jti was among them answers 401)"
	}
	fmt.Fprintf(&b, "- **denylist-%s** (entries written straight into Redis with a pipeline, SET sigil:deny:<id> <exp ms> + PEXPIREAT, 1 h ahead, + ZADD of its index member (key layout 2): %s; Redis used_memory %s; honoured: %s):\n",
		shortCount(deny.entries), fmtDuration(deny.write), deny.redisMemory, planted)
	for _, s := range []struct {
		label string
		s     startupSample
	}{{"empty denylist", deny.empty}, {fmtInt(int64(deny.entries)) + " entries", deny.full}} {
		loaded := ""
		if s.s.loaded != "" {
			loaded = "; sigil logged replica loaded: " + s.s.loaded
		}
		cpu := ""
		if s.s.cpuOK {
			cpu = fmt.Sprintf("; CPU until ready: sigil %s, redis-server %s, other processes %s (%.0f%% of the machine's %s)",
				fmtDuration(s.s.cpuSigil), fmtDuration(s.s.cpuRedis), fmtDuration(s.s.cpuOthers),
				100*float64(s.s.cpuOthers)/float64(max(s.s.cpuWindow, 1)), fmtDuration(s.s.cpuWindow))
		}
		fmt.Fprintf(&b, "  - %s: process start → /readyz 200 in %s; RSS %s when ready, %s after one verify%s%s\n",
			s.label, fmtDuration(s.s.ready), fmtMiB(s.s.rssReady), fmtMiB(s.s.rssVerified), loaded, cpu)
	}
	return b.String()
}

func (r *runner) setupText() string {
	var b strings.Builder

	fmt.Fprintf(&b, "\n### Setup\n\n")
	fmt.Fprintf(&b, "- machine: %s\n", machine())
	fmt.Fprintf(&b, "- tools: %s; %s; %s\n", runtime.Version(), firstLine("wrk", "-v"), firstLine("redis-server", "--version"))
	fmt.Fprintf(&b, "- command: `%s`\n", shellJoin(os.Args))
	fmt.Fprintf(&b, "- load: `wrk -t%d -c%d -d%s --latency -s rotate.lua URL -- VALUES METHOD BODY %d [HEADER ...]` for every row, after an unmeasured %s warm-up run with the same settings; each row has a fresh server process; wrk, the server and redis-server share the machine's CPUs\n",
		r.o.threads, r.o.connections, wrkDuration(r.o.duration), r.o.threads, warmupText(r.o.warmup))
	return b.String()
}

func warmupText(d time.Duration) string {
	if d <= 0 {
		return "0s (none)"
	}
	return wrkDuration(d)
}

func shortCount(n int) string {
	switch {
	case n >= 1_000_000 && n%1_000_000 == 0:
		return fmt.Sprintf("%dM", n/1_000_000)
	case n >= 1000 && n%1000 == 0:
		return fmt.Sprintf("%dk", n/1000)
	}
	return strconv.Itoa(n)
}

// machine describes the CPUs: nproc and the model name from /proc/cpuinfo.
func machine() string {
	nproc := strconv.Itoa(runtime.NumCPU())
	if out, err := exec.Command("nproc").Output(); err == nil {
		nproc = strings.TrimSpace(string(out))
	}
	model := "unknown CPU"
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for line := range strings.SplitSeq(string(b), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				model = strings.TrimSpace(v)
				break
			}
		}
	}
	kernel := ""
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		kernel = ", Linux " + strings.TrimSpace(string(b))
	}
	return fmt.Sprintf("nproc %s, %s%s", nproc, model, kernel)
}

// firstLine is the first line a tool prints about itself (wrk -v exits 1).
func firstLine(name string, args ...string) string {
	out, _ := exec.Command(name, args...).CombinedOutput()
	line, _, _ := strings.Cut(strings.TrimSpace(string(out)), "\n")
	if line == "" {
		return name + " (version unknown)"
	}
	return strings.TrimSpace(line)
}

// shellJoin quotes args for a POSIX shell where needed.
func shellJoin(args []string) string {
	q := make([]string, len(args))
	for i, a := range args {
		if a != "" && strings.IndexFunc(a, func(r rune) bool {
			return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_./=:,@%+", r))
		}) < 0 {
			q[i] = a
			continue
		}
		q[i] = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
	}
	return strings.Join(q, " ")
}
