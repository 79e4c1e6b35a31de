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
	"strings"
	"unicode/utf8"

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
	if err := requireMediaType(c, echo.MIMEApplicationJSON); err != nil {
		return err
	}
	body, err := readBody(c)
	if err != nil {
		return err
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return apperr.Invalid("", "the request body is empty; expected a JSON object")
	}
	if !utf8.Valid(body) {
		return apperr.Invalid("", "the request body is not valid UTF-8")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	dec.UseNumber()
	if err := dec.Decode(dst); err != nil {
		return jsonError(err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return apperr.Invalid("", "unexpected data after the JSON object")
	}
	return dst.Validate()
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
	ct := c.Request().Header.Get(echo.HeaderContentType)
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
	vals, err := url.ParseQuery(string(body))
	if err != nil {
		return "", apperr.Invalid("", "malformed form body")
	}
	switch v := vals[name]; len(v) {
	case 0:
		return "", apperr.Invalid(name, "%s is required", name)
	case 1:
		if v[0] == "" {
			return "", apperr.Invalid(name, "%s is required", name)
		}
		return v[0], nil
	default:
		return "", apperr.Invalid(name, "%s must appear once", name)
	}
}

// readBody reads the whole request body. A body over MaxBodyBytes stays a
// *http.MaxBytesError (413); any other failure to read it (a body shorter
// than its Content-Length, a broken chunked encoding, a client that hangs
// up or stalls past the read timeout) is the client's, so a 400, not a 500.
func readBody(c echo.Context) ([]byte, error) {
	body, err := io.ReadAll(c.Request().Body)
	if err == nil {
		return body, nil
	}
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		return nil, fmt.Errorf("read body: %w", err)
	}
	return nil, &apperr.Error{Code: apperr.CodeInvalid, Message: "the request body could not be read in full", Err: err}
}
