package httpapi_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/sigil-dev/sigil/internal/httpapi"
)

// TestAttack4_ClaimsBoxHostilePayloads: genuinely signed tokens whose
// payloads attack the claims box (claims' plain strings as substrings of
// one payload copy, escaped ones copied, dates and a one-string audience
// in the box). Escaped and plain strings side by side, a claim repeated
// with another value, an audience as a string or an array, unknown members
// around and inside params, deep nesting, and a payload at and past the
// size bound: each answer carries exactly its own token's values, repeated
// from the cache unchanged, and a refused token is a 401, never a 5xx.
func TestAttack4_ClaimsBoxHostilePayloads(t *testing.T) {
	f := newAPI(t)
	okCases := map[string]struct {
		mods    map[string]any
		sub     string
		params  map[string]any
		wantSub string
	}{
		"escaped subject beside plain params": {
			mods: map[string]any{"sub": "é\"ü\\/<>&", "params": map[string]any{"plain": "abc", "esc": "x\"y"}},
			sub:  "é\"ü\\/<>&", params: map[string]any{"plain": "abc", "esc": "x\"y"},
		},
		"audience array": {
			mods: map[string]any{"aud": []string{testAudience, "other"}, "sub": "arr"},
			sub:  "arr",
		},
		"unknown members around": {
			mods: map[string]any{"zzz": strings.Repeat("u", 2000), "aaa": map[string]any{"sub": "evil"}, "sub": "real"},
			sub:  "real",
		},
	}
	for name, c := range okCases {
		t.Run(name, func(t *testing.T) {
			tok := f.genuine(c.mods)
			for range 3 {
				rec := f.verify(tok)
				require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
				require.Equal(t, c.sub, rec.Header().Get(httpapi.HeaderSubject))
				if c.params != nil {
					require.Equal(t, c.params, headerParams(rec.Header().Get(httpapi.HeaderParams)))
				}
			}
		})
	}
	alg := f.set.Active().Alg
	deep := strings.Repeat(`{"a":`, 2000) + `1` + strings.Repeat(`}`, 2000)
	badCases := map[string]string{
		"repeated sub":      strings.Replace(f.payload(map[string]any{"sub": "first"}), `{`, `{"sub":"second",`, 1),
		"deep params":       strings.Replace(f.payload(nil), `{`, `{"params":`+deep+`,`, 1),
		"deep unknown":      strings.Replace(f.payload(nil), `{`, `{"x":`+deep+`,`, 1),
		"past size bound":   strings.Replace(f.payload(nil), `{`, `{"x":"`+strings.Repeat("p", 9000)+`",`, 1),
		"params not object": strings.Replace(f.payload(nil), `{`, `{"params":"x",`, 1),
		"aud number":        strings.Replace(f.payload(map[string]any{"aud": nil}), `{`, `{"aud":1,`, 1),
	}
	for name, payload := range badCases {
		t.Run(name, func(t *testing.T) {
			tok := f.signAs(alg, f.hdr(alg, ""), payload)
			rec := f.verify(tok)
			require.Equal(t, http.StatusUnauthorized, rec.Code, "%s: %s", name, rec.Body.String())
			require.Empty(t, rec.Header().Get(httpapi.HeaderSubject))
		})
	}
}
