package redisserver

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/sigil-dev/sigil/test/testproc"
)

// StartTimeout bounds how long Start and Restart wait for the server to answer PING.
const StartTimeout = 10 * time.Second

// stopTimeout bounds how long Stop waits for a graceful shutdown before killing.
const stopTimeout = 5 * time.Second

// bindAttempts is how often Start picks a new port when another process
// took the reserved one before redis-server could bind it.
const bindAttempts = 5

// notFound is the fatal message when redis-server is not installed.
const notFound = "redis-server not found: run `make deps` (apt-get install redis-server)"

// Option adjusts how Start runs redis-server.
type Option func(*config)

type config struct {
	args []string
	conf string
	port int
}

// WithPort runs redis-server on port instead of a free one Start picks:
// for a test that starts a client first and its Redis later.
func WithPort(port int) Option {
	return func(c *config) { c.port = port }
}

// WithArgs appends command-line arguments to redis-server's defaults, for
// example WithArgs("--appendonly", "yes"). Later arguments override earlier
// ones, so defaults can be replaced this way.
func WithArgs(args ...string) Option {
	return func(c *config) { c.args = append(c.args, args...) }
}

// Server is a running redis-server owned by one test. Its methods are safe
// for concurrent use.
type Server struct {
	bin  string
	dir  string
	port int
	args []string
	conf string // config file passed first, when set (sentinel)

	mu   sync.Mutex       // guards args (RestartAsReplicaOf)
	proc testproc.Current // the current run; none once stopped
}

// Start runs redis-server on a free 127.0.0.1 port with persistence off and
// its working directory in tb.TempDir(), waits until it answers PING and
// stops it when the test ends. It fails the test (never skips) when
// redis-server is not on PATH or does not come up within StartTimeout.
func Start(tb testing.TB, opts ...Option) *Server {
	tb.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		tb.Fatal(notFound)
	}
	var cfg config
	for _, o := range opts {
		o(&cfg)
	}
	s := &Server{bin: bin, dir: tb.TempDir(), args: cfg.args, conf: cfg.conf}
	tb.Cleanup(func() {
		if tb.Failed() {
			if out := s.Output(); out != "" {
				tb.Logf("redis-server %s output:\n%s", s.Addr(), out)
			}
		}
		s.Kill()
	})

	var lastErr error
	var lastOut string
	for range bindAttempts {
		s.port = cfg.port
		if s.port == 0 {
			s.port = testproc.FreePort(tb)
		}
		p, out, err := s.launch()
		if err == nil {
			s.proc.Set(p)
			return s
		}
		lastErr, lastOut = err, out
		if !errors.Is(err, errAddrInUse) || cfg.port != 0 {
			break
		}
	}
	tb.Logf("redis-server output:\n%s", lastOut)
	tb.Fatalf("start redis-server: %v", lastErr)
	return nil
}

// Addr returns the server's host:port, "127.0.0.1:N".
func (s *Server) Addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(s.port)) }

// URL returns a go-redis URL for database 0, "redis://127.0.0.1:N/0".
func (s *Server) URL() string { return "redis://" + s.Addr() + "/0" }

// Port returns the server's TCP port; it stays the same across Restart.
func (s *Server) Port() int { return s.port }

// Dir returns the server's working directory (where RDB and AOF files go);
// it stays the same across Restart.
func (s *Server) Dir() string { return s.dir }

// PID returns the process id of the current redis-server, or 0 once stopped.
func (s *Server) PID() int {
	return s.proc.PID()
}

// Output returns what redis-server has written to stdout and stderr so far
// (the current process only).
func (s *Server) Output() string {
	return s.proc.Output()
}

// Stop shuts the server down gracefully: SIGTERM to its PID (redis-server then
// flushes the AOF or writes a snapshot if so configured), then SIGKILL if it
// has not exited within a few seconds. It waits for the process to exit and is
// idempotent.
func (s *Server) Stop() { s.stop(syscall.SIGTERM) }

// Kill stops the server abruptly, like a crash: SIGKILL to its PID, then waits
// for it to exit. It is idempotent; Start registers it as a test cleanup.
func (s *Server) Kill() { s.stop(syscall.SIGKILL) }

func (s *Server) stop(sig syscall.Signal) {
	s.proc.Stop(sig, stopTimeout)
}

// Restart stops the server gracefully (if it is running) and starts it again
// on the same port with the same directory and arguments, so persisted data
// (with AOF or RDB enabled through WithArgs) is loaded again. It fails tb if
// the server does not come back.
func (s *Server) Restart(tb testing.TB) {
	tb.Helper()
	s.Stop()
	var lastErr error
	var lastOut string
	deadline := time.Now().Add(StartTimeout)
	for time.Now().Before(deadline) {
		p, out, err := s.launch()
		if err == nil {
			s.proc.Set(p)
			return
		}
		lastErr, lastOut = err, out
		if !errors.Is(err, errAddrInUse) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	tb.Logf("redis-server output:\n%s", lastOut)
	tb.Fatalf("restart redis-server on port %d: %v", s.port, lastErr)
}

// errAddrInUse marks a start that failed because the port was taken.
var errAddrInUse = errors.New("address already in use")

// launch starts redis-server on s.port and waits until it answers PING. On
// failure the process is gone and launch returns what it printed.
func (s *Server) launch() (*testproc.Process, string, error) {
	args := []string{
		"--port", strconv.Itoa(s.port),
		"--bind", "127.0.0.1",
		"--save", "",
		"--appendonly", "no",
		"--dir", s.dir,
		"--protected-mode", "no",
		// A replica's full sync starts at once, not after 5s.
		"--repl-diskless-sync-delay", "0",
	}
	args = append(args, s.args...)
	if s.conf != "" {
		args = append([]string{s.conf}, args...)
	}
	cmd := exec.Command(s.bin, args...)
	cmd.Dir = s.dir
	p, err := testproc.Start(cmd)
	if err != nil {
		return nil, "", err
	}

	deadline := time.Now().Add(StartTimeout)
	for {
		select {
		case <-p.Done():
			err := fmt.Errorf("redis-server on %s exited during startup: %w", s.Addr(), p.Err())
			if strings.Contains(p.Output(), "Address already in use") {
				err = fmt.Errorf("%w: %w", errAddrInUse, err)
			}
			return nil, p.Output(), err
		default:
		}
		err := ping(s.Addr())
		if err == nil {
			return p, "", nil
		}
		if time.Now().After(deadline) {
			p.Stop(syscall.SIGKILL, 0)
			return nil, p.Output(), fmt.Errorf("redis-server on %s did not answer PING within %s: %w", s.Addr(), StartTimeout, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// ping sends an inline PING and expects +PONG.
func ping(addr string) error {
	c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
	if err != nil {
		return err
	}
	defer c.Close()
	if err := c.SetDeadline(time.Now().Add(500 * time.Millisecond)); err != nil {
		return err
	}
	if _, err := c.Write([]byte("PING\r\n")); err != nil {
		return err
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return err
	}
	if strings.TrimSpace(line) != "+PONG" {
		// -LOADING while a dataset is read back after Restart.
		return fmt.Errorf("unexpected PING reply %q", strings.TrimSpace(line))
	}
	return nil
}
