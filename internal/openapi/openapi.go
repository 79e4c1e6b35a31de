package openapi

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"sync"

	"gopkg.in/yaml.v3"
)

// YAML is the OpenAPI 3 document of sigil's HTTP API, as written.
//
//go:embed openapi.yaml
var YAML []byte

var (
	jsonOnce sync.Once
	jsonDoc  []byte
	jsonErr  error
)

// JSON returns the document as JSON, converted once. An error means the
// embedded YAML is broken, which a unit test rules out.
func JSON() ([]byte, error) {
	jsonOnce.Do(func() {
		var doc any
		if err := yaml.Unmarshal(YAML, &doc); err != nil {
			jsonErr = fmt.Errorf("openapi: parse embedded openapi.yaml: %w", err)
			return
		}
		jsonDoc, jsonErr = json.Marshal(doc)
		if jsonErr != nil {
			jsonErr = fmt.Errorf("openapi: encode as JSON: %w", jsonErr)
		}
	})
	return jsonDoc, jsonErr
}

// MustJSON is JSON that panics on a broken embedded document; for wiring.
func MustJSON() []byte {
	b, err := JSON()
	if err != nil {
		panic(err)
	}
	return b
}
