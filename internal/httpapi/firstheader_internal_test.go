package httpapi

import (
	"net/http"
	"net/textproto"
	"testing"

	"github.com/labstack/echo/v4"
)

// TestFirstHeaderIsGet: firstHeader, which reads the map without
// canonicalising the name, answers what Header.Get answers for every name
// it is called with on the hot paths (canonical already), whatever
// spelling the client's header arrived in (net/http canonicalises incoming
// names), with one value, several, an empty one or none.
func TestFirstHeaderIsGet(t *testing.T) {
	names := []string{echo.HeaderContentType, "Sec-Fetch-Site", "Origin", echo.HeaderXRequestID}
	for _, name := range names {
		if c := textproto.CanonicalMIMEHeaderKey(name); c != name {
			t.Fatalf("%q is not canonical (%q)", name, c)
		}
		for _, vals := range [][]string{nil, {}, {""}, {"a"}, {"a", "b"}, {"", "b"}} {
			h := http.Header{}
			for _, v := range vals {
				h.Add(name, v)
			}
			if vals != nil && len(vals) == 0 {
				h[name] = []string{}
			}
			if got, want := firstHeader(h, name), h.Get(name); got != want {
				t.Errorf("firstHeader(%q) with %q = %q, Get: %q", name, vals, got, want)
			}
		}
	}
}
