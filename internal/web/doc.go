// Package web embeds the browser assets: the sigil-embed.js ES module and the dev-mode demo page.
package web
