// The demo page: a host app that embeds a dashboard stand-in with a sigil
// embed token, and logs out through sigil. Open /demo/#token=<embed token>;
// the fragment never reaches a server or its logs.
import { decodeHeaderJSON, formatCurrency, invalidateToken, tokenFetch } from "/sdk/sigil-embed.js";

const $ = (id) => document.getElementById(id);
const token = new URLSearchParams(location.hash.slice(1)).get("token") || "";

function expired() {
  $("content").hidden = true;
  $("expired").hidden = false;
  $("logout").disabled = true;
  $("status").textContent = "Your session has ended; sign in again to see this dashboard.";
  document.body.dataset.state = "expired";
}

const api = token ? tokenFetch(token, { onSessionExpired: expired }) : null;

// load is the dashboard's data request: the stand-in asks sigil's verify
// endpoint, which answers with the token's params in X-Sigil-Params.
async function load() {
  const res = await api("/api/v1/verify", { cache: "no-store" });
  document.body.dataset.lastStatus = String(res.status);
  if (res.status !== 200) {
    if (res.status !== 401) $("status").textContent = `sigil answered ${res.status}`;
    return;
  }
  const params = decodeHeaderJSON(res.headers.get("X-Sigil-Params")) || {};
  $("title").textContent = params.title || `Dashboard ${res.headers.get("X-Sigil-Resource") || ""}`;
  $("amount").textContent = formatCurrency(params.amount ?? 0, params);
  const fmt = params.currencyFormat || params;
  $("meta").textContent = `${fmt.locale || "default locale"} · ${fmt.currency || "USD"}`;
  $("status").textContent = "Signed in";
  $("logout").disabled = false;
  document.body.dataset.state = "loaded";
}

async function logout() {
  $("logout").disabled = true;
  try {
    await invalidateToken(token);
  } catch (err) {
    $("status").textContent = `Logout failed: ${err.message}`;
    $("logout").disabled = false;
    return;
  }
  await load(); // the next request with the token: 401, "Session expired"
}

if (!api) {
  $("status").textContent = "Open this page as /demo/#token=<embed token>.";
  document.body.dataset.state = "no-token";
} else {
  $("logout").addEventListener("click", logout);
  load().catch((err) => {
    $("status").textContent = `Failed: ${err.message}`;
    document.body.dataset.state = "error";
  });
}
