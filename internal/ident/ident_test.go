package ident_test

import (
	"math/rand/v2"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/sigil-dev/sigil/internal/ident"
)

// TestValidMatchesPattern: Valid accepts exactly what Pattern matches, on
// edge cases and 20,000 random strings over an alphabet of allowed,
// forbidden and multi-byte characters.
func TestValidMatchesPattern(t *testing.T) {
	re := regexp.MustCompile(ident.Pattern)
	rng := rand.New(rand.NewPCG(17, 11))
	alphabet := []string{"a", "Z", "0", "9", ".", "_", ":", "-", " ", "\n", "/", "é", "\x00", "\xff", "A", "z"}
	cases := []string{"", "a", "-a", ".a", "_a", ":a", "a-", "admin", "sales", strings.Repeat("a", 128), strings.Repeat("a", 129),
		"a\n", "sales\n", "Sales.v2:1_x-y", "a b"}
	for range 20000 {
		var b strings.Builder
		for range rng.IntN(8) {
			b.WriteString(alphabet[rng.IntN(len(alphabet))])
		}
		cases = append(cases, b.String())
	}
	var yes int
	for _, c := range cases {
		want := re.MatchString(c)
		require.Equal(t, want, ident.Valid(c), "%q", c)
		if want {
			yes++
		}
	}
	require.Greater(t, yes, 1000)
}
