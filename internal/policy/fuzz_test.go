package policy_test

import (
	"net/http"
	"net/url"
	"path"
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/golang-jwt/jwt/v5"
	"golang.org/x/text/unicode/norm"

	"github.com/sigil-dev/sigil/internal/policy"
	"github.com/sigil-dev/sigil/internal/token"
)

var escapeRE = regexp.MustCompile(`%[0-9A-Fa-f]{2}`)

// FuzzClean checks policy.Clean on any request path: it never panics, and
// a path it accepts is one that sigil and an upstream cannot read
// differently — absolute, valid UTF-8 without control characters or
// backslashes, no escape left in it (double encoding), no empty or dot
// segment (with or without a ;parameter), no character whose NFKC form
// holds ASCII (full-width ．／ and letters), already what path.Clean makes
// of it (but for a trailing slash), and read the same once escaped again.
func FuzzClean(f *testing.F) {
	for _, s := range []string{
		"/", "/dashboards/d1", "/dashboards/d1/", "/a/./b", "/a/../b", "/a//b", "/a/%2e%2e/b", "/a/%2E./b",
		"/a/..;x/b", "/a/%2fb", "/a/%5cb", "/a%00", "/a/%252e%252e", "/a/%zz", "/ä", "/a%C3%A4", "/%ff",
		"/a\\b", "a/b", "", "/a?b", "/a#b", "/view/-/x", "/api/reports/r1/../r2",
		"/a/%EF%BC%8E%EF%BC%8E/b", "/a%EF%BC%8Fb", "/a%EF%BC%BCb", "/%EF%BD%81", "/caf%C3%A9", "/%E6%97%A5",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		p, ok := policy.Clean(raw)
		if !ok {
			return
		}
		switch {
		case !strings.HasPrefix(p, "/"):
			t.Fatalf("Clean(%q) = %q: not absolute", raw, p)
		case !utf8.ValidString(p):
			t.Fatalf("Clean(%q) = %q: invalid UTF-8", raw, p)
		case strings.ContainsFunc(p, func(r rune) bool { return r < ' ' || r == 0x7f || r == '\\' }):
			t.Fatalf("Clean(%q) = %q: control character or backslash", raw, p)
		case escapeRE.MatchString(p):
			t.Fatalf("Clean(%q) = %q: still holds an escape", raw, p)
		}
		for _, r := range p {
			if r >= utf8.RuneSelf && strings.ContainsFunc(norm.NFKC.String(string(r)), func(n rune) bool { return n < utf8.RuneSelf }) {
				t.Fatalf("Clean(%q) = %q: %q normalises (NFKC) to ASCII", raw, p, r)
			}
		}
		for i, seg := range strings.Split(p[1:], "/") {
			base, _, _ := strings.Cut(seg, ";")
			if base == "." || base == ".." || (seg == "" && i != strings.Count(p[1:], "/")) {
				t.Fatalf("Clean(%q) = %q: segment %q", raw, p, seg)
			}
		}
		if want := path.Clean(p); want != strings.TrimSuffix(p, "/") && p != "/" {
			t.Fatalf("Clean(%q) = %q, but path.Clean reads it as %q", raw, p, want)
		}
		// Escaped again as a client would send it, it reads the same.
		esc := (&url.URL{Path: p}).EscapedPath()
		if again, ok := policy.Clean(esc); !ok || again != p {
			t.Fatalf("Clean(%q) = %q, %v; want %q (the escaped form of Clean(%q))", esc, again, ok, p, raw)
		}
	})
}

// FuzzCheck sends any method and request URI through Policy.Check for one
// token of each kind and checks that an allowed request is inside the
// token's binding, as read from the canonical path: an embed token under
// its dashboard, a report token under its report (or its own /view URL),
// an app-view token on its app's view paths or the whitelisted API paths
// below them, an API token on a route whose scope it holds; and every
// allowed request is GET or HEAD (the default methods of every kind). A
// refusal is always a *policy.Denied.
func FuzzCheck(f *testing.F) {
	p, err := policy.New(policy.Config{AppAPIWhitelist: map[string][]string{"a1": {"/public/**"}}})
	if err != nil {
		f.Fatal(err)
	}
	claims := []*token.Claims{
		{Kind: token.KindEmbed, DashboardID: "d1"},
		{Kind: token.KindReport, ReportID: "r1"},
		{Kind: token.KindAppView, AppID: "a1", ReadOnly: true},
		{RegisteredClaims: jwt.RegisteredClaims{Subject: "u"}, Kind: token.KindAPI, Scope: "meta:read"},
	}
	const tok = "hdr.payload.sig"
	for i := range claims {
		for _, s := range [][2]string{
			{"GET", "/dashboards/d1/x?y=1"}, {"GET", "/dashboards/d1/../d2"}, {"GET", "/dashboards/d1%2f..%2fd2"},
			{"GET", "/api/reports/r1/data"}, {"GET", "/api/reports/r1/..;/r2"}, {"GET", "/view/" + tok},
			{"HEAD", "/api/apps/a1/view/x"}, {"POST", "/api/apps/a1/view"}, {"GET", "/view/api/public/a/b"},
			{"GET", "/view/api/private"}, {"GET", "/api/meta/x"}, {"GET", "/api/reports/x"}, {"get", "/contents/x"},
			{"GET", "//dashboards/d1"}, {"GET", "/dashboards/d1#/../d2"},
			{"GET", "/api/apps/a1/view/api/public/x"}, {"GET", "/api/apps/a1/view/api/admin"}, {"GET", "/api/apps/a1/contents/x"},
			{"GET", "/api/apps/a1/view/-/x"}, {"DELETE", "/api/reports/r1"}, {"POST", "/dashboards/d1"}, {"POST", "/api/meta/x"},
			{"GET", "/api/apps/a1/view/api/public%EF%BC%8F..%EF%BC%8Fadmin"}, {"GET", "/view/-/x"},
		} {
			f.Add(uint8(i), s[0], s[1])
		}
	}
	f.Fuzz(func(t *testing.T, which uint8, method, uri string) {
		c := claims[int(which)%len(claims)]
		err := p.Check(c, policy.Request{Method: method, URI: uri, Token: tok})
		if err != nil {
			if _, ok := policy.IsDenied(err); !ok {
				t.Fatalf("refusal is not a *policy.Denied: %v", err)
			}
			return
		}
		raw, _, _ := strings.Cut(uri, "?")
		raw, _, _ = strings.Cut(raw, "#")
		pth, ok := policy.Clean(raw)
		if !ok {
			t.Fatalf("%s %q allowed for %s though its path is not canonical", method, uri, c.Kind)
		}
		if method != http.MethodGet && method != http.MethodHead {
			t.Fatalf("%s %q allowed for a %s token: only GET and HEAD are", method, uri, c.Kind)
		}
		under := func(base string) bool { return pth == base || strings.HasPrefix(pth, base+"/") }
		var inside bool
		switch c.Kind {
		case token.KindEmbed:
			inside = under("/dashboards/d1")
		case token.KindReport:
			inside = under("/api/reports/r1") || pth == "/view/"+tok
		case token.KindAppView:
			const app = "/api/apps/a1"
			inside = pth == app+"/view" || pth == app+"/view/" || strings.HasPrefix(pth, app+"/view/-/") ||
				strings.HasPrefix(pth, app+"/contents/") || under(app+"/view/api/public")
		case token.KindAPI:
			inside = under("/api/meta") && !under("/api/reports") // "/api/meta/**" matches /api/meta itself
		}
		if !inside {
			t.Fatalf("%s %q (path %q) allowed for a %s token outside its binding", method, uri, pth, c.Kind)
		}
	})
}
