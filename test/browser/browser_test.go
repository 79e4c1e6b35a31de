package browser_test

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/sigil-dev/sigil/test/browser"
)

// page serves one HTML document under a strict CSP, as the console does.
func page(t *testing.T, html string) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Content-Security-Policy", "default-src 'self'")
		_, _ = io.WriteString(w, html)
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

// TestAxe finds the violations of a page that breaks two rules, under a
// CSP that forbids every script but its own, and none on a clean page.
func TestAxe(t *testing.T) {
	bad := page(t, `<!doctype html><html><head><title>bad</title></head><body><main>`+
		`<img src="x.png"><button></button></main></body></html>`)
	good := page(t, `<!doctype html><html lang="en"><head><title>good</title></head><body><main>`+
		`<h1>Fine</h1><label for="n">Name</label><input id="n"></main></body></html>`)
	ctx := browser.Start(t)

	if err := chromedp.Do(ctx, chromedp.Navigate(bad)); err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, v := range browser.Axe(t, ctx) {
		got[v.ID] = v.Impact
	}
	for _, id := range []string{"image-alt", "button-name", "html-has-lang"} {
		if got[id] != "critical" && got[id] != "serious" {
			t.Errorf("axe on the bad page: %s = %q, want serious or critical (all: %v)", id, got[id], got)
		}
	}

	if err := chromedp.Do(ctx, chromedp.Navigate(good)); err != nil {
		t.Fatal(err)
	}
	browser.CheckAxe(t, ctx, "the good page")
}

// TestScreenshot writes a PNG of the viewport.
func TestScreenshot(t *testing.T) {
	t.Setenv("SIGIL_UPDATE_SCREENSHOT", "")
	u := page(t, `<!doctype html><html lang="en"><title>shot</title><p>hello</p></html>`)
	ctx := browser.Start(t, browser.WithWindowSize(320, 200))
	if err := chromedp.Do(ctx, chromedp.Navigate(u)); err != nil {
		t.Fatal(err)
	}
	p := browser.Screenshot(t, ctx, "docs/console/never-written.png")
	if strings.Contains(p, "docs") {
		t.Fatalf("without SIGIL_UPDATE_SCREENSHOT the screenshot goes to a temporary directory, not %s", p)
	}
	b, err := os.ReadFile(p)
	if err != nil || !bytes.HasPrefix(b, []byte("\x89PNG\r\n\x1a\n")) {
		t.Fatalf("screenshot %s is not a PNG (%v)", p, err)
	}
}
