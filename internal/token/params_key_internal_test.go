package token

import (
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestCheckKeyPlainMatchesSlow: a key plainKey accepts is one checkKeySlow
// accepts, and checkKey answers as checkKeySlow for every key: lengths
// around MaxParamKeyLen, spaces at either end, control characters, DEL,
// non-ASCII white space and letters, invalid UTF-8.
func TestCheckKeyPlainMatchesSlow(t *testing.T) {
	rng := rand.New(rand.NewPCG(17, 31))
	alphabet := []string{"a", "Z", "0", "-", "_", ".", " ", "~", "\t", "\n", "\r", "\x00", "\x1f", "\x7f", "\x80",
		"\u0085", "\u00a0", "\u2028", "é", "日", "\xff", "\xc3", "\"", "\\", "<"}
	keys := []string{"", " ", "a", " a", "a ", "a b", "locale", "currency", strings.Repeat("k", MaxParamKeyLen),
		strings.Repeat("k", MaxParamKeyLen+1), strings.Repeat("é", MaxParamKeyLen), strings.Repeat("é", MaxParamKeyLen+1),
		"~", "\x7f", "a\x7f", "\u00a0a", "a\u00a0", "\u0085"}
	for range 50000 {
		var b strings.Builder
		n := rng.IntN(8)
		if rng.IntN(10) == 0 {
			n = MaxParamKeyLen - 2 + rng.IntN(4)
		}
		for range n {
			b.WriteString(alphabet[rng.IntN(len(alphabet))])
		}
		keys = append(keys, b.String())
	}
	var plain int
	for _, k := range keys {
		slow := checkKeySlow("params", k)
		if plainKey(k) {
			plain++
			require.NoError(t, slow, "plainKey accepted %q", k)
		}
		require.Equal(t, slow, checkKey("params", k), "%q", k)
	}
	require.Greater(t, plain, 1000, "the fast path is taken")
}
