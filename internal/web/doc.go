// Package web embeds the browser assets: the sigil-embed.js ES module, the <sigil-api-tokens> component, the admin console and the dev-mode demo page.
package web
