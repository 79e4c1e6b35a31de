package e2e_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/sigil-dev/sigil/test/browser"
	"github.com/sigil-dev/sigil/test/redisserver"
)

// consoleStep is one screen of the console walk: wait for it, check it
// with axe, take its screenshot (docs/console/<name>.png).
func consoleStep(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	if err := chromedp.Do(ctx, chromedp.WaitVisible(chromedp.CSS(`body[data-state="ready"], body[data-state="signin"]`))); err != nil {
		t.Fatalf("%s: the page did not settle: %v", name, err)
	}
	browser.CheckAxe(t, ctx, name)
	browser.Screenshot(t, ctx, "docs/console/"+name+".png")
}

// consoleDo runs steps, failing the test with what.
func consoleDo(t *testing.T, ctx context.Context, what string, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	if err := chromedp.Do(ctx, steps...); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// consoleText reads the text of the first element sel matches.
func consoleText(t *testing.T, ctx context.Context, sel string) string {
	t.Helper()
	s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		t.Fatalf("read %s: %v", sel, err)
	}
	return s
}

// consoleOnce reads the show-once dialog's values (by data-kind), then
// presses its Copy button for the first and closes it.
func consoleOnce(t *testing.T, ctx context.Context, shot string) map[string]string {
	t.Helper()
	consoleDo(t, ctx, "the show-once dialog", chromedp.WaitVisible(chromedp.CSS(`#dialog[open] textarea.once-value`)))
	warn := consoleText(t, ctx, `#dialog .warn`)
	if !strings.Contains(warn, "will not be shown again") {
		t.Fatalf("the show-once dialog says %q; want it to say plainly that it will not be shown again", warn)
	}
	vals, err := chromedp.Run(ctx, chromedp.Evaluate[map[string]string](
		`Object.fromEntries([...document.querySelectorAll("#dialog textarea.once-value")].map(a => [a.dataset.kind, a.value]))`))
	if err != nil {
		t.Fatalf("read the shown values: %v", err)
	}
	consoleDo(t, ctx, "copy", chromedp.Click(chromedp.CSS(`#dialog button.copy`)),
		chromedp.WaitVisible(chromedp.CSS(`#dialog .notice`)))
	if got := consoleText(t, ctx, `#dialog .notice`); got != "Copied" {
		t.Fatalf("after Copy the dialog says %q", got)
	}
	first, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector("#dialog textarea.once-value").value`))
	if err != nil {
		t.Fatal(err)
	}
	if got := browser.Clipboard(t, ctx); got != first {
		t.Fatalf("the clipboard holds %.12q…, want the shown value %.12q…", got, first)
	}
	browser.CheckAxe(t, ctx, shot)
	browser.Screenshot(t, ctx, "docs/console/"+shot+".png")
	// Escape closes a modal dialog (keyboard), and the shown value leaves the page with it.
	consoleDo(t, ctx, "close the dialog with Escape; the shown values leave the page", chromedp.KeyEvent("\x1b"),
		chromedp.WaitNotPresent(chromedp.CSS(`#dialog[open]`)), chromedp.WaitNotPresent(chromedp.CSS(`textarea.once-value`)))
	return vals
}

// TestE2E_Console drives the admin console in Chromium against the built
// binary on a real Redis: sign in with the keyboard, the overview, a
// dashboard credential whose secret is shown once and copied (and works),
// the api-tokens role, a token created with two scopes and generated (the
// JWT verifies), the inventory, the token's detail and log, revocation (the
// JWT stops verifying), share links with the iframe snippet, revoke-all,
// and a non-admin client that sees the API's refusal. Each screen passes
// axe (no serious or critical violation) and is screenshotted. No secret
// reaches the URL, web storage or the browser console.
func TestE2E_Console(t *testing.T) {
	rs := redisserver.Start(t)
	inst := e2eStart(t, e2eRedisEnv(rs.URL(), t.TempDir(), nil))

	var mu sync.Mutex
	var consoleLines []string
	ctx := browser.Start(t, browser.WithWindowSize(1000, 700), browser.WithListener(func(ev any) {
		mu.Lock()
		defer mu.Unlock()
		switch e := ev.(type) {
		case *runtime.EventConsoleAPICalled:
			for _, a := range e.Args {
				consoleLines = append(consoleLines, string(a.Value)+a.Description)
			}
		case *runtime.EventExceptionThrown:
			line := "exception: " + e.ExceptionDetails.Text
			if e.ExceptionDetails.Exception != nil {
				line += " " + e.ExceptionDetails.Exception.Description
			}
			consoleLines = append(consoleLines, line)
		}
	}))

	t.Cleanup(func() {
		if t.Failed() {
			mu.Lock()
			t.Logf("browser console:\n%s", strings.Join(consoleLines, "\n"))
			mu.Unlock()
		}
	})

	browser.GrantClipboard(t, ctx, inst.URL)

	// Sign in with the keyboard alone: focus starts in the client id box.
	consoleDo(t, ctx, "open the console", chromedp.Navigate(inst.URL+"/console/"),
		chromedp.WaitVisible(chromedp.CSS(`body[data-state="signin"]`)))
	consoleStep(t, ctx, "signin")
	consoleDo(t, ctx, "sign in by keyboard",
		chromedp.KeyEvent("admin"), chromedp.KeyEvent("\t"), chromedp.KeyEvent(e2eAdminSecret), chromedp.KeyEvent("\r"),
		chromedp.WaitVisible(chromedp.CSS(`body[data-state="ready"] table`)))
	if h1 := consoleText(t, ctx, "main h1"); h1 != "Overview" {
		t.Fatalf("after sign-in the console shows %q, want the overview", h1)
	}
	if who := consoleText(t, ctx, "#who-name"); !strings.Contains(who, "admin") {
		t.Fatalf("signed in as %q", who)
	}
	if r := consoleText(t, ctx, ".readiness"); r != "ready" {
		t.Fatalf("overview readiness %q", r)
	}
	consoleStep(t, ctx, "overview")

	// A dashboard credential: the secret is shown once, copied, and works.
	consoleDo(t, ctx, "open the credentials", chromedp.Navigate(inst.URL+"/console/#/clients"),
		chromedp.WaitVisible(chromedp.CSS(`body[data-state="ready"] form[aria-label="New dashboard credential"]`)))
	consoleDo(t, ctx, "create a credential",
		chromedp.SendKeys(chromedp.CSS(`form[aria-label="New dashboard credential"] input[name=id]`), "sales"),
		chromedp.SendKeys(chromedp.CSS(`form[aria-label="New dashboard credential"] input[name=resources]`), "dashboard:sales"),
		chromedp.Click(chromedp.CSS(`form[aria-label="New dashboard credential"] button[type=submit]`)))
	secret := consoleOnce(t, ctx, "client-secret")["client-secret"]
	if len(secret) < 40 {
		t.Fatalf("the shown client secret %q looks wrong", secret)
	}
	e2eMint(t, inst.URL, "sales", secret) // the shown secret is the client's
	consoleDo(t, ctx, "the new client is listed", chromedp.WaitVisible(chromedp.CSS(`form[aria-label="New dashboard credential"] .notice`)))
	if !strings.Contains(consoleText(t, ctx, "main table"), "sales") {
		t.Fatal("the client list does not show sales")
	}
	consoleStep(t, ctx, "clients")

	// A bad id: the API's error is shown beside the field it names.
	consoleDo(t, ctx, "a bad client id",
		chromedp.SendKeys(chromedp.CSS(`form[aria-label="New dashboard credential"] input[name=id]`), "no spaces allowed"),
		chromedp.Click(chromedp.CSS(`form[aria-label="New dashboard credential"] button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`form[aria-label="New dashboard credential"] input[name=id][aria-invalid="true"]`)))
	if e := consoleText(t, ctx, `form[aria-label="New dashboard credential"] .field-error[data-for="id"]`); e == "" {
		t.Fatal("no error beside the id field")
	}

	// The api-tokens role.
	consoleDo(t, ctx, "grant the role", chromedp.Navigate(inst.URL+"/console/#/owners"),
		chromedp.WaitVisible(chromedp.CSS(`body[data-state="ready"] form[aria-label="Owner role"]`)),
		chromedp.SendKeys(chromedp.CSS(`form[aria-label="Owner role"] input[name=owner]`), "alice"),
		chromedp.Click(chromedp.CSS(`form[aria-label="Owner role"] button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`form[aria-label="Owner role"] .notice`)))
	consoleStep(t, ctx, "owners")

	// An API token for alice with two scopes, generated at creation.
	consoleDo(t, ctx, "open the tokens", chromedp.Navigate(inst.URL+"/console/#/tokens"),
		chromedp.WaitVisible(chromedp.CSS(`body[data-state="ready"] form[aria-label="New token"]`)))
	consoleDo(t, ctx, "create a token",
		chromedp.SetValue(chromedp.CSS(`form[aria-label="New token"] select[name=type]`), "api"),
		chromedp.SendKeys(chromedp.CSS(`form[aria-label="New token"] input[name=name]`), "ci-pipeline"),
		chromedp.SendKeys(chromedp.CSS(`form[aria-label="New token"] input[name=owner]`), "alice"),
		chromedp.Click(chromedp.CSS(`form[aria-label="New token"] input[name=scopes][value="meta:read"]`)),
		chromedp.Click(chromedp.CSS(`form[aria-label="New token"] input[name=scopes][value="report:read"]`)),
		chromedp.Click(chromedp.CSS(`form[aria-label="New token"] button[type=submit]`)))
	jwt := consoleOnce(t, ctx, "token-shown-once")["jwt"]
	if strings.Count(jwt, ".") != 2 {
		t.Fatalf("the shown token %q is no JWT", jwt)
	}
	e2eWantStatus(t, "verify the token created in the console", e2eVerify(t, inst.URL, jwt), http.StatusOK)

	// The inventory, filtered by owner.
	consoleDo(t, ctx, "filter the inventory",
		chromedp.SendKeys(chromedp.CSS(`form[aria-label="Filter tokens"] input[name=owner]`), "alice"),
		chromedp.Click(chromedp.CSS(`form[aria-label="Filter tokens"] button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`main table a[href^="#/tokens/"]`)))
	if got := consoleText(t, ctx, "main table tbody"); !strings.Contains(got, "ci-pipeline") || !strings.Contains(got, "Generated") {
		t.Fatalf("the inventory shows %q", got)
	}
	consoleStep(t, ctx, "tokens")

	// Its detail page and log; then revoke it.
	// Wait for the detail page's own properties: the inventory is "ready"
	// too until the hash change is handled, and it has an h2 as well.
	consoleDo(t, ctx, "open the token", chromedp.Click(chromedp.CSS(`main table a[href^="#/tokens/"]`)),
		chromedp.WaitVisible(chromedp.CSS(`body[data-state="ready"] main dl.props`)),
		chromedp.WaitVisible(chromedp.CSS(`body[data-state="ready"] main h2`)))
	if h1 := consoleText(t, ctx, "main h1"); h1 != "Token ci-pipeline" {
		t.Fatalf("detail page %q", h1)
	}
	log := consoleText(t, ctx, `main table`)
	for _, a := range []string{"CREATE", "GENERATE"} {
		if !strings.Contains(log, a) {
			t.Fatalf("the token log %q has no %s", log, a)
		}
	}
	consoleStep(t, ctx, "token-detail")
	if href, err := chromedp.Run(ctx, chromedp.Location()); err != nil || strings.Contains(href, jwt[:20]) {
		t.Fatalf("the URL %q carries the token (%v)", href, err)
	}
	consoleDo(t, ctx, "revoke",
		chromedp.Click(chromedp.CSS(`main button.danger`)),
		chromedp.WaitVisible(chromedp.CSS(`#dialog[open] button[data-value=ok]`)))
	browser.CheckAxe(t, ctx, "confirm dialog")
	consoleDo(t, ctx, "confirm revoke", chromedp.Click(chromedp.CSS(`#dialog button[data-value=ok]`)),
		chromedp.WaitNotPresent(chromedp.CSS(`#dialog[open]`)))
	e2eEventually(t, 10*time.Second, "the revoked token is refused", func() bool {
		return e2eVerify(t, inst.URL, jwt) == http.StatusUnauthorized
	})
	// The record stays, revoked, with REVOKE on top of its log.
	consoleDo(t, ctx, "the revoked record", chromedp.WaitVisible(chromedp.CSS(`main table tbody tr:first-child th`)))
	e2eEventually(t, 10*time.Second, "the detail shows Revoked and the log REVOKE", func() bool {
		props, top := consoleText(t, ctx, "main dl.props"), consoleText(t, ctx, "main table tbody tr:first-child th")
		return strings.Contains(props, "Revoked") && top == "REVOKE"
	})

	// Share links of a report: the public URL and the iframe snippet.
	consoleDo(t, ctx, "share links", chromedp.Navigate(inst.URL+"/console/#/shares"),
		chromedp.WaitVisible(chromedp.CSS(`body[data-state="ready"] form[aria-label="Find share links"]`)),
		chromedp.SendKeys(chromedp.CSS(`form[aria-label="Find share links"] input[name=id]`), "q3-sales"),
		chromedp.Click(chromedp.CSS(`form[aria-label="Find share links"] button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`form[aria-label="New share link"]`)),
		chromedp.SendKeys(chromedp.CSS(`form[aria-label="New share link"] input[name=name]`), "Board deck"),
		chromedp.Click(chromedp.CSS(`form[aria-label="New share link"] button[type=submit]`)))
	link := consoleOnce(t, ctx, "share-link")
	if !strings.HasPrefix(link["url"], inst.URL+"/view/") || !strings.Contains(link["iframe"], `<iframe src="`+link["url"]+`"`) {
		t.Fatalf("share link %q, snippet %q", link["url"], link["iframe"])
	}
	consoleStep(t, ctx, "shares")

	consoleDo(t, ctx, "revoke all", chromedp.Navigate(inst.URL+"/console/#/revoke"),
		chromedp.WaitVisible(chromedp.CSS(`body[data-state="ready"] form[aria-label="Revoke all"]`)))
	consoleStep(t, ctx, "revoke-all")

	// Nothing secret in web storage or in the browser console.
	if n, err := chromedp.Run(ctx, chromedp.Evaluate[int](`localStorage.length + sessionStorage.length`)); err != nil || n != 0 {
		t.Fatalf("web storage holds %d items (%v)", n, err)
	}
	if c, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.cookie`)); err != nil || c != "" {
		t.Fatalf("script can read cookies %q (%v): the session cookie must be HttpOnly", c, err)
	}
	mu.Lock()
	for _, l := range consoleLines {
		for _, s := range []string{secret, jwt, e2eAdminSecret} {
			if strings.Contains(l, s) {
				t.Errorf("the browser console logged a secret: %q", l)
			}
		}
	}
	mu.Unlock()

	// Sign out; then a non-admin client sees what the API lets it see.
	consoleDo(t, ctx, "sign out", chromedp.Click(chromedp.CSS(`#sign-out`)),
		chromedp.WaitVisible(chromedp.CSS(`body[data-state="signin"]`)))
	consoleDo(t, ctx, "sign in as sales",
		chromedp.SendKeys(chromedp.CSS(`input[name=clientId]`), "sales"),
		chromedp.SendKeys(chromedp.CSS(`input[name=clientSecret]`), secret),
		chromedp.Click(chromedp.CSS(`form[aria-label="Sign in"] button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`body[data-state="ready"] form[aria-label="Revoke all"]`)),
		chromedp.Navigate(inst.URL+"/console/#/overview"),
		chromedp.WaitVisible(chromedp.CSS(`body[data-state="ready"] main [role=alert]`)))
	if msg := consoleText(t, ctx, "main [role=alert]"); !strings.Contains(msg, "Not allowed") {
		t.Fatalf("a non-admin's overview says %q; want the API's refusal", msg)
	}
	consoleStep(t, ctx, "non-admin")
}

// TestE2E_ConsoleSessionHTTP: the session routes and a cookie-authenticated
// API call, each exchange checked against the OpenAPI document.
func TestE2E_ConsoleSessionHTTP(t *testing.T) {
	inst := e2eStart(t, map[string]string{"SIGIL_ADMIN_SECRET": e2eAdminSecret})
	r := e2eDo(t, http.MethodPost, inst.URL+"/console/api/session", fmt.Sprintf(`{"clientId":"admin","clientSecret":%q}`, e2eAdminSecret), nil)
	e2eWantStatus(t, "sign in", r.Status, http.StatusCreated)
	var s struct {
		CSRFToken string `json:"csrfToken"`
	}
	if err := json.Unmarshal([]byte(r.Body), &s); err != nil || s.CSRFToken == "" {
		t.Fatalf("sign-in answer %s (%v)", r.Body, err)
	}
	var cookie string
	for _, c := range (&http.Response{Header: r.Header}).Cookies() {
		if c.Name == "sigil_console" {
			cookie = c.Name + "=" + c.Value
		}
	}
	if cookie == "" {
		t.Fatalf("no session cookie in %v", r.Header)
	}
	e2eWantStatus(t, "who am I", e2eDo(t, http.MethodGet, inst.URL+"/console/api/session", "", map[string]string{"Cookie": cookie}).Status, http.StatusOK)
	e2eWantStatus(t, "overview", e2eDo(t, http.MethodGet, inst.URL+"/api/overview", "", map[string]string{"Cookie": cookie}).Status, http.StatusOK)
	e2eWantStatus(t, "overview by Basic", e2eDo(t, http.MethodGet, inst.URL+"/api/overview", "", e2eBasic("admin", e2eAdminSecret)).Status, http.StatusOK)
	e2eWantStatus(t, "a POST without the CSRF token", e2eDo(t, http.MethodPost, inst.URL+"/api/clients", `{"id":"x1"}`, map[string]string{"Cookie": cookie}).Status, http.StatusForbidden)
	e2eWantStatus(t, "sign out", e2eDo(t, http.MethodDelete, inst.URL+"/console/api/session", "", map[string]string{"Cookie": cookie, "X-CSRF-Token": s.CSRFToken}).Status, http.StatusNoContent)
	e2eWantStatus(t, "after sign-out", e2eDo(t, http.MethodGet, inst.URL+"/api/overview", "", map[string]string{"Cookie": cookie}).Status, http.StatusUnauthorized)

	page := e2eDo(t, http.MethodGet, inst.URL+"/console/", "", nil)
	e2eWantStatus(t, "console page", page.Status, http.StatusOK)
	if csp := page.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'self'") || !strings.Contains(csp, "script-src 'self'") || strings.Contains(csp, "unsafe-inline") {
		t.Fatalf("console CSP %q", csp)
	}
	e2eWantStatus(t, "a console module", e2eDo(t, http.MethodGet, inst.URL+"/console/console.js", "", nil).Status, http.StatusOK)
	e2eWantStatus(t, "no such console file", e2eDo(t, http.MethodGet, inst.URL+"/console/..%2fweb.go", "", nil).Status, http.StatusNotFound)
}
