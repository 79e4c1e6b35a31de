// pages.js: the console's screens. Each renders into main and calls the API
// as the signed-in client; a refusal is shown where it happens.

import { api, q, seg, APIError } from "./api.js";
import {
  h, field, form, table, errorBox, fmtTime, fmtExpiry, statusLabel, confirmDialog, showOnce,
  announce, showError, clearErrors, describe,
} from "./ui.js";

const KINDS = [["", "Any"], ["report", "Report"], ["app-view", "App view"], ["api", "API"]];
const STATUSES = [["", "Any"], ["not-generated", "Not generated"], ["generated-inactive", "Generated – inactive"],
  ["generated-active", "Generated – active"], ["revoked", "Revoked"], ["expired", "Expired"]];
const EXPIRIES = [["7d", "7 days"], ["1d", "1 day"], ["30d", "30 days"], ["60d", "60 days"], ["90d", "90 days"], ["1y", "1 year"], ["never", "Never"]];

function title(text) {
  return h("h1", { tabindex: "-1" }, text);
}

// ---------------- overview ----------------

export async function overview(main) {
  main.replaceChildren(title("Overview"));
  let o;
  try {
    o = await api("GET", "/api/overview");
  } catch (err) {
    main.append(errorBox(err));
    return;
  }
  main.append(h("p", {}, "Readiness: ", h("strong", { class: "readiness" }, o.readiness.status), " — ",
    Object.entries(o.readiness.checks).map(([k, v]) => k + " " + v).join(", ")));

  const cols = STATUSES.slice(1);
  const rows = Object.entries(o.tokens.byKind).sort().map(([kind, by]) => [
    kind, ...cols.map(([s]) => String(by[s] || 0)), String(Object.values(by).reduce((a, b) => a + b, 0)),
  ]);
  main.append(h("h2", {}, "Registered tokens"),
    table("Registered tokens by kind and status", [{ label: "Kind", rowHeader: true }, ...cols.map(([, l]) => ({ label: l, num: true })), { label: "Total", num: true }],
      rows, "No registered tokens yet."),
    o.tokens.complete ? "" : h("p", { class: "hint" }, "Counted the newest " + o.tokens.counted + " tokens only."));

  const r = o.revocation;
  main.append(h("h2", {}, "Revocation"), h("dl", { class: "props" },
    h("dt", {}, "Mode"), h("dd", {}, r.mode),
    h("dt", {}, "Denylist entries"), h("dd", {}, r.denylistEntries ?? "not counted"),
    h("dt", {}, "Cutoffs"), h("dd", {}, r.cutoffs ?? "not counted"),
    h("dt", {}, "Replica staleness"), h("dd", {}, r.stalenessSeconds === null ? "never loaded" : Math.round(r.stalenessSeconds) + " s")));

  main.append(h("h2", {}, "Signing keys"), table("Signing keys", [{ label: "Key id", rowHeader: true }, "Algorithm", "Active", "Created", { label: "Age (days)", num: true }],
    o.keys.map((k) => [h("code", {}, k.kid), k.alg, k.active ? "yes" : "no", fmtTime(k.createdAt), String(Math.floor(k.ageSeconds / 86400))])));
}

// ---------------- dashboard credentials (clients) ----------------

export async function clients(main) {
  main.replaceChildren(title("Dashboard credentials"));
  const list = h("div", {});
  const refresh = async () => {
    try {
      const { clients: cs } = await api("GET", "/api/clients");
      list.replaceChildren(table("Clients", [{ label: "Client id", rowHeader: true }, "Name", "Role", "Resources", "Created", "Actions"],
        cs.map((c) => [h("code", {}, c.id), c.name, c.role, (c.resources || []).join(", "), fmtTime(c.createdAt), clientActions(c, refresh)]),
        "No clients yet."));
    } catch (err) {
      list.replaceChildren(errorBox(err));
    }
  };
  main.append(h("section", { class: "panel" }, h("h2", {}, "New dashboard credential"),
    h("p", { class: "hint" }, "A client id and secret a dashboard backend uses to mint embed tokens. The secret is shown once."),
    form({
      label: "New dashboard credential", submit: "Create credential",
      fields: [
        { name: "id", label: "Client id", required: true },
        { name: "name", label: "Name" },
        { name: "resources", label: "Resources", hint: "Comma-separated, e.g. dashboard:sales", value: "" },
        { name: "role", label: "Role", type: "select", options: [["issuer", "Issuer"], ["admin", "Admin"]] },
      ],
      onSubmit: async (v, f) => {
        const body = { id: v.id, name: v.name || v.id, role: v.role, resources: splitList(v.resources) };
        const c = await api("POST", "/api/clients", body);
        f.reset();
        await showOnce("Client secret for " + c.id, "secret", [{ label: "Client secret", value: c.secret, kind: "client-secret", rows: 2 }],
          "Use it with client id " + c.id + " (HTTP Basic, or sign in to this console).");
        await refresh();
        return "Created " + c.id + ".";
      },
    })),
  h("h2", {}, "Clients"), list,
  h("section", { class: "panel" }, h("h2", {}, "Revoke every token of a dashboard"),
    form({
      label: "Revoke every token of a dashboard", submit: "Revoke dashboard tokens", danger: true,
      fields: [{ name: "dashboardId", label: "Dashboard id", required: true }],
      onSubmit: async (v) => {
        if (!await confirmDialog("Revoke every token of " + v.dashboardId + "?", "Every embed token issued for this dashboard until now stops working at once.", "Revoke all", true)) return "";
        const r = await api("POST", "/api/v1/revoke-all", { dashboardId: v.dashboardId });
        return "Tokens of dashboard " + v.dashboardId + " issued until " + fmtTime(r.revokedBefore) + " are revoked.";
      },
    })));
  await refresh();
}

function clientActions(c, refresh) {
  const out = h("p", { class: "form-error", role: "alert" });
  const run = async (fn) => {
    out.textContent = "";
    try { await fn(); } catch (err) { out.textContent = describe(err); }
  };
  return h("div", { class: "row" },
    h("button", { type: "button", class: "secondary", "aria-label": "Rotate secret of " + c.id, onclick: () => run(async () => {
      if (!await confirmDialog("Rotate the secret of " + c.id + "?", "The current secret stops working at once, and so do console sessions signed in with it.", "Rotate secret", true)) return;
      const r = await api("POST", "/api/clients/" + seg(c.id) + "/_rotate-secret");
      await showOnce("New client secret for " + c.id, "secret", [{ label: "Client secret", value: r.secret, kind: "client-secret", rows: 2 }]);
    }) }, "Rotate secret"),
    h("button", { type: "button", class: "secondary", "aria-label": "Revoke all tokens minted by " + c.id, onclick: () => run(async () => {
      if (!await confirmDialog("Revoke every token of client " + c.id + "?", "Every token this client minted until now stops working.", "Revoke all", true)) return;
      await api("POST", "/api/v1/revoke-all", { clientId: c.id });
      announce("Tokens of " + c.id + " revoked.");
    }) }, "Revoke all"),
    h("button", { type: "button", class: "danger", "aria-label": "Delete " + c.id, onclick: () => run(async () => {
      if (!await confirmDialog("Delete client " + c.id + "?", "Its secret stops working and every token it minted is revoked.", "Delete client", true)) return;
      await api("DELETE", "/api/clients/" + seg(c.id));
      announce("Deleted " + c.id + ".");
      await refresh();
    }) }, "Delete"),
    out);
}

function splitList(s) {
  return (s || "").split(",").map((x) => x.trim()).filter(Boolean);
}

// ---------------- scopes (GET /api/scopes, with labels) ----------------

let scopeCache = null;
async function scopes() {
  if (scopeCache) return scopeCache;
  try {
    const r = await api("GET", "/api/scopes");
    scopeCache = (r.scopes || []).map((s) => [s.name, s.label + " (" + s.name + ")"]);
  } catch {
    scopeCache = [];
  }
  return scopeCache;
}

function scopeField(options, value) {
  if (options.length) return field({ name: "scopes", label: "Scopes", type: "checks", options, value: value || [], hint: "API tokens: at least one." });
  return field({ name: "scopes", label: "Scopes", hint: "API tokens: comma-separated", value: (value || []).join(", ") });
}

function scopeValue(v) {
  return Array.isArray(v) ? v : splitList(v);
}

// ---------------- tokens inventory ----------------

export async function tokens(main, params) {
  main.replaceChildren(title("Registered tokens"));
  const filters = {
    type: params.get("type") || "", owner: params.get("owner") || "", status: params.get("status") || "",
    reportId: params.get("reportId") || "", appId: params.get("appId") || "",
    expiringWithinDays: params.get("expiringWithinDays") || "", limit: params.get("limit") || "20",
  };
  const results = h("div", { "aria-live": "polite" });
  const cursors = [""]; // cursor of each page seen, for Previous
  let page = 0;

  const load = async () => {
    results.replaceChildren(h("p", { class: "hint" }, "Loading…"));
    try {
      const r = await api("GET", "/api/tokens" + q({ ...filters, cursor: cursors[page] }));
      const rows = r.tokens.map((t) => [
        h("a", { href: "#/tokens/" + seg(t.id) }, t.name || t.id), t.type, t.owner || "—", t.reportId || t.appId || "—",
        h("span", { class: "status-badge" }, statusLabel(t.status)), fmtExpiry(t.expiresAt), fmtTime(t.lastUsedAt),
      ]);
      const prev = h("button", { type: "button", class: "secondary", disabled: page === 0, onclick: () => { page -= 1; load(); } }, "Previous page");
      const next = h("button", { type: "button", class: "secondary", disabled: !r.nextCursor, onclick: () => { cursors[page + 1] = r.nextCursor; page += 1; load(); } }, "Next page");
      results.replaceChildren(
        table("Tokens, page " + (page + 1), [{ label: "Name", rowHeader: true }, "Type", "Owner", "Report / app", "Status", "Expires", "Last used"], rows, "No tokens match."),
        h("nav", { class: "pager", "aria-label": "Pages" }, prev, h("span", {}, "Page " + (page + 1)), next));
    } catch (err) {
      results.replaceChildren(errorBox(err));
    }
  };

  const scopeOpts = await scopes();
  main.append(
    form({
      label: "Filter tokens", submit: "Apply filters", class: "inline filters",
      fields: [
        { name: "type", label: "Type", type: "select", options: KINDS, value: filters.type },
        { name: "owner", label: "Owner", value: filters.owner },
        { name: "status", label: "Status", type: "select", options: STATUSES, value: filters.status },
        { name: "reportId", label: "Report id", value: filters.reportId },
        { name: "appId", label: "App id", value: filters.appId },
        { name: "expiringWithinDays", label: "Expiring within (days)", type: "number", min: 1, max: 3650, value: filters.expiringWithinDays },
        { name: "limit", label: "Per page", type: "select", options: [["20", "20"], ["50", "50"], ["100", "100"]], value: filters.limit },
      ],
      onSubmit: async (v) => {
        Object.assign(filters, v);
        cursors.length = 1;
        page = 0;
        await load();
        return "";
      },
    }),
    results,
    h("section", { class: "panel" }, h("h2", {}, "New token"),
      form({
        label: "New token", submit: "Create token",
        fields: [
          { name: "type", label: "Type", type: "select", options: KINDS.slice(1).reverse() },
          { name: "name", label: "Name" },
          { name: "owner", label: "Owner", hint: "API tokens" },
          { name: "reportId", label: "Report id", hint: "Report tokens" },
          { name: "appId", label: "App id", hint: "App-view tokens" },
          scopeField(scopeOpts, []),
          { name: "expiresIn", label: "Expires", type: "select", options: EXPIRIES, hint: "Counted from generation" },
          { name: "generate", label: "Generate the token now", type: "checkbox", value: true },
        ],
        onSubmit: async (v, f) => {
          const body = { type: v.type, name: v.name || undefined, expiresIn: v.expiresIn, generate: v.generate };
          if (v.owner) body.owner = v.owner;
          if (v.reportId) body.reportId = v.reportId;
          if (v.appId) body.appId = v.appId;
          const sc = scopeValue(v.scopes);
          if (v.type === "api" || sc.length) body.scopes = sc;
          const t = await api("POST", "/api/tokens", body);
          f.reset();
          if (t.token) await showOnce("Token " + (t.name || t.id), "token", [{ label: "Token", value: t.token, kind: "jwt" }], "Expires: " + fmtExpiry(t.expiresAt));
          await load();
          return "Created " + (t.name || t.id) + ".";
        },
      })));
  await load();
}

// ---------------- token detail ----------------

export async function tokenDetail(main, id) {
  main.replaceChildren(title("Token"));
  let t;
  try {
    t = await api("GET", "/api/tokens/" + seg(id));
  } catch (err) {
    main.append(errorBox(err), h("p", {}, h("a", { href: "#/tokens" }, "Back to the tokens")));
    return;
  }
  main.querySelector("h1").textContent = "Token " + (t.name || t.id);
  const props = (rec) => h("dl", { class: "props" },
    [["Id", h("code", {}, rec.id)], ["Type", rec.type], ["Name", rec.name || "—"], ["Owner", rec.owner || "—"],
      ["Report", rec.reportId || "—"], ["App", rec.appId || "—"], ["Scopes", (rec.scopes || []).join(", ") || "—"],
      ["Status", statusLabel(rec.status)], ["Created", fmtTime(rec.createdAt)], ["Generated", fmtTime(rec.generatedAt)],
      ["Expires", fmtExpiry(rec.expiresAt)], ["Last used", fmtTime(rec.lastUsedAt)],
      ["Ends with", rec.tokenHint ? "…" + rec.tokenHint : "—"], ["Created by", rec.createdBy]]
      .map(([k, v]) => [h("dt", {}, k), h("dd", {}, v)]));
  const info = h("div", {}, props(t));
  const reload = async () => {
    try { t = await api("GET", "/api/tokens/" + seg(id)); info.replaceChildren(props(t)); } catch (err) { info.replaceChildren(errorBox(err)); }
  };

  const actionsOut = h("p", { class: "form-error", role: "alert" });
  const generated = t.status !== "not-generated";
  const genBtn = h("button", { type: "button", onclick: async () => {
    actionsOut.textContent = "";
    try {
      if (t.generatedAt && !await confirmDialog("Regenerate " + (t.name || t.id) + "?", "The current token stops working at once; a new one is shown once.", "Regenerate", true)) return;
      const r = await api("POST", "/api/tokens/" + seg(id) + "/_generate");
      await showOnce("Token " + (r.name || r.id), "token", [{ label: "Token", value: r.token, kind: "jwt" }], "Expires: " + fmtExpiry(r.expiresAt));
      await reload();
      await logs.load(true);
    } catch (err) { actionsOut.textContent = describe(err); }
  } }, generated ? "Regenerate token" : "Generate token");
  const revokeBtn = h("button", { type: "button", class: "danger", onclick: async () => {
    actionsOut.textContent = "";
    try {
      if (!await confirmDialog("Revoke " + (t.name || t.id) + "?", "The token stops working at once and cannot be used again.", "Revoke", true)) return;
      await api("DELETE", "/api/tokens/" + seg(id));
      announce("Revoked.");
      await reload();
      await logs.load(true);
    } catch (err) { actionsOut.textContent = describe(err); }
  } }, "Revoke token");

  const scopeOpts = await scopes();
  main.append(info,
    h("h2", {}, "Actions"), h("div", { class: "row" }, genBtn, revokeBtn), actionsOut,
    h("section", { class: "panel" }, h("h2", {}, "Rename"), form({
      label: "Rename", submit: "Save name",
      fields: [{ name: "name", label: "Name", value: t.name }],
      onSubmit: async (v) => {
        await api("PATCH", "/api/tokens/" + seg(id), { name: v.name });
        await reload();
        return "Renamed.";
      },
    })),
    t.type === "api" ? h("section", { class: "panel" }, h("h2", {}, "Scopes"), form({
      label: "Change scopes", submit: "Change scopes",
      fields: [scopeField(scopeOpts, t.scopes)],
      onSubmit: async (v) => {
        const sc = scopeValue(v.scopes);
        if (!await confirmDialog("Change the scopes?", "New scopes: " + (sc.join(", ") || "none") + ". The current token keeps its old scopes until it is regenerated.", "Change scopes")) return "";
        const r = await api("PATCH", "/api/tokens/" + seg(id), { scopes: sc });
        await reload();
        return r.scopesPending ? "Scopes changed; they take effect when the token is regenerated." : "Scopes changed.";
      },
    })) : "");

  const logs = logPager(id);
  main.append(h("h2", {}, "Token log"), logs.el);
  await logs.load(true);
}

function logPager(id) {
  const el = h("div", { "aria-live": "polite" });
  const cursors = [""];
  let page = 0;
  const load = async (reset) => {
    if (reset) { cursors.length = 1; page = 0; }
    try {
      const r = await api("GET", "/api/tokens/" + seg(id) + "/logs" + q({ limit: 20, cursor: cursors[page] }));
      el.replaceChildren(
        table("Token log, newest first, page " + (page + 1), [{ label: "Activity", rowHeader: true }, "On", "By", "Result"],
          r.logs.map((e) => [e.activity, fmtTime(e.at), e.by, e.result]), "No log entries yet."),
        h("nav", { class: "pager", "aria-label": "Log pages" },
          h("button", { type: "button", class: "secondary", disabled: page === 0, onclick: () => { page -= 1; load(); } }, "Newer entries"),
          h("span", {}, "Page " + (page + 1)),
          h("button", { type: "button", class: "secondary", disabled: !r.nextCursor, onclick: () => { cursors[page + 1] = r.nextCursor; page += 1; load(); } }, "Older entries")));
    } catch (err) {
      el.replaceChildren(errorBox(err));
    }
  };
  return { el, load };
}

// ---------------- owners and the api-tokens role ----------------

export async function owners(main) {
  main.replaceChildren(title("Owners and the api-tokens role"),
    h("p", { class: "hint" }, "An owner (a user, the token's subject) needs the api-tokens role to hold API tokens."));
  const roleForm = form({
    label: "Owner role", submit: "Grant role",
    fields: [{ name: "owner", label: "Owner", required: true, apiField: "owner" }],
    onSubmit: async (v) => {
      await api("PUT", "/api/owners/" + seg(v.owner) + "/roles/api-tokens");
      return "Granted the api-tokens role to " + v.owner + ".";
    },
  });
  const withdraw = h("button", { type: "button", class: "danger", onclick: async () => {
    clearErrors(roleForm);
    const owner = roleForm.elements.owner.value.trim();
    try {
      if (!await confirmDialog("Withdraw the role of " + (owner || "?") + "?", "The owner can no longer create API tokens; their existing tokens stop working.", "Withdraw role", true)) return;
      await api("DELETE", "/api/owners/" + seg(owner) + "/roles/api-tokens");
      roleForm.querySelector(".notice").textContent = "Withdrew the api-tokens role of " + owner + ".";
      announce("Withdrew the api-tokens role of " + owner + ".");
    } catch (err) { showError(roleForm, err); }
  } }, "Withdraw role");
  roleForm.querySelector("button[type=submit]").after(" ", withdraw);
  const listLink = h("p", {}, "See an owner's tokens in ", h("a", { href: "#/tokens?type=api" }, "Tokens"), " (filter by owner).");
  main.append(roleForm, listLink);
}

// ---------------- revoke all ----------------

export async function revokeAll(main) {
  main.replaceChildren(title("Revoke all"),
    h("p", { class: "hint" }, "Every token of the subject, client, dashboard, report or app issued until now stops working. Tokens minted afterwards are not affected."));
  const kinds = [["sub", "Subject (user)"], ["clientId", "Client"], ["dashboardId", "Dashboard"], ["reportId", "Report"], ["appId", "App"]];
  const f = form({
    label: "Revoke all", submit: "Revoke all", danger: true,
    fields: [
      { name: "kind", label: "Revoke every token of", type: "select", options: kinds },
      { name: "value", label: "Id", required: true, apiField: "sub" },
    ],
    onSubmit: async (v) => {
      const label = kinds.find(([k]) => k === v.kind)[1].toLowerCase();
      if (!await confirmDialog("Revoke every token of " + label + " " + v.value + "?", "This cannot be undone.", "Revoke all", true)) return "";
      const r = await api("POST", "/api/v1/revoke-all", { [v.kind]: v.value });
      return "Revoked every token of " + label + " " + v.value + " issued until " + fmtTime(r.revokedBefore) + ".";
    },
  });
  // The API names the chosen field: the id box answers to it.
  const sel = f.elements.kind, box = f.elements.value;
  const sync = () => {
    box.dataset.field = sel.value;
    box.closest(".field").querySelector(".field-error").dataset.for = sel.value;
  };
  sel.addEventListener("change", sync);
  sync();
  main.append(f);
}

// ---------------- share links (report and app tokens), cloud publish ----------------

export async function shares(main, params) {
  main.replaceChildren(title("Share links"),
    h("p", { class: "hint" }, "Report and app share links: each is a token in a public URL. A link is shown once, when it is created."));
  const out = h("div", { "aria-live": "polite" });
  const state = { kind: params.get("kind") || "report", id: params.get("id") || "" };

  const show = async () => {
    if (!state.id) { out.replaceChildren(); return; }
    const path = state.kind === "report" ? "/api/reports/" : "/api/apps/";
    try {
      const r = await api("GET", path + seg(state.id) + "/tokens");
      const rows = r.tokens.map((t) => [
        h("a", { href: "#/tokens/" + seg(t.id) }, t.name || t.id), statusLabel(t.status), fmtExpiry(t.expiresAt), t.cloud ? "cloud" : "local",
        t.token ? linkCell(t) : h("span", { class: "hint" }, t.url ? t.url : "shown once at creation"),
      ]);
      out.replaceChildren(
        r.warning ? h("p", { class: "form-error", role: "alert" }, r.warning.message) : "",
        table("Share links of " + state.kind + " " + state.id, [{ label: "Name", rowHeader: true }, "Status", "Expires", "Where", "Link"], rows, "No share links yet."),
        createShare(),
        state.kind === "report" ? publish() : "");
    } catch (err) {
      out.replaceChildren(errorBox(err));
    }
  };

  const createShare = () => h("section", { class: "panel" }, h("h2", {}, "New share link"), form({
    label: "New share link", submit: "Create link",
    fields: [
      { name: "name", label: "Name" },
      { name: "expiresIn", label: "Expires", type: "select", options: EXPIRIES },
    ],
    onSubmit: async (v) => {
      const body = { type: state.kind === "report" ? "report" : "app-view", name: v.name || undefined, expiresIn: v.expiresIn };
      body[state.kind === "report" ? "reportId" : "appId"] = state.id;
      const t = await api("POST", "/api/tokens", body);
      await showLink(t);
      await show();
      return "Created.";
    },
  }));

  const publish = () => h("section", { class: "panel" }, h("h2", {}, "Cloud publish"), form({
    label: "Cloud publish", submit: "Publish to the cloud",
    fields: [{ name: "rotate", label: "Replace the existing cloud link", type: "checkbox" }],
    onSubmit: async (v) => {
      const t = await api("POST", "/api/reports/" + seg(state.id) + "/_cloud-publish" + (v.rotate ? "?rotate=true" : ""));
      if (t.token) await showLink(t);
      await show();
      return "Published" + (t.url ? ": " + t.url : "") + ".";
    },
  }));

  main.append(form({
    label: "Find share links", submit: "Show links",
    fields: [
      { name: "kind", label: "Kind", type: "select", options: [["report", "Report"], ["app", "App"]], value: state.kind },
      { name: "id", label: "Report or app id", required: true, apiField: "id", value: state.id },
    ],
    onSubmit: async (v) => { state.kind = v.kind; state.id = v.id; await show(); return ""; },
  }), out);
  await show();
}

function publicURL(t) {
  return t.url || (location.origin + "/view/" + encodeURIComponent(t.token));
}

function iframeSnippet(t) {
  const src = publicURL(t).replaceAll("&", "&amp;").replaceAll('"', "&quot;");
  const name = (t.name || t.reportId || t.appId || "shared content").replaceAll("&", "&amp;").replaceAll('"', "&quot;");
  return '<iframe src="' + src + '" title="' + name + '" width="960" height="600" loading="lazy" referrerpolicy="no-referrer"></iframe>';
}

function linkCell(t) {
  return h("details", {}, h("summary", {}, "Link and snippet"),
    h("p", {}, h("code", {}, publicURL(t))), h("p", {}, h("code", {}, iframeSnippet(t))));
}

function showLink(t) {
  return showOnce("Share link " + (t.name || t.id), "link", [
    { label: "Public URL", value: publicURL(t), kind: "url", rows: 3 },
    { label: "Embed snippet", value: iframeSnippet(t), kind: "iframe", rows: 4 },
  ], "Expires: " + fmtExpiry(t.expiresAt));
}

export { APIError };
