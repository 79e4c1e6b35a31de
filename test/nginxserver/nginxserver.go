// Package nginxserver runs a real nginx for tests: its own prefix, config,
// pid and log files in a temporary directory, in the foreground on a free
// loopback port, stopped by PID when the test ends.
package nginxserver

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/sigil-dev/sigil/test/testproc"
)

// StartTimeout bounds how long Start waits for nginx to accept connections.
const StartTimeout = 10 * time.Second

const (
	stopTimeout  = 5 * time.Second
	bindAttempts = 5
	notFound     = "nginx not found: run `make deps` (apt-get install nginx-light)"
)

// PortPlaceholder in the server block given to Start is replaced by the
// port nginx listens on.
const PortPlaceholder = "{{PORT}}"

// Server is a running nginx owned by one test.
type Server struct {
	dir  string
	port int

	mu   sync.Mutex
	cmd  *exec.Cmd
	out  *testproc.Buffer
	done chan struct{}
}

// Bin returns the nginx binary: nginx on PATH, else /usr/sbin/nginx (root's
// PATH has /usr/sbin, a user's often does not).
func Bin() (string, error) {
	if p, err := exec.LookPath("nginx"); err == nil {
		return p, nil
	}
	if _, err := os.Stat("/usr/sbin/nginx"); err == nil {
		return "/usr/sbin/nginx", nil
	}
	return "", errors.New(notFound)
}

// Start runs nginx with httpBlock as the content of its http { } block
// (which must hold a server listening on 127.0.0.1:{{PORT}}). nginx runs
// with daemon off and master_process off, so it is one process of the
// calling user; every path it writes is in tb.TempDir(). It fails the test
// (never skips) when nginx is missing, rejects the config, or does not
// accept connections within StartTimeout.
func Start(tb testing.TB, httpBlock string) *Server {
	tb.Helper()
	bin, err := Bin()
	if err != nil {
		tb.Fatal(err)
	}
	s := &Server{dir: tb.TempDir()}
	for _, d := range []string{"logs", "conf", "tmp"} {
		if err := os.MkdirAll(filepath.Join(s.dir, d), 0o700); err != nil {
			tb.Fatal(err)
		}
	}
	tb.Cleanup(func() {
		if tb.Failed() {
			tb.Logf("nginx on port %d output:\n%s\nerror.log:\n%s", s.port, s.Output(), s.ErrorLog())
		}
		s.Stop()
	})
	var lastErr error
	for range bindAttempts {
		s.port = testproc.FreePort(tb)
		conf := filepath.Join(s.dir, "conf", "nginx.conf")
		if err := os.WriteFile(conf, []byte(s.config(httpBlock)), 0o600); err != nil {
			tb.Fatal(err)
		}
		if out, err := exec.Command(bin, "-t", "-p", s.dir, "-e", s.errorLogPath(), "-c", conf).CombinedOutput(); err != nil {
			tb.Fatalf("nginx -t rejects the config: %v\n%s\n%s", err, out, s.config(httpBlock))
		}
		lastErr = s.launch(bin, conf)
		if lastErr == nil {
			return s
		}
		if !strings.Contains(lastErr.Error(), "Address already in use") {
			break
		}
	}
	tb.Fatalf("start nginx: %v", lastErr)
	return nil
}

func (s *Server) config(httpBlock string) string {
	d := s.dir
	return fmt.Sprintf(`daemon off;
master_process off;
worker_processes 1;
pid %[1]s/nginx.pid;
error_log %[1]s/logs/error.log info;
events { worker_connections 128; }
http {
    access_log %[1]s/logs/access.log;
    client_body_temp_path %[1]s/tmp/body;
    proxy_temp_path %[1]s/tmp/proxy;
    fastcgi_temp_path %[1]s/tmp/fastcgi;
    uwsgi_temp_path %[1]s/tmp/uwsgi;
    scgi_temp_path %[1]s/tmp/scgi;
%[2]s
}
`, d, strings.ReplaceAll(httpBlock, PortPlaceholder, strconv.Itoa(s.port)))
}

func (s *Server) launch(bin, conf string) error {
	cmd := exec.Command(bin, "-p", s.dir, "-e", s.errorLogPath(), "-c", conf)
	cmd.Dir = s.dir
	out := &testproc.Buffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("exec %s: %w", bin, err)
	}
	done := make(chan struct{})
	var werr error
	go func() {
		werr = cmd.Wait()
		close(done)
	}()
	deadline := time.Now().Add(StartTimeout)
	for {
		select {
		case <-done:
			return fmt.Errorf("nginx exited during startup (%v): %s %s", werr, out.String(), s.ErrorLog())
		default:
		}
		if c, err := net.DialTimeout("tcp", s.Addr(), 200*time.Millisecond); err == nil {
			_ = c.Close()
			s.mu.Lock()
			s.cmd, s.out, s.done = cmd, out, done
			s.mu.Unlock()
			return nil
		}
		if time.Now().After(deadline) {
			_ = syscall.Kill(cmd.Process.Pid, syscall.SIGKILL)
			<-done
			return fmt.Errorf("nginx did not accept connections on %s within %s", s.Addr(), StartTimeout)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Addr is nginx's host:port.
func (s *Server) Addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(s.port)) }

// URL is http://Addr().
func (s *Server) URL() string { return "http://" + s.Addr() }

// PID is nginx's process id (0 once stopped).
func (s *Server) PID() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil {
		return 0
	}
	return s.cmd.Process.Pid
}

// Output is what nginx wrote to stdout and stderr.
func (s *Server) Output() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.out == nil {
		return ""
	}
	return s.out.String()
}

func (s *Server) errorLogPath() string { return filepath.Join(s.dir, "logs", "error.log") }

// ErrorLog is the content of nginx's error log.
func (s *Server) ErrorLog() string {
	b, _ := os.ReadFile(s.errorLogPath())
	return string(b)
}

// AccessLog is the content of nginx's access log.
func (s *Server) AccessLog() string {
	b, _ := os.ReadFile(filepath.Join(s.dir, "logs", "access.log"))
	return string(b)
}

// Stop sends SIGQUIT (graceful) to nginx's PID, then SIGKILL if it has not
// exited within a few seconds; it waits for the exit and is idempotent.
func (s *Server) Stop() {
	s.mu.Lock()
	cmd, done := s.cmd, s.done
	s.cmd = nil
	s.mu.Unlock()
	if cmd == nil {
		return
	}
	_ = syscall.Kill(cmd.Process.Pid, syscall.SIGQUIT)
	select {
	case <-done:
	case <-time.After(stopTimeout):
		_ = syscall.Kill(cmd.Process.Pid, syscall.SIGKILL)
		<-done
	}
}
