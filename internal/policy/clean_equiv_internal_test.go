package policy

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/sigil-dev/sigil/internal/token"
)

// cleanBefore is Clean as it was before its fast path for paths without
// '%' and its allocation-free segment check: the reference they must match.
func cleanBefore(raw string) (string, bool) {
	if raw == "" || raw[0] != '/' {
		return "", false
	}
	for i := 0; i < len(raw); i++ {
		if b := raw[i]; b <= ' ' || b >= 0x7f || b == '\\' {
			return "", false
		}
	}
	if strings.Contains(raw, "%") {
		lower := strings.ToLower(raw)
		if strings.Contains(lower, "%2f") || strings.Contains(lower, "%5c") || strings.Contains(lower, "%00") {
			return "", false
		}
	}
	dec, err := url.PathUnescape(raw)
	if err != nil || !utf8.ValidString(dec) {
		return "", false
	}
	for i := 0; i < len(dec); i++ {
		if b := dec[i]; b < ' ' || b == 0x7f || b == '\\' {
			return "", false
		}
		if dec[i] == '%' && i+2 < len(dec) && ishex(dec[i+1]) && ishex(dec[i+2]) {
			return "", false
		}
		if dec[i] >= utf8.RuneSelf && utf8.RuneStart(dec[i]) && asciiLookalike(dec[i:]) {
			return "", false
		}
	}
	segs := strings.Split(dec[1:], "/")
	for i, s := range segs {
		if s == "" && i != len(segs)-1 {
			return "", false
		}
		if base, _, _ := strings.Cut(s, ";"); base == "." || base == ".." {
			return "", false
		}
	}
	return dec, true
}

// FuzzCleanMatchesBefore: Clean decides every path as before.
func FuzzCleanMatchesBefore(f *testing.F) {
	for _, s := range []string{
		"/", "//", "/a//", "/a/", "/a/./b", "/a/../b", "/.", "/..", "/..;x", "/a/.;/b", "/a//b", "/a/%2e%2e/b",
		"/a%2fb", "/a b", "/a\\b", "/ä", "/a%C3%A4", "/%ff", "/dashboards/sales/widgets/7", "a", "", "/a;b/c",
		"/a/%252e", "/%EF%BC%8E", "/a/b/", "/;", "/./", "/x/..",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		got, ok := Clean(raw)
		want, wantOK := cleanBefore(raw)
		if got != want || ok != wantOK {
			t.Fatalf("Clean(%q) = %q, %v; before: %q, %v", raw, got, ok, want, wantOK)
		}
	})
}

// FuzzUnderDashboardMatchesReplaceAll: the embed rule's prefix match is
// under(path, the prefix with the dashboard id in it), for prefixes with
// one placeholder or several.
func FuzzUnderDashboardMatchesReplaceAll(f *testing.F) {
	for _, s := range [][3]string{
		{"/dashboards/" + DashboardPlaceholder, "/dashboards/sales/widgets/7", "sales"},
		{"/dashboards/" + DashboardPlaceholder, "/dashboards/sales", "sales"},
		{"/dashboards/" + DashboardPlaceholder, "/dashboards/salesx", "sales"},
		{"/dashboards/" + DashboardPlaceholder, "/dashboards/sale", "sales"},
		{"/d/" + DashboardPlaceholder + "/x/" + DashboardPlaceholder, "/d/a/x/a/b", "a"},
		{"/d/" + DashboardPlaceholder + "/x/" + DashboardPlaceholder, "/d/a/x/b", "a"},
		{"/d/" + DashboardPlaceholder + "-v", "/d/a-v/", "a"},
	} {
		f.Add(s[0], s[1], s[2])
	}
	f.Fuzz(func(t *testing.T, prefix, path, id string) {
		prefix = strings.TrimSuffix(prefix, "/")
		p := &Policy{prefix: prefix, prefixParts: strings.Split(prefix, DashboardPlaceholder)}
		want := under(path, strings.ReplaceAll(prefix, DashboardPlaceholder, id))
		if got := p.underDashboard(path, id); got != want {
			t.Fatalf("underDashboard(%q, %q) with prefix %q = %v, want %v", path, id, prefix, got, want)
		}
	})
}

// methodOverridesBefore is MethodOverrides without its shortcut for
// queries holding neither '_' nor '%'.
func methodOverridesBefore(h http.Header, uri string) []string {
	var out []string
	for _, name := range overrideHeaders {
		for _, v := range h[name] {
			for m := range strings.SplitSeq(v, ",") {
				out = append(out, strings.TrimSpace(m))
			}
		}
	}
	_, q, _ := strings.Cut(uri, "?")
	for k, v := range token.QueryPairs(q) {
		if strings.EqualFold(k, "_method") {
			out = append(out, v)
		}
	}
	return out
}

// FuzzMethodOverridesMatchesBefore: the shortcut finds every override.
func FuzzMethodOverridesMatchesBefore(f *testing.F) {
	for _, s := range []string{
		"/d?lang=de", "/d?_method=DELETE", "/d?_METHOD=put", "/d?%5Fmethod=PATCH", "/d?%5fMethod=x", "/d?a=1;_method=x",
		"/d?x=%zz&_method=y", "/d", "/d?", "/d?method=DELETE", "/d?_\u212Aethod=x", "/d?\uFF3Fmethod=x",
	} {
		f.Add(s, "")
	}
	f.Add("/d?lang=de", "DELETE, PUT")
	f.Fuzz(func(t *testing.T, uri, header string) {
		h := http.Header{}
		if header != "" {
			h["X-Http-Method-Override"] = []string{header}
		}
		got, want := MethodOverrides(h, uri), methodOverridesBefore(h, uri)
		if !slices.Equal(got, want) {
			t.Fatalf("MethodOverrides(%q, %q) = %q, before: %q", header, uri, got, want)
		}
	})
}

// FuzzSegmentIDMatchesBefore: segmentID's byte loop decides every id as
// strings.ContainsAny did.
func FuzzSegmentIDMatchesBefore(f *testing.F) {
	for _, s := range []string{"", ".", "..", "sales", "a/b", "a\\b", "a;b", "a%2e", "...", "ä", "\xff/", "a b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, id string) {
		want := id != "" && id != "." && id != ".." && !strings.ContainsAny(id, "/\\;%")
		if got := segmentID(id); got != want {
			t.Fatalf("segmentID(%q) = %v, before: %v", id, got, want)
		}
	})
}
