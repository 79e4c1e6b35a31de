// Package e2e holds end-to-end tests that build the sigil binary and drive it over HTTP and its CLI, against real redis-server processes.
package e2e
