package httpapi

import (
	"strings"
	"testing"
	"unsafe"

	"github.com/stretchr/testify/require"

	"github.com/sigil-dev/sigil/internal/token"
)

// TestNewAnswers_TextInOwnTail: newAnswers keeps a verify answer's body and
// header values in the answers object's own tail (one allocation), equal
// byte for byte to the answer rendered into a block of its own, for texts
// across the tail's steps and past its bound; no view reaches outside its
// object's tail, so two tokens' answers never share text.
func TestNewAnswers_TextInOwnTail(t *testing.T) {
	for _, n := range []int{0, 1, 63, 64, 65, 200, 1000, 5000, maxAnswersTail, maxAnswersTail + 10} {
		c := &token.Claims{Kind: token.KindEmbed, DashboardID: "sales", Scope: "dashboard:view",
			Params:           map[string]any{"pad": strings.Repeat("p", n)},
			SecurityPolicies: []token.Policy{{Name: "region", Params: map[string]any{"r": "emea"}}}}
		c.Subject = strings.Repeat("s", n%97) + "-user"
		as := newAnswers(c)
		require.Equal(t, uint32(verifyReady), as.verifyState.Load())
		var want verifyAnswer
		renderVerify(&want, c)
		require.Equal(t, want.present, as.verify.present)
		require.Equal(t, string(want.body), string(as.verify.body))
		require.Equal(t, want.vals, as.verify.vals)
		require.Equal(t, len(as.verify.body), cap(as.verify.body), "appending to the body copies it")

		lo := uintptr(unsafe.Pointer(as)) + unsafe.Sizeof(answers{})
		size := len(as.verify.body)
		for _, v := range as.verify.vals {
			size += len(v)
		}
		hi := lo + uintptr(size)
		inTail := func(p unsafe.Pointer, l int) bool {
			return l == 0 || uintptr(p) >= lo && uintptr(p)+uintptr(l) <= hi
		}
		ownTail := size <= maxAnswersTail
		require.Equal(t, ownTail, inTail(unsafe.Pointer(unsafe.SliceData(as.verify.body)), len(as.verify.body)), "n=%d", n)
		for i, v := range as.verify.vals {
			require.Equal(t, ownTail, v == "" || inTail(unsafe.Pointer(unsafe.StringData(v)), len(v)), "n=%d header %d", n, i)
		}
	}
}
