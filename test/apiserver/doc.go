// Package apiserver runs sigil's real HTTP API in-process on a loopback httptest server, on the memory store, for tests of its clients.
package apiserver
