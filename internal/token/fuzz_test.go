package token_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/golang-jwt/jwt/v5"

	"github.com/sigil-dev/sigil/internal/keys"
	"github.com/sigil-dev/sigil/internal/token"
)

// FuzzVerify checks that Verify never panics and accepts nothing but the
// exact bytes of a token this test signed with a loaded key. The signing
// key is Ed25519, whose signatures are not malleable (ECDSA's are).
func FuzzVerify(f *testing.F) {
	fx := newFixture(f, testKey(f, keys.EdDSA, "main"))
	ctx := context.Background()
	signed := map[string]bool{}

	for _, c := range []token.Claims{
		embedClaims(),
		{RegisteredClaims: jwt.RegisteredClaims{Subject: "owner"}, Kind: token.KindReport, ReportID: "r1", TID: "rec-r1"},
		{Kind: token.KindAppView, AppID: "a1", TID: "rec-a1"},
		{RegisteredClaims: jwt.RegisteredClaims{Subject: "owner"}, Kind: token.KindAPI, Scope: "meta:read report:read", TID: "rec-api"},
	} {
		raw, _ := fx.mint(f, c, 24*time.Hour)
		signed[raw] = true
		f.Add(raw)
	}
	// The attack table's tokens; the valid ones among them were signed by
	// the test with a loaded key.
	for _, a := range attacks() {
		raw := a.build(f, fx)
		if _, err := fx.verifier.Verify(ctx, raw); err == nil {
			signed[raw] = true
		}
		if len(raw) <= 2*token.MaxTokenSize {
			f.Add(raw)
		}
	}
	f.Add("")
	f.Add("..")
	f.Add("a.b.c")
	f.Add("eyJhbGciOiJub25lIn0.e30.")

	f.Fuzz(func(t *testing.T, raw string) {
		c, err := fx.verifier.Verify(ctx, raw)
		if err != nil {
			if c != nil {
				t.Fatal("claims returned with an error")
			}
			if token.Reason(err) == "unavailable" {
				t.Fatalf("non-token error: %v", err)
			}
			return
		}
		if !signed[raw] {
			t.Fatalf("accepted a token the test did not sign: %q", raw)
		}
		// Whatever it accepts also passes the expiry-ignoring pipeline.
		if _, err := fx.verifier.VerifyIgnoringExpiry(ctx, raw); err != nil {
			t.Fatalf("VerifyIgnoringExpiry rejected a token Verify accepted: %v", err)
		}
	})
}

// FuzzVerifyPayload signs arbitrary payload bytes with a loaded key, so the
// strict payload checks are exercised behind a valid signature, and checks
// them against encoding/json: whatever VerifyIgnoringExpiry accepts is valid
// UTF-8 JSON with no duplicate or case-variant member names at any level
// and sane exp/nbf/iat.
func FuzzVerifyPayload(f *testing.F) {
	k := testKey(f, keys.EdDSA, "main")
	fx := newFixture(f, k)
	ctx := context.Background()
	hdr := seg(header(keys.EdDSA, k.KID))

	for _, pl := range []string{
		payload(epoch, ""),
		payload(epoch, `,"params":{"locale":"de-DE","currencyFormat":{"locale":"de-DE","currency":"EUR"}}`),
		payload(epoch, `,"securityPolicies":[{"name":"r","params":{"region":"EU"}}]`),
		payload(epoch, `,"EXP":1`),
		payload(epoch, `,"params":{"a\u00e9":1,"A\u00c9":2}`),
		payload(epoch, `,"tt":"report","reportId":"r"`, "tt", "exp", "dashboardId"),
		payload(epoch, `,"exp":1e10`, "exp"),
	} {
		f.Add([]byte(pl))
	}

	f.Fuzz(func(t *testing.T, pl []byte) {
		raw := signWith(t, jwt.SigningMethodEdDSA, k.Signer, hdr+"."+b64.EncodeToString(pl))
		c, err := fx.verifier.VerifyIgnoringExpiry(ctx, raw)
		if err != nil {
			if token.Reason(err) == "unavailable" {
				t.Fatalf("non-token error: %v", err)
			}
			return
		}
		if c == nil || !utf8.Valid(pl) || !json.Valid(pl) {
			t.Fatalf("accepted invalid JSON %q", pl)
		}
		if name, dup := foldDuplicate(t, pl); dup {
			t.Fatalf("accepted duplicate member %q in %q", name, pl)
		}
		// Numbers as written: an unknown claim may hold one beyond float64
		// (1e700), which the pipeline rightly ignores.
		var m map[string]any
		dec := json.NewDecoder(bytes.NewReader(pl))
		dec.UseNumber()
		if err := dec.Decode(&m); err != nil {
			t.Fatalf("accepted %q: %v", pl, err)
		}
		for name := range m {
			for _, claim := range []string{"exp", "nbf", "iat", "iss", "aud", "sub", "jti", "tt", "dashboardId", "reportId", "appId"} {
				if name != claim && strings.EqualFold(name, claim) {
					t.Fatalf("accepted case-variant claim %q", name)
				}
			}
		}
		for _, claim := range []string{"exp", "nbf", "iat"} {
			if v, ok := m[claim]; ok {
				num, isNum := v.(json.Number)
				n, err := num.Float64()
				if !isNum || err != nil || n <= 0 || n >= 1e11 {
					t.Fatalf("accepted %s = %v", claim, v)
				}
			}
		}
	})
}

// foldDuplicate reports a member name that equals an earlier one of the same
// object under Unicode simple case folding, as encoding/json matches names.
func foldDuplicate(t *testing.T, pl []byte) (string, bool) {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(pl))
	dec.UseNumber() // numbers beyond float64 are still JSON
	type frame struct {
		object bool
		names  []string
		key    bool // the next token in this object is a name
	}
	var stack []*frame
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			return "", false
		}
		if err != nil {
			t.Fatalf("tokenize %q: %v", pl, err)
		}
		var top *frame
		if len(stack) > 0 {
			top = stack[len(stack)-1]
		}
		if name, ok := tok.(string); ok && top != nil && top.object && top.key {
			for _, n := range top.names {
				if strings.EqualFold(n, name) {
					return name, true
				}
			}
			top.names = append(top.names, name)
			top.key = false
			continue
		}
		switch tok {
		case json.Delim('{'):
			stack = append(stack, &frame{object: true, key: true})
			continue
		case json.Delim('['):
			stack = append(stack, &frame{})
			continue
		case json.Delim('}'), json.Delim(']'):
			stack = stack[:len(stack)-1]
		}
		// A value ended: the enclosing object expects a name next.
		if len(stack) > 0 && stack[len(stack)-1].object {
			stack[len(stack)-1].key = true
		}
	}
}
