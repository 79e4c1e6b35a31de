package revocation

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/sigil-dev/sigil/internal/token"
)

// TestCutoffKeys: the keys the memory store and direct mode look up are
// exactly those of cutoffsOf, in its order, for every mix of claims.
func TestCutoffKeys(t *testing.T) {
	for _, sub := range []string{"", "user-1", "a:b\\nc"} {
		for _, client := range []string{"", "sales"} {
			for _, res := range [][3]string{{}, {"d1"}, {"", "a1"}, {"", "", "r1"}, {"d1", "a1", "r1"}} {
				c := &token.Claims{ClientID: client, DashboardID: res[0], AppID: res[1], ReportID: res[2]}
				c.Subject = sub
				var want []string
				for _, cut := range cutoffsOf(c) {
					want = append(want, cut.Key())
				}
				got := cutoffKeys(c)
				if len(want) == 0 {
					require.Empty(t, got)
					continue
				}
				require.Equal(t, want, got, "%+v", c)
			}
		}
	}
}
