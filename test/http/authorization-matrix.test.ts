import { existsSync } from "node:fs";
import { join } from "node:path";
import type { FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DASHBOARD_ROOT, DASHBOARD_VIEWS } from "../../src/http/dashboard.js";
import { generateToken, hashToken } from "../../src/registry/tokens.js";
import { dialects } from "../support/databases.js";
import { registration, startTestApp, type TestApp } from "../support/test-app.js";

/**
 * The authorization matrix of issue 19: every route the server has × every kind of credential →
 * the status expected. The routes come from fastify's own route table, not from a list kept
 * here, so a route added without a rule below fails this test.
 */

const NOW = Date.parse("2026-11-25T12:00:00.000Z");

/** How a route is reached. docs/SECURITY.md explains each. */
type Access =
  /** Anyone who can reach the port: nothing to protect (health, the OpenAPI document, the dashboard's files). */
  | { kind: "public" }
  /** No credential by design: reached only from the Kubernetes API server, over TLS (the network is the control). */
  | { kind: "network" }
  /** Its protocol's own signature (MLflow's HMAC): a bearer token, even an admin one, opens nothing. */
  | { kind: "signed" }
  /**
   * A bearer token of at least `scope`. `team` says what a token bound to another team gets:
   * `checked`, 403 from the registry for another team's model; `unbound-only`, 403 whatever the
   * model (it acts on the whole fleet); `ignored`, the route does not look at the team.
   */
  | { kind: "bearer"; scope: "read" | "write" | "admin"; team: "checked" | "unbound-only" | "ignored" };

/** The credentials each route is tried with. */
const CREDENTIALS = ["none", "revoked", "expired", "read", "other-team", "write", "admin"] as const;
type Credential = (typeof CREDENTIALS)[number];

/** What a request with a credential must get: "allowed" means neither 401 nor 403 (400, 404, 409 are fine). */
type Expected = "allowed" | 401 | 403;

function expected(access: Access, credential: Credential): Expected {
  switch (access.kind) {
    case "public":
    case "network":
      return "allowed";
    case "signed":
      return 401;
    case "bearer":
      break;
  }
  const rank = { read: 1, write: 2, admin: 3 } as const;
  switch (credential) {
    case "none":
    case "revoked":
    case "expired":
      return 401;
    case "read":
      return access.scope === "read" ? "allowed" : 403;
    case "write":
      return access.scope === "admin" ? 403 : "allowed";
    case "admin":
      return "allowed";
    case "other-team":
      // A team-bound token is a write token: reads pass, admin routes don't, and changes pass
      // only where the route ignores the team.
      if (rank[access.scope] > rank.write) return 403;
      if (access.scope === "read") return "allowed";
      return access.team === "ignored" ? "allowed" : 403;
  }
}

/** What the seeded database holds: fraud-gbm (team risk), live deployment `live`, open alert `alert`. */
interface Seed {
  live: number;
  alert: number;
}

interface Rule {
  access: Access;
  /** The request to make; by default the path with `:id` → the live deployment, `:name` → fraud-gbm, and `{}` as a body. */
  request?: (seed: Seed) => { url?: string; body?: unknown; headers?: Record<string, string> };
}

const read: Access = { kind: "bearer", scope: "read", team: "ignored" };
const change: Access = { kind: "bearer", scope: "write", team: "checked" };
const admin: Access = { kind: "bearer", scope: "admin", team: "unbound-only" };
const publicRoute: Access = { kind: "public" };

/**
 * The rule of every route, by `METHOD /path` as fastify names it. A HEAD route takes its GET's
 * rule. Bodies are valid where a 400 would hide the check under test (team and admin checks run
 * in the handler, after validation).
 */
const RULES: Record<string, Rule> = {
  "GET /": { access: publicRoute },
  "GET /healthz": { access: publicRoute },
  "GET /openapi.json": { access: publicRoute },
  "GET /metrics": { access: read },
  "POST /k8s/admission": { access: { kind: "network" } },
  "POST /v1/hooks/mlflow": { access: { kind: "signed" } },

  "POST /v1/deployments": {
    access: change,
    request: () => ({ body: registration({ model_version: "3.4.0" }) }),
  },
  "GET /v1/deployments": { access: read },
  "GET /v1/deployments/:id": { access: read },
  "GET /v1/deployments/:id/events": { access: read },
  "GET /v1/deployments/:id/timeline": { access: read },
  "GET /v1/deployments/:id/policy": { access: read },
  "GET /v1/deployments/:id/reference": { access: read },
  "POST /v1/deployments/:id/retire": { access: change, request: () => ({ body: { reason: "matrix" } }) },
  "POST /v1/deployments/:id/review": { access: change, request: () => ({ body: { note: "checked" } }) },
  "POST /v1/deployments/:id/reference": { access: change, request: () => ({ body: { rows: [{ x: 1 }] } }) },
  "POST /v1/deployments/:id/heartbeat": { access: change },
  "POST /v1/deployments/:id/metrics": {
    access: change,
    request: () => ({ body: { points: [{ name: "auc", value: 0.9 }] } }),
  },
  "POST /v1/deployments/:id/samples": { access: change, request: () => ({ body: { rows: [{ x: 1 }] } }) },

  "GET /v1/models": { access: read },
  "GET /v1/models/:name": { access: read },
  "GET /v1/models/:name/events": { access: read },
  "GET /v1/models/:name/canary": { access: read },
  "GET /v1/models/:name/performance": { access: read },
  "GET /v1/models/:name/drift": { access: read },
  "GET /v1/models/:name/shadow": { access: read },
  "PUT /v1/models/:name/golden": { access: change, request: () => ({ body: { model_version: "3.2.0" } }) },
  "POST /v1/models/:name/rollback": { access: change, request: () => ({ body: { to_version: "3.2.0" } }) },
  // Judges a candidate and changes nothing: a read, though its input needs a body.
  "POST /v1/models/:name/gate": { access: read },

  "GET /v1/sweeps": { access: read },
  // A sweep covers every team: only a token bound to none may start one.
  "POST /v1/sweeps": {
    access: { kind: "bearer", scope: "write", team: "unbound-only" },
    request: () => ({ body: { dry_run: true } }),
  },
  "POST /v1/policies/reload": { access: admin },
  "GET /v1/policy/suggestions": { access: read },
  "GET /v1/deliveries": { access: read },
  "POST /v1/deliveries/retry": { access: admin, request: () => ({ body: { ids: [] } }) },
  // The log holds every team's before and after: admin tokens bound to no team only (docs/AUDIT.md).
  "GET /v1/audit": { access: admin },
  "GET /v1/alerts": { access: read },
  "POST /v1/alerts/:id/resolve": {
    access: change,
    request: (seed) => ({ url: `/v1/alerts/${seed.alert}/resolve`, body: { note: "done" } }),
  },
  "GET /v1/lifecycle": { access: read },
  "GET /v1/calendar.ics": { access: read },
  "GET /v1/check": { access: read },
  "GET /v1/fleet": { access: read },
  "GET /v1/fleet/deployments": { access: read },
  "GET /v1/report": { access: read },
  "GET /v1/routes": { access: read },
  "GET /v1/ghosts": { access: read },
  // Labels name requests, not models: any write token may send them (docs/SECURITY.md, "Known gaps").
  "POST /v1/feedback": { access: { kind: "bearer", scope: "write", team: "ignored" } },
  // Another team's deployments in a report are skipped and counted (`skipped_forbidden`), not refused.
  "POST /v1/traffic": {
    access: { kind: "bearer", scope: "write", team: "ignored" },
    request: () => ({ body: { gateway: "matrix" } }),
  },
};

/** The rule of a route; the dashboard's views and built files are public wherever they are. */
function ruleOf(method: string, url: string): Rule | undefined {
  const own = RULES[`${method === "HEAD" ? "GET" : method} ${url}`];
  if (own) return own;
  if (method !== "GET" && method !== "HEAD") return undefined;
  if ((DASHBOARD_VIEWS as readonly string[]).includes(url)) return { access: publicRoute };
  if (!url.includes(":") && existsSync(join(DASHBOARD_ROOT, url))) return { access: publicRoute };
  return undefined;
}

/**
 * Every method and path fastify serves, read from its route tree (`printRoutes` with no common
 * prefix folded, so each line adds its text to its parent's path).
 */
function routeTable(app: FastifyInstance): { method: string; url: string }[] {
  const routes: { method: string; url: string }[] = [];
  const parents: string[] = [];
  for (const line of app.printRoutes({ commonPrefix: false }).split("\n")) {
    const match = /^((?:[│ ] {3})*)[├└]── (.+?)(?: \(([A-Z, ]+)\))?$/.exec(line);
    if (!match?.[2]) continue;
    const depth = (match[1] ?? "").length / 4;
    const url = (parents[depth - 1] ?? "") + match[2];
    parents.length = depth;
    parents[depth] = url;
    for (const method of match[3]?.split(", ") ?? []) routes.push({ method, url });
  }
  return routes;
}

describe.each(dialects())("the authorization matrix on %s", (dialect) => {
  let t: TestApp;
  let seed: Seed;
  let tokens: Record<Credential, string | null>;
  let routes: { method: string; url: string }[];

  beforeAll(async () => {
    t = await startTestApp(dialect, {
      now: NOW,
      metrics: true,
      admission: true,
      // Never called: no delivery in this test carries a valid signature.
      mlflow: {
        webhookSecret: "matrix-secret",
        url: "http://127.0.0.1:9",
        alias: "champion",
        environment: "production",
      },
    });
    const call = (url: string, body: unknown) => t.request({ method: "POST", url, body });
    expect((await call("/v1/deployments", registration())).statusCode).toBe(201);
    const live = await call("/v1/deployments", registration({ model_version: "3.3.0" }));
    expect(live.statusCode, live.body).toBe(201);
    const liveId = live.json().id as number;
    const [alert] = await t.context.stores.alerts.insertAlerts([
      {
        deployment_id: liveId,
        kind: "review_due",
        severity: "info",
        policy: "default",
        model: "fraud-gbm",
        model_version: "3.3.0",
        environment: "production",
        owner_team: "risk",
        summary: "due for review",
        detail: {},
        opened_at: NOW,
      },
    ]);
    if (!alert) throw new Error("no alert was seeded");
    seed = { live: liveId, alert: alert.id };
    const insert = async (scope: "write" | "admin", team: string | null, expiresAt: number | null = null) => {
      const token = generateToken();
      const row = await t.context.stores.tokens.insert({
        name: `matrix-${scope}`,
        token_hash: hashToken(token),
        scope,
        owner_team: team,
        created_at: NOW,
        expires_at: expiresAt,
      });
      return { token, id: row.id };
    };
    const revoked = await insert("admin", null);
    expect(await t.context.stores.tokens.revoke(revoked.id, NOW)).toBe(true);
    tokens = {
      none: null,
      revoked: revoked.token,
      // An admin token whose expiry has passed: refused whatever it once allowed.
      expired: (await insert("admin", null, NOW)).token,
      read: t.tokens.read,
      // Bound to growth; fraud-gbm belongs to risk.
      "other-team": (await insert("write", "growth")).token,
      write: t.tokens.write,
      admin: t.tokens.admin,
    };
    await t.app.ready();
    routes = routeTable(t.app);
  });
  afterAll(async () => {
    await t?.close();
  });

  it("reads the whole route table: every path of the OpenAPI document is in it", async () => {
    const served = new Set(routes.map((r) => `${r.method} ${r.url}`));
    const document = (await t.request({ method: "GET", url: "/openapi.json", token: null })).json();
    const documented = Object.entries(document.paths as Record<string, Record<string, unknown>>).flatMap(
      ([path, operations]) =>
        Object.keys(operations).map((m) => `${m.toUpperCase()} ${path.replace(/\{(\w+)\}/g, ":$1")}`),
    );
    expect(documented.length).toBeGreaterThan(30);
    expect(documented.filter((route) => !served.has(route))).toEqual([]);
  });

  it("has a rule for every route the server serves, so a new route must be given one", () => {
    const missing = routes.filter((r) => !ruleOf(r.method, r.url)).map((r) => `${r.method} ${r.url}`);
    expect(missing).toEqual([]);
    // A rule for a route that no longer exists is a stale promise about it.
    const served = new Set(routes.map((r) => `${r.method} ${r.url}`));
    expect(Object.keys(RULES).filter((key) => !served.has(key))).toEqual([]);
  });

  it("answers every route × credential as its rule says: 401 without a valid token, 403 beyond its scope or team", async () => {
    const outcomes: string[] = [];
    const wrong: string[] = [];
    // Refusals first: an allowed change (a retire, a rollback) must not decide what a refusal sees.
    for (const credential of CREDENTIALS) {
      for (const { method, url } of routes) {
        const rule = ruleOf(method, url);
        if (!rule) continue;
        const made = rule.request?.(seed) ?? {};
        const path = made.url ?? url.replace(":id", String(seed.live)).replace(":name", "fraud-gbm");
        const body = method === "GET" || method === "HEAD" ? undefined : (made.body ?? {});
        const token = tokens[credential];
        const res = await t.request({
          method: method as "GET",
          url: path,
          body,
          token,
          headers: made.headers ?? {},
        });
        const want = expected(rule.access, credential);
        const ok =
          want === "allowed" ? res.statusCode !== 401 && res.statusCode !== 403 : res.statusCode === want;
        const line = `${credential.padEnd(10)} ${method} ${url} → ${res.statusCode} (want ${want})`;
        outcomes.push(line);
        if (!ok) wrong.push(`${line}: ${res.body.slice(0, 200)}`);
        if (res.statusCode >= 500) wrong.push(`${line}: a 5xx`);
      }
    }
    expect(wrong).toEqual([]);
    expect(outcomes.length).toBe(routes.length * CREDENTIALS.length);
  });
});
