// Package testproc holds what the harnesses that run real processes in
// tests (redis-server, nginx, sigil itself) share: a free loopback port and
// a buffer their output can be written to while it is read.
package testproc

import (
	"bytes"
	"fmt"
	"net"
	"sync"
	"testing"
)

// ReservePort returns a loopback TCP port that was free a moment ago: it
// listens on 127.0.0.1:0 and closes the listener. Another process may take
// the port before the caller binds it; callers retry on that race.
func ReservePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("reserve a loopback port: %w", err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	if err := l.Close(); err != nil {
		return 0, fmt.Errorf("release reserved port %d: %w", port, err)
	}
	return port, nil
}

// FreePort is ReservePort for tests: a failure ends tb.
func FreePort(tb testing.TB) int {
	tb.Helper()
	port, err := ReservePort()
	if err != nil {
		tb.Fatal(err)
	}
	return port
}

// Buffer is a bytes.Buffer safe for concurrent writes (os/exec copies a
// process's output from its own goroutine) and reads.
type Buffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *Buffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *Buffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
