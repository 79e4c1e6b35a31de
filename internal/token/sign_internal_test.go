package token

import (
	"encoding/json"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/stretchr/testify/require"
)

// TestClaimsJSONMatchesMarshalJSON: for claims of every shape (strings
// JSON escapes, non-ASCII, empty values, 0-2 audiences, instants with
// fractions of a second and before 1970, params of every type, policies),
// appendClaimsJSON writes exactly c.MarshalJSON's bytes or declines.
func TestClaimsJSONMatchesMarshalJSON(t *testing.T) {
	rng := rand.New(rand.NewPCG(17, 3))
	pick := func(xs ...string) string { return xs[rng.IntN(len(xs))] }
	str := func() string {
		if rng.IntN(25) > 0 {
			return pick("", "sales", "user-42", "https://sigil.test", "dashboard:view report:view", "0190f3c2-8d2a-7b3e-9c1d-2f6a7b8c9d0e")
		}
		return pick("", "a b", "é", "<script>", "a&b", `q"q`, `b\s`, "\x01", "\t", "\u2028", "日本", "\x7f", "~", strings.Repeat("x", 300))
	}
	date := func() *jwt.NumericDate {
		switch rng.IntN(6) {
		case 0:
			return nil
		case 1:
			return jwt.NewNumericDate(time.Unix(-rng.Int64N(1<<34), rng.Int64N(1e9)))
		case 2:
			return &jwt.NumericDate{Time: time.Unix(rng.Int64N(1<<34), rng.Int64N(1e9))} // not truncated
		}
		return jwt.NewNumericDate(time.Unix(1_800_000_000+rng.Int64N(1e6), 0))
	}
	var fast, declined int
	for range 20000 {
		c := Claims{Kind: pick(KindEmbed, KindReport, KindAPI, "", "x<y"), Scope: str(), ClientID: str(), TID: str(),
			DashboardID: str(), ReportID: str(), AppID: str(), ReadOnly: rng.IntN(2) == 0, SecretTag: str()}
		c.Issuer, c.Subject, c.ID = str(), str(), str()
		c.ExpiresAt, c.NotBefore, c.IssuedAt, c.AuthTime = date(), date(), date(), date()
		for range rng.IntN(3) {
			c.Audience = append(c.Audience, str())
		}
		if rng.IntN(4) > 0 {
			c.Params = map[string]any{}
			for range rng.IntN(6) {
				var v any
				switch rng.IntN(8) {
				case 0:
					v = true
				case 1:
					v = false
				case 2:
					v = json.Number("12.5")
				case 3:
					v = 7.25
				case 4:
					v = map[string]any{"locale": "de-DE"}
				default:
					v = str()
				}
				c.Params[pick("locale", "currency", "a", "B", "b", "z", str())] = v
			}
		}
		if rng.IntN(10) == 0 {
			c.SecurityPolicies = []Policy{{Name: "region", Params: map[string]any{"r": "eu"}}}
		}
		want, err := c.MarshalJSON()
		require.NoError(t, err)
		got, ok := appendClaimsJSON(nil, &c)
		if !ok {
			declined++
			continue
		}
		fast++
		require.Equal(t, string(want), string(got))
	}
	t.Logf("written: %d, declined: %d", fast, declined)
	require.Greater(t, fast, 1000)
	require.Greater(t, declined, 1000)
}
