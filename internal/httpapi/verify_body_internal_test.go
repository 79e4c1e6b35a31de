package httpapi

import (
	"encoding/base64"
	"encoding/json"
	"testing"
)

// The hand-written verify body must be the document encoding/json writes.
func checkVerifyBody(t *testing.T, sub, kind, scope, resource string, exp int64) {
	t.Helper()
	want, err := json.Marshal(verifyResponse{Active: true, Subject: sub, Kind: kind, Scope: scope, Resource: resource, Exp: exp})
	if err != nil {
		t.Fatal(err)
	}
	got := appendVerifyBody(nil, sub, kind, scope, resource, exp)
	if string(got) != string(want)+"\n" {
		t.Fatalf("appendVerifyBody(%q, %q, %q, %q, %d)\n got %s\nwant %s", sub, kind, scope, resource, exp, got, want)
	}
}

func TestAppendVerifyBody(t *testing.T) {
	for _, s := range []string{
		"", "user-42", `quote " and \ backslash`, "tab\tnewline\nreturn\r", "\x00\x01\x1f\x7f",
		"<script>&amp;</script>", "line\u2028sep\u2029para", "\u20ac euro \u2027 \u202a", "日本語 ✓", "\xe2\x80", "bad \xff\xfe utf-8 \xe2\x28\xa1",
	} {
		checkVerifyBody(t, s, "embed", s, "dashboard:"+s, 1767225600)
	}
	checkVerifyBody(t, "", "api", "", "api:alice", 0)
	checkVerifyBody(t, "bob", "report", "meta:read report:read", "report:q3", -1)
}

func FuzzAppendVerifyBody(f *testing.F) {
	f.Add("user-42", "dashboard:view", "dashboard:sales", int64(1767225600))
	f.Add("\u2028\"<&>", "", "\x00", int64(0))
	f.Fuzz(func(t *testing.T, sub, scope, resource string, exp int64) {
		checkVerifyBody(t, sub, "embed", scope, resource, exp)
	})
}

// The hand-written params header must be what encoding/json would give.
func checkHeaderJSON(t *testing.T, v any) {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := encodeHeaderJSON(v), base64.RawURLEncoding.EncodeToString(b); got != want {
		g, _ := base64.RawURLEncoding.DecodeString(got)
		t.Fatalf("encodeHeaderJSON(%#v)\n got %s\nwant %s", v, g, b)
	}
}

func TestEncodeHeaderJSON(t *testing.T) {
	for _, v := range []any{
		map[string]any{"locale": "de-DE", "currency": "EUR"},
		map[string]any{"b": true, "a": false, "n": nil, "x": json.Number("-1.5e+10"), "z": json.Number("0")},
		map[string]any{"currencyFormat": map[string]any{"locale": "de-DE", "currency": "EUR"}, "ü": "<&>\u2028"},
		map[string]any{"list": []any{"a", json.Number("1")}, "f": 1.5}, // encoding/json's own way
		map[string]any{"deep": map[string]any{"a": map[string]any{"b": map[string]any{"c": map[string]any{"d": map[string]any{"e": "f"}}}}}},
		[]map[string]any{{"name": "region", "params": map[string]any{"region": "EU"}}},
		map[string]any{},
	} {
		checkHeaderJSON(t, v)
	}
	// An invalid json.Number never goes out as written (encoding/json refuses it).
	for _, n := range []string{"", " 1", "01", "1.", ".5", "1e", "+1", "0x10", "NaN", `"1"`, "1 "} {
		if isJSONNumber(n) {
			t.Errorf("isJSONNumber(%q) = true", n)
		}
	}
	for _, n := range []string{"0", "-0", "1", "-12.5", "1e9", "1E-9", "6.02e+23"} {
		if !isJSONNumber(n) {
			t.Errorf("isJSONNumber(%q) = false", n)
		}
	}
}

func FuzzEncodeHeaderJSON(f *testing.F) {
	f.Add("locale", "de-DE", "n", "12.50", "nested", "x", true)
	f.Add("\u2028", "<>", "", "-0", "a\x00", "\xff", false)
	f.Fuzz(func(t *testing.T, k1, v1, k2, num, k3, v3 string, flag bool) {
		m := map[string]any{k1: v1, k3: map[string]any{k1: flag, k2: v3}}
		if isJSONNumber(num) {
			m[k2] = json.Number(num)
		}
		checkHeaderJSON(t, m)
	})
}
