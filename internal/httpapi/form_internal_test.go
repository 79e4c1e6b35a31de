package httpapi

import (
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// FuzzPlainFormValue: whenever plainFormValue answers, it answers what
// url.ParseQuery gives (which then parses without error).
func FuzzPlainFormValue(f *testing.F) {
	for _, s := range []string{
		"token=eyJhbGciOiJFZERTQSJ9.eyJzdWIiOiJ1In0.c2ln", "token=a&token=b", "token=", "token", "=x&token=y",
		"&&token=a&&", "tokens=a&token_=b", "a=1&token=x=y&b=2", "token=a%20b", "token=a+b", "token=a;b",
		"token=%zz", "%74oken=a", strings.Repeat("a=1&", 20) + "token=t", "", "&", "=", "token==",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		first, n, ok := plainFormValue(body, "token")
		if !ok {
			return
		}
		vals, err := url.ParseQuery(body)
		require.NoError(t, err, "%q", body)
		require.Len(t, vals["token"], n, "%q", body)
		if n > 0 {
			require.Equal(t, vals["token"][0], first, "%q", body)
		}
	})
}

// TestPlainFormValue_LeavesTheRestToParseQuery: bodies that need
// unescaping, carry a ';' or many pairs are not read by the fast path.
func TestPlainFormValue_LeavesTheRestToParseQuery(t *testing.T) {
	for _, body := range []string{"token=a%20b", "token=a+b", "token=a;b", "%74oken=a", strings.Repeat("a=1&", maxPlainPairs+1) + "token=t"} {
		_, _, ok := plainFormValue(body, "token")
		require.False(t, ok, body)
	}
	first, n, ok := plainFormValue("a=1&token=x.y.z&b=", "token")
	require.True(t, ok)
	require.Equal(t, 1, n)
	require.Equal(t, "x.y.z", first)
}
