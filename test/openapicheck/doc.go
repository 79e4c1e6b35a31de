// Package openapicheck checks HTTP exchanges against sigil's embedded OpenAPI document, so test suites cannot drift from it.
package openapicheck
