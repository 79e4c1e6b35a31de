package httpapi

import (
	"reflect"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sigil-dev/sigil/test/openapicheck"
)

// TestRegistryViews_matchOpenAPI checks the registry's response types
// against their schemas statically, field by field, so that a field the
// end-to-end exchanges rarely show (url, tokenHint, a warning) cannot drift
// either. They are the API's own types: registry.Record and the stores'
// formats are checked elsewhere.
func TestRegistryViews_matchOpenAPI(t *testing.T) {
	doc := openapicheck.MustNew().Document()
	cleanup := doc.Paths.Find("/api/tokens/_cleanup").Post.Responses.Status(200).Value.Content.Get("application/json").Schema
	for _, tc := range []struct {
		typ    reflect.Type
		schema *openapi3.SchemaRef
	}{
		{reflect.TypeFor[tokenView](), doc.Components.Schemas["TokenRecord"]},
		{reflect.TypeFor[updatedTokenView](), doc.Components.Schemas["UpdatedTokenRecord"]},
		{reflect.TypeFor[tokenPage](), doc.Components.Schemas["TokenPage"]},
		{reflect.TypeFor[logEntryView](), doc.Components.Schemas["LogEntry"]},
		{reflect.TypeFor[logPage](), doc.Components.Schemas["LogPage"]},
		{reflect.TypeFor[reportTokensView](), doc.Components.Schemas["ReportTokens"]},
		{reflect.TypeFor[appTokensView](), doc.Components.Schemas["AppTokens"]},
		{reflect.TypeFor[cleanupView](), cleanup},
	} {
		t.Run(tc.typ.Name(), func(t *testing.T) {
			require.NotNil(t, tc.schema)
			assert.Empty(t, openapicheck.CheckType(tc.typ, tc.schema.Value, openapicheck.TypeOptions{}))
		})
	}
}
