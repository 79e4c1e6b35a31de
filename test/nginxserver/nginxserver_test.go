package nginxserver_test

import (
	"io"
	"net/http"
	"syscall"
	"testing"

	"github.com/sigil-dev/sigil/test/nginxserver"
)

func TestStartStop(t *testing.T) {
	s := nginxserver.Start(t, `
    server {
        listen 127.0.0.1:`+nginxserver.PortPlaceholder+`;
        location / { return 200 "hello from nginx\n"; }
    }`)
	resp, err := http.Get(s.URL() + "/x")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(b) != "hello from nginx\n" || resp.Header.Get("Server") == "" {
		t.Fatalf("got %d %q %v", resp.StatusCode, b, resp.Header)
	}
	pid := s.PID()
	if pid == 0 || syscall.Kill(pid, 0) != nil {
		t.Fatalf("nginx pid %d is not running", pid)
	}
	s.Stop()
	if s.PID() != 0 {
		t.Fatal("PID after Stop")
	}
	if err := syscall.Kill(pid, 0); err == nil {
		t.Fatalf("nginx pid %d still runs after Stop", pid)
	}
	if _, err := http.Get(s.URL()); err == nil {
		t.Fatal("nginx still answers after Stop")
	}
	s.Stop() // idempotent
}
