package openapicheck

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"

	"github.com/sigil-dev/sigil/internal/openapi"
)

// Validator checks requests and responses against an OpenAPI 3 document.
type Validator struct {
	doc    *openapi3.T
	router routers.Router
}

var registerDecoders sync.Once

// New returns a Validator for sigil's embedded document (internal/openapi).
func New() (*Validator, error) {
	return FromYAML(openapi.YAML)
}

// FromYAML returns a Validator for the document in spec (YAML or JSON). The
// document's servers are ignored: test servers listen on any port.
func FromYAML(spec []byte) (*Validator, error) {
	registerDecoders.Do(func() {
		// Bodies kin-openapi has no decoder for: checked as strings.
		for _, ct := range []string{"text/html", "text/javascript"} {
			openapi3filter.RegisterBodyDecoder(ct, openapi3filter.PlainBodyDecoder)
		}
	})
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(spec)
	if err != nil {
		return nil, fmt.Errorf("openapicheck: load document: %w", err)
	}
	if err := doc.Validate(loader.Context); err != nil {
		return nil, fmt.Errorf("openapicheck: invalid document: %w", err)
	}
	doc.Servers = nil
	router, err := gorillamux.NewRouter(doc)
	if err != nil {
		return nil, fmt.Errorf("openapicheck: router: %w", err)
	}
	return &Validator{doc: doc, router: router}, nil
}

// Document is the loaded document.
func (v *Validator) Document() *openapi3.T { return v.doc }

func options() *openapi3filter.Options {
	return &openapi3filter.Options{
		// Credentials are the server's business; the shapes are ours.
		AuthenticationFunc:    openapi3filter.NoopAuthenticationFunc,
		IncludeResponseStatus: true,
		MultiError:            true,
	}
}

// Check validates one exchange: req with body reqBody, answered with
// status, header and body respBody.
//
// A request the document routes and accepts must get a response the
// document describes for that operation and status. A request outside the
// document (a hostile caller's, or a test's deliberately bad one) must be
// refused with a documented 4xx of that operation, or, when no operation
// matches at all, with a 404 or 405 carrying sigil's JSON error.
func (v *Validator) Check(req *http.Request, reqBody []byte, status int, header http.Header, respBody []byte) error {
	ctx := context.Background()
	r := req.Clone(ctx)
	r.Body = io.NopCloser(bytes.NewReader(reqBody))
	route, params, err := v.router.FindRoute(r)
	if err != nil {
		if status != http.StatusNotFound && status != http.StatusMethodNotAllowed {
			return fmt.Errorf("%s %s is not in the OpenAPI document (%v) but was answered %d", req.Method, req.URL.Path, err, status)
		}
		return v.checkUnrouted(status, header, respBody)
	}
	in := &openapi3filter.RequestValidationInput{Request: r, PathParams: params, Route: route, Options: options()}
	reqErr := openapi3filter.ValidateRequest(ctx, in)
	if reqErr != nil && (status < 400 || status >= 500) {
		return fmt.Errorf("%s %s: the request does not match the OpenAPI document, yet it was answered %d: %w",
			req.Method, req.URL.Path, status, reqErr)
	}
	out := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: in, Status: status, Header: header, Options: options(),
	}
	out.SetBodyBytes(respBody)
	if err := openapi3filter.ValidateResponse(ctx, out); err != nil {
		return fmt.Errorf("%s %s: response %d does not match the OpenAPI document: %w", req.Method, req.URL.Path, status, err)
	}
	return nil
}

// checkUnrouted checks the answer to a request no operation matches
// against the document's Error schema.
func (v *Validator) checkUnrouted(status int, header http.Header, body []byte) error {
	ref := v.doc.Components.Schemas["Error"]
	if ref == nil {
		return errors.New("openapicheck: the document has no Error schema")
	}
	if ct := header.Get("Content-Type"); ct != "application/json" && ct != "application/json; charset=UTF-8" {
		return fmt.Errorf("unrouted request answered %d with Content-Type %q, want sigil's JSON error", status, ct)
	}
	var val any
	if err := json.Unmarshal(body, &val); err != nil {
		return fmt.Errorf("unrouted request answered %d with a body that is not JSON: %w", status, err)
	}
	if err := ref.Value.VisitJSON(val); err != nil {
		return fmt.Errorf("unrouted request answered %d with a body that is not sigil's error: %w", status, err)
	}
	return nil
}

// Transport is an http.RoundTripper that checks every exchange with v and
// fails the round trip (so the client call returns an error) on a
// mismatch. next nil means http.DefaultTransport.
func (v *Validator) Transport(next http.RoundTripper) http.RoundTripper {
	if next == nil {
		next = http.DefaultTransport
	}
	return roundTripper{v: v, next: next}
}

type roundTripper struct {
	v    *Validator
	next http.RoundTripper
}

func (rt roundTripper) RoundTrip(req *http.Request) (*http.Response, error) {
	var reqBody []byte
	if req.Body != nil {
		b, err := io.ReadAll(req.Body)
		_ = req.Body.Close()
		if err != nil {
			return nil, fmt.Errorf("openapicheck: read request body: %w", err)
		}
		reqBody = b
		req = req.Clone(req.Context())
		req.Body = io.NopCloser(bytes.NewReader(b))
	}
	resp, err := rt.next.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	respBody, err := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if err != nil {
		return nil, fmt.Errorf("openapicheck: read response body: %w", err)
	}
	resp.Body = io.NopCloser(bytes.NewReader(respBody))
	if err := rt.v.Check(req, reqBody, resp.StatusCode, resp.Header, respBody); err != nil {
		return nil, fmt.Errorf("openapicheck: %w", err)
	}
	return resp, nil
}

// MustNew is New that panics on a broken document; for package-level clients of test suites.
func MustNew() *Validator {
	v, err := New()
	if err != nil {
		panic(err)
	}
	return v
}
