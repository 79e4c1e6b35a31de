package token_test

import (
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/sigil-dev/sigil/internal/apperr"
	"github.com/sigil-dev/sigil/internal/keys"
	"github.com/sigil-dev/sigil/internal/token"
)

// mutationAlgs are the algorithms of the genuine tokens FuzzVerifyMutated
// starts from, one token each, picked by the fuzzer's first argument.
var mutationAlgs = []string{keys.EdDSA, keys.ES256, keys.RS256, keys.HS256}

// FuzzVerifyMutated edits a genuinely signed token (one per algorithm) with
// a fuzzer-chosen list of byte edits and checks that Verify, with and
// without the verified-token cache, never panics, agrees with itself, and
// accepts a mutant only when it is the genuine token: byte-identical for
// EdDSA, RS256 and HS256, whose signatures admit one encoding; for ES256,
// whose signatures are malleable, the same header and payload bytes and so
// the same claims.
//
// edits is read three bytes at a time: op, position (mod the length), value.
// op%4: 0 overwrite, 1 insert, 2 delete, 3 xor.
func FuzzVerifyMutated(f *testing.F) {
	ctx := context.Background()
	type genuine struct {
		raw    string
		claims *token.Claims
	}
	var tokens []genuine
	var fx *fixture
	var cached *token.Verifier
	for _, alg := range mutationAlgs {
		fx = newFixture(f, testKey(f, alg, "main"))
		raw, _ := fx.mint(f, embedClaims(), 24*time.Hour)
		c, err := fx.verifier.Verify(ctx, raw)
		if err != nil {
			f.Fatalf("genuine %s token rejected: %v", alg, err)
		}
		tokens = append(tokens, genuine{raw: raw, claims: c})
	}
	// Every fixture shares the test keys and the clock's start, so the last
	// fixture's verifiers accept every genuine token.
	cached = token.NewVerifier(token.VerifierConfig{
		Issuer: testIssuer, Audience: testAudience, Keys: fx.ring, Now: fx.clock.Now, CacheSize: 64,
	})
	for _, g := range tokens {
		if _, err := cached.Verify(ctx, g.raw); err != nil {
			f.Fatalf("cached verifier rejected a genuine token: %v", err)
		}
	}

	for i := range mutationAlgs {
		f.Add(uint8(i), []byte{})            // the genuine token itself
		f.Add(uint8(i), []byte{3, 200, 1})   // flip a low bit near the end (signature)
		f.Add(uint8(i), []byte{0, 0, 'X'})   // header's first byte
		f.Add(uint8(i), []byte{1, 40, '.'})  // an extra segment separator
		f.Add(uint8(i), []byte{2, 255, 0})   // drop a byte
		f.Add(uint8(i), []byte{1, 255, '='}) // padding
		f.Add(uint8(i), []byte{0, 100, 'A', 3, 101, 0x20})
	}

	f.Fuzz(func(t *testing.T, which uint8, edits []byte) {
		g := tokens[int(which)%len(tokens)]
		b := []byte(g.raw)
		for i := 0; i+2 < len(edits) && len(b) < 2*token.MaxTokenSize; i += 3 {
			op, val := edits[i]%4, edits[i+2]
			pos := 0
			if len(b) > 0 {
				pos = int(edits[i+1]) * len(b) / 256
			}
			switch op {
			case 0:
				if len(b) > 0 {
					b[pos] = val
				}
			case 1:
				b = append(b[:pos], append([]byte{val}, b[pos:]...)...)
			case 2:
				if len(b) > 0 {
					b = append(b[:pos], b[pos+1:]...)
				}
			case 3:
				if len(b) > 0 {
					b[pos] ^= val
				}
			}
		}
		raw := string(b)
		c1, err1 := fx.verifier.Verify(ctx, raw)
		c2, err2 := cached.Verify(ctx, raw)
		if (err1 == nil) != (err2 == nil) {
			t.Fatalf("cached and uncached verifiers disagree on %q: %v / %v", raw, err1, err2)
		}
		if err1 != nil {
			if !errors.Is(err1, token.ErrInvalidToken) || !errors.Is(err2, token.ErrInvalidToken) {
				t.Fatalf("a malformed token gave a non-token error: %v / %v", err1, err2)
			}
			if c1 != nil || c2 != nil {
				t.Fatal("claims returned with an error")
			}
			return
		}
		if raw == g.raw {
			return
		}
		alg := mutationAlgs[int(which)%len(mutationAlgs)]
		if alg != keys.ES256 {
			t.Fatalf("%s: accepted a mutant of a genuine token: %q (genuine %q)", alg, raw, g.raw)
		}
		if signingInput(raw) != signingInput(g.raw) {
			t.Fatalf("ES256: accepted a mutant with other header or payload bytes: %q", raw)
		}
		if !reflect.DeepEqual(c1, g.claims) || !reflect.DeepEqual(c2, g.claims) {
			t.Fatalf("ES256: a mutant verified with other claims: %+v", c1)
		}
	})
}

func signingInput(raw string) string {
	i := strings.LastIndexByte(raw, '.')
	if i < 0 {
		return raw
	}
	return raw[:i]
}

// FuzzValidateParams decodes any bytes as the params member of a mint
// request would be decoded and checks ValidateParams: it never panics; a
// rejection is an invalid_request naming "params" or a field under it; and
// whatever it accepts fits the limits and survives minting and verifying
// unchanged (no params the validator passes make an unverifiable token).
func FuzzValidateParams(f *testing.F) {
	fx := newFixture(f, testKey(f, keys.EdDSA, "main"))
	for _, s := range []string{
		`{}`,
		`{"locale":"de-DE","currency":"EUR","n":3.5,"on":true}`,
		`{"currencyFormat":{"locale":"fr-CH","currency":"CHF"}}`,
		`{"currencyFormat":{"locale":"fr-CH","currency":"CHF","x":1}}`,
		`{"locale":"x-private"}`,
		`{"locale":"und"}`,
		`{"locale":"de_DE"}`,
		`{"currency":"eur"}`,
		`{"currency":"XXY"}`,
		`{"big":1e400}`,
		`{"big":123456789012345678901234567890}`,
		`{"nested":{"a":1}}`,
		`{"list":[1,2]}`,
		`{"nil":null}`,
		`{"":1}`,
		`{"k\u0000":"v"}`,
		`{"s":"` + strings.Repeat("\\u00ff", 700) + `"}`,
		`{"emoji":"🙂","ü":"ß"}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		var p map[string]any
		dec := json.NewDecoder(strings.NewReader(string(in)))
		dec.UseNumber()
		if dec.Decode(&p) != nil {
			return
		}
		err := token.ValidateParams(p)
		if err != nil {
			requireInvalidUnder(t, err, "params")
			return
		}
		if len(p) > token.MaxParams {
			t.Fatalf("accepted %d keys", len(p))
		}
		if b, err := json.Marshal(p); err != nil || len(b) > token.MaxParamsBytes {
			t.Fatalf("accepted params of %d bytes (%v)", len(b), err)
		}
		c := embedClaims()
		c.Params, c.SecurityPolicies = p, nil
		requireRoundTrip(t, fx, c)
	})
}

// FuzzValidatePolicies is FuzzValidateParams for securityPolicies.
func FuzzValidatePolicies(f *testing.F) {
	fx := newFixture(f, testKey(f, keys.EdDSA, "main"))
	for _, s := range []string{
		`[]`,
		`[{"name":"region","params":{"region":"EU"}}]`,
		`[{"name":"r","params":{"a":1,"b":true,"c":"x"}},{"name":"s"}]`,
		`[{"name":""}]`,
		`[{"params":{"a":1}}]`,
		`[{"name":"r","params":{"a":{"b":1}}}]`,
		`[{"name":"r","params":{"a":[1]}}]`,
		`[{"name":"r","params":{"":1}}]`,
		`[{"name":"r","params":{"n":1e999}}]`,
		`[{"name":"` + strings.Repeat("n", 129) + `"}]`,
		`[{"name":"\ud800"}]`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		var ps []token.Policy
		dec := json.NewDecoder(strings.NewReader(string(in)))
		dec.UseNumber()
		if dec.Decode(&ps) != nil {
			return
		}
		err := token.ValidatePolicies(ps)
		if err != nil {
			requireInvalidUnder(t, err, "securityPolicies")
			return
		}
		if len(ps) > token.MaxPolicies {
			t.Fatalf("accepted %d policies", len(ps))
		}
		c := embedClaims()
		c.Params, c.SecurityPolicies = nil, ps
		if len(ps) == 0 {
			c.SecurityPolicies = nil
		}
		requireRoundTrip(t, fx, c)
	})
}

// requireInvalidUnder fails unless err is an invalid_request whose field is
// root or a path under it.
func requireInvalidUnder(t *testing.T, err error, root string) {
	t.Helper()
	ae, ok := apperr.As(err)
	if !ok || ae.Code != apperr.CodeInvalid {
		t.Fatalf("rejection is not an invalid_request: %v", err)
	}
	if ae.Field != root && !strings.HasPrefix(ae.Field, root+".") && !strings.HasPrefix(ae.Field, root+"[") {
		t.Fatalf("rejection names field %q, want %s or under it", ae.Field, root)
	}
}

// requireRoundTrip mints c and verifies it: the params and policies read
// back equal what was minted (as JSON, since empty maps are omitted).
func requireRoundTrip(t *testing.T, fx *fixture, c token.Claims) {
	t.Helper()
	raw, _, err := fx.issuer.Mint(c, time.Hour)
	if err != nil {
		t.Fatalf("validated claims could not be minted: %v", err)
	}
	got, err := fx.verifier.Verify(context.Background(), raw)
	if err != nil {
		t.Fatalf("validated claims made a token that does not verify: %v", err)
	}
	if len(c.Params) == 0 {
		c.Params = nil // omitted when empty
	}
	want, _ := json.Marshal([]any{c.Params, c.SecurityPolicies})
	have, _ := json.Marshal([]any{got.Params, got.SecurityPolicies})
	if string(want) != string(have) {
		t.Fatalf("claims changed through mint and verify:\nminted   %s\nverified %s", want, have)
	}
}
