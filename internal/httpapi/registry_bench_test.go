package httpapi_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/sigil-dev/sigil/internal/httpapi"
	"github.com/sigil-dev/sigil/internal/registry"
	"github.com/sigil-dev/sigil/internal/store/memory"
	"github.com/sigil-dev/sigil/internal/token"
)

// newVerifyAPI is the production stack of the benchmarks (benchStack) with
// rec as the Recorder (nil for none), and a request for a registered API
// token (with a tid) that verifies, already in the verified-token cache.
func newVerifyAPI(tb testing.TB, rec httpapi.Recorder) (http.Handler, *http.Request) {
	tb.Helper()
	c := token.Claims{Kind: token.KindAPI, TID: "0b9e7c1e-6d7a-4c39-9a55-3f0c2b1d9e11", Scope: "meta:read", ClientID: "envizi"}
	c.Subject = "alice"
	bs := newRecorderStack(tb, rec)
	return bs.api, bs.verifyRequest(tb, c, 0)
}

// TestVerify_RecorderCostsNoAllocation: handing a use to the Recorder on
// the verification hot path allocates nothing beyond the call.
func TestVerify_RecorderCostsNoAllocation(t *testing.T) {
	serve := func(h http.Handler, req *http.Request) func() {
		return func() {
			w := httptest.NewRecorder()
			h.ServeHTTP(w, req)
			if w.Code != http.StatusOK {
				t.Fatal(w.Code)
			}
		}
	}
	// No Run: a background flush would count its own allocations here.
	rec := registry.NewRecorder(memory.NewRegistry(nil), 100_000, time.Hour)
	withRec, req1 := newVerifyAPI(t, rec)
	without, req2 := newVerifyAPI(t, nil)
	const runs = 2000
	base := testing.AllocsPerRun(runs, serve(without, req2))
	got := testing.AllocsPerRun(runs, serve(withRec, req1))
	require.InDelta(t, base, got, allocNoise, "allocations per verify with the recorder (%v) and without (%v)", got, base)
	require.Equal(t, runs+2, rec.Pending(), "every use was handed over") // + the warm-up request of newVerifyAPI and AllocsPerRun's
}

// BenchmarkVerifyRegistered serves GET /api/v1/verify for an embed token
// (the baseline) and for a registered token without a Recorder, with one
// that only buffers, and with one that flushes in the background: a
// registered token must cost what an embed token costs.
func BenchmarkVerifyRegistered(b *testing.B) {
	run := func(b *testing.B, rec httpapi.Recorder) {
		api, req := newVerifyAPI(b, rec)
		benchServe(b, api, req)
	}
	b.Run("embed-token", func(b *testing.B) {
		c := token.Claims{Kind: token.KindEmbed, DashboardID: "sales", Scope: "dashboard:view", ClientID: "sales"}
		c.Subject = "alice"
		bs := newBenchStack(b)
		benchServe(b, bs.api, bs.verifyRequest(b, c, time.Hour))
	})
	b.Run("no-recorder", func(b *testing.B) { run(b, nil) })
	b.Run("recorder-buffering", func(b *testing.B) {
		run(b, registry.NewRecorder(memory.NewRegistry(nil), 10_000, time.Hour))
	})
	b.Run("recorder-flushing", func(b *testing.B) {
		// Flushed to a store that discards, to measure the recorder and not a store.
		rec := registry.NewRecorder(discardUsage{}, 10_000, 100*time.Millisecond)
		ctx, cancel := context.WithCancel(context.Background())
		go rec.Run(ctx)
		defer func() {
			cancel()
			_ = rec.Close(context.Background())
		}()
		run(b, rec)
	})
}

// discardUsage is a registry.UsageStore that drops everything.
type discardUsage struct{}

func (discardUsage) AppendLogs(context.Context, []registry.RecordLog) error { return nil }
func (discardUsage) MarkUsed(context.Context, []registry.Use) error         { return nil }
