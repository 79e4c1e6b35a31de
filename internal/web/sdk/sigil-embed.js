// sigil-embed.js — the browser side of sigil's embed tokens.
//
//   import { invalidateToken, tokenFetch } from "https://sigil.example.com/sdk/sigil-embed.js";
//   const api = tokenFetch(accessToken, { baseUrl, onSessionExpired: () => showLogin() });
//   const res = await api("/api/v1/verify");          // carries Authorization: Bearer
//   await invalidateToken(accessToken, { baseUrl });  // logout: the token is revoked
//
// Cross-origin use needs the page's origin in sigil's http.cors_allowed_origins.

/** SigilError is a non-success answer of sigil: status, and the error code and message of its JSON body. */
export class SigilError extends Error {
  constructor(status, code, message) {
    super(message || `sigil answered ${status}`);
    this.name = "SigilError";
    this.status = status;
    this.code = code || "";
  }
}

function endpoint(baseUrl, path) {
  return String(baseUrl || "").replace(/\/+$/, "") + path;
}

async function errorFrom(res) {
  let code = "", message = "";
  try {
    const body = await res.json();
    code = body?.error?.code || "";
    message = body?.error?.message || "";
  } catch {
    // not sigil's JSON error: keep the status alone
  }
  return new SigilError(res.status, code, message);
}

/**
 * invalidateToken revokes accessToken (logout). It resolves once sigil has
 * recorded the revocation (204); an already revoked or expired token resolves
 * too. It rejects with a SigilError otherwise (401 for a forged token, 503
 * when sigil cannot record it: the token is then still live, so retry).
 */
export async function invalidateToken(accessToken, { baseUrl = "", fetch: fetchImpl = globalThis.fetch } = {}) {
  if (!accessToken) throw new TypeError("invalidateToken: accessToken is required");
  const res = await fetchImpl(endpoint(baseUrl, "/api/v1/invalidate-token"), {
    method: "POST",
    headers: { Authorization: `Bearer ${accessToken}` },
    credentials: "omit",
    cache: "no-store",
  });
  if (res.status === 204) return;
  throw await errorFrom(res);
}

/**
 * tokenFetch returns a fetch that sends accessToken as a Bearer token. Paths
 * ("/api/…") are resolved against baseUrl; absolute URLs are used as they
 * are. onSessionExpired(response) is called on every 401, the answer to a
 * revoked or expired token.
 */
export function tokenFetch(accessToken, { baseUrl = "", onSessionExpired, fetch: fetchImpl = globalThis.fetch } = {}) {
  if (!accessToken) throw new TypeError("tokenFetch: accessToken is required");
  return async function sigilFetch(input, init = {}) {
    const url = typeof input === "string" && input.startsWith("/") ? endpoint(baseUrl, input) : input;
    const headers = new Headers(init.headers || {});
    headers.set("Authorization", `Bearer ${accessToken}`);
    const res = await fetchImpl(url, { ...init, headers, credentials: init.credentials ?? "omit" });
    if (res.status === 401 && typeof onSessionExpired === "function") onSessionExpired(res);
    return res;
  };
}

/** decodeHeaderJSON decodes an X-Sigil-Params or X-Sigil-Policies header (base64url JSON). */
export function decodeHeaderJSON(value) {
  if (!value) return null;
  const b64 = value.replace(/-/g, "+").replace(/_/g, "/");
  const bytes = Uint8Array.from(atob(b64 + "=".repeat((4 - (b64.length % 4)) % 4)), (c) => c.charCodeAt(0));
  return JSON.parse(new TextDecoder().decode(bytes));
}

/**
 * formatCurrency formats amount with Intl.NumberFormat for the locale and
 * currency of a token's params: params.currencyFormat {locale, currency}
 * first, then params.locale and params.currency.
 */
export function formatCurrency(amount, params = {}) {
  const fmt = params.currencyFormat || {};
  const locale = fmt.locale || params.locale || undefined;
  const currency = fmt.currency || params.currency || "USD";
  return new Intl.NumberFormat(locale, { style: "currency", currency }).format(Number(amount));
}
