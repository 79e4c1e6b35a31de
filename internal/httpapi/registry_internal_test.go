package httpapi

import (
	"reflect"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/sigil-dev/sigil/internal/registry"
)

// jsonFields returns the JSON names of t's fields that JSON reads.
func jsonFields(t reflect.Type) []string {
	var out []string
	for f := range t.Fields() {
		name := f.Tag.Get("json")
		if !f.IsExported() || name == "" || name == "-" {
			continue
		}
		out = append(out, name)
	}
	slices.Sort(out)
	return out
}

// TestCreateTokenRequest_MirrorsCreateInput keeps the request body of POST
// /api/tokens in step with registry.CreateInput: a field added there must
// be decoded here, and the conversion must carry every field.
func TestCreateTokenRequest_MirrorsCreateInput(t *testing.T) {
	require.Equal(t, jsonFields(reflect.TypeFor[registry.CreateInput]()), jsonFields(reflect.TypeFor[createTokenRequest]()))

	yes, no := true, false
	req := createTokenRequest{
		Type: "api", Name: "n", Owner: "o", ReportID: "r", AppID: "a", Scopes: []string{"s"},
		ReadOnly: &yes, ExpiresAt: []byte(`"2040-01-02T03:04:05Z"`), ExpiresIn: "1d", Generate: &no, UniqueName: true,
	}
	require.NoError(t, req.Validate())
	in := req.input()
	got := reflect.ValueOf(in)
	for f := range reflect.TypeFor[registry.CreateInput]().Fields() {
		if f.Tag.Get("json") == "-" {
			continue
		}
		require.False(t, got.FieldByIndex(f.Index).IsZero(), "CreateInput.%s is not carried over", f.Name)
	}
	require.Equal(t, "2040-01-02T03:04:05Z", in.ExpiresAt.Format("2006-01-02T15:04:05Z07:00"))
}
