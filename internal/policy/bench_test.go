package policy_test

import (
	"testing"

	"github.com/sigil-dev/sigil/internal/policy"
)

// BenchmarkCheck is one decision per kind on a typical path.
func BenchmarkCheck(b *testing.B) {
	p, err := policy.New(policy.Config{AppAPIWhitelist: map[string][]string{"A": {"/datasets/*", "/queries/**"}}})
	if err != nil {
		b.Fatal(err)
	}
	for _, c := range []struct {
		name string
		req  policy.Request
	}{
		{"embed", policy.Request{Method: "GET", URI: "/dashboards/sales/widgets/7?lang=de"}},
		{"app-view-whitelist", policy.Request{Method: "GET", URI: "/api/apps/A/view/api/queries/a/b%20c"}},
		{"api", policy.Request{Method: "GET", URI: "/api/meta/tables"}},
	} {
		claims := embedS
		switch c.name {
		case "app-view-whitelist":
			claims = appA
		case "api":
			claims = apiMeta
		}
		if err := p.Check(claims, c.req); err != nil {
			b.Fatal(c.name, err)
		}
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if p.Check(claims, c.req) != nil {
					b.Fatal("denied")
				}
			}
		})
	}
}
