package httpapi

import (
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
