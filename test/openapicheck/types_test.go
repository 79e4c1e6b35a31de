package openapicheck_test

import (
	"reflect"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sigil-dev/sigil/test/openapicheck"
)

const typesDoc = `
openapi: 3.0.3
info: {title: t, version: "1"}
paths: {}
components:
  schemas:
    Item:
      type: object
      required: [id, at, tags]
      properties:
        id: {type: string}
        at: {type: string, format: date-time}
        tags: {type: array, items: {type: string}}
        note: {type: string, nullable: true}
        parts: {type: array, items: {$ref: '#/components/schemas/Part'}}
    Part:
      type: object
      properties:
        n: {type: integer}
`

func loadTypesDoc(t *testing.T) *openapi3.T {
	t.Helper()
	v, err := openapicheck.FromYAML([]byte(typesDoc))
	require.NoError(t, err)
	return v.Document()
}

func TestCheckType_OK(t *testing.T) {
	type part struct {
		N int `json:"n"`
	}
	type item struct {
		ID    string    `json:"id"`
		At    time.Time `json:"at"`
		Tags  []string  `json:"tags"`
		Note  *string   `json:"note,omitempty"`
		Parts []part    `json:"parts,omitempty"`
	}
	doc := loadTypesDoc(t)
	assert.Empty(t, openapicheck.CheckType(reflect.TypeFor[item](), doc.Components.Schemas["Item"].Value, openapicheck.TypeOptions{Request: true}))
}

func TestCheckType_ErrDrift(t *testing.T) {
	type part struct {
		N string `json:"n"`
	}
	type item struct {
		ID    string `json:"id,omitempty"`
		At    string `json:"at"`
		Note  string `json:"note"`
		Parts []part `json:"parts"`
		Extra bool   `json:"extra"`
	}
	doc := loadTypesDoc(t)
	got := openapicheck.CheckType(reflect.TypeFor[item](), doc.Components.Schemas["Item"].Value, openapicheck.TypeOptions{Request: true})
	assert.Equal(t, []string{
		`item.at: a date-time held in string, not time.Time`,
		`item.id: required by the schema, but openapicheck_test.item leaves it out when empty (omitempty)`,
		`item.note: the schema allows null, which string cannot hold`,
		`item.parts[].n: the schema says integer, string is string`,
		`item: field "extra" of openapicheck_test.item is not in the schema`,
		`item: property "tags" of the schema has no field in openapicheck_test.item`,
	}, got)
}
