// Package app builds sigil's whole server from a config.Config, the one assembly that cmd/sigil serves and the tests run.
package app
