// Package redis stores client records and the revocation denylist in Redis, one key per command so that it runs unchanged on a single node, Sentinel or Cluster.
package redis
