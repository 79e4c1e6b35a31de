// Package baseline serves the handlers that sigil's HTTP benchmark measures
// sigil against (test/bench/noop, test/bench/bare): an Echo v4 server with
// no middleware and sigil's listener settings, so that only the handlers
// differ between a baseline row and sigil's.
package baseline

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/labstack/echo/v4"
)

// Serve answers every method on every path with h on addr, prints
// "NAME listening on http://ADDR" once it accepts connections (benchrun
// waits for that line) and stops gracefully on SIGINT or SIGTERM.
func Serve(name, addr string, h echo.HandlerFunc) error {
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.Any("/", h)
	e.Any("/*", h)

	servePprof()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", addr, err)
	}
	// The same listener settings as sigil's.
	srv := &http.Server{
		Handler:           e,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       10 * time.Second,
		WriteTimeout:      10 * time.Second,
		IdleTimeout:       60 * time.Second,
		MaxHeaderBytes:    64 << 10,
	}
	fmt.Printf("%s listening on http://%s\n", name, ln.Addr())

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shut, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shut); err != nil {
		return err
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// servePprof serves Go's profiler on SIGIL_DEBUG_PPROF_ADDR when it is set
// (benchrun's -row-env passes it to the measured baselines as to sigil), so
// a baseline's profile under the same load can be set beside sigil's.
func servePprof() {
	addr := os.Getenv("SIGIL_DEBUG_PPROF_ADDR")
	if addr == "" {
		return
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	go func() { _ = http.ListenAndServe(addr, mux) }() //nolint:gosec // loopback profiling of a benchmark baseline
}
