// Package web embeds the browser assets: the sigil-embed.js ES module, the <sigil-api-tokens> component and the dev-mode demo page.
package web
