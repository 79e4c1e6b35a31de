// Package embed owns the rules of embed tokens (mint, refresh chains, logout) and of what a client may do with any token it presents or cuts off (introspection and revocation scoping, cutoff authorisation).
package embed
