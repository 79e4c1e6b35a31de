package token_test

import (
	"context"
	"crypto/ed25519"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/stretchr/testify/require"

	"github.com/sigil-dev/sigil/internal/keys"
	"github.com/sigil-dev/sigil/internal/token"
)

func TestVerifier_Verify_RoundTrip(t *testing.T) {
	for _, alg := range []string{keys.EdDSA, keys.ES256, keys.RS256, keys.HS256} {
		t.Run(alg, func(t *testing.T) {
			k := testKey(t, alg, "main")
			f := newFixture(t, k)
			ctx := context.Background()

			raw, minted := f.mint(t, embedClaims(), time.Hour)
			want := &token.Claims{
				RegisteredClaims: jwt.RegisteredClaims{
					Issuer:    testIssuer,
					Subject:   "user-42",
					Audience:  jwt.ClaimStrings{testAudience},
					ExpiresAt: jwt.NewNumericDate(epoch.Add(time.Hour)),
					NotBefore: jwt.NewNumericDate(epoch),
					IssuedAt:  jwt.NewNumericDate(epoch),
					ID:        "jti-1",
				},
				Kind:             token.KindEmbed,
				Scope:            "dashboard:view",
				ClientID:         "dash-1",
				DashboardID:      "dash-1",
				Params:           map[string]any{"locale": "de-DE", "currency": "EUR", "n": json.Number("3.5"), "on": true},
				SecurityPolicies: []token.Policy{{Name: "region", Params: map[string]any{"region": "EU"}}},
				AuthTime:         jwt.NewNumericDate(epoch),
			}
			require.Equal(t, want, minted)

			got, err := f.verifier.Verify(ctx, raw)
			require.NoError(t, err)
			require.Equal(t, want, got)

			// The header names the active key; the audience is one string.
			parts := strings.Split(raw, ".")
			require.Len(t, parts, 3)
			hdr, err := b64.DecodeString(parts[0])
			require.NoError(t, err)
			require.JSONEq(t, `{"alg":"`+alg+`","kid":"`+k.KID+`","typ":"JWT"}`, string(hdr))
			pl, err := b64.DecodeString(parts[1])
			require.NoError(t, err)
			require.Contains(t, string(pl), `"aud":"`+testAudience+`"`)

			// A registered kind that never expires.
			raw, minted = f.mint(t, token.Claims{
				RegisteredClaims: jwt.RegisteredClaims{Subject: "owner-1"},
				Kind:             token.KindReport, ReportID: "rep-9", TID: "rec-1", Scope: "report:read",
			}, 0)
			require.Nil(t, minted.ExpiresAt)
			got, err = f.verifier.Verify(ctx, raw)
			require.NoError(t, err)
			require.Equal(t, minted, got)
			require.Equal(t, "report:rep-9", got.Resource())
		})
	}
}

// attack is one hostile or edge-case token.
type attack struct {
	name  string
	build func(t testing.TB, f *fixture) string
	// want is the sentinel Verify must return; nil means accepted.
	want error
	// timeOnly marks failures of exp/nbf/iat against the clock, which
	// VerifyIgnoringExpiry accepts.
	timeOnly bool
}

func attacks() []attack {
	ed := func(t testing.TB) *keys.Key { return testKey(t, keys.EdDSA, "main") }
	attacker := func(t testing.TB) *keys.Key { return testKey(t, keys.EdDSA, "attacker") }
	now := epoch
	valid := func(t testing.TB, hdr, pl string) string { return sign(t, ed(t), hdr, pl) }
	edHeader := func(t testing.TB) string { return header(keys.EdDSA, ed(t).KID) }
	// withPayload signs an ed25519 token over a payload built from extra/drop.
	withPayload := func(extra string, drop ...string) func(t testing.TB, f *fixture) string {
		return func(t testing.TB, f *fixture) string { return valid(t, edHeader(t), payload(now, extra, drop...)) }
	}
	withHeader := func(hdr func(t testing.TB) string) func(t testing.TB, f *fixture) string {
		return func(t testing.TB, f *fixture) string { return valid(t, hdr(t), payload(now, "")) }
	}
	unsigned := func(hdr func(t testing.TB) string, sig string) func(t testing.TB, f *fixture) string {
		return func(t testing.TB, f *fixture) string { return seg(hdr(t)) + "." + seg(payload(now, "")) + "." + sig }
	}
	noneHeader := func(alg string) func(t testing.TB) string {
		return func(t testing.TB) string { return header(alg, ed(t).KID) }
	}
	// hmacWith signs an HMAC-SHA256 token with key bytes under alg and kid.
	hmacWith := func(alg string, kid func(t testing.TB) string, secret func(t testing.TB) []byte) func(t testing.TB, f *fixture) string {
		return func(t testing.TB, f *fixture) string {
			return signWith(t, jwt.SigningMethodHS256, secret(t), seg(header(alg, kid(t)))+"."+seg(payload(now, "")))
		}
	}
	hsSecret := func(t testing.TB) []byte { return testKey(t, keys.HS256, "main").Secret }
	pemPublic := func(k *keys.Key) func(t testing.TB) []byte {
		return func(t testing.TB) []byte {
			der, err := x509.MarshalPKIXPublicKey(k.Public)
			require.NoError(t, err)
			return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
		}
	}
	kidOf := func(alg string) func(t testing.TB) string {
		return func(t testing.TB) string { return testKey(t, alg, "main").KID }
	}
	minted := func(t testing.TB, f *fixture) string {
		raw, _ := f.mint(t, embedClaims(), time.Hour)
		return raw
	}
	ts := func(d time.Duration) string { return itoa(now.Add(d).Unix()) }
	times := func(iat, nbf, exp time.Duration) func(t testing.TB, f *fixture) string {
		return withPayload(`,"iat":`+ts(iat)+`,"nbf":`+ts(nbf)+`,"exp":`+ts(exp), "iat", "nbf", "exp")
	}
	badExp := func(v string) func(t testing.TB, f *fixture) string { return withPayload(`,"exp":`+v, "exp") }

	return []attack{
		// Baselines.
		{name: "OK/minted", build: minted},
		{name: "OK/hand-built", build: withPayload("")},
		{name: "OK/typ absent", build: withHeader(func(t testing.TB) string { return `{"alg":"EdDSA","kid":"` + ed(t).KID + `"}` })},
		{name: "OK/aud array containing ours", build: withPayload(`,"aud":["other","`+testAudience+`"]`, "aud")},
		{name: "OK/exp within leeway", build: times(-time.Hour, -time.Hour, -29*time.Second)},
		{name: "OK/exp in exponent form", build: badExp(ts(time.Hour)[:1] + "." + ts(time.Hour)[1:] + "e" + itoa(int64(len(ts(time.Hour))-1)))},
		// A8: sigil's own key, a lifetime no minting path gives an embed token.
		{name: "ErrClaims/embed lifetime of ten years", build: times(0, 0, 10*365*24*time.Hour), want: token.ErrClaims},
		{name: "ErrClaims/embed lifetime one second over the maximum", build: times(0, 0, token.DefaultEmbedMaxLifetime+time.Second), want: token.ErrClaims},
		{name: "OK/embed lifetime of exactly the maximum", build: times(0, 0, token.DefaultEmbedMaxLifetime)},
		{name: "ErrClaims/embed exp in exponent form ten years out", build: badExp("2.1e9"), want: token.ErrClaims},
		{name: "ErrClaims/auth_time after iat", build: withPayload(`,"auth_time":` + ts(time.Minute)), want: token.ErrClaims},
		{name: "ErrClaims/auth_time case variant", build: withPayload(`,"AUTH_TIME":` + ts(0)), want: token.ErrClaims},
		{name: "OK/auth_time before iat", build: withPayload(`,"auth_time":` + ts(-time.Hour))},
		{name: "OK/exp fractional", build: badExp(ts(time.Hour) + ".25")},
		{name: "OK/registered kind without exp", build: withPayload(`,"tt":"report","reportId":"r1","tid":"rec-1"`, "exp", "tt", "dashboardId")},
		{name: "OK/api kind without exp", build: withPayload(`,"tt":"api","scope":"meta:read","tid":"rec-2"`, "exp", "tt", "dashboardId")},
		{name: "ErrClaims/report token without a record id (offline mint)", build: withPayload(`,"tt":"report","reportId":"r1"`, "exp", "tt", "dashboardId"), want: token.ErrClaims},
		{name: "ErrClaims/app-view token without a record id", build: withPayload(`,"tt":"app-view","appId":"a1","readOnly":true`, "tt", "dashboardId"), want: token.ErrClaims},
		{name: "ErrClaims/api token without a record id", build: withPayload(`,"tt":"api","scope":"meta:read"`, "exp", "tt", "dashboardId"), want: token.ErrClaims},
		{name: "OK/escaped non-claim member name", build: withPayload(`,"params":{"a\u003cb":1,"x\u00e9":"y"}`)},
		{name: "OK/jku x5u jwk x5c ignored when signed by a loaded key", build: withHeader(func(t testing.TB) string {
			return `{"alg":"EdDSA","kid":"` + ed(t).KID + `","typ":"JWT","jku":"https://evil.test/jwks.json","x5u":"https://evil.test/c.pem",` +
				`"jwk":{"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"},"x5c":["MIIB"]}`
		})},

		// alg none and friends.
		{name: "ErrMalformed/alg none empty signature", build: unsigned(noneHeader("none"), ""), want: token.ErrMalformed},
		{name: "ErrHeader/alg none garbage signature", build: unsigned(noneHeader("none"), "Z2FyYmFnZQ"), want: token.ErrHeader},
		{name: "ErrMalformed/alg NONE empty signature", build: unsigned(noneHeader("NONE"), ""), want: token.ErrMalformed},
		{name: "ErrHeader/alg NONE garbage signature", build: unsigned(noneHeader("NONE"), "Z2FyYmFnZQ"), want: token.ErrHeader},
		{name: "ErrHeader/alg None garbage signature", build: unsigned(noneHeader("None"), "Z2FyYmFnZQ"), want: token.ErrHeader},
		{name: "ErrHeader/alg nOnE garbage signature", build: unsigned(noneHeader("nOnE"), "Z2FyYmFnZQ"), want: token.ErrHeader},
		{name: "ErrHeader/alg none without kid", build: unsigned(func(testing.TB) string { return `{"alg":"none"}` }, "AA"), want: token.ErrHeader},
		{name: "ErrHeader/alg missing", build: withHeader(func(t testing.TB) string { return `{"kid":"` + ed(t).KID + `"}` }), want: token.ErrHeader},
		{name: "ErrHeader/alg not a string", build: withHeader(func(t testing.TB) string { return `{"alg":["EdDSA"],"kid":"` + ed(t).KID + `"}` }), want: token.ErrHeader},
		{name: "OK/HS256 genuine", build: hmacWith("HS256", kidOf(keys.HS256), hsSecret)},
		{name: "ErrHeader/alg hs256 lower case", build: hmacWith("hs256", kidOf(keys.HS256), hsSecret), want: token.ErrHeader},
		{name: "ErrHeader/alg Hs256", build: hmacWith("Hs256", kidOf(keys.HS256), hsSecret), want: token.ErrHeader},
		{name: "ErrHeader/alg HS384", build: hmacWith("HS384", kidOf(keys.HS256), hsSecret), want: token.ErrHeader},
		{name: "ErrHeader/alg PS256", build: withHeader(func(t testing.TB) string { return header("PS256", testKey(t, keys.RS256, "main").KID) }), want: token.ErrHeader},
		{name: "ErrHeader/alg EdDSA with the RSA key's kid", build: func(t testing.TB, f *fixture) string {
			return sign(t, ed(t), header("EdDSA", kidOf(keys.RS256)(t)), payload(now, ""))
		}, want: token.ErrHeader},

		// Algorithm confusion: HS256 keyed with a public key, under that key's kid.
		{name: "ErrHeader/HS256 with RSA public key PEM", build: hmacWith("HS256", kidOf(keys.RS256), func(t testing.TB) []byte { return pemPublic(testKey(t, keys.RS256, "main"))(t) }), want: token.ErrHeader},
		{name: "ErrHeader/HS256 with RSA public key DER", build: hmacWith("HS256", kidOf(keys.RS256), func(t testing.TB) []byte {
			der, err := x509.MarshalPKIXPublicKey(testKey(t, keys.RS256, "main").Public)
			require.NoError(t, err)
			return der
		}), want: token.ErrHeader},
		{name: "ErrHeader/HS256 with Ed25519 public key bytes", build: hmacWith("HS256", kidOf(keys.EdDSA), func(t testing.TB) []byte { return []byte(ed(t).Public.(ed25519.PublicKey)) }), want: token.ErrHeader},
		{name: "ErrHeader/HS256 with ECDSA public key PEM", build: hmacWith("HS256", kidOf(keys.ES256), func(t testing.TB) []byte { return pemPublic(testKey(t, keys.ES256, "main"))(t) }), want: token.ErrHeader},

		// Key selection.
		{name: "ErrUnknownKey/unknown kid", build: func(t testing.TB, f *fixture) string {
			return sign(t, attacker(t), header("EdDSA", attacker(t).KID), payload(now, ""))
		}, want: token.ErrUnknownKey},
		{name: "ErrHeader/missing kid", build: withHeader(func(testing.TB) string { return `{"alg":"EdDSA","typ":"JWT"}` }), want: token.ErrHeader},
		{name: "ErrHeader/empty kid", build: withHeader(func(testing.TB) string { return `{"alg":"EdDSA","kid":""}` }), want: token.ErrHeader},
		{name: "ErrHeader/kid not a string", build: withHeader(func(testing.TB) string { return `{"alg":"EdDSA","kid":7}` }), want: token.ErrHeader},
		{name: "ErrUnknownKey/jwk embeds the attacker key under its kid", build: func(t testing.TB, f *fixture) string {
			a := attacker(t)
			return sign(t, a, `{"alg":"EdDSA","kid":"`+a.KID+`","jwk":{"kty":"OKP","crv":"Ed25519","x":"`+b64.EncodeToString(a.Public.(ed25519.PublicKey))+`"}}`, payload(now, ""))
		}, want: token.ErrUnknownKey},
		{name: "ErrSignature/jwk embeds the attacker key under our kid", build: func(t testing.TB, f *fixture) string {
			a := attacker(t)
			return sign(t, a, `{"alg":"EdDSA","kid":"`+ed(t).KID+`","jwk":{"kty":"OKP","crv":"Ed25519","x":"`+b64.EncodeToString(a.Public.(ed25519.PublicKey))+`"}}`, payload(now, ""))
		}, want: token.ErrSignature},
		{name: "ErrSignature/jku points elsewhere", build: func(t testing.TB, f *fixture) string {
			return sign(t, attacker(t), `{"alg":"EdDSA","kid":"`+ed(t).KID+`","jku":"https://evil.test/jwks.json"}`, payload(now, ""))
		}, want: token.ErrSignature},
		{name: "ErrSignature/x5u points elsewhere", build: func(t testing.TB, f *fixture) string {
			return sign(t, attacker(t), `{"alg":"EdDSA","kid":"`+ed(t).KID+`","x5u":"https://evil.test/cert.pem"}`, payload(now, ""))
		}, want: token.ErrSignature},
		{name: "ErrSignature/x5c carries a chain", build: func(t testing.TB, f *fixture) string {
			return sign(t, attacker(t), `{"alg":"EdDSA","kid":"`+ed(t).KID+`","x5c":["MIIBIjANBgkq"]}`, payload(now, ""))
		}, want: token.ErrSignature},
		{name: "ErrSignature/other ES256 key under our kid", build: func(t testing.TB, f *fixture) string {
			return sign(t, testKey(t, keys.ES256, "other"), header("ES256", kidOf(keys.ES256)(t)), payload(now, ""))
		}, want: token.ErrSignature},

		// Header rules.
		{name: "ErrHeader/crit", build: withHeader(func(t testing.TB) string { return `{"alg":"EdDSA","kid":"` + ed(t).KID + `","crit":["exp"],"exp":1}` }), want: token.ErrHeader},
		{name: "ErrHeader/crit empty", build: withHeader(func(t testing.TB) string { return `{"alg":"EdDSA","kid":"` + ed(t).KID + `","crit":[]}` }), want: token.ErrHeader},
		{name: "ErrHeader/typ at+jwt", build: withHeader(func(t testing.TB) string { return `{"alg":"EdDSA","kid":"` + ed(t).KID + `","typ":"at+jwt"}` }), want: token.ErrHeader},
		{name: "ErrHeader/typ jwt lower case", build: withHeader(func(t testing.TB) string { return `{"alg":"EdDSA","kid":"` + ed(t).KID + `","typ":"jwt"}` }), want: token.ErrHeader},
		{name: "ErrHeader/duplicate alg", build: withHeader(func(t testing.TB) string { return `{"alg":"HS256","alg":"EdDSA","kid":"` + ed(t).KID + `"}` }), want: token.ErrHeader},
		{name: "ErrHeader/ALG beside alg", build: withHeader(func(t testing.TB) string { return `{"alg":"EdDSA","ALG":"none","kid":"` + ed(t).KID + `"}` }), want: token.ErrHeader},
		{name: "ErrHeader/Kid instead of kid", build: withHeader(func(t testing.TB) string { return `{"alg":"EdDSA","Kid":"` + ed(t).KID + `"}` }), want: token.ErrHeader},
		{name: "ErrHeader/escaped alg name", build: withHeader(func(t testing.TB) string { return `{"\u0061lg":"EdDSA","kid":"` + ed(t).KID + `"}` }), want: token.ErrHeader},
		{name: "ErrMalformed/header is an array", build: withHeader(func(testing.TB) string { return `["EdDSA"]` }), want: token.ErrMalformed},
		{name: "ErrMalformed/header trailing data", build: withHeader(func(t testing.TB) string { return edHeader(t) + `{}` }), want: token.ErrMalformed},

		// Signature and payload integrity.
		{name: "ErrSignature/tampered payload", build: func(t testing.TB, f *fixture) string {
			raw, _ := f.mint(t, embedClaims(), time.Hour)
			parts := strings.Split(raw, ".")
			pl, err := b64.DecodeString(parts[1])
			require.NoError(t, err)
			forged := strings.Replace(string(pl), `"dashboardId":"dash-1"`, `"dashboardId":"dash-2"`, 1)
			require.NotEqual(t, string(pl), forged)
			return parts[0] + "." + seg(forged) + "." + parts[2]
		}, want: token.ErrSignature},
		{name: "ErrSignature/signature of another token", build: func(t testing.TB, f *fixture) string {
			a, _ := f.mint(t, embedClaims(), time.Hour)
			b := valid(t, edHeader(t), payload(now, ""))
			return a[:strings.LastIndexByte(a, '.')] + b[strings.LastIndexByte(b, '.'):]
		}, want: token.ErrSignature},

		// Time.
		{name: "ErrExpired/expired", build: times(-2*time.Hour, -2*time.Hour, -31*time.Second), want: token.ErrExpired, timeOnly: true},
		{name: "ErrNotYetValid/nbf in the future", build: times(0, 31*time.Second, time.Hour), want: token.ErrNotYetValid, timeOnly: true},
		{name: "ErrNotYetValid/iat in the future", build: times(31*time.Second, 0, time.Hour), want: token.ErrNotYetValid, timeOnly: true},
		{name: "ErrClaims/exp 0", build: badExp("0"), want: token.ErrClaims},
		{name: "ErrClaims/exp -1", build: badExp("-1"), want: token.ErrClaims},
		{name: "ErrClaims/exp 0.0", build: badExp("0.0"), want: token.ErrClaims},
		{name: "ErrClaims/exp 1e300", build: badExp("1e300"), want: token.ErrClaims},
		{name: "ErrClaims/exp 1e11", build: badExp("100000000000"), want: token.ErrClaims},
		{name: "ErrClaims/exp string", build: badExp(`"123"`), want: token.ErrClaims},
		{name: "ErrClaims/exp true", build: badExp("true"), want: token.ErrClaims},
		{name: "ErrClaims/exp null", build: badExp("null"), want: token.ErrClaims},
		{name: "ErrClaims/iat string", build: withPayload(`,"iat":"`+ts(0)+`"`, "iat"), want: token.ErrClaims},
		{name: "ErrClaims/nbf negative", build: withPayload(`,"nbf":-5`, "nbf"), want: token.ErrClaims},

		// Duplicate and case-variant claims.
		{name: "ErrClaims/duplicate exp", build: withPayload(`,"exp":` + ts(100*time.Hour)), want: token.ErrClaims},
		{name: "ErrClaims/EXP beside exp", build: withPayload(`,"EXP":` + ts(100*time.Hour)), want: token.ErrClaims},
		{name: "ErrClaims/EXP instead of exp", build: withPayload(`,"EXP":`+ts(time.Hour), "exp"), want: token.ErrClaims},
		{name: "ErrClaims/escaped exp beside exp", build: withPayload(`,"\u0065xp":` + ts(100*time.Hour)), want: token.ErrClaims},
		{name: "ErrClaims/long s folds into sub", build: withPayload(`,"ſub":"admin"`), want: token.ErrClaims},
		{name: "ErrClaims/Kelvin sign folds to k", build: withPayload(`,"t` + "\u212a" + `":"x","tk":"y"`), want: token.ErrClaims},
		{name: "ErrClaims/escaped Kelvin sign folds to k", build: withPayload(`,"t\u212a":"x","tk":"y"`), want: token.ErrClaims},
		{name: "ErrClaims/surrogate pair name duplicate", build: withPayload(`,"\ud83d\ude00":1,"😀":2`), want: token.ErrClaims},
		{name: "ErrClaims/duplicate key in params", build: withPayload(`,"params":{"a":1,"a":2}`), want: token.ErrClaims},
		{name: "ErrClaims/case-variant key in params", build: withPayload(`,"params":{"locale":"de-DE","LOCALE":"en-US"}`), want: token.ErrClaims},
		{name: "ErrClaims/duplicate in nested policy params", build: withPayload(`,"securityPolicies":[{"name":"r","params":{"region":"EU","Region":"US"}}]`), want: token.ErrClaims},
		{name: "ErrClaims/duplicate policy name member", build: withPayload(`,"securityPolicies":[{"name":"r","NAME":"s"}]`), want: token.ErrClaims},

		// Required claims and kinds.
		{name: "ErrIssuer/wrong iss", build: withPayload(`,"iss":"https://evil.test"`, "iss"), want: token.ErrIssuer},
		{name: "ErrClaims/missing iss", build: withPayload("", "iss"), want: token.ErrClaims},
		{name: "ErrAudience/wrong aud", build: withPayload(`,"aud":"someone-else"`, "aud"), want: token.ErrAudience},
		{name: "ErrAudience/aud array without ours", build: withPayload(`,"aud":["a","b"]`, "aud"), want: token.ErrAudience},
		{name: "ErrClaims/missing jti", build: withPayload("", "jti"), want: token.ErrClaims},
		{name: "ErrClaims/empty jti", build: withPayload(`,"jti":""`, "jti"), want: token.ErrClaims},
		{name: "ErrClaims/jti number", build: withPayload(`,"jti":5`, "jti"), want: token.ErrClaims},
		{name: "ErrClaims/missing iat", build: withPayload("", "iat"), want: token.ErrClaims},
		{name: "ErrClaims/missing exp on embed", build: withPayload("", "exp"), want: token.ErrClaims},
		{name: "ErrClaims/missing dashboardId on embed", build: withPayload("", "dashboardId"), want: token.ErrClaims},
		{name: "ErrClaims/api without sub", build: withPayload(`,"tt":"api"`, "tt", "sub", "dashboardId"), want: token.ErrClaims},
		{name: "ErrClaims/app-view without appId", build: withPayload(`,"tt":"app-view"`, "tt", "dashboardId"), want: token.ErrClaims},
		{name: "ErrClaims/unknown tt", build: withPayload(`,"tt":"admin"`, "tt"), want: token.ErrClaims},
		{name: "ErrClaims/missing tt", build: withPayload("", "tt"), want: token.ErrClaims},
		{name: "ErrClaims/readOnly string", build: withPayload(`,"readOnly":"yes"`), want: token.ErrClaims},

		// Step 1: size, alphabet, segments, strict base64url.
		{name: "ErrMalformed/empty", build: func(testing.TB, *fixture) string { return "" }, want: token.ErrMalformed},
		{name: "ErrMalformed/8193 bytes", build: func(t testing.TB, f *fixture) string {
			raw := valid(t, edHeader(t), payload(now, ""))
			raw = raw[:strings.LastIndexByte(raw, '.')+1]
			return raw + strings.Repeat("A", 8193-len(raw))
		}, want: token.ErrMalformed},
		{name: "ErrMalformed/1 MB", build: func(testing.TB, *fixture) string { return strings.Repeat("A", 1<<20) }, want: token.ErrMalformed},
		{name: "ErrMalformed/10000 dots", build: func(testing.TB, *fixture) string { return strings.Repeat(".", 10000) }, want: token.ErrMalformed},
		{name: "ErrMalformed/8000 dots", build: func(testing.TB, *fixture) string { return strings.Repeat(".", 8000) }, want: token.ErrMalformed},
		{name: "ErrMalformed/header of dots", build: func(t testing.TB, f *fixture) string { return strings.Repeat(".", 4000) + minted(t, f) }, want: token.ErrMalformed},
		{name: "ErrMalformed/four segments", build: func(t testing.TB, f *fixture) string { return minted(t, f) + ".AAAA" }, want: token.ErrMalformed},
		{name: "ErrMalformed/two segments", build: func(t testing.TB, f *fixture) string {
			raw := minted(t, f)
			return raw[:strings.LastIndexByte(raw, '.')]
		}, want: token.ErrMalformed},
		{name: "ErrMalformed/empty payload segment", build: func(t testing.TB, f *fixture) string { return seg(edHeader(t)) + "..AAAA" }, want: token.ErrMalformed},
		{name: "ErrMalformed/padding", build: func(t testing.TB, f *fixture) string {
			hdr := padTo(edHeader(t), 2)
			return signWith(t, jwt.SigningMethodEdDSA, ed(t).Signer, seg(hdr)+"=="+"."+seg(payload(now, "")))
		}, want: token.ErrMalformed},
		{name: "ErrMalformed/padded signature", build: func(t testing.TB, f *fixture) string { return minted(t, f) + "==" }, want: token.ErrMalformed},
		{name: "ErrMalformed/standard base64 characters", build: func(t testing.TB, f *fixture) string {
			raw := minted(t, f)
			return strings.NewReplacer("-", "+", "_", "/").Replace(raw) + "+/"
		}, want: token.ErrMalformed},
		{name: "ErrMalformed/non-base64 character", build: func(t testing.TB, f *fixture) string { return "eyJ!" + minted(t, f) }, want: token.ErrMalformed},
		{name: "ErrMalformed/embedded NUL", build: func(t testing.TB, f *fixture) string {
			raw := minted(t, f)
			return raw[:10] + "\x00" + raw[10:]
		}, want: token.ErrMalformed},
		{name: "ErrMalformed/trailing newline", build: func(t testing.TB, f *fixture) string { return minted(t, f) + "\n" }, want: token.ErrMalformed},
		{name: "ErrMalformed/signature spare bits flipped", build: func(t testing.TB, f *fixture) string { return flipSpareBit(t, minted(t, f)) }, want: token.ErrMalformed},
		{name: "ErrMalformed/header spare bits flipped", build: func(t testing.TB, f *fixture) string {
			h := seg(padTo(edHeader(t), 2))
			return signWith(t, jwt.SigningMethodEdDSA, ed(t).Signer, flipSpareBit(t, h)+"."+seg(payload(now, "")))
		}, want: token.ErrMalformed},
		{name: "ErrMalformed/payload spare bits flipped", build: func(t testing.TB, f *fixture) string {
			p := seg(padTo(payload(now, ""), 3))
			return signWith(t, jwt.SigningMethodEdDSA, ed(t).Signer, seg(edHeader(t))+"."+flipSpareBit(t, p))
		}, want: token.ErrMalformed},
		{name: "ErrMalformed/segment length 1 mod 4", build: func(t testing.TB, f *fixture) string {
			raw := minted(t, f)
			return "A" + strings.Repeat("A", (4-len(raw[:strings.IndexByte(raw, '.')])%4)%4) + raw
		}, want: token.ErrMalformed},

		// Payload JSON.
		{name: "ErrMalformed/payload not JSON", build: func(t testing.TB, f *fixture) string { return valid(t, edHeader(t), "not json") }, want: token.ErrMalformed},
		{name: "ErrMalformed/payload array", build: func(t testing.TB, f *fixture) string { return valid(t, edHeader(t), `[1,2]`) }, want: token.ErrMalformed},
		{name: "ErrMalformed/payload trailing data", build: func(t testing.TB, f *fixture) string { return valid(t, edHeader(t), payload(now, "")+` {}`) }, want: token.ErrMalformed},
		{name: "ErrMalformed/payload invalid UTF-8", build: withPayload(",\"scope\":\"\xff\xfe\""), want: token.ErrMalformed},
		{name: "ErrMalformed/payload lone surrogate", build: withPayload(`,"scope":"\ud800"`), want: token.ErrMalformed},
		{name: "ErrMalformed/payload nested too deeply", build: withPayload(`,"params":{"a":` + strings.Repeat("[", 40) + strings.Repeat("]", 40) + `}`), want: token.ErrMalformed},
		{name: "ErrMalformed/payload trailing comma", build: func(t testing.TB, f *fixture) string {
			p := payload(now, "")
			return valid(t, edHeader(t), p[:len(p)-1]+",}")
		}, want: token.ErrMalformed},
	}
}

// padTo adds spaces before a JSON object's closing brace until its
// base64url encoding has length rem mod 4 (so its last character has spare
// bits).
func padTo(jsonText string, rem int) string {
	for len(seg(jsonText))%4 != rem {
		jsonText = jsonText[:len(jsonText)-1] + " }"
	}
	return jsonText
}

// flipSpareBit sets the lowest (spare) bit of the last character of s, a
// base64url text whose length is 2 or 3 mod 4: a lenient decoder reads the
// same bytes, a strict one rejects it.
func flipSpareBit(t testing.TB, s string) string {
	t.Helper()
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	require.NotEqual(t, 0, len(s)%4, "no spare bits")
	i := strings.IndexByte(alphabet, s[len(s)-1])
	require.GreaterOrEqual(t, i, 0)
	require.Equal(t, 0, i&1, "spare bit already set")
	return s[:len(s)-1] + string(alphabet[i|1])
}

func TestVerifier_Verify_Attacks(t *testing.T) {
	f := newFixture(t, testKey(t, keys.EdDSA, "main"))
	for _, tc := range attacks() {
		t.Run(tc.name, func(t *testing.T) {
			raw := tc.build(t, f)
			got, err := f.verifier.Verify(context.Background(), raw)
			if tc.want == nil {
				require.NoError(t, err)
				require.NotNil(t, got)
				return
			}
			require.Error(t, err)
			require.Nil(t, got)
			require.ErrorIs(t, err, tc.want)
			require.ErrorIs(t, err, token.ErrInvalidToken)
			requireNoTokenText(t, err, raw)
		})
	}
}

func TestVerifier_VerifyIgnoringExpiry(t *testing.T) {
	revoked := revocationFunc(func(context.Context, *token.Claims) error { return token.ErrRevoked })
	f := newFixture(t, testKey(t, keys.EdDSA, "main"), func(c *token.VerifierConfig) { c.Revocation = revoked })
	ctx := context.Background()

	t.Run("OK/expired genuine token", func(t *testing.T) {
		raw, minted := f.mint(t, embedClaims(), time.Minute)
		defer f.clock.Set(epoch)
		f.clock.Set(epoch.Add(24 * time.Hour))
		_, err := f.verifier.Verify(ctx, raw)
		require.ErrorIs(t, err, token.ErrExpired)
		got, err := f.verifier.VerifyIgnoringExpiry(ctx, raw)
		require.NoError(t, err)
		require.Equal(t, minted, got)
	})
	t.Run("OK/revoked genuine token", func(t *testing.T) {
		raw, minted := f.mint(t, embedClaims(), time.Minute)
		_, err := f.verifier.Verify(ctx, raw)
		require.ErrorIs(t, err, token.ErrRevoked)
		got, err := f.verifier.VerifyIgnoringExpiry(ctx, raw)
		require.NoError(t, err)
		require.Equal(t, minted, got)
	})
	for _, tc := range attacks() {
		t.Run("attack/"+tc.name, func(t *testing.T) {
			raw := tc.build(t, f)
			got, err := f.verifier.VerifyIgnoringExpiry(ctx, raw)
			if tc.want == nil || tc.timeOnly {
				require.NoError(t, err)
				require.NotNil(t, got)
				return
			}
			require.Nil(t, got)
			require.ErrorIs(t, err, tc.want)
			require.ErrorIs(t, err, token.ErrInvalidToken)
			requireNoTokenText(t, err, raw)
		})
	}
}

func requireNoTokenText(t *testing.T, err error, raw string) {
	t.Helper()
	msg := err.Error()
	for _, part := range strings.Split(raw, ".") {
		if len(part) >= 8 {
			require.NotContains(t, msg, part)
		}
	}
}

func TestVerifier_Verify_Revocation(t *testing.T) {
	ctx := context.WithValue(context.Background(), ctxKey{}, "req-1")
	storeDown := errors.New("redis: connection refused")
	tests := []struct {
		name       string
		check      func(ctx context.Context, c *token.Claims) error
		wantIs     []error
		wantNot    []error
		wantReason string
	}{
		{name: "OK", check: func(context.Context, *token.Claims) error { return nil }, wantReason: "ok"},
		{name: "ErrRevoked", check: func(context.Context, *token.Claims) error {
			return errors.Join(errors.New("jti on denylist"), token.ErrRevoked)
		}, wantIs: []error{token.ErrRevoked, token.ErrInvalidToken}, wantReason: "revoked"},
		{name: "ErrStore", check: func(context.Context, *token.Claims) error { return storeDown },
			wantIs: []error{storeDown}, wantNot: []error{token.ErrInvalidToken, token.ErrRevoked}, wantReason: "unavailable"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var seen *token.Claims
			rev := revocationFunc(func(ctx context.Context, c *token.Claims) error {
				require.Equal(t, "req-1", ctx.Value(ctxKey{}))
				seen = c
				return tc.check(ctx, c)
			})
			f := newFixture(t, testKey(t, keys.EdDSA, "main"), func(c *token.VerifierConfig) { c.Revocation = rev })
			raw, minted := f.mint(t, embedClaims(), time.Hour)
			got, err := f.verifier.Verify(ctx, raw)
			require.Equal(t, minted, seen)
			require.Equal(t, tc.wantReason, token.Reason(err))
			if len(tc.wantIs) == 0 {
				require.NoError(t, err)
				require.Equal(t, minted, got)
				return
			}
			require.Nil(t, got)
			for _, e := range tc.wantIs {
				require.ErrorIs(t, err, e)
			}
			for _, e := range tc.wantNot {
				require.NotErrorIs(t, err, e)
			}
		})
	}

	t.Run("not consulted for an invalid token", func(t *testing.T) {
		called := false
		rev := revocationFunc(func(context.Context, *token.Claims) error { called = true; return nil })
		f := newFixture(t, testKey(t, keys.EdDSA, "main"), func(c *token.VerifierConfig) { c.Revocation = rev })
		raw, _ := f.mint(t, embedClaims(), time.Minute)
		f.clock.Set(epoch.Add(time.Hour))
		_, err := f.verifier.Verify(ctx, raw)
		require.ErrorIs(t, err, token.ErrExpired)
		_, err = f.verifier.VerifyIgnoringExpiry(ctx, raw)
		require.NoError(t, err)
		require.False(t, called)
	})
}

type ctxKey struct{}

func TestVerifier_Verify_Leeway(t *testing.T) {
	tests := []struct {
		name    string
		leeway  time.Duration
		elapsed time.Duration // after exp
		want    error
	}{
		{name: "OK/default 30s", elapsed: 29 * time.Second},
		{name: "ErrExpired/default 30s", elapsed: 31 * time.Second, want: token.ErrExpired},
		{name: "OK/2m", leeway: 2 * time.Minute, elapsed: 119 * time.Second},
		{name: "ErrExpired/2m", leeway: 2 * time.Minute, elapsed: 121 * time.Second, want: token.ErrExpired},
		{name: "OK/1h clamped to 5m", leeway: time.Hour, elapsed: 299 * time.Second},
		{name: "ErrExpired/1h clamped to 5m", leeway: time.Hour, elapsed: 301 * time.Second, want: token.ErrExpired},
		{name: "ErrExpired/negative means none", leeway: -time.Second, elapsed: time.Second, want: token.ErrExpired},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, testKey(t, keys.EdDSA, "main"), func(c *token.VerifierConfig) { c.Leeway = tc.leeway })
			raw, _ := f.mint(t, embedClaims(), time.Minute)
			f.clock.Set(epoch.Add(time.Minute + tc.elapsed))
			_, err := f.verifier.Verify(context.Background(), raw)
			if tc.want == nil {
				require.NoError(t, err)
				return
			}
			require.ErrorIs(t, err, tc.want)
		})
	}
}

func TestVerifier_Verify_KeyRotation(t *testing.T) {
	oldKey := testKey(t, keys.ES256, "main")
	newKey := testKey(t, keys.EdDSA, "main")
	f := newFixture(t, oldKey)
	raw, _ := f.mint(t, embedClaims(), time.Hour)

	// The new key signs, the old one still verifies.
	f.ring.active = newKey
	_, err := f.verifier.Verify(context.Background(), raw)
	require.NoError(t, err)

	// Once the old key is unloaded, its tokens no longer verify.
	delete(f.ring.byKID, oldKey.KID)
	_, err = f.verifier.Verify(context.Background(), raw)
	require.ErrorIs(t, err, token.ErrUnknownKey)
}

func TestNewVerifier_Misconfigured(t *testing.T) {
	ring := newRing(testKey(t, keys.EdDSA, "main"))
	tests := []struct {
		name string
		cfg  token.VerifierConfig
	}{
		{name: "no keys", cfg: token.VerifierConfig{Issuer: testIssuer, Audience: testAudience}},
		{name: "no issuer", cfg: token.VerifierConfig{Audience: testAudience, Keys: ring}},
		{name: "no audience", cfg: token.VerifierConfig{Issuer: testIssuer, Keys: ring}},
	}
	f := newFixture(t, testKey(t, keys.EdDSA, "main"))
	raw, _ := f.mint(t, embedClaims(), time.Hour)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.cfg.Now = f.clock.Now
			_, err := token.NewVerifier(tc.cfg).Verify(context.Background(), raw)
			require.Error(t, err)
			require.NotErrorIs(t, err, token.ErrInvalidToken)
			require.Equal(t, "unavailable", token.Reason(err))
		})
	}
}

func TestReason(t *testing.T) {
	tests := []struct {
		err  error
		want string
	}{
		{nil, "ok"},
		{token.ErrMalformed, "malformed"},
		{token.ErrHeader, "header"},
		{token.ErrUnknownKey, "unknown_key"},
		{token.ErrSignature, "signature"},
		{token.ErrExpired, "expired"},
		{token.ErrNotYetValid, "not_yet_valid"},
		{token.ErrIssuer, "issuer"},
		{token.ErrAudience, "audience"},
		{token.ErrClaims, "claims"},
		{token.ErrRevoked, "revoked"},
		{errors.Join(errors.New("wrapped"), token.ErrExpired), "expired"},
		{token.ErrInvalidToken, "invalid"},
		{errors.New("redis down"), "unavailable"},
	}
	for _, tc := range tests {
		name := tc.want
		if tc.err != nil {
			name += "/" + tc.err.Error()
		}
		t.Run(name, func(t *testing.T) {
			require.Equal(t, tc.want, token.Reason(tc.err))
			if tc.err != nil && tc.want != "unavailable" {
				require.ErrorIs(t, tc.err, token.ErrInvalidToken)
			}
		})
	}
}

func TestVerifier_Verify_KIDNeedingEscapes(t *testing.T) {
	k := *testKey(t, keys.EdDSA, "main")
	k.KID = `we"ird<kid>/é`
	ring := newRing(&k)
	clk := newClock()
	iss := token.NewIssuer(token.IssuerConfig{Issuer: testIssuer, Audience: testAudience, Keys: ring, Now: clk.Now})
	v := token.NewVerifier(token.VerifierConfig{Issuer: testIssuer, Audience: testAudience, Keys: ring, Now: clk.Now})
	raw, minted, err := iss.Mint(embedClaims(), time.Hour)
	require.NoError(t, err)
	hdr, err := b64.DecodeString(raw[:strings.IndexByte(raw, '.')])
	require.NoError(t, err)
	require.Contains(t, string(hdr), `\u003c`, "encoding/json escapes < in the kid")
	got, err := v.Verify(context.Background(), raw)
	require.NoError(t, err)
	require.Equal(t, minted, got)
}

func TestVerifier_Verify_Concurrent(t *testing.T) {
	f := newFixture(t, testKey(t, keys.EdDSA, "main"))
	ctx := context.Background()
	done := make(chan error)
	for range 8 {
		go func() {
			var err error
			for range 20 {
				raw, _, mintErr := f.issuer.Mint(embedClaims(), time.Hour)
				if mintErr != nil {
					err = mintErr
					break
				}
				if _, err = f.verifier.Verify(ctx, raw); err != nil {
					break
				}
				if _, err = f.verifier.Verify(ctx, raw+"x"); err == nil {
					err = errors.New("forged token accepted")
					break
				}
				err = nil
			}
			done <- err
		}()
	}
	for range 8 {
		require.NoError(t, <-done)
	}
}

// TestVerifier_RejectedClaims: a genuine token rejected as expired or
// revoked carries the claims VerifyIgnoringExpiry would return, so callers
// learn its tid without parsing it again; any other rejection carries none.
func TestVerifier_RejectedClaims(t *testing.T) {
	revoked := revocationFunc(func(context.Context, *token.Claims) error { return token.ErrRevoked })
	f := newFixture(t, testKey(t, keys.EdDSA, "main"), func(c *token.VerifierConfig) { c.Revocation = revoked })
	ctx := context.Background()

	t.Run("OK/expired", func(t *testing.T) {
		raw, minted := f.mint(t, embedClaims(), time.Minute)
		defer f.clock.Set(epoch)
		f.clock.Set(epoch.Add(24 * time.Hour))
		_, err := f.verifier.Verify(ctx, raw)
		require.ErrorIs(t, err, token.ErrExpired)
		got, ok := token.RejectedClaims(err)
		require.True(t, ok)
		require.Equal(t, minted, got)
	})
	t.Run("OK/revoked", func(t *testing.T) {
		raw, minted := f.mint(t, embedClaims(), time.Minute)
		_, err := f.verifier.Verify(ctx, raw)
		require.ErrorIs(t, err, token.ErrRevoked)
		require.Equal(t, "revoked", token.Reason(err))
		got, ok := token.RejectedClaims(err)
		require.True(t, ok)
		require.Equal(t, minted, got)
	})
	for _, tc := range attacks() {
		t.Run("attack/"+tc.name, func(t *testing.T) {
			raw := tc.build(t, f)
			_, err := f.verifier.Verify(ctx, raw)
			require.Error(t, err)
			got, ok := token.RejectedClaims(err)
			if !errors.Is(err, token.ErrExpired) && !errors.Is(err, token.ErrRevoked) {
				require.False(t, ok, "only a genuine expired or revoked token carries claims")
				return
			}
			require.True(t, ok)
			want, verr := f.verifier.VerifyIgnoringExpiry(ctx, raw)
			require.NoError(t, verr)
			require.Equal(t, want, got)
		})
	}
}
