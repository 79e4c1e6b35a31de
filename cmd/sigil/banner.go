package main

import (
	"fmt"
	"io"

	"github.com/sigil-dev/sigil/internal/keys"
)

type banner struct {
	base, store, issuer string
	active              *keys.Key
	devKey              string
	adminSecret         string
	generatedAdmin      bool
	// dev is dev mode: a ready-to-paste curl is printed.
	dev bool
	// adminSecretFile is where a configured admin secret is read from.
	adminSecretFile string
	// cloud is the cloud deployment's URL and client id ("" when off).
	cloud, cloudClient string
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
	if b.cloud != "" {
		fmt.Fprintf(out, "  cloud:  %s (client %s)\n", b.cloud, b.cloudClient)
	}
	if !b.dev {
		return
	}
	// A configured admin secret is never echoed: the curl reads it from the environment.
	auth := `"admin:$SIGIL_ADMIN_SECRET"`
	if b.adminSecretFile != "" {
		auth = fmt.Sprintf(`"admin:$(cat %s)"`, b.adminSecretFile)
	}
	if b.generatedAdmin {
		fmt.Fprintf(out, "  admin:  client id \"admin\", secret %s\n", b.adminSecret)
		fmt.Fprintf(out, "          (generated and shown once; set SIGIL_ADMIN_SECRET to choose it)\n")
		auth = "admin:" + b.adminSecret
	} else if b.adminSecret == "" {
		return
	}
	fmt.Fprintf(out, "  console: %s/console/ (sign in as \"admin\" with that secret)\n", b.base)
	fmt.Fprintf(out, "\nTry it: create a dashboard credential, then mint an embed token with it:\n")
	fmt.Fprintf(out, "  curl -s -u %s -H 'Content-Type: application/json' \\\n", auth)
	fmt.Fprintf(out, "    -d '{\"id\":\"sales\",\"name\":\"Sales dashboard\",\"resources\":[\"dashboard:sales\"]}' %s/api/clients\n", b.base)
	fmt.Fprintf(out, "  curl -s -H 'Content-Type: application/json' \\\n")
	fmt.Fprintf(out, "    -d '{\"dashboardId\":\"sales\",\"dashboardSecret\":\"<secret from above>\"}' %s/api/v1/token\n", b.base)
}
