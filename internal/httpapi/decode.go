package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"sync"
	"unicode/utf8"
	"unsafe"

	"github.com/labstack/echo/v4"

	"github.com/sigil-dev/sigil/internal/apperr"
)

// validator is a request struct that checks itself after decoding.
type validator interface {
	Validate() error
}

// decodeJSON reads a JSON body strictly into dst and validates it: the
// content type must be JSON, unknown fields, wrong types, invalid UTF-8 and
// trailing data are 400s naming the field where there is one.
func decodeJSON(c echo.Context, dst validator) error {
	body, err := jsonBody(c)
	if err != nil {
		return err
	}
	if f, ok := dst.(fastDecoder); ok && f.decodeFast(body) {
		return dst.Validate()
	}
	if err := decodeStrict(body, dst); err != nil {
		return err
	}
	return dst.Validate()
}

// jsonBody is the body decodeJSON decodes: a JSON content type, read
// whole, not empty, valid UTF-8.
func jsonBody(c echo.Context) ([]byte, error) {
	if err := requireMediaType(c, echo.MIMEApplicationJSON); err != nil {
		return nil, err
	}
	body, err := readBody(c)
	if err != nil {
		return nil, err
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return nil, apperr.Invalid("", "the request body is empty; expected a JSON object")
	}
	if !utf8.Valid(body) {
		return nil, apperr.Invalid("", "the request body is not valid UTF-8")
	}
	return body, nil
}

// decodeStrict decodes body into dst: unknown fields, wrong types, case
// variants of names, repeated names and trailing data are refused.
func decodeStrict(body []byte, dst any) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	dec.UseNumber()
	if err := dec.Decode(dst); err != nil {
		return jsonError(err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return apperr.Invalid("", "unexpected data after the JSON object")
	}
	return exactNames(body, reflect.TypeOf(dst))
}

// exactNames rejects, like an unknown field, a member whose name matches a
// field of dst's type only case-insensitively ("DashboardId"):
// encoding/json folds case, so {"dashboardId":"a","DashboardId":"b"}
// would reach the handler as whichever came last while a proxy or log
// reads the other. It runs on a body that has just decoded, so the JSON
// is well-formed; it checks structs at any depth (maps and opaque values,
// json.RawMessage, time.Time, are not checked).
//
// It also refuses a member name that appears twice in one object (400
// naming it): encoding/json keeps the last, a proxy or a host backend
// checking the body with another parser may read the first.
func exactNames(body []byte, t reflect.Type) error {
	// Fast path: a member name that is exactly a field name needs no
	// walk; only bodies with another name (a case variant) or an escape
	// are walked. Without escapes, duplicates are found by a byte scan.
	if !hasForeignName(body, t) {
		if key := duplicateKey(body); key != "" {
			return apperr.Invalid(key, "appears more than once in one object")
		}
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	return walkNames(dec, t, "")
}

// hasForeignName reports whether body may hold a member name that is not
// exactly one of the field names of t (at any depth): a quick byte scan
// for quoted strings followed by a colon, with no allocation for the
// usual, clean body.
func hasForeignName(body []byte, t reflect.Type) bool {
	names := allNames(t)
	if names == nil {
		return true
	}
	for i := 0; i < len(body); i++ {
		if body[i] != '"' {
			continue
		}
		j := i + 1
		for j < len(body) && body[j] != '"' {
			if body[j] == '\\' {
				return true // escapes: let the walk decode them
			}
			j++
		}
		k := j + 1
		for k < len(body) && (body[k] == ' ' || body[k] == '\t' || body[k] == '\n' || body[k] == '\r') {
			k++
		}
		if k < len(body) && body[k] == ':' {
			if _, ok := names.exact[string(body[i+1:j])]; !ok && names.folded(body[i+1:j]) {
				return true
			}
		}
		i = j
	}
	return false
}

// duplicateKey returns a member name that appears twice in one object of
// body, "" if none does. body is well-formed JSON without escapes (the
// callers' fast path): strings end at the next quote. Member names of the
// objects being read are kept as spans of body on one stack (depth-
// tagged), compared linearly: objects are small; one with many members
// (a map field) is checked through a set instead.
func duplicateKey(body []byte) string {
	type span struct{ depth, from, to int }
	var buf [32]span
	keys := buf[:0]
	var big map[int]map[string]struct{} // depth → names, for objects past linearMax members
	const linearMax = 32
	depth := 0
	for i := 0; i < len(body); i++ {
		switch body[i] {
		case '{':
			depth++
		case '}':
			for len(keys) > 0 && keys[len(keys)-1].depth == depth {
				keys = keys[:len(keys)-1]
			}
			delete(big, depth)
			depth--
		case '"':
			j := i + 1
			for j < len(body) && body[j] != '"' {
				j++
			}
			k := j + 1
			for k < len(body) && (body[k] == ' ' || body[k] == '\t' || body[k] == '\n' || body[k] == '\r') {
				k++
			}
			if k < len(body) && body[k] == ':' {
				name := body[i+1 : j]
				if set := big[depth]; set != nil {
					if _, dup := set[string(name)]; dup {
						return string(name)
					}
					set[string(name)] = struct{}{}
				} else {
					n := 0
					for x := len(keys) - 1; x >= 0 && keys[x].depth == depth; x-- {
						if bytes.Equal(body[keys[x].from:keys[x].to], name) {
							return string(name)
						}
						n++
					}
					keys = append(keys, span{depth, i + 1, j})
					if n+1 > linearMax {
						if big == nil {
							big = map[int]map[string]struct{}{}
						}
						set := make(map[string]struct{}, 2*linearMax)
						for len(keys) > 0 && keys[len(keys)-1].depth == depth {
							last := keys[len(keys)-1]
							set[string(body[last.from:last.to])] = struct{}{}
							keys = keys[:len(keys)-1]
						}
						big[depth] = set
					}
				}
			}
			i = j
		}
	}
	return ""
}

// walkNames reads one value from dec, checking the member names of every
// object that decodes into a struct type, and that no object holds a
// member name twice; path names the value for errors.
func walkNames(dec *json.Decoder, t reflect.Type, path string) error {
	tok, err := dec.Token()
	if err != nil {
		return apperr.Invalid(path, "the request body is not acceptable JSON")
	}
	delim, ok := tok.(json.Delim)
	if !ok {
		return nil
	}
	t = opaque(t)
	switch delim {
	case '{':
		var fields map[string]reflect.Type
		if t != nil && t.Kind() == reflect.Struct {
			fields = structFields(t)
		}
		seen := map[string]struct{}{}
		for dec.More() {
			kt, err := dec.Token()
			if err != nil {
				return apperr.Invalid(path, "the request body is not acceptable JSON")
			}
			key, _ := kt.(string)
			name := key
			if path != "" {
				name = path + "." + key
			}
			if _, dup := seen[key]; dup {
				return apperr.Invalid(name, "appears more than once in one object")
			}
			seen[key] = struct{}{}
			var child reflect.Type
			switch {
			case fields != nil:
				ft, ok := fields[key]
				if !ok {
					return apperr.Invalid(name, "unknown field")
				}
				child = ft
			case t != nil && t.Kind() == reflect.Map:
				child = t.Elem()
			}
			if err := walkNames(dec, child, name); err != nil {
				return err
			}
		}
	case '[':
		var elem reflect.Type
		if t != nil && (t.Kind() == reflect.Slice || t.Kind() == reflect.Array) {
			elem = t.Elem()
		}
		for i := 0; dec.More(); i++ {
			if err := walkNames(dec, elem, fmt.Sprintf("%s[%d]", path, i)); err != nil {
				return err
			}
		}
	}
	_, err = dec.Token() // the closing delimiter
	if err != nil {
		return apperr.Invalid(path, "the request body is not acceptable JSON")
	}
	return nil
}

var unmarshalerType = reflect.TypeFor[json.Unmarshaler]()

// opaque strips pointers from t, and returns nil for a type whose members
// are not field names: an interface, or a type that decodes itself.
func opaque(t reflect.Type) reflect.Type {
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == nil || t.Kind() == reflect.Interface || reflect.PointerTo(t).Implements(unmarshalerType) {
		return nil
	}
	return t
}

// nameSet is every JSON field name under a type, for the fast path.
type nameSet struct {
	exact map[string]struct{}
}

// folded reports whether name equals a field name under Unicode case
// folding, as encoding/json matches them ("ſ" folds to "s", "K" to "k").
func (n *nameSet) folded(name []byte) bool {
	for f := range n.exact {
		if strings.EqualFold(f, string(name)) {
			return true
		}
	}
	return false
}

var (
	fieldCache sync.Map // reflect.Type → map[string]reflect.Type
	nameCache  sync.Map // reflect.Type → *nameSet
)

// allNames returns the JSON field names of every struct reachable from t,
// or nil if there are none to check.
func allNames(t reflect.Type) *nameSet {
	if v, ok := nameCache.Load(t); ok {
		return v.(*nameSet)
	}
	n := &nameSet{exact: map[string]struct{}{}}
	seen := map[reflect.Type]bool{}
	var visit func(t reflect.Type)
	visit = func(t reflect.Type) {
		t = opaque(t)
		if t == nil || seen[t] {
			return
		}
		seen[t] = true
		switch t.Kind() {
		case reflect.Struct:
			for name, ft := range structFields(t) {
				n.exact[name] = struct{}{}
				visit(ft)
			}
		case reflect.Map, reflect.Slice, reflect.Array:
			visit(t.Elem())
		}
	}
	visit(t)
	// Two field names that differ only in case (in different structs)
	// would let an exact name of one be a variant of the other: no fast
	// path then, every body is walked.
	for a := range n.exact {
		for b := range n.exact {
			if a != b && strings.EqualFold(a, b) {
				n = nil
			}
		}
		if n == nil {
			break
		}
	}
	nameCache.Store(t, n)
	return n
}

// structFields maps the JSON names of struct t's fields, as encoding/json
// sees them (tags, "-", unexported fields, embedded structs), to their types.
func structFields(t reflect.Type) map[string]reflect.Type {
	if v, ok := fieldCache.Load(t); ok {
		return v.(map[string]reflect.Type)
	}
	out := map[string]reflect.Type{}
	for f := range t.Fields() {
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, _, _ := strings.Cut(tag, ",")
		ft := f.Type
		if f.Anonymous && name == "" {
			et := ft
			if et.Kind() == reflect.Pointer {
				et = et.Elem()
			}
			if et.Kind() == reflect.Struct {
				for k, v := range structFields(et) {
					if _, ok := out[k]; !ok {
						out[k] = v
					}
				}
				continue
			}
		}
		if !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		out[name] = ft
	}
	fieldCache.Store(t, out)
	return out
}

// jsonError turns a decoding failure into a 400 naming the field.
func jsonError(err error) error {
	var syntax *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syntax):
		return apperr.Invalid("", "malformed JSON at byte %d", syntax.Offset)
	case errors.As(err, &typ):
		if typ.Field == "" {
			return apperr.Invalid("", "the request body must be a JSON object")
		}
		return apperr.Invalid(typ.Field, "must be %s", jsonTypeName(typ.Type.Kind().String()))
	case errors.Is(err, io.ErrUnexpectedEOF):
		return apperr.Invalid("", "the JSON body ends too early")
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		field := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		return apperr.Invalid(field, "unknown field")
	}
	return apperr.Invalid("", "the request body is not acceptable JSON")
}

func jsonTypeName(kind string) string {
	switch kind {
	case "int", "int64", "int32", "uint", "uint64":
		return "an integer"
	case "float64", "float32":
		return "a number"
	case "string":
		return "a string"
	case "bool":
		return "a boolean"
	case "slice":
		return "an array"
	case "map", "struct":
		return "an object"
	}
	return "of another type"
}

// requireMediaType answers 415 unless the request's Content-Type is want.
func requireMediaType(c echo.Context, want string) error {
	ct := firstHeader(c.Request().Header, echo.HeaderContentType)
	if ct == want {
		return nil // what mime.ParseMediaType would accept, without parsing
	}
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil || !strings.EqualFold(mt, want) {
		return &apperr.Error{Code: apperr.CodeUnsupportedMedia, Field: "Content-Type", Message: "Content-Type must be " + want}
	}
	return nil
}

// formValue reads one field of an application/x-www-form-urlencoded body
// (RFC 7662, RFC 7009). The field is required and must appear once.
func formValue(c echo.Context, name string) (string, error) {
	if err := requireMediaType(c, echo.MIMEApplicationForm); err != nil {
		return "", err
	}
	body, err := readBody(c)
	if err != nil {
		return "", err
	}
	// body is read for this call alone and never written again, so the
	// form (and the value returned, a part of it) can share its bytes.
	form := unsafe.String(unsafe.SliceData(body), len(body))
	first, n, ok := plainFormValue(form, name)
	if !ok {
		vals, err := url.ParseQuery(form)
		if err != nil {
			return "", apperr.Invalid("", "malformed form body")
		}
		if n = len(vals[name]); n > 0 {
			first = vals[name][0]
		}
	}
	switch n {
	case 0:
		return "", apperr.Invalid(name, "%s is required", name)
	case 1:
		if first == "" {
			return "", apperr.Invalid(name, "%s is required", name)
		}
		return first, nil
	default:
		return "", apperr.Invalid(name, "%s must appear once", name)
	}
}

// readBody reads the whole request body. A body over MaxBodyBytes stays a
// *http.MaxBytesError (413); any other failure to read it (a body shorter
// than its Content-Length, a broken chunked encoding, a client that hangs
// up or stalls past the read timeout) is the client's, so a 400, not a 500.
func readBody(c echo.Context) ([]byte, error) {
	r := c.Request()
	var body []byte
	var err error
	if n := r.ContentLength; n > 0 && n <= knownLengthBuffer {
		// One buffer of the announced size (and a byte to see EOF in),
		// instead of io.ReadAll's 512 bytes grown by doubling. The length
		// only sizes the buffer: what is read is still bounded by the body
		// limit and ends where the body ends.
		body, err = readAllInto(make([]byte, 0, n+1), r.Body)
	} else {
		body, err = io.ReadAll(r.Body)
	}
	if err == nil {
		return body, nil
	}
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		return nil, fmt.Errorf("read body: %w", err)
	}
	return nil, &apperr.Error{Code: apperr.CodeInvalid, Message: "the request body could not be read in full", Err: err}
}

// knownLengthBuffer is the largest Content-Length readBody allocates up
// front (the usual token and mint bodies fit); a bigger or unknown one
// grows as it arrives, so a client that announces a large body and sends
// nothing holds no more memory than it sent.
const knownLengthBuffer = 4 << 10

// readAllInto is io.ReadAll appending to b.
func readAllInto(b []byte, r io.Reader) ([]byte, error) {
	for {
		n, err := r.Read(b[len(b):cap(b)])
		b = b[:len(b)+n]
		if err != nil {
			if err == io.EOF {
				err = nil
			}
			return b, err
		}
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)]
		}
	}
}
