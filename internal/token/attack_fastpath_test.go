package token_test

import (
	"context"
	"crypto/elliptic"
	"math/big"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/stretchr/testify/require"

	"github.com/sigil-dev/sigil/internal/keys"
	"github.com/sigil-dev/sigil/internal/token"
)

// TestFastParse_AttackPayloads are the parser differentials an attacker
// tries against fastParse (claims built from the strict scanner) and
// golang-jwt's encoding/json: Unicode case folding of claim names
// (U+017F folds to 's', U+212A to 'k' in encoding/json's matching), escaped
// and repeated names, number spellings, surrogates, white space and a BOM,
// each behind a valid signature. Both paths must answer alike.
func TestFastParse_AttackPayloads(t *testing.T) {
	p := newFastPair(t)
	k := testKey(t, keys.EdDSA, "main")
	now := epoch
	for _, pl := range []string{
		payload(now, `,"cſt":"tag"`),
		payload(now, `,"c\u017ft":"tag"`),
		payload(now, `,"CST":"a","cst":"b"`),
		payload(now, `,"cst":"a","cst":"b"`),
		payload(now, `,"iſs":"other"`),
		payload(now, `,"\u017fub":"root"`),
		payload(now, `,"ſcope":"admin"`),
		payload(now, `,"dashboardıd":"other"`),
		payload(now, `,"tıd":"rec"`),
		payload(now, `,"readOnly":false`),
		payload(now, `,"readOnly":null`),
		payload(now, `,"params":{"K":"a","k":"b","\u212a":"c"}`),
		payload(now, `,"params":{"a":1,"a":2}`),
		payload(now, `,"params":{"n":-0,"f":1.0,"e":1E+3,"big":123456789012345678901234567890}`),
		payload(now, `,"params":{"s":"\ud800"}`),
		payload(now, `,"params":{"s":"\udc00\ud800"}`),
		payload(now, `,"params":{"s":"\u0000"}`),
		payload(now, `,"securityPolicies":[{"name":"a","name":"b"}]`),
		payload(now, `,"securityPolicies":[{"params":{"x":1},"params":{"y":2},"name":"r"}]`),
		payload(now, `,"securityPolicies":[{"name":"r"},null]`),
		payload(now, `,"sub":"\ud83d\ude42"`),
		payload(now, `,"sub":"\u00e9"`),
		payload(now, `,"iss":"`+testIssuer+`\u0000"`, "iss"),
		payload(now, `,"iss":"`+strings.ToUpper(testIssuer)+`"`, "iss"),
		payload(now, `,"aud":""`, "aud"),
		payload(now, `,"aud":[""]`, "aud"),
		payload(now, `,"aud":[null]`, "aud"),
		payload(now, `,"aud":["x","`+testAudience+`"]`, "aud"),
		payload(now, `,"aud":"`+testAudience+`\u0000"`, "aud"),
		payload(now, `,"exp":"`+itoa(now.Unix()+60)+`"`, "exp"),
		payload(now, `,"exp":-0`, "exp"),
		payload(now, `,"exp":`+itoa(now.Unix()+60)+`.0`, "exp"),
		payload(now, `,"exp":`+itoa(now.Unix()+60)+`e0`, "exp"),
		payload(now, `,"exp":1e3`, "exp"),
		payload(now, `,"exp":99999999999`, "exp"),
		payload(now, `,"exp":100000000000`, "exp"),
		payload(now, `,"nbf":`+itoa(now.Unix()+int64(token.DefaultLeeway/time.Second)), "nbf"),
		payload(now, `,"nbf":`+itoa(now.Unix()+int64(token.DefaultLeeway/time.Second)+1), "nbf"),
		payload(now, `,"iat":`+itoa(now.Unix()+int64(token.DefaultLeeway/time.Second)), "iat"),
		payload(now, `,"iat":`+itoa(now.Unix()+int64(token.DefaultLeeway/time.Second)+1), "iat"),
		payload(now, `,"iat":`+itoa(now.Unix())+`.999999999`, "iat"),
		payload(now, `,"auth_time":null`),
		"\ufeff" + payload(now, ""),
		" \t\r\n" + payload(now, "") + " \t\r\n",
		payload(now, "") + "\x00",
		payload(now, "") + "{}",
		strings.Replace(payload(now, ""), `":`, `" : `, -1),
	} {
		p.requireSame(t, sign(t, k, header(keys.EdDSA, k.KID), pl))
	}
	good := payload(now, "")
	for _, h := range []string{
		`{"alg":"EdDSA","kid":"` + k.KID + `","k\u0069d":"other"}`,
		`{"alg":"EdDSA","kid":"` + k.KID + `","KID":"other"}`,
		`{"alg":"EdDSA","kid":"` + k.KID + `","\u212aid":"other"}`,
		`{"alg":"EdDSA","kid":"` + k.KID + `","ALG":"none"}`,
		`{"alg":"EdDSA","kid":"` + k.KID + `","alg":"ES256"}`,
		`{"alg":"EdDSA ","kid":"` + k.KID + `"}`,
		`{"alg":"eddsa","kid":"` + k.KID + `"}`,
		`{"alg":"EdDSA","kid":"` + k.KID + `","typ":"jwt"}`,
		`{"alg":"EdDSA","kid":"` + k.KID + `","typ":"JWT\u0000"}`,
		`{"alg":"EdDSA","kid":"` + k.KID + `\u0000"}`,
		`{"alg":"EdDSA","kid":"` + strings.ToUpper(k.KID) + `"}`,
		`{"alg":"EdDSA","kid":"` + escapeAll(k.KID) + `"}`,
		`{"alg":"EdDSA","kid":"` + k.KID + `","cty":"JWT"}`,
		`{"alg":"EdDSA","kid":"` + k.KID + `","b64":false}`,
		"\ufeff" + `{"alg":"EdDSA","kid":"` + k.KID + `"}`,
		` {"alg":"EdDSA","kid":"` + k.KID + `"} `,
	} {
		p.requireSame(t, sign(t, k, h, good))
	}
	// A token signed with another loaded key under this one's kid, and an
	// HS256 token whose secret is the EdDSA key's public bytes (alg confusion).
	es := testKey(t, keys.ES256, "main")
	p.requireSame(t, sign(t, es, header(keys.ES256, k.KID), good))
	p.requireSame(t, sign(t, es, header(keys.EdDSA, es.KID), good))
	hs := signWith(t, jwt.SigningMethodHS256, []byte(k.KID), seg(`{"alg":"HS256","kid":"`+k.KID+`"}`)+"."+seg(good))
	p.requireSame(t, hs)
}

// escapeAll writes every character of s as a \u escape.
func escapeAll(s string) string {
	var b strings.Builder
	for _, r := range s {
		b.WriteString(`\u00`)
		b.WriteString("0123456789abcdef"[r>>4 : r>>4+1])
		b.WriteString("0123456789abcdef"[r&15 : r&15+1])
	}
	return b.String()
}

// TestCache_NeverChangesTheVerdict: once a genuine token is cached, every
// other text with its header and payload (another signature, a
// non-canonical spelling of its signature, the signature with bytes
// added, an ES256 signature malleated to n-s) gets the verdict the uncached
// golang-jwt path gives it; a cache hit never stands in for a verification.
// Also at the lifetime's edges (nbf, exp and the leeway around them). With
// the real hash and with every token forced under one key.
func TestCache_NeverChangesTheVerdict(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		alg     string
		collide bool
	}{{keys.ES256, false}, {keys.EdDSA, false}, {keys.ES256, true}, {keys.EdDSA, true}} {
		alg := tc.alg
		name := alg
		if tc.collide {
			name += "/EveryTokenUnderOneKey"
		}
		t.Run(name, func(t *testing.T) {
			if tc.collide {
				// The worst case: every variant sits under the genuine entry's key.
				defer token.ForceCacheHash(func(string) uint64 { return 7 })()
			}
			k := testKey(t, alg, "main")
			f := newFixture(t, k, withCache(100, nil))
			oracle := token.NewGolangJWTVerifier(token.VerifierConfig{Issuer: testIssuer, Audience: testAudience, Keys: f.ring, Now: f.clock.Now})
			same := func(raw, what string) {
				t.Helper()
				c1, err1 := f.verifier.Verify(ctx, raw)
				c2, err2 := oracle.Verify(ctx, raw)
				require.Equal(t, err2 == nil, err1 == nil, "%s: cached %v, golang-jwt %v", what, err1, err2)
				if err1 == nil {
					require.True(t, reflect.DeepEqual(c1, c2), "%s: claims differ", what)
				} else {
					require.Equal(t, token.Reason(err2), token.Reason(err1), what)
				}
			}
			raw := sign(t, k, header(alg, k.KID), payload(epoch, ""))
			_, err := f.verifier.Verify(ctx, raw)
			require.NoError(t, err)
			input, sig, _ := strings.Cut(raw[strings.IndexByte(raw, '.')+1:], ".")
			input = raw[:strings.IndexByte(raw, '.')+1] + input
			const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
			last := alphabet[strings.IndexByte(alphabet, sig[len(sig)-1])^1] // a spare bit set
			variants := map[string]string{
				"StrayBits":       input + "." + sig[:len(sig)-1] + string(last),
				"Padded":          raw + "=",
				"PaddedTwice":     raw + "==",
				"TrailingDot":     raw + ".",
				"ExtraSegment":    raw + "." + sig,
				"ExtraChar":       raw + "A",
				"Truncated":       raw[:len(raw)-1],
				"StdAlphabet":     strings.NewReplacer("-", "+", "_", "/").Replace(raw),
				"LeadingSpace":    " " + raw,
				"TrailingNewline": raw + "\n",
				"ZeroSignature":   input + "." + strings.Repeat("A", len(sig)),
				"OtherTokensSig":  input + "." + sig[:len(sig)-4] + "AAAA",
				"Empty":           input + ".",
			}
			if alg == keys.ES256 {
				// A second genuine signature (ECDSA is randomised) and the
				// first one malleated: s -> n-s.
				variants["Resigned"] = signWith(t, jwt.SigningMethodES256, k.SigningKey(), input)
				variants["Malleated"] = input + "." + malleate(t, sig)
			}
			for name, v := range variants {
				if v == raw {
					continue
				}
				same(v, name)
				same(raw, name+"/GenuineStillCached")
				if name == "Resigned" || name == "Malleated" {
					_, err := f.verifier.Verify(ctx, v)
					require.NoError(t, err, "%s: another genuine signature is verified, not refused", name)
				}
			}
			// Lifetime edges: now is epoch, nbf = epoch, exp = epoch+1h.
			_, err = f.verifier.Verify(ctx, raw)
			require.NoError(t, err, "the genuine token is still accepted")
			for _, at := range []time.Duration{
				-token.DefaultLeeway - time.Nanosecond, -token.DefaultLeeway, -time.Nanosecond,
				time.Hour - time.Nanosecond, time.Hour, time.Hour + token.DefaultLeeway - time.Nanosecond,
				time.Hour + token.DefaultLeeway, time.Hour + token.DefaultLeeway + time.Second,
			} {
				f.clock.Set(epoch.Add(at))
				same(raw, "at "+at.String())
				same(raw, "at "+at.String()+" again")
			}
		})
	}
}

// malleate returns the ES256 signature seg (r||s, base64url) with s
// replaced by n-s: another encoding of a valid signature.
func malleate(t *testing.T, seg string) string {
	t.Helper()
	b, err := b64.DecodeString(seg)
	require.NoError(t, err)
	require.Len(t, b, 64)
	s := new(big.Int).SetBytes(b[32:])
	s.Sub(elliptic.P256().Params().N, s)
	out := append([]byte{}, b[:32]...)
	out = append(out, s.FillBytes(make([]byte, 32))...)
	return b64.EncodeToString(out)
}

// FuzzCacheNeverChangesVerdict: edits of a cached genuine token (every
// token forced under the genuine one's cache key) get the uncached
// golang-jwt path's verdict, and the genuine token stays a hit.
func FuzzCacheNeverChangesVerdict(f *testing.F) {
	defer token.ForceCacheHash(func(string) uint64 { return 7 })()
	k := testKey(f, keys.ES256, "main")
	fx := newFixture(f, k, withCache(100, nil))
	oracle := token.NewGolangJWTVerifier(token.VerifierConfig{Issuer: testIssuer, Audience: testAudience, Keys: fx.ring, Now: fx.clock.Now})
	genuine := sign(f, k, header(keys.ES256, k.KID), payload(epoch, `,"params":{"a":"b"}`))
	ctx := context.Background()
	f.Add([]byte{})
	f.Add([]byte{0, 255, 'A'})
	f.Add([]byte{1, 255, '.'})
	f.Add([]byte{2, 128, 0})
	f.Fuzz(func(t *testing.T, data []byte) {
		c0, err := fx.verifier.Verify(ctx, genuine)
		require.NoError(t, err)
		b := []byte(genuine)
		for i := 0; i+2 < len(data) && len(b) > 0 && len(b) < 2*token.MaxTokenSize; i += 3 {
			op, val := data[i]%3, data[i+2]
			pos := int(data[i+1]) * len(b) / 256
			switch op {
			case 0:
				b[pos] = val
			case 1:
				b = append(b[:pos], append([]byte{val}, b[pos:]...)...)
			case 2:
				b = append(b[:pos], b[pos+1:]...)
			}
		}
		raw := string(b)
		c1, err1 := fx.verifier.Verify(ctx, raw)
		c2, err2 := oracle.Verify(ctx, raw)
		require.Equal(t, err2 == nil, err1 == nil, "cached %v, golang-jwt %v", err1, err2)
		if err1 == nil {
			require.True(t, reflect.DeepEqual(c1, c2), "claims differ")
		}
		c3, err := fx.verifier.Verify(ctx, genuine)
		require.NoError(t, err)
		require.True(t, reflect.DeepEqual(c0, c3))
	})
}

// TestFastParse_LengthEdges: tokens around MaxCachedTokenSize and
// MaxTokenSize (the fast shape check's bound) get the same verdict and
// claims from fastParse, from golang-jwt and from a caching verifier (twice:
// a miss, then a hit when it is cached).
func TestFastParse_LengthEdges(t *testing.T) {
	ctx := context.Background()
	p := newFastPair(t)
	k := testKey(t, keys.EdDSA, "main")
	cached := token.NewVerifier(token.VerifierConfig{Issuer: testIssuer, Audience: testAudience, Keys: p.fx.ring, Now: p.fx.clock.Now, CacheSize: 100})
	want := map[int]bool{}
	for _, n := range []int{token.MaxCachedTokenSize, token.MaxTokenSize} {
		for d := -2; d <= 2; d++ {
			want[n+d] = true
		}
	}
	hit := map[int]bool{}
	for pad := token.MaxCachedTokenSize*3/4 - 400; pad < token.MaxTokenSize*3/4; pad++ {
		raw := sign(t, k, header(keys.EdDSA, k.KID), payload(epoch, `,"pad":"`+strings.Repeat("x", pad)+`"`))
		if !want[len(raw)] || hit[len(raw)] {
			continue
		}
		hit[len(raw)] = true
		p.requireSame(t, raw)
		for range 2 {
			c1, err1 := cached.Verify(ctx, raw)
			c2, err2 := p.slow.Verify(ctx, raw)
			require.Equal(t, err2 == nil, err1 == nil, "%d bytes: cached %v, golang-jwt %v", len(raw), err1, err2)
			require.True(t, reflect.DeepEqual(c1, c2), "%d bytes", len(raw))
		}
		if len(raw) > token.MaxTokenSize {
			_, err := p.fast.Verify(ctx, raw)
			require.ErrorIs(t, err, token.ErrMalformed, "%d bytes", len(raw))
		} else {
			_, err := p.fast.Verify(ctx, raw)
			require.NoError(t, err, "%d bytes", len(raw))
		}
	}
	require.True(t, hit[token.MaxTokenSize] || hit[token.MaxTokenSize-1], "a token at the limit was tried")
	require.True(t, hit[token.MaxTokenSize+1] || hit[token.MaxTokenSize+2], "a token past the limit was tried")
}
