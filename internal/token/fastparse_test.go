package token_test

import (
	"context"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/sigil-dev/sigil/internal/keys"
	"github.com/sigil-dev/sigil/internal/token"
)

// fastPair is a verifier with fastParse and the golang-jwt oracle without
// it, on the same keys and clock, both without the cache.
type fastPair struct {
	fx         *fixture
	fast, slow *token.Verifier
}

func newFastPair(tb testing.TB) *fastPair {
	fx := newFixture(tb, testKey(tb, keys.EdDSA, "main"))
	cfg := token.VerifierConfig{Issuer: testIssuer, Audience: testAudience, Keys: fx.ring, Now: fx.clock.Now}
	return &fastPair{fx: fx, fast: token.NewVerifier(cfg), slow: token.NewGolangJWTVerifier(cfg)}
}

// jwtSentinels are golang-jwt's errors that a rejection's chain may carry.
var jwtSentinels = []error{
	jwt.ErrTokenMalformed, jwt.ErrTokenUnverifiable, jwt.ErrTokenSignatureInvalid,
	jwt.ErrTokenRequiredClaimMissing, jwt.ErrTokenInvalidAudience, jwt.ErrTokenExpired,
	jwt.ErrTokenUsedBeforeIssued, jwt.ErrTokenInvalidIssuer, jwt.ErrTokenNotValidYet,
	jwt.ErrTokenInvalidClaims, jwt.ErrInvalidType, jwt.ErrEd25519Verification,
	jwt.ErrECDSAVerification, jwt.ErrSignatureInvalid,
}

// requireSame fails unless both verifiers answer raw alike: both accept
// with deeply equal claims, or both reject with the same message, the same
// reason, the same golang-jwt sentinels in the chain and the same rejected
// claims (an expired genuine token's).
func (p *fastPair) requireSame(t *testing.T, raw string) {
	t.Helper()
	ctx := context.Background()
	c1, err1 := p.fast.Verify(ctx, raw)
	c2, err2 := p.slow.Verify(ctx, raw)
	if (err1 == nil) != (err2 == nil) {
		t.Fatalf("fast and golang-jwt paths disagree on %q:\nfast: %v\njwt:  %v", raw, err1, err2)
	}
	if err1 == nil {
		if !reflect.DeepEqual(c1, c2) {
			t.Fatalf("claims differ for %q:\nfast: %#v\njwt:  %#v", raw, c1, c2)
		}
		return
	}
	if err1.Error() != err2.Error() || token.Reason(err1) != token.Reason(err2) {
		t.Fatalf("errors differ for %q:\nfast: %v (%s)\njwt:  %v (%s)", raw, err1, token.Reason(err1), err2, token.Reason(err2))
	}
	for _, s := range jwtSentinels {
		if errors.Is(err1, s) != errors.Is(err2, s) {
			t.Fatalf("errors.Is(%v) differs for %q: %v / %v", s, raw, err1, err2)
		}
	}
	r1, ok1 := token.RejectedClaims(err1)
	r2, ok2 := token.RejectedClaims(err2)
	if ok1 != ok2 || !reflect.DeepEqual(r1, r2) {
		t.Fatalf("rejected claims differ for %q:\nfast: %#v\njwt:  %#v", raw, r1, r2)
	}
}

// fastPayloads are payload texts (signed with a loaded key) that reach
// fastParse's every branch and every case it leaves to encoding/json.
func fastPayloads() []string {
	now := epoch
	return []string{
		payload(now, ""),
		payload(now, `,"params":{"locale":"de-DE","n":3.50,"big":1e400,"neg":-0,"on":true,"off":false,"nil":null,"list":[1,"a",[],{}],"o":{}}`),
		payload(now, `,"params":{}`),
		payload(now, `,"params":{"s":"\u00e9\ud83d\ude42\n\"\\\/","\u0041":1}`),
		payload(now, `,"securityPolicies":[{"name":"r","params":{"region":"EU","n":1}},{"name":"s"},{}]`),
		payload(now, `,"securityPolicies":[]`),
		payload(now, `,"securityPolicies":[null]`),
		payload(now, `,"securityPolicies":[{"Name":"r"}]`),
		payload(now, `,"securityPolicies":[{"name":"r","x":1}]`),
		payload(now, `,"securityPolicies":[{"name":"r","params":null}]`),
		payload(now, `,"securityPolicies":[{"name":1}]`),
		payload(now, `,"securityPolicies":["r"]`),
		payload(now, `,"securityPolicies":[{"n\u0061me":"r"}]`),
		payload(now, `,"cst":"tag"`),
		payload(now, `,"CST":"tag"`),
		payload(now, `,"c\u0073t":"tag"`),
		payload(now, `,"cst":null`),
		payload(now, `,"cst":5`),
		payload(now, `,"unknown":{"deep":[1e999]},"x":null`),
		payload(now, `,"aud":["`+testAudience+`","other"]`, "aud"),
		payload(now, `,"aud":[]`, "aud"),
		payload(now, `,"aud":["`+testAudience+`",1]`, "aud"),
		payload(now, `,"aud":"other"`, "aud"),
		payload(now, `,"exp":1e10`, "exp"),
		payload(now, `,"exp":`+itoa(now.Unix()+60)+`.5`, "exp"),
		payload(now, `,"exp":`+itoa(now.Unix()-3600), "exp"),
		payload(now, `,"nbf":`+itoa(now.Unix()+3600), "nbf"),
		payload(now, `,"iat":`+itoa(now.Unix()+3600), "iat"),
		payload(now, `,"auth_time":`+itoa(now.Unix()-10)),
		payload(now, `,"auth_time":`+itoa(now.Unix()+10)),
		payload(now, `,"exp":`+itoa(now.Add(48*time.Hour).Unix()), "exp"),
		payload(now, `,"iss":"other"`, "iss"),
		payload(now, "", "jti"),
		payload(now, "", "exp"),
		payload(now, `,"readOnly":true,"scope":"a b","client_id":"c","tid":"t"`),
		payload(now, `,"tt":"report","reportId":"r","tid":"rec"`, "tt", "dashboardId"),
		payload(now, `,"tt":"console"`, "tt"),
		payload(now, `,"sub":"a\u0000b"`, "sub"),
		payload(now, `,"dashboardId":"d\r\n"`, "dashboardId"),
		`{}`,
	}
}

// TestFastParseMatchesGolangJWT compares fastParse with golang-jwt's
// ParseWithClaims (the path it replaces on the hot path) over hand-written
// payloads, headers and signatures: same claims, same errors.
func TestFastParseMatchesGolangJWT(t *testing.T) {
	p := newFastPair(t)
	k := testKey(t, keys.EdDSA, "main")
	for _, pl := range fastPayloads() {
		p.requireSame(t, sign(t, k, header(keys.EdDSA, k.KID), pl))
	}
	good := payload(epoch, "")
	for _, h := range []string{
		`{"alg":"EdDSA","kid":"` + k.KID + `"}`,
		`{"kid":"` + k.KID + `","alg":"EdDSA","typ":"JWT","jku":"https://x"}`,
		`{"alg":"EdDSA","kid":"` + k.KID + `","x":1e400}`,
		`{"alg":"EdDSA","kid":"` + k.KID + `","x":{"y":[1]}}`,
		`{"alg":"EdDSA","kid":"` + k.KID + `","x":null}`,
		`{"alg":"Ed\u0044SA","kid":"` + k.KID + `"}`,
	} {
		p.requireSame(t, sign(t, k, h, good))
	}
	for _, alg := range []string{keys.ES256, keys.RS256, keys.HS256} {
		ak := testKey(t, alg, "main")
		p.requireSame(t, sign(t, ak, header(alg, ak.KID), good))
	}
	raw := sign(t, k, header(keys.EdDSA, k.KID), good)
	for _, bad := range []string{
		raw[:len(raw)-1],                                // a signature of an impossible length
		raw[:len(raw)-2] + "AB",                         // a wrong signature
		raw[:len(raw)-1] + "B",                          // stray bits in the last character
		signingInput(raw) + ".AAAA",                     // a short signature
		signingInput(raw) + "." + signingInput(raw)[:8], // another short one
	} {
		p.requireSame(t, bad)
	}
	// Expired, then its claims on the rejection.
	p.fx.clock.Advance(2 * time.Hour)
	p.requireSame(t, raw)
}

// FuzzFastParse is the differential fuzz target of fastParse against
// golang-jwt: mode%3 0 signs the fuzzer's bytes as the payload with a
// loaded key (so decoding is exercised behind a valid signature), 1 signs
// them as the header over a good payload, 2 edits a genuine token of each
// algorithm as FuzzVerifyMutated does. Both paths must answer alike.
func FuzzFastParse(f *testing.F) {
	p := newFastPair(f)
	var genuine []string
	for _, alg := range mutationAlgs {
		k := testKey(f, alg, "main")
		genuine = append(genuine, sign(f, k, header(alg, k.KID), payload(epoch, `,"params":{"a":[1,{"b":null}]}`)))
	}
	k := testKey(f, keys.EdDSA, "main")
	hdr := seg(header(keys.EdDSA, k.KID))
	good := seg(payload(epoch, ""))
	for _, pl := range fastPayloads() {
		f.Add(uint8(0), []byte(pl))
	}
	f.Add(uint8(1), []byte(header(keys.EdDSA, k.KID)))
	f.Add(uint8(1), []byte(`{"alg":"EdDSA","kid":"`+k.KID+`","x":[1e400]}`))
	for i := range mutationAlgs {
		f.Add(uint8(2+3*i), []byte{})
		f.Add(uint8(2+3*i), []byte{3, 200, 1})
		f.Add(uint8(2+3*i), []byte{0, 100, 'A', 3, 101, 0x20})
	}
	f.Fuzz(func(t *testing.T, mode uint8, data []byte) {
		var raw string
		switch mode % 3 {
		case 0:
			raw = signWith(t, jwt.SigningMethodEdDSA, k.Signer, hdr+"."+b64.EncodeToString(data))
		case 1:
			raw = signWith(t, jwt.SigningMethodEdDSA, k.Signer, b64.EncodeToString(data)+"."+good)
		default:
			b := []byte(genuine[int(mode/3)%len(genuine)])
			for i := 0; i+2 < len(data) && len(b) < 2*token.MaxTokenSize; i += 3 {
				op, val := data[i]%4, data[i+2]
				pos := int(data[i+1]) * len(b) / 256
				switch op {
				case 0:
					b[pos] = val
				case 1:
					b = append(b[:pos], append([]byte{val}, b[pos:]...)...)
				case 2:
					b = append(b[:pos], b[pos+1:]...)
				case 3:
					b[pos] ^= val
				}
				if len(b) == 0 {
					break
				}
			}
			raw = string(b)
		}
		p.requireSame(t, raw)
	})
}
