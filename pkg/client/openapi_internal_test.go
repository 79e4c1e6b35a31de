package client

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

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
	{typ: consoleTokenRequest{}, schema: component("ConsoleTokenRequest"), request: true},
	{typ: ConsoleToken{}, schema: component("ConsoleToken")},
	{typ: scopesBody{}, schema: component("Scopes")},
	{typ: Scope{}, schema: component("Scope")},
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
		if s := openapicheck.Property(p.Value, name); s != nil {
			return &openapi3.SchemaRef{Value: s}
		}
		return nil
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
			assert.Empty(t, openapicheck.CheckType(typ, ref.Value, openapicheck.TypeOptions{
				Request: w.request, NotCarried: notCarried, OptionalSent: optionalSent,
			}))
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
