package e2e_test

import (
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	cdpruntime "github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/sigil-dev/sigil/test/browser"
	"github.com/sigil-dev/sigil/test/redisserver"
)

// The <sigil-api-tokens> component (issue 14, part 2) in headless Chromium:
// a host app on another origin, with a strict CSP, embeds it; the host's
// backend mints console tokens for its signed-in owner (alice) with its
// client; the owner works through Envizi's "My API access tokens" screens
// with mouse and keyboard against the built binary on a real Redis.

// e2eCSP is the host page's policy: scripts from itself and sigil only,
// styles from itself only (no 'unsafe-inline'), fetches to itself and sigil.
func e2eHostCSP(sigil string) string {
	return "default-src 'none'; script-src 'self' " + sigil + "; style-src 'self'; connect-src 'self' " + sigil +
		"; img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
}

// e2eHostApp is the host app: a page embedding the component, its scripts,
// and the backend endpoint that mints a console token for the signed-in
// user (always owner) with the host's client credentials.
type e2eHostApp struct {
	*httptest.Server
	sigil         string
	clientID      string
	secret        string
	owner         string
	mu            sync.Mutex
	consoleTokens []string // every console token handed to the page
	signedOut     bool     // the user signed out of the host app
	nearExpiry    bool     // answer expiresAt 10s ahead (inside the component's renewal margin)
}

const e2eHostWatch = `"use strict";
// Runs before any module: records what the page's CSP refuses and every error.
window.__cspViolations = [];
window.__errors = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__cspViolations.push(e.violatedDirective + " " + (e.blockedURI || "inline") + " " + (e.sourceFile || "") + ":" + e.lineNumber);
});
window.addEventListener("error", (e) => window.__errors.push(String(e.message)));
window.addEventListener("unhandledrejection", (e) => window.__errors.push(String(e.reason)));
`

const e2eHostScript = `const el = document.querySelector("sigil-api-tokens");
window.__sessionExpired = 0;
window.__getTokenCalls = 0;
el.addEventListener("sigil-session-expired", () => window.__sessionExpired++);
el.getToken = async () => {
  // The first token is one sigil refuses (as an expired one would be): the
  // component must ask again, once, and go on.
  if (++window.__getTokenCalls === 1) return "forged.console.token";
  const res = await fetch("/console-token", { method: "POST" });
  if (!res.ok) throw new Error("console token: " + res.status);
  return res.json();
};
`

const e2eHostCSS = `body { font-family: system-ui, sans-serif; margin: 0; background: #f4f5f7; color: #1d1d1f; }
header { background: #14213d; color: #ffffff; padding: 0.75rem 1.5rem; }
header p { margin: 0; font-weight: 600; }
main { padding: 1rem 1.5rem; }
h1 { font-size: 1.4rem; }
sigil-api-tokens { --sigil-color-primary: #14213d; --sigil-color-focus: #c1121f; background: #ffffff; padding: 1rem; border-radius: 8px; }
`

func newE2EHostApp(t *testing.T, clientID, owner string) *e2eHostApp {
	h := &e2eHostApp{clientID: clientID, owner: owner}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Security-Policy", e2eHostCSP(h.sigil))
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Referrer-Policy", "no-referrer")
		_, _ = fmt.Fprintf(w, `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Envizi: My API access tokens</title>
<link rel="stylesheet" href="/host.css">
<script src="/watch.js"></script>
<script type="module" src="%s/sdk/sigil-api-tokens.js"></script>
<script type="module" src="/app.js"></script>
</head><body>
<header><p>Envizi (host app) · signed in as %s</p></header>
<main><h1>Account settings</h1>
<sigil-api-tokens page-size="4"></sigil-api-tokens>
</main></body></html>`, h.sigil, owner)
	})
	serve := func(path, ctype, body string) {
		mux.HandleFunc("GET "+path, func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", ctype)
			_, _ = io.WriteString(w, body)
		})
	}
	serve("/watch.js", "text/javascript", e2eHostWatch)
	serve("/app.js", "text/javascript", e2eHostScript)
	serve("/host.css", "text/css", e2eHostCSS)
	// The host's backend: it knows who is signed in and mints that user's
	// console token with its own client credentials; the browser never
	// sees the client secret.
	mux.HandleFunc("POST /console-token", func(w http.ResponseWriter, _ *http.Request) {
		h.mu.Lock()
		out := h.signedOut
		h.mu.Unlock()
		if out {
			http.Error(w, "not signed in", http.StatusUnauthorized)
			return
		}
		tok, body := e2eMintConsole(t, h.sigil, h.clientID, h.secret, h.owner)
		h.mu.Lock()
		h.consoleTokens = append(h.consoleTokens, tok)
		h.mu.Unlock()
		h.mu.Lock()
		near := h.nearExpiry
		h.mu.Unlock()
		if near {
			body = fmt.Sprintf(`{"token":%q,"expiresAt":%q}`, tok, time.Now().Add(10*time.Second).UTC().Format(time.RFC3339))
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		_, _ = io.WriteString(w, body)
	})
	h.Server = httptest.NewServer(mux)
	t.Cleanup(h.Close)
	return h
}

// e2eMintConsole is the host backend's call: POST /api/console-tokens as
// client id for owner; it returns the token and sigil's whole answer.
func e2eMintConsole(t testing.TB, base, id, secret, owner string) (string, string) {
	t.Helper()
	r := e2eDo(t, http.MethodPost, base+"/api/console-tokens", fmt.Sprintf(`{"owner":%q,"ttl":"10m"}`, owner), e2eBasic(id, secret))
	e2eWantStatus(t, "mint a console token for "+owner, r.Status, http.StatusCreated)
	return e2eJSONField(t, r.Body, "token"), r.Body
}

// e2eComp drives one component in one page.
type e2eComp struct {
	t   *testing.T
	ctx context.Context
}

// sel is a selector inside the component's shadow root.
func (c *e2eComp) sel(css string) chromedp.JSPath {
	return chromedp.JSPath(fmt.Sprintf(`document.querySelector("sigil-api-tokens").shadowRoot.querySelector(%q)`, css))
}

func (c *e2eComp) do(what string, steps ...chromedp.Action[chromedp.Void]) {
	c.t.Helper()
	// A guard against a selector that never matches, not an assertion.
	ctx, cancel := context.WithTimeout(c.ctx, 20*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		c.t.Fatalf("%s: %v; component text: %s", what, err, eval[string](c, "root.textContent"))
	}
}

// eval runs a JS expression with the shadow root as `root` and returns its value.
func eval[T any](c *e2eComp, expr string) T {
	c.t.Helper()
	v, err := chromedp.Run(c.ctx, chromedp.Evaluate[T](
		`(async () => { const el = document.querySelector("sigil-api-tokens"); const root = el.shadowRoot; return (`+expr+`); })()`,
		chromedp.EvalAwaitPromise))
	if err != nil {
		c.t.Fatalf("evaluate %s: %v", expr, err)
	}
	return v
}

// waitFor polls a JS condition (bounded: a guard, not an assertion).
func (c *e2eComp) waitFor(what, cond string) {
	c.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !eval[bool](c, "!!("+cond+")") {
		if time.Now().After(deadline) {
			c.t.Fatalf("timed out waiting for %s (%s); component text: %s", what, cond, eval[string](c, "root.textContent"))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// check runs axe-core on the screen (the component's shadow DOM included),
// failing on a serious or critical violation, and takes its screenshot
// (docs/console/component-<name>.png with SIGIL_UPDATE_SCREENSHOT=1).
func (c *e2eComp) check(name string) {
	c.t.Helper()
	browser.CheckAxe(c.t, c.ctx, "component "+name)
	browser.Screenshot(c.t, c.ctx, "docs/console/component-"+name+".png")
}

// row is the grid row of the token named name, as its cells' text.
func (c *e2eComp) row(name string) []string {
	c.t.Helper()
	return eval[[]string](c, fmt.Sprintf(`[...root.querySelectorAll("tbody tr")].filter(r => r.querySelector("th")?.textContent === %q)
		.flatMap(r => [...r.children].map(td => td.textContent.trim()))`, name))
}

// menu opens the Actions menu of the row named name with the keyboard and
// activates item (by its text) with Enter.
func (c *e2eComp) menu(name, item string, shot string) {
	c.t.Helper()
	// A closed dialog's reload (its close event comes after focus has
	// returned) must be over, or it would replace the row under the menu.
	c.waitFor("the grid to be idle", `!root.querySelector("dialog") && root.querySelector("table").getAttribute("aria-busy") === "false"`)
	btn := fmt.Sprintf(`[...document.querySelector("sigil-api-tokens").shadowRoot.querySelectorAll("button.actions")].find(b => b.getAttribute("aria-label") === %q)`, "Actions for "+name)
	c.do("focus the actions of "+name, chromedp.Focus(chromedp.JSPath(btn)), chromedp.KeyEvent(kb.ArrowDown))
	c.waitFor("the menu of "+name+" for "+item, `root.activeElement?.getAttribute("role") === "menuitem"`)
	if shot != "" {
		c.check(shot)
	}
	for i := 0; i < 5 && eval[string](c, "root.activeElement.textContent") != item; i++ {
		c.do("move in the menu", chromedp.KeyEvent(kb.ArrowDown))
	}
	if got := eval[string](c, "root.activeElement.textContent"); got != item {
		c.t.Fatalf("menu of %s has no item %q (at %q)", name, item, got)
	}
	c.do("activate "+item, chromedp.KeyEvent(kb.Enter))
}

func (c *e2eComp) dialogOpen(name string) {
	c.t.Helper()
	c.waitFor("the "+name+" dialog", fmt.Sprintf(`root.querySelector('dialog[data-dialog=%q]')?.open && root.querySelector('dialog[data-dialog=%q]').contains(root.activeElement)`, name, name))
}

func TestE2E_ComponentEnvizi(t *testing.T) {
	srv := redisserver.Start(t)
	host := newE2EHostApp(t, "envizi", "alice")
	inst := e2eStart(t, e2eRedisEnv(srv.URL(), t.TempDir(), map[string]string{
		"SIGIL_REGISTRY_SCOPES":         "meta:read=Meta Record,report:read=Report Record",
		"SIGIL_CONSOLE_ALLOWED_ORIGINS": host.URL,
	}))
	host.sigil = inst.URL
	admin := e2eBasic("admin", e2eAdminSecret)
	r := e2eDo(t, http.MethodPost, inst.URL+"/api/clients", `{"id":"envizi","resources":["api:*"]}`, admin)
	e2eWantStatus(t, "create the host's client", r.Status, http.StatusCreated)
	host.secret = e2eJSONField(t, r.Body, "secret")
	envizi := e2eBasic("envizi", host.secret)
	for _, owner := range []string{"alice", "bob"} {
		e2eWantStatus(t, "grant the role to "+owner, e2eDo(t, http.MethodPut, inst.URL+"/api/owners/"+owner+"/roles/api-tokens", "", admin).Status, http.StatusNoContent)
	}

	// Owner B's token: the component for A must never see it.
	r = e2eDo(t, http.MethodPost, inst.URL+"/api/tokens", `{"type":"api","owner":"bob","name":"bob-private-ledger","scopes":["report:read"],"expiresIn":"30d"}`, envizi)
	e2eWantStatus(t, "bob's token", r.Status, http.StatusCreated)
	var bobTok e2eToken
	e2eJSON(t, r, &bobTok)
	bobSecrets := []string{bobTok.ID, bobTok.Token, "bob-private-ledger", `"bob"`}

	// A console token for A reads A's tokens only: B's record, logs and
	// actions are 404, a filter for B yields nothing of B's.
	aConsole, _ := e2eMintConsole(t, inst.URL, "envizi", host.secret, "alice")
	for _, c := range []struct{ method, path string }{
		{http.MethodGet, "/api/tokens/" + bobTok.ID},
		{http.MethodGet, "/api/tokens/" + bobTok.ID + "/logs"},
		{http.MethodPost, "/api/tokens/" + bobTok.ID + "/_generate"},
		{http.MethodDelete, "/api/tokens/" + bobTok.ID},
	} {
		got := e2eDo(t, c.method, inst.URL+c.path, "", e2eBearer(aConsole))
		e2eWantStatus(t, "A's console token: "+c.method+" B's "+c.path, got.Status, http.StatusNotFound)
	}
	for _, q := range []string{"", "?owner=bob", "?type=api&owner=bob", "?status=generated-inactive"} {
		got := e2eDo(t, http.MethodGet, inst.URL+"/api/tokens"+q, "", e2eBearer(aConsole))
		for _, s := range bobSecrets {
			if s != "" && strings.Contains(got.Body, s) {
				t.Fatalf("A's console token: GET /api/tokens%s answered %d with B's data %q: %s", q, got.Status, s, got.Body)
			}
		}
	}
	e2eWantStatus(t, "bob's token still verifies", e2eVerify(t, inst.URL, bobTok.Token), http.StatusOK)

	// The browser: every request URL, every API answer's id, every console
	// message and exception.
	var mu sync.Mutex
	var urls []string
	apiBodies := map[network.RequestID]string{} // id -> URL of a finished sigil API answer
	pendingAPI := map[network.RequestID]string{}
	var consoleMsgs []string
	ctx := browser.Start(t, browser.WithWindowSize(1100, 760), browser.WithListener(func(ev any) {
		mu.Lock()
		defer mu.Unlock()
		switch e := ev.(type) {
		case *network.EventRequestWillBeSent:
			urls = append(urls, e.Request.Method+" "+e.Request.URL)
		case *network.EventResponseReceived:
			if strings.HasPrefix(e.Response.URL, inst.URL+"/api/") && e.Type != network.ResourceTypePreflight {
				pendingAPI[e.RequestID] = e.Response.URL
			}
		case *network.EventLoadingFinished:
			if u, ok := pendingAPI[e.RequestID]; ok {
				apiBodies[e.RequestID] = u
				delete(pendingAPI, e.RequestID)
			}
		case *cdpruntime.EventConsoleAPICalled:
			var parts []string
			for _, a := range e.Args {
				parts = append(parts, string(a.Value)+a.Description)
			}
			consoleMsgs = append(consoleMsgs, string(e.Type)+": "+strings.Join(parts, " "))
		case *cdpruntime.EventExceptionThrown:
			consoleMsgs = append(consoleMsgs, "exception: "+e.ExceptionDetails.Text)
		}
	}))
	c := &e2eComp{t: t, ctx: ctx}
	c.do("open the host page", chromedp.Navigate(host.URL+"/"))
	browser.GrantClipboard(t, ctx, strings.TrimSuffix(host.URL, "/"))
	c.waitFor("the empty grid", `el.dataset.state === "ready"`)
	if got := eval[string](c, `root.querySelector("tbody").textContent`); !strings.Contains(got, "No API access tokens yet") {
		t.Fatalf("empty grid says %q", got)
	}

	// Create New: the client-side rule (at least one scope) beside its field.
	c.do("open Create New", chromedp.Click(c.sel("button.primary")))
	c.dialogOpen("create")
	c.do("type a name", chromedp.SendKeys(c.sel("#name"), "CI pipeline"))
	c.do("submit without scopes", chromedp.Click(c.sel(`dialog button[type="submit"]`)))
	if got := eval[string](c, `root.querySelector("#scopes-error").textContent`); got != "Choose at least one scope." {
		t.Fatalf("scopes error %q", got)
	}
	if !eval[bool](c, `root.activeElement === root.querySelector("#scopes input")`) {
		t.Errorf("focus did not move to the scopes")
	}
	if got := eval[string](c, `root.querySelector("#expires-hint").textContent`); !strings.Contains(got, "from when the token is generated") {
		t.Errorf("the Expires on hint does not say it counts from generation: %q", got)
	}
	c.do("choose 7 days and two scopes",
		chromedp.SetValue(c.sel("#expires"), "7d"),
		chromedp.Click(c.sel("#scope-0")),
		chromedp.Click(c.sel("#scope-1")),
	)
	c.check("create")
	c.do("create", chromedp.Click(c.sel(`dialog button[type="submit"]`)))
	c.waitFor("the new row", `[...root.querySelectorAll("tbody th")].some(th => th.textContent === "CI pipeline")`)
	c.waitFor("focus back on Create New", `root.activeElement?.textContent === "Create New"`)
	if got, want := strings.Join(c.row("CI pipeline"), " | "), "CI pipeline | Not generated | 7 days after generation | Meta RecordReport Record | Never used | Actions ▾"; got != want {
		t.Fatalf("new row:\n got %s\nwant %s", got, want)
	}

	// The same name again, with the keyboard only (Enter on Create New,
	// focus starts in Name, Tab through Expires on and the scopes, Space
	// checks, Tab to Create): sigil's 409 is shown beside the name field.
	c.do("open Create New again from the keyboard", chromedp.Focus(c.sel("button.primary")), chromedp.KeyEvent(kb.Enter))
	c.dialogOpen("create")
	if !eval[bool](c, `root.activeElement === root.querySelector("#name")`) {
		t.Fatalf("focus did not start in Name")
	}
	c.do("type the same name", chromedp.KeyEvent("CI pipeline"), chromedp.KeyEvent(kb.Tab), chromedp.KeyEvent(kb.Tab))
	if !eval[bool](c, `root.activeElement === root.querySelector("#scope-0")`) {
		t.Fatalf("Tab from Name did not reach the first scope through Expires on (at %s)", eval[string](c, `root.activeElement?.id`))
	}
	c.do("check it and tab to Create", chromedp.KeyEvent(" "), chromedp.KeyEvent(kb.Tab), chromedp.KeyEvent(kb.Tab), chromedp.KeyEvent(kb.Tab))
	if got := eval[string](c, `root.activeElement.textContent`); got != "Create" {
		t.Fatalf("focus on %q, want Create", got)
	}
	c.do("submit", chromedp.KeyEvent(kb.Enter))
	c.waitFor("the 409 beside the name", `root.querySelector("#name-error").textContent !== ""`)
	if !eval[bool](c, `root.querySelector("#name").getAttribute("aria-invalid") === "true" && root.activeElement === root.querySelector("#name")`) {
		t.Errorf("the name field is not marked invalid and focused after the 409")
	}
	c.check("create-error")
	c.do("cancel with Escape", chromedp.KeyEvent(kb.Escape))
	c.waitFor("the dialog to close", `!root.querySelector("dialog")`)
	c.check("grid")

	// Generate Token, from the keyboard: the JWT once, a copy button, the expiry.
	c.menu("CI pipeline", "Generate Token", "menu")
	c.dialogOpen("generated")
	warning := eval[string](c, `root.querySelector("#jwt-warning").textContent`)
	if !strings.Contains(warning, "will not be shown again") {
		t.Fatalf("the show-once dialog says %q", warning)
	}
	jwt := eval[string](c, `root.querySelector("#jwt").value`)
	if strings.Count(jwt, ".") != 2 {
		t.Fatalf("no JWT in the dialog: %q", jwt)
	}
	c.check("generated")
	c.do("copy", chromedp.Click(c.sel("dialog .copy-row button")))
	c.waitFor("the copy to be confirmed", `root.querySelector("#copy-status").textContent !== ""`)
	copied := browser.Clipboard(t, ctx)
	if copied != jwt {
		t.Fatalf("clipboard holds %d chars, not the JWT shown (status %q)", len(copied), eval[string](c, `root.querySelector("#copy-status").textContent`))
	}
	shownExpiry := eval[string](c, `root.querySelector("dialog[data-dialog=generated] time")?.getAttribute("datetime") || ""`)
	c.do("done", chromedp.Click(c.sel(`dialog[data-dialog=generated] .buttons button`)))
	c.waitFor("the dialog to close and the JWT to leave the page", `!root.querySelector("dialog") && !root.innerHTML.includes("eyJ")`)
	ciID := eval[string](c, `root.querySelector("tbody tr").dataset.id`)
	var rec e2eTokenTimes
	e2eJSON(t, e2eDo(t, http.MethodGet, inst.URL+"/api/tokens/"+ciID, "", envizi), &rec)
	if rec.GeneratedAt == nil || rec.ExpiresAt == nil || shownExpiry != *rec.ExpiresAt {
		t.Fatalf("expiry shown %q, record %+v", shownExpiry, rec)
	}
	gen, _ := time.Parse(time.RFC3339, *rec.GeneratedAt)
	exp, _ := time.Parse(time.RFC3339, *rec.ExpiresAt)
	if d := exp.Sub(gen) - 7*24*time.Hour; d < -time.Second || d > time.Second {
		t.Errorf("7-day preset: generated %s, expires %s: want 7 days from generation", gen, exp)
	}

	// The copied JWT works; the grid shows Generated – active once the use is recorded.
	e2eWantStatus(t, "verify the copied JWT", e2eVerify(t, inst.URL, copied), http.StatusOK)
	deadline := time.Now().Add(20 * time.Second)
	for {
		c.do("refresh", chromedp.Click(c.sel(".toolbar button:not(.primary)")))
		c.waitFor("the refresh", `el.dataset.state === "ready" && root.querySelector("table").getAttribute("aria-busy") === "false"`)
		if row := c.row("CI pipeline"); len(row) > 1 && row[1] == "Generated – active" {
			if row[4] == "Never used" {
				t.Errorf("last used not shown: %v", row)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("status never became Generated – active: %v", c.row("CI pipeline"))
		}
		time.Sleep(200 * time.Millisecond)
	}
	c.check("grid-active")

	// Regenerate (confirmed): the old JWT dies at once.
	c.menu("CI pipeline", "Regenerate Token", "")
	c.dialogOpen("confirm")
	if !eval[bool](c, `root.activeElement.textContent === "Cancel"`) {
		t.Errorf("the confirmation does not start on Cancel")
	}
	c.check("regenerate-confirm")
	c.do("confirm", chromedp.Click(c.sel(`dialog[data-dialog=confirm] button.primary`)))
	c.dialogOpen("generated")
	jwt2 := eval[string](c, `root.querySelector("#jwt").value`)
	if jwt2 == "" || jwt2 == jwt {
		t.Fatalf("regenerate showed no new JWT")
	}
	c.do("close with Escape", chromedp.KeyEvent(kb.Escape))
	c.waitFor("focus back on the row's actions", `root.activeElement?.getAttribute("aria-label") === "Actions for CI pipeline"`)
	e2eWantStatus(t, "verify the old JWT after regeneration", e2eVerify(t, inst.URL, jwt), http.StatusUnauthorized)

	// Token Logs, newest first, in pages of 4.
	want := []string{"AUTHENTICATE FAIL", "GENERATE OK", "AUTHENTICATE OK", "GENERATE OK", "CREATE OK"}
	var logs []string
	deadline = time.Now().Add(20 * time.Second)
	for {
		c.menu("CI pipeline", "Token Logs", "")
		c.dialogOpen("logs")
		c.waitFor("the logs", `root.querySelector("dialog table").getAttribute("aria-busy") === "false"`)
		logs = c.logRows()
		if len(logs) >= 4 && strings.HasPrefix(logs[0], "AUTHENTICATE FAIL") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("logs never showed the failed use of the old JWT: %v", logs)
		}
		c.do("close", chromedp.KeyEvent(kb.Escape))
		time.Sleep(200 * time.Millisecond)
	}
	c.check("logs")
	c.do("next page", chromedp.Click(c.sel(`dialog nav button:last-child`)))
	c.waitFor("page 2", `root.querySelector("dialog nav span").textContent === "Page 2"`)
	logs = append(logs, c.logRows()...)
	if len(logs) != len(want) {
		t.Fatalf("logs %v, want %v", logs, want)
	}
	for i, w := range want {
		if !strings.HasPrefix(logs[i], w) {
			t.Errorf("log %d: %q, want %s (all %v)", i, logs[i], w, logs)
		}
	}
	c.do("close the logs", chromedp.Click(c.sel(`dialog[data-dialog=logs] .buttons button`)))
	c.waitFor("focus back on the row's actions", `root.activeElement?.getAttribute("aria-label") === "Actions for CI pipeline"`)
	e2eWantStatus(t, "verify the new JWT", e2eVerify(t, inst.URL, jwt2), http.StatusOK)

	// Revoke (confirmed): the record stays, with status Revoked.
	c.menu("CI pipeline", "Revoke", "")
	c.dialogOpen("confirm")
	c.do("confirm", chromedp.Click(c.sel(`dialog[data-dialog=confirm] button.danger`)))
	c.waitFor("the revocation", `root.querySelector(".notice[role=status]").textContent.includes("was revoked") && root.querySelector("table").getAttribute("aria-busy") === "false"`)
	if row := c.row("CI pipeline"); len(row) < 2 || row[1] != "Revoked" {
		t.Errorf("after revoke the row is %v, want it kept with status Revoked", row)
	}
	if got := eval[[]string](c, `[...root.querySelectorAll("button.actions")].map(b => b.getAttribute("aria-label"))`); len(got) != 1 || got[0] != "Actions for CI pipeline" {
		t.Errorf("actions buttons after revoke: %v", got)
	}
	c.check("grid-revoked")
	// The revoked token's logs stay readable, REVOKE newest.
	if len(c.row("CI pipeline")) > 0 {
		c.menu("CI pipeline", "Token Logs", "")
		c.dialogOpen("logs")
		c.waitFor("the logs", `root.querySelector("dialog table").getAttribute("aria-busy") === "false"`)
		if logs := c.logRows(); len(logs) == 0 || !strings.HasPrefix(logs[0], "REVOKE OK") {
			t.Errorf("logs after revoke: %v, want REVOKE OK first", logs)
		}
		c.do("close the logs", chromedp.KeyEvent(kb.Escape))
		c.waitFor("the dialog to close", `!root.querySelector("dialog")`)
	}
	e2eWantStatus(t, "verify after revoke", e2eVerify(t, inst.URL, jwt2), http.StatusUnauthorized)

	// A name is text, never markup: an owner's token named like an XSS
	// payload shows as those characters and runs nothing.
	const xssName = `<img src=x onerror="window.__xss=1">`
	r = e2eDo(t, http.MethodPost, inst.URL+"/api/tokens", fmt.Sprintf(`{"type":"api","owner":"alice","name":%q,"scopes":["meta:read"],"expiresIn":"1d","generate":false}`, xssName), envizi)
	e2eWantStatus(t, "a token named like markup", r.Status, http.StatusCreated)
	c.do("refresh", chromedp.Click(c.sel(".toolbar button:not(.primary)")))
	c.waitFor("the markup-named row", fmt.Sprintf(`[...root.querySelectorAll("tbody th")].some(th => th.textContent === %q)`, xssName))
	if eval[bool](c, `!!root.querySelector("tbody img") || window.__xss === 1`) {
		t.Fatalf("a token name was parsed as HTML")
	}

	// Nothing leaked: no token in a URL, in storage or in the DOM; no CSP
	// violation, no error; no answer to the component carried B's data.
	if n := eval[float64](c, `localStorage.length + sessionStorage.length`); n != 0 {
		t.Errorf("the page stored %v items", n)
	}
	if eval[bool](c, `document.documentElement.outerHTML.includes("eyJ") || root.innerHTML.includes("eyJ")`) {
		t.Errorf("a JWT is left in the DOM")
	}
	if v := eval[[]string](c, `window.__cspViolations`); len(v) != 0 {
		t.Errorf("CSP violations: %v", v)
	}
	// The watcher sees violations: a canary inline style is reported.
	eval[bool](c, `(() => { const s = document.createElement("style"); s.textContent = "p{}"; document.head.append(s); return true; })()`)
	c.waitFor("the canary's CSP report", `window.__cspViolations.some(v => v.startsWith("style-src"))`)
	if v := eval[[]string](c, `window.__errors`); len(v) != 0 {
		t.Errorf("page errors: %v", v)
	}
	if n := eval[float64](c, `window.__sessionExpired`); n != 0 {
		t.Errorf("sigil-session-expired fired %v times", n)
	}
	// The refused first token was replaced once, then the console token
	// was reused: not one getToken per request.
	if n := eval[float64](c, `window.__getTokenCalls`); n != 2 {
		t.Errorf("getToken called %v times, want 2 (a refused token, then one that lasts)", n)
	}
	// Themed by the host's custom properties, through the shadow boundary.
	if bg := eval[string](c, `getComputedStyle(root.querySelector(".toolbar button.primary")).backgroundColor`); bg != "rgb(20, 33, 61)" {
		t.Errorf("Create New background %s, want the host's --sigil-color-primary #14213d", bg)
	}

	// Renewal: a console token about to expire (inside the 30s margin) is
	// replaced before each call; a fresh one is reused.
	refreshCalls := func(what string) float64 {
		t.Helper()
		before := eval[float64](c, `window.__getTokenCalls`)
		c.do(what, chromedp.Click(c.sel(".toolbar button:not(.primary)")))
		c.waitFor(what, `el.dataset.state === "ready" && root.querySelector("table").getAttribute("aria-busy") === "false"`)
		return eval[float64](c, `window.__getTokenCalls`) - before
	}
	host.mu.Lock()
	host.nearExpiry = true
	host.mu.Unlock()
	if n := refreshCalls("refresh with a lasting token"); n != 0 {
		t.Errorf("a lasting console token was replaced %v times", n)
	}
	// Setting getToken again drops the cached token and reloads with a new one.
	eval[bool](c, `(el.getToken = el.getToken, true)`)
	c.waitFor("the reload with a token about to expire", `el.dataset.state === "ready" && root.querySelector("table").getAttribute("aria-busy") === "false"`)
	for i := 0; i < 2; i++ {
		if n := refreshCalls("refresh with a token about to expire"); n != 1 {
			t.Errorf("refresh %d with a console token about to expire asked getToken %v times, want 1", i, n)
		}
	}
	host.mu.Lock()
	host.nearExpiry = false
	host.mu.Unlock()
	if n := refreshCalls("refresh to get a lasting token"); n != 1 {
		t.Errorf("asked getToken %v times, want 1", n)
	}
	if n := refreshCalls("refresh with it"); n != 0 {
		t.Errorf("a lasting console token was replaced %v times", n)
	}

	// Sign-out: the host session ends and the console token is invalidated
	// (logout); the next call is refused, getToken fails, and the component
	// says so and tells the host page.
	host.mu.Lock()
	host.signedOut = true
	last := host.consoleTokens[len(host.consoleTokens)-1]
	host.mu.Unlock()
	e2eWantStatus(t, "log the console token out", e2eInvalidate(t, inst.URL, last).Status, http.StatusNoContent)
	c.do("refresh after sign-out", chromedp.Click(c.sel(".toolbar button:not(.primary)")))
	c.waitFor("the end of the session", `window.__sessionExpired > 0 && root.querySelector(".notice.alert").textContent.includes("Sign in again")`)
	if got := eval[string](c, `el.dataset.state + ": " + root.querySelector("tbody").textContent`); got != "error: Signed out." {
		t.Errorf("after sign-out the grid shows %q, want the previous session's rows gone", got)
	}
	c.check("signed-out")
	mu.Lock()
	defer mu.Unlock()
	host.mu.Lock()
	secrets := append([]string{jwt, jwt2, "eyJ", "token="}, host.consoleTokens...)
	host.mu.Unlock()
	for _, u := range urls {
		for _, s := range secrets {
			if strings.Contains(u, s) {
				t.Errorf("a token in a request URL: %s", u)
			}
		}
	}
	for _, m := range consoleMsgs {
		t.Errorf("console: %s", m)
	}
	if len(apiBodies) < 10 {
		t.Fatalf("only %d API answers seen", len(apiBodies))
	}
	for id, u := range apiBodies {
		res, err := chromedp.Call(ctx, network.GetResponseBody, network.GetResponseBodyParams{RequestID: id})
		if err != nil {
			t.Fatalf("body of %s: %v", u, err)
		}
		body := string(res.Body)
		if res.Base64encoded {
			b, _ := base64.StdEncoding.DecodeString(body)
			body = string(b)
		}
		for _, s := range bobSecrets {
			if s != "" && strings.Contains(body, s) {
				t.Errorf("the component received B's data %q from %s: %s", s, u, body)
			}
		}
	}
	t.Logf("%d requests, %d API answers checked", len(urls), len(apiBodies))
}

// logRows are the rows of the logs dialog as "ACTIVITY RESULT by".
func (c *e2eComp) logRows() []string {
	c.t.Helper()
	return eval[[]string](c, `[...root.querySelectorAll("dialog tbody tr")].filter(r => r.children.length === 4)
		.map(r => r.children[0].textContent + " " + r.children[3].textContent + " " + r.children[2].textContent)`)
}

type e2eTokenTimes struct {
	GeneratedAt *string `json:"generatedAt"`
	ExpiresAt   *string `json:"expiresAt"`
}

// TestE2E_ComponentOriginNotAllowed: a host page whose origin is in
// http.cors_allowed_origins (it may mint and verify embed tokens) but not
// in console.allowed_origins loads the component, and the browser refuses
// it every answer of the console token's routes: the grid says sigil could
// not be reached, and nothing was read.
func TestE2E_ComponentOriginNotAllowed(t *testing.T) {
	host := newE2EHostApp(t, "envizi", "alice")
	inst := e2eStart(t, map[string]string{
		"SIGIL_ADMIN_SECRET":              e2eAdminSecret,
		"SIGIL_HTTP_CORS_ALLOWED_ORIGINS": host.URL,
		"SIGIL_CONSOLE_ALLOWED_ORIGINS":   "https://tokens.example.com",
	})
	host.sigil = inst.URL
	admin := e2eBasic("admin", e2eAdminSecret)
	r := e2eDo(t, http.MethodPost, inst.URL+"/api/clients", `{"id":"envizi","resources":["api:*"]}`, admin)
	e2eWantStatus(t, "create the host's client", r.Status, http.StatusCreated)
	host.secret = e2eJSONField(t, r.Body, "secret")
	e2eWantStatus(t, "grant the role", e2eDo(t, http.MethodPut, inst.URL+"/api/owners/alice/roles/api-tokens", "", admin).Status, http.StatusNoContent)

	var mu sync.Mutex
	read := 0 // answers of the console routes the page was handed
	ctx := browser.Start(t, browser.WithWindowSize(1100, 760), browser.WithListener(func(ev any) {
		if e, ok := ev.(*network.EventResponseReceived); ok && e.Type != network.ResourceTypePreflight &&
			strings.HasPrefix(e.Response.URL, inst.URL+"/api/") && e.Response.Status == http.StatusOK {
			mu.Lock()
			read++
			mu.Unlock()
		}
	}))
	c := &e2eComp{t: t, ctx: ctx}
	c.do("open the host page", chromedp.Navigate(host.URL+"/"))
	c.waitFor("the refusal", `el.dataset.state === "error"`)
	if got := eval[string](c, `root.querySelector(".notice.alert").textContent`); !strings.Contains(got, "could not be reached") {
		t.Fatalf("the component says %q", got)
	}
	if n := eval[float64](c, `window.__sessionExpired`); n != 0 {
		t.Errorf("a CORS refusal was taken for an expired session (%v)", n)
	}
	mu.Lock()
	defer mu.Unlock()
	if read != 0 {
		t.Fatalf("the page was handed %d answers of the console routes", read)
	}
}
