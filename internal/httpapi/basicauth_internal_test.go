package httpapi

import (
	"encoding/base64"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// basicAuthSeeds are Authorization values at the edges of Basic parsing:
// prefix case and spacing, padding, colons, long credentials (past the
// stack buffer), bytes that are not base64, non-ASCII look-alikes of the
// prefix.
func basicAuthSeeds() []string {
	b := func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
	long := strings.Repeat("s", 300)
	return []string{
		"", "Basic", "Basic ", "Basic  " + b("a:b"), "Basic " + b("a:b"), "basic " + b("a:b"), "BASIC " + b("a:b"),
		"BaSiC " + b("id:secret"), "Basic\t" + b("a:b"), "Bearer " + b("a:b"), "Basic " + b("a:b") + " ",
		"Basic " + b(":"), "Basic " + b("a:"), "Basic " + b(":b"), "Basic " + b("ab"), "Basic " + b("a:b:c"),
		"Basic " + b(""), "Basic " + b("a:b")[:len(b("a:b"))-1], "Basic " + strings.TrimRight(b("ab:c"), "="),
		"Basic " + base64.URLEncoding.EncodeToString([]byte("\xfb\xff:\xfe")), "Basic " + b("\xfb\xff:\xfe"),
		"Basic " + b("admin:"+long), "Basic " + b(long+":x"), "Basic " + b(strings.Repeat("x", 143)+":"),
		"Basic " + b(strings.Repeat("x", 144)+":"), "Basic " + b("é:ü\x00"), "Baſic " + b("a:b"), "Basic\u00a0" + b("a:b"),
		"Basic " + b("a:b") + "\n", "Basic =" + b("a:b"), "Basic " + b("a:b") + "==",
	}
}

// TestBasicAuthMatchesNetHTTP: basicAuth gives what net/http's
// Request.BasicAuth gives for each seed, alone and as the first of two
// values.
func TestBasicAuthMatchesNetHTTP(t *testing.T) {
	for _, v := range basicAuthSeeds() {
		requireSameBasicAuth(t, v)
	}
	var nothing http.Header = http.Header{}
	id, secret, ok := basicAuth(nothing["Authorization"])
	require.False(t, ok)
	require.Empty(t, id+secret)
}

// FuzzBasicAuth: basicAuth and net/http's Request.BasicAuth agree on any
// Authorization value.
func FuzzBasicAuth(f *testing.F) {
	for _, v := range basicAuthSeeds() {
		f.Add(v)
	}
	f.Fuzz(func(t *testing.T, v string) {
		requireSameBasicAuth(t, v)
	})
}

func requireSameBasicAuth(t *testing.T, v string) {
	t.Helper()
	r := &http.Request{Header: http.Header{"Authorization": {v}}}
	wid, wsecret, wok := r.BasicAuth()
	id, secret, ok := basicAuth(r.Header["Authorization"])
	require.Equal(t, wok, ok, "%q", v)
	require.Equal(t, wid, id, "%q", v)
	require.Equal(t, wsecret, secret, "%q", v)
	r.Header.Add("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte("other:one")))
	id2, secret2, ok2 := basicAuth(r.Header["Authorization"])
	require.Equal(t, [3]any{id, secret, ok}, [3]any{id2, secret2, ok2}, "the first value counts: %q", v)
}
