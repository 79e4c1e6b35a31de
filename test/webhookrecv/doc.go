// Package webhookrecv is a real HTTP webhook receiver for tests: it verifies every Standard Webhooks signature with its own implementation of the scheme and records what it accepted.
package webhookrecv
