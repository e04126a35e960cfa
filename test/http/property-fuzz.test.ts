import { createHmac } from "node:crypto";
import fc, { type Arbitrary } from "fast-check";
import type { LightMyRequestResponse } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { admissionReview, annotate, label } from "../support/admission-reviews.js";
import { type DatabaseDump, dumpDatabase, dumpDifference } from "../support/database-dump.js";
import { dialects } from "../support/databases.js";
import { pythonJsonDumps } from "../support/mlflow-deliveries.js";
import { type MlflowVersions, startMlflowVersions } from "../support/mlflow-versions.js";
import {
  type JsonSchema,
  mangledText,
  mutated,
  NASTY_VALUES,
  PROTOTYPE_KEYS,
  type SchemaContext,
  schemaValue,
} from "../support/schema-arbitrary.js";
import { registration, startTestApp, type TestApp } from "../support/test-app.js";

/*
 * Property-based fuzzing of every operation /openapi.json lists (test/http/fuzz.test.ts holds the
 * hand-picked storm; this one is generated). For each operation fast-check draws requests from the
 * operation's own JSON Schemas (path, query, body: valid values, and the same values mutated:
 * wrong types, extremes, unicode, nulls, deep nesting, prototype keys, broken JSON) with tokens of
 * every kind, and checks each answer: never a 5xx, every 4xx a problem+json, and a refused request
 * leaves every table of the database exactly as it was. The seed is fixed and printed with any
 * failure, so a failure replays: `FUZZ_SEED=<seed> npx vitest run test/http/property-fuzz.test.ts`.
 * FUZZ_STATS=1 prints how many answers each status got per route; FUZZ_STACK=1 adds stacks to failures.
 */

const NOW = Date.parse("2026-11-25T12:00:00.000Z");
const DAY = 86_400_000;
const SEED = Number(process.env.FUZZ_SEED ?? 0x19f8);
const MLFLOW_SECRET = "whsec-fuzz-19";

interface Operation {
  method: string;
  path: string;
  parameters: { name: string; in: string; schema: JsonSchema; required?: boolean }[];
  body?: JsonSchema;
}

interface DrawnRequest {
  method: string;
  url: string;
  headers: Record<string, string>;
  payload?: string;
  what: string;
}

/** Every operation of the document, as method, path, parameters and body schema. */
function operationsOf(document: JsonSchema): Operation[] {
  const operations: Operation[] = [];
  for (const [path, methods] of Object.entries<JsonSchema>(document.paths)) {
    for (const [method, operation] of Object.entries<JsonSchema>(methods)) {
      operations.push({
        method: method.toUpperCase(),
        path,
        parameters: operation.parameters ?? [],
        body: operation.requestBody?.content?.["application/json"]?.schema,
      });
    }
  }
  return operations;
}

/** The rows a request can name: seeded ids and names, so that valid requests reach real rows. */
interface Fleet {
  deploymentIds: number[];
  hints: Record<string, readonly unknown[]>;
}

async function seed(t: TestApp): Promise<Fleet> {
  const ok = async (method: "POST" | "PUT", url: string, body: unknown) => {
    const res = await t.request({ method, url, body });
    expect(res.statusCode, `${method} ${url}: ${res.body}`).toBeLessThan(300);
    return res.json() as { id: number };
  };
  const old = await ok(
    "POST",
    "/v1/deployments",
    registration({ deployment_date: new Date(NOW - 40 * DAY).toISOString() }),
  );
  const live = await ok("POST", "/v1/deployments", registration({ model_version: "3.3.0" }));
  await ok("PUT", "/v1/models/fraud-gbm/golden", { model_version: "3.2.0" });
  const growth = await ok(
    "POST",
    "/v1/deployments",
    registration({ model: "recsys", model_version: "1.0.0", owner_team: "growth", tags: { tier: "gold" } }),
  );
  const shadow = await ok(
    "POST",
    "/v1/deployments",
    registration({ model_version: "3.4.0", role: "shadow" }),
  );
  await ok("POST", `/v1/deployments/${live.id}/metrics`, { points: [{ name: "auc", value: 0.91 }] });
  await ok("POST", "/v1/sweeps", {});
  const ids = [old.id, live.id, growth.id, shadow.id];
  return {
    deploymentIds: ids,
    hints: {
      id: ids,
      deployment_id: ids,
      model: ["fraud-gbm", "recsys"],
      name: ["fraud-gbm", "recsys", "auc"],
      owner_team: ["risk", "growth"],
      environment: ["production", "staging"],
      model_version: ["3.2.0", "3.3.0", "1.0.0"],
    },
  };
}

/** Tokens as requests carry them: mostly admin (so validation, not auth, is what is reached). */
function authorizations(t: TestApp): Arbitrary<Record<string, string>> {
  const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
  return fc.oneof(
    { weight: 8, arbitrary: fc.constant(bearer(t.tokens.admin)) },
    {
      weight: 2,
      arbitrary: fc.constantFrom(
        {},
        bearer(t.tokens.read),
        bearer(t.tokens.risk),
        bearer("tnr_not-a-token"),
        { authorization: "Basic dXNlcjpwYXNz" },
        { authorization: "Bearer " },
      ),
    },
  );
}

/** A path parameter: a seeded value, one its schema allows, or junk, always URL-encoded. */
function pathValue(name: string, schema: JsonSchema, context: SchemaContext): Arbitrary<string> {
  return fc
    .oneof(
      { weight: 4, arbitrary: schemaValue(schema, context, name) },
      { weight: 2, arbitrary: NASTY_VALUES },
    )
    .map((value) => encodePath(typeof value === "string" ? value : (JSON.stringify(value) ?? "")))
    .map((text) => (text === "" ? "%20" : text.slice(0, 3000)));
}

/** A value as query text; `{toString: "x"}` cannot be made a string by String(). */
function textOf(value: unknown): string {
  return typeof value === "string" ? value : (JSON.stringify(value) ?? "undefined");
}

/** encodeURIComponent, with a lone surrogate sent as the raw bytes a client could still put on the wire. */
function encodePath(text: string): string {
  try {
    return encodeURIComponent(text);
  } catch {
    return encodeURIComponent(text.replace(/[\ud800-\udfff]/g, "")).concat("%ED%A0%80");
  }
}

function queryOf(operation: Operation, context: SchemaContext): Arbitrary<string> {
  const fields: Record<string, Arbitrary<unknown>> = {};
  for (const p of operation.parameters.filter((p) => p.in === "query")) {
    // A valid `wait` holds the answer for up to 30 s: the long poll has tests of its own.
    fields[p.name] = p.name === "wait" ? fc.constantFrom(0, "0") : schemaValue(p.schema, context, p.name);
  }
  const valid = fc.record(fields, { requiredKeys: [] });
  return fc
    .oneof(
      { weight: 3, arbitrary: valid },
      { weight: 4, arbitrary: mutated(valid) },
      {
        weight: 1,
        arbitrary: fc
          .tuple(valid, fc.constantFrom(...PROTOTYPE_KEYS, "x[]", "model[$ne]"), NASTY_VALUES)
          .map(([q, key, value]) => ({ ...(q as object), [key]: value })),
      },
    )
    .map((query) => {
      if (query === null || typeof query !== "object" || Array.isArray(query))
        return `q=${encodePath(textOf(query))}`;
      const params = new URLSearchParams();
      for (const [key, value] of Object.entries(query)) {
        if (
          key === "wait" &&
          !(value === 0 || value === "0") &&
          /^\s*\+?0*\d{1,2}(\.0*)?\s*$/.test(textOf(value))
        )
          continue;
        for (const one of Array.isArray(value) ? value : [value]) {
          params.append(key, typeof one === "string" ? one : (JSON.stringify(one) ?? ""));
        }
      }
      return params.toString();
    });
}

/**
 * A body each mutating route accepts, written by hand: the schema alone cannot say how fields
 * depend on each other (dates in order, a canary's steps), so mutating a known-good body is what
 * reaches the code behind validation.
 */
function examplesOf(fleet: Fleet): Record<string, unknown> {
  const minute = NOW - 60_000;
  return {
    "POST /v1/deployments": registration({ model_version: "3.5.0", tags: { tier: "gold" } }),
    "POST /v1/deployments/{id}/retire": { reason: "replaced" },
    "PUT /v1/models/{name}/golden": { model_version: "3.3.0" },
    "POST /v1/models/{name}/rollback": { environment: "production", reason: "regression" },
    "POST /v1/sweeps": { dry_run: true },
    "POST /v1/deployments/{id}/review": { note: "checked", extend_seconds: 86_400 },
    "POST /v1/deployments/{id}/heartbeat": { served_version: "3.3.0" },
    "POST /v1/deployments/{id}/metrics": {
      points: [{ name: "auc", value: 0.9, timestamp: new Date(minute).toISOString(), sample_size: 100 }],
    },
    "POST /v1/policies/reload": {},
    "POST /v1/models/{name}/gate": { model_version: "3.3.0", metrics: { auc: 0.93 }, sample_size: 1000 },
    "POST /v1/alerts/{id}/resolve": { note: "fixed" },
    "POST /v1/deliveries/retry": { ids: [1] },
    "POST /v1/deployments/{id}/samples": { rows: [{ amount: 12.5, country: "fr", card: true }] },
    "POST /v1/deployments/{id}/reference": {
      rows: [
        { amount: 10, country: "fr" },
        { amount: 11, country: "de" },
      ],
    },
    "POST /v1/feedback": { items: [{ request_id: "req-1", label: true }] },
    "POST /v1/traffic": {
      gateway: "gw-1",
      deployments: [
        {
          deployment_id: fleet.deploymentIds[1],
          window_start: minute,
          window_end: minute + 60_000,
          requests: 10,
          errors: 1,
          timeouts: 0,
          latency_buckets: Array.from({ length: 17 }, (_, i) => (i === 3 ? 10 : 0)),
        },
      ],
    },
  };
}

/** A body: valid, mutated, broken as text, or not JSON at all; with the content type a client might send. */
function bodyOf(
  schema: JsonSchema,
  context: SchemaContext,
  example: unknown,
): Arbitrary<{ payload: string; type?: string }> {
  const generated = schemaValue(schema, context);
  const valid = example === undefined ? generated : fc.oneof(generated, fc.constant(example));
  const json = fc.oneof(
    { weight: 3, arbitrary: valid },
    { weight: 6, arbitrary: mutated(valid) },
    { weight: 1, arbitrary: NASTY_VALUES },
  );
  const text = fc.oneof(
    { weight: 9, arbitrary: json.map((v) => JSON.stringify(v) ?? "null") },
    { weight: 2, arbitrary: mangledText(valid.map((v) => JSON.stringify(v) ?? "null")) },
    {
      weight: 1,
      arbitrary: fc.integer({ min: 1000, max: 100_000 }).map((n) => `${"[".repeat(n)}${"]".repeat(n)}`),
    },
  );
  const type = fc.oneof(
    { weight: 12, arbitrary: fc.constant("application/json") },
    {
      weight: 1,
      arbitrary: fc.constantFrom(
        "application/json; charset=utf-8",
        "text/plain",
        "application/x-www-form-urlencoded",
        undefined,
      ),
    },
  );
  return fc.record({ payload: text, type });
}

function requestsOf(
  operation: Operation,
  t: TestApp,
  context: SchemaContext,
  examples: Record<string, unknown>,
): Arbitrary<DrawnRequest> {
  const pathParams = operation.parameters.filter((p) => p.in === "path");
  const path = fc
    .tuple(...pathParams.map((p) => pathValue(p.name, p.schema, context)))
    .map((values) =>
      pathParams.reduce((url, p, i) => url.replace(`{${p.name}}`, values[i] ?? ""), operation.path),
    );
  const body = operation.body
    ? bodyOf(operation.body, context, examples[`${operation.method} ${operation.path}`])
    : fc.constant<{ payload?: string; type?: string }>({});
  return fc.tuple(path, queryOf(operation, context), body, authorizations(t)).map(([p, q, b, auth]) => {
    const url = q === "" ? p : `${p}?${q}`;
    return {
      method: operation.method,
      url,
      headers: { ...auth, ...(b.type ? { "content-type": b.type } : {}) },
      ...(b.payload === undefined ? {} : { payload: b.payload }),
      what: `${operation.method} ${url.slice(0, 300)} ${b.type ?? ""} ${(b.payload ?? "").slice(0, 300)}`,
    };
  });
}

/** How an answer breaks the contract, or null. */
function answerFault(res: LightMyRequestResponse): string | null {
  if (res.statusCode >= 500) return `${res.statusCode}: ${res.body.slice(0, 300)}`;
  if (res.statusCode < 400) return null;
  const type = String(res.headers["content-type"] ?? "");
  if (!type.startsWith("application/problem+json")) return `${res.statusCode} as ${type || "no type"}`;
  try {
    const problem = JSON.parse(res.body) as { status?: unknown; title?: unknown };
    if (problem.status !== res.statusCode)
      return `problem status ${String(problem.status)} on ${res.statusCode}`;
    if (typeof problem.title !== "string") return "problem without a title";
  } catch {
    return `problem body is not JSON: ${res.body.slice(0, 100)}`;
  }
  return null;
}

/**
 * Sends requests while keeping a dump of the database as the last accepted request left it: a
 * refused request must leave it exactly so. One dump a request: after a refusal to compare, after
 * an acceptance to move the baseline on.
 */
class Prober {
  private dump: DatabaseDump | undefined;
  sent = 0;
  refused = 0;
  readonly statuses = new Map<string, number>();
  /** `readOnly`: the route never writes, so even an accepted request must leave every table as it was. */
  constructor(
    private readonly t: TestApp,
    private readonly readOnly = false,
  ) {}

  async send(request: DrawnRequest): Promise<string | null> {
    this.dump ??= await dumpDatabase(this.t.context.database);
    const res = await this.t.app.inject({
      method: request.method as "GET",
      url: request.url,
      headers: request.headers,
      ...(request.payload === undefined ? {} : { payload: request.payload }),
    });
    this.sent++;
    const key = `${request.method} ${request.url.split("?")[0]?.replace(/\/[^/]*(?=\/|$)/g, (m) => (/^\/(v1|k8s|hooks|models|deployments|alerts|fleet)$/.test(m) ? m : "/_"))} ${res.statusCode}`;
    this.statuses.set(key, (this.statuses.get(key) ?? 0) + 1);
    const fault = answerFault(res);
    if (fault) return fault;
    const after = await dumpDatabase(this.t.context.database);
    if (res.statusCode >= 400 || this.readOnly) {
      if (res.statusCode >= 400) this.refused++;
      const changed = dumpDifference(this.dump, after);
      if (changed.length > 0) return `answered ${res.statusCode} but changed ${changed.join("; ")}`;
    }
    this.dump = after;
    return null;
  }
}

/** Runs a property per operation; the failures, each with the seed that replays it. */
async function fuzzOperations(
  prober: Prober,
  operations: Operation[],
  arbitraryOf: (operation: Operation) => Arbitrary<DrawnRequest>,
  numRuns: (operation: Operation) => number,
): Promise<string[]> {
  const failures: string[] = [];
  for (const [index, operation] of operations.entries()) {
    const seed = SEED + index;
    try {
      await fc.assert(
        fc.asyncProperty(arbitraryOf(operation), async (request) => {
          const fault = await prober.send(request);
          if (fault) throw new Error(`${fault}\n  ← ${request.what}`);
        }),
        // Requests change the database, so a shrunk replay would not meet the same state: report as found.
        { numRuns: numRuns(operation), seed, endOnFailure: true },
      );
    } catch (error) {
      failures.push(
        `${operation.method} ${operation.path} (seed ${seed}): ${(error as Error).message.slice(0, 1500)} ${process.env.FUZZ_STACK ? (error as Error).stack : ""}`,
      );
    }
  }
  return failures;
}

const MLFLOW_EVENTS = [
  "model_version_alias.created",
  "model_version_alias.deleted",
  "model_version_tag.set",
  "model_version.created",
  "registered_model.created",
  "model_version_tag.deleted",
];

/** MLflow's envelopes (mlflow/webhooks/types.py) for the events the webhook reads, as MLflow fills them. */
const mlflowEnvelopes: Arbitrary<Record<string, unknown>> = fc
  .record({
    event: fc.constantFrom(...MLFLOW_EVENTS),
    name: fc.constantFrom("fraud-gbm", "Fraud GBM", "unknown-model", "", "a/b", "\u0000"),
    alias: fc.constantFrom("champion", "challenger", ""),
    version: fc.oneof(fc.constantFrom("1", "2", "3", "99", "0", "-1", "", "1e3"), fc.integer()),
    key: fc.constantFrom("owner_team", "training_data_cutoff", "other"),
    value: fc.constantFrom("risk", "2026-09-01", "2026-13-45", "", "x".repeat(3000), "\u0000"),
    timestamp: fc.constantFrom(
      "2026-11-25T11:59:58.123417+00:00",
      "not a time",
      "",
      "9999-12-31T23:59:59+00:00",
    ),
  })
  .map(({ event, timestamp, ...data }) => {
    const [entity, action] = event.split(".");
    return { entity, action, timestamp, data };
  });

/** Deliveries signed as MLflow signs them, so the body parser and handler are what is fuzzed. */
function signedDeliveries(): Arbitrary<DrawnRequest> {
  let counter = 0;
  const bodies = fc.oneof(
    { weight: 3, arbitrary: mlflowEnvelopes.map((e) => pythonJsonDumps(e)) },
    { weight: 5, arbitrary: mutated(mlflowEnvelopes).map((e) => JSON.stringify(e) ?? "null") },
    { weight: 1, arbitrary: mangledText(mlflowEnvelopes.map((e) => pythonJsonDumps(e))) },
    { weight: 1, arbitrary: NASTY_VALUES.map((v) => JSON.stringify(v) ?? "null") },
  );
  return bodies.map((body) => {
    // One delivery id per request: a repeated id is a replay, answered without reading the body.
    const id = `fuzz-${counter++}`;
    const timestamp = String(Math.floor((NOW - 1000) / 1000));
    const signature = createHmac("sha256", MLFLOW_SECRET)
      .update(`${id}.${timestamp}.${body}`, "utf8")
      .digest("base64");
    const headers = {
      "content-type": "application/json",
      "x-mlflow-delivery-id": id,
      "x-mlflow-timestamp": timestamp,
      "x-mlflow-signature": `v1,${signature}`,
    };
    return { method: "POST", url: "/v1/hooks/mlflow", headers, payload: body, what: body.slice(0, 300) };
  });
}

/** AdmissionReviews as an API server sends them (the fixtures), with the model's metadata varied. */
const admissionReviews: Arbitrary<unknown> = fc
  .record({
    fixture: fc.constantFrom(
      "deployment-create" as const,
      "statefulset-update" as const,
      "inferenceservice-create" as const,
    ),
    model: fc.constantFrom("fraud-gbm", "recsys", "unknown", "Fraud", "", "x".repeat(200), undefined),
    version: fc.constantFrom("3.3.0", "", " ", "1/0", undefined),
    cutoff: fc.constantFrom("2026-09-01", "2026-13-40", "2999-01-01", "1970-01-01T00:00:00Z", "", undefined),
    team: fc.constantFrom("risk", "growth", "RISK", "", undefined),
    environment: fc.constantFrom("production", "staging", "Prod!", undefined),
    operation: fc.constantFrom("CREATE", "UPDATE", "DELETE", "CONNECT"),
  })
  .map((r) => {
    const review = annotate(label(admissionReview(r.fixture), { "tenure.dev/model": r.model }), {
      "tenure.dev/model-version": r.version,
      "tenure.dev/training-data-cutoff": r.cutoff,
      "tenure.dev/owner-team": r.team,
      "tenure.dev/environment": r.environment,
    });
    review.request.operation = r.operation;
    return review;
  });

function admissionRequests(): Arbitrary<DrawnRequest> {
  return fc
    .oneof({ weight: 2, arbitrary: admissionReviews }, { weight: 5, arbitrary: mutated(admissionReviews) })
    .map((review) => {
      const payload = JSON.stringify(review) ?? "null";
      return {
        method: "POST",
        url: "/k8s/admission",
        headers: { "content-type": "application/json" },
        payload,
        what: payload.slice(0, 400),
      };
    });
}

describe.each(dialects())("generated and mutated requests to every route on %s", (dialect) => {
  let t: TestApp;
  let mlflow: MlflowVersions;
  let operations: Operation[];
  let context: SchemaContext;
  let examples: Record<string, unknown>;
  beforeAll(async () => {
    mlflow = await startMlflowVersions();
    t = await startTestApp(dialect, {
      now: NOW,
      admission: true,
      metrics: true,
      mlflow: { webhookSecret: MLFLOW_SECRET, url: mlflow.url, alias: "champion", environment: "production" },
    });
    mlflow.models.set("fraud-gbm", {
      tags: { owner_team: "risk" },
      aliases: { champion: "3" },
      versions: {
        "2": { creation_timestamp: NOW - 40 * DAY, tags: { training_data_cutoff: "2026-09-01" } },
        "3": { creation_timestamp: NOW - 3 * DAY, tags: { training_data_cutoff: "2026-11-01" } },
      },
    });
    const fleet = await seed(t);
    const document = (await t.request({ method: "GET", url: "/openapi.json" })).json() as JsonSchema;
    operations = operationsOf(document);
    examples = examplesOf(fleet);
    context = { components: document.components?.schemas ?? {}, hints: fleet.hints };
  });
  afterAll(async () => {
    await t?.close();
    await mlflow?.close();
  });

  // SQLite runs every operation; PostgreSQL (slower per dump) the mutating ones, fewer times each.
  const mutating = (o: Operation) => o.method !== "GET";
  const runs = (o: Operation) => (dialect === "sqlite" ? (mutating(o) ? 120 : 50) : mutating(o) ? 25 : 0);

  it("answers no request with a 5xx or a broken problem, and a refused one changes no table", async () => {
    const prober = new Prober(t);
    const chosen = operations.filter((o) => runs(o) > 0);
    const failures = await fuzzOperations(prober, chosen, (o) => requestsOf(o, t, context, examples), runs);
    if (process.env.FUZZ_STATS)
      console.log(
        [...prober.statuses]
          .sort()
          .map(([k, n]) => `${k}: ${n}`)
          .join("\n"),
      );
    expect(failures).toEqual([]);
    // The property saw both outcomes: requests were refused, and some valid ones got through.
    expect(prober.refused).toBeGreaterThan(prober.sent / 4);
    expect(prober.refused).toBeLessThan(prober.sent);
  }, 120_000);

  it("answers MLflow deliveries signed correctly but generated and mutated below 500, and a refused one changes no table", async () => {
    const prober = new Prober(t);
    const webhook: Operation = { method: "POST", path: "/v1/hooks/mlflow (signed)", parameters: [] };
    const asked = mlflow.requests.length;
    const failures = await fuzzOperations(
      prober,
      [webhook],
      () => signedDeliveries(),
      () => (dialect === "sqlite" ? 200 : 40),
    );
    expect(failures).toEqual([]);
    // The signature held, so the body was read: some deliveries were taken, others refused as bad input.
    const statuses = [...prober.statuses.keys()].map((k) => k.split(" ").at(-1));
    expect(statuses).toContain("200");
    expect(statuses).toContain("400");
    expect(statuses).not.toContain("401");
    // Deliveries that named a version were looked up in the fake MLflow: egress to it was not refused.
    expect(mlflow.requests.length).toBeGreaterThan(asked);
  }, 60_000);

  it("answers AdmissionReviews (real ones with varied metadata, then mutated) with a review or a problem, never a 5xx, and changes no table", async () => {
    const prober = new Prober(t, true);
    const admission: Operation = { method: "POST", path: "/k8s/admission (reviews)", parameters: [] };
    const failures = await fuzzOperations(
      prober,
      [admission],
      () => admissionRequests(),
      () => (dialect === "sqlite" ? 200 : 40),
    );
    expect(failures).toEqual([]);
    const statuses = [...prober.statuses.keys()].map((k) => k.split(" ").at(-1));
    expect(statuses).toContain("200");
  }, 60_000);

  it("fuzzes every operation the OpenAPI document lists (on PostgreSQL, every one that writes)", () => {
    expect(operations.length).toBeGreaterThan(40);
    const expected = operations.filter((o) => dialect === "sqlite" || mutating(o));
    expect(expected.length).toBeGreaterThan(15);
    expect(expected.filter((o) => runs(o) === 0).map((o) => `${o.method} ${o.path}`)).toEqual([]);
  });
});
