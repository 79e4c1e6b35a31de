// Package registry_test is make bench-registry: the registry of registered
// tokens on a real redis-server at 10 k, 100 k and 1 M records, and what
// listing a page and generating a token cost at each size. A benchmark only
// (go test without -bench never runs it): filling a million records takes
// minutes.
package registry_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/sigil-dev/sigil/internal/app"
	"github.com/sigil-dev/sigil/internal/config"
	"github.com/sigil-dev/sigil/internal/keys"
	"github.com/sigil-dev/sigil/internal/registry"
	redisstore "github.com/sigil-dev/sigil/internal/store/redis"
	"github.com/sigil-dev/sigil/test/redisserver"
)

const adminSecret = "bench-admin-secret-0123456789abcdef"

// BenchmarkRegistryScale fills the registry (through the Redis store's
// CreateRecord, 16 writers) to each size of SIGIL_BENCH_REGISTRY_SIZES
// (default 10000,100000,1000000) and at each size serves, in-process
// through the whole application (internal/app on that Redis), 300 requests
// of: the first page of GET /api/tokens (limit 50), the page after it
// (cursor), the listing of a report that has 10 records at every size (GET
// /api/reports/{id}/tokens: all of a report's tokens, no pages), and POST /api/tokens/{id}/_generate on a
// different record each time. It reports p50 and p99 per size; flat means
// no growth with the number of records.
func BenchmarkRegistryScale(b *testing.B) {
	sizes := []int{10_000, 100_000, 1_000_000}
	if v := os.Getenv("SIGIL_BENCH_REGISTRY_SIZES"); v != "" {
		sizes = nil
		for f := range strings.SplitSeq(v, ",") {
			n, err := strconv.Atoi(strings.TrimSpace(f))
			require.NoError(b, err)
			sizes = append(sizes, n)
		}
	}
	ctx := context.Background()
	rs := redisserver.Start(b)
	dir := b.TempDir()
	signer, err := keys.Generate(keys.EdDSA)
	require.NoError(b, err)
	_, _, err = keys.WritePEM(dir, signer)
	require.NoError(b, err)
	cfg := config.Default()
	cfg.Mode, cfg.Addr, cfg.Issuer, cfg.Audience = "prod", "127.0.0.1:0", "https://sigil.bench", "sigil"
	cfg.Keys.Dir, cfg.AdminSecret, cfg.Pepper = dir, adminSecret, "0123456789abcdef0123456789abcdef"
	cfg.Redis.URL = rs.URL()
	a, err := app.New(ctx, cfg, app.WithLogger(slog.New(slog.NewJSONHandler(io.Discard, &slog.HandlerOptions{Level: slog.LevelWarn}))))
	require.NoError(b, err)
	b.Cleanup(a.Close)
	h := a.Handler()

	// One record through the API: the shape the bulk records copy.
	var sample struct {
		ID string `json:"id"`
	}
	code, body := call(h, http.MethodPost, "/api/tokens", `{"type":"report","name":"sample","reportId":"r0","generate":false}`)
	require.Equal(b, http.StatusCreated, code, body)
	require.NoError(b, json.Unmarshal([]byte(body), &sample))

	client, err := redisstore.NewClient(rs.URL())
	require.NoError(b, err)
	b.Cleanup(func() { _ = client.Close() })
	st := redisstore.New(client, cfg.Redis.Prefix)
	rec, err := st.GetRecord(ctx, sample.ID)
	require.NoError(b, err)

	// A report whose 10 records stay 10 whatever the size: its listing
	// (all of a report's tokens, no pages) should not grow with the rest.
	for i := range 10 {
		code, body := call(h, http.MethodPost, "/api/tokens", `{"type":"report","name":"fixed-`+strconv.Itoa(i)+`","reportId":"rfixed","generate":false}`)
		require.Equal(b, http.StatusCreated, code, body)
	}

	filled := 1
	var fresh []string // records never generated, for _generate
	for _, size := range sizes {
		start := time.Now()
		fresh = append(fresh, fill(b, st, rec, filled, size)...)
		b.Logf("filled to %d records in %s", size, time.Since(start).Round(time.Millisecond))
		filled = size

		code, body := call(h, http.MethodGet, "/api/tokens?limit=50", "")
		require.Equal(b, http.StatusOK, code, body)
		var page struct {
			Next *string `json:"nextCursor"`
		}
		require.NoError(b, json.Unmarshal([]byte(body), &page))
		cursor := ""
		if page.Next != nil {
			cursor = "&cursor=" + url.QueryEscape(*page.Next)
		}
		b.Run(fmt.Sprintf("records=%d", size), func(b *testing.B) {
			for range b.N {
				report := func(name string, ds []time.Duration) {
					slices.Sort(ds)
					b.ReportMetric(float64(ds[len(ds)/2].Microseconds()), name+"-p50-µs")
					b.ReportMetric(float64(ds[len(ds)*99/100].Microseconds()), name+"-p99-µs")
				}
				report("list", measure(b, 300, func(int) (int, string) { return call(h, http.MethodGet, "/api/tokens?limit=50", "") }))
				report("list-next", measure(b, 300, func(int) (int, string) { return call(h, http.MethodGet, "/api/tokens?limit=50"+cursor, "") }))
				report("report", measure(b, 300, func(int) (int, string) {
					return call(h, http.MethodGet, "/api/reports/rfixed/tokens", "")
				}))
				report("generate", measure(b, 300, func(int) (int, string) {
					id := fresh[len(fresh)-1]
					fresh = fresh[:len(fresh)-1]
					return call(h, http.MethodPost, "/api/tokens/"+id+"/_generate", "")
				}))
			}
		})
	}
}

// fill creates records from..to-1 like rec (a report record, never
// generated, over 1 000 reports), 16 writers at once; it returns 400 of
// their ids for _generate.
func fill(b *testing.B, st *redisstore.Store, rec registry.Record, from, to int) []string {
	ctx := context.Background()
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	base := time.Now().Add(-time.Hour)
	for w := range 16 {
		wg.Go(func() {
			for i := from + w; i < to; i += 16 {
				r := rec
				r.ID = fmt.Sprintf("00000000-0000-4000-8000-%012d", i)
				r.Name = "bench-" + strconv.Itoa(i)
				r.ReportID = "r" + strconv.Itoa(i%1000)
				r.CreatedAt = base.Add(time.Duration(i) * time.Millisecond)
				if err := st.CreateRecord(ctx, r); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	require.NoError(b, <-errs)
	var ids []string
	for i := to - 1; i >= from && len(ids) < 400; i-- {
		ids = append(ids, fmt.Sprintf("00000000-0000-4000-8000-%012d", i))
	}
	return ids
}

// measure runs do n times and returns the durations; anything but a 2xx fails.
func measure(b *testing.B, n int, do func(i int) (int, string)) []time.Duration {
	ds := make([]time.Duration, n)
	for i := range n {
		t0 := time.Now()
		code, body := do(i)
		ds[i] = time.Since(t0)
		if code/100 != 2 {
			b.Fatalf("status %d: %s", code, body)
		}
	}
	return ds
}

func call(h http.Handler, method, path, body string) (int, string) {
	r := httptest.NewRequest(method, path, strings.NewReader(body))
	if body != "" {
		r.Header.Set("Content-Type", "application/json")
	}
	r.SetBasicAuth("admin", adminSecret)
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w.Code, w.Body.String()
}
