package e2e_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/sigil-dev/sigil/test/browser"
)

// e2eBrowser starts a headless Chromium with a fresh profile (test/browser);
// it ends at cleanup.
func e2eBrowser(t *testing.T, listen func(ev any)) context.Context {
	t.Helper()
	return browser.Start(t, browser.WithListener(listen))
}

// e2eScreenshotPath is docs/demo.png with SIGIL_UPDATE_SCREENSHOT=1 (the
// file README shows), else a file in t.TempDir().
func e2eScreenshotPath(t *testing.T) string {
	t.Helper()
	if os.Getenv("SIGIL_UPDATE_SCREENSHOT") != "1" {
		return filepath.Join(t.TempDir(), "demo.png")
	}
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		t.Fatalf("go env GOMOD: %v", err)
	}
	return filepath.Join(filepath.Dir(strings.TrimSpace(string(out))), "docs", "demo.png")
}

// TestE2E_BrowserLogout drives Chromium through the demo page: the
// dashboard stand-in shows the token's amount formatted for de-DE/EUR by
// Intl.NumberFormat; Logout revokes the token through the SDK, the next
// request answers 401 and the page says "Session expired".
func TestE2E_BrowserLogout(t *testing.T) {
	inst := e2eStart(t, map[string]string{"SIGIL_ADMIN_SECRET": e2eAdminSecret})
	secret := e2eCreateClient(t, inst.URL, e2eAdminSecret, "sales")
	r := e2eDo(t, http.MethodPost, inst.URL+"/api/v1/token", fmt.Sprintf(`{"dashboardId":"sales","dashboardSecret":%q,`+
		`"params":{"title":"Sales EMEA","amount":1234.56,"currencyFormat":{"locale":"de-DE","currency":"EUR"}}}`, secret), nil)
	e2eWantStatus(t, "mint", r.Status, http.StatusOK)
	tok := e2eJSONField(t, r.Body, "accessToken")

	// Every answer the page gets from verify, in order.
	var mu sync.Mutex
	var verifyStatuses []int64
	ctx := e2eBrowser(t, func(ev any) {
		if e, ok := ev.(*network.EventResponseReceived); ok && strings.HasSuffix(e.Response.URL, "/api/v1/verify") {
			mu.Lock()
			verifyStatuses = append(verifyStatuses, e.Response.Status)
			mu.Unlock()
		}
	})

	if err := chromedp.Do(ctx,
		chromedp.Navigate(inst.URL+"/demo/#token="+tok),
		chromedp.WaitVisible(chromedp.CSS(`body[data-state="loaded"]`)),
	); err != nil {
		t.Fatalf("open the demo page: %v", err)
	}
	amount, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("#amount")))
	if err != nil {
		t.Fatalf("read the amount: %v", err)
	}
	intl, err := chromedp.Run(ctx, chromedp.Evaluate[string](
		`new Intl.NumberFormat("de-DE", {style: "currency", currency: "EUR"}).format(1234.56)`))
	if err != nil {
		t.Fatalf("Intl.NumberFormat in the browser: %v", err)
	}
	// German grouping and decimal marks, and a no-break space before the sign.
	if want := "1.234,56\u00a0€"; intl != want {
		t.Fatalf("Chromium's Intl formats 1234.56 de-DE/EUR as %q, want %q", intl, want)
	}
	if amount != intl {
		t.Fatalf("the dashboard shows %q, want %q (Intl.NumberFormat de-DE/EUR)", amount, intl)
	}
	title, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("#title")))
	if err != nil || title != "Sales EMEA" {
		t.Fatalf("dashboard title %q (%v), want the token's params.title", title, err)
	}

	shot, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	path := e2eScreenshotPath(t)
	if err := os.WriteFile(path, shot, 0o644); err != nil {
		t.Fatalf("write screenshot: %v", err)
	}
	t.Logf("screenshot: %s (%d bytes)", path, len(shot))

	if err := chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS("#logout")),
		chromedp.WaitVisible(chromedp.CSS(`body[data-state="expired"]`)),
	); err != nil {
		t.Fatalf("log out: %v", err)
	}
	expired, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("#expired")))
	if err != nil || expired != "Session expired" {
		t.Fatalf("after logout the page shows %q (%v), want \"Session expired\"", expired, err)
	}
	last, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.body.dataset.lastStatus`))
	if err != nil || last != "401" {
		t.Fatalf("the page's last verify answer: %q (%v), want 401", last, err)
	}
	mu.Lock()
	got := append([]int64(nil), verifyStatuses...)
	mu.Unlock()
	if len(got) < 2 || got[0] != http.StatusOK || got[len(got)-1] != http.StatusUnauthorized {
		t.Fatalf("verify answers seen by the browser: %v, want 200 first and 401 after logout", got)
	}
	e2eWantStatus(t, "verify of the logged-out token", e2eVerify(t, inst.URL, tok), http.StatusUnauthorized)
}

// e2eJSONField returns the string field name of a JSON object.
func e2eJSONField(t testing.TB, body, name string) string {
	t.Helper()
	var m map[string]any
	if err := jsonUnmarshalString(body, &m); err != nil {
		t.Fatalf("not a JSON object: %s (%v)", body, err)
	}
	v, _ := m[name].(string)
	if v == "" {
		t.Fatalf("no %s in %s", name, body)
	}
	return v
}

// TestE2E_BrowserCrossOrigin runs the SDK in Chromium on a page of another
// origin (an app server on its own port): with that origin in
// http.cors_allowed_origins the page verifies (and reads the exposed
// X-Sigil-Params) and logs out; against a sigil that does not allow it, the
// browser refuses after the preflight and the token stays live.
func TestE2E_BrowserCrossOrigin(t *testing.T) {
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = io.WriteString(w, "<!doctype html><title>app</title><p>another origin</p>")
	}))
	t.Cleanup(app.Close)
	open := e2eStart(t, map[string]string{"SIGIL_ADMIN_SECRET": e2eAdminSecret, "SIGIL_HTTP_CORS_ALLOWED_ORIGINS": app.URL})
	closed := e2eStart(t, map[string]string{"SIGIL_ADMIN_SECRET": e2eAdminSecret})
	mint := func(base string) string {
		secret := e2eCreateClient(t, base, e2eAdminSecret, "sales")
		r := e2eDo(t, http.MethodPost, base+"/api/v1/token",
			fmt.Sprintf(`{"dashboardId":"sales","dashboardSecret":%q,"params":{"amount":42}}`, secret), nil)
		e2eWantStatus(t, "mint", r.Status, http.StatusOK)
		return e2eJSONField(t, r.Body, "accessToken")
	}
	tokOpen, tokClosed := mint(open.URL), mint(closed.URL)

	ctx := e2eBrowser(t, func(any) {})
	if err := chromedp.Do(ctx, chromedp.Navigate(app.URL)); err != nil {
		t.Fatalf("open the app page: %v", err)
	}
	script := fmt.Sprintf(`(async () => {
		const m = await import(%[1]q + "/sdk/sigil-embed.js");
		const out = {};
		const api = m.tokenFetch(%[2]q, {baseUrl: %[1]q});
		const r = await api("/api/v1/verify");
		out.verify = r.status;
		out.amount = (m.decodeHeaderJSON(r.headers.get("X-Sigil-Params")) || {}).amount ?? null;
		await m.invalidateToken(%[2]q, {baseUrl: %[1]q});
		out.after = (await api("/api/v1/verify")).status;
		try { await m.invalidateToken("a.b.c", {baseUrl: %[1]q}); out.forged = "resolved"; }
		catch (e) { out.forged = e.status + ":" + e.code; }
		try { await m.invalidateToken(%[4]q, {baseUrl: %[3]q}); out.refused = "resolved"; }
		catch (e) { out.refused = e.name; }
		return out;
	})()`, open.URL, tokOpen, closed.URL, tokClosed)
	got, err := chromedp.Run(ctx, chromedp.Evaluate[map[string]any](script, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("run the SDK cross-origin: %v", err)
	}
	want := map[string]any{"verify": 200.0, "amount": 42.0, "after": 401.0, "forged": "401:invalid_token", "refused": "TypeError"}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %v, want %v (all: %v)", k, got[k], v, got)
		}
	}
	e2eWantStatus(t, "verify of the token logged out cross-origin", e2eVerify(t, open.URL, tokOpen), http.StatusUnauthorized)
	e2eWantStatus(t, "verify of the token a refused origin tried to log out", e2eVerify(t, closed.URL, tokClosed), http.StatusOK)
}
