package redisserver

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sigil-dev/sigil/test/testproc"
)

// ReplicationTimeout bounds how long the helpers here wait for a link, a
// promotion or a topology to settle.
const ReplicationTimeout = 30 * time.Second

// StartReplica starts a redis-server that replicates master (--replicaof)
// and waits until its link to master is up. opts apply after the
// replication arguments.
func StartReplica(tb testing.TB, master *Server, opts ...Option) *Server {
	tb.Helper()
	r := Start(tb, append([]Option{WithArgs("--replicaof", "127.0.0.1", strconv.Itoa(master.Port()))}, opts...)...)
	r.WaitLinkUp(tb)
	// The master counts the replica for WAIT once it is online (it has
	// acknowledged an offset), which follows the replica's link by a moment.
	waitFor(tb, "master "+master.Addr()+" to see replica "+r.Addr()+" online", func() (bool, string) {
		info, err := master.Command("INFO replication")
		return err == nil && strings.Contains(info, "port="+strconv.Itoa(r.Port())+",state=online"), fmt.Sprintf("%v %q", err, info)
	})
	return r
}

// WaitLinkUp waits until the server, a replica, reports master_link_status:up.
func (s *Server) WaitLinkUp(tb testing.TB) {
	tb.Helper()
	waitFor(tb, "replica "+s.Addr()+" link up", func() (bool, string) {
		info, err := s.Command("INFO replication")
		return err == nil && strings.Contains(info, "master_link_status:up"), fmt.Sprintf("%v %q", err, info)
	})
}

// RestartAsReplicaOf restarts the server (see Restart) as a replica of the
// node at addr (host:port), as an operator brings a failed master back
// after a failover: a master without persistence that restarts as a master
// comes back empty, and a replica may sync from it (losing everything)
// before the sentinels reconfigure it. The setting stays for later restarts.
func (s *Server) RestartAsReplicaOf(tb testing.TB, addr string) {
	tb.Helper()
	host, port, ok := strings.Cut(addr, ":")
	if !ok {
		tb.Fatalf("RestartAsReplicaOf: address %q is not host:port", addr)
	}
	s.mu.Lock()
	s.args = append(s.args, "--replicaof", host, port)
	s.mu.Unlock()
	s.Restart(tb)
}

// Role returns the first word of ROLE's reply as INFO shows it: "master" or
// "slave" (role: in INFO replication).
func (s *Server) Role() (string, error) {
	info, err := s.Command("INFO replication")
	if err != nil {
		return "", err
	}
	for _, l := range strings.Split(info, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(l), "role:"); ok {
			return v, nil
		}
	}
	return "", fmt.Errorf("no role in INFO replication of %s", s.Addr())
}

// CutReplicas cuts the server's replicas off while it goes on serving
// clients, as a network partition between a master and its replicas or a
// replica far behind does: the default user may no longer run PSYNC or
// SYNC (ACL), and the replicas' connections are killed (CLIENT KILL TYPE
// replica). Replicas keep trying to reconnect and are refused; writes the
// master takes from then on reach no replica. HealReplicas undoes it.
func (s *Server) CutReplicas() error {
	if _, err := s.Command("ACL SETUSER default -psync -sync"); err != nil {
		return err
	}
	_, err := s.Command("CLIENT KILL TYPE replica")
	return err
}

// HealReplicas lets replicas resynchronise again after CutReplicas (at
// once: without the diskless sync delay). Only PSYNC is allowed again: a
// replica refused PSYNC falls back to the old SYNC, and one synchronised
// that way never acknowledges offsets, so WAIT would never count it.
func (s *Server) HealReplicas() error {
	if _, err := s.Command("CONFIG SET repl-diskless-sync-delay 0"); err != nil {
		return err
	}
	_, err := s.Command("ACL SETUSER default +psync")
	return err
}

// WaitReplicasOnline waits until the server, a master, has n replicas in
// state online (synchronised and streaming).
func (s *Server) WaitReplicasOnline(tb testing.TB, n int) {
	tb.Helper()
	waitFor(tb, "master "+s.Addr()+" to have "+strconv.Itoa(n)+" replicas online", func() (bool, string) {
		info, err := s.Command("INFO replication")
		return err == nil && strings.Contains(info, "connected_slaves:"+strconv.Itoa(n)) &&
			strings.Count(info, "state=online") == n, fmt.Sprintf("%v %q", err, info)
	})
}

// Sentinels is one master, its replicas and the sentinels that monitor it,
// all on loopback.
type Sentinels struct {
	Name      string
	Master    *Server
	Replicas  []*Server
	Sentinels []*Server
}

// StartSentinels starts a master, replicas replicas of it and sentinels
// sentinels with quorum sentinels/2+1, down-after-milliseconds downAfter
// and a short failover timeout, and waits until every sentinel knows the
// other sentinels and the replicas, so a failover can start at once.
func StartSentinels(tb testing.TB, name string, replicas, sentinels int, downAfter time.Duration, opts ...Option) *Sentinels {
	tb.Helper()
	g := &Sentinels{Name: name, Master: Start(tb, opts...)}
	for range replicas {
		g.Replicas = append(g.Replicas, StartReplica(tb, g.Master, opts...))
	}
	quorum := sentinels/2 + 1
	for range sentinels {
		conf := filepath.Join(tb.TempDir(), "sentinel.conf")
		lines := fmt.Sprintf("sentinel monitor %[1]s 127.0.0.1 %[2]d %[3]d\n"+
			"sentinel down-after-milliseconds %[1]s %[4]d\n"+
			"sentinel failover-timeout %[1]s %[5]d\n"+
			"sentinel parallel-syncs %[1]s 2\n",
			name, g.Master.Port(), quorum, downAfter.Milliseconds(), 4*downAfter.Milliseconds())
		if err := os.WriteFile(conf, []byte(lines), 0o600); err != nil {
			tb.Fatalf("write sentinel config: %v", err)
		}
		g.Sentinels = append(g.Sentinels, Start(tb, func(c *config) { c.conf = conf }, WithArgs("--sentinel")))
	}
	wantR := strconv.Itoa(replicas)
	for _, s := range g.Sentinels {
		waitFor(tb, "sentinel "+s.Addr()+" to know the others and the replicas", func() (bool, string) {
			info, err := s.Command("INFO sentinel")
			ok := err == nil && strings.Contains(info, "sentinels="+strconv.Itoa(sentinels)) &&
				strings.Contains(info, "slaves="+wantR) && strings.Contains(info, "status=ok")
			return ok, fmt.Sprintf("%v %q", err, info)
		})
	}
	return g
}

// URL returns the redis+sentinel:// URL of the group.
func (g *Sentinels) URL() string { return SentinelURL(g.Name, g.Sentinels...) }

// MasterAddr asks the first reachable sentinel which address it names as master.
func (g *Sentinels) MasterAddr() (string, error) {
	var lastErr error
	for _, s := range g.Sentinels {
		reply, err := s.Command("SENTINEL GET-MASTER-ADDR-BY-NAME " + g.Name)
		if out := strings.Split(reply, "\n"); err == nil && len(out) == 2 {
			return out[0] + ":" + out[1], nil
		}
		lastErr = err
	}
	return "", fmt.Errorf("no sentinel names a master: %v", lastErr)
}

// StartClusterReplicas starts a Redis Cluster of masters masters, each with
// replicas replicas (`redis-cli --cluster create ... --cluster-replicas N`),
// with cluster-node-timeout nodeTimeout (failure detection, and so
// promotion, takes about that long), and waits until every node reports
// cluster_state:ok, knows every node, and every replica's link is up.
// Nodes holds every node, masters and replicas; ask Masters for the roles.
func StartClusterReplicas(tb testing.TB, masters, replicas int, nodeTimeout time.Duration, opts ...Option) *Cluster {
	tb.Helper()
	cli, err := exec.LookPath("redis-cli")
	if err != nil {
		tb.Fatal(cliNotFound)
	}
	c := &Cluster{}
	for range masters * (1 + replicas) {
		nodeOpts := append([]Option{WithArgs(
			"--cluster-enabled", "yes",
			"--cluster-config-file", "nodes.conf",
			"--cluster-port", strconv.Itoa(testproc.FreePort(tb)),
			"--cluster-node-timeout", strconv.FormatInt(nodeTimeout.Milliseconds(), 10),
		)}, opts...)
		c.Nodes = append(c.Nodes, Start(tb, nodeOpts...))
	}
	ctx, cancel := context.WithTimeout(context.Background(), ClusterTimeout)
	defer cancel()
	args := append([]string{"--cluster", "create"}, c.Addrs()...)
	args = append(args, "--cluster-replicas", strconv.Itoa(replicas), "--cluster-yes")
	out, err := exec.CommandContext(ctx, cli, args...).CombinedOutput()
	if err != nil {
		tb.Fatalf("redis-cli --cluster create: %v\n%s", err, out)
	}
	c.WaitOK(tb)
	for _, n := range c.Nodes {
		if role, err := n.Role(); err == nil && role == "slave" {
			n.WaitLinkUp(tb)
		}
	}
	for _, m := range c.Masters() {
		m.WaitReplicasOnline(tb, replicas)
	}
	return c
}

// Masters returns the running nodes that are masters now.
func (c *Cluster) Masters() []*Server {
	var out []*Server
	for _, n := range c.Nodes {
		if n.PID() == 0 {
			continue
		}
		if role, err := n.Role(); err == nil && role == "master" {
			out = append(out, n)
		}
	}
	return out
}

// ReplicasOf returns the running nodes that replicate master now.
func (c *Cluster) ReplicasOf(master *Server) []*Server {
	var out []*Server
	want := "master_port:" + strconv.Itoa(master.Port())
	for _, n := range c.Nodes {
		if n == master || n.PID() == 0 {
			continue
		}
		if info, err := n.Command("INFO replication"); err == nil && strings.Contains(info, "role:slave") && strings.Contains(info, want) {
			out = append(out, n)
		}
	}
	return out
}

// WaitHealthy waits until every running node reports cluster_state:ok
// (a killed node may still be listed as failed).
func (c *Cluster) WaitHealthy(tb testing.TB) {
	tb.Helper()
	for _, n := range c.Nodes {
		if n.PID() == 0 {
			continue
		}
		waitFor(tb, "cluster node "+n.Addr()+" ok", func() (bool, string) {
			info, err := n.Command("CLUSTER INFO")
			return err == nil && strings.Contains(info, "cluster_state:ok"), firstLine(info)
		})
	}
}

// waitFor polls cond every 50ms up to ReplicationTimeout, then fails tb
// with cond's last detail.
func waitFor(tb testing.TB, what string, cond func() (bool, string)) {
	tb.Helper()
	deadline := time.Now().Add(ReplicationTimeout)
	for {
		ok, detail := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			tb.Fatalf("%s: not within %s: %s", what, ReplicationTimeout, detail)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
