// Package httpapi serves sigil's HTTP API with echo: routes, request validation, and the one error renderer.
package httpapi
