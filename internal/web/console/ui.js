// ui.js: DOM helpers. Text goes in as text (never innerHTML), every control
// gets a label, API errors are shown beside the field they name.

import { APIError } from "./api.js";

let uid = 0;
/** nextID returns a page-unique element id with prefix. */
export function nextID(prefix) { uid += 1; return prefix + "-" + uid; }

/** h creates an element: attrs (on* are listeners), then children (strings become text). */
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith("on") && typeof v === "function") el.addEventListener(k.slice(2), v);
    else if (k === "class") el.className = v;
    else if (k === "dataset") Object.assign(el.dataset, v);
    else if (v === true) el.setAttribute(k, "");
    else el.setAttribute(k, String(v));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c === undefined || c === null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

/** announce says msg in the polite live region (screen readers) . */
export function announce(msg) {
  const s = document.getElementById("status");
  s.textContent = "";
  setTimeout(() => { s.textContent = msg; }, 30);
}

/**
 * field builds a labelled control with an error slot. spec: {name, label, type
 * ("text", "password", "number", "select", "checks", "checkbox"), options
 * ([[value, label]]), value, required, hint, autocomplete, apiField (the API's
 * name for it, default name)}.
 */
export function field(spec) {
  const id = nextID("f-" + spec.name);
  const errID = id + "-err";
  const hintID = spec.hint ? id + "-hint" : null;
  const describedBy = [hintID, errID].filter(Boolean).join(" ");
  const apiField = spec.apiField || spec.name;
  let control;
  if (spec.type === "select") {
    control = h("select", { id, name: spec.name, "aria-describedby": describedBy, required: spec.required },
      (spec.options || []).map(([v, l]) => h("option", { value: v, selected: String(spec.value ?? "") === v }, l)));
  } else if (spec.type === "checks") {
    const box = h("fieldset", { class: "checks-set", dataset: { field: apiField, name: spec.name }, "aria-describedby": describedBy },
      h("legend", {}, spec.label),
      h("div", { class: "checks" }, (spec.options || []).map(([v, l]) => {
        const cid = nextID("c-" + spec.name);
        return h("span", {}, h("input", { type: "checkbox", id: cid, name: spec.name, value: v, checked: (spec.value || []).includes(v) }),
          " ", h("label", { for: cid }, l));
      })));
    return h("div", { class: "field" }, box,
      spec.hint ? h("p", { class: "hint", id: hintID }, spec.hint) : null,
      h("p", { class: "field-error", id: errID, dataset: { for: apiField } }));
  } else if (spec.type === "checkbox") {
    control = h("input", { id, name: spec.name, type: "checkbox", checked: !!spec.value, "aria-describedby": describedBy });
    return h("div", { class: "field" }, h("span", {}, control, " ", h("label", { for: id }, spec.label)),
      spec.hint ? h("p", { class: "hint", id: hintID }, spec.hint) : null,
      h("p", { class: "field-error", id: errID, dataset: { for: apiField } }));
  } else {
    control = h("input", {
      id, name: spec.name, type: spec.type || "text", value: spec.value ?? "", required: spec.required,
      autocomplete: spec.autocomplete || "off", "aria-describedby": describedBy, min: spec.min, max: spec.max,
      spellcheck: "false",
    });
  }
  control.dataset.field = apiField;
  return h("div", { class: "field" }, h("label", { for: id }, spec.label), control,
    spec.hint ? h("p", { class: "hint", id: hintID }, spec.hint) : null,
    h("p", { class: "field-error", id: errID, dataset: { for: apiField } }));
}

/** values reads a form: text fields as strings, checkbox groups as arrays, checkboxes as booleans. */
export function values(form) {
  const out = {};
  for (const el of form.elements) {
    if (!el.name) continue;
    if (el.type === "checkbox" && el.closest(".checks-set")) {
      out[el.name] = out[el.name] || [];
      if (el.checked) out[el.name].push(el.value);
    } else if (el.type === "checkbox") {
      out[el.name] = el.checked;
    } else {
      out[el.name] = el.value.trim();
    }
  }
  return out;
}

/** clearErrors empties a form's error slots. */
export function clearErrors(form) {
  for (const p of form.querySelectorAll(".field-error, .form-error")) p.textContent = "";
  for (const el of form.querySelectorAll("[aria-invalid]")) el.removeAttribute("aria-invalid");
  const n = form.querySelector(".notice");
  if (n) n.textContent = "";
}

/**
 * showError puts err beside the field it names in form (focusing that field),
 * else in the form's general error line.
 */
export function showError(form, err) {
  const msg = err instanceof APIError ? describe(err) : String(err && err.message || err);
  const fieldName = err instanceof APIError ? err.field : "";
  if (fieldName) {
    const slot = [...form.querySelectorAll(".field-error")].find((p) => p.dataset.for === fieldName);
    if (slot) {
      slot.textContent = msg;
      const ctl = [...form.querySelectorAll("[data-field]")].find((c) => c.dataset.field === fieldName);
      if (ctl) {
        ctl.setAttribute("aria-invalid", "true");
        const focusable = ctl.matches("fieldset") ? ctl.querySelector("input") : ctl;
        if (focusable) focusable.focus();
      }
      return;
    }
  }
  const general = form.querySelector(".form-error");
  if (general) general.textContent = msg;
  announce(msg);
}

/** describe is an API error as a person reads it. */
export function describe(err) {
  if (!(err instanceof APIError)) return String(err && err.message || err);
  const what = {
    403: "Not allowed", 404: "Not found", 401: "Not signed in", 409: "Conflict", 429: "Too many attempts",
    503: "Unavailable, retry later", 400: "Invalid",
  }[err.status] || "Error " + err.status;
  return what + ": " + err.message + (err.field ? " (" + err.field + ")" : "");
}

/**
 * form builds a <form> with fields (field() specs or nodes), a submit button
 * and error/notice lines; onSubmit(values, form) may throw an APIError, shown
 * beside its field.
 */
export function form(spec) {
  const f = h("form", { class: spec.class || "inline", "aria-label": spec.label, novalidate: true });
  for (const fs of spec.fields) f.append(fs instanceof Node ? fs : field(fs));
  const submit = h("button", { type: "submit", class: spec.danger ? "danger" : null }, spec.submit);
  f.append(h("div", { class: "field" }, submit));
  f.append(h("p", { class: "form-error", role: "alert" }));
  f.append(h("p", { class: "notice" }));
  f.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    clearErrors(f);
    submit.disabled = true;
    try {
      const msg = await spec.onSubmit(values(f), f);
      if (typeof msg === "string" && msg) {
        f.querySelector(".notice").textContent = msg;
        announce(msg);
      }
    } catch (err) {
      showError(f, err);
    } finally {
      submit.disabled = false;
    }
  });
  return f;
}

/** table builds a data table with a caption, column headers and rows of cells. */
export function table(caption, headers, rows, empty) {
  if (!rows.length) return h("p", { class: "hint" }, empty || "Nothing to show.");
  return h("table", {},
    h("caption", { class: "visually-hidden" }, caption),
    h("thead", {}, h("tr", {}, headers.map((x) => h("th", { scope: "col", class: x.num ? "num" : null }, x.label || x)))),
    h("tbody", {}, rows.map((r) => h("tr", {}, r.map((c, i) => i === 0 && headers[0].rowHeader
      ? h("th", { scope: "row" }, c)
      : h("td", { class: headers[i] && headers[i].num ? "num" : null }, c))))));
}

/** errorBox is a page-level error line. */
export function errorBox(err) {
  return h("p", { class: "form-error", role: "alert" }, describe(err));
}

/** fmtTime is a date-time for people ("—" for none). */
export function fmtTime(v) {
  if (!v) return "—";
  const d = new Date(v);
  return d.toLocaleString(undefined, { year: "numeric", month: "short", day: "numeric", hour: "2-digit", minute: "2-digit" });
}

/** fmtExpiry is an expiry with how far off it is. */
export function fmtExpiry(v, now = Date.now()) {
  if (!v) return "Never expires";
  const days = Math.round((new Date(v).getTime() - now) / 86400000);
  const rel = days > 1 ? "in " + days + " days" : days === 1 ? "in 1 day" : days === 0 ? "today" : days + " days ago";
  return fmtTime(v) + " (" + rel + ")";
}

/** statusLabel is a token status as the products name it. */
export function statusLabel(s) {
  return {
    "not-generated": "Not generated", "generated-inactive": "Generated – inactive",
    "generated-active": "Generated – active", revoked: "Revoked", expired: "Expired",
  }[s] || s;
}

// ---- dialogs (WAI-ARIA APG modal dialog: focus moves in, Escape closes, focus returns) ----

function openDialog(title, desc, body, buttons) {
  const dlg = document.getElementById("dialog");
  const opener = document.activeElement;
  dlg.replaceChildren(
    h("h2", { id: "dialog-title" }, title),
    h("div", { id: "dialog-desc" }, desc),
    body || "",
    h("div", { class: "actions" }, buttons));
  return new Promise((resolve) => {
    const done = (v) => { dlg.close(); resolve(v); };
    dlg.addEventListener("close", () => {
      dlg.replaceChildren(); // a shown secret leaves the page with the dialog
      if (opener && opener.isConnected) opener.focus();
      resolve(dlg.returnValue === "ok");
    }, { once: true });
    dlg.returnValue = "";
    for (const b of buttons) {
      b.addEventListener("click", () => { dlg.returnValue = b.dataset.value || ""; done(b.dataset.value === "ok"); });
    }
    dlg.showModal();
    const first = dlg.querySelector("[autofocus]") || dlg.querySelector("textarea, input, button");
    if (first) first.focus();
  });
}

/** confirmDialog asks a yes/no question; resolves true for confirm. */
export function confirmDialog(title, message, confirmLabel, danger) {
  return openDialog(title, h("p", {}, message), null, [
    h("button", { type: "button", class: "secondary", dataset: { value: "cancel" } }, "Cancel"),
    h("button", { type: "button", class: danger ? "danger" : null, dataset: { value: "ok" }, autofocus: true }, confirmLabel),
  ]);
}

/** copyText copies v to the clipboard, falling back to selecting el. */
export async function copyText(v, el) {
  try {
    await navigator.clipboard.writeText(v);
    return true;
  } catch {
    if (el && el.select) { el.focus(); el.select(); }
    try { return document.execCommand("copy"); } catch { return false; }
  }
}

/**
 * showOnce shows a secret the API returns one time only: items are
 * [{label, value}] (each with a copy button); note says when it expires.
 */
export function showOnce(title, what, items, note) {
  const body = h("div", {});
  for (const it of items) {
    const id = nextID("once");
    const area = h("textarea", { id, readonly: true, rows: it.rows || 3, class: "once-value", spellcheck: "false", dataset: { kind: it.kind || "" } });
    area.value = it.value;
    const msg = h("span", { class: "notice", "aria-live": "polite" });
    const btn = h("button", { type: "button", class: "secondary copy", onclick: async () => {
      const ok = await copyText(area.value, area);
      msg.textContent = ok ? "Copied" : "Select the text and copy it";
    } }, "Copy " + it.label.toLowerCase());
    body.append(h("div", { class: "field" }, h("label", { for: id }, it.label), area, h("div", { class: "row" }, btn, msg)));
  }
  if (note) body.append(h("p", { class: "expiry" }, note));
  return openDialog(title,
    h("p", { class: "warn" }, "This " + what + " will not be shown again. Copy it now and keep it somewhere safe; if it is lost, generate a new one."),
    body,
    [h("button", { type: "button", dataset: { value: "ok" } }, "I have copied it")]);
}
