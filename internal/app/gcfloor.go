package app

import (
	"log/slog"

	"github.com/sigil-dev/sigil/internal/gcfloor"
	"github.com/sigil-dev/sigil/internal/revocation"
)

// WithGCFloor makes New keep the collector's heap goal at least
// runtime.gc_heap_floor_mib until Close (internal/gcfloor), unless getenv
// (os.Getenv) finds GOGC set: then the operator's setting stands. GOGC is
// one for the whole process, so only `sigil serve`, which runs one App,
// asks for it.
func WithGCFloor(getenv func(string) string) Option {
	return func(o *options) { o.gcEnv = getenv }
}

func (a *App) startGCFloor(floorMiB int, getenv func(string) string) {
	if floorMiB == 0 {
		return
	}
	if v := getenv("GOGC"); v != "" {
		a.log.Info("GOGC is set in the environment: runtime.gc_heap_floor_mib not applied", slog.String("gogc", v))
		return
	}
	// The denylist's large tables live outside the heap (mmap): they count
	// against the floor, so a ten-million-entry denylist leaves no room for
	// garbage on top of it.
	t := gcfloor.Start(uint64(floorMiB)<<20, revocation.MappedBytes)
	a.closers = append(a.closers, t.Stop)
}
