package main

import (
	"fmt"
	"io"
	"net/url"

	"github.com/sigil-dev/sigil/internal/keys"
)

type banner struct {
	base, store, issuer string
	active              *keys.Key
	devKey              string
	adminSecret         string
	generatedAdmin      bool
}

// printBanner tells a person what started and, in dev mode, what to try first.
func printBanner(out io.Writer, b banner) {
	fmt.Fprintf(out, "sigil listening on %s\n", b.base)
	fmt.Fprintf(out, "  store:  %s\n", b.store)
	fmt.Fprintf(out, "  issuer: %s\n", b.issuer)
	fmt.Fprintf(out, "  key:    %s kid=%s\n", b.active.Alg, b.active.KID)
	if b.devKey != "" {
		fmt.Fprintf(out, "          (dev key generated into %s)\n", b.devKey)
	}
	if !b.generatedAdmin {
		return
	}
	fmt.Fprintf(out, "  admin:  client id \"admin\", secret %s\n", b.adminSecret)
	fmt.Fprintf(out, "          (generated and shown once; set SIGIL_ADMIN_SECRET to choose it)\n\n")
	fmt.Fprintf(out, "Try it: create a dashboard credential, then mint an embed token with it:\n")
	fmt.Fprintf(out, "  curl -s -u admin:%s -H 'Content-Type: application/json' \\\n", b.adminSecret)
	fmt.Fprintf(out, "    -d '{\"id\":\"sales\",\"name\":\"Sales dashboard\",\"resources\":[\"dashboard:sales\"]}' %s/api/clients\n", b.base)
	fmt.Fprintf(out, "  curl -s -H 'Content-Type: application/json' \\\n")
	fmt.Fprintf(out, "    -d '{\"dashboardId\":\"sales\",\"dashboardSecret\":\"<secret from above>\"}' %s/api/v1/token\n", b.base)
}

// redactURL drops any password from a Redis URL before it is shown.
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparseable URL)"
	}
	return u.Redacted()
}
