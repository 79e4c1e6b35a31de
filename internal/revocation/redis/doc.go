// Package redis keeps the revocation state — denylist, cutoffs, their broadcast and the epoch — in Redis, one key per command (a denylist entry and its index member share a Cluster slot) so that it runs unchanged on a single node, Sentinel or Cluster; it depends on go-redis only, so that the Go verifier (pkg/verifier) replicates it without sigil's other stores.
package redis
