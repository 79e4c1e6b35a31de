package redisserver

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sigil-dev/sigil/test/testproc"
)

// ClusterTimeout bounds how long StartCluster waits for cluster_state:ok.
const ClusterTimeout = 30 * time.Second

// cliNotFound is the fatal message when redis-cli is not installed.
const cliNotFound = "redis-cli not found: run `make deps` (apt-get install redis-tools)"

// Cluster is a Redis Cluster of masters without replicas, each a Server of
// its own on loopback, owned by one test.
type Cluster struct {
	// Nodes are the masters, in the order their slot ranges were assigned.
	Nodes []*Server
}

// StartCluster starts n (at least 3) redis-server processes with
// --cluster-enabled yes, each on a free loopback port with its cluster bus
// on another free port and its nodes.conf in its own temporary directory,
// joins them with `redis-cli --cluster create ... --cluster-replicas 0`,
// and waits until every node reports cluster_state:ok and knows all n
// nodes. opts apply to every node. The nodes are killed when the test ends.
// It fails the test (never skips) when a binary is missing or the cluster
// does not form within ClusterTimeout.
func StartCluster(tb testing.TB, n int, opts ...Option) *Cluster {
	tb.Helper()
	if n < 3 {
		tb.Fatalf("StartCluster: a cluster needs at least 3 masters, got %d", n)
	}
	cli, err := exec.LookPath("redis-cli")
	if err != nil {
		tb.Fatal(cliNotFound)
	}
	c := &Cluster{}
	for range n {
		nodeOpts := append([]Option{WithArgs(
			"--cluster-enabled", "yes",
			"--cluster-config-file", "nodes.conf",
			"--cluster-port", strconv.Itoa(testproc.FreePort(tb)),
			"--cluster-node-timeout", "5000",
		)}, opts...)
		c.Nodes = append(c.Nodes, Start(tb, nodeOpts...))
	}

	ctx, cancel := context.WithTimeout(context.Background(), ClusterTimeout)
	defer cancel()
	args := []string{"--cluster", "create"}
	args = append(args, c.Addrs()...)
	args = append(args, "--cluster-replicas", "0", "--cluster-yes")
	out, err := exec.CommandContext(ctx, cli, args...).CombinedOutput()
	if err != nil {
		tb.Fatalf("redis-cli --cluster create %s: %v\n%s", strings.Join(c.Addrs(), " "), err, out)
	}
	c.WaitOK(tb)
	return c
}

// WaitOK waits until every running node reports cluster_state:ok and knows
// all nodes; it fails tb after ClusterTimeout.
func (c *Cluster) WaitOK(tb testing.TB) {
	tb.Helper()
	deadline := time.Now().Add(ClusterTimeout)
	want := "cluster_known_nodes:" + strconv.Itoa(len(c.Nodes))
	for {
		var notOK []string
		for _, s := range c.Nodes {
			info, err := s.Command("CLUSTER INFO")
			if err != nil || !strings.Contains(info, "cluster_state:ok") || !strings.Contains(info, want) {
				notOK = append(notOK, fmt.Sprintf("%s: %v %q", s.Addr(), err, firstLine(info)))
			}
		}
		if len(notOK) == 0 {
			return
		}
		if time.Now().After(deadline) {
			tb.Fatalf("redis cluster not ok within %s: %s", ClusterTimeout, strings.Join(notOK, "; "))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func firstLine(s string) string {
	l, _, _ := strings.Cut(s, "\n")
	return strings.TrimSpace(l)
}

// Addrs returns the nodes' host:port addresses.
func (c *Cluster) Addrs() []string {
	out := make([]string, len(c.Nodes))
	for i, s := range c.Nodes {
		out[i] = s.Addr()
	}
	return out
}

// URL returns the seed-list URL sigil's SIGIL_REDIS_URL takes:
// "redis+cluster://127.0.0.1:A,127.0.0.1:B,127.0.0.1:C".
func (c *Cluster) URL() string { return "redis+cluster://" + strings.Join(c.Addrs(), ",") }

// Command sends one inline command (e.g. "CLUSTER INFO", "DEBUG SLEEP 1")
// on a fresh connection and returns the reply: a status or bulk string as
// is, an array's elements joined by "\n", an error reply as an error. The connection deadline is 30s.
func (s *Server) Command(cmd string) (string, error) {
	c, err := net.DialTimeout("tcp", s.Addr(), time.Second)
	if err != nil {
		return "", err
	}
	defer c.Close()
	if err := c.SetDeadline(time.Now().Add(30 * time.Second)); err != nil {
		return "", err
	}
	if _, err := c.Write([]byte(cmd + "\r\n")); err != nil {
		return "", err
	}
	return readReply(bufio.NewReader(c), cmd)
}

// readReply reads one reply; an array's elements come back joined by "\n".
func readReply(r *bufio.Reader, cmd string) (string, error) {
	line, err := r.ReadString('\n')
	if err != nil {
		return "", err
	}
	line = strings.TrimRight(line, "\r\n")
	switch {
	case strings.HasPrefix(line, "*"):
		n, err := strconv.Atoi(line[1:])
		if err != nil {
			return "", fmt.Errorf("%s: reply %q", cmd, line)
		}
		parts := make([]string, 0, max(n, 0))
		for range n {
			p, err := readReply(r, cmd)
			if err != nil {
				return "", err
			}
			parts = append(parts, p)
		}
		return strings.Join(parts, "\n"), nil
	case strings.HasPrefix(line, "-"):
		return "", fmt.Errorf("%s: %s", cmd, line[1:])
	case strings.HasPrefix(line, "$"):
		n, err := strconv.Atoi(line[1:])
		if err != nil || n < 0 {
			return "", fmt.Errorf("%s: reply %q", cmd, line)
		}
		b := make([]byte, n+2)
		if _, err := io.ReadFull(r, b); err != nil {
			return "", err
		}
		return string(b[:n]), nil
	case strings.HasPrefix(line, "+"), strings.HasPrefix(line, ":"):
		return line[1:], nil
	}
	return "", fmt.Errorf("%s: unsupported reply %q", cmd, line)
}
