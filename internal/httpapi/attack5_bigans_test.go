package httpapi_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/sigil-dev/sigil/internal/httpapi"
	"github.com/sigil-dev/sigil/internal/token"
)

// TestAttack5_AnswerTextAcrossTailBound: a sub of raw '<' (one byte in the
// token, six in the answer's JSON body, \u003c as encoding/json writes it)
// makes verify answers whose text walks across maxAnswersTail (16 KiB: the
// last answers with their text in the object's tail, then a block of its
// own), for tokens the cache keeps (<= MaxCachedTokenSize) and tokens it
// does not (answers made per request). Each answer, first use and repeat,
// is exactly what encoding/json writes for the old verifyResponse, with
// the identity headers of the token.
func TestAttack5_AnswerTextAcrossTailBound(t *testing.T) {
	f := newAPI(t)
	alg := f.set.Active().Alg
	payload := func(mods map[string]any) string {
		var b bytes.Buffer
		enc := json.NewEncoder(&b)
		enc.SetEscapeHTML(false) // raw '<' in the token
		require.NoError(t, enc.Encode(f.claims(mods)))
		return strings.TrimSuffix(b.String(), "\n")
	}
	type resp struct {
		Active   bool   `json:"active"`
		Subject  string `json:"sub,omitempty"`
		Kind     string `json:"tt"`
		Scope    string `json:"scope,omitempty"`
		Resource string `json:"resource"`
		Exp      int64  `json:"exp,omitempty"`
	}
	cached, uncached := 0, 0
	for _, pad := range []int{0, 1200} {
		for l := 2300; l <= 2345; l += 3 {
			sub := strings.Repeat("<", l) + "é"
			mods := map[string]any{"sub": sub}
			if pad > 0 {
				mods["params"] = map[string]any{"pad": strings.Repeat("p", pad)}
			}
			tok := f.signAs(alg, f.hdr(alg, ""), payload(mods))
			if len(tok) <= token.MaxCachedTokenSize {
				cached++
			} else {
				uncached++
			}
			var want bytes.Buffer
			exp := f.claims(nil)["exp"].(int64)
			require.NoError(t, json.NewEncoder(&want).Encode(resp{Active: true, Subject: sub, Kind: "embed", Scope: "dashboard:view", Resource: "dashboard:sales", Exp: exp}))
			for use := range 3 {
				rec := f.verify(tok)
				require.Equal(t, http.StatusOK, rec.Code, "sub of %d, use %d: %.200s", l, use, rec.Body.String())
				require.Equal(t, want.String(), rec.Body.String(), "sub of %d, use %d", l, use)
				require.Equal(t, sub, rec.Header().Get(httpapi.HeaderSubject))
				require.Equal(t, "dashboard:sales", rec.Header().Get(httpapi.HeaderResource))
				if pad > 0 {
					require.Equal(t, strings.Repeat("p", pad), headerParams(rec.Header().Get(httpapi.HeaderParams))["pad"])
				}
			}
		}
	}
	require.Positive(t, cached)
	require.Positive(t, uncached)
}
