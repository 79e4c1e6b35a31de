package web

import (
	"embed"
	"io/fs"
)

// SDKScript is the ES module served at /sdk/sigil-embed.js:
// invalidateToken, tokenFetch, decodeHeaderJSON and formatCurrency.
//
//go:embed sdk/sigil-embed.js
var SDKScript []byte

// APITokensScript is the ES module served at /sdk/sigil-api-tokens.js: the
// <sigil-api-tokens> web component, one owner's "My API access tokens" page
// for host apps, authorised by a console token (docs/component.md).
//
//go:embed sdk/sigil-api-tokens.js
var APITokensScript []byte

// DemoPage is the dev-mode demo page served at /demo/: a host app that
// embeds a dashboard stand-in showing the token's params, with a Logout button.
//
//go:embed demo/index.html
var DemoPage []byte

// DemoScript is the demo page's module, served at /demo/demo.js.
//
//go:embed demo/demo.js
var DemoScript []byte

//go:embed console
var consoleFiles embed.FS

// ConsolePages are the admin console's files, served at /console/:
// index.html, its ES modules (console.js, api.js, ui.js, pages.js) and
// console.css. Plain files, no build step.
var ConsolePages = mustSub(consoleFiles, "console")

func mustSub(f fs.FS, dir string) fs.FS {
	sub, err := fs.Sub(f, dir)
	if err != nil {
		panic(err)
	}
	return sub
}
