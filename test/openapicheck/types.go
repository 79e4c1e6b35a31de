package openapicheck

import (
	"fmt"
	"reflect"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
)

// TypeOptions tunes CheckType.
type TypeOptions struct {
	// Request marks a type the caller sends: every property the schema
	// requires must then be sent, not left out by omitempty.
	Request bool
	// NotCarried lists, per Go type, schema properties the type
	// deliberately leaves out, each with the reason.
	NotCarried map[reflect.Type]map[string]string
	// OptionalSent lists, per Go type, required properties a request may
	// leave out, each with the reason.
	OptionalSent map[reflect.Type]map[string]string
}

// CheckType compares the JSON form of Go type typ (a struct) with the
// object schema s, and returns each difference, sorted: a schema property
// without a field, a field that is not a property, types that disagree
// (string, integer, boolean, array, object; date-time held in time.Time),
// null allowed where the Go type cannot hold it, and for requests a
// required property left out when empty. allOf is merged; a property
// declared `not: {}` is forbidden. It descends into nested structs, slices
// of structs included, against their properties' schemas.
func CheckType(typ reflect.Type, s *openapi3.Schema, opts TypeOptions) []string {
	var problems []string
	checkStruct(&problems, typ.Name(), typ, s, opts)
	sort.Strings(problems)
	return problems
}

// flatten returns the properties an object schema allows, allOf merged,
// and the required ones.
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
	return props, required
}

// Property returns the schema of property name of the object schema s
// (allOf merged), nil if there is none.
func Property(s *openapi3.Schema, name string) *openapi3.Schema {
	props, _ := flatten(s)
	if p := props[name]; p != nil {
		return p.Value
	}
	return nil
}

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

func deref(t reflect.Type) reflect.Type {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	return t
}

// jsonType is the JSON Schema type of the values of t ("" for any).
func jsonType(t reflect.Type) string {
	t = deref(t)
	switch k := t.Kind(); {
	case t == timeType || k == reflect.String:
		return "string"
	case k == reflect.Bool:
		return "boolean"
	case k >= reflect.Int && k <= reflect.Uint64:
		return "integer"
	case k == reflect.Float32 || k == reflect.Float64:
		return "number"
	case k == reflect.Slice || k == reflect.Array:
		return "array"
	case k == reflect.Map || k == reflect.Struct:
		return "object"
	}
	return ""
}

func checkStruct(problems *[]string, path string, typ reflect.Type, s *openapi3.Schema, opts TypeOptions) {
	props, required := flatten(s)
	fields := jsonFields(typ)
	for name := range props {
		if _, ok := fields[name]; !ok && opts.NotCarried[typ][name] == "" {
			*problems = append(*problems, fmt.Sprintf("%s: property %q of the schema has no field in %s", path, name, typ))
		}
	}
	for name, f := range fields {
		p, ok := props[name]
		if !ok {
			*problems = append(*problems, fmt.Sprintf("%s: field %q of %s is not in the schema", path, name, typ))
			continue
		}
		checkValue(problems, path+"."+name, f.typ, p.Value, opts)
		if opts.Request && required[name] && f.omitempty && opts.OptionalSent[typ][name] == "" {
			*problems = append(*problems, fmt.Sprintf("%s.%s: required by the schema, but %s leaves it out when empty (omitempty)", path, name, typ))
		}
	}
}

func checkValue(problems *[]string, path string, typ reflect.Type, s *openapi3.Schema, opts TypeOptions) {
	if s.Nullable {
		switch typ.Kind() {
		case reflect.Pointer, reflect.Slice, reflect.Map, reflect.Interface:
		default:
			*problems = append(*problems, fmt.Sprintf("%s: the schema allows null, which %s cannot hold", path, typ))
		}
	}
	want := ""
	if s.Type != nil && s.Type.IsSingle() {
		want = s.Type.Slice()[0]
	}
	got := jsonType(typ)
	if want != "" && got != "" && want != got && !(want == "number" && got == "integer") {
		*problems = append(*problems, fmt.Sprintf("%s: the schema says %s, %s is %s", path, want, typ, got))
	}
	if want == "string" && s.Format == "date-time" && deref(typ) != timeType {
		*problems = append(*problems, fmt.Sprintf("%s: a date-time held in %s, not time.Time", path, typ))
	}
	for deref(typ).Kind() == reflect.Slice && s.Items != nil {
		typ, s = deref(typ).Elem(), s.Items.Value
		path += "[]"
	}
	if d := deref(typ); d.Kind() == reflect.Struct && d != timeType && len(s.Properties)+len(s.AllOf) > 0 {
		checkStruct(problems, path, d, s, opts)
	}
}
