// Package openapi embeds sigil's OpenAPI 3 document (openapi.yaml) and serves it as JSON.
package openapi
