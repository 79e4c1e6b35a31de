package httpapi_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/sigil-dev/sigil/internal/clients"
	"github.com/sigil-dev/sigil/internal/httpapi"
	"github.com/sigil-dev/sigil/internal/keys"
	"github.com/sigil-dev/sigil/internal/revocation"
	"github.com/sigil-dev/sigil/internal/store/memory"
	"github.com/sigil-dev/sigil/internal/token"
)

const b64Alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"

// attacker is a key the server has never seen, published by its holder in
// the token header (jwk, x5c) or at a URL (jku, x5u).
type attacker struct {
	priv ed25519.PrivateKey
	kid  string
	jwk  string // JSON object
	x5c  string // base64 DER of a self-signed certificate
}

func newAttacker(tb testing.TB) attacker {
	tb.Helper()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(tb, err)
	kid, err := keys.Thumbprint(pub)
	require.NoError(tb, err)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), NotBefore: epoch.Add(-time.Hour), NotAfter: epoch.Add(24 * time.Hour),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, pub, priv)
	require.NoError(tb, err)
	return attacker{
		priv: priv, kid: kid,
		jwk: fmt.Sprintf(`{"kty":"OKP","crv":"Ed25519","x":%q,"kid":%q}`, b64(pub), kid),
		x5c: base64.StdEncoding.EncodeToString(der),
	}
}

// sign signs header and payload with the attacker's key.
func (a attacker) sign(f *fixture, header, payload string) string {
	return f.forge(header, payload, keys.EdDSA, a.priv)
}

// flipSpareBit flips the lowest bit of the signature's last character,
// which carries no data when the signature's length is not a multiple of 3
// bytes: the same bytes under a lenient decoder, a different text.
func flipSpareBit(tb testing.TB, tok string) string {
	tb.Helper()
	_, _, sig := segments(tb, tok)
	require.NotZero(tb, len(sig)%4, "the signature has no spare bits")
	last := strings.IndexByte(b64Alphabet, tok[len(tok)-1])
	require.GreaterOrEqual(tb, last, 0)
	return tok[:len(tok)-1] + string(b64Alphabet[last^1])
}

// malleate turns an ES256 signature (r, s) into the equally valid (r, n-s).
func malleate(tb testing.TB, tok string) string {
	tb.Helper()
	h, p, s := segments(tb, tok)
	sig, err := base64.RawURLEncoding.DecodeString(s)
	require.NoError(tb, err)
	require.Len(tb, sig, 64)
	n := elliptic.P256().Params().N
	sv := new(big.Int).SetBytes(sig[32:])
	out := append(bytes.Clone(sig[:32]), new(big.Int).Sub(n, sv).FillBytes(make([]byte, 32))...)
	return h + "." + p + "." + b64(out)
}

// withDup prefixes a JSON object text with one more member.
func withDup(obj, member string) string { return "{" + member + "," + obj[1:] }

func TestServer_Verify(t *testing.T) {
	evil := newAttacker(t)
	edKID := func(f *fixture) string { return f.keyByAlg[keys.EdDSA].KID }
	algNone := func(alg string, emptySig bool) func(f *fixture) string {
		return func(f *fixture) string {
			genuine := f.genuine(nil)
			_, p, sig := segments(f.tb, genuine)
			h := b64([]byte(fmt.Sprintf(`{"alg":%q,"kid":%q,"typ":"JWT"}`, alg, edKID(f))))
			if emptySig {
				sig = ""
			}
			return f.track(h + "." + p + "." + sig)
		}
	}
	hsWith := func(alg string, secret func(f *fixture) []byte) func(f *fixture) string {
		return func(f *fixture) string {
			return f.forge(fmt.Sprintf(`{"alg":"HS256","kid":%q,"typ":"JWT"}`, f.keyByAlg[alg].KID),
				f.payload(nil), keys.HS256, secret(f))
		}
	}
	mintedThen := func(then func(f *fixture, tok string) string) func(f *fixture) string {
		return func(f *fixture) string {
			tok := f.mint(map[string]any{"sub": "user-1"}).AccessToken
			require.Equal(f.tb, http.StatusOK, f.verify(tok).Code) // and now it is in the verified-token cache
			return then(f, tok)
		}
	}
	revoked := func(f *fixture, tok string) string {
		require.Equal(f.tb, http.StatusNoContent, f.bearer(http.MethodPost, "/api/v1/invalidate-token", tok).Code)
		return tok
	}
	now := func(f *fixture) int64 { return f.clock.Now().Unix() }

	tests := []struct {
		name  string
		opts  []func(*fixture)
		token func(f *fixture) string
		// want is the error_description of the 401, "" for a 200.
		want string
	}{
		{name: "OK", token: func(f *fixture) string { return f.genuine(nil) }},
		{name: "OKMinted", token: func(f *fixture) string { return f.mint(map[string]any{"sub": "user-1"}).AccessToken }},
		{name: "OKAudienceArray", token: func(f *fixture) string {
			return f.genuine(map[string]any{"aud": []string{"someone-else", testAudience}})
		}},
		{name: "OKNotBeforeWithinLeeway", token: func(f *fixture) string {
			return f.genuine(map[string]any{"nbf": now(f) + 20})
		}},
		{name: "OKExpiredWithinLeeway", token: mintedThen(func(f *fixture, tok string) string {
			f.clock.Advance(time.Hour + testLeeway - time.Second)
			return tok
		})},
		{name: "OKSignedByNonActiveES256Key", token: func(f *fixture) string {
			return f.signAs(keys.ES256, f.hdr(keys.ES256, ""), f.payload(nil))
		}},
		{name: "OKSignedByNonActiveRS256Key", token: func(f *fixture) string {
			return f.signAs(keys.RS256, f.hdr(keys.RS256, ""), f.payload(nil))
		}},
		{name: "OKMalleatedES256Signature", opts: []func(*fixture){withActive(keys.ES256)}, token: func(f *fixture) string {
			return f.track(malleate(f.tb, f.mint(map[string]any{"sub": "user-1"}).AccessToken))
		}},

		// The key-finding headers are ignored, never honoured: on a token
		// signed by the server's key they change nothing.
		{name: "OKJKUIgnored", token: func(f *fixture) string {
			return f.signAs(keys.EdDSA, f.hdr(keys.EdDSA, `,"jku":"https://evil.example/jwks.json"`), f.payload(nil))
		}},
		{name: "OKX5UIgnored", token: func(f *fixture) string {
			return f.signAs(keys.EdDSA, f.hdr(keys.EdDSA, `,"x5u":"https://evil.example/cert.pem"`), f.payload(nil))
		}},
		{name: "OKJWKIgnored", token: func(f *fixture) string {
			return f.signAs(keys.EdDSA, f.hdr(keys.EdDSA, `,"jwk":`+evil.jwk), f.payload(nil))
		}},
		{name: "OKX5CIgnored", token: func(f *fixture) string {
			return f.signAs(keys.EdDSA, f.hdr(keys.EdDSA, `,"x5c":["`+evil.x5c+`"]`), f.payload(nil))
		}},

		// ... and a token signed by the key they point at is rejected.
		{name: "ErrJKUAttackerKey", want: descUnknownKey, token: func(f *fixture) string {
			return evil.sign(f, fmt.Sprintf(`{"alg":"EdDSA","kid":%q,"jku":"https://evil.example/jwks.json"}`, evil.kid), f.payload(nil))
		}},
		{name: "ErrX5UAttackerKey", want: descUnknownKey, token: func(f *fixture) string {
			return evil.sign(f, fmt.Sprintf(`{"alg":"EdDSA","kid":%q,"x5u":"https://evil.example/cert.pem"}`, evil.kid), f.payload(nil))
		}},
		{name: "ErrJWKAttackerKey", want: descUnknownKey, token: func(f *fixture) string {
			return evil.sign(f, fmt.Sprintf(`{"alg":"EdDSA","kid":%q,"jwk":%s}`, evil.kid, evil.jwk), f.payload(nil))
		}},
		{name: "ErrJWKAttackerKeyNoKID", want: descHeader, token: func(f *fixture) string {
			return evil.sign(f, fmt.Sprintf(`{"alg":"EdDSA","jwk":%s}`, evil.jwk), f.payload(nil))
		}},
		{name: "ErrX5CAttackerKey", want: descUnknownKey, token: func(f *fixture) string {
			return evil.sign(f, fmt.Sprintf(`{"alg":"EdDSA","kid":%q,"x5c":[%q]}`, evil.kid, evil.x5c), f.payload(nil))
		}},
		{name: "ErrJWKAttackerKeyServerKID", want: descSignature, token: func(f *fixture) string {
			return evil.sign(f, f.hdr(keys.EdDSA, `,"jwk":`+evil.jwk), f.payload(nil))
		}},
		{name: "ErrX5CAttackerKeyServerKID", want: descSignature, token: func(f *fixture) string {
			return evil.sign(f, f.hdr(keys.EdDSA, `,"x5c":["`+evil.x5c+`"]`), f.payload(nil))
		}},

		// alg none, in any spelling, with and without a signature.
		{name: "ErrAlgNoneEmptySignature", want: descMalformed, token: algNone("none", true)},
		{name: "ErrAlgNONEEmptySignature", want: descMalformed, token: algNone("NONE", true)},
		{name: "ErrAlgNoneTitleEmptySignature", want: descMalformed, token: algNone("None", true)},
		{name: "ErrAlgnOnEEmptySignature", want: descMalformed, token: algNone("nOnE", true)},
		{name: "ErrAlgNoneWithSignature", want: descHeader, token: algNone("none", false)},
		{name: "ErrAlgNONEWithSignature", want: descHeader, token: algNone("NONE", false)},
		{name: "ErrAlgNoneTitleWithSignature", want: descHeader, token: algNone("None", false)},
		{name: "ErrAlgnOnEWithSignature", want: descHeader, token: algNone("nOnE", false)},

		// Algorithm confusion: HS256 keyed with a public key, under that key's kid.
		{name: "ErrHS256WithEd25519PublicKey", want: descHeader, token: hsWith(keys.EdDSA, func(f *fixture) []byte {
			return f.keyByAlg[keys.EdDSA].Public.(ed25519.PublicKey)
		})},
		{name: "ErrHS256WithRSAPublicKeyPEM", want: descHeader, token: hsWith(keys.RS256, func(f *fixture) []byte {
			der, err := x509.MarshalPKIXPublicKey(f.keyByAlg[keys.RS256].Public)
			require.NoError(f.tb, err)
			return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
		})},
		{name: "ErrHS256WithRSAPublicKeyPKCS1PEM", want: descHeader, token: hsWith(keys.RS256, func(f *fixture) []byte {
			der := x509.MarshalPKCS1PublicKey(f.keyByAlg[keys.RS256].Public.(*rsa.PublicKey))
			return pem.EncodeToMemory(&pem.Block{Type: "RSA PUBLIC KEY", Bytes: der})
		})},
		{name: "ErrHS256WithP256PublicKey", want: descHeader, token: hsWith(keys.ES256, func(f *fixture) []byte {
			b, err := f.keyByAlg[keys.ES256].Public.(*ecdsa.PublicKey).Bytes()
			require.NoError(f.tb, err)
			return b
		})},
		{name: "ErrAlgOfAnotherLoadedKey", want: descHeader, token: func(f *fixture) string {
			// EdDSA-signed, under the ES256 key's kid.
			return f.signAs(keys.EdDSA, fmt.Sprintf(`{"alg":"EdDSA","kid":%q}`, f.keyByAlg[keys.ES256].KID), f.payload(nil))
		}},
		{name: "ErrAlgLowercase", want: descHeader, token: func(f *fixture) string {
			return f.signAs(keys.EdDSA, fmt.Sprintf(`{"alg":"eddsa","kid":%q}`, edKID(f)), f.payload(nil))
		}},
		{name: "ErrAlgDuplicated", want: descHeader, token: func(f *fixture) string {
			return f.signAs(keys.EdDSA, withDup(f.hdr(keys.EdDSA, ""), `"alg":"none"`), f.payload(nil))
		}},
		{name: "ErrAlgCaseVariantMember", want: descHeader, token: func(f *fixture) string {
			return f.signAs(keys.EdDSA, withDup(f.hdr(keys.EdDSA, ""), `"ALG":"none"`), f.payload(nil))
		}},

		{name: "ErrUnknownKID", want: descUnknownKey, token: func(f *fixture) string {
			return f.signAs(keys.EdDSA, `{"alg":"EdDSA","kid":"no-such-key","typ":"JWT"}`, f.payload(nil))
		}},
		{name: "ErrKIDOtherCase", want: descUnknownKey, token: func(f *fixture) string {
			return f.signAs(keys.EdDSA, fmt.Sprintf(`{"alg":"EdDSA","kid":%q}`, strings.ToUpper(edKID(f))), f.payload(nil))
		}},
		{name: "ErrMissingKID", want: descHeader, token: func(f *fixture) string {
			return f.signAs(keys.EdDSA, `{"alg":"EdDSA","typ":"JWT"}`, f.payload(nil))
		}},
		{name: "ErrEmptyKID", want: descHeader, token: func(f *fixture) string {
			return f.signAs(keys.EdDSA, `{"alg":"EdDSA","kid":"","typ":"JWT"}`, f.payload(nil))
		}},
		{name: "ErrCrit", want: descHeader, token: func(f *fixture) string {
			return f.signAs(keys.EdDSA, f.hdr(keys.EdDSA, `,"crit":["exp"]`), f.payload(nil))
		}},
		{name: "ErrTypATJWT", want: descHeader, token: func(f *fixture) string {
			return f.signAs(keys.EdDSA, fmt.Sprintf(`{"alg":"EdDSA","kid":%q,"typ":"at+jwt"}`, edKID(f)), f.payload(nil))
		}},
		{name: "ErrTypLowercase", want: descHeader, token: func(f *fixture) string {
			return f.signAs(keys.EdDSA, fmt.Sprintf(`{"alg":"EdDSA","kid":%q,"typ":"jwt"}`, edKID(f)), f.payload(nil))
		}},
		{name: "ErrHeaderNotObject", want: descMalformed, token: func(f *fixture) string {
			return f.signAs(keys.EdDSA, `["EdDSA"]`, f.payload(nil))
		}},

		{name: "ErrTamperedPayload", want: descSignature, token: func(f *fixture) string {
			h, _, s := segments(f.tb, f.genuine(nil))
			return f.track(h + "." + b64([]byte(f.payload(map[string]any{"dashboardId": "finance"}))) + "." + s)
		}},
		{name: "ErrSignatureOfOtherToken", want: descSignature, token: func(f *fixture) string {
			h, p, _ := segments(f.tb, f.genuine(nil))
			_, _, s := segments(f.tb, f.genuine(nil))
			return f.track(h + "." + p + "." + s)
		}},
		{name: "ErrExpired", want: descExpired, token: mintedThen(func(f *fixture, tok string) string {
			f.clock.Advance(time.Hour + testLeeway)
			return tok
		})},
		{name: "ErrExpiredLongAgo", want: descExpired, token: mintedThen(func(f *fixture, tok string) string {
			f.clock.Advance(30 * 24 * time.Hour)
			return tok
		})},
		{name: "ErrExpClaimInPast", want: descExpired, token: func(f *fixture) string {
			return f.genuine(map[string]any{"iat": now(f) - 7200, "nbf": now(f) - 7200, "exp": now(f) - 60})
		}},
		{name: "ErrNotYetValid", want: descNotYetValid, token: func(f *fixture) string {
			return f.genuine(map[string]any{"nbf": now(f) + 120})
		}},
		{name: "ErrIssuedInFuture", want: descNotYetValid, token: func(f *fixture) string {
			return f.genuine(map[string]any{"iat": now(f) + 120})
		}},
		{name: "ErrWrongIssuer", want: descIssuer, token: func(f *fixture) string {
			return f.genuine(map[string]any{"iss": "https://evil.example"})
		}},
		{name: "ErrWrongAudience", want: descAudience, token: func(f *fixture) string {
			return f.genuine(map[string]any{"aud": "someone-else"})
		}},
		{name: "ErrMissingJTI", want: descClaims, token: func(f *fixture) string {
			return f.genuine(map[string]any{"jti": nil})
		}},
		{name: "ErrMissingExpEmbed", want: descClaims, token: func(f *fixture) string {
			return f.genuine(map[string]any{"exp": nil})
		}},
		{name: "ErrMissingTT", want: descClaims, token: func(f *fixture) string {
			return f.genuine(map[string]any{"tt": nil})
		}},
		{name: "ErrUnknownTT", want: descClaims, token: func(f *fixture) string {
			return f.genuine(map[string]any{"tt": "admin"})
		}},
		{name: "ErrMissingDashboardID", want: descClaims, token: func(f *fixture) string {
			return f.genuine(map[string]any{"dashboardId": nil})
		}},
		{name: "ErrDuplicateExp", want: descClaims, token: func(f *fixture) string {
			return f.signAs(keys.EdDSA, f.hdr(keys.EdDSA, ""), withDup(f.payload(nil), `"exp":99999999999`))
		}},
		{name: "ErrExpBesideEXP", want: descClaims, token: func(f *fixture) string {
			return f.signAs(keys.EdDSA, f.hdr(keys.EdDSA, ""), withDup(f.payload(nil), `"EXP":99999999999`))
		}},
		{name: "ErrExpEscapedDuplicate", want: descClaims, token: func(f *fixture) string {
			return f.signAs(keys.EdDSA, f.hdr(keys.EdDSA, ""), withDup(f.payload(nil), `"\u0065xp":99999999999`))
		}},
		{name: "ErrExpZero", want: descClaims, token: func(f *fixture) string { return f.genuine(map[string]any{"exp": 0}) }},
		{name: "ErrExpNegative", want: descClaims, token: func(f *fixture) string { return f.genuine(map[string]any{"exp": -1}) }},
		{name: "ErrExpHuge", want: descClaims, token: func(f *fixture) string {
			return f.genuine(map[string]any{"exp": json.RawMessage("1e300")})
		}},
		{name: "ErrExpString", want: descClaims, token: func(f *fixture) string { return f.genuine(map[string]any{"exp": "123"}) }},
		{name: "ErrExpBool", want: descClaims, token: func(f *fixture) string { return f.genuine(map[string]any{"exp": true}) }},
		{name: "ErrExpNull", want: descClaims, token: func(f *fixture) string {
			return f.genuine(map[string]any{"exp": json.RawMessage("null")})
		}},
		{name: "ErrPayloadNotJSON", want: descMalformed, token: func(f *fixture) string {
			return f.signAs(keys.EdDSA, f.hdr(keys.EdDSA, ""), `{"exp":`)
		}},

		{name: "ErrOver8KiB", want: descMalformed, token: func(f *fixture) string {
			tok := f.genuine(map[string]any{"pad": strings.Repeat("a", 8*1024)})
			require.Greater(f.tb, len(tok), token.MaxTokenSize)
			return tok
		}},
		{name: "ErrTenThousandDots", want: descMalformed, token: func(*fixture) string { return strings.Repeat(".", 10000) }},
		{name: "ErrGarbage", want: descMalformed, token: func(*fixture) string { return "garbage" }},
		{name: "ErrGarbageSegments", want: descMalformed, token: func(*fixture) string { return "abc.def.ghi" }},
		{name: "ErrFourSegments", want: descMalformed, token: func(f *fixture) string {
			return f.track(f.genuine(nil) + ".AAAA")
		}},
		{name: "ErrTwoSegments", want: descMalformed, token: func(f *fixture) string {
			h, p, _ := segments(f.tb, f.genuine(nil))
			return h + "." + p
		}},
		{name: "ErrPadding", want: descMalformed, token: func(f *fixture) string {
			h, p, s := segments(f.tb, f.genuine(nil))
			pad := func(seg string) string { return seg + strings.Repeat("=", (4-len(seg)%4)%4) }
			tok := pad(h) + "." + pad(p) + "." + pad(s)
			require.Contains(f.tb, tok, "=")
			return f.track(tok)
		}},
		{name: "ErrStdBase64Alphabet", want: descMalformed, token: func(f *fixture) string {
			// Find a genuine token whose text uses '-' or '_', then spell it the std way.
			for range 50 {
				tok := f.genuine(nil)
				if strings.ContainsAny(tok, "-_") {
					return f.track(strings.NewReplacer("-", "+", "_", "/").Replace(tok))
				}
			}
			f.tb.Fatal("no genuine token with - or _")
			return ""
		}},
		{name: "ErrSpareBitsFlipped", want: descMalformed, token: func(f *fixture) string {
			return f.track(flipSpareBit(f.tb, f.mint(nil).AccessToken))
		}},

		// Revocation is by id: no spelling of a revoked token passes.
		{name: "ErrRevoked", want: descRevoked, token: mintedThen(revoked)},
		{name: "ErrRevokedSpareBitsFlipped", want: descMalformed, token: mintedThen(func(f *fixture, tok string) string {
			return f.track(flipSpareBit(f.tb, revoked(f, tok)))
		})},
		{name: "ErrRevokedMalleatedES256Signature", want: descRevoked, opts: []func(*fixture){withActive(keys.ES256)},
			token: mintedThen(func(f *fixture, tok string) string {
				tok2 := f.track(malleate(f.tb, revoked(f, tok)))
				require.NotEqual(f.tb, tok, tok2)
				return tok2
			})},
		{name: "ErrRevokedBySpareBitFlippedTwin", want: descRevoked, token: mintedThen(func(f *fixture, tok string) string {
			// Invalidating a mangled spelling must not be possible (401), and
			// leaves the real token alive; invalidating the real one kills it.
			twin := f.track(flipSpareBit(f.tb, tok))
			requireInvalidToken(f.tb, f.bearer(http.MethodPost, "/api/v1/invalidate-token", twin), descMalformed)
			require.Equal(f.tb, http.StatusOK, f.verify(tok).Code)
			return revoked(f, tok)
		})},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newAPI(t, tt.opts...)
			tok := tt.token(f)
			rec := f.verify(tok)
			if tt.want == "" {
				require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
				require.Equal(t, "user-1", rec.Header().Get(httpapi.HeaderSubject))
				require.Equal(t, "dashboard:"+dashID, rec.Header().Get(httpapi.HeaderResource))
				require.Equal(t, "no-store", rec.Header().Get("Cache-Control"))
				return
			}
			requireInvalidToken(t, rec, tt.want)
			// The same token fails the same way through the other entrances.
			requireInvalidToken(t, f.do(http.MethodGet, "/api/v1/verify?token="+url.QueryEscape(tok), ""), tt.want)
			in := f.postForm("/api/v1/introspect", url.Values{"token": {tok}}, dashID, f.dashSecret)
			require.Equal(t, http.StatusOK, in.Code)
			require.JSONEq(t, `{"active":false}`, in.Body.String())
		})
	}
}

// requireSameJSON compares two JSON texts exactly, numbers as written.
func requireSameJSON(tb testing.TB, want, got []byte) {
	tb.Helper()
	decode := func(b []byte) any {
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.UseNumber()
		var v any
		require.NoError(tb, dec.Decode(&v), string(b))
		return v
	}
	require.Equal(tb, decode(want), decode(got), "want %s\ngot  %s", want, got)
}

// headerJSON decodes a base64url JSON identity header.
func headerJSON(tb testing.TB, v string) []byte {
	tb.Helper()
	require.NotEmpty(tb, v)
	b, err := base64.RawURLEncoding.Strict().DecodeString(v)
	require.NoError(tb, err)
	return b
}

const (
	testParams   = `{"locale":"de-DE","currency":"EUR","region":"emea","limit":10,"ratio":2.5,"beta":true,"currencyFormat":{"locale":"de-CH","currency":"CHF"}}`
	testPolicies = `[{"name":"region","params":{"region":"emea","level":3,"strict":false}},{"name":"no-pii"}]`
)

func TestServer_VerifyIdentityHeaders(t *testing.T) {
	for _, alg := range []string{keys.EdDSA, keys.ES256, keys.RS256, keys.HS256} {
		t.Run("OK"+alg, func(t *testing.T) {
			opt := withActive(alg)
			if alg == keys.HS256 {
				opt = withOnlyHS256()
			}
			f := newAPI(t, opt)
			f.clock.Advance(17 * time.Second)
			tr := f.mint(map[string]any{
				"params": json.RawMessage(testParams), "securityPolicies": json.RawMessage(testPolicies), "sub": "user-42",
			})
			h, _, _ := segments(t, tr.AccessToken)
			hdr := decodePart(t, h)
			require.Equal(t, alg, hdr["alg"])
			require.Equal(t, f.set.Active().KID, hdr["kid"])
			if alg == keys.HS256 {
				require.Len(t, f.set.All(), 1)
			}

			for _, method := range []string{http.MethodGet, http.MethodHead} {
				rec := f.do(method, "/api/v1/verify", "", "Authorization", "Bearer "+tr.AccessToken)
				require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
				require.Equal(t, "no-store", rec.Header().Get("Cache-Control"))
				require.Equal(t, "user-42", rec.Header().Get(httpapi.HeaderSubject))
				require.Equal(t, "embed", rec.Header().Get(httpapi.HeaderKind))
				require.Equal(t, "dashboard:view", rec.Header().Get(httpapi.HeaderScope))
				require.Equal(t, "dashboard:sales", rec.Header().Get(httpapi.HeaderResource))
				requireSameJSON(t, []byte(testParams), headerJSON(t, rec.Header().Get(httpapi.HeaderParams)))
				requireSameJSON(t, []byte(testPolicies), headerJSON(t, rec.Header().Get(httpapi.HeaderPolicies)))
				if method == http.MethodHead {
					require.Zero(t, rec.Body.Len())
					continue
				}
				requireJSON(t, rec)
				exp := f.clock.Now().Add(time.Hour).Unix()
				requireSameJSON(t, []byte(fmt.Sprintf(
					`{"active":true,"sub":"user-42","tt":"embed","scope":"dashboard:view","resource":"dashboard:sales","exp":%d}`, exp)),
					rec.Body.Bytes())
			}
		})
	}

	t.Run("OKNoSubjectParamsOrPolicies", func(t *testing.T) {
		f := newAPI(t)
		rec := f.verify(f.mint(nil).AccessToken)
		require.Equal(t, http.StatusOK, rec.Code)
		for _, h := range []string{httpapi.HeaderSubject, httpapi.HeaderParams, httpapi.HeaderPolicies} {
			require.NotContains(t, rec.Header(), h)
		}
		require.Equal(t, "embed", rec.Header().Get(httpapi.HeaderKind))
	})

	t.Run("OKReportToken", func(t *testing.T) {
		f := newAPI(t)
		tok := f.mintDirect(token.Claims{Kind: token.KindReport, ReportID: "q3-revenue", ClientID: dashID, Scope: "report:read", TID: "rec-q3"}, time.Hour)
		rec := f.verify(tok)
		require.Equal(t, http.StatusOK, rec.Code)
		require.Equal(t, "report", rec.Header().Get(httpapi.HeaderKind))
		require.Equal(t, "report:q3-revenue", rec.Header().Get(httpapi.HeaderResource))
		require.Equal(t, "report:read", rec.Header().Get(httpapi.HeaderScope))
	})

	// Numbers travel to gateways as minted: a row-level restriction on
	// account 9007199254740993 must not become one on 9007199254740992.
	t.Run("OKLargeIntegerParamsExact", func(t *testing.T) {
		f := newAPI(t)
		params := `{"accountId":9007199254740993}`
		policies := `[{"name":"account","params":{"accountId":9007199254740993}}]`
		tr := f.mint(map[string]any{"params": json.RawMessage(params), "securityPolicies": json.RawMessage(policies)})
		rec := f.verify(tr.AccessToken)
		require.Equal(t, http.StatusOK, rec.Code)
		requireSameJSON(t, []byte(params), headerJSON(t, rec.Header().Get(httpapi.HeaderParams)))
		requireSameJSON(t, []byte(policies), headerJSON(t, rec.Header().Get(httpapi.HeaderPolicies)))
	})
}

func TestServer_VerifyTokenSources(t *testing.T) {
	tests := []struct {
		name   string
		method string
		// build returns the target and header pairs for the token.
		build func(tok string) (string, []string)
		// status 200, 401 (want is the error_description, "" for token_required) or 400.
		status int
		want   string
	}{
		{name: "OKBearer", status: 200, build: func(tok string) (string, []string) {
			return "/api/v1/verify", []string{"Authorization", "Bearer " + tok}
		}},
		{name: "OKBearerLowercaseScheme", status: 200, build: func(tok string) (string, []string) {
			return "/api/v1/verify", []string{"Authorization", "bearer " + tok}
		}},
		{name: "OKBearerTrailingSpace", status: 200, build: func(tok string) (string, []string) {
			return "/api/v1/verify", []string{"Authorization", "Bearer " + tok + " "}
		}},
		{name: "OKBearerTrailingNewline", status: 200, build: func(tok string) (string, []string) {
			return "/api/v1/verify", []string{"Authorization", "Bearer " + tok + "\n"}
		}},
		{name: "OKQueryToken", status: 200, build: func(tok string) (string, []string) {
			return "/api/v1/verify?token=" + tok, nil
		}},
		{name: "OKXForwardedURI", status: 200, build: func(tok string) (string, []string) {
			return "/api/v1/verify", []string{"X-Forwarded-Uri", "/dashboards/sales?token=" + tok, "X-Forwarded-Method", "GET"}
		}},
		{name: "OKXOriginalURI", status: 200, build: func(tok string) (string, []string) {
			return "/api/v1/verify", []string{"X-Original-URI", "/dashboards/sales/w?lang=de&token=" + tok, "X-Original-Method", "GET"}
		}},
		{name: "OKHead", method: http.MethodHead, status: 200, build: func(tok string) (string, []string) {
			return "/api/v1/verify", []string{"Authorization", "Bearer " + tok}
		}},
		{name: "ErrQueryTrailingSpace", status: 401, want: descMalformed, build: func(tok string) (string, []string) {
			return "/api/v1/verify?token=" + tok + "%20", nil
		}},
		{name: "ErrQueryTrailingNewline", status: 401, want: descMalformed, build: func(tok string) (string, []string) {
			return "/api/v1/verify?token=" + tok + "%0A", nil
		}},
		{name: "ErrXForwardedURITrailingNewline", status: 401, want: descMalformed, build: func(tok string) (string, []string) {
			return "/api/v1/verify", []string{"X-Forwarded-Uri", "/dash?token=" + tok + "%0A"}
		}},
		{name: "ErrNoToken", status: 401, build: func(string) (string, []string) { return "/api/v1/verify", nil }},
		{name: "ErrEmptyBearer", status: 401, build: func(string) (string, []string) {
			return "/api/v1/verify", []string{"Authorization", "Bearer "}
		}},
		{name: "ErrBasicInsteadOfBearer", status: 401, build: func(string) (string, []string) {
			return "/api/v1/verify", []string{"Authorization", "Basic c2FsZXM6c2VjcmV0"}
		}},
		{name: "ErrEmptyQueryToken", status: 401, build: func(string) (string, []string) { return "/api/v1/verify?token=", nil }},
		{name: "ErrXForwardedURIWithoutToken", status: 401, build: func(string) (string, []string) {
			return "/api/v1/verify", []string{"X-Forwarded-Uri", "/dash?lang=de"}
		}},
		{name: "ErrXForwardedURIInvalid", status: 400, want: "X-Forwarded-Uri", build: func(string) (string, []string) {
			return "/api/v1/verify", []string{"X-Forwarded-Uri", "::not a uri"}
		}},
		{name: "ErrHeadNoToken", method: http.MethodHead, status: 401, build: func(string) (string, []string) {
			return "/api/v1/verify", nil
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newAPI(t)
			tok := f.mint(map[string]any{"sub": "user-7"}).AccessToken
			target, hdr := tt.build(tok)
			method := tt.method
			if method == "" {
				method = http.MethodGet
			}
			rec := f.do(method, target, "", hdr...)
			switch {
			case tt.status == 200:
				require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
				require.Equal(t, "user-7", rec.Header().Get(httpapi.HeaderSubject))
			case method == http.MethodHead:
				require.Equal(t, tt.status, rec.Code)
				require.Zero(t, rec.Body.Len())
				require.Equal(t, `Bearer realm="sigil"`, rec.Header().Get("WWW-Authenticate"))
			case tt.status == 400:
				requireError(t, rec, http.StatusBadRequest, "invalid_request", tt.want)
			case tt.want == "":
				requireError(t, rec, http.StatusUnauthorized, "token_required", "")
				require.Equal(t, `Bearer realm="sigil"`, rec.Header().Get("WWW-Authenticate"))
			default:
				requireInvalidToken(t, rec, tt.want)
			}
		})
	}
}

func TestServer_Mint(t *testing.T) {
	t.Run("OKDefaults", func(t *testing.T) {
		f := newAPI(t)
		f.clock.Advance(17*time.Second + 400*time.Millisecond)
		now := f.clock.Now().Truncate(time.Second)
		tr := f.mint(nil)
		require.Equal(t, int64(3600), tr.ExpiresIn)
		require.True(t, now.Add(time.Hour).Equal(tr.ExpiresAt), "expiresAt %s", tr.ExpiresAt)

		h, p, _ := segments(t, tr.AccessToken)
		hdr := decodePart(t, h)
		require.Equal(t, map[string]any{"alg": "EdDSA", "kid": f.keyByAlg[keys.EdDSA].KID, "typ": "JWT"}, hdr)
		claims := decodePart(t, p)
		jti, ok := claims["jti"].(string)
		require.True(t, ok)
		require.Regexp(t, `^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`, jti)
		delete(claims, "jti")
		require.Equal(t, map[string]any{
			"iss": testIssuer, "aud": testAudience, "iat": float64(now.Unix()), "nbf": float64(now.Unix()),
			"exp": float64(now.Add(time.Hour).Unix()), "tt": "embed", "scope": "dashboard:view",
			"client_id": dashID, "dashboardId": dashID, "auth_time": float64(now.Unix()),
		}, claims)
	})

	t.Run("OKTwoMintsDifferentJTI", func(t *testing.T) {
		f := newAPI(t)
		_, p1, _ := segments(t, f.mint(nil).AccessToken)
		_, p2, _ := segments(t, f.mint(nil).AccessToken)
		require.NotEqual(t, decodePart(t, p1)["jti"], decodePart(t, p2)["jti"])
	})

	var tinySecret, otherSecret string
	tiny := withClient(clients.NewClient{ID: "tiny", Resources: []string{"dashboard:tiny"}, MaxTokenExpiry: 60}, &tinySecret)
	other := withClient(clients.NewClient{ID: "marketing", Resources: []string{"dashboard:other"}}, &otherSecret)

	okCases := []struct {
		name  string
		opts  []func(*fixture)
		body  func(f *fixture) any
		ctype string
		want  int64 // expiresIn
	}{
		{name: "OKTokenExpiry60", want: 60, body: func(f *fixture) any { return f.mintBody(map[string]any{"tokenExpiry": 60}) }},
		{name: "OKTokenExpiry1", want: 1, body: func(f *fixture) any { return f.mintBody(map[string]any{"tokenExpiry": 1}) }},
		{name: "OKTokenExpiryMax", want: 86400, body: func(f *fixture) any { return f.mintBody(map[string]any{"tokenExpiry": 86400}) }},
		{name: "OKTokenExpiryNull", want: 3600, body: func(f *fixture) any {
			return f.mintBody(map[string]any{"tokenExpiry": json.RawMessage("null")})
		}},
		{name: "OKClientMaxIsDefault", want: 60, opts: []func(*fixture){tiny}, body: func(*fixture) any {
			return map[string]any{"dashboardId": "tiny", "dashboardSecret": tinySecret}
		}},
		{name: "OKClientMaxExactly", want: 60, opts: []func(*fixture){tiny}, body: func(*fixture) any {
			return map[string]any{"dashboardId": "tiny", "dashboardSecret": tinySecret, "tokenExpiry": 60}
		}},
		{name: "OKContentTypeWithCharset", want: 3600, ctype: "application/json; charset=utf-8", body: func(f *fixture) any {
			return f.mintBody(nil)
		}},
		{name: "OKParamsAndPolicies", want: 3600, body: func(f *fixture) any {
			return f.mintBody(map[string]any{"params": json.RawMessage(testParams), "securityPolicies": json.RawMessage(testPolicies), "sub": "Zoë Ünicode"})
		}},
		{name: "OKEmptyParamsAndPolicies", want: 3600, body: func(f *fixture) any {
			return f.mintBody(map[string]any{"params": map[string]any{}, "securityPolicies": []any{}})
		}},
		{name: "OK32ParamsAnd32Policies", want: 3600, body: func(f *fixture) any {
			return f.mintBody(map[string]any{"params": nParams(32), "securityPolicies": nPolicies(32)})
		}},
	}
	for _, tt := range okCases {
		t.Run(tt.name, func(t *testing.T) {
			f := newAPI(t, tt.opts...)
			b, err := json.Marshal(tt.body(f))
			require.NoError(t, err)
			ctype := tt.ctype
			if ctype == "" {
				ctype = "application/json"
			}
			tr := f.tokenOK(f.do(http.MethodPost, "/api/v1/token", string(b), "Content-Type", ctype))
			require.Equal(t, tt.want, tr.ExpiresIn)
			require.True(t, f.clock.Now().Add(time.Duration(tt.want)*time.Second).Equal(tr.ExpiresAt))
			require.Equal(t, http.StatusOK, f.verify(tr.AccessToken).Code)
		})
	}

	long := func(n int) string { return strings.Repeat("a", n) }
	errCases := []struct {
		name   string
		opts   []func(*fixture)
		body   func(f *fixture) string
		ctype  string // default application/json; "-" for none
		status int
		code   string
		field  string
	}{
		{name: "ErrDashboardIDMissing", field: "dashboardId", body: merged(map[string]any{"dashboardId": nil})},
		{name: "ErrDashboardIDEmpty", field: "dashboardId", body: merged(map[string]any{"dashboardId": ""})},
		{name: "ErrDashboardIDNumber", field: "dashboardId", body: merged(map[string]any{"dashboardId": 123})},
		{name: "ErrDashboardIDArray", field: "dashboardId", body: merged(map[string]any{"dashboardId": []string{dashID}})},
		{name: "ErrDashboardIDSpace", field: "dashboardId", body: merged(map[string]any{"dashboardId": "sales dash"})},
		{name: "ErrDashboardIDPath", field: "dashboardId", body: merged(map[string]any{"dashboardId": "../sales"})},
		{name: "ErrDashboardIDNewline", field: "dashboardId", body: merged(map[string]any{"dashboardId": "sales\n"})},
		{name: "ErrDashboardIDGlob", field: "dashboardId", body: merged(map[string]any{"dashboardId": "sales*"})},
		{name: "ErrDashboardID129Chars", field: "dashboardId", body: merged(map[string]any{"dashboardId": long(129)})},
		{name: "ErrDashboardSecretMissing", field: "dashboardSecret", body: merged(map[string]any{"dashboardSecret": nil})},
		{name: "ErrDashboardSecretEmpty", field: "dashboardSecret", body: merged(map[string]any{"dashboardSecret": ""})},
		{name: "ErrDashboardSecretNumber", field: "dashboardSecret", body: merged(map[string]any{"dashboardSecret": 42})},
		{name: "ErrDashboardSecretTooLong", field: "dashboardSecret", body: merged(map[string]any{"dashboardSecret": long(257)})},
		{name: "ErrTokenExpiryZero", field: "tokenExpiry", body: merged(map[string]any{"tokenExpiry": 0})},
		{name: "ErrTokenExpiryNegative", field: "tokenExpiry", body: merged(map[string]any{"tokenExpiry": -1})},
		{name: "ErrTokenExpiryFraction", field: "tokenExpiry", body: merged(map[string]any{"tokenExpiry": 1.5})},
		{name: "ErrTokenExpiryString", field: "tokenExpiry", body: merged(map[string]any{"tokenExpiry": "60"})},
		{name: "ErrTokenExpiryBool", field: "tokenExpiry", body: merged(map[string]any{"tokenExpiry": true})},
		{name: "ErrTokenExpiryOverMax", field: "tokenExpiry", body: merged(map[string]any{"tokenExpiry": 86401})},
		{name: "ErrTokenExpiry1e30", field: "tokenExpiry", body: merged(map[string]any{"tokenExpiry": json.RawMessage("1e30")})},
		{name: "ErrTokenExpiryInt64Overflow", field: "tokenExpiry", body: merged(map[string]any{"tokenExpiry": json.RawMessage("9223372036854775808")})},
		{name: "ErrTokenExpiryMaxInt64", field: "tokenExpiry", body: merged(map[string]any{"tokenExpiry": json.RawMessage("9223372036854775807")})},
		{name: "ErrTokenExpiryOverClientMax", field: "tokenExpiry", opts: []func(*fixture){tiny}, body: func(*fixture) string {
			return mustJSON(map[string]any{"dashboardId": "tiny", "dashboardSecret": tinySecret, "tokenExpiry": 61})
		}},
		{name: "ErrParamsString", field: "params", body: merged(map[string]any{"params": "locale=de"})},
		{name: "ErrParamsArray", field: "params", body: merged(map[string]any{"params": []string{"a"}})},
		{name: "ErrParams33Keys", field: "params", body: merged(map[string]any{"params": nParams(33)})},
		{name: "ErrParamsValueArray", field: "params.tags", body: merged(map[string]any{"params": map[string]any{"tags": []string{"a"}}})},
		{name: "ErrParamsValueObject", field: "params.nested", body: merged(map[string]any{"params": map[string]any{"nested": map[string]any{"a": 1}}})},
		{name: "ErrParamsValueNull", field: "params.gone", body: merged(map[string]any{"params": map[string]any{"gone": nil}})},
		{name: "ErrParamsEmptyKey", field: "params", body: merged(map[string]any{"params": map[string]any{"": "x"}})},
		{name: "ErrParamsKeyTooLong", field: "params", body: merged(map[string]any{"params": map[string]any{long(65): "x"}})},
		{name: "ErrParamsOver4KiB", field: "params", body: merged(map[string]any{"params": map[string]any{"a": long(2100), "b": long(2100)}})},
		{name: "ErrParamsLocaleUnderscore", field: "params.locale", body: merged(map[string]any{"params": map[string]any{"locale": "de_DE"}})},
		{name: "ErrParamsLocaleGarbage", field: "params.locale", body: merged(map[string]any{"params": map[string]any{"locale": "not a locale"}})},
		{name: "ErrParamsLocaleEmpty", field: "params.locale", body: merged(map[string]any{"params": map[string]any{"locale": ""}})},
		{name: "ErrParamsLocaleNumber", field: "params.locale", body: merged(map[string]any{"params": map[string]any{"locale": 7}})},
		{name: "ErrParamsLocaleUnd", field: "params.locale", body: merged(map[string]any{"params": map[string]any{"locale": "und"}})},
		{name: "ErrParamsCurrencyLowercase", field: "params.currency", body: merged(map[string]any{"params": map[string]any{"currency": "eur"}})},
		{name: "ErrParamsCurrencyUnknown", field: "params.currency", body: merged(map[string]any{"params": map[string]any{"currency": "XYZ"}})},
		{name: "ErrParamsCurrencyFourLetters", field: "params.currency", body: merged(map[string]any{"params": map[string]any{"currency": "EURO"}})},
		{name: "ErrCurrencyFormatLocale", field: "params.currencyFormat.locale", body: merged(map[string]any{
			"params": map[string]any{"currencyFormat": map[string]any{"locale": "de_DE", "currency": "EUR"}}})},
		{name: "ErrCurrencyFormatCurrency", field: "params.currencyFormat.currency", body: merged(map[string]any{
			"params": map[string]any{"currencyFormat": map[string]any{"locale": "de-DE", "currency": "EURO"}}})},
		{name: "ErrCurrencyFormatUnknownMember", field: "params.currencyFormat", body: merged(map[string]any{
			"params": map[string]any{"currencyFormat": map[string]any{"locale": "de-DE", "currency": "EUR", "symbol": "€"}}})},
		{name: "ErrCurrencyFormatString", field: "params.currencyFormat", body: merged(map[string]any{
			"params": map[string]any{"currencyFormat": "de-DE/EUR"}})},
		{name: "ErrPoliciesObject", field: "securityPolicies", body: merged(map[string]any{"securityPolicies": map[string]any{"name": "x"}})},
		{name: "ErrPoliciesString", field: "securityPolicies", body: merged(map[string]any{"securityPolicies": "region"})},
		{name: "ErrPolicies33", field: "securityPolicies", body: merged(map[string]any{"securityPolicies": nPolicies(33)})},
		{name: "ErrPolicyMissingName", field: "securityPolicies[0].name", body: merged(map[string]any{
			"securityPolicies": []any{map[string]any{"params": map[string]any{"region": "emea"}}}})},
		{name: "ErrPolicySecondMissingName", field: "securityPolicies[1].name", body: merged(map[string]any{
			"securityPolicies": []any{map[string]any{"name": "ok"}, map[string]any{"name": ""}}})},
		{name: "ErrPolicyNonScalarParam", field: "securityPolicies[0].params.region", body: merged(map[string]any{
			"securityPolicies": []any{map[string]any{"name": "r", "params": map[string]any{"region": []string{"emea"}}}}})},
		{name: "ErrPolicyObjectParam", field: "securityPolicies[0].params.region", body: merged(map[string]any{
			"securityPolicies": []any{map[string]any{"name": "r", "params": map[string]any{"region": map[string]any{}}}}})},
		{name: "ErrSubNewline", field: "sub", body: merged(map[string]any{"sub": "user\nX-Sigil-Subject: admin"})},
		{name: "ErrSubTab", field: "sub", body: merged(map[string]any{"sub": "user\t1"})},
		{name: "ErrSubTooLong", field: "sub", body: merged(map[string]any{"sub": long(257)})},
		{name: "ErrSubNumber", field: "sub", body: merged(map[string]any{"sub": 42})},
		{name: "ErrUnknownField", field: "foo", body: merged(map[string]any{"foo": 1})},
		{name: "ErrUnknownFieldScope", field: "scope", body: merged(map[string]any{"scope": "admin"})},
		{name: "ErrInvalidJSONTruncated", body: raw(`{"dashboardId":`)},
		{name: "ErrInvalidJSONUnquoted", body: raw(`{dashboardId: "sales"}`)},
		{name: "ErrInvalidJSONText", body: raw(`dashboardId=sales`)},
		{name: "ErrJSONArray", body: raw(`[{"dashboardId":"sales"}]`)},
		{name: "ErrJSONNull", field: "dashboardId", body: raw(`null`)},
		{name: "ErrTrailingObject", body: func(f *fixture) string { return mustJSON(f.mintBody(nil)) + ` {}` }},
		{name: "ErrTrailingGarbage", body: func(f *fixture) string { return mustJSON(f.mintBody(nil)) + `x` }},
		{name: "ErrInvalidUTF8", body: func(f *fixture) string {
			return `{"dashboardId":"sales","dashboardSecret":"` + f.dashSecret + `","sub":"a` + "\xff\xfe" + `"}`
		}},
		{name: "ErrEmptyBody", body: raw(``)},
		{name: "ErrWhitespaceBody", body: raw(" \n\t ")},
		{name: "ErrTooLarge", status: 413, code: "too_large", body: func(f *fixture) string {
			return mustJSON(f.mintBody(map[string]any{"sub": long(httpapi.MaxBodyBytes)}))
		}},
		{name: "ErrBodyAtLimitIsNot413", field: "pad", body: func(f *fixture) string {
			b := mustJSON(f.mintBody(map[string]any{"pad": ""}))
			return strings.Replace(b, `"pad":""`, `"pad":"`+long(httpapi.MaxBodyBytes-len(b))+`"`, 1)
		}},
		{name: "ErrContentTypeTextPlain", status: 415, code: "unsupported_media", field: "Content-Type", ctype: "text/plain",
			body: func(f *fixture) string { return mustJSON(f.mintBody(nil)) }},
		{name: "ErrContentTypeForm", status: 415, code: "unsupported_media", field: "Content-Type", ctype: "application/x-www-form-urlencoded",
			body: func(f *fixture) string { return "dashboardId=sales&dashboardSecret=" + f.dashSecret }},
		{name: "ErrContentTypeMissing", status: 415, code: "unsupported_media", field: "Content-Type", ctype: "-",
			body: func(f *fixture) string { return mustJSON(f.mintBody(nil)) }},
		{name: "ErrClientLacksDashboard", status: 403, code: "forbidden", opts: []func(*fixture){other}, body: func(*fixture) string {
			return mustJSON(map[string]any{"dashboardId": "marketing", "dashboardSecret": otherSecret})
		}},
	}
	for _, tt := range errCases {
		t.Run(tt.name, func(t *testing.T) {
			f := newAPI(t, tt.opts...)
			var hdr []string
			switch tt.ctype {
			case "":
				hdr = []string{"Content-Type", "application/json"}
			case "-":
			default:
				hdr = []string{"Content-Type", tt.ctype}
			}
			rec := f.do(http.MethodPost, "/api/v1/token", tt.body(f), hdr...)
			status, code := tt.status, tt.code
			if status == 0 {
				status, code = http.StatusBadRequest, "invalid_request"
			}
			requireError(t, rec, status, code, tt.field)
		})
	}

	t.Run("ErrTooLargeChunked", func(t *testing.T) {
		f := newAPI(t)
		body := mustJSON(f.mintBody(map[string]any{"sub": strings.Repeat("a", httpapi.MaxBodyBytes)}))
		r := httptest.NewRequest(http.MethodPost, "/api/v1/token", strings.NewReader(body))
		r.Header.Set("Content-Type", "application/json")
		r.ContentLength = -1 // length unknown: the limit bites while reading
		r.TransferEncoding = []string{"chunked"}
		requireError(t, f.serve(r), http.StatusRequestEntityTooLarge, "too_large", "")
	})

	t.Run("ErrBadCredentialsSameAnswer", func(t *testing.T) {
		f := newAPI(t)
		var bodies []string
		for _, b := range []map[string]any{
			f.mintBody(map[string]any{"dashboardSecret": f.dashSecret + "x"}),
			f.mintBody(map[string]any{"dashboardSecret": f.adminSecret}),
			{"dashboardId": "no-such-dashboard", "dashboardSecret": f.dashSecret},
			{"dashboardId": strings.Repeat("d", 128), "dashboardSecret": "whatever"},
		} {
			rec := f.postJSON("/api/v1/token", b)
			requireClientUnauthorized(t, rec)
			bodies = append(bodies, rec.Body.String())
		}
		for _, b := range bodies[1:] {
			require.Equal(t, bodies[0], b, "the answer must not tell which part was wrong")
		}
	})

	// Every token that mint hands out must verify: accepting a number that
	// the verifier then cannot decode sells a dead token.
	t.Run("ErrParamNumberOutOfRange", func(t *testing.T) {
		for _, tc := range []struct{ extra, field string }{
			{`"params":{"big":1e400}`, "params.big"},
			{`"securityPolicies":[{"name":"p","params":{"big":-1e400}}]`, "securityPolicies[0].params.big"},
		} {
			f := newAPI(t)
			rec := f.postJSON("/api/v1/token", `{"dashboardId":"sales","dashboardSecret":"`+f.dashSecret+`",`+tc.extra+`}`)
			if rec.Code != http.StatusOK {
				requireError(t, rec, http.StatusBadRequest, "invalid_request", tc.field)
				continue
			}
			tr := f.tokenOK(rec)
			require.Equal(t, http.StatusOK, f.verify(tr.AccessToken).Code,
				"mint accepted %s and returned a token that never verifies", tc.extra)
		}
	})
}

// merged is a mint body: the sales dashboard's credentials with extra merged in.
func merged(extra map[string]any) func(f *fixture) string {
	return func(f *fixture) string { return mustJSON(f.mintBody(extra)) }
}

func raw(s string) func(*fixture) string { return func(*fixture) string { return s } }

func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(b)
}

func nParams(n int) map[string]any {
	m := map[string]any{}
	for i := range n {
		m[fmt.Sprintf("k%02d", i)] = i
	}
	return m
}

func nPolicies(n int) []any {
	out := make([]any, n)
	for i := range out {
		out[i] = map[string]any{"name": fmt.Sprintf("p%02d", i)}
	}
	return out
}

func TestServer_Refresh(t *testing.T) {
	refresh := func(f *fixture, tok string) *httptest.ResponseRecorder {
		return f.bearer(http.MethodPost, "/api/v1/token/refresh", tok)
	}

	t.Run("OK", func(t *testing.T) {
		f := newAPI(t)
		old := f.mint(map[string]any{
			"params": json.RawMessage(testParams), "securityPolicies": json.RawMessage(testPolicies), "sub": "user-42",
		})
		f.clock.Advance(10 * time.Minute)
		now := f.clock.Now()
		tr := f.tokenOK(refresh(f, old.AccessToken))
		require.NotEqual(t, old.AccessToken, tr.AccessToken)
		require.Equal(t, int64(3600), tr.ExpiresIn)
		require.True(t, now.Add(time.Hour).Equal(tr.ExpiresAt), "expiresAt %s", tr.ExpiresAt)

		_, p1, _ := segments(t, old.AccessToken)
		_, p2, _ := segments(t, tr.AccessToken)
		c1, c2 := decodePart(t, p1), decodePart(t, p2)
		require.NotEqual(t, c1["jti"], c2["jti"])
		require.Equal(t, float64(now.Unix()), c2["iat"])
		require.Equal(t, float64(now.Add(time.Hour).Unix()), c2["exp"])
		for _, k := range []string{"jti", "iat", "nbf", "exp"} {
			delete(c1, k)
			delete(c2, k)
		}
		require.Equal(t, c1, c2, "same params, policies, sub, dashboardId, client and kind")
		require.Equal(t, "user-42", c2["sub"])
		require.Equal(t, dashID, c2["dashboardId"])

		rec := f.verify(tr.AccessToken)
		require.Equal(t, http.StatusOK, rec.Code)
		requireSameJSON(t, []byte(testParams), headerJSON(t, rec.Header().Get(httpapi.HeaderParams)))
		requireSameJSON(t, []byte(testPolicies), headerJSON(t, rec.Header().Get(httpapi.HeaderPolicies)))
		requireInvalidToken(t, f.verify(old.AccessToken), descRevoked)
	})

	t.Run("OKKeepsLifetime", func(t *testing.T) {
		f := newAPI(t)
		old := f.mint(map[string]any{"tokenExpiry": 120})
		f.clock.Advance(100 * time.Second)
		tr := f.tokenOK(refresh(f, old.AccessToken))
		require.Equal(t, int64(120), tr.ExpiresIn)
		require.True(t, f.clock.Now().Add(120*time.Second).Equal(tr.ExpiresAt))
	})

	// One token refreshed twice at once must not fork into two live
	// sessions: exactly one refresh wins, the other is told the token is revoked.
	t.Run("ErrConcurrentRefresh", func(t *testing.T) {
		f := newAPI(t, withStore(func(m *memory.Store) apiStore { return newGateStore(m) }))
		tok := f.mint(nil).AccessToken
		f.clock.Advance(time.Minute) // old enough to be refreshed
		recs := make([]*httptest.ResponseRecorder, 2)
		var wg sync.WaitGroup
		for i := range recs {
			wg.Go(func() { recs[i] = refresh(f, tok) })
		}
		wg.Wait()
		var won []string
		for _, rec := range recs {
			if rec.Code == http.StatusOK {
				won = append(won, f.tokenOK(rec).AccessToken)
				continue
			}
			requireInvalidToken(t, rec, descRevoked)
		}
		require.Equal(t, 1, len(won), "both concurrent refreshes of one token succeeded: two live tokens from one")
	})

	tests := []struct {
		name   string
		token  func(f *fixture) string
		status int
		code   string
		want   string // error_description for invalid_token
	}{
		{name: "ErrRefreshedTwice", status: 401, code: "invalid_token", want: descRevoked, token: func(f *fixture) string {
			tok := f.mint(nil).AccessToken
			f.clock.Advance(time.Minute)
			f.tokenOK(refresh(f, tok))
			return tok
		}},
		{name: "ErrInvalidated", status: 401, code: "invalid_token", want: descRevoked, token: func(f *fixture) string {
			tok := f.mint(nil).AccessToken
			require.Equal(f.tb, http.StatusNoContent, f.bearer(http.MethodPost, "/api/v1/invalidate-token", tok).Code)
			return tok
		}},
		{name: "ErrExpired", status: 401, code: "invalid_token", want: descExpired, token: func(f *fixture) string {
			tok := f.mint(nil).AccessToken
			f.clock.Advance(time.Hour + testLeeway)
			return tok
		}},
		{name: "ErrForged", status: 401, code: "invalid_token", want: descSignature, token: func(f *fixture) string {
			return newAttacker(f.tb).sign(f, f.hdr(keys.EdDSA, ""), f.payload(nil))
		}},
		{name: "ErrNotEmbed", status: 403, code: "forbidden", token: func(f *fixture) string {
			return f.mintDirect(token.Claims{Kind: token.KindReport, ReportID: "q3-revenue", ClientID: dashID, TID: "rec-q3"}, time.Hour)
		}},
		{name: "ErrClientDeleted", status: 401, code: "invalid_token", want: descRevoked, token: func(f *fixture) string {
			tok := f.mint(nil).AccessToken
			require.Equal(f.tb, http.StatusNoContent, f.asAdmin(http.MethodDelete, "/api/clients/"+dashID, "").Code)
			return tok
		}},
		{name: "ErrNoToken", status: 401, code: "token_required", token: func(*fixture) string { return "" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newAPI(t)
			tok := tt.token(f)
			rec := f.do(http.MethodPost, "/api/v1/token/refresh", "")
			if tok != "" {
				rec = refresh(f, tok)
			}
			switch tt.code {
			case "invalid_token":
				requireInvalidToken(t, rec, tt.want)
			case "token_required":
				requireError(t, rec, http.StatusUnauthorized, tt.code, "Authorization")
				require.Equal(t, `Bearer realm="sigil"`, rec.Header().Get("WWW-Authenticate"))
			default:
				requireError(t, rec, tt.status, tt.code, "")
			}
		})
	}
}

func TestServer_Invalidate(t *testing.T) {
	invalidate := func(f *fixture, tok string) *httptest.ResponseRecorder {
		return f.bearer(http.MethodPost, "/api/v1/invalidate-token", tok)
	}
	require204 := func(tb testing.TB, rec *httptest.ResponseRecorder) {
		tb.Helper()
		require.Equal(tb, http.StatusNoContent, rec.Code, rec.Body.String())
		require.Zero(tb, rec.Body.Len())
		require.Equal(tb, "no-store", rec.Header().Get("Cache-Control"))
	}

	t.Run("OK", func(t *testing.T) {
		f := newAPI(t)
		tok := f.mint(nil).AccessToken
		other := f.mint(nil).AccessToken
		require.Equal(t, http.StatusOK, f.verify(tok).Code)
		require204(t, invalidate(f, tok))
		requireInvalidToken(t, f.verify(tok), descRevoked)
		require.Equal(t, http.StatusOK, f.verify(other).Code, "only that token is revoked")
		// Still revoked at the end of its life, leeway included.
		f.clock.Advance(time.Hour + testLeeway - time.Second)
		requireInvalidToken(t, f.verify(tok), descRevoked)
	})

	t.Run("OKTwice", func(t *testing.T) {
		f := newAPI(t)
		tok := f.mint(nil).AccessToken
		require204(t, invalidate(f, tok))
		require204(t, invalidate(f, tok))
		requireInvalidToken(t, f.verify(tok), descRevoked)
	})

	t.Run("OKExpired", func(t *testing.T) {
		f := newAPI(t)
		tok := f.mint(nil).AccessToken
		f.clock.Advance(2 * time.Hour)
		require204(t, invalidate(f, tok))
		requireInvalidToken(t, f.verify(tok), descExpired)
	})

	t.Run("ErrReportTokenIsRevokedByItsOwnerOnly", func(t *testing.T) {
		// Whoever holds a share link must not kill it for everyone: a
		// registered token is revoked through the registry (403 here).
		f := newAPI(t)
		tok := f.mintDirect(token.Claims{Kind: token.KindReport, ReportID: "q3", ClientID: dashID, TID: "rec-q3"}, 0)
		requireError(t, invalidate(f, tok), http.StatusForbidden, "forbidden", "")
		require.Equal(t, http.StatusOK, f.verify(tok).Code, "the link still works")
	})

	tests := []struct {
		name  string
		token func(f *fixture) string
		want  string
	}{
		{name: "ErrForged", want: descSignature, token: func(f *fixture) string {
			return newAttacker(f.tb).sign(f, f.hdr(keys.EdDSA, ""), f.payload(nil))
		}},
		{name: "ErrAlgNone", want: descHeader, token: func(f *fixture) string {
			_, p, s := segments(f.tb, f.genuine(nil))
			return f.track(b64([]byte(`{"alg":"none","kid":"`+f.keyByAlg[keys.EdDSA].KID+`"}`)) + "." + p + "." + s)
		}},
		{name: "ErrTampered", want: descSignature, token: func(f *fixture) string {
			h, _, s := segments(f.tb, f.mint(nil).AccessToken)
			return f.track(h + "." + b64([]byte(f.payload(map[string]any{"dashboardId": "finance"}))) + "." + s)
		}},
		{name: "ErrGarbage", want: descMalformed, token: func(*fixture) string { return "x.y.z" }},
		{name: "ErrWrongIssuer", want: descIssuer, token: func(f *fixture) string {
			return f.genuine(map[string]any{"iss": "https://evil.example"})
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newAPI(t)
			requireInvalidToken(t, invalidate(f, tt.token(f)), tt.want)
		})
	}

	t.Run("ErrNoToken", func(t *testing.T) {
		f := newAPI(t)
		rec := f.do(http.MethodPost, "/api/v1/invalidate-token", "")
		requireError(t, rec, http.StatusUnauthorized, "token_required", "Authorization")
		require.Equal(t, `Bearer realm="sigil"`, rec.Header().Get("WWW-Authenticate"))
		// ?token= is for forward-auth only, not for state changes.
		tok := f.mint(nil).AccessToken
		rec = f.do(http.MethodPost, "/api/v1/invalidate-token?token="+tok, "")
		requireError(t, rec, http.StatusUnauthorized, "token_required", "Authorization")
		require.Equal(t, http.StatusOK, f.verify(tok).Code)
	})

	t.Run("ErrStoreUnavailable", func(t *testing.T) {
		f := newAPI(t, withStore(func(m *memory.Store) apiStore { return failingDenyStore{m} }))
		tok := f.mint(nil).AccessToken
		rec := invalidate(f, tok)
		f.expectServerError(rec)
		requireError(t, rec, http.StatusServiceUnavailable, "unavailable", "")
		require.Equal(t, strconv.Itoa(int(retryAfter/time.Second)), rec.Header().Get("Retry-After"))
		// Nothing was acknowledged, and nothing was revoked either.
		require.Equal(t, http.StatusOK, f.verify(tok).Code)

		// Refresh must not hand out a new token when it could not revoke the old one.
		f.clock.Advance(time.Minute)
		rec = f.bearer(http.MethodPost, "/api/v1/token/refresh", tok)
		f.expectServerError(rec)
		requireError(t, rec, http.StatusServiceUnavailable, "unavailable", "")
		require.NotContains(t, rec.Body.String(), "accessToken")

		// RFC 7009 revocation: same.
		rec = f.postForm("/api/v1/revoke", url.Values{"token": {tok}}, dashID, f.dashSecret)
		f.expectServerError(rec)
		requireError(t, rec, http.StatusServiceUnavailable, "unavailable", "")
		require.NotEmpty(t, rec.Header().Get("Retry-After"))
	})
}

// introspect posts token to the introspection endpoint as client id.
func introspect(f *fixture, tok, id, secret string) *httptest.ResponseRecorder {
	return f.postForm("/api/v1/introspect", url.Values{"token": {tok}}, id, secret)
}

func requireInactive(tb testing.TB, rec *httptest.ResponseRecorder) {
	tb.Helper()
	require.Equal(tb, http.StatusOK, rec.Code, rec.Body.String())
	requireJSON(tb, rec)
	require.Equal(tb, "no-store", rec.Header().Get("Cache-Control"))
	require.Equal(tb, `{"active":false}`, strings.TrimSpace(rec.Body.String()))
}

func TestServer_Introspect(t *testing.T) {
	var finSecret string
	finance := withClient(clients.NewClient{ID: "finance", Resources: []string{"dashboard:finance", "report:*"}}, &finSecret)

	t.Run("OK", func(t *testing.T) {
		f := newAPI(t)
		f.clock.Advance(5 * time.Second)
		now := f.clock.Now().Unix()
		tok := f.mint(map[string]any{
			"params": json.RawMessage(testParams), "securityPolicies": json.RawMessage(testPolicies), "sub": "user-42",
		}).AccessToken
		_, p, _ := segments(t, tok)
		jti := decodePart(t, p)["jti"]
		for _, cl := range []struct{ id, secret string }{{dashID, f.dashSecret}, {clients.AdminID, f.adminSecret}} {
			rec := introspect(f, tok, cl.id, cl.secret)
			require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
			requireJSON(t, rec)
			require.Equal(t, "no-store", rec.Header().Get("Cache-Control"))
			requireSameJSON(t, []byte(fmt.Sprintf(`{
				"active": true, "scope": "dashboard:view", "client_id": "sales", "sub": "user-42",
				"token_type": "Bearer", "exp": %d, "iat": %d, "nbf": %d, "aud": [%q], "iss": %q,
				"jti": %q, "tt": "embed", "dashboardId": "sales",
				"params": %s, "securityPolicies": %s}`,
				now+3600, now, now, testAudience, testIssuer, jti, testParams, testPolicies)), rec.Body.Bytes())
		}
	})

	inactive := []struct {
		name  string
		opts  []func(*fixture)
		token func(f *fixture) string
		as    func(f *fixture) (string, string)
	}{
		{name: "InactiveExpired", token: func(f *fixture) string {
			tok := f.mint(nil).AccessToken
			f.clock.Advance(time.Hour + testLeeway)
			return tok
		}},
		{name: "InactiveRevoked", token: func(f *fixture) string {
			tok := f.mint(nil).AccessToken
			require.Equal(f.tb, http.StatusNoContent, f.bearer(http.MethodPost, "/api/v1/invalidate-token", tok).Code)
			return tok
		}},
		{name: "InactiveForged", token: func(f *fixture) string {
			return newAttacker(f.tb).sign(f, f.hdr(keys.EdDSA, ""), f.payload(nil))
		}},
		{name: "InactiveAlgNone", token: func(f *fixture) string {
			_, p, _ := segments(f.tb, f.genuine(nil))
			return f.track(b64([]byte(`{"alg":"none"}`)) + "." + p + ".")
		}},
		{name: "InactiveGarbage", token: func(*fixture) string { return "not-a-token" }},
		{name: "InactiveNotYetValid", token: func(f *fixture) string {
			return f.genuine(map[string]any{"nbf": f.clock.Now().Unix() + 600})
		}},
		{name: "InactiveOtherTenant", opts: []func(*fixture){finance},
			token: func(f *fixture) string { return f.mint(nil).AccessToken },
			as:    func(*fixture) (string, string) { return "finance", finSecret }},
	}
	for _, tt := range inactive {
		t.Run(tt.name, func(t *testing.T) {
			f := newAPI(t, tt.opts...)
			tok := tt.token(f)
			id, secret := dashID, f.dashSecret
			if tt.as != nil {
				id, secret = tt.as(f)
			}
			requireInactive(t, introspect(f, tok, id, secret))
		})
	}

	t.Run("OKOtherTenantSeesOwnResource", func(t *testing.T) {
		f := newAPI(t, finance)
		tok := f.mintDirect(token.Claims{Kind: token.KindReport, ReportID: "q3", ClientID: "finance", TID: "rec-q3"}, time.Hour)
		rec := introspect(f, tok, "finance", finSecret)
		require.Equal(t, http.StatusOK, rec.Code)
		require.Contains(t, rec.Body.String(), `"active":true`)
		requireInactive(t, introspect(f, tok, dashID, f.dashSecret))
	})

	errs := []struct {
		name   string
		req    func(f *fixture) *http.Request
		status int
		code   string
		field  string
	}{
		{name: "ErrNoBasic", status: 401, code: "unauthorized", req: func(f *fixture) *http.Request {
			return formReq(url.Values{"token": {f.mint(nil).AccessToken}}, "application/x-www-form-urlencoded")
		}},
		{name: "ErrWrongSecret", status: 401, code: "unauthorized", req: func(f *fixture) *http.Request {
			r := formReq(url.Values{"token": {f.mint(nil).AccessToken}}, "application/x-www-form-urlencoded")
			r.SetBasicAuth(dashID, f.dashSecret+"x")
			return r
		}},
		{name: "ErrUnknownClient", status: 401, code: "unauthorized", req: func(f *fixture) *http.Request {
			r := formReq(url.Values{"token": {f.mint(nil).AccessToken}}, "application/x-www-form-urlencoded")
			r.SetBasicAuth("nobody", f.dashSecret)
			return r
		}},
		{name: "ErrEmptySecret", status: 401, code: "unauthorized", req: func(f *fixture) *http.Request {
			r := formReq(url.Values{"token": {f.mint(nil).AccessToken}}, "application/x-www-form-urlencoded")
			r.SetBasicAuth(dashID, "")
			return r
		}},
		{name: "ErrBearerInsteadOfBasic", status: 401, code: "unauthorized", req: func(f *fixture) *http.Request {
			tok := f.mint(nil).AccessToken
			r := formReq(url.Values{"token": {tok}}, "application/x-www-form-urlencoded")
			r.Header.Set("Authorization", "Bearer "+tok)
			return r
		}},
		{name: "ErrJSONContentType", status: 415, code: "unsupported_media", field: "Content-Type", req: func(f *fixture) *http.Request {
			r := httptest.NewRequest(http.MethodPost, "/api/v1/introspect", strings.NewReader(mustJSON(map[string]string{"token": f.mint(nil).AccessToken})))
			r.Header.Set("Content-Type", "application/json")
			r.SetBasicAuth(dashID, f.dashSecret)
			return r
		}},
		{name: "ErrMissingToken", status: 400, code: "invalid_request", field: "token", req: func(f *fixture) *http.Request {
			r := formReq(url.Values{"token_type_hint": {"access_token"}}, "application/x-www-form-urlencoded")
			r.SetBasicAuth(dashID, f.dashSecret)
			return r
		}},
		{name: "ErrEmptyToken", status: 400, code: "invalid_request", field: "token", req: func(f *fixture) *http.Request {
			r := formReq(url.Values{"token": {""}}, "application/x-www-form-urlencoded")
			r.SetBasicAuth(dashID, f.dashSecret)
			return r
		}},
		{name: "ErrTokenTwice", status: 400, code: "invalid_request", field: "token", req: func(f *fixture) *http.Request {
			r := formReq(url.Values{"token": {f.mint(nil).AccessToken, "x"}}, "application/x-www-form-urlencoded")
			r.SetBasicAuth(dashID, f.dashSecret)
			return r
		}},
		{name: "ErrTooLarge", status: 413, code: "too_large", req: func(f *fixture) *http.Request {
			r := formReq(url.Values{"token": {strings.Repeat("a", httpapi.MaxBodyBytes)}}, "application/x-www-form-urlencoded")
			r.SetBasicAuth(dashID, f.dashSecret)
			return r
		}},
	}
	for _, tt := range errs {
		t.Run(tt.name, func(t *testing.T) {
			f := newAPI(t)
			rec := f.serve(tt.req(f))
			requireError(t, rec, tt.status, tt.code, tt.field)
			if tt.status == http.StatusUnauthorized {
				require.Equal(t, `Basic realm="sigil"`, rec.Header().Get("WWW-Authenticate"))
			}
		})
	}
}

func formReq(form url.Values, ctype string) *http.Request {
	r := httptest.NewRequest(http.MethodPost, "/api/v1/introspect", strings.NewReader(form.Encode()))
	r.Header.Set("Content-Type", ctype)
	return r
}

func TestServer_Revoke(t *testing.T) {
	var finSecret string
	finance := withClient(clients.NewClient{ID: "finance", Resources: []string{"dashboard:finance"}}, &finSecret)
	revoke := func(f *fixture, tok, id, secret string) *httptest.ResponseRecorder {
		return f.postForm("/api/v1/revoke", url.Values{"token": {tok}}, id, secret)
	}

	t.Run("OK", func(t *testing.T) {
		f := newAPI(t)
		tok := f.mint(nil).AccessToken
		rec := revoke(f, tok, dashID, f.dashSecret)
		require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
		requireInactive(t, introspect(f, tok, dashID, f.dashSecret))
		requireInvalidToken(t, f.verify(tok), descRevoked)
		// Again: still 200.
		require.Equal(t, http.StatusOK, revoke(f, tok, dashID, f.dashSecret).Code)
	})

	t.Run("OKAdminAnyTenant", func(t *testing.T) {
		f := newAPI(t)
		tok := f.mint(nil).AccessToken
		require.Equal(t, http.StatusOK, revoke(f, tok, clients.AdminID, f.adminSecret).Code)
		requireInvalidToken(t, f.verify(tok), descRevoked)
	})

	t.Run("OKForged", func(t *testing.T) {
		f := newAPI(t)
		live := f.mint(nil).AccessToken
		_, p, _ := segments(t, live)
		// The attacker re-signs the live token's claims (same jti) with its own key.
		forged := newAttacker(t).sign(f, f.hdr(keys.EdDSA, ""), string(mustDecode(t, p)))
		require.Equal(t, http.StatusOK, revoke(f, forged, dashID, f.dashSecret).Code)
		require.Equal(t, http.StatusOK, revoke(f, "garbage", dashID, f.dashSecret).Code)
		require.Equal(t, http.StatusOK, f.verify(live).Code, "a forged token revokes nothing")
	})

	t.Run("OKExpired", func(t *testing.T) {
		f := newAPI(t)
		tok := f.mint(nil).AccessToken
		f.clock.Advance(3 * time.Hour)
		require.Equal(t, http.StatusOK, revoke(f, tok, dashID, f.dashSecret).Code)
	})

	t.Run("ErrOtherTenant", func(t *testing.T) {
		f := newAPI(t, finance)
		tok := f.mint(nil).AccessToken
		requireError(t, revoke(f, tok, "finance", finSecret), http.StatusForbidden, "forbidden", "")
		require.Equal(t, http.StatusOK, f.verify(tok).Code)
	})

	t.Run("ErrNoAuth", func(t *testing.T) {
		f := newAPI(t)
		tok := f.mint(nil).AccessToken
		requireClientUnauthorized(t, revoke(f, tok, "", ""))
		requireClientUnauthorized(t, revoke(f, tok, dashID, "wrong"))
		require.Equal(t, http.StatusOK, f.verify(tok).Code)
	})

	t.Run("ErrMissingToken", func(t *testing.T) {
		f := newAPI(t)
		rec := f.postForm("/api/v1/revoke", url.Values{}, dashID, f.dashSecret)
		requireError(t, rec, http.StatusBadRequest, "invalid_request", "token")
	})
}

func mustDecode(tb testing.TB, seg string) []byte {
	tb.Helper()
	b, err := base64.RawURLEncoding.DecodeString(seg)
	require.NoError(tb, err)
	return b
}

var secretPattern = regexp.MustCompile(`^[A-Za-z0-9_-]{43}$`)

// clientJSON is a client as the API shows it.
type clientJSON struct {
	ID             string    `json:"id"`
	Name           string    `json:"name"`
	Role           string    `json:"role"`
	Resources      []string  `json:"resources"`
	Scopes         []string  `json:"scopes"`
	MaxTokenExpiry int64     `json:"maxTokenExpiry"`
	CreatedAt      time.Time `json:"createdAt"`
	Secret         string    `json:"secret"`
}

func decodeClient(tb testing.TB, b []byte) clientJSON {
	tb.Helper()
	var c clientJSON
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	require.NoError(tb, dec.Decode(&c), string(b))
	return c
}

func TestServer_Clients(t *testing.T) {
	t.Run("OKLifecycle", func(t *testing.T) {
		f := newAPI(t)
		mintAs := func(id, secret string) *httptest.ResponseRecorder {
			return f.postJSON("/api/v1/token", map[string]any{"dashboardId": id, "dashboardSecret": secret})
		}

		// Create: 201, the secret shown this once.
		rec := f.asAdmin(http.MethodPost, "/api/clients",
			`{"id":"acme","name":"Acme","resources":["dashboard:acme"],"scopes":["meta:read"],"maxTokenExpiry":600}`)
		require.Equal(t, http.StatusCreated, rec.Code, rec.Body.String())
		requireJSON(t, rec)
		require.Equal(t, "no-store", rec.Header().Get("Cache-Control"))
		created := decodeClient(t, rec.Body.Bytes())
		require.Regexp(t, secretPattern, created.Secret)
		f.secrets = append(f.secrets, created.Secret)
		secret := created.Secret
		created.Secret = ""
		require.Equal(t, clientJSON{
			ID: "acme", Name: "Acme", Role: clients.RoleIssuer, Resources: []string{"dashboard:acme"},
			Scopes: []string{"meta:read"}, MaxTokenExpiry: 600, CreatedAt: epoch,
		}, created)
		tr := f.tokenOK(mintAs("acme", secret))
		require.Equal(t, int64(600), tr.ExpiresIn)

		// Create without an id: one is generated.
		rec = f.asAdmin(http.MethodPost, "/api/clients", `{"name":"anonymous"}`)
		require.Equal(t, http.StatusCreated, rec.Code, rec.Body.String())
		anon := decodeClient(t, rec.Body.Bytes())
		require.NotEmpty(t, anon.ID)
		require.Regexp(t, secretPattern, anon.Secret)
		require.NotEqual(t, secret, anon.Secret)
		f.secrets = append(f.secrets, anon.Secret)

		// List: every client, never a secret or its hash.
		rec = f.asAdmin(http.MethodGet, "/api/clients", "")
		require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
		requireJSON(t, rec)
		var list struct {
			Clients []json.RawMessage `json:"clients"`
		}
		require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &list))
		var ids []string
		for _, c := range list.Clients {
			cj := decodeClient(t, c)
			require.Empty(t, cj.Secret)
			ids = append(ids, cj.ID)
		}
		require.ElementsMatch(t, []string{"acme", anon.ID, clients.AdminID, dashID}, ids)
		body := strings.ToLower(rec.Body.String())
		require.NotContains(t, body, "secret")
		require.NotContains(t, body, "hash")
		for _, s := range []string{secret, anon.Secret, f.dashSecret, f.adminSecret} {
			require.NotContains(t, rec.Body.String(), s)
			for _, h := range f.secretHashes(s) {
				require.NotContains(t, rec.Body.String(), h)
			}
		}

		// Get: no secret either.
		rec = f.asAdmin(http.MethodGet, "/api/clients/acme", "")
		require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
		got := decodeClient(t, rec.Body.Bytes())
		require.Equal(t, created, got)
		require.NotContains(t, strings.ToLower(rec.Body.String()), "hash")
		requireError(t, f.asAdmin(http.MethodGet, "/api/clients/nope", ""), http.StatusNotFound, "not_found", "")

		// Rotate: a new secret, the old one dead at once.
		rec = f.asAdmin(http.MethodPost, "/api/clients/acme/_rotate-secret", "")
		require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
		require.Equal(t, "no-store", rec.Header().Get("Cache-Control"))
		rotated := decodeClient(t, rec.Body.Bytes())
		require.Regexp(t, secretPattern, rotated.Secret)
		require.NotEqual(t, secret, rotated.Secret)
		f.secrets = append(f.secrets, rotated.Secret)
		requireClientUnauthorized(t, mintAs("acme", secret))
		f.tokenOK(mintAs("acme", rotated.Secret))
		requireError(t, f.asAdmin(http.MethodPost, "/api/clients/nope/_rotate-secret", ""), http.StatusNotFound, "not_found", "")

		// Delete: 204, then gone.
		rec = f.asAdmin(http.MethodDelete, "/api/clients/acme", "")
		require.Equal(t, http.StatusNoContent, rec.Code, rec.Body.String())
		require.Zero(t, rec.Body.Len())
		requireError(t, f.asAdmin(http.MethodGet, "/api/clients/acme", ""), http.StatusNotFound, "not_found", "")
		requireError(t, f.asAdmin(http.MethodDelete, "/api/clients/acme", ""), http.StatusNotFound, "not_found", "")
		requireClientUnauthorized(t, mintAs("acme", rotated.Secret))
	})

	t.Run("OKIssuerCanMintAfterCreate", func(t *testing.T) {
		f := newAPI(t)
		rec := f.asAdmin(http.MethodPost, "/api/clients", `{"id":"ops","resources":["dashboard:ops*"]}`)
		require.Equal(t, http.StatusCreated, rec.Code, rec.Body.String())
		c := decodeClient(t, rec.Body.Bytes())
		f.secrets = append(f.secrets, c.Secret)
		require.Equal(t, int64(3600), f.tokenOK(f.postJSON("/api/v1/token",
			map[string]any{"dashboardId": "ops", "dashboardSecret": c.Secret})).ExpiresIn)
	})

	authz := []struct {
		name, method, target, body string
		as                         func(f *fixture) (string, string)
		status                     int
		code                       string
	}{
		{name: "ErrNoAuthList", method: http.MethodGet, target: "/api/clients", status: 401, code: "unauthorized"},
		{name: "ErrNoAuthCreate", method: http.MethodPost, target: "/api/clients", body: `{"id":"x"}`, status: 401, code: "unauthorized"},
		{name: "ErrNoAuthDelete", method: http.MethodDelete, target: "/api/clients/sales", status: 401, code: "unauthorized"},
		{name: "ErrWrongAdminSecret", method: http.MethodGet, target: "/api/clients", status: 401, code: "unauthorized",
			as: func(f *fixture) (string, string) { return clients.AdminID, f.dashSecret }},
		{name: "ErrNotAdminList", method: http.MethodGet, target: "/api/clients", status: 403, code: "forbidden",
			as: func(f *fixture) (string, string) { return dashID, f.dashSecret }},
		{name: "ErrNotAdminCreate", method: http.MethodPost, target: "/api/clients", body: `{"id":"x","role":"admin"}`, status: 403, code: "forbidden",
			as: func(f *fixture) (string, string) { return dashID, f.dashSecret }},
		{name: "ErrNotAdminGet", method: http.MethodGet, target: "/api/clients/sales", status: 403, code: "forbidden",
			as: func(f *fixture) (string, string) { return dashID, f.dashSecret }},
		{name: "ErrNotAdminDelete", method: http.MethodDelete, target: "/api/clients/admin", status: 403, code: "forbidden",
			as: func(f *fixture) (string, string) { return dashID, f.dashSecret }},
		{name: "ErrNotAdminRotate", method: http.MethodPost, target: "/api/clients/admin/_rotate-secret", status: 403, code: "forbidden",
			as: func(f *fixture) (string, string) { return dashID, f.dashSecret }},
	}
	for _, tt := range authz {
		t.Run(tt.name, func(t *testing.T) {
			f := newAPI(t)
			var rec *httptest.ResponseRecorder
			if tt.as == nil {
				rec = f.do(tt.method, tt.target, tt.body, "Content-Type", "application/json")
			} else {
				id, secret := tt.as(f)
				rec = f.asClient(tt.method, tt.target, tt.body, id, secret)
			}
			requireError(t, rec, tt.status, tt.code, "")
			if tt.status == http.StatusUnauthorized {
				require.Equal(t, `Basic realm="sigil"`, rec.Header().Get("WWW-Authenticate"))
			}
			// Nothing changed: the admin still lists the same two clients.
			rec = f.asAdmin(http.MethodGet, "/api/clients", "")
			require.Equal(t, http.StatusOK, rec.Code)
			require.Equal(t, 2, strings.Count(rec.Body.String(), `"id":`))
		})
	}

	bad := []struct {
		name, body string
		status     int
		code       string
		field      string
	}{
		{name: "ErrIDSpace", body: `{"id":"bad id"}`, field: "id"},
		{name: "ErrIDTooLong", body: `{"id":"` + strings.Repeat("a", 129) + `"}`, field: "id"},
		{name: "ErrIDLeadingDot", body: `{"id":".hidden"}`, field: "id"},
		{name: "ErrIDNumber", body: `{"id":1}`, field: "id"},
		{name: "ErrNameTooLong", body: `{"name":"` + strings.Repeat("n", 201) + `"}`, field: "name"},
		{name: "ErrRole", body: `{"role":"root"}`, field: "role"},
		{name: "ErrResourceKind", body: `{"resources":["files:x"]}`, field: "resources[0]"},
		{name: "ErrResourceSecond", body: `{"resources":["dashboard:ok","dashboard"]}`, field: "resources[1]"},
		{name: "ErrResourceGlob", body: `{"resources":["dashboard:["]}`, field: "resources[0]"},
		{name: "ErrResourcesString", body: `{"resources":"dashboard:x"}`, field: "resources"},
		{name: "ErrResources65", body: `{"resources":[` + strings.TrimSuffix(strings.Repeat(`"dashboard:a",`, 65), ",") + `]}`, field: "resources"},
		{name: "ErrScope", body: `{"scopes":["bad scope"]}`, field: "scopes[0]"},
		{name: "ErrMaxTokenExpiryNegative", body: `{"maxTokenExpiry":-1}`, field: "maxTokenExpiry"},
		{name: "ErrMaxTokenExpiryOverServerMax", body: `{"maxTokenExpiry":86401}`, field: "maxTokenExpiry"},
		{name: "ErrMaxTokenExpiryString", body: `{"maxTokenExpiry":"60"}`, field: "maxTokenExpiry"},
		{name: "ErrUnknownFieldSecret", body: `{"id":"x","secret":"chosen-by-caller"}`, field: "secret"},
		{name: "ErrUnknownFieldSecretHash", body: `{"id":"x","secretHash":"AAAA"}`, field: "secretHash"},
		{name: "ErrInvalidJSON", body: `{"id":`, field: ""},
		{name: "ErrEmptyBody", body: ``, field: ""},
		{name: "ErrDuplicateID", body: `{"id":"sales"}`, status: 409, code: "conflict", field: "id"},
		{name: "ErrDuplicateAdminID", body: `{"id":"admin","role":"admin"}`, status: 409, code: "conflict", field: "id"},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			f := newAPI(t)
			r := httptest.NewRequest(http.MethodPost, "/api/clients", strings.NewReader(tt.body))
			r.Header.Set("Content-Type", "application/json")
			r.SetBasicAuth(clients.AdminID, f.adminSecret)
			status, code := tt.status, tt.code
			if status == 0 {
				status, code = http.StatusBadRequest, "invalid_request"
			}
			requireError(t, f.serve(r), status, code, tt.field)
			// The original sales client is untouched.
			f.tokenOK(f.postJSON("/api/v1/token", f.mintBody(nil)))
		})
	}

	t.Run("ErrTextPlain", func(t *testing.T) {
		f := newAPI(t)
		r := httptest.NewRequest(http.MethodPost, "/api/clients", strings.NewReader(`{"id":"x"}`))
		r.Header.Set("Content-Type", "text/plain")
		r.SetBasicAuth(clients.AdminID, f.adminSecret)
		requireError(t, f.serve(r), http.StatusUnsupportedMediaType, "unsupported_media", "Content-Type")
	})
}

// thumbprint computes the RFC 7638 thumbprint of a JWK from its members,
// independently of the keys package.
func thumbprint(tb testing.TB, j map[string]any) string {
	tb.Helper()
	var members []string
	switch j["kty"] {
	case "OKP":
		members = []string{"crv", "kty", "x"}
	case "EC":
		members = []string{"crv", "kty", "x", "y"}
	case "RSA":
		members = []string{"e", "kty", "n"}
	default:
		tb.Fatalf("unexpected kty %v", j["kty"])
	}
	req := map[string]any{}
	for _, m := range members {
		require.Contains(tb, j, m)
		req[m] = j[m]
	}
	canonical, err := json.Marshal(req) // sorted keys, no whitespace
	require.NoError(tb, err)
	sum := sha256.Sum256(canonical)
	return b64(sum[:])
}

func TestServer_WellKnown(t *testing.T) {
	t.Run("OKJWKS", func(t *testing.T) {
		f := newAPI(t)
		require.Contains(t, f.keyByAlg, keys.HS256, "the set holds an HS256 secret")
		rec := f.do(http.MethodGet, "/.well-known/jwks.json", "")
		require.Equal(t, http.StatusOK, rec.Code)
		requireJSON(t, rec)
		var jwks struct {
			Keys []map[string]any `json:"keys"`
		}
		require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &jwks))
		require.Len(t, jwks.Keys, 3)
		seen := map[string]bool{}
		for _, j := range jwks.Keys {
			kid, _ := j["kid"].(string)
			require.Equal(t, thumbprint(t, j), kid)
			require.Equal(t, "sig", j["use"])
			alg, _ := j["alg"].(string)
			k, ok := f.set.Lookup(kid)
			require.True(t, ok)
			require.Equal(t, k.Alg, alg)
			seen[alg] = true
			for _, private := range []string{"d", "p", "q", "dp", "dq", "qi", "k"} {
				require.NotContains(t, j, private)
			}
			switch pub := k.Public.(type) {
			case ed25519.PublicKey:
				require.Equal(t, map[string]any{"kty": "OKP", "crv": "Ed25519", "x": b64(pub), "use": "sig", "alg": "EdDSA", "kid": kid}, j)
			case *ecdsa.PublicKey:
				pt, err := pub.Bytes()
				require.NoError(t, err)
				require.Equal(t, map[string]any{"kty": "EC", "crv": "P-256", "x": b64(pt[1:33]), "y": b64(pt[33:]), "use": "sig", "alg": "ES256", "kid": kid}, j)
			case *rsa.PublicKey:
				require.Equal(t, map[string]any{"kty": "RSA", "n": b64(pub.N.Bytes()), "e": b64(big.NewInt(int64(pub.E)).Bytes()), "use": "sig", "alg": "RS256", "kid": kid}, j)
			default:
				t.Fatalf("unexpected key %T", pub)
			}
		}
		require.Equal(t, map[string]bool{"EdDSA": true, "ES256": true, "RS256": true}, seen)
		require.NotContains(t, rec.Body.String(), f.keyByAlg[keys.HS256].KID)
		require.NotContains(t, rec.Body.String(), "HS256")
		require.NotContains(t, rec.Body.String(), b64(hsSecret))
		require.NotContains(t, rec.Body.String(), `"oct"`)
	})

	t.Run("OKJWKSOnlyHS256", func(t *testing.T) {
		f := newAPI(t, withOnlyHS256())
		rec := f.do(http.MethodGet, "/.well-known/jwks.json", "")
		require.Equal(t, http.StatusOK, rec.Code)
		require.JSONEq(t, `{"keys":[]}`, rec.Body.String())
	})

	t.Run("OKMetadata", func(t *testing.T) {
		f := newAPI(t)
		rec := f.do(http.MethodGet, "/.well-known/oauth-authorization-server", "")
		require.Equal(t, http.StatusOK, rec.Code)
		requireJSON(t, rec)
		var md map[string]any
		require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &md))
		require.Equal(t, testIssuer, md["issuer"])
		require.Equal(t, testIssuer+"/.well-known/jwks.json", md["jwks_uri"])
		require.Equal(t, testIssuer+"/api/v1/introspect", md["introspection_endpoint"])
		require.Equal(t, testIssuer+"/api/v1/revoke", md["revocation_endpoint"])
		require.Equal(t, testIssuer+"/api/v1/token", md["token_endpoint"])
		require.Equal(t, []any{"client_secret_basic"}, md["introspection_endpoint_auth_methods_supported"])
		require.Equal(t, []any{"client_secret_basic"}, md["revocation_endpoint_auth_methods_supported"])
	})

	t.Run("OKHealthz", func(t *testing.T) {
		f := newAPI(t)
		rec := f.do(http.MethodGet, "/healthz", "")
		require.Equal(t, http.StatusOK, rec.Code)
		require.JSONEq(t, `{"status":"ok"}`, rec.Body.String())
	})

	t.Run("OKReadyz", func(t *testing.T) {
		f := newAPI(t, withReady(httpapi.Check{Name: "store", Fn: func(context.Context) error { return nil }}))
		rec := f.do(http.MethodGet, "/readyz", "")
		require.Equal(t, http.StatusOK, rec.Code)
		require.JSONEq(t, `{"status":"ready","checks":{"keys":"ok","store":"ok"}}`, rec.Body.String())
	})

	t.Run("OKReadyzDegraded", func(t *testing.T) {
		f := newAPI(t, withReady(httpapi.Check{Name: "store", Degrades: true, Fn: func(context.Context) error { return errors.New("down") }}))
		rec := f.do(http.MethodGet, "/readyz", "")
		require.Equal(t, http.StatusOK, rec.Code)
		require.JSONEq(t, `{"status":"degraded","checks":{"keys":"ok","store":"unavailable"}}`, rec.Body.String())
	})

	t.Run("ErrReadyzCheckFails", func(t *testing.T) {
		f := newAPI(t, withReady(
			httpapi.Check{Name: "store", Fn: func(context.Context) error { return errors.New("dial tcp: connection refused") }},
			httpapi.Check{Name: "other", Fn: func(context.Context) error { return nil }},
		))
		rec := f.do(http.MethodGet, "/readyz", "")
		f.expectServerError(rec)
		require.Equal(t, http.StatusServiceUnavailable, rec.Code)
		require.JSONEq(t, `{"status":"unavailable","checks":{"keys":"ok","store":"unavailable","other":"ok"}}`, rec.Body.String())
		require.NotContains(t, rec.Body.String(), "refused", "check errors stay internal")
	})
}

func TestServer_Routing(t *testing.T) {
	tests := []struct {
		name, method, target string
		status               int
		code                 string
	}{
		{name: "ErrUnknownRoute", method: http.MethodGet, target: "/nope", status: 404, code: "not_found"},
		{name: "ErrUnknownAPIRoute", method: http.MethodPost, target: "/api/v1/nope", status: 404, code: "not_found"},
		{name: "ErrUnknownDeepRoute", method: http.MethodGet, target: "/api/v1/token/refresh/x", status: 404, code: "not_found"},
		{name: "ErrTokenGet", method: http.MethodGet, target: "/api/v1/token", status: 405, code: "method_not_allowed"},
		{name: "ErrTokenDelete", method: http.MethodDelete, target: "/api/v1/token", status: 405, code: "method_not_allowed"},
		{name: "ErrVerifyPost", method: http.MethodPost, target: "/api/v1/verify", status: 405, code: "method_not_allowed"},
		{name: "ErrInvalidateGet", method: http.MethodGet, target: "/api/v1/invalidate-token", status: 405, code: "method_not_allowed"},
		{name: "ErrIntrospectGet", method: http.MethodGet, target: "/api/v1/introspect", status: 405, code: "method_not_allowed"},
		{name: "ErrHealthzPut", method: http.MethodPut, target: "/healthz", status: 405, code: "method_not_allowed"},
		{name: "ErrJWKSPost", method: http.MethodPost, target: "/.well-known/jwks.json", status: 405, code: "method_not_allowed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newAPI(t)
			requireError(t, f.do(tt.method, tt.target, ""), tt.status, tt.code, "")
		})
	}
}

func TestServer_PanicRecovered(t *testing.T) {
	f := newAPI(t, withStore(func(m *memory.Store) apiStore { return panickingStore{m} }))
	tok := f.mint(nil).AccessToken
	rec := f.verify(tok)
	f.expectServerError(rec)
	e := requireError(t, rec, http.StatusInternalServerError, "internal", "")
	require.Equal(t, "internal error", e.Error.Message)
	require.NotContains(t, rec.Body.String(), "exploded")
	// The server goes on serving.
	require.Equal(t, http.StatusOK, f.do(http.MethodGet, "/healthz", "").Code)
	require.Equal(t, http.StatusNoContent, f.bearer(http.MethodPost, "/api/v1/invalidate-token", tok).Code)
}

// TestServer_NoTokenInAnswers drives a mix of failures with one token and
// checks every answer explicitly (every fixture also checks at cleanup).
func TestServer_NoTokenInAnswers(t *testing.T) {
	f := newAPI(t)
	tok := f.mint(map[string]any{"sub": "user-1"}).AccessToken
	forged := f.track(flipSpareBit(t, tok))
	var recs []*httptest.ResponseRecorder
	for _, tk := range []string{tok, forged} {
		recs = append(recs,
			f.verify(tk),
			f.do(http.MethodGet, "/api/v1/verify?token="+tk, ""),
			f.do(http.MethodGet, "/api/v1/verify", "", "X-Forwarded-Uri", "/d?token="+tk),
			introspect(f, tk, dashID, f.dashSecret),
			f.postForm("/api/v1/revoke", url.Values{"token": {tk}}, "finance", "nope"),
			f.bearer(http.MethodPost, "/api/v1/token/refresh", tk),
			f.postJSON("/api/v1/token", f.mintBody(map[string]any{"sub": tk})),
			f.postJSON("/api/v1/token", f.mintBody(map[string]any{"params": map[string]any{"locale": tk}})),
			f.postJSON("/api/v1/token", f.mintBody(map[string]any{"dashboardId": tk})),
			f.bearer(http.MethodPost, "/api/v1/invalidate-token", tk),
			f.verify(tk),
		)
	}
	for _, rec := range recs {
		body := rec.Body.String()
		var m map[string]any
		if json.Unmarshal(rec.Body.Bytes(), &m) == nil && m["accessToken"] != nil {
			continue // a new token from refresh; checked at cleanup without its accessToken
		}
		for _, tk := range []string{tok, forged} {
			require.NotContains(t, body, tk)
			_, _, sig := segments(t, tk)
			require.NotContains(t, body, sig)
			for k, vs := range rec.Header() {
				for _, v := range vs {
					require.NotContains(t, v, sig, "header %s", k)
				}
			}
		}
	}
	require.True(t, slices.ContainsFunc(recs, func(r *httptest.ResponseRecorder) bool { return r.Code == http.StatusBadRequest }))
}

// hangingDenyStore is a memory store whose denylist reads hang until the
// request's context ends: a paused Redis in direct mode.
type hangingDenyStore struct{ *memory.Store }

func (hangingDenyStore) IsDenied(ctx context.Context, _ ...string) (bool, error) {
	<-ctx.Done()
	return false, fmt.Errorf("redis: i/o timeout: %w: %w", revocation.ErrUnavailable, ctx.Err())
}

// TestVerify_StoreTimeout: when verification waits on a store (direct mode,
// VerifyNeverWaits false), a hanging store ends at StoreTimeout with 503.
func TestVerify_StoreTimeout(t *testing.T) {
	f := newAPI(t, withStore(func(m *memory.Store) apiStore { return hangingDenyStore{m} }), func(f *fixture) {
		f.tweak = func(cfg *httpapi.Config) { cfg.StoreTimeout, cfg.VerifyNeverWaits = 50*time.Millisecond, false }
	})
	tok := f.mint(nil).AccessToken
	rec := f.verify(tok)
	f.expectServerError(rec)
	requireError(t, rec, http.StatusServiceUnavailable, "unavailable", "")
	require.NotEmpty(t, rec.Header().Get("Retry-After"))
}
