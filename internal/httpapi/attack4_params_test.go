package httpapi_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/sigil-dev/sigil/internal/httpapi"
	"github.com/sigil-dev/sigil/internal/token"
)

// TestAttack4_ParamsKeysOverHTTP: params keys against the plainKey fast
// path of issue 17. A key of printable ASCII up to MaxParamKeyLen bytes,
// or of up to MaxParamKeyLen Unicode characters (more bytes, the slow
// path), mints and reaches the upstream byte for byte (X-Sigil-Params);
// a control character (C0, DEL, C1), leading or trailing white space
// (ASCII or Unicode), one character too many, an empty key and keys equal
// but for case are a 400 naming params; a bad value under a Unicode key is
// a 400 naming params.<key>.
func TestAttack4_ParamsKeysOverHTTP(t *testing.T) {
	f := newAPI(t)
	n := token.MaxParamKeyLen
	for _, key := range []string{
		strings.Repeat("k", n),
		strings.Repeat("é", n),
		strings.Repeat("😀", n),
		"a b", "~!@#$%^&*()_+`-={}[]|\\:;\"'<>,.?/",
		"ключ", "ſ", "K",
	} {
		tok := f.mint(map[string]any{"params": map[string]any{key: "v"}}).AccessToken
		rec := f.verify(tok)
		require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
		got := headerParams(rec.Header().Get(httpapi.HeaderParams))
		require.Equal(t, map[string]any{key: "v"}, got, "%q", key)
	}
	for name, params := range map[string]map[string]any{
		"too long ascii":    {strings.Repeat("k", n+1): "v"},
		"too long unicode":  {strings.Repeat("é", n+1): "v"},
		"too long emoji":    {strings.Repeat("😀", n+1): "v"},
		"empty":             {"": "v"},
		"NUL":               {"a\x00b": "v"},
		"TAB":               {"a\tb": "v"},
		"newline":           {"a\nb": "v"},
		"DEL":               {"a\x7fb": "v"},
		"C1":                {"a\u0085b": "v"},
		"CR LF injection":   {"x\r\nX-Sigil-Subject: admin": "v"},
		"leading space":     {" a": "v"},
		"trailing space":    {"a ": "v"},
		"only space":        {" ": "v"},
		"leading NBSP":      {"\u00a0a": "v"},
		"trailing ideo sp":  {"a\u3000": "v"},
		"case twins":        {"Region": "a", "region": "b"},
		"unicode case twin": {"ÄRGER": "a", "ärger": "b"},
		"long s twin":       {"ſ": "a", "s": "b"},
		"kelvin twin":       {"\u212a": "a", "k": "b"},
	} {
		t.Run(name, func(t *testing.T) {
			rec := f.postJSON("/api/v1/token", f.mintBody(map[string]any{"params": params}))
			requireError(t, rec, http.StatusBadRequest, "invalid_request", "params")
		})
	}
	rec := f.postJSON("/api/v1/token", f.mintBody(map[string]any{"params": map[string]any{"ключ": "a\x01"}}))
	requireError(t, rec, http.StatusBadRequest, "invalid_request", "params.ключ")
	rec = f.postJSON("/api/v1/token", f.mintBody(map[string]any{"params": map[string]any{"ok": " padded"}}))
	requireError(t, rec, http.StatusBadRequest, "invalid_request", "params.ok")
}
