// Compiled by test/clientgen with tsc --strict next to schema.d.ts, which
// openapi-typescript generated from the served /openapi.json.
import type { components, operations, paths } from "./schema";

type Schemas = components["schemas"];
type JSONBody<T> = T extends { content: { "application/json": infer B } } ? B : never;

const mint: JSONBody<paths["/api/v1/token"]["post"]["requestBody"]> = {
  dashboardId: "sales",
  dashboardSecret: "secret",
  tokenExpiry: 600,
  params: { amount: 1234.56 },
  securityPolicies: [{ name: "region", params: { region: "EU" } }],
};

type Minted = JSONBody<operations["mintEmbedToken"]["responses"][200]>;
const minted: Minted = {
  accessToken: "a.b.c",
  tokenType: "Bearer",
  expiresIn: 600,
  expiresAt: "2026-01-01T00:00:00Z",
};

const created: JSONBody<operations["createClient"]["responses"][201]> = {
  id: "acme",
  name: "Acme",
  role: "issuer",
  resources: ["report:*"],
  scopes: null,
  maxTokenExpiry: 0,
  createdAt: "2026-01-01T00:00:00Z",
  secret: "shown once",
};

const problem: Schemas["Error"] = { error: { code: "invalid_request", message: "bad", field: "dashboardId" } };

export function describe(r: Schemas["VerifyResult"] | Schemas["IntrospectionResult"]): string {
  return r.active ? `active ${r.sub ?? ""}` : "inactive";
}

export const used = [mint, minted, created, problem];
