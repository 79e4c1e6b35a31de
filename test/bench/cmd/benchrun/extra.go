package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	goredis "github.com/redis/go-redis/v9"

	revredis "github.com/sigil-dev/sigil/internal/revocation/redis"
)

// propagationResult is measurement 7.
type propagationResult struct {
	tokens   int
	delays   []time.Duration // sorted, tokens that reached 401
	timeouts int
	stale    int // tokens B still accepted (200) at least once after A's 204
	polls    int // verify requests sent to B after the 204s
	mode     string
}

// propagationTimeout bounds the wait for one token's revocation to reach B.
const propagationTimeout = 2 * time.Second

// propagation starts instances A and B on the same Redis, mints tokens on A
// and, for each, checks it on B (200), invalidates it on A and polls B until
// it answers 401. The delay runs from A's 204 to B's first 401, so it
// includes one verify round trip to B.
func (r *runner) propagation(ctx context.Context) (propagationResult, error) {
	res := propagationResult{tokens: r.o.propagation, mode: "replica (default)"}
	srvA, a, err := r.startSigil(ctx, "sigil-prop-A", r.redis.URL())
	if err != nil {
		return res, err
	}
	defer srvA.stop()
	srvB, b, err := r.startSigil(ctx, "sigil-prop-B", r.redis.URL())
	if err != nil {
		return res, err
	}
	defer srvB.stop()

	r.progress("propagation: minting %d tokens on A", r.o.propagation)
	toks, err := a.mintMany(ctx, dashboardID, r.dashSecret, r.o.propagation)
	if err != nil {
		return res, err
	}
	r.progress("propagation: invalidate on A, poll B until 401")
	for _, tok := range toks {
		if err := b.expectVerify(ctx, tok, http.StatusOK); err != nil {
			return res, fmt.Errorf("before invalidation: %w", err)
		}
		if err := a.invalidate(ctx, tok); err != nil {
			return res, err
		}
		t0 := time.Now()
		sawStale, done := false, false
		for time.Since(t0) < propagationTimeout {
			code, err := b.verify(ctx, tok)
			if err != nil {
				return res, fmt.Errorf("poll B: %w", err)
			}
			res.polls++
			if code == http.StatusUnauthorized {
				res.delays = append(res.delays, time.Since(t0))
				done = true
				break
			}
			if code != http.StatusOK {
				return res, fmt.Errorf("poll B: unexpected status %d", code)
			}
			sawStale = true
		}
		if sawStale {
			res.stale++
		}
		if !done {
			res.timeouts++
		}
	}
	slices.Sort(res.delays)
	return res, nil
}

// percentile returns the p-th percentile (nearest rank) of sorted ds.
func percentile(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	i := int(float64(len(ds))*p/100+0.999999) - 1
	return ds[min(max(i, 0), len(ds)-1)]
}

// startupSample is one sigil start on the denylist Redis.
type startupSample struct {
	entries     int
	ready       time.Duration // exec → /readyz 200
	rssReady    int64         // KiB
	rssVerified int64         // KiB, after one verify request
	loaded      string        // what sigil logged about its replica load
	// CPU time from exec to /readyz 200: sigil's own, Redis's, and the
	// rest of the machine's (other work on a shared machine), and the
	// machine's CPUs over that window; ok when /proc could be read.
	cpuSigil, cpuRedis, cpuOthers, cpuWindow time.Duration
	cpuOK                                    bool
}

// denylistResult is measurement 8.
type denylistResult struct {
	entries        int
	write          time.Duration
	redisMemory    string
	empty, full    startupSample
	plantedRevoked bool
}

// denylistMeasure starts a second redis-server, samples a sigil on the
// empty denylist, writes the entries straight into Redis, then samples a
// fresh sigil on it. One entry carries the jti of a real token, which must
// then verify as revoked: proof the entries were written in sigil's format.
func (r *runner) denylistMeasure(ctx context.Context) (denylistResult, error) {
	res := denylistResult{entries: r.o.denylist}
	rd, err := r.sup.startRedis(ctx, "redis-denylist")
	if err != nil {
		return res, err
	}
	defer rd.stop()
	defer rd.client.Close()

	// Tokens from the main run: valid signatures, never revoked on this Redis.
	probe, planted := r.valid[1], r.valid[2]
	if res.empty, err = r.sampleStart(ctx, "sigil-deny-empty", rd, probe); err != nil {
		return res, err
	}
	res.empty.entries = 0

	plantedID, err := tokenID(planted)
	if err != nil {
		return res, err
	}
	r.progress("denylist: writing %d entries into Redis", r.o.denylist)
	start := time.Now()
	if err := writeDenylist(ctx, rd.client, r.o.denylist, plantedID); err != nil {
		return res, err
	}
	res.write = time.Since(start)
	n, err := rd.client.DBSize(ctx).Result()
	if err != nil {
		return res, err
	}
	if info, err := rd.client.InfoMap(ctx, "memory").Result(); err == nil {
		res.redisMemory = info["Memory"]["used_memory_human"]
	}
	r.progress("denylist: wrote %d entries in %s (DBSIZE %d)", r.o.denylist, res.write.Round(time.Millisecond), n)

	if res.full, err = r.sampleStart(ctx, "sigil-deny-full", rd, probe, func(a *api) error {
		code, err := a.verify(ctx, planted)
		if err != nil {
			return err
		}
		res.plantedRevoked = code == http.StatusUnauthorized
		return nil
	}); err != nil {
		return res, err
	}
	res.full.entries = r.o.denylist
	return res, nil
}

// sampleStart starts a sigil on redisURL and measures the time to /readyz
// 200, its RSS then, and its RSS after one verify request (which must be
// 200); after runs then, before the process is stopped.
func (r *runner) sampleStart(ctx context.Context, name string, rd *redisProc, probe string, after ...func(*api) error) (startupSample, error) {
	var s startupSample
	busy0, err1 := sysBusy()
	redis0, err2 := procCPU(rd.PID())
	srv, a, err := r.startSigil(ctx, name, rd.URL())
	if err != nil {
		return s, err
	}
	defer srv.stop()
	s.ready = time.Since(srv.started)
	busy1, err3 := sysBusy()
	redis1, err4 := procCPU(rd.PID())
	sigilCPU, err5 := procCPU(srv.PID())
	if s.cpuOK = errors.Join(err1, err2, err3, err4, err5) == nil; s.cpuOK {
		s.cpuSigil, s.cpuRedis = sigilCPU, redis1-redis0
		s.cpuOthers = max(0, busy1-busy0-s.cpuRedis-s.cpuSigil)
		s.cpuWindow = s.ready * time.Duration(runtime.NumCPU())
	}
	if s.rssReady, err = rssKiB(srv.PID()); err != nil {
		return s, err
	}
	if err := a.expectVerify(ctx, probe, http.StatusOK); err != nil {
		return s, err
	}
	if s.rssVerified, err = rssKiB(srv.PID()); err != nil {
		return s, err
	}
	for _, f := range after {
		if err := f(a); err != nil {
			return s, err
		}
	}
	s.loaded = replicaLoadLine(srv.logPath)
	return s, nil
}

// replicaLoadLine finds sigil's "revocation replica loaded" log record and
// returns its denied count and duration.
func replicaLoadLine(path string) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		var rec map[string]any
		if json.Unmarshal(sc.Bytes(), &rec) != nil || rec["msg"] != "revocation replica loaded" {
			continue
		}
		var parts []string
		if d, ok := rec["denied"].(float64); ok {
			parts = append(parts, fmt.Sprintf("%d entries", int64(d)))
		}
		if t, ok := rec["took"].(float64); ok { // slog's JSON handler writes durations in ns
			parts = append(parts, "in "+time.Duration(t).Round(time.Millisecond).String())
		}
		return strings.Join(parts, " ")
	}
	return ""
}

// writeDenylist writes n entries in sigil's Redis format (key layout 2,
// internal/revocation/redis): key sigil:deny:<id>, value the expiry in Unix
// ms, and PEXPIREAT at that expiry, one hour ahead (spread over a minute);
// the entry's member in its index set (revredis.IndexEntry), and the
// layout mark once all are written. Ids are random UUIDs like jti, plus
// plantedID. Pipelined in batches.
func writeDenylist(ctx context.Context, c *goredis.Client, n int, plantedID string) error {
	const batch = 5000
	base := time.Now().Add(time.Hour).UnixMilli()
	for i := 0; i < n; i += batch {
		_, err := c.Pipelined(ctx, func(p goredis.Pipeliner) error {
			for j := i; j < min(i+batch, n); j++ {
				id := uuid.NewString()
				if j == n/2 {
					id = plantedID
				}
				exp := base + int64(j%60_000)
				key := "sigil:deny:" + id
				p.Set(ctx, key, strconv.FormatInt(exp, 10), 0)
				p.PExpireAt(ctx, key, time.UnixMilli(exp))
				idx, z := revredis.IndexEntry("sigil:", id, exp)
				p.ZAdd(ctx, idx, z)
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("write denylist: %w", err)
		}
	}
	key, v := revredis.LayoutMark("sigil:")
	if err := c.Set(ctx, key, v, 0).Err(); err != nil {
		return fmt.Errorf("write denylist: %w", err)
	}
	return nil
}
