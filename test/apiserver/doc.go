// Package apiserver runs the application sigil serve runs (internal/app, built from a config) in-process on a loopback port, on the memory store unless told otherwise, for tests of its clients.
package apiserver
