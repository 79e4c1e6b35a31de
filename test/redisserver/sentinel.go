package redisserver

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"
)

// StartSentinel starts a Redis Sentinel (redis-server --sentinel) on a free
// loopback port that monitors master under name with quorum 1, and checks
// that it can authorise a failover of it (SENTINEL CKQUORUM). It is
// stopped when the test ends.
func StartSentinel(tb testing.TB, master *Server, name string) *Server {
	tb.Helper()
	conf := filepath.Join(tb.TempDir(), "sentinel.conf")
	line := fmt.Sprintf("sentinel monitor %s 127.0.0.1 %d 1\n", name, master.Port())
	if err := os.WriteFile(conf, []byte(line), 0o600); err != nil {
		tb.Fatalf("write sentinel config: %v", err)
	}
	s := Start(tb, func(c *config) { c.conf = conf }, WithArgs("--sentinel"))
	if _, err := s.Command("SENTINEL CKQUORUM " + name); err != nil {
		tb.Fatalf("sentinel on %s: %v", s.Addr(), err)
	}
	return s
}

// SentinelURL returns the URL sigil's SIGIL_REDIS_URL takes for the master
// that sentinels monitor under name:
// "redis+sentinel://127.0.0.1:S1,127.0.0.1:S2/0?master=name".
func SentinelURL(name string, sentinels ...*Server) string {
	u := "redis+sentinel://"
	for i, s := range sentinels {
		if i > 0 {
			u += ","
		}
		u += "127.0.0.1:" + strconv.Itoa(s.Port())
	}
	return u + "/0?master=" + name
}
