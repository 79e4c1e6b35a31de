package redisserver_test

import (
	"context"
	"fmt"
	"net"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sigil-dev/sigil/test/redisserver"
)

func newClient(t *testing.T, s *redisserver.Server) *goredis.Client {
	t.Helper()
	opts, err := goredis.ParseURL(s.URL())
	require.NoError(t, err)
	opts.MaxRetries = -1
	c := goredis.NewClient(opts)
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func TestStart(t *testing.T) {
	t.Parallel()
	s := redisserver.Start(t)

	assert.Equal(t, fmt.Sprintf("127.0.0.1:%d", s.Port()), s.Addr())
	assert.Equal(t, fmt.Sprintf("redis://127.0.0.1:%d/0", s.Port()), s.URL())
	assert.Positive(t, s.PID())
	assert.DirExists(t, s.Dir())

	ctx := context.Background()
	c := newClient(t, s)
	require.NoError(t, c.Ping(ctx).Err())

	cfg, err := c.ConfigGet(ctx, "*").Result()
	require.NoError(t, err)
	assert.Equal(t, "127.0.0.1", cfg["bind"])
	assert.Empty(t, cfg["save"], "snapshots are off")
	assert.Equal(t, "no", cfg["appendonly"])
	assert.Equal(t, "no", cfg["protected-mode"])
	assert.Equal(t, s.Dir(), cfg["dir"])
}

func TestStart_WithArgs(t *testing.T) {
	t.Parallel()
	s := redisserver.Start(t, redisserver.WithArgs("--maxmemory-policy", "noeviction", "--appendonly", "yes"))
	cfg, err := newClient(t, s).ConfigGet(context.Background(), "*").Result()
	require.NoError(t, err)
	assert.Equal(t, "noeviction", cfg["maxmemory-policy"])
	assert.Equal(t, "yes", cfg["appendonly"], "later arguments override the defaults")
}

func TestStart_Parallel(t *testing.T) {
	t.Parallel()
	const n = 4
	ports := make(chan int, n)
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() { ports <- redisserver.Start(t).Port() })
	}
	wg.Wait()
	close(ports)
	seen := map[int]bool{}
	for p := range ports {
		assert.False(t, seen[p], "port %d handed out twice", p)
		seen[p] = true
	}
}

func TestServer_Stop(t *testing.T) {
	t.Parallel()
	s := redisserver.Start(t)
	pid := s.PID()

	s.Stop()
	s.Stop() // idempotent
	s.Kill()

	assert.Zero(t, s.PID())
	assert.ErrorIs(t, syscall.Kill(pid, 0), syscall.ESRCH, "process %d is gone", pid)
	_, err := net.DialTimeout("tcp", s.Addr(), time.Second)
	assert.Error(t, err, "nothing listens on %s", s.Addr())
}

func TestServer_Kill(t *testing.T) {
	t.Parallel()
	s := redisserver.Start(t)
	pid := s.PID()
	s.Kill()
	s.Kill()
	assert.Zero(t, s.PID())
	assert.ErrorIs(t, syscall.Kill(pid, 0), syscall.ESRCH)
}

func TestServer_Restart(t *testing.T) {
	t.Parallel()
	ctx := context.Background()

	t.Run("OK", func(t *testing.T) {
		t.Parallel()
		s := redisserver.Start(t)
		port, pid := s.Port(), s.PID()
		c := newClient(t, s)
		require.NoError(t, c.Set(ctx, "k", "v", 0).Err())

		s.Restart(t)
		assert.Equal(t, port, s.Port())
		assert.NotEqual(t, pid, s.PID())
		assert.ErrorIs(t, c.Get(ctx, "k").Err(), goredis.Nil, "no persistence by default")
	})

	t.Run("AfterStop", func(t *testing.T) {
		t.Parallel()
		s := redisserver.Start(t)
		s.Stop()
		s.Restart(t)
		require.NoError(t, newClient(t, s).Ping(ctx).Err())
	})

	t.Run("AOF", func(t *testing.T) {
		t.Parallel()
		s := redisserver.Start(t, redisserver.WithArgs("--appendonly", "yes", "--appendfsync", "always"))
		c := newClient(t, s)
		require.NoError(t, c.Set(ctx, "k", "v", 0).Err())

		s.Kill() // a crash: with appendfsync always nothing is lost
		s.Restart(t)
		got, err := c.Get(ctx, "k").Result()
		require.NoError(t, err)
		assert.Equal(t, "v", got)
	})
}

// fatalTB records Fatal instead of failing the real test.
type fatalTB struct {
	testing.TB
	mu    sync.Mutex
	fatal string
	logs  []string
}

func (f *fatalTB) Fatal(args ...any) { f.fail(fmt.Sprint(args...)) }

func (f *fatalTB) Fatalf(format string, args ...any) { f.fail(fmt.Sprintf(format, args...)) }

func (f *fatalTB) Logf(format string, args ...any) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.logs = append(f.logs, fmt.Sprintf(format, args...))
}

func (f *fatalTB) fail(msg string) {
	f.mu.Lock()
	f.fatal = msg
	f.mu.Unlock()
	runtime.Goexit()
}

// startExpectingFatal runs Start against a recording TB and returns it.
func startExpectingFatal(t *testing.T, opts ...redisserver.Option) *fatalTB {
	t.Helper()
	tb := &fatalTB{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		redisserver.Start(tb, opts...)
		t.Error("Start returned instead of failing")
	}()
	<-done
	return tb
}

func TestStart_ErrNotFound(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	tb := startExpectingFatal(t)
	assert.Equal(t, "redis-server not found: run `make deps` (apt-get install redis-server)", tb.fatal)
}

func TestStart_ErrBadArgs(t *testing.T) {
	t.Parallel()
	tb := startExpectingFatal(t, redisserver.WithArgs("--no-such-directive", "x"))
	assert.Contains(t, tb.fatal, "exited during startup")
	assert.Contains(t, strings.Join(tb.logs, "\n"), "no-such-directive", "the server's output is logged")
}
