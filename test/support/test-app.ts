import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import type { FastifyInstance, LightMyRequestResponse } from "fastify";
import { expect } from "vitest";
import type { RetryPolicy } from "../../src/alerts/dispatcher.js";
import { type Context, openContext } from "../../src/context.js";
import type { TokenScope } from "../../src/core/words.js";
import { EgressPolicy } from "../../src/egress-policy.js";
import { RouteFeed } from "../../src/gateway/route-feed.js";
import { buildApp } from "../../src/http/app.js";
import { PrometheusMetrics } from "../../src/http/prometheus/prometheus-metrics.js";
import type { RateLimits } from "../../src/http/rate-limit.js";
import { scrapeSourceOf } from "../../src/http/server.js";
import { TokenCache } from "../../src/http/token-auth.js";
import { AdmissionWebhook } from "../../src/integrations/kubernetes/admission-webhook.js";
import { type MlflowSettings, mlflowWebhookOf } from "../../src/integrations/mlflow/mlflow-webhook.js";
import { generateToken, hashToken } from "../../src/registry/tokens.js";
import type { DialectName } from "../../src/store/database.js";
import { createTestDatabase, type TestDatabase } from "./databases.js";

export interface TestApp {
  app: FastifyInstance;
  context: Context;
  database: TestDatabase;
  /** The policy file, when the test gave one (rewrite it and reload to change policies). */
  policiesPath: string | null;
  /** Tokens by name: `admin`, `write`, `read`, and `risk` (write, bound to team risk). */
  tokens: Record<"admin" | "write" | "read" | "risk", string>;
  /** Moves the clock the registry reads. */
  setNow(ms: number): void;
  request(options: {
    method: "GET" | "POST" | "PUT" | "DELETE" | "PATCH";
    url: string;
    body?: unknown;
    token?: string | null;
    headers?: Record<string, string>;
  }): Promise<LightMyRequestResponse>;
  close(): Promise<void>;
}

/** A fresh database of the dialect, migrated, with an app on it and a token of each kind. */
export async function startTestApp(
  dialect: DialectName,
  options: {
    publicRead?: boolean;
    now?: number;
    /** A policy file's text; the built-in defaults when absent. */
    policies?: string;
    /** Where the policy file's `${VAR}`s are read. */
    env?: Record<string, string>;
    retry?: RetryPolicy;
    /** Serve GET /metrics, wired as `tenure serve` wires it. */
    metrics?: boolean;
    /** Serve POST /k8s/admission, wired as `tenure serve --k8s-admission` wires it. */
    admission?: boolean;
    /** Take MLflow's webhooks, as `tenure serve --mlflow-webhook-secret …` does. */
    mlflow?: MlflowSettings;
    /**
     * Where channels and MLflow look-ups may connect. Private addresses are allowed by default
     * here, unlike a server's default: every fake receiver listens on 127.0.0.1.
     */
    egress?: EgressPolicy;
    /** Limit request rates, as `tenure serve` does; no limit when absent. */
    rateLimits?: RateLimits;
    /** Reverse proxies whose X-Forwarded-For names the client, as `tenure serve --trust-proxy`. */
    trustProxy?: string[];
  } = {},
): Promise<TestApp> {
  const database = await createTestDatabase(dialect);
  let now = options.now ?? Date.now();
  let policies: string | null = null;
  if (options.policies !== undefined) {
    policies = join(mkdtempSync(join(tmpdir(), "tenure-policies-")), "policies.yaml");
    writeFileSync(policies, options.policies);
  }
  const metrics = options.metrics ? new PrometheusMetrics({ version: "test" }) : undefined;
  const egress = options.egress ?? EgressPolicy.allowPrivate();
  const context = await openContext(database.url, {
    egress,
    telemetry: metrics?.telemetry,
    clock: () => now,
    policies,
    env: options.env ?? {},
    // Retries in real time but quickly, so a test can ride out a receiver's outage in seconds.
    retry: options.retry ?? { max_attempts: 6, base_delay_ms: 100, max_delay_ms: 400 },
  });
  const make = async (scope: TokenScope, team: string | null = null) => {
    const token = generateToken();
    await context.stores.tokens.insert({
      name: `${scope}${team ? `-${team}` : ""}`,
      token_hash: hashToken(token),
      scope,
      owner_team: team,
      created_at: now,
    });
    return token;
  };
  const tokens = {
    admin: await make("admin"),
    write: await make("write"),
    read: await make("read"),
    risk: await make("write", "risk"),
  };
  metrics?.readFrom(scrapeSourceOf(context));
  const routes = new RouteFeed({ url: database.url, stores: context.stores });
  const app = await buildApp({
    mlflowHook: mlflowWebhookOf(options.mlflow, {
      registry: context.registry,
      receipts: context.stores.webhookReceipts,
      clock: () => now,
      egress,
    }),
    metrics,
    routes,
    registry: context.registry,
    audit: context.audit,
    lifecycle: context.lifecycle,
    drift: context.drift,
    canaries: context.canaries,
    shadow: context.shadow,
    traffic: context.traffic,
    gate: context.gate,
    // The test's clock, so that moving it expires tokens; no cache, so a revocation counts at once.
    tokens: new TokenCache(context.stores.tokens, () => now, 0),
    rateLimits: options.rateLimits,
    trustProxy: options.trustProxy,
    publicRead: options.publicRead ?? false,
    version: "test",
    admission: options.admission
      ? new AdmissionWebhook({
          policies: context.policies,
          models: context.stores.models,
          clock: context.clock,
        })
      : undefined,
  });
  return {
    app,
    context,
    database,
    policiesPath: policies,
    tokens,
    setNow: (ms) => {
      now = ms;
    },
    request: ({ method, url, body, token, headers }) =>
      app.inject({
        method,
        url,
        headers: {
          ...(token === null ? {} : { authorization: `Bearer ${token ?? tokens.admin}` }),
          ...(body === undefined ? {} : { "content-type": "application/json" }),
          ...headers,
        },
        payload: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body),
      }),
    close: async () => {
      await routes.close();
      await app.close();
      await context.close();
      await database.drop();
      if (policies) rmSync(dirname(policies), { recursive: true, force: true });
    },
  };
}

/** A valid registration body; override what the test is about. */
export function registration(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    model: "fraud-gbm",
    model_version: "3.2.0",
    training_data_cutoff: "2026-10-01",
    owner_team: "risk",
    environment: "production",
    ...overrides,
  };
}

/** GETs as admin and reads the JSON answer; anything but 200 fails the test with the body. */
export async function getOk(t: TestApp, url: string) {
  const res = await t.request({ method: "GET", url });
  expect(res.statusCode, res.body).toBe(200);
  return res.json();
}

/** POSTs as admin and reads the JSON answer; anything but a 2xx fails the test with the body. */
export async function postOk(t: TestApp, url: string, body: unknown) {
  const res = await t.request({ method: "POST", url, body });
  expect(res.statusCode, res.body).toBeLessThan(300);
  return res.json();
}
