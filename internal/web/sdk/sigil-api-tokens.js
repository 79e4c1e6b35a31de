// sigil-api-tokens.js — <sigil-api-tokens>, the "My API access tokens" page
// of one owner as a web component (no framework, no CDN, Shadow DOM).
//
//   <script type="module" src="https://sigil.example.com/sdk/sigil-api-tokens.js"></script>
//   <sigil-api-tokens></sigil-api-tokens>
//   <script type="module" src="/app.js"></script>   // app.js:
//     document.querySelector("sigil-api-tokens").getToken = async () =>
//       (await fetch("/my-backend/sigil-console-token", { method: "POST" })).json();
//
// getToken returns the console token sigil minted for the signed-in user
// (POST /api/console-tokens, made by the host's backend), either as a string
// or as sigil's answer {token, expiresAt}. The component keeps it in memory
// only (never in an attribute, a URL, storage or a log), sends it as
// Authorization: Bearer, and calls getToken again shortly before it expires
// or when sigil answers 401. The sigil origin is the one this module was
// loaded from, or the base-url attribute. See docs/component.md.
//
// Strict-CSP safe: no inline script or style, no HTML parsing, no eval; the
// styles are a constructed stylesheet adopted by the shadow root.

const STATUS_LABELS = {
  "not-generated": "Not generated",
  "generated-inactive": "Generated \u2013 inactive",
  "generated-active": "Generated \u2013 active",
  revoked: "Revoked",
  expired: "Expired",
};

const PRESETS = [
  ["1d", "1 day"],
  ["7d", "7 days"],
  ["30d", "30 days"],
  ["60d", "60 days"],
  ["90d", "90 days"],
  ["1y", "1 year"],
  ["never", "Never"],
];
const PRESET_LABELS = Object.fromEntries(PRESETS);

// A console token is renewed this long before its expiry.
const RENEW_BEFORE_MS = 30_000;

const STYLES = `
:host {
  display: block;
  font-family: var(--sigil-font-family, system-ui, -apple-system, "Segoe UI", sans-serif);
  font-size: var(--sigil-font-size, 0.9375rem);
  color: var(--sigil-color-text, #1f2328);
  background: var(--sigil-color-background, #ffffff);
  line-height: 1.4;
}
:host([hidden]) { display: none; }
* { box-sizing: border-box; }
:focus-visible { outline: 2px solid var(--sigil-color-focus, #0b57d0); outline-offset: 2px; }
.vh { position: absolute; width: 1px; height: 1px; margin: -1px; padding: 0; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; border: 0; }
.toolbar { display: flex; align-items: center; gap: var(--sigil-space, 0.5rem); flex-wrap: wrap; margin-bottom: var(--sigil-space, 0.5rem); }
.toolbar h2 { margin: 0 auto 0 0; font-size: 1.25em; }
h2:focus { outline: none; }
button {
  font: inherit; cursor: pointer; padding: 0.375em 0.875em;
  border-radius: var(--sigil-radius, 6px);
  border: 1px solid var(--sigil-color-border, #8c959f);
  background: var(--sigil-color-surface, #f6f8fa); color: var(--sigil-color-text, #1f2328);
}
button:hover { filter: brightness(0.96); }
button:disabled { cursor: not-allowed; opacity: 0.6; }
button.primary { background: var(--sigil-color-primary, #0b57d0); border-color: var(--sigil-color-primary, #0b57d0); color: var(--sigil-color-on-primary, #ffffff); }
button.danger { background: var(--sigil-color-danger, #b3261e); border-color: var(--sigil-color-danger, #b3261e); color: var(--sigil-color-on-danger, #ffffff); }
table { width: 100%; border-collapse: collapse; }
th, td { text-align: left; padding: 0.5em 0.625em; border-bottom: 1px solid var(--sigil-color-border, #d0d7de); vertical-align: top; }
thead th { font-weight: 600; background: var(--sigil-color-surface, #f6f8fa); }
tbody th { font-weight: 600; }
td.empty { color: var(--sigil-color-muted, #57606a); text-align: center; padding: 1.5em; }
.muted { color: var(--sigil-color-muted, #57606a); }
.badge { display: inline-block; padding: 0.0625em 0.5em; border-radius: 999px; font-size: 0.875em; white-space: nowrap; border: 1px solid transparent; }
.badge.not-generated { background: #eaeef2; color: #32383f; }
.badge.generated-inactive { background: #fff8c5; color: #6b4400; border-color: #d4a72c; }
.badge.generated-active { background: #dafbe1; color: #0f5323; border-color: #4ac26b; }
.badge.revoked, .badge.expired { background: #ffebe9; color: #82071e; border-color: #ff8182; }
.scopes { margin: 0; padding: 0; list-style: none; }
.pager { display: flex; gap: var(--sigil-space, 0.5rem); align-items: center; justify-content: flex-end; margin-top: var(--sigil-space, 0.5rem); }
.menu-wrap { position: relative; display: inline-block; }
button.actions, .badge, td time { white-space: nowrap; }
[role="menu"] {
  position: absolute; right: 0; top: 100%; z-index: 10; min-width: 12em; margin: 0.25em 0 0; padding: 0.25em 0;
  background: var(--sigil-color-background, #ffffff); border: 1px solid var(--sigil-color-border, #8c959f);
  border-radius: var(--sigil-radius, 6px); box-shadow: 0 4px 16px rgb(0 0 0 / 0.15);
}
[role="menuitem"] { display: block; width: 100%; text-align: left; border: 0; border-radius: 0; background: transparent; padding: 0.5em 1em; }
[role="menuitem"]:hover, [role="menuitem"]:focus { background: var(--sigil-color-surface, #eaeef2); }
[role="menuitem"].danger-item { color: var(--sigil-color-danger, #b3261e); }
dialog {
  border: 1px solid var(--sigil-color-border, #8c959f); border-radius: var(--sigil-radius, 6px);
  padding: 1.25em 1.5em; max-width: min(40em, 95vw); width: 100%;
  color: var(--sigil-color-text, #1f2328); background: var(--sigil-color-background, #ffffff);
}
dialog.wide { max-width: min(52em, 95vw); }
dialog::backdrop { background: rgb(0 0 0 / 0.45); }
dialog h2 { margin-top: 0; font-size: 1.2em; }
.field { margin-bottom: 1em; }
.field > label, legend { display: block; font-weight: 600; margin-bottom: 0.25em; }
fieldset { border: 0; padding: 0; margin: 0 0 1em; }
fieldset label { display: block; padding: 0.125em 0; }
input[type="text"], select, textarea {
  font: inherit; width: 100%; padding: 0.375em 0.5em; color: inherit; background: var(--sigil-color-background, #ffffff);
  border: 1px solid var(--sigil-color-border, #8c959f); border-radius: var(--sigil-radius, 6px);
}
textarea { font-family: ui-monospace, SFMono-Regular, Menlo, monospace; font-size: 0.85em; word-break: break-all; resize: vertical; }
[aria-invalid="true"] { border-color: var(--sigil-color-danger, #b3261e); }
.hint { margin: 0.25em 0 0; font-size: 0.875em; color: var(--sigil-color-muted, #57606a); }
.error { margin: 0.25em 0 0; font-size: 0.875em; color: var(--sigil-color-danger, #b3261e); }
.error:empty, .notice:empty { display: none; }
.notice { margin: 0 0 var(--sigil-space, 0.5rem); padding: 0.5em 0.75em; border-radius: var(--sigil-radius, 6px); background: var(--sigil-color-surface, #f6f8fa); border: 1px solid var(--sigil-color-border, #d0d7de); }
.notice.alert { background: #ffebe9; color: #82071e; border-color: #ff8182; }
.warning { padding: 0.5em 0.75em; border-left: 4px solid #d4a72c; background: #fff8c5; color: #4d2d00; }
.buttons { display: flex; gap: var(--sigil-space, 0.5rem); justify-content: flex-end; margin-top: 1em; flex-wrap: wrap; }
.copy-row { display: flex; gap: var(--sigil-space, 0.5rem); align-items: center; margin-top: 0.5em; }
`;

let sheet = null;
function styleSheet() {
  if (!sheet) {
    sheet = new CSSStyleSheet();
    sheet.replaceSync(STYLES);
  }
  return sheet;
}

/**
 * h builds an element: attrs are attributes (true = present, null/false =
 * absent), "on…" keys are listeners and value/checked are properties;
 * children are nodes or text (never parsed as HTML).
 */
function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v == null || v === false) continue;
    if (k.startsWith("on") && typeof v === "function") el.addEventListener(k.slice(2), v);
    else if (k === "value" || k === "checked") el[k] = v;
    else el.setAttribute(k, v === true ? "" : String(v));
  }
  for (const c of children.flat(Infinity)) {
    if (c == null || c === false) continue;
    el.append(c instanceof Node ? c : String(c));
  }
  return el;
}

// sentence makes sigil's error message ("name is required") read as one.
function sentence(msg) {
  const m = String(msg || "").trim();
  if (!m) return "";
  return m[0].toUpperCase() + m.slice(1) + (/[.!?]$/.test(m) ? "" : ".");
}

/** SigilAPIError is a non-success answer of sigil: its status and {code, message, field}. */
export class SigilAPIError extends Error {
  constructor(status, code, message, field) {
    super(message || `sigil answered ${status}`);
    this.name = "SigilAPIError";
    this.status = status;
    this.code = code || "";
    this.field = field || "";
  }
}

// jwtExpiry is the exp of a JWT (ms since the epoch), 0 when unreadable.
function jwtExpiry(token) {
  try {
    const seg = token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
    const exp = JSON.parse(atob(seg + "=".repeat((4 - (seg.length % 4)) % 4))).exp;
    return typeof exp === "number" ? exp * 1000 : 0;
  } catch {
    return 0;
  }
}

const dateFormat = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });

function timeEl(iso, fallback) {
  if (!iso) return h("span", { class: "muted" }, fallback);
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return h("span", { class: "muted" }, fallback);
  return h("time", { datetime: iso }, dateFormat.format(d));
}

/**
 * SigilAPITokens is <sigil-api-tokens>: one owner's API access tokens
 * (grid, Create New, Generate/Regenerate with the show-once dialog, Revoke,
 * Token Logs) over sigil's /api/tokens and /api/scopes.
 *
 * Properties: getToken (async () => string | {token, expiresAt}), required.
 * Attributes: base-url (sigil's URL; default: where this module came from),
 * page-size (rows per page of the grid and the logs, 1..100, default 10),
 * heading (the grid's title, default "My API access tokens").
 * Events: sigil-session-expired (getToken failed or sigil refused the console
 * token twice), sigil-token-change (detail {id, action}; never the JWT).
 */
export class SigilAPITokens extends HTMLElement {
  static observedAttributes = ["base-url", "page-size", "heading"];

  #root;
  #getToken = null;
  #console = null; // {token, exp} in memory only
  #consolePending = null;
  #scopes = null; // [{name, label}]
  #scopeLabels = new Map();
  #rows = [];
  #cursors = [""]; // cursor of each grid page seen so far
  #page = 0;
  #nextCursor = null;
  #loading = false;
  #els = {};
  #menu = null; // {wrap, button, list}
  #seq = 0;

  constructor() {
    super();
    this.#root = this.attachShadow({ mode: "open" });
    this.#root.adoptedStyleSheets = [styleSheet()];
  }

  /** getToken returns the console token (string or {token, expiresAt}). */
  get getToken() {
    return this.#getToken;
  }

  set getToken(fn) {
    if (fn != null && typeof fn !== "function") throw new TypeError("sigil-api-tokens: getToken must be a function");
    this.#getToken = fn || null;
    this.#console = null;
    if (this.isConnected && this.#els.table) this.refresh();
  }

  connectedCallback() {
    // A property set before the element was upgraded shadows the accessor.
    if (Object.prototype.hasOwnProperty.call(this, "getToken")) {
      const fn = this.getToken;
      delete this.getToken;
      this.getToken = fn;
    }
    if (!this.#els.table) this.#renderShell();
    if (this.#getToken) this.refresh();
    else this.#notice("Waiting for the host page to provide a sign-in token\u2026");
  }

  disconnectedCallback() {
    this.#closeMenu(false);
  }

  attributeChangedCallback(name) {
    if (name === "heading" && this.#els.heading) this.#els.heading.textContent = this.#heading();
    if (name === "base-url") this.#console = null;
  }

  get #baseURL() {
    const attr = this.getAttribute("base-url");
    return new URL(attr || "../", attr ? document.baseURI : import.meta.url).href.replace(/\/+$/, "");
  }

  get #pageSize() {
    const n = Number.parseInt(this.getAttribute("page-size") || "10", 10);
    return Number.isFinite(n) && n >= 1 && n <= 100 ? n : 10;
  }

  #heading() {
    return this.getAttribute("heading") || "My API access tokens";
  }

  /** refresh reloads the scopes and the first page of the grid. */
  async refresh() {
    this.#notice("");
    this.#cursors = [""];
    this.#page = 0;
    await this.#load();
  }

  // ---- API ---------------------------------------------------------------

  async #consoleToken(renew) {
    const now = Date.now();
    if (!renew && this.#console && (this.#console.exp === 0 || this.#console.exp - RENEW_BEFORE_MS > now)) {
      return this.#console.token;
    }
    if (!this.#getToken) throw new SigilAPIError(401, "no_token", "The host page has not provided a sign-in token.");
    if (!this.#consolePending) {
      this.#consolePending = (async () => {
        try {
          const got = await this.#getToken();
          const token = typeof got === "string" ? got : got && typeof got.token === "string" ? got.token : "";
          if (!token) throw new Error("getToken returned no token");
          let exp = got && typeof got === "object" && got.expiresAt ? Date.parse(got.expiresAt) : 0;
          if (!exp) exp = jwtExpiry(token);
          this.#console = { token, exp: Number.isFinite(exp) ? exp : 0 };
          return token;
        } catch {
          this.#console = null;
          this.dispatchEvent(new CustomEvent("sigil-session-expired", { bubbles: true, composed: true }));
          throw new SigilAPIError(401, "no_token", "Could not get a sign-in token from the host page. Sign in again.");
        } finally {
          this.#consolePending = null;
        }
      })();
    }
    return this.#consolePending;
  }

  async #api(method, path, body) {
    for (let attempt = 0; attempt < 2; attempt++) {
      const token = await this.#consoleToken(attempt > 0);
      const headers = { Authorization: `Bearer ${token}`, Accept: "application/json" };
      if (body !== undefined) headers["Content-Type"] = "application/json";
      let res;
      try {
        res = await fetch(this.#baseURL + path, {
          method,
          headers,
          body: body === undefined ? undefined : JSON.stringify(body),
          mode: "cors",
          credentials: "omit",
          cache: "no-store",
          referrerPolicy: "no-referrer",
        });
      } catch {
        throw new SigilAPIError(0, "network", "sigil could not be reached. Check your connection and try again.");
      }
      if (res.status === 401 && attempt === 0) continue; // the console token expired: ask the host once more
      if (res.status === 204) return null;
      let data = null;
      try {
        data = await res.json();
      } catch {
        data = null;
      }
      if (res.ok) return data;
      const e = (data && data.error) || {};
      if (res.status === 401) {
        this.#console = null;
        this.dispatchEvent(new CustomEvent("sigil-session-expired", { bubbles: true, composed: true }));
      }
      throw new SigilAPIError(res.status, e.code, e.message, e.field);
    }
    throw new SigilAPIError(401, "invalid_token", "Your session has expired. Sign in again.");
  }

  async #loadScopes() {
    if (this.#scopes) return;
    try {
      const data = await this.#api("GET", "/api/scopes");
      this.#scopes = Array.isArray(data && data.scopes) ? data.scopes : [];
    } catch (err) {
      if (err.status !== 404) throw err;
      this.#scopes = []; // an older sigil: scope names stand for their labels
    }
    this.#scopeLabels = new Map(this.#scopes.map((s) => [s.name, s.label || s.name]));
  }

  // ---- grid ----------------------------------------------------------------

  #renderShell() {
    const headingID = "grid-title";
    this.#els.heading = h("h2", { id: headingID, tabindex: "-1" }, this.#heading());
    this.#els.create = h("button", { type: "button", class: "primary", onclick: (ev) => this.#openCreate(ev.currentTarget) }, "Create New");
    this.#els.reload = h("button", { type: "button", onclick: () => this.#load() }, "Refresh");
    this.#els.notice = h("p", { class: "notice", role: "status" });
    this.#els.alert = h("p", { class: "notice alert", role: "alert" });
    this.#els.tbody = h("tbody");
    this.#els.table = h(
      "table",
      { "aria-labelledby": headingID, "aria-busy": "false" },
      h(
        "thead",
        {},
        h(
          "tr",
          {},
          ["Name", "Status", "Expires", "Scopes", "Last used"].map((c) => h("th", { scope: "col" }, c)),
          h("th", { scope: "col" }, h("span", { class: "vh" }, "Actions")),
        ),
      ),
      this.#els.tbody,
    );
    this.#els.prev = h("button", { type: "button", onclick: () => this.#goPage(-1) }, "Previous page");
    this.#els.next = h("button", { type: "button", onclick: () => this.#goPage(1) }, "Next page");
    this.#els.pageLabel = h("span", { class: "muted", "aria-live": "polite" });
    this.#root.replaceChildren(
      h("section", { "aria-labelledby": headingID },
        h("div", { class: "toolbar" }, this.#els.heading, this.#els.reload, this.#els.create),
        this.#els.alert,
        this.#els.notice,
        this.#els.table,
        h("nav", { class: "pager", "aria-label": "Token pages" }, this.#els.pageLabel, this.#els.prev, this.#els.next),
      ),
    );
    this.#root.addEventListener("keydown", (ev) => this.#menuKeys(ev));
    this.#root.addEventListener("focusout", (ev) => {
      if (this.#menu && !this.#menu.wrap.contains(ev.relatedTarget)) this.#closeMenu(false);
    });
    this.#root.addEventListener("click", (ev) => {
      if (this.#menu && !this.#menu.wrap.contains(ev.composedPath()[0])) this.#closeMenu(false);
    });
    this.#updatePager();
  }

  #notice(text) {
    if (this.#els.notice) this.#els.notice.textContent = text || "";
  }

  #alert(text) {
    if (this.#els.alert) this.#els.alert.textContent = text || "";
  }

  async #goPage(delta) {
    const page = this.#page + delta;
    if (page < 0 || (delta > 0 && !this.#nextCursor)) return;
    if (delta > 0) this.#cursors[page] = this.#nextCursor;
    this.#page = page;
    await this.#load();
  }

  async #load() {
    if (!this.#els.table) return;
    const seq = ++this.#seq;
    this.#loading = true;
    this.#els.table.setAttribute("aria-busy", "true");
    this.#updatePager();
    try {
      await this.#loadScopes();
      const q = new URLSearchParams({ limit: String(this.#pageSize) });
      const cursor = this.#cursors[this.#page];
      if (cursor) q.set("cursor", cursor);
      const data = await this.#api("GET", `/api/tokens?${q}`);
      if (seq !== this.#seq) return;
      this.#rows = ((data && data.tokens) || []).filter((t) => !t.type || t.type === "api");
      this.#nextCursor = (data && data.nextCursor) || null;
      this.#alert("");
      this.#renderRows();
      this.dataset.state = "ready";
    } catch (err) {
      if (seq !== this.#seq) return;
      this.#alert(sentence(err.message));
      this.dataset.state = "error";
      if (err.status === 401) {
        // Signed out: what the previous session showed goes away.
        this.#notice("");
        this.#rows = [];
        this.#nextCursor = null;
        this.#closeMenu(false);
        this.#els.tbody.replaceChildren(h("tr", {}, h("td", { colspan: "6", class: "empty" }, "Signed out.")));
      }
    } finally {
      if (seq === this.#seq) {
        this.#loading = false;
        this.#els.table.setAttribute("aria-busy", "false");
        this.#updatePager();
      }
    }
  }

  #updatePager() {
    const { prev, next, pageLabel } = this.#els;
    if (!prev) return;
    prev.disabled = this.#loading || this.#page === 0;
    next.disabled = this.#loading || !this.#nextCursor;
    pageLabel.textContent = `Page ${this.#page + 1}`;
  }

  #expiresCell(t) {
    if (t.expiresAt) return timeEl(t.expiresAt, "");
    if (t.status === "not-generated" && t.expiresIn && t.expiresIn !== "never") {
      return h("span", {}, `${PRESET_LABELS[t.expiresIn] || t.expiresIn} after generation`);
    }
    return h("span", {}, "Never");
  }

  #renderRows() {
    const rows = this.#rows.map((t, i) =>
      h(
        "tr",
        { "data-id": t.id },
        h("th", { scope: "row" }, t.name || h("span", { class: "muted" }, "(unnamed)")),
        h("td", {}, h("span", { class: `badge ${t.status}` }, STATUS_LABELS[t.status] || t.status)),
        h("td", {}, this.#expiresCell(t)),
        h("td", {}, h("ul", { class: "scopes" }, (t.scopes || []).map((s) => h("li", { title: s }, this.#scopeLabels.get(s) || s)))),
        h("td", {}, timeEl(t.lastUsedAt, "Never used")),
        h("td", {}, this.#actionsButton(t, i)),
      ),
    );
    if (rows.length === 0) {
      rows.push(h("tr", {}, h("td", { colspan: "6", class: "empty" }, this.#page === 0 ? "No API access tokens yet. Use Create New to add one." : "No more tokens.")));
    }
    // Focus on a row's Actions button or in its open menu survives the
    // reload that replaces the row: it lands on the new row's button.
    const focused = this.#root.activeElement;
    const wrap = focused && focused.closest(".menu-wrap");
    const focusedID = wrap ? wrap.querySelector("button.actions").dataset.id : null;
    this.#closeMenu(false);
    this.#els.tbody.replaceChildren(...rows);
    if (focusedID) {
      const again = this.#els.tbody.querySelector(`button.actions[data-id="${CSS.escape(focusedID)}"]`);
      (again || this.#els.heading).focus();
    }
  }

  // ---- actions menu (WAI-ARIA menu button) ---------------------------------

  #actions(t) {
    const items = [];
    if (t.status === "not-generated") items.push(["generate", "Generate Token"]);
    if (t.status === "generated-inactive" || t.status === "generated-active") items.push(["regenerate", "Regenerate Token"]);
    items.push(["logs", "Token Logs"]);
    if (t.status !== "revoked" && t.status !== "expired") items.push(["revoke", "Revoke"]);
    return items;
  }

  #actionsButton(t, i) {
    const menuID = `menu-${i}`;
    const button = h("button", {
      type: "button",
      class: "actions",
      "aria-haspopup": "menu",
      "aria-expanded": "false",
      "aria-controls": menuID,
      "aria-label": `Actions for ${t.name || t.id}`,
      "data-id": t.id,
    }, "Actions \u25BE");
    const wrap = h("div", { class: "menu-wrap" }, button);
    const open = (focusLast) => this.#openMenu(t, wrap, button, menuID, focusLast);
    button.addEventListener("click", () => (this.#menu && this.#menu.button === button ? this.#closeMenu(true) : open(false)));
    button.addEventListener("keydown", (ev) => {
      if (ev.key === "ArrowDown" || ev.key === "ArrowUp") {
        ev.preventDefault();
        open(ev.key === "ArrowUp");
      }
    });
    return wrap;
  }

  #openMenu(t, wrap, button, menuID, focusLast) {
    this.#closeMenu(false);
    const list = h("div", { role: "menu", id: menuID, "aria-label": `Actions for ${t.name || t.id}` },
      this.#actions(t).map(([action, label]) =>
        h("button", {
          type: "button",
          role: "menuitem",
          tabindex: "-1",
          class: action === "revoke" ? "danger-item" : null,
          "data-action": action,
          onclick: () => {
            this.#closeMenu(false);
            this.#act(action, t, button);
          },
        }, label),
      ),
    );
    wrap.append(list);
    button.setAttribute("aria-expanded", "true");
    this.#menu = { wrap, button, list };
    const items = list.querySelectorAll('[role="menuitem"]');
    items[focusLast ? items.length - 1 : 0].focus();
  }

  #closeMenu(focusButton) {
    if (!this.#menu) return;
    const { button, list } = this.#menu;
    this.#menu = null;
    list.remove();
    button.setAttribute("aria-expanded", "false");
    if (focusButton) button.focus();
  }

  #menuKeys(ev) {
    if (!this.#menu) return;
    const items = [...this.#menu.list.querySelectorAll('[role="menuitem"]')];
    const at = items.indexOf(this.#root.activeElement);
    if (at < 0) return;
    let to = -1;
    switch (ev.key) {
      case "ArrowDown": to = (at + 1) % items.length; break;
      case "ArrowUp": to = (at - 1 + items.length) % items.length; break;
      case "Home": to = 0; break;
      case "End": to = items.length - 1; break;
      case "Escape": ev.preventDefault(); this.#closeMenu(true); return;
      case "Tab": this.#closeMenu(false); return;
      default: return;
    }
    ev.preventDefault();
    items[to].focus();
  }

  #act(action, t, opener) {
    switch (action) {
      case "generate": return this.#generate(t, opener);
      case "regenerate":
        return this.#confirm(opener, {
          title: `Regenerate token \u201C${t.name}\u201D?`,
          text: "A new token is issued and the current one stops working immediately: every application that uses it will be refused until you give it the new token.",
          confirm: "Regenerate",
          onConfirm: () => this.#generate(t, opener),
        });
      case "revoke":
        return this.#confirm(opener, {
          title: `Revoke token \u201C${t.name}\u201D?`,
          text: "The token stops working immediately and cannot be generated again. Its record and logs stay visible here.",
          confirm: "Revoke",
          danger: true,
          onConfirm: async () => {
            await this.#api("DELETE", `/api/tokens/${encodeURIComponent(t.id)}`);
            this.#changed(t.id, "revoke");
            this.#notice(`Token \u201C${t.name}\u201D was revoked.`);
            await this.#load();
          },
        });
      case "logs": return this.#openLogs(t, opener);
    }
  }

  #changed(id, action) {
    this.dispatchEvent(new CustomEvent("sigil-token-change", { bubbles: true, composed: true, detail: { id, action } }));
  }

  // ---- dialogs -------------------------------------------------------------

  // #dialog shows a modal <dialog> (focus moves in, Escape closes, the page
  // behind is inert) and, once closed, removes it and moves focus back to
  // the control that opened it, or to what took its place after a reload.
  #dialog(opener, { name, wide = false, labelID, describedBy, role }, ...content) {
    const dlg = h("dialog", { class: wide ? "wide" : null, "aria-labelledby": labelID, "aria-describedby": describedBy, role, "data-dialog": name }, ...content);
    dlg.addEventListener("close", () => {
      dlg.remove();
      const id = opener && opener.dataset ? opener.dataset.id : null;
      let target = opener && opener.isConnected ? opener : null;
      if (!target && id) target = this.#root.querySelector(`button.actions[data-id="${CSS.escape(id)}"]`);
      (target || this.#els.heading).focus();
    });
    this.#root.append(dlg);
    dlg.showModal();
    return dlg;
  }

  #confirm(opener, { title, text, confirm, danger = false, onConfirm }) {
    const cancel = h("button", { type: "button", onclick: () => dlg.close() }, "Cancel");
    const ok = h("button", {
      type: "button",
      class: danger ? "danger" : "primary",
      onclick: async () => {
        ok.disabled = true;
        try {
          dlg.dataset.busy = "true";
          const next = onConfirm();
          dlg.close();
          await next;
        } catch (e) {
          this.#alert(sentence(e.message));
        }
      },
    }, confirm);
    const dlg = this.#dialog(opener, { name: "confirm", labelID: "confirm-title", describedBy: "confirm-text", role: "alertdialog" },
      h("h2", { id: "confirm-title" }, title),
      h("p", { id: "confirm-text" }, text),
      h("div", { class: "buttons" }, cancel, ok),
    );
    cancel.focus(); // the safe choice first
  }

  async #openCreate(opener) {
    try {
      await this.#loadScopes();
    } catch (e) {
      this.#alert(sentence(e.message));
      return;
    }
    const errs = {
      name: h("p", { class: "error", id: "name-error" }),
      expiresIn: h("p", { class: "error", id: "expires-error" }),
      scopes: h("p", { class: "error", id: "scopes-error" }),
      form: h("p", { class: "error", id: "form-error", role: "alert" }),
    };
    const name = h("input", { type: "text", id: "name", name: "name", required: true, maxlength: "200", autocomplete: "off", "aria-describedby": "name-hint name-error" });
    const expires = h("select", { id: "expires", name: "expiresIn", "aria-describedby": "expires-hint expires-error" },
      PRESETS.map(([v, label]) => h("option", { value: v, selected: v === "30d" }, label)));
    const boxes = this.#scopes.map((s, i) =>
      h("label", {}, h("input", { type: "checkbox", name: "scopes", value: s.name, id: `scope-${i}` }), " ", s.label || s.name));
    const scopes = h("fieldset", { id: "scopes", "aria-describedby": "scopes-error" },
      h("legend", {}, "Scopes (choose at least one)"),
      boxes.length ? boxes : h("p", { class: "muted" }, "sigil has no scopes configured."),
      errs.scopes);
    const submit = h("button", { type: "submit", class: "primary" }, "Create");
    const setErr = (field, msg) => {
      const target = errs[field] ? field : "form";
      errs[target].textContent = msg || "";
      const ctl = { name, expiresIn: expires, scopes }[target];
      if (ctl && target !== "scopes") ctl.setAttribute("aria-invalid", msg ? "true" : "false");
      if (target === "scopes") scopes.querySelectorAll("input").forEach((b) => b.setAttribute("aria-invalid", msg ? "true" : "false"));
      return ctl;
    };
    name.addEventListener("input", () => setErr("name", ""));
    scopes.addEventListener("change", () => setErr("scopes", ""));
    const form = h("form", {
      novalidate: true,
      onsubmit: async (ev) => {
        ev.preventDefault();
        Object.keys(errs).forEach((k) => setErr(k, ""));
        const chosen = [...scopes.querySelectorAll("input:checked")].map((b) => b.value);
        const body = { type: "api", name: name.value.trim(), scopes: chosen, expiresIn: expires.value, generate: false };
        let first = null;
        if (!body.name) first = setErr("name", "Enter a name for the token.");
        if (chosen.length === 0) first = first || (setErr("scopes", "Choose at least one scope."), scopes.querySelector("input"));
        if (first) {
          first.focus();
          return;
        }
        submit.disabled = true;
        try {
          const rec = await this.#api("POST", "/api/tokens", body);
          this.#changed(rec && rec.id, "create");
          dlg.close();
          this.#notice(`Token \u201C${body.name}\u201D was created. Generate it from its Actions menu when you need it.`);
          this.#cursors = [""];
          this.#page = 0;
          await this.#load();
        } catch (e) {
          const f = e.field === "expiresAt" ? "expiresIn" : e.field;
          const ctl = setErr(errs[f] ? f : "form", e.status === 409 && f === "name" ? "You already have a token with this name. Choose another name." : sentence(e.message));
          (f === "scopes" ? scopes.querySelector("input") : ctl || name).focus();
        } finally {
          submit.disabled = false;
        }
      },
    },
      h("h2", { id: "create-title" }, "Create new API access token"),
      h("div", { class: "field" },
        h("label", { for: "name" }, "Name"),
        name,
        h("p", { class: "hint", id: "name-hint" }, "Unique among your tokens."),
        errs.name),
      h("div", { class: "field" },
        h("label", { for: "expires" }, "Expires on"),
        expires,
        h("p", { class: "hint", id: "expires-hint" }, "Counted from when the token is generated, not from now."),
        errs.expiresIn),
      scopes,
      errs.form,
      h("div", { class: "buttons" }, h("button", { type: "button", onclick: () => dlg.close() }, "Cancel"), submit),
    );
    const dlg = this.#dialog(opener, { name: "create", labelID: "create-title" }, form);
    name.focus();
  }

  async #generate(t, opener) {
    let rec;
    try {
      rec = await this.#api("POST", `/api/tokens/${encodeURIComponent(t.id)}/_generate`);
    } catch (e) {
      this.#alert(sentence(e.message));
      await this.#load();
      return;
    }
    this.#changed(t.id, "generate");
    this.#notice(`Token \u201C${t.name}\u201D was generated.`);
    let jwt = (rec && rec.token) || "";
    const status = h("span", { role: "status", class: "muted", id: "copy-status" });
    const field = h("textarea", { id: "jwt", readonly: true, rows: "5", spellcheck: "false", autocomplete: "off", "aria-describedby": "jwt-warning" });
    field.value = jwt;
    const copy = h("button", {
      type: "button",
      class: "primary",
      onclick: async () => {
        try {
          await navigator.clipboard.writeText(jwt);
          status.textContent = "Copied to the clipboard.";
        } catch {
          field.focus();
          field.select();
          status.textContent = "Could not copy: the token is selected, press Ctrl+C (\u2318C) to copy it.";
        }
      },
    }, "Copy token");
    const done = h("button", { type: "button", onclick: () => dlg.close() }, "Done");
    const dlg = this.#dialog(opener, { name: "generated", wide: true, labelID: "gen-title", describedBy: "jwt-warning" },
      h("h2", { id: "gen-title" }, `Token \u201C${t.name}\u201D generated`),
      h("p", { class: "warning", id: "jwt-warning" },
        h("strong", {}, "Copy this token now: it will not be shown again."),
        " Store it somewhere safe. If you lose it, regenerate the token; the old one then stops working."),
      h("label", { for: "jwt" }, "API access token"),
      field,
      h("div", { class: "copy-row" }, copy, status),
      h("p", {}, "Expires: ", rec && rec.expiresAt ? timeEl(rec.expiresAt, "") : "Never"),
      h("div", { class: "buttons" }, done),
    );
    dlg.addEventListener("close", () => {
      field.value = ""; // the JWT leaves the page with the dialog
      jwt = "";
      this.#load();
    });
    copy.focus();
  }

  async #openLogs(t, opener) {
    const cursors = [""];
    let page = 0;
    let next = null;
    const tbody = h("tbody");
    const table = h("table", { "aria-labelledby": "logs-title", "aria-busy": "true" },
      h("thead", {}, h("tr", {}, ["Activity", "On", "By", "Result"].map((c) => h("th", { scope: "col" }, c)))),
      tbody);
    const err = h("p", { class: "error", role: "alert" });
    const label = h("span", { class: "muted", "aria-live": "polite" });
    const prev = h("button", { type: "button", onclick: () => go(-1) }, "Previous page");
    const nextBtn = h("button", { type: "button", onclick: () => go(1) }, "Next page");
    const load = async () => {
      table.setAttribute("aria-busy", "true");
      prev.disabled = nextBtn.disabled = true;
      try {
        const q = new URLSearchParams({ limit: String(this.#pageSize) });
        if (cursors[page]) q.set("cursor", cursors[page]);
        const data = await this.#api("GET", `/api/tokens/${encodeURIComponent(t.id)}/logs?${q}`);
        next = (data && data.nextCursor) || null;
        const logs = (data && data.logs) || [];
        err.textContent = "";
        tbody.replaceChildren(...(logs.length
          ? logs.map((l) => h("tr", {}, h("td", {}, l.activity), h("td", {}, timeEl(l.at, "")), h("td", {}, l.by), h("td", {}, l.result)))
          : [h("tr", {}, h("td", { colspan: "4", class: "empty" }, "No activity."))]));
      } catch (e) {
        err.textContent = sentence(e.message);
      } finally {
        table.setAttribute("aria-busy", "false");
        prev.disabled = page === 0;
        nextBtn.disabled = !next;
        label.textContent = `Page ${page + 1}`;
      }
    };
    const go = async (d) => {
      if (d > 0) {
        if (!next) return;
        cursors[page + 1] = next;
      } else if (page === 0) return;
      page += d;
      await load();
    };
    const close = h("button", { type: "button", onclick: () => dlg.close() }, "Close");
    const dlg = this.#dialog(opener, { name: "logs", wide: true, labelID: "logs-title" },
      h("h2", { id: "logs-title" }, `Token logs: \u201C${t.name}\u201D`),
      h("p", { class: "hint" }, "Newest first."),
      err,
      table,
      h("nav", { class: "pager", "aria-label": "Log pages" }, label, prev, nextBtn),
      h("div", { class: "buttons" }, close),
    );
    close.focus();
    await load();
  }
}

if (!customElements.get("sigil-api-tokens")) customElements.define("sigil-api-tokens", SigilAPITokens);
