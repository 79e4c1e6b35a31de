// Package clientgen checks that the OpenAPI document sigil serves at /openapi.json generates
// clients that compile at the generators' default settings: oapi-codegen (Go, types + client)
// built with go build, and openapi-typescript checked with tsc --strict. The tools are pinned
// in tools/go.mod and ts/package-lock.json and installed by `make clientgen`.
package clientgen
