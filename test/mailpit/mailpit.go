// Package mailpit runs a real SMTP server for tests: Mailpit
// (github.com/axllent/mailpit, pinned in test/mailpit/tools/go.mod and built
// into bin/mailpit by `make mailpit`, a prerequisite of `make test`), on free
// loopback ports, and reads what it received through its HTTP API.
//
// Messages are kept in a SQLite file in the test's temporary directory, so
// they survive Stop and Restart (the "mail server down" tests).
package mailpit

import (
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
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

// StartTimeout bounds how long Start and Restart wait for both ports to answer.
const StartTimeout = 20 * time.Second

const stopTimeout = 5 * time.Second

// Option adjusts how Start runs Mailpit.
type Option func(*Server)

// WithArgs appends command-line arguments, e.g. WithArgs("--smtp-auth-accept-any").
func WithArgs(args ...string) Option {
	return func(s *Server) { s.args = append(s.args, args...) }
}

// Server is a running Mailpit owned by one test; its methods are safe for
// concurrent use.
type Server struct {
	bin      string
	dir      string
	smtpPort int
	httpPort int
	args     []string
	// tls: STARTTLS offered and required, with certFile/keyFile trusted by roots.
	tls               bool
	certFile, keyFile string
	roots             *x509.CertPool

	proc testproc.Current // the current run; none once stopped
}

// Start runs Mailpit on free 127.0.0.1 ports (SMTP and HTTP API), waits
// until both answer and kills it when the test ends. It fails the test when
// the binary cannot be found or built, or does not come up.
func Start(tb testing.TB, opts ...Option) *Server {
	tb.Helper()
	bin, err := Binary()
	if err != nil {
		tb.Fatal(err)
	}
	s := &Server{bin: bin, dir: tb.TempDir()}
	for _, o := range opts {
		o(s)
	}
	if s.tls {
		if err := s.makeCert(); err != nil {
			tb.Fatalf("mailpit: make a test certificate: %v", err)
		}
	}
	tb.Cleanup(func() {
		if tb.Failed() {
			if out := s.Output(); out != "" {
				tb.Logf("mailpit output:\n%s", out)
			}
		}
		s.Kill()
	})
	var lastErr error
	for range 5 {
		s.smtpPort, s.httpPort = testproc.FreePort(tb), testproc.FreePort(tb)
		p, err := s.launch()
		if err == nil {
			s.proc.Set(p)
			return s
		}
		lastErr = err
	}
	tb.Fatalf("start mailpit: %v", lastErr)
	return nil
}

// SMTPAddr is the SMTP listener, "127.0.0.1:N"; the same across Restart.
func (s *Server) SMTPAddr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(s.smtpPort)) }

// SMTPURL is an smtp:// URL for sigil's notify.smtp_url: STARTTLS
// mandatory with WithSTARTTLS, none without (Mailpit then offers none).
func (s *Server) SMTPURL() string {
	if s.tls {
		return "smtp://" + s.SMTPAddr()
	}
	return "smtp://" + s.SMTPAddr() + "?starttls=none"
}

// APIURL is the base of the HTTP API, "http://127.0.0.1:N".
func (s *Server) APIURL() string {
	return "http://" + net.JoinHostPort("127.0.0.1", strconv.Itoa(s.httpPort))
}

// PID is the process id of the running Mailpit, 0 once stopped.
func (s *Server) PID() int {
	return s.proc.PID()
}

// Output is what the current process printed.
func (s *Server) Output() string {
	return s.proc.Output()
}

// Stop ends Mailpit by its PID (SIGTERM, SIGKILL after a few seconds) and
// waits for it; idempotent. Received messages stay in its database.
func (s *Server) Stop() { s.stop(syscall.SIGTERM) }

// Kill ends Mailpit with SIGKILL; idempotent.
func (s *Server) Kill() { s.stop(syscall.SIGKILL) }

func (s *Server) stop(sig syscall.Signal) {
	s.proc.Stop(sig, stopTimeout)
}

// Restart stops Mailpit (if running) and starts it again on the same ports
// and database.
func (s *Server) Restart(tb testing.TB) {
	tb.Helper()
	s.Stop()
	var lastErr error
	deadline := time.Now().Add(StartTimeout)
	for time.Now().Before(deadline) {
		p, err := s.launch()
		if err == nil {
			s.proc.Set(p)
			return
		}
		lastErr = err
		time.Sleep(100 * time.Millisecond)
	}
	tb.Fatalf("restart mailpit on %s: %v", s.SMTPAddr(), lastErr)
}

func (s *Server) launch() (*testproc.Process, error) {
	args := []string{
		"--smtp", s.SMTPAddr(),
		"--listen", net.JoinHostPort("127.0.0.1", strconv.Itoa(s.httpPort)),
		"--database", filepath.Join(s.dir, "mailpit.db"),
		"--disable-version-check",
		"--smtp-disable-rdns",
		"--quiet",
	}
	if s.tls {
		args = append(args, "--smtp-tls-cert", s.certFile, "--smtp-tls-key", s.keyFile, "--smtp-require-starttls")
	}
	args = append(args, s.args...)
	cmd := exec.Command(s.bin, args...)
	cmd.Dir = s.dir
	p, err := testproc.Start(cmd)
	if err != nil {
		return nil, err
	}
	deadline := time.Now().Add(StartTimeout)
	for {
		select {
		case <-p.Done():
			return nil, fmt.Errorf("mailpit exited during startup: %v\n%s", p.Err(), p.Output())
		default:
		}
		err := s.ready()
		if err == nil {
			return p, nil
		}
		if time.Now().After(deadline) {
			p.Stop(syscall.SIGKILL, 0)
			return nil, fmt.Errorf("mailpit not ready within %s: %w\n%s", StartTimeout, err, p.Output())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// ready checks that the SMTP port greets and the API answers.
func (s *Server) ready() error {
	c, err := net.DialTimeout("tcp", s.SMTPAddr(), 200*time.Millisecond)
	if err != nil {
		return err
	}
	_ = c.SetDeadline(time.Now().Add(time.Second))
	buf := make([]byte, 4)
	_, err = io.ReadFull(c, buf)
	c.Close()
	if err != nil || string(buf[:3]) != "220" {
		return fmt.Errorf("no SMTP greeting: %v %q", err, buf)
	}
	resp, err := httpClient.Get(s.APIURL() + "/api/v1/info")
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("api info: %s", resp.Status)
	}
	return nil
}

var httpClient = &http.Client{Timeout: 10 * time.Second}

// Address is a mailbox as the API shows it.
type Address struct {
	Name    string `json:"Name"`
	Address string `json:"Address"`
}

// Summary is one message in a listing.
type Summary struct {
	ID        string    `json:"ID"`
	MessageID string    `json:"MessageID"`
	From      Address   `json:"From"`
	To        []Address `json:"To"`
	Subject   string    `json:"Subject"`
	Created   time.Time `json:"Created"`
}

// Message is one message with its bodies.
type Message struct {
	Summary
	Text string `json:"Text"`
	HTML string `json:"HTML"`
}

// Messages lists every received message, newest first.
func (s *Server) Messages() ([]Summary, error) {
	var out struct {
		Total    int       `json:"total"`
		Messages []Summary `json:"messages"`
	}
	if err := s.getJSON("/api/v1/messages?limit=1000", &out); err != nil {
		return nil, err
	}
	return out.Messages, nil
}

// Message reads one message (its text and HTML bodies) by Mailpit's ID.
func (s *Server) Message(id string) (Message, error) {
	var m Message
	err := s.getJSON("/api/v1/message/"+url.PathEscape(id), &m)
	return m, err
}

// Raw returns the message as it was received (headers and MIME body).
func (s *Server) Raw(id string) (string, error) {
	resp, err := httpClient.Get(s.APIURL() + "/api/v1/message/" + url.PathEscape(id) + "/raw")
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("raw %s: %s", id, resp.Status)
	}
	return string(b), err
}

// DeleteAll deletes every message.
func (s *Server) DeleteAll() error {
	req, _ := http.NewRequest(http.MethodDelete, s.APIURL()+"/api/v1/messages", strings.NewReader("{}"))
	req.Header.Set("Content-Type", "application/json")
	resp, err := httpClient.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("delete messages: %s", resp.Status)
	}
	return nil
}

// WaitFor polls the API until at least n messages were received and
// returns them, or fails tb after timeout (a guard, not an assertion).
func (s *Server) WaitFor(tb testing.TB, n int, timeout time.Duration) []Summary {
	tb.Helper()
	deadline := time.Now().Add(timeout)
	for {
		msgs, err := s.Messages()
		if err == nil && len(msgs) >= n {
			return msgs
		}
		if time.Now().After(deadline) {
			tb.Fatalf("mailpit: want %d messages, have %d (err %v) after %s", n, len(msgs), err, timeout)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (s *Server) getJSON(path string, v any) error {
	resp, err := httpClient.Get(s.APIURL() + path)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", path, resp.Status)
	}
	return json.NewDecoder(resp.Body).Decode(v)
}

// Binary returns the path of bin/mailpit in the repository, building it
// from test/mailpit/tools (the pin) when it is missing, so that a plain
// `go test` works without `make`. SIGIL_MAILPIT overrides the path.
func Binary() (string, error) {
	if p := os.Getenv("SIGIL_MAILPIT"); p != "" {
		return p, nil
	}
	root, err := repoRoot()
	if err != nil {
		return "", err
	}
	bin := filepath.Join(root, "bin", "mailpit")
	if _, err := os.Stat(bin); err == nil {
		return bin, nil
	}
	buildMu.Lock()
	defer buildMu.Unlock()
	if _, err := os.Stat(bin); err == nil {
		return bin, nil
	}
	if err := os.MkdirAll(filepath.Dir(bin), 0o755); err != nil {
		return "", err
	}
	// Built beside and renamed: packages testing in parallel never run a half-written file.
	tmp := fmt.Sprintf("%s.%d.tmp", bin, os.Getpid())
	cmd := exec.Command("go", "-C", filepath.Join(root, "test", "mailpit", "tools"), "build", "-o", tmp, "github.com/axllent/mailpit")
	if out, err := cmd.CombinedOutput(); err != nil {
		_ = os.Remove(tmp)
		return "", fmt.Errorf("build mailpit (make mailpit): %v\n%s", err, out)
	}
	return bin, os.Rename(tmp, bin)
}

var buildMu sync.Mutex

// repoRoot walks up from the working directory to sigil's go.mod.
func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		b, err := os.ReadFile(filepath.Join(dir, "go.mod"))
		if err == nil && strings.Contains(string(b), "module github.com/sigil-dev/sigil\n") {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("mailpit: sigil's go.mod not found above the working directory")
		}
		dir = parent
	}
}
