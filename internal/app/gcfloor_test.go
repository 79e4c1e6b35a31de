package app_test

import (
	"bytes"
	"context"
	"log/slog"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/sigil-dev/sigil/internal/app"
	"github.com/sigil-dev/sigil/internal/config"
)

func gogcNow() int {
	s := []metrics.Sample{{Name: "/gc/gogc:percent"}}
	metrics.Read(s)
	return int(s[0].Value.Uint64())
}

// TestWithGCFloor: with runtime.gc_heap_floor_mib the App raises GOGC while
// the heap is small and puts it back at Close; a GOGC from the environment,
// or a floor of 0, leaves the collector alone. Not parallel: GOGC is the
// process's.
func TestWithGCFloor(t *testing.T) {
	before := debug.SetGCPercent(100)
	defer debug.SetGCPercent(before)
	noEnv := func(string) string { return "" }

	a, err := app.New(context.Background(), newConfig(t, nil), app.WithLogger(slog.New(slog.DiscardHandler)), app.WithGCFloor(noEnv))
	require.NoError(t, err)
	runtime.GC()
	// A test binary's live heap is far below the default 128 MiB floor.
	require.Greater(t, gogcNow(), 100, "GOGC with the default floor")
	deadline := time.Now().Add(20 * time.Second)
	for goal := uint64(0); goal < 120<<20; {
		s := []metrics.Sample{{Name: "/gc/heap/goal:bytes"}}
		metrics.Read(s)
		goal = s[0].Value.Uint64()
		require.False(t, time.Now().After(deadline), "heap goal %d, want about the 128 MiB floor", goal)
		runtime.GC()
	}
	a.Close()
	require.Equal(t, 100, gogcNow(), "GOGC after Close")

	for name, c := range map[string]struct {
		floor  int
		getenv func(string) string
		log    string
	}{
		"floor 0":         {0, noEnv, ""},
		"GOGC in the env": {128, func(k string) string { return map[string]string{"GOGC": "50"}[k] }, "GOGC is set in the environment"},
	} {
		var logs bytes.Buffer
		a, err := app.New(context.Background(), newConfig(t, func(cfg *config.Config) { cfg.Runtime.GCHeapFloorMiB = c.floor }),
			app.WithLogger(slog.New(slog.NewTextHandler(&logs, nil))), app.WithGCFloor(c.getenv))
		require.NoError(t, err, name)
		runtime.GC()
		require.Equal(t, 100, gogcNow(), "%s: GOGC", name)
		if c.log != "" {
			require.Contains(t, logs.String(), c.log, name)
		}
		a.Close()
	}
	// Without the option (tests, embedders) nothing is tuned.
	a, err = app.New(context.Background(), newConfig(t, nil), app.WithLogger(slog.New(slog.DiscardHandler)))
	require.NoError(t, err)
	runtime.GC()
	require.Equal(t, 100, gogcNow(), "GOGC without WithGCFloor")
	a.Close()
}
