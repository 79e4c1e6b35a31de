package policy

import (
	"net/textproto"
	"testing"
)

// TestOverrideHeadersCanonical: MethodOverrides indexes the header map with
// these names as they are, which finds what h.Values would only if they
// are in canonical form.
func TestOverrideHeadersCanonical(t *testing.T) {
	for _, n := range overrideHeaders {
		if c := textproto.CanonicalMIMEHeaderKey(n); c != n {
			t.Errorf("%q is not canonical (%q)", n, c)
		}
	}
}
