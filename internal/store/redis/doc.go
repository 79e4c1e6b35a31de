// Package redis stores client records, registry records and (through internal/revocation/redis, which it embeds) the revocation denylist in Redis, one key per command so that it runs unchanged on a single node, Sentinel or Cluster.
package redis
