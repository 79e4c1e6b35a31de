// api.js: the console's one way to the sigil HTTP API. Every call is the
// signed-in client's (the session cookie, sent by the browser); state-changing
// calls carry the session's CSRF token. Nothing here decides what the client
// may do: the API's answers do.

let csrf = "";
let onEnded = () => {};

/** setSession keeps the CSRF token of the current session ("" when signed out). */
export function setSession(token) { csrf = token || ""; }

/** onSessionEnded sets what happens when the API says the session is over. */
export function onSessionEnded(fn) { onEnded = fn; }

/** APIError is an API error answer: status, code, message and the field it names. */
export class APIError extends Error {
  constructor(status, code, message, field) {
    super(message);
    this.name = "APIError";
    this.status = status;
    this.code = code;
    this.field = field || "";
  }
}

/** api calls method path with body (JSON) and returns the decoded answer (null for 204). */
export async function api(method, path, body) {
  // X-Requested-With: sigil answers a 401 to the console without a Basic
  // challenge, which would open the browser's own password prompt.
  const headers = { Accept: "application/json", "X-Requested-With": "sigil-console" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (method !== "GET" && method !== "HEAD") headers["X-CSRF-Token"] = csrf;
  let r;
  try {
    r = await fetch(path, {
      method, headers, credentials: "same-origin", cache: "no-store", redirect: "error",
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch (e) {
    throw new APIError(0, "network", "sigil did not answer (" + e.message + ")", "");
  }
  if (r.status === 204) return null;
  let data = null;
  try { data = await r.json(); } catch { data = null; }
  if (!r.ok) {
    const e = (data && data.error) || {};
    const err = new APIError(r.status, e.code || "error", e.message || r.statusText, e.field);
    if (r.status === 401 && path !== "/console/api/session") onEnded(err);
    throw err;
  }
  return data;
}

/** q builds a query string of the non-empty values of params ("" when none). */
export function q(params) {
  const u = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v !== undefined && v !== null && v !== "") u.set(k, String(v));
  }
  const s = u.toString();
  return s ? "?" + s : "";
}

/** seg escapes one path segment. */
export function seg(v) { return encodeURIComponent(v); }
