// Package client is a Go client of sigil's HTTP API: typed requests and responses, and errors as *Error values.
package client
