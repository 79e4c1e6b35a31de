package testproc_test

import (
	"fmt"
	"net"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/sigil-dev/sigil/test/testproc"
)

func TestFreePort(t *testing.T) {
	t.Parallel()
	p := testproc.FreePort(t)
	require.Positive(t, p)
	l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", p))
	require.NoError(t, err)
	require.NoError(t, l.Close())
}

func TestBuffer_ConcurrentWrites(t *testing.T) {
	t.Parallel()
	var b testproc.Buffer
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 100 {
				_, _ = b.Write([]byte("x"))
				_ = b.String()
			}
		})
	}
	wg.Wait()
	require.Equal(t, strings.Repeat("x", 800), b.String())
}

func TestProcess_OutputAndStop(t *testing.T) {
	p, err := testproc.Start(exec.Command("sh", "-c", "echo hello; exec sleep 60"))
	if err != nil {
		t.Fatal(err)
	}
	for !strings.Contains(p.Output(), "hello") {
		select {
		case <-p.Done():
			t.Fatalf("exited early: %v", p.Err())
		case <-time.After(10 * time.Millisecond):
		}
	}
	p.Stop(syscall.SIGTERM, time.Minute)
	select {
	case <-p.Done():
	default:
		t.Fatal("Stop returned before the process was reaped")
	}
	if p.Err() == nil {
		t.Fatal("a process ended by SIGTERM reports no error")
	}
}

func TestProcess_StopKillsAfterGrace(t *testing.T) {
	// The shell ignores SIGTERM, so only the SIGKILL after the grace ends it.
	p, err := testproc.Start(exec.Command("sh", "-c", "trap '' TERM; echo ready; while :; do sleep 1; done"))
	if err != nil {
		t.Fatal(err)
	}
	for !strings.Contains(p.Output(), "ready") {
		time.Sleep(10 * time.Millisecond)
	}
	p.Stop(syscall.SIGTERM, 50*time.Millisecond)
	<-p.Done()
	require.ErrorContains(t, p.Err(), "killed", "ended by the SIGKILL after the grace, not by SIGTERM")
	if _, err := testproc.Start(exec.Command("/nonexistent/binary")); err == nil {
		t.Fatal("Start of a missing binary succeeded")
	}
}

func TestCurrent(t *testing.T) {
	var c testproc.Current
	require.Zero(t, c.PID(), "the zero value holds no process")
	require.Empty(t, c.Output())
	c.Stop(syscall.SIGTERM, time.Minute) // nothing to stop: no panic

	p, err := testproc.Start(exec.Command("sh", "-c", "echo hello; exec sleep 60"))
	require.NoError(t, err)
	c.Set(p)
	require.Equal(t, p.PID(), c.PID())
	require.Eventually(t, func() bool { return strings.Contains(c.Output(), "hello") }, 10*time.Second, 10*time.Millisecond)

	c.Stop(syscall.SIGTERM, time.Minute)
	select {
	case <-p.Done():
	default:
		t.Fatal("Stop returned before the process was reaped")
	}
	require.Zero(t, c.PID(), "a stopped process is no longer current")
	require.Empty(t, c.Output())
	c.Stop(syscall.SIGKILL, time.Minute) // idempotent
}
