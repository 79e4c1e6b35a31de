// console.js: the sigil admin console. Sign-in, then a page per hash route;
// every page calls sigil's API with the session (see api.js). No token or
// secret is ever put in the URL, localStorage or the browser's log.

import { api, setSession, onSessionEnded, APIError } from "./api.js";
import { h, form, announce } from "./ui.js";
import * as pages from "./pages.js";

const main = document.getElementById("main");
const nav = document.getElementById("nav");
const who = document.getElementById("who");
let me = null;

const routes = [
  [/^#\/overview$/, () => pages.overview(main)],
  [/^#\/clients$/, () => pages.clients(main)],
  [/^#\/tokens\/([^/?]+)$/, (m) => pages.tokenDetail(main, decodeURIComponent(m[1]))],
  [/^#\/tokens(?:\?(.*))?$/, (m) => pages.tokens(main, new URLSearchParams(m[1] || ""))],
  [/^#\/owners$/, () => pages.owners(main)],
  [/^#\/revoke$/, () => pages.revokeAll(main)],
  [/^#\/shares(?:\?(.*))?$/, (m) => pages.shares(main, new URLSearchParams(m[1] || ""))],
];

function setState(s) { document.body.dataset.state = s; }

function signedIn(session) {
  me = session;
  setSession(session.csrfToken);
  document.getElementById("who-name").textContent = "Signed in as " + session.clientId + " (" + session.role + ")";
  nav.hidden = false;
  who.hidden = false;
}

function signedOut(message) {
  me = null;
  setSession("");
  nav.hidden = true;
  who.hidden = true;
  showSignIn(message);
}

function showSignIn(message) {
  setState("signin");
  document.title = "Sign in · sigil console";
  main.replaceChildren(h("div", { class: "signin" },
    h("h1", { tabindex: "-1" }, "Sign in"),
    h("p", { class: "hint" }, "Sign in with a client id and secret. You can do here exactly what that client may do through the API."),
    message ? h("p", { class: "form-error", role: "alert" }, message) : null,
    form({
      label: "Sign in", class: "stack", submit: "Sign in",
      fields: [
        { name: "clientId", label: "Client id", required: true, autocomplete: "username" },
        { name: "clientSecret", label: "Client secret", type: "password", required: true, autocomplete: "current-password" },
      ],
      onSubmit: async (v, f) => {
        const s = await api("POST", "/console/api/session", { clientId: v.clientId, clientSecret: v.clientSecret });
        f.reset();
        signedIn(s);
        if (!location.hash.startsWith("#/")) location.hash = "#/overview";
        else await route();
        announce("Signed in as " + s.clientId);
        return "";
      },
    })));
  const first = main.querySelector("input");
  if (first) first.focus();
}

async function route() {
  if (!me) return;
  const hash = location.hash.startsWith("#/") ? location.hash : "#/overview";
  for (const a of nav.querySelectorAll("a")) {
    const here = hash === a.getAttribute("href") || hash.startsWith(a.getAttribute("href") + "/") || hash.startsWith(a.getAttribute("href") + "?");
    if (here) a.setAttribute("aria-current", "page"); else a.removeAttribute("aria-current");
  }
  setState("loading");
  for (const [re, render] of routes) {
    const m = hash.match(re);
    if (!m) continue;
    try {
      await render(m);
    } catch (err) {
      main.replaceChildren(h("h1", { tabindex: "-1" }, "Error"), h("p", { class: "form-error", role: "alert" }, String(err.message || err)));
    }
    const h1 = main.querySelector("h1");
    if (h1) {
      document.title = h1.textContent + " · sigil console";
      h1.focus();
    }
    setState("ready");
    return;
  }
  main.replaceChildren(h("h1", { tabindex: "-1" }, "Not found"), h("p", {}, h("a", { href: "#/overview" }, "Go to the overview")));
  setState("ready");
}

onSessionEnded(() => { if (me) signedOut("Your session has ended. Sign in again."); });

document.getElementById("sign-out").addEventListener("click", async () => {
  try { await api("DELETE", "/console/api/session"); } catch (err) { if (!(err instanceof APIError) || err.status !== 401) return; }
  signedOut("Signed out.");
});

window.addEventListener("hashchange", () => { if (location.hash.startsWith("#/")) route(); });

(async () => {
  try {
    signedIn(await api("GET", "/console/api/session"));
    await route();
  } catch {
    signedOut("");
  }
})();
