// Package keys loads, generates and publishes sigil's signing keys and swaps them atomically on reload.
package keys
