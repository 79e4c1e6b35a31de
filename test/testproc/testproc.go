// Package testproc holds what the harnesses that run real processes in
// tests (redis-server, Mailpit, nginx, sigil itself) share: a free loopback
// port, a buffer their output can be written to while it is read, and one
// run of a process, stopped by its PID.
package testproc

import (
	"bytes"
	"fmt"
	"net"
	"os/exec"
	"sync"
	"syscall"
	"testing"
	"time"
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

// Process is one run of a server a harness started: its output collected
// in a Buffer, reaped by a goroutine of its own.
type Process struct {
	cmd  *exec.Cmd
	out  *Buffer
	done chan struct{} // closed once the process has exited and been reaped
	err  error         // Wait's result, set before done is closed
}

// Start starts cmd with its stdout and stderr collected, and reaps it when
// it exits.
func Start(cmd *exec.Cmd) (*Process, error) {
	p := &Process{cmd: cmd, out: &Buffer{}, done: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = p.out, p.out
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("exec %s: %w", cmd.Path, err)
	}
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	return p, nil
}

// PID is the process id.
func (p *Process) PID() int { return p.cmd.Process.Pid }

// Output is what the process has written to stdout and stderr so far.
func (p *Process) Output() string { return p.out.String() }

// Done is closed once the process has exited and been reaped.
func (p *Process) Done() <-chan struct{} { return p.done }

// Err is Wait's result; read it only once Done is closed.
func (p *Process) Err() error { return p.err }

// Stop sends sig to the process and waits for it to exit; after grace it
// sends SIGKILL and waits again. With SIGKILL it just waits.
func (p *Process) Stop(sig syscall.Signal, grace time.Duration) {
	_ = syscall.Kill(p.PID(), sig)
	if sig == syscall.SIGKILL {
		<-p.done
		return
	}
	select {
	case <-p.done:
	case <-time.After(grace):
		_ = syscall.Kill(p.PID(), syscall.SIGKILL)
		<-p.done
	}
}

// Current is the running process of a server that can be stopped and
// started again (its Restart): safe for concurrent use; the zero value holds
// none.
type Current struct {
	mu sync.Mutex
	p  *Process
}

// Set makes p the current process.
func (c *Current) Set(p *Process) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.p = p
}

// PID is the current process's id, 0 when there is none.
func (c *Current) PID() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.p == nil {
		return 0
	}
	return c.p.PID()
}

// Output is what the current process printed, "" when there is none.
func (c *Current) Output() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.p == nil {
		return ""
	}
	return c.p.Output()
}

// Stop takes the current process out and stops it (Process.Stop); with none
// it does nothing, so it is idempotent.
func (c *Current) Stop(sig syscall.Signal, grace time.Duration) {
	c.mu.Lock()
	p := c.p
	c.p = nil
	c.mu.Unlock()
	if p != nil {
		p.Stop(sig, grace)
	}
}
