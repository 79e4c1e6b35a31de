package web

import _ "embed"

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
