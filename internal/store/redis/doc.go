// Package redis stores client records and registry records in a versioned format of its own (format.go), and (through internal/revocation/redis, which it embeds) the revocation denylist and cutoffs, in Redis, one key per command so that it runs unchanged on a single node, Sentinel or Cluster.
package redis
