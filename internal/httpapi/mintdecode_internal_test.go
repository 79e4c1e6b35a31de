package httpapi

import (
	"encoding/json"
	"errors"
	"math/rand/v2"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/stretchr/testify/require"

	"github.com/sigil-dev/sigil/internal/apperr"
)

// decodeBoth runs body through decodeJSON's two routes after its UTF-8
// check: the fast decoder when it takes the body, else the strict one (what
// decodeJSON does), and the strict decoder alone (what it did before the
// fast one existed). It returns both requests, both verdicts (including
// Validate's) and whether the fast decoder took the body.
func decodeBoth(body []byte) (fast, strict mintRequest, fastErr, strictErr error, took bool) {
	const maxExpiry = 24 * time.Hour
	fast = mintRequest{maxExpiry: maxExpiry}
	strict = mintRequest{maxExpiry: maxExpiry}
	if took = fast.decodeFast(body); took {
		fastErr = fast.Validate()
	} else if fastErr = decodeStrict(body, &fast); fastErr == nil {
		fastErr = fast.Validate()
	}
	if strictErr = decodeStrict(body, &strict); strictErr == nil {
		strictErr = strict.Validate()
	}
	return fast, strict, fastErr, strictErr, took
}

// requireSameDecoding is the property: whatever the body, the fast route
// and the strict one accept and refuse alike, with the same error (code,
// field, message), and an accepted body gives the same request; and the
// fast decoder only takes bodies the strict decoder accepts.
func requireSameDecoding(t *testing.T, body []byte) (took, accepted bool) {
	t.Helper()
	if !utf8.Valid(body) {
		return false, false // decodeJSON refuses it before either decoder
	}
	fast, strict, fastErr, strictErr, took := decodeBoth(body)
	require.Equal(t, strictErr, fastErr, "body %q", body)
	require.Equal(t, strict, fast, "body %q", body)
	if took {
		require.NoError(t, decodeStrict(body, &mintRequest{}), "fast decoder took a body the strict one refuses: %q", body)
	}
	return took, strictErr == nil
}

// TestMintFastDecodeHostile: bodies that a hostile caller shapes to slip
// past a hand-written parser are all left to the strict decoder, which
// refuses them as before (the field named where it was).
func TestMintFastDecodeHostile(t *testing.T) {
	const sec = `"dashboardSecret":"s3cret-s3cret"`
	for _, c := range []struct {
		body  string
		field string // the strict decoder's verdict: the field named, or "-" for accepted
	}{
		{`{"dashboardId":"sales",` + sec + `}`, "-"},
		{`{"dashboardId":"sales",` + sec + `,"dashboardId":"other"}`, "dashboardId"},
		{`{"dashboardId":"sales",` + sec + `,"DashboardId":"other"}`, "DashboardId"},
		{`{"dashboardId":"sales",` + sec + `,"ſub":"x"}`, "ſub"},
		{`{"dashboardId":"sales",` + sec + `,"sub":"a","sub":"b"}`, "sub"},
		{`{"dashboard\u0049d":"sales",` + sec + `}`, "-"}, // the escape spells the exact name
		{`{"dashboardId":"sal\u0065s",` + sec + `}`, "-"},
		{`{"dashboardId":"sales",` + sec + `,"admin":true}`, "admin"},
		{`{"dashboardId":"sales",` + sec + `}{}`, ""},
		{`{"dashboardId":"sales",` + sec + `} x`, ""},
		{`{"dashboardId":"sales",` + sec + `,}`, ""},
		{`{"dashboardId":"sales",` + sec, ""},
		{`{"dashboardId":null,` + sec + `}`, "dashboardId"},
		{`{"dashboardId":1,` + sec + `}`, "dashboardId"},
		{`{"dashboardId":"sales",` + sec + `,"tokenExpiry":-1}`, "tokenExpiry"},
		{`{"dashboardId":"sales",` + sec + `,"tokenExpiry":1.5}`, "tokenExpiry"},
		{`{"dashboardId":"sales",` + sec + `,"tokenExpiry":1e3}`, "tokenExpiry"},
		{`{"dashboardId":"sales",` + sec + `,"tokenExpiry":01}`, ""},
		{`{"dashboardId":"sales",` + sec + `,"tokenExpiry":99999999999999999999}`, "tokenExpiry"},
		{`{"dashboardId":"sales",` + sec + `,"tokenExpiry":"60"}`, "tokenExpiry"},
		{`{"dashboardId":"sales",` + sec + `,"tokenExpiry":600}`, "-"},
		{`{"dashboardId":"sales",` + sec + `,"tokenExpiry":0}`, "tokenExpiry"},
		{`{"dashboardId":"sales",` + sec + `,"params":{"locale":"de-DE","locale":"fr-FR"}}`, "locale"},
		{`{"dashboardId":"sales",` + sec + `,"params":{"locale":"de-DE","currency":"EUR"}}`, "-"},
		{`{"dashboardId":"sales",` + sec + `,"params":{"locale":"xx-\u0000"}}`, "params.locale"},
		{`{"dashboardId":"sales",` + sec + `,"params":{"a":1}}`, "-"},
		{`{"dashboardId":"sales",` + sec + `,"params":{"a":{"b":"c"}}}`, "params.a"},
		{`{"dashboardId":"sales",` + sec + `,"params":[]}`, "params"},
		{`{"dashboardId":"sales",` + sec + `,"params":{}}`, "-"},
		{`{"dashboardId":"sales",` + sec + `,"securityPolicies":[{"name":"r","name":"s"}]}`, "name"},
		{`{"dashboardId":"sales",` + sec + `,"sub":"a` + "\x01" + `b"}`, ""},
		{`{"dashboardId":"sales",` + sec + `,"sub":" a"}`, "sub"},
		{"\ufeff" + `{"dashboardId":"sales",` + sec + `}`, ""},
		{"\u00a0" + `{"dashboardId":"sales",` + sec + `}`, ""},
		{`[{"dashboardId":"sales",` + sec + `}]`, ""},
		{`{}`, "dashboardId"},
		{`"x"`, ""},
	} {
		t.Run(c.body, func(t *testing.T) {
			_, _, _, strictErr, _ := decodeBoth([]byte(c.body))
			if c.field == "-" {
				require.NoError(t, strictErr)
			} else {
				require.Error(t, strictErr)
				require.Equal(t, c.field, errField(strictErr))
			}
			requireSameDecoding(t, []byte(c.body))
		})
	}
}

// TestMintFastDecodeMatchesStrict drives both routes with many generated
// bodies: the usual mint body in many spellings, and mutations of it that
// a hostile caller would try (repeated and case-varied names, escapes,
// other types, truncation, stray bytes, trailing data). It also checks
// that the generator reaches every corner: bodies the fast decoder takes,
// bodies it leaves to the strict decoder that the strict decoder accepts,
// and bodies that are refused.
func TestMintFastDecodeMatchesStrict(t *testing.T) {
	rng := rand.New(rand.NewPCG(17, 2))
	var took, slowAccepted, refused int
	n := 20000
	if testing.Short() {
		n = 2000
	}
	for range n {
		body := genMintBody(rng)
		tk, acc := requireSameDecoding(t, body)
		switch {
		case tk:
			took++
		case acc:
			slowAccepted++
		default:
			refused++
		}
	}
	t.Logf("fast: %d, strict accepted: %d, refused: %d", took, slowAccepted, refused)
	require.Greater(t, took, n/10)
	require.Greater(t, slowAccepted, n/200)
	require.Greater(t, refused, n/10)
}

// FuzzMintFastDecode is the same property under Go's fuzzer.
func FuzzMintFastDecode(f *testing.F) {
	rng := rand.New(rand.NewPCG(1, 7))
	for range 64 {
		f.Add(genMintBody(rng))
	}
	f.Add([]byte(`{"dashboardId":"sales","dashboardSecret":"x","sub":"u","params":{"locale":"de-DE","currency":"EUR"}}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		requireSameDecoding(t, body)
	})
}

func errField(err error) string {
	var ae *apperr.Error
	if errors.As(err, &ae) {
		return ae.Field
	}
	return "(not an apperr.Error)"
}

// genMintBody returns a mint body: members from a pool of names and
// values, JSON and non-JSON white space, then sometimes a mutation.
func genMintBody(rng *rand.Rand) []byte {
	pick := func(xs ...string) string { return xs[rng.IntN(len(xs))] }
	ws := func() string {
		if rng.IntN(3) > 0 {
			return ""
		}
		if rng.IntN(40) == 0 {
			return pick("\v", "\u00a0", "\f") // not JSON white space
		}
		return pick(" ", "\n", "\t", "\r\n  ", "  ")
	}
	str := func() string {
		if rng.IntN(2) == 0 {
			return pick(`"sales"`, `"user-7"`, `"de-DE"`, `"Grüße"`)
		}
		return `"` + pick("sales", "s3cret-s3cret", "user-1", "", "a b", "é", `\u00e9`, `\"`, "\x01", "\t", "日本",
			`\\`, "x\u2028y", "<&>", "sales.v2:1", "-lead", " pad", strings.Repeat("k", 130), strings.Repeat("s", 300)) + `"`
	}
	num := func() string {
		return pick("0", "1", "60", "600", "86400", "86401", "-1", "01", "1.5", "1e3", "1E3", "-0",
			"99999999999999999999", "9223372036854775807", "123456789012345678", "1234567890123456789")
	}
	params := func() string {
		n := rng.IntN(4)
		var ms []string
		for range n {
			k := pick(`"locale"`, `"currency"`, `"a"`, `"A"`, `""`, `"b c"`, `"currencyFormat"`, `"\u0061"`, `"x-y"`)
			v := pick(`"de-DE"`, `"EUR"`, `"eur"`, `"x"`, `""`, `1`, `true`, `null`, `{"locale":"de-DE"}`, `[]`, `"de_DE"`, str())
			ms = append(ms, ws()+k+ws()+":"+ws()+v+ws())
		}
		return "{" + strings.Join(ms, ",") + ws() + "}"
	}
	value := func(name string) string {
		if rng.IntN(20) == 0 { // any type anywhere
			return pick(str(), num(), "null", "true", "{}", "[]", params(), `[{"name":"r"}]`)
		}
		switch name {
		case `"tokenExpiry"`:
			return num()
		case `"params"`:
			return params()
		case `"securityPolicies"`:
			return pick(`[]`, `[{"name":"r"}]`, `[{"name":"r","params":{"x":1}}]`, `[{"Name":"r"}]`, `null`)
		}
		return str()
	}
	names := []string{`"dashboardId"`, `"dashboardSecret"`, `"sub"`, `"tokenExpiry"`, `"params"`}
	var members []string
	members = append(members, `"dashboardId"`+ws()+":"+ws()+pick(`"sales"`, `"sales"`, str()))
	members = append(members, `"dashboardSecret"`+ws()+":"+ws()+pick(`"s3cret-s3cret"`, `"s3cret-s3cret"`, str()))
	for range rng.IntN(4) {
		name := pick(append(names, names...)...)
		if rng.IntN(12) == 0 {
			name = pick(`"securityPolicies"`, `"DashboardId"`, `"SUB"`, `"ſub"`, `"unknown"`, `"dashboard\u0049d"`, `""`, `"tokenexpiry"`)
		}
		members = append(members, name+ws()+":"+ws()+value(name))
	}
	rng.Shuffle(len(members), func(i, j int) { members[i], members[j] = members[j], members[i] })
	body := []byte(ws() + "{" + ws() + strings.Join(members, ws()+","+ws()) + ws() + "}" + ws())
	switch rng.IntN(16) {
	case 0: // truncated
		body = body[:rng.IntN(len(body))]
	case 1: // a stray byte
		i := rng.IntN(len(body) + 1)
		b := []byte(pick(",", ":", "{", "}", "\"", "\\", "0", " ", "x", "]"))
		body = append(body[:i:i], append(b, body[i:]...)...)
	case 2: // trailing data
		body = append(body, pick("x", "{}", ",", "null", " \n", "}")...)
	case 3: // a byte dropped
		if len(body) > 0 {
			i := rng.IntN(len(body))
			body = append(body[:i:i], body[i+1:]...)
		}
	}
	return body
}

// TestAppendTokenResponseMatchesJSON: the hand-written answer is byte for
// byte what Echo's c.JSON wrote (encoding/json's Encoder: HTML-safe
// escaping, then a newline) for tokens and instants of every shape, and it
// declines (c.JSON writes the answer) where it could differ.
func TestAppendTokenResponseMatchesJSON(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 17))
	tokens := []string{"eyJhbGciOiJFZERTQSJ9.eyJzdWIiOiJ4In0.c2ln", "", "a.b.c", "a<b", "a&b", "a\"b", `a\b`, "é", "a\x01b", "a\u2028b", "x\x7f"}
	instants := []time.Time{{}, time.Unix(0, 0).UTC(), time.Unix(1_800_000_000, 0).UTC(), time.Unix(1_800_000_000, 123_000_000).UTC(),
		time.Unix(1_800_000_000, 1).UTC(), time.Date(9999, 12, 31, 23, 59, 59, 999_999_999, time.UTC),
		time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(-1, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Unix(1_800_000_000, 0).In(time.FixedZone("x", 3600))}
	var fast, declined int
	for i := range 2000 {
		r := tokenResponse{AccessToken: tokens[i%len(tokens)], TokenType: "Bearer", ExpiresIn: rng.Int64N(1<<40) - 1<<20,
			ExpiresAt: instants[rng.IntN(len(instants))]}
		if i%97 == 0 {
			r.TokenType = "bearer"
		}
		var want strings.Builder
		encErr := json.NewEncoder(&want).Encode(r)
		got, ok := appendTokenResponse(nil, &r)
		if encErr != nil {
			require.False(t, ok, "c.JSON fails here: so must the fast answer decline")
		}
		if !ok {
			declined++
			continue
		}
		fast++
		require.Equal(t, want.String(), string(got))
	}
	require.Greater(t, fast, 300)
	require.Greater(t, declined, 100)
}
