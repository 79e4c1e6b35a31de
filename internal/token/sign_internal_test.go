package token

import (
	"encoding/json"
	"math/rand/v2"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/golang-jwt/jwt/v5"
	"github.com/stretchr/testify/require"

	"github.com/sigil-dev/sigil/internal/apperr"
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

// foldString is how checkFoldUnique folded keys before foldEqual: every
// rune folded, one string built per key.
func foldString(s string) string {
	var b strings.Builder
	for _, r := range s {
		b.WriteRune(foldRune(r))
	}
	return b.String()
}

// checkFoldUniqueMap is checkFoldUnique as it was: a map of folded keys.
func checkFoldUniqueMap(parent string, keys []string) error {
	seen := make(map[string]string, len(keys))
	for _, k := range keys {
		if !utf8.ValidString(k) {
			continue
		}
		f := foldString(k)
		if other, dup := seen[f]; dup {
			return apperr.Invalid(parent, "keys %s and %s differ only in case", echo(other), echo(k))
		}
		seen[f] = k
	}
	return nil
}

// TestCheckFoldUniqueMatchesMap: the allocation-free pairwise check
// refuses exactly the key sets the map of folded keys refused, with the
// same message (the same two keys), over keys from an alphabet of case
// pairs, fold orbits ('s', 'S', 'ſ'; 'k', 'K', Kelvin sign), multi-byte
// runes and invalid UTF-8.
func TestCheckFoldUniqueMatchesMap(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 17))
	alphabet := []string{"a", "A", "s", "S", "ſ", "k", "K", "\u212a", "é", "É", "ß", "ẞ", "-", "1", "\xff", "Σ", "σ", "ς"}
	var refused, passed int
	for range 20000 {
		n := rng.IntN(6)
		set := map[string]any{}
		for range n {
			var b strings.Builder
			for range 1 + rng.IntN(3) {
				b.WriteString(alphabet[rng.IntN(len(alphabet))])
			}
			set[b.String()] = "v"
		}
		keys := sortedKeys(set, nil)
		want := checkFoldUniqueMap("params", keys)
		require.Equal(t, want, checkFoldUnique("params", keys), "%q", keys)
		for _, a := range keys {
			for _, b := range keys {
				if utf8.ValidString(a) && utf8.ValidString(b) {
					require.Equal(t, foldString(a) == foldString(b), foldEqual(a, b), "%q %q", a, b)
				}
			}
		}
		if want != nil {
			refused++
		} else {
			passed++
		}
	}
	require.Greater(t, refused, 300)
	require.Greater(t, passed, 1000)
}
