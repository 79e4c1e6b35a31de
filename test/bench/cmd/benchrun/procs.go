package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/sigil-dev/sigil/test/testproc"
)

// stopTimeout is how long a process gets after SIGTERM before SIGKILL.
const stopTimeout = 5 * time.Second

// proc is one child process the driver started. It is stopped by its PID.
type proc struct {
	name    string
	cmd     *exec.Cmd
	logPath string // stderr (and for redis stdout) goes here
	done    chan struct{}
	err     error // Wait's result, set before done is closed

	stopOnce sync.Once
}

// PID returns the process id.
func (p *proc) PID() int { return p.cmd.Process.Pid }

// exited reports whether the process has ended.
func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// stop sends SIGTERM to the PID, waits up to stopTimeout, then SIGKILLs and
// waits for the process to be reaped. It is idempotent.
func (p *proc) stop() {
	p.stopOnce.Do(func() {
		if p.exited() {
			return
		}
		_ = syscall.Kill(p.PID(), syscall.SIGTERM)
		select {
		case <-p.done:
		case <-time.After(stopTimeout):
			fmt.Fprintf(os.Stderr, "warning: %s (pid %d) still running %s after SIGTERM: sending SIGKILL\n", p.name, p.PID(), stopTimeout)
			_ = syscall.Kill(p.PID(), syscall.SIGKILL)
			<-p.done
		}
	})
}

// logTail returns the last lines of the process's log file, for error messages.
func (p *proc) logTail() string {
	b, err := os.ReadFile(p.logPath)
	if err != nil {
		return ""
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > 15 {
		lines = lines[len(lines)-15:]
	}
	return strings.Join(lines, "\n")
}

// supervisor starts child processes and stops every one of them, by PID.
type supervisor struct {
	dir string // where log files go

	mu    sync.Mutex
	procs []*proc
}

// start runs cmd with stderr in a log file under s.dir. Children get their
// own process group (a terminal's Ctrl-C reaches only the driver, which then
// stops them itself) and SIGKILL if the driver dies without cleaning up.
func (s *supervisor) start(name string, cmd *exec.Cmd) (*proc, error) {
	logPath := filepath.Join(s.dir, name+".log")
	f, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	cmd.Stderr = f
	if cmd.Stdout == nil {
		cmd.Stdout = f
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		_ = f.Close()
		return nil, fmt.Errorf("start %s (%s): %w", name, cmd.Path, err)
	}
	p := &proc{name: name, cmd: cmd, logPath: logPath, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		_ = f.Close()
		close(p.done)
	}()
	s.mu.Lock()
	s.procs = append(s.procs, p)
	s.mu.Unlock()
	return p, nil
}

// stopAll stops every process still running, newest first.
func (s *supervisor) stopAll() {
	s.mu.Lock()
	ps := append([]*proc(nil), s.procs...)
	s.mu.Unlock()
	var wg sync.WaitGroup
	for i := len(ps) - 1; i >= 0; i-- {
		wg.Go(ps[i].stop)
	}
	wg.Wait()
}

// redisProc is a running redis-server with a client connected to it.
type redisProc struct {
	*proc
	addr   string
	client *goredis.Client
}

// URL is the go-redis URL of database 0.
func (r *redisProc) URL() string { return "redis://" + r.addr + "/0" }

// startRedis runs redis-server on a free 127.0.0.1 port without persistence
// and waits until it answers PING (retrying on a lost port race).
func (s *supervisor) startRedis(ctx context.Context, name string) (*redisProc, error) {
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		return nil, errors.New("redis-server not found: run `make deps` (apt-get install redis-server)")
	}
	dir := filepath.Join(s.dir, name)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	var lastErr error
	for range 5 {
		port, err := testproc.ReservePort()
		if err != nil {
			return nil, err
		}
		cmd := exec.Command(bin,
			"--port", strconv.Itoa(port), "--bind", "127.0.0.1",
			"--save", "", "--appendonly", "no",
			"--dir", dir, "--protected-mode", "no")
		cmd.Dir = dir
		p, err := s.start(name, cmd)
		if err != nil {
			return nil, err
		}
		addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
		client := goredis.NewClient(&goredis.Options{Addr: addr, PoolSize: 8})
		deadline := time.Now().Add(10 * time.Second)
		for {
			if p.exited() {
				_ = client.Close()
				lastErr = fmt.Errorf("redis-server on %s exited during startup: %v\n%s", addr, p.err, p.logTail())
				break
			}
			pctx, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
			err := client.Ping(pctx).Err()
			cancel()
			if err == nil {
				return &redisProc{proc: p, addr: addr, client: client}, nil
			}
			if ctx.Err() != nil || time.Now().After(deadline) {
				_ = client.Close()
				p.stop()
				return nil, fmt.Errorf("redis-server on %s did not answer PING: %w", addr, errors.Join(ctx.Err(), err))
			}
			time.Sleep(10 * time.Millisecond)
		}
		if !strings.Contains(p.logTail(), "Address already in use") {
			break
		}
	}
	return nil, lastErr
}

// server is a started HTTP server process (sigil or noop) and its base URL.
type server struct {
	*proc
	base    string
	started time.Time    // just before exec
	client  *http.Client // the driver's client of this server, if any
}

// stop closes the driver's idle connections to the server first: Go's
// http.Server.Shutdown waits for connections that never carried a request
// (the Transport dials spares) until they are 5 s old.
func (s *server) stop() {
	if s.client != nil {
		s.client.CloseIdleConnections()
	}
	s.proc.stop()
}

var listeningRE = regexp.MustCompile(`listening on (http://\S+)`)

// startServer runs cmd, waits for its "... listening on http://ADDR" line on
// stdout (within timeout) and returns its base URL. Stdout is drained for
// the life of the process so the child never blocks on it.
func (s *supervisor) startServer(ctx context.Context, name string, cmd *exec.Cmd, timeout time.Duration) (*server, error) {
	stdout, w, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	cmd.Stdout = w
	started := time.Now()
	p, err := s.start(name, cmd)
	_ = w.Close() // the child holds its own copy
	if err != nil {
		_ = stdout.Close()
		return nil, err
	}
	found := make(chan string, 1)
	go func() {
		defer stdout.Close()
		sc := bufio.NewScanner(stdout)
		sent := false
		for sc.Scan() {
			if m := listeningRE.FindStringSubmatch(sc.Text()); m != nil && !sent {
				found <- m[1]
				sent = true
			}
		}
		_, _ = io.Copy(io.Discard, stdout)
	}()
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case base := <-found:
		return &server{proc: p, base: base, started: started}, nil
	case <-p.done:
		return nil, fmt.Errorf("%s exited before listening: %v\n%s", name, p.err, p.logTail())
	case <-t.C:
		p.stop()
		return nil, fmt.Errorf("%s did not print its address within %s\n%s", name, timeout, p.logTail())
	case <-ctx.Done():
		p.stop()
		return nil, ctx.Err()
	}
}

// rssKiB returns VmRSS of pid from /proc/PID/status, in KiB.
func rssKiB(pid int) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			f := strings.Fields(rest)
			if len(f) == 0 {
				break
			}
			return strconv.ParseInt(f[0], 10, 64)
		}
	}
	return 0, fmt.Errorf("no VmRSS in /proc/%d/status", pid)
}
