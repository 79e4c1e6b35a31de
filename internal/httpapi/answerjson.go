package httpapi

import (
	"encoding/json"
	"slices"
	"strconv"
	"unicode/utf8"

	"github.com/sigil-dev/sigil/internal/token"
)

// The forward-auth answer of a token that is not cached (the cold path) is
// rendered on every request, so its JSON is written by hand here instead
// of by encoding/json's reflection: byte for byte what json.Marshal writes
// (TestAnswerJSONMatchesEncodingJSON, FuzzAnswerJSON), for the types
// verified claims hold; any other type is left to json.Marshal.

// appendVerifyResponse appends json.Marshal(r).
func appendVerifyResponse(dst []byte, r verifyResponse) []byte {
	dst = append(dst, `{"active":`...)
	dst = strconv.AppendBool(dst, r.Active)
	if r.Subject != "" {
		dst = append(dst, `,"sub":`...)
		dst = appendJSONString(dst, r.Subject)
	}
	dst = append(dst, `,"tt":`...)
	dst = appendJSONString(dst, r.Kind)
	if r.Scope != "" {
		dst = append(dst, `,"scope":`...)
		dst = appendJSONString(dst, r.Scope)
	}
	dst = append(dst, `,"resource":`...)
	dst = appendJSONString(dst, r.Resource)
	if r.Exp != 0 {
		dst = append(dst, `,"exp":`...)
		dst = strconv.AppendInt(dst, r.Exp, 10)
	}
	return append(dst, '}')
}

// marshalAnswerJSON is json.Marshal(v) for the params and policies of
// verified claims: written by hand when every value inside is one that
// claims decoding makes (map[string]any, []any, string, json.Number, bool,
// nil, []token.Policy), else by json.Marshal.
func marshalAnswerJSON(v any) ([]byte, error) {
	if b, ok := appendJSONValue(make([]byte, 0, 128), v); ok {
		return b, nil
	}
	return json.Marshal(v)
}

// appendJSONValue appends v as json.Marshal writes it, or reports false for
// a type (or an invalid json.Number) it leaves to json.Marshal.
func appendJSONValue(dst []byte, v any) ([]byte, bool) {
	switch v := v.(type) {
	case nil:
		return append(dst, "null"...), true
	case bool:
		return strconv.AppendBool(dst, v), true
	case string:
		return appendJSONString(dst, v), true
	case json.Number:
		if v == "" {
			return append(dst, '0'), true // as encoding/json writes an empty Number
		}
		if !validJSONNumber(string(v)) {
			return dst, false
		}
		return append(dst, v...), true
	case map[string]any:
		if v == nil {
			return append(dst, "null"...), true
		}
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		dst = append(dst, '{')
		for i, k := range keys {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = appendJSONString(dst, k)
			dst = append(dst, ':')
			var ok bool
			if dst, ok = appendJSONValue(dst, v[k]); !ok {
				return dst, false
			}
		}
		return append(dst, '}'), true
	case []any:
		if v == nil {
			return append(dst, "null"...), true
		}
		dst = append(dst, '[')
		for i, e := range v {
			if i > 0 {
				dst = append(dst, ',')
			}
			var ok bool
			if dst, ok = appendJSONValue(dst, e); !ok {
				return dst, false
			}
		}
		return append(dst, ']'), true
	case []token.Policy:
		if v == nil {
			return append(dst, "null"...), true
		}
		dst = append(dst, '[')
		for i, p := range v {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = append(dst, `{"name":`...)
			dst = appendJSONString(dst, p.Name)
			if len(p.Params) > 0 { // omitempty
				dst = append(dst, `,"params":`...)
				var ok bool
				if dst, ok = appendJSONValue(dst, p.Params); !ok {
					return dst, false
				}
			}
			dst = append(dst, '}')
		}
		return append(dst, ']'), true
	}
	return dst, false
}

const hexDigits = "0123456789abcdef"

// appendJSONString appends s quoted as encoding/json does with HTML
// escaping on (its default): <, > and & as \u003c, \u003e and \u0026,
// U+2028 and U+2029 escaped, invalid UTF-8 as \ufffd.
func appendJSONString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		if b := s[i]; b < utf8.RuneSelf {
			if b >= 0x20 && b != '"' && b != '\\' && b != '<' && b != '>' && b != '&' {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch b {
			case '\\', '"':
				dst = append(dst, '\\', b)
			case '\b':
				dst = append(dst, '\\', 'b')
			case '\f':
				dst = append(dst, '\\', 'f')
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[b>>4], hexDigits[b&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hexDigits[r&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

// validJSONNumber reports whether s is a JSON number (RFC 8259), as
// encoding/json checks a json.Number before writing it.
func validJSONNumber(s string) bool {
	i := 0
	if i < len(s) && s[i] == '-' {
		i++
	}
	digits := func() bool {
		j := i
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		return i > j
	}
	switch {
	case i < len(s) && s[i] == '0':
		i++
	case !digits():
		return false
	}
	if i < len(s) && s[i] == '.' {
		i++
		if !digits() {
			return false
		}
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		if !digits() {
			return false
		}
	}
	return i == len(s)
}
