package httpapi_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/sigil-dev/sigil/internal/httpapi"
)

// TestAttack5_AnswerBlocksNeverAlias: each cached verify answer keeps its
// body and header values as views of one text block of its own. Tokens
// whose answers differ by a byte (subjects of every length, params of
// several sizes) are rotated through the cache; a writer appends to every
// header value it was handed; every later answer still carries exactly its
// own token's values and body, never a neighbour's text or the appended
// bytes.
func TestAttack5_AnswerBlocksNeverAlias(t *testing.T) {
	f := newAPI(t)
	names := []string{httpapi.HeaderSubject, httpapi.HeaderKind, httpapi.HeaderScope, httpapi.HeaderResource, httpapi.HeaderParams}
	type answer struct {
		tok  string
		sub  string
		hdr  http.Header
		body string
	}
	var all []answer
	for i := range 40 {
		sub := strings.Repeat("u", i+1)
		tok := f.mint(map[string]any{"sub": sub, "params": map[string]any{"p": strings.Repeat("v", i%7)}}).AccessToken
		rec := f.verify(tok)
		require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
		require.Equal(t, sub, rec.Header().Get(httpapi.HeaderSubject))
		require.Contains(t, rec.Body.String(), `"sub":"`+sub+`"`)
		all = append(all, answer{tok, sub, rec.Result().Header.Clone(), rec.Body.String()})
	}
	for round := range 3 {
		for _, a := range all {
			rec := f.verify(a.tok)
			require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
			for _, n := range names {
				require.Equal(t, a.hdr[n], rec.Result().Header[n], "round %d, %s of %s", round, n, a.sub)
				// A writer that appends, in place where it can.
				rec.Header()[n] = append(rec.Header()[n], "evil")
				rec.Header().Add(n, "evil2")
			}
			require.Equal(t, a.sub, rec.Header().Get(httpapi.HeaderSubject))
			require.Equal(t, a.body, rec.Body.String())
			require.Equal(t, strings.Repeat("v", len(headerParams(a.hdr.Get(httpapi.HeaderParams))["p"].(string))),
				headerParams(rec.Result().Header.Get(httpapi.HeaderParams))["p"])
		}
	}
}
