package app

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"time"
)

// startPprof serves Go's profiler on debug.pprof_addr (config.Debug), a
// loopback listener of its own: the API's listener never routes to it. Off
// unless configured. The server stops with the App (closers).
func (a *App) startPprof(addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listen on %s (debug.pprof_addr): %w", addr, err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	a.Info.PprofURL = "http://" + ln.Addr().String() + "/debug/pprof/"
	a.log.Warn("profiler listening (debug.pprof_addr); leave it off in production unless profiling",
		slog.String("url", a.Info.PprofURL))
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			a.log.Warn("profiler listener stopped", slog.String("err", err.Error()))
		}
	}()
	a.closers = append(a.closers, func() {
		_ = srv.Close()
		<-done
	})
	return nil
}
