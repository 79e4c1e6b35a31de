// Package redis stores client records, the revocation denylist and cutoffs, and registered token records in Redis, in a versioned format of its own (format.go), one key per command so that it runs unchanged on a single node, Sentinel or Cluster.
package redis
