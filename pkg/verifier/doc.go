// Package verifier checks sigil tokens inside a Go service, offline, with the keys sigil publishes at its JWKS URL.
package verifier
