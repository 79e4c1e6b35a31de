// Package browser starts headless Chromium for end-to-end tests (chromedp, Debian's
// /usr/bin/chromium, a fresh profile per test), writes screenshots and runs the pinned
// axe-core accessibility checks in a page.
package browser
