package client

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sigil-dev/sigil/test/openapicheck"
)

// wireTypes pairs each type of this package that crosses the wire as JSON
// with its schema in internal/openapi/openapi.yaml. Nested structs (a
// Token inside a TokenPage, a Policy inside a MintRequest) are checked
// against the schemas their parent's properties name.
var wireTypes = []struct {
	typ     any
	schema  func(doc *openapi3.T) *openapi3.SchemaRef
	request bool // sent by the client: required properties must be sent
}{
	{typ: NewClient{}, schema: component("CreateClientRequest"), request: true},
	{typ: APIClient{}, schema: component("ClientRecord")},
	{typ: Token{}, schema: component("TokenRecord")},
	{typ: UpdatedToken{}, schema: component("UpdatedTokenRecord")},
	{typ: CreateTokenRequest{}, schema: component("CreateTokenRequest"), request: true},
	{typ: UpdateTokenRequest{}, schema: component("UpdateTokenRequest"), request: true},
	{typ: tokenPageBody{}, schema: component("TokenPage")},
	{typ: LogEntry{}, schema: component("LogEntry")},
	{typ: logPageBody{}, schema: component("LogPage")},
	{typ: ReportTokens{}, schema: component("ReportTokens")},
	{typ: Warning{}, schema: property(component("ReportTokens"), "warning")},
	{typ: appTokensBody{}, schema: component("AppTokens")},
	{typ: cleanupBody{}, schema: response("/api/tokens/_cleanup", "POST", 200)},
	{typ: MintRequest{}, schema: component("MintRequest"), request: true},
	{typ: Policy{}, schema: component("SecurityPolicy")},
	{typ: AccessToken{}, schema: component("TokenResponse")},
	{typ: Verification{}, schema: component("VerifyResult")},
	{typ: Introspection{}, schema: component("IntrospectionResult")},
	{typ: RevokeAllRequest{}, schema: component("RevokeAllRequest"), request: true},
	{typ: Cutoff{}, schema: component("RevokeAllResult")},
	{typ: errorBody{}, schema: component("Error")},
}

// notCarried lists, per type, the schema properties it deliberately does
// not carry, and why. Anything else missing is a test failure.
var notCarried = map[reflect.Type]map[string]string{
	reflect.TypeFor[Token]():         {"_links": "HAL plumbing; the client addresses a token by its id"},
	reflect.TypeFor[UpdatedToken]():  {"_links": "HAL plumbing, as for Token"},
	reflect.TypeFor[appTokensBody](): {"_links": "HAL plumbing", "_embedded": "Informer's HAL copy of tokens"},
}

// optionalSent lists request properties the document requires that the
// client may leave out, and why.
var optionalSent = map[reflect.Type]map[string]string{
	// The clients service generates an id when none is given (clients.Service.Create);
	// the document (and the clients generated from it) always send one.
	reflect.TypeFor[NewClient](): {"id": "the server generates an empty id"},
}

func component(name string) func(*openapi3.T) *openapi3.SchemaRef {
	return func(doc *openapi3.T) *openapi3.SchemaRef { return doc.Components.Schemas[name] }
}

func property(parent func(*openapi3.T) *openapi3.SchemaRef, name string) func(*openapi3.T) *openapi3.SchemaRef {
	return func(doc *openapi3.T) *openapi3.SchemaRef {
		p := parent(doc)
		if p == nil {
			return nil
		}
		props, _ := flatten(p.Value)
		return props[name]
	}
}

func response(path, method string, status int) func(*openapi3.T) *openapi3.SchemaRef {
	return func(doc *openapi3.T) *openapi3.SchemaRef {
		item := doc.Paths.Find(path)
		if item == nil || item.GetOperation(method) == nil {
			return nil
		}
		r := item.GetOperation(method).Responses.Status(status)
		if r == nil || r.Value == nil || r.Value.Content.Get("application/json") == nil {
			return nil
		}
		return r.Value.Content.Get("application/json").Schema
	}
}

// flatten returns the properties an object schema allows, merging allOf,
// and the required ones. A property declared `not: {}` is forbidden, not
// allowed.
func flatten(s *openapi3.Schema) (map[string]*openapi3.SchemaRef, map[string]bool) {
	props, required := map[string]*openapi3.SchemaRef{}, map[string]bool{}
	var walk func(s *openapi3.Schema)
	walk = func(s *openapi3.Schema) {
		for _, sub := range s.AllOf {
			walk(sub.Value)
		}
		for name, p := range s.Properties {
			if p.Value.Not != nil {
				delete(props, name)
				continue
			}
			props[name] = p
		}
		for _, name := range s.Required {
			required[name] = true
		}
	}
	walk(s)
	for name := range required {
		if _, ok := props[name]; !ok {
			delete(required, name)
		}
	}
	return props, required
}

// jsonField is one JSON member of a Go struct.
type jsonField struct {
	typ       reflect.Type
	omitempty bool
}

// jsonFields returns the members encoding/json reads and writes for t,
// embedded structs flattened.
func jsonFields(t reflect.Type) map[string]jsonField {
	out := map[string]jsonField{}
	for f := range t.Fields() {
		tag := f.Tag.Get("json")
		if tag == "-" || !f.IsExported() && !f.Anonymous {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		if f.Anonymous && name == "" && f.Type.Kind() == reflect.Struct {
			for k, v := range jsonFields(f.Type) {
				out[k] = v
			}
			continue
		}
		if name == "" {
			name = f.Name
		}
		out[name] = jsonField{typ: f.Type, omitempty: slices.Contains(strings.Split(opts, ","), "omitempty")}
	}
	return out
}

var timeType = reflect.TypeFor[time.Time]()

// jsonType is the JSON Schema type of values of t ("" for any).
func jsonType(t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch {
	case t == timeType || t.Kind() == reflect.String:
		return "string"
	case t.Kind() == reflect.Bool:
		return "boolean"
	case t.Kind() >= reflect.Int && t.Kind() <= reflect.Uint64:
		return "integer"
	case t.Kind() == reflect.Float32 || t.Kind() == reflect.Float64:
		return "number"
	case t.Kind() == reflect.Slice || t.Kind() == reflect.Array:
		return "array"
	case t.Kind() == reflect.Map || t.Kind() == reflect.Struct:
		return "object"
	}
	return ""
}

// checkStruct compares the JSON members of t with the object schema s: the
// same names (but for notCarried and, in requests, optionalSent), types
// that agree, null only where the Go type can hold it, and, for requests,
// every required property sent; then it descends into nested structs.
func checkStruct(t *testing.T, path string, typ reflect.Type, s *openapi3.Schema, request bool) {
	t.Helper()
	props, required := flatten(s)
	fields := jsonFields(typ)
	for name := range props {
		if _, ok := fields[name]; !ok && notCarried[typ][name] == "" {
			t.Errorf("%s: property %q of the schema has no field in %s", path, name, typ)
		}
	}
	for name, f := range fields {
		p, ok := props[name]
		if !ok {
			t.Errorf("%s: field %q of %s is not in the schema", path, name, typ)
			continue
		}
		checkValue(t, path+"."+name, f.typ, p.Value, request)
		if request && required[name] && f.omitempty && optionalSent[typ][name] == "" {
			t.Errorf("%s.%s: required by the schema, but %s leaves it out when empty (omitempty)", path, name, typ)
		}
	}
}

func checkValue(t *testing.T, path string, typ reflect.Type, s *openapi3.Schema, request bool) {
	t.Helper()
	if s.Nullable {
		switch typ.Kind() {
		case reflect.Pointer, reflect.Slice, reflect.Map, reflect.Interface:
		default:
			t.Errorf("%s: the schema allows null, which %s cannot hold", path, typ)
		}
	}
	want := ""
	if s.Type != nil && s.Type.IsSingle() {
		want = s.Type.Slice()[0]
	}
	got := jsonType(typ)
	if want != "" && got != "" && want != got && !(want == "number" && got == "integer") {
		t.Errorf("%s: the schema says %s, %s is %s", path, want, typ, got)
	}
	if want == "string" && s.Format == "date-time" && deref(typ) != timeType {
		t.Errorf("%s: a date-time held in %s, not time.Time", path, typ)
	}
	for deref(typ).Kind() == reflect.Slice && s.Items != nil {
		typ, s = deref(typ).Elem(), s.Items.Value
		path += "[]"
	}
	if d := deref(typ); d.Kind() == reflect.Struct && d != timeType && len(s.Properties)+len(s.AllOf) > 0 {
		checkStruct(t, path, d, s, request)
	}
}

func deref(t reflect.Type) reflect.Type {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	return t
}

// TestWireTypes_matchOpenAPI checks that this package's request and
// response types are the document's schemas: a renamed, missing or extra
// field, or a type that disagrees, fails here rather than at a user's.
func TestWireTypes_matchOpenAPI(t *testing.T) {
	doc := openapicheck.MustNew().Document()
	for _, w := range wireTypes {
		typ := reflect.TypeOf(w.typ)
		t.Run(typ.Name(), func(t *testing.T) {
			ref := w.schema(doc)
			require.NotNil(t, ref, "no schema for %s", typ)
			checkStruct(t, typ.Name(), typ, ref.Value, w.request)
		})
	}
}

// TestWireTypes_complete checks that wireTypes names every struct type of
// this package that has JSON tags, so that a new one cannot skip the check.
func TestWireTypes_complete(t *testing.T) {
	files, err := filepath.Glob("*.go")
	require.NoError(t, err)
	var tagged []string
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(token.NewFileSet(), name, nil, 0)
		require.NoError(t, err)
		ast.Inspect(f, func(n ast.Node) bool {
			ts, ok := n.(*ast.TypeSpec)
			if !ok {
				return true
			}
			st, ok := ts.Type.(*ast.StructType)
			if !ok {
				return true
			}
			for _, f := range st.Fields.List {
				if f.Tag != nil && strings.Contains(f.Tag.Value, `json:"`) {
					tagged = append(tagged, ts.Name.Name)
					break
				}
			}
			return true
		})
	}
	var covered []string
	for _, w := range wireTypes {
		covered = append(covered, reflect.TypeOf(w.typ).Name())
	}
	assert.ElementsMatch(t, tagged, covered, "every JSON type of pkg/client is in wireTypes")
}
