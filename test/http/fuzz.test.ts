import type { LightMyRequestResponse } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { seededRandom } from "../../src/core/reservoir.js";
import { generateToken } from "../../src/registry/tokens.js";
import { type DatabaseDump, dumpDatabase } from "../support/database-dump.js";
import { dialects } from "../support/databases.js";
import { registration, startTestApp, type TestApp } from "../support/test-app.js";

/*
 * "No request can make the server answer 5xx except a real server fault" (DESIGN.md). A seeded,
 * deterministic storm of malformed requests hits every route; then the tests look at what came
 * back and at what it left behind. Every request of the storm is one the server must refuse, so
 * the database must be exactly as it was before.
 */

const NOW = Date.parse("2026-11-25T12:00:00.000Z");
const DAY = 86_400_000;
const MIB = 1024 * 1024;
const SEED = 0x7e2a;
const JSON_TYPE = { "content-type": "application/json" };

interface Fuzz {
  /** The route of the contract the request aims at, such as `POST /v1/deployments`. */
  route: string;
  what: string;
  method: string;
  url: string;
  /** A string is sent as it is; anything else JSON-encoded, as application/json. */
  body?: unknown;
  headers?: Record<string, string | string[]>;
  /** Sends no Authorization header (otherwise the admin token's, unless headers say else). */
  anonymous?: boolean;
  /** Fields one of which a 400's `errors` list must name. */
  names?: string[];
}

interface Outcome {
  request: string;
  mutating: boolean;
  status: number;
  /** How a 4xx breaks the problem+json contract, or null. */
  problemFault: string | null;
  wwwAuthenticate: string;
  /** Set for requests with `names` that got a 400: whether the problem named one of them. */
  namedField?: boolean;
}

/** Values of the wrong JSON type for any string field. */
const WRONG_TYPES: unknown[] = [
  null,
  0,
  -1,
  1.5,
  1e30,
  2_147_483_648,
  -2_147_483_649,
  true,
  false,
  [],
  ["fraud-gbm"],
  {},
  { $ne: null },
];

/** Strings no slug, model version, instant, role or URL accepts. */
const BAD_STRINGS = [
  "",
  " ",
  "\u0000",
  "a\u0000b",
  "fraud-gbm\u0000",
  "\u0001\u001f",
  "\u007f",
  "\u001b[31mred",
  "😀",
  "\u202eevil",
  "\ud800",
  "é",
  "ｆｒａｕｄ",
  "line\nbreak",
  "' OR 1=1 --",
  "../../etc/passwd",
  "%00",
  "x".repeat(200_000),
];

/** What each registration field must refuse beyond the above. */
const FIELD_STRINGS: Record<string, string[]> = {
  model: ["Fraud-GBM", "-lead", ".hidden", "a b", "a/b", "m".repeat(129)],
  owner_team: ["RISK", "-risk", "risk team", "t".repeat(129)],
  environment: ["Production", "_prod", "prod/eu", "e".repeat(129)],
  model_version: ["-1", "+1", "1 0", "1/0", "v".repeat(129), "3.2.0\u0000"],
  training_data_cutoff: [
    "2026-13-01",
    "2026-02-30",
    "2026-10-01T00:00:00",
    "2026-10-01 00:00:00Z",
    "10/01/2026",
    "1e30",
    "99999-01-01",
    "2026-10-01T25:00:00Z",
    "2026-10-01T00:00:00Z\u0000",
    "yesterday",
    "2026-11-26",
  ],
  deployment_date: ["2026-13-01", "2026-10-01T00:00:00", "tomorrow", "2030-01-01", "2026-09-01"],
  role: ["PRIMARY", "backup", "primary\u0000", " primary"],
  endpoint: [
    "not a url",
    "http://",
    "http://a.example/\u0000",
    "\u0000http://a.example",
    "http://a.example/\u0001",
    "http://a.example/\u007f",
    `https://a.example/${"x".repeat(2100)}`,
  ],
};

const BAD_TAGS: unknown[] = [
  ...WRONG_TYPES.filter((v) => JSON.stringify(v) !== "{}"),
  "team=risk",
  { "": "x" },
  { UPPER: "x" },
  { "a b": "x" },
  { "\u0000": "x" },
  { "😀": "x" },
  { ["k".repeat(65)]: "x" },
  { a: 1 },
  { a: null },
  { a: ["x"] },
  { a: {} },
  { a: "\u0000" },
  { a: "\u001b[0m" },
  { a: "x".repeat(257) },
  Object.fromEntries(Array.from({ length: 51 }, (_, i) => [`t${i}`, "x"])),
];

/** Free text refuses only control characters, excess length and wrong types. */
const BAD_REASONS: unknown[] = [
  ...WRONG_TYPES,
  "\u0000",
  "why\u0000",
  "\u0001",
  "\u007f",
  "\u001b[31m",
  "x".repeat(2001),
];

/** None of these parses as JSON. */
const MALFORMED_JSON = [
  "{",
  '{"model": ',
  "{'model': 'fraud-gbm'}",
  "{model: 1}",
  "[1, 2",
  '"unterminated',
  '{"a": 1,}',
  "NaN",
  "undefined",
  "{}}",
  "\u0000",
  '{"model": "fraud-gbm"\u0000}',
  '{"__proto__": {"admin": true}}',
  '{"constructor": {"prototype": {"admin": true}}}',
  "[".repeat(300_000) + "]".repeat(300_000),
];

/** Ids that are no deployment's: out of range, not integers, not numbers, not text. */
const BAD_IDS = [
  "0",
  "-1",
  "-0",
  "1e30",
  "2147483648",
  "99999999999999999999",
  "1.5",
  "abc",
  "NaN",
  "Infinity",
  "%00",
  "1%00",
  "%F0%9F%98%80",
  "%E2%80%AE1",
  "%ZZ",
  "9".repeat(300),
];

const BAD_NAMES = [
  "Fraud-GBM",
  "-lead",
  "a%20b",
  "%00",
  "fraud-gbm%00",
  "%F0%9F%98%80",
  "%E2%80%AEx",
  "%2e%2e%2f",
  "%ZZ",
  "n".repeat(129),
  "n".repeat(300),
];

const BAD_QUERY: Record<string, string[]> = {
  model: ["", "Fraud", "%00", "a%00", "%F0%9F%98%80", "a%20b", "m".repeat(129), "%E0%A4%A"],
  environment: ["", "PROD", "%00", "%E2%80%AEx"],
  owner_team: ["", "Risk", "%00", "%0A"],
  role: ["", "PRIMARY", "backup", "%00"],
  status: ["", "live", "active%00", "x".repeat(1000)],
  stage: ["", "stale", "fresh,due"],
  sort: ["", "oldest", "-age,age", "age%00"],
  limit: ["", "0", "-1", "501", "1.5", "1e30", "2147483648", "NaN", "Infinity", "abc", "%00"],
  cursor: [
    "not-a-cursor",
    "%00",
    "x".repeat(201),
    ...[
      [],
      [1],
      [1, 2, 3],
      ["a", "b"],
      [1.5, 2],
      [1e300, 1],
      [9_007_199_254_740_991, 2_147_483_648],
      { a: 1 },
      null,
    ].map((key) => Buffer.from(JSON.stringify(key)).toString("base64url")),
  ],
};

/** Authorization headers that carry no valid credentials (the last: a token never issued). */
const BAD_AUTHORIZATION = [
  "",
  "Bearer",
  "Bearer ",
  "Basic dXNlcjpwYXNz",
  `Bearer ${"a".repeat(600)}`,
  "Bearer \u00ff\u00fe",
  "Bearer a\u0000b",
  `Bearer ${generateToken()}`,
];

/** A registration of a model nobody registered: if a broken copy of it got through, it would show. */
const stormRegistration = () => registration({ model: "storm-model", owner_team: "storm" });

interface Seeded {
  /** Ids of the deployments registered before the storm, in order. */
  ids: number[];
  /** A live deployment of team risk's model fraud-gbm, and one of team growth's model recsys. */
  riskLive: number;
  growthLive: number;
}

/** Registers a small fleet validly: a superseded, a live and a retired deployment, and a golden version. */
async function seed(t: TestApp): Promise<Seeded> {
  const ok = async (method: "POST" | "PUT", url: string, body: unknown, status: number) => {
    const res = await t.request({ method, url, body });
    expect(res.statusCode, `${method} ${url}: ${res.body}`).toBe(status);
    return res.json() as { id: number };
  };
  const old = registration({ deployment_date: new Date(NOW - 10 * DAY).toISOString() });
  const first = await ok("POST", "/v1/deployments", old, 201);
  const risk = await ok("POST", "/v1/deployments", registration({ model_version: "3.3.0" }), 201);
  await ok("PUT", "/v1/models/fraud-gbm/golden", { model_version: "3.2.0" }, 200);
  const growth = await ok(
    "POST",
    "/v1/deployments",
    registration({
      model: "recsys",
      model_version: "1.0.0",
      owner_team: "growth",
      endpoint: "https://recsys.example/predict",
      tags: { tier: "gold" },
    }),
    201,
  );
  const shadow = registration({ model_version: "3.4.0", role: "shadow" });
  const retired = await ok("POST", "/v1/deployments", shadow, 201);
  await ok("POST", `/v1/deployments/${retired.id}/retire`, { reason: "done" }, 200);
  return { ids: [first.id, risk.id, growth.id, retired.id], riskLive: risk.id, growthLive: growth.id };
}

/** What the storm's builders share: where requests go, the PRNG, the tokens and the fleet. */
interface Storm {
  requests: Fuzz[];
  random: () => number;
  tokens: TestApp["tokens"];
  seeded: Seeded;
}

function pick<T>(storm: Storm, list: readonly T[]): T {
  return list[Math.floor(storm.random() * list.length)] as T;
}

/** A builder of requests to one route at one URL. */
function at(storm: Storm, route: string, method: string, url: string) {
  return (what: string, body?: unknown, extra: Partial<Fuzz> = {}) =>
    void storm.requests.push({ route, what, method, url, body, ...extra });
}

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

function badValuesOf(field: string): unknown[] {
  return field === "tags" ? BAD_TAGS : [...WRONG_TYPES, ...BAD_STRINGS, ...(FIELD_STRINGS[field] ?? [])];
}

function registrationStorm(storm: Storm): void {
  const add = at(storm, "POST /v1/deployments", "POST", "/v1/deployments");
  const fields = [...Object.keys(FIELD_STRINGS), "tags"];
  for (const field of fields) {
    // A date that parses but is out of order is refused naming either date.
    const names = /_date|_cutoff/.test(field) ? ["deployment_date", "training_data_cutoff"] : [field];
    for (const value of badValuesOf(field)) {
      add(`${field}=${show(value)}`, { ...stormRegistration(), [field]: value }, { names });
    }
  }
  for (const field of ["model", "model_version", "training_data_cutoff", "owner_team"]) {
    const { [field]: _missing, ...rest } = stormRegistration();
    add(`without ${field}`, rest, { names: [field] });
  }
  for (const extra of [
    { colour: "blue" },
    { id: 1 },
    { status: "retired" },
    { created_by: "x" },
    { MODEL: "x" },
  ]) {
    add(`unknown field ${show(extra)}`, { ...stormRegistration(), ...extra });
  }
  for (const body of [
    null,
    [],
    [stormRegistration()],
    "fraud-gbm",
    42,
    true,
    { registration: stormRegistration() },
  ]) {
    add(`body ${show(body)}`, JSON.stringify(body), { headers: JSON_TYPE });
  }
  for (const text of MALFORMED_JSON) add(`malformed JSON ${show(text)}`, text, { headers: JSON_TYPE });
  const text = JSON.stringify(stormRegistration());
  const types = [
    "text/plain",
    "application/x-www-form-urlencoded",
    "application/xml",
    "multipart/form-data; boundary=x",
  ];
  for (const type of [...types, "application/jsonx"])
    add(`as ${type}`, text, { headers: { "content-type": type } });
  add("without a content type", text, { headers: {} });
  add("as a form", "model=a&owner_team=b", {
    headers: { "content-type": "application/x-www-form-urlencoded" },
  });
  add("with a content-length shorter than the body", text, {
    headers: { ...JSON_TYPE, "content-length": "5" },
  });
  add("padded past 1 MiB", { ...stormRegistration(), pad: "y".repeat(MIB + 1000) });
  add("with a model name of 1.1 MiB", { ...stormRegistration(), model: "m".repeat(MIB + 100_000) });
  add("as 2 MiB of text/plain", "z".repeat(2 * MIB), { headers: { "content-type": "text/plain" } });
  add(
    "with 30000 unknown fields",
    Object.fromEntries(Array.from({ length: 30_000 }, (_, i) => [`k${i}`, i])),
  );
  for (const key of ["", "é", "a b", "x".repeat(256), "key\u0000", "tab\tkey"]) {
    add(`with Idempotency-Key ${show(key)}`, stormRegistration(), { headers: { "idempotency-key": key } });
  }
  add("with two Idempotency-Keys", stormRegistration(), { headers: { "idempotency-key": ["a", "b"] } });
  add("with a read token", stormRegistration(), { headers: bearer(storm.tokens.read) });
  const growth = { ...stormRegistration(), owner_team: "growth" };
  add("with team risk's token for team growth", growth, { headers: bearer(storm.tokens.risk) });

  // Seeded combinations: two or three bad fields at once, sometimes as broken JSON text.
  for (let i = 0; i < 60; i++) {
    const body: Record<string, unknown> = stormRegistration();
    const count = 2 + Math.floor(storm.random() * 2);
    for (let k = 0; k < count; k++) {
      const field = pick(storm, fields);
      body[field] = pick(storm, badValuesOf(field));
    }
    if (storm.random() < 0.3) body[`extra_${i}`] = pick(storm, BAD_STRINGS);
    let json = JSON.stringify(body);
    const breakage = storm.random();
    if (breakage < 0.25) {
      json = json.slice(0, Math.floor(storm.random() * (json.length - 1)));
    } else if (breakage < 0.45) {
      // A raw C0 control character is never valid JSON, inside a string or out.
      const cut = Math.floor(storm.random() * json.length);
      json = `${json.slice(0, cut)}${String.fromCharCode(Math.floor(storm.random() * 9))}${json.slice(cut)}`;
    }
    const type = pick(storm, ["application/json", "application/json; charset=utf-8", ...types.slice(0, 2)]);
    add(`seeded combination #${i} as ${type}: ${show(json)}`, json, { headers: { "content-type": type } });
  }
}

function listStorm(storm: Storm): void {
  const query = (q: string) => at(storm, "GET /v1/deployments", "GET", `/v1/deployments?${q}`)(q);
  for (const [name, values] of Object.entries(BAD_QUERY)) {
    for (const value of values) query(`${name}=${value}`);
    query(`${name}=a&${name}=b`);
  }
  for (const q of ["foo=bar", "__proto__=x", "constructor=x", "model[]=a", "model[$ne]=x", "=1", "model"])
    query(q);
  for (let i = 0; i < 30; i++) {
    const parts = Array.from({ length: 1 + Math.floor(storm.random() * 3) }, () => {
      const name = pick(storm, Object.keys(BAD_QUERY));
      return `${name}=${pick(storm, BAD_QUERY[name] ?? [])}`;
    });
    query(parts.join("&"));
  }
}

function deploymentStorm(storm: Storm): void {
  for (const id of BAD_IDS) {
    at(storm, "GET /v1/deployments/:id", "GET", `/v1/deployments/${id}`)(`id ${show(id)}`);
    at(storm, "GET /v1/deployments/:id/events", "GET", `/v1/deployments/${id}/events`)(`id ${show(id)}`);
    const retire = at(storm, "POST /v1/deployments/:id/retire", "POST", `/v1/deployments/${id}/retire`);
    retire(`id ${show(id)}`, { reason: "storm" });
  }
  const { riskLive, growthLive } = storm.seeded;
  const retire = at(storm, "POST /v1/deployments/:id/retire", "POST", `/v1/deployments/${riskLive}/retire`);
  for (const reason of BAD_REASONS) retire(`reason=${show(reason)}`, { reason });
  for (const body of [{ reason: "ok", extra: 1 }, { status: "active" }, [], "retire", 0, false]) {
    retire(`body ${show(body)}`, JSON.stringify(body), { headers: JSON_TYPE });
  }
  for (const text of MALFORMED_JSON) retire(`malformed JSON ${show(text)}`, text, { headers: JSON_TYPE });
  retire("a form body", "reason=x", { headers: { "content-type": "application/x-www-form-urlencoded" } });
  retire("a text/plain body", "retire it", { headers: { "content-type": "text/plain" } });
  retire("an XML body", "<retire/>", { headers: { "content-type": "application/xml" } });
  retire("a body without a content type", "{}", { headers: {} });
  retire("a 2 MiB reason", { reason: "r".repeat(2 * MIB) });
  retire("a read token", undefined, { headers: bearer(storm.tokens.read) });
  const other = at(storm, "POST /v1/deployments/:id/retire", "POST", `/v1/deployments/${growthLive}/retire`);
  other("team risk's token on team growth's deployment", undefined, { headers: bearer(storm.tokens.risk) });
}

/** Bodies a golden or rollback request must refuse, given a valid one to break. */
function modelBodyStorm(
  storm: Storm,
  route: string,
  method: string,
  action: string,
  valid: object,
  fields: Record<string, unknown[]>,
): void {
  const add = at(storm, route, method, `/v1/models/fraud-gbm/${action}`);
  for (const [field, values] of Object.entries(fields)) {
    for (const value of values) add(`${field}=${show(value)}`, { ...valid, [field]: value });
  }
  for (const body of [null, [], [valid], "3.2.0", 7, { ...valid, extra: true }]) {
    add(`body ${show(body)}`, JSON.stringify(body), { headers: JSON_TYPE });
  }
  for (const text of MALFORMED_JSON.slice(0, 8))
    add(`malformed JSON ${show(text)}`, text, { headers: JSON_TYPE });
  add("a form body", "model_version=3.2.0", {
    headers: { "content-type": "application/x-www-form-urlencoded" },
  });
  add("a body past 1 MiB", { ...valid, pad: "p".repeat(MIB + 10) });
  add("a read token", valid, { headers: bearer(storm.tokens.read) });
  const growth = at(storm, route, method, `/v1/models/recsys/${action}`);
  const growthBody = action === "golden" ? { model_version: "1.0.0" } : valid;
  growth("team risk's token on team growth's model", growthBody, { headers: bearer(storm.tokens.risk) });
}

/** The model page's reads with bad queries: environments, metrics and day counts that must be 400s, never faults. */
function modelHistoryStorm(storm: Storm): void {
  const queries = [
    "environment=",
    "environment=Not%20An%20Env",
    "environment[]=production",
    "metric=",
    `metric=${"m".repeat(500)}`,
    "days=0",
    "days=91",
    "days=1e3",
    "days=-1",
    "days=abc",
    "unknown=1",
  ];
  for (const read of ["performance", "drift"]) {
    for (const query of queries)
      at(
        storm,
        `GET /v1/models/:name/${read}`,
        "GET",
        `/v1/models/fraud-gbm/${read}?${query}`,
      )(`query ${query}`);
  }
}

function modelStorm(storm: Storm): void {
  modelHistoryStorm(storm);
  for (const name of BAD_NAMES) {
    at(storm, "GET /v1/models/:name", "GET", `/v1/models/${name}`)(`name ${show(name)}`);
    at(storm, "GET /v1/models/:name/events", "GET", `/v1/models/${name}/events`)(`name ${show(name)}`);
    for (const read of ["performance", "drift"])
      at(storm, `GET /v1/models/:name/${read}`, "GET", `/v1/models/${name}/${read}`)(`name ${show(name)}`);
    const golden = at(storm, "PUT /v1/models/:name/golden", "PUT", `/v1/models/${name}/golden`);
    golden(`name ${show(name)}`, { model_version: "3.2.0" });
    at(
      storm,
      "POST /v1/models/:name/rollback",
      "POST",
      `/v1/models/${name}/rollback`,
    )(`name ${show(name)}`, {});
  }
  const versions = badValuesOf("model_version");
  const environments = badValuesOf("environment");
  const golden = { model_version: versions, environment: environments };
  modelBodyStorm(storm, "PUT /v1/models/:name/golden", "PUT", "golden", { model_version: "3.2.0" }, golden);
  const add = at(storm, "PUT /v1/models/:name/golden", "PUT", "/v1/models/fraud-gbm/golden");
  add("no model_version", { environment: "production" });
  add("a version the model does not have", { model_version: "9.9.9" });
  const rollback = { to_version: versions, environment: environments, reason: BAD_REASONS };
  modelBodyStorm(storm, "POST /v1/models/:name/rollback", "POST", "rollback", {}, rollback);
}

/** The lifecycle's routes: reviews, liveness, sweeps, reloads, alerts, deliveries, the calendar. */
function lifecycleStorm(storm: Storm): void {
  const { riskLive, growthLive } = storm.seeded;
  const review = at(storm, "POST /v1/deployments/:id/review", "POST", `/v1/deployments/${riskLive}/review`);
  for (const body of [
    {},
    { note: "" },
    { note: null },
    { note: 7 },
    { note: "ok", extend_seconds: -1 },
    { note: "ok", extend_seconds: 1.5 },
    { note: "ok", extend_seconds: "30d" },
    { note: "ok", extend_seconds: 1e12 },
    { note: "ok", extend_seconds: Number.MAX_SAFE_INTEGER },
    { note: "ok", extra: true },
    { note: "bad\u0000note" },
    { note: "n".repeat(2001) },
  ]) {
    review(`body ${show(body)}`, body);
  }
  for (const text of MALFORMED_JSON.slice(0, 8))
    review(`malformed JSON ${show(text)}`, text, { headers: JSON_TYPE });
  review("a read token", { note: "ok" }, { headers: bearer(storm.tokens.read) });
  const growth = at(storm, "POST /v1/deployments/:id/review", "POST", `/v1/deployments/${growthLive}/review`);
  growth(
    "team risk's token on team growth's deployment",
    { note: "ok" },
    { headers: bearer(storm.tokens.risk) },
  );
  for (const id of BAD_IDS.slice(0, 8)) {
    at(
      storm,
      "POST /v1/deployments/:id/review",
      "POST",
      `/v1/deployments/${id}/review`,
    )(`id ${show(id)}`, { note: "ok" });
    at(
      storm,
      "POST /v1/deployments/:id/heartbeat",
      "POST",
      `/v1/deployments/${id}/heartbeat`,
    )(`id ${show(id)}`, {});
    at(storm, "GET /v1/deployments/:id/policy", "GET", `/v1/deployments/${id}/policy`)(`id ${show(id)}`);
  }
  const beat = at(
    storm,
    "POST /v1/deployments/:id/heartbeat",
    "POST",
    `/v1/deployments/${riskLive}/heartbeat`,
  );
  for (const body of [{ at: "now" }, [], "beat", 1])
    beat(`body ${show(body)}`, JSON.stringify(body), { headers: JSON_TYPE });
  at(
    storm,
    "POST /v1/deployments/:id/heartbeat",
    "POST",
    `/v1/deployments/${growthLive}/heartbeat`,
  )("team risk's token on team growth's deployment", {}, { headers: bearer(storm.tokens.risk) });
  const retired = storm.seeded.ids[3];
  at(
    storm,
    "POST /v1/deployments/:id/heartbeat",
    "POST",
    `/v1/deployments/${retired}/heartbeat`,
  )("a retired deployment", {});
  at(
    storm,
    "POST /v1/deployments/:id/review",
    "POST",
    `/v1/deployments/${retired}/review`,
  )("a retired deployment", { note: "ok" });

  const metrics = at(
    storm,
    "POST /v1/deployments/:id/metrics",
    "POST",
    `/v1/deployments/${riskLive}/metrics`,
  );
  const point = { name: "auc", value: 0.9 };
  for (const body of [
    {},
    { points: [] },
    { points: {} },
    { points: [{ ...point, value: null }] },
    { points: [{ ...point, value: "NaN" }] },
    { points: [{ ...point, name: "" }] },
    { points: [{ ...point, name: "a b" }] },
    { points: [{ ...point, sample_size: -5 }] },
    { points: [{ ...point, sample_size: 2.5 }] },
    { points: [{ ...point, timestamp: "2099-01-01T00:00:00Z" }] },
    { points: [{ ...point, timestamp: 1_700_000_000_000 }] },
    { points: Array.from({ length: 10_001 }, () => point) },
  ]) {
    metrics(`body ${show(body)}`, body);
  }
  for (const text of MALFORMED_JSON.slice(0, 6))
    metrics(`malformed JSON ${show(text)}`, text, { headers: JSON_TYPE });
  at(
    storm,
    "POST /v1/deployments/:id/metrics",
    "POST",
    `/v1/deployments/${growthLive}/metrics`,
  )(
    "team risk's token on team growth's deployment",
    { points: [point] },
    { headers: bearer(storm.tokens.risk) },
  );
  const samples = at(
    storm,
    "POST /v1/deployments/:id/samples",
    "POST",
    `/v1/deployments/${riskLive}/samples`,
  );
  for (const body of [
    {},
    { rows: [] },
    { rows: [[1, 2]] },
    { rows: [{ a: [1] }] },
    { rows: [{ a: { b: 1 } }] },
    { rows: [{ a: 1 }, { a: "x" }] },
    { rows: [{ "": 1 }] },
    { rows: [{ a: "s".repeat(1025) }] },
    { rows: [{ a: 1 }], timestamp: "2099-01-01T00:00:00Z" },
    { rows: [{ a: 1 }], timestamp: "soon" },
    { rows: [{ a: 1 }], extra: true },
    { rows: Array.from({ length: 10_001 }, () => ({ a: 1 })) },
  ]) {
    samples(`body ${show(body).slice(0, 60)}`, body);
  }
  samples("a value of 1e400", '{"rows":[{"a":1e400}]}', { headers: JSON_TYPE });
  at(
    storm,
    "POST /v1/deployments/:id/samples",
    "POST",
    `/v1/deployments/${growthLive}/samples`,
  )(
    "team risk's token on team growth's deployment",
    { rows: [{ a: 1 }] },
    { headers: bearer(storm.tokens.risk) },
  );
  const reference = at(
    storm,
    "POST /v1/deployments/:id/reference",
    "POST",
    `/v1/deployments/${riskLive}/reference`,
  );
  for (const body of [{}, { rows: [] }, { rows: [{}] }, { rows: [{ a: null }] }, { rows: "a,b\n1,2" }]) {
    reference(`body ${show(body)}`, body);
  }
  reference("a CSV with a ragged line", "a,b\n1,2\n3\n", { headers: { "content-type": "text/csv" } });
  reference("an empty CSV", "", { headers: { "content-type": "text/csv" } });
  reference("JSON Lines with a broken line", '{"a":1}\n{"a":\n', {
    headers: { "content-type": "application/x-ndjson" },
  });
  reference("an XML body", "<rows/>", { headers: { "content-type": "application/xml" } });
  for (const id of BAD_IDS.slice(0, 4)) {
    at(
      storm,
      "GET /v1/deployments/:id/reference",
      "GET",
      `/v1/deployments/${id}/reference`,
    )(`id ${show(id)}`);
    at(storm, "GET /v1/deployments/:id/timeline", "GET", `/v1/deployments/${id}/timeline`)(`id ${show(id)}`);
  }
  const sweep = at(storm, "POST /v1/sweeps", "POST", "/v1/sweeps");
  for (const atValue of ["yesterday", "2026-13-01", 1_700_000_000, null, "2026-11-25T12:00:00", ""]) {
    sweep(`at=${show(atValue)}`, { at: atValue }, { names: ["at"] });
  }
  sweep("an unknown field", { at: "2026-11-25", now: true });
  sweep("a team-bound token", {}, { headers: bearer(storm.tokens.risk) });
  sweep("a read token", {}, { headers: bearer(storm.tokens.read) });
  const reload = at(storm, "POST /v1/policies/reload", "POST", "/v1/policies/reload");
  reload("a write token", {}, { headers: bearer(storm.tokens.write) });
  reload("a body", { file: "/etc/passwd" });
  const retry = at(storm, "POST /v1/deliveries/retry", "POST", "/v1/deliveries/retry");
  for (const ids of [[0], [-1], ["1"], [1.5], "all", Array.from({ length: 1001 }, (_, i) => i + 1), null]) {
    retry(`ids=${show(ids)}`, { ids }, { names: ["ids"] });
  }
  retry("a write token", {}, { headers: bearer(storm.tokens.write) });

  const queries: [string, string, string[]][] = [
    [
      "GET /v1/sweeps",
      "/v1/sweeps",
      ["limit=0", "limit=501", "limit=x", "cursor=-1", "cursor=abc", "state=done"],
    ],
    [
      "GET /v1/alerts",
      "/v1/alerts",
      ["state=closed", "limit=0", "deployment_id=x", "owner_team=Risk", "cursor=0x1", "kind=due"],
    ],
    ["GET /v1/deliveries", "/v1/deliveries", ["state=dead", "limit=99999", "alert_id=-3", "cursor=1e3"]],
    ["GET /v1/lifecycle", "/v1/lifecycle", ["owner_team=UPPER", "environment=%00", "team=risk"]],
    ["GET /v1/check", "/v1/check", ["fail_on=fresh", "fail_on=", "owner_team=a%20b", "env=production"]],
    ["GET /v1/calendar.ics", "/v1/calendar.ics", ["owner_team=no/slash", "token=", "x=1"]],
    [
      "GET /v1/ghosts",
      "/v1/ghosts",
      ["environment=BAD%20ENV", "limit=0", "limit=501", "cursor=%FF%FE", "cursor=bm9wZQ", "x=1"],
    ],
  ];
  for (const [route, url, list] of queries) {
    for (const q of list) at(storm, route, "GET", `${url}?${q}`)(`query ${show(q)}`);
  }
}

/** Traffic reports that break the schema or contradict themselves: each refused whole. */
function trafficStorm(storm: Storm): void {
  const report = at(storm, "POST /v1/traffic", "POST", "/v1/traffic");
  const counts = {
    deployment_id: storm.seeded.riskLive,
    window_start: NOW - 5000,
    window_end: NOW,
    requests: 2,
    errors: 1,
    timeouts: 0,
    latency_buckets: [2, ...new Array(16).fill(0)],
    latency_sum_ms: 1,
  };
  const ghost = { model: "nobody", environment: "production", requests: 1, first_seen: NOW, last_seen: NOW };
  const broken: [string, Record<string, unknown>, Record<string, unknown>, string][] = [
    ["deployments", counts, { errors: 3 }, "deployments.0.errors"],
    ["deployments", counts, { timeouts: 2 }, "deployments.0.timeouts"],
    [
      "deployments",
      counts,
      { latency_buckets: [1, ...new Array(16).fill(0)] },
      "deployments.0.latency_buckets",
    ],
    ["deployments", counts, { latency_buckets: [2] }, "deployments.0.latency_buckets"],
    ["deployments", counts, { window_end: NOW - 6000 }, "deployments.0.window_end"],
    ["deployments", counts, { window_end: NOW + 3_600_000 }, "deployments.0.window_end"],
    ["deployments", counts, { deployment_id: 0 }, "deployments.0.deployment_id"],
    ["deployments", counts, { requests: 1.5 }, "deployments.0.requests"],
    ["deployments", counts, { latency_sum_ms: -1 }, "deployments.0.latency_sum_ms"],
    ["deployments", counts, { mismatched_version: "x".repeat(129) }, "deployments.0.mismatched_version"],
    ["deployments", counts, { mismatched_version: "a\u0000b" }, "deployments.0.mismatched_version"],
    ["ghosts", ghost, { model: "" }, "ghosts.0.model"],
    ["ghosts", ghost, { model: "a\nb" }, "ghosts.0.model"],
    ["ghosts", ghost, { last_seen: NOW - 1 }, "ghosts.0.last_seen"],
    ["ghosts", ghost, { requests: -1 }, "ghosts.0.requests"],
    ["pairs", {}, {}, "pairs.0"],
  ];
  for (const [list, valid, change, field] of broken) {
    report(
      `${list}.0 ${show(change)}`,
      { gateway: "storm", [list]: [{ ...valid, ...change }] },
      {
        names: [field],
      },
    );
  }
  for (const gateway of [undefined, "", "x".repeat(257), "a\u0007b", 3]) {
    report(`gateway=${show(gateway)}`, { gateway, deployments: [counts] }, { names: ["gateway"] });
  }
  report("deployments not a list", { gateway: "storm", deployments: counts }, { names: ["deployments"] });
  report("an unknown field", { gateway: "storm", rps: 3 });
  report("a read token", { gateway: "storm", deployments: [counts] }, { headers: bearer(storm.tokens.read) });
}

/** Every route with bad credentials, and every known path with methods it does not have. */
function edgeStorm(storm: Storm): void {
  const { riskLive } = storm.seeded;
  const routes: [string, string, unknown][] = [
    ["POST /v1/deployments", "/v1/deployments", stormRegistration()],
    ["GET /v1/deployments", "/v1/deployments", undefined],
    ["GET /v1/deployments/:id", `/v1/deployments/${riskLive}`, undefined],
    ["GET /v1/deployments/:id/events", `/v1/deployments/${riskLive}/events`, undefined],
    ["POST /v1/deployments/:id/retire", `/v1/deployments/${riskLive}/retire`, { reason: "storm" }],
    ["GET /v1/models", "/v1/models", undefined],
    ["GET /v1/models/:name", "/v1/models/fraud-gbm", undefined],
    ["GET /v1/models/:name/events", "/v1/models/fraud-gbm/events", undefined],
    ["GET /v1/models/:name/performance", "/v1/models/fraud-gbm/performance", undefined],
    ["GET /v1/models/:name/drift", "/v1/models/fraud-gbm/drift", undefined],
    ["PUT /v1/models/:name/golden", "/v1/models/fraud-gbm/golden", { model_version: "3.3.0" }],
    ["POST /v1/models/:name/rollback", "/v1/models/fraud-gbm/rollback", {}],
    ["POST /v1/deployments/:id/review", `/v1/deployments/${riskLive}/review`, { note: "ok" }],
    ["POST /v1/deployments/:id/heartbeat", `/v1/deployments/${riskLive}/heartbeat`, {}],
    [
      "POST /v1/deployments/:id/metrics",
      `/v1/deployments/${riskLive}/metrics`,
      { points: [{ name: "auc", value: 1 }] },
    ],
    ["GET /v1/deployments/:id/policy", `/v1/deployments/${riskLive}/policy`, undefined],
    ["GET /v1/deployments/:id/timeline", `/v1/deployments/${riskLive}/timeline`, undefined],
    ["POST /v1/deployments/:id/samples", `/v1/deployments/${riskLive}/samples`, { rows: [{ a: 1 }] }],
    ["POST /v1/deployments/:id/reference", `/v1/deployments/${riskLive}/reference`, { rows: [{ a: 1 }] }],
    ["GET /v1/deployments/:id/reference", `/v1/deployments/${riskLive}/reference`, undefined],
    ["POST /v1/sweeps", "/v1/sweeps", {}],
    ["GET /v1/sweeps", "/v1/sweeps", undefined],
    ["POST /v1/policies/reload", "/v1/policies/reload", {}],
    ["GET /v1/alerts", "/v1/alerts", undefined],
    ["GET /v1/deliveries", "/v1/deliveries", undefined],
    ["POST /v1/deliveries/retry", "/v1/deliveries/retry", {}],
    ["GET /v1/lifecycle", "/v1/lifecycle", undefined],
    ["GET /v1/check", "/v1/check", undefined],
    ["GET /v1/fleet", "/v1/fleet", undefined],
    ["GET /v1/calendar.ics", "/v1/calendar.ics", undefined],
    ["POST /v1/traffic", "/v1/traffic", { gateway: "storm" }],
    ["GET /v1/ghosts", "/v1/ghosts", undefined],
    ["GET /healthz", "/healthz", undefined],
    ["GET /openapi.json", "/openapi.json", undefined],
  ];
  for (const [route, url, body] of routes) {
    const method = route.split(" ")[0] ?? "GET";
    const add = at(storm, route, method, url);
    add("no Authorization header", body, { anonymous: true });
    for (const authorization of BAD_AUTHORIZATION)
      add(`Authorization ${show(authorization)}`, body, { headers: { authorization } });
    if (method === "GET")
      at(storm, route, "HEAD", url)("HEAD without a token", undefined, { anonymous: true });
    for (const odd of [
      "PATCH",
      "DELETE",
      "OPTIONS",
      "TRACE",
      "PROPFIND",
      method === "PUT" ? "POST" : "PUT",
    ]) {
      at(
        storm,
        route,
        odd,
        url,
      )(`${odd}, a method the path does not have`, odd === "PATCH" || odd === "PUT" ? {} : undefined);
    }
  }
  for (const [route, url] of [
    ["GET /healthz", "/healthz"],
    ["GET /openapi.json", "/openapi.json"],
  ] as const) {
    for (const q of ["x=%00", "x=%E0%A4%A", "a=1&a=2", `pad=${"q".repeat(5000)}`, "__proto__=x"]) {
      at(storm, route, "GET", `${url}?${q}`)(`query ${show(q)}`);
    }
    at(storm, route, "GET", url)("a malformed JSON body on GET", "{", { headers: JSON_TYPE });
  }
}

function buildStorm(t: TestApp, seeded: Seeded): Fuzz[] {
  const storm: Storm = { requests: [], random: seededRandom(SEED), tokens: t.tokens, seeded };
  registrationStorm(storm);
  listStorm(storm);
  deploymentStorm(storm);
  modelStorm(storm);
  lifecycleStorm(storm);
  trafficStorm(storm);
  edgeStorm(storm);
  return storm.requests;
}

/** A short, escaped rendering of a value for failure messages. */
function show(value: unknown): string {
  const text = (JSON.stringify(value) ?? String(value)).replace(
    /[\u007f-\u009f\u2028\u2029\u202e]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`,
  );
  return text.length > 60 ? `${text.slice(0, 60)}…(${text.length} chars)` : text;
}

/** How a 4xx breaks RFC 9457 as DESIGN.md uses it, or null when it keeps it. */
function problemFault(res: LightMyRequestResponse, method: string): string | null {
  const type = String(res.headers["content-type"] ?? "");
  if (!/^application\/problem\+json\b/.test(type))
    return `content-type ${type || "missing"}: ${res.body.slice(0, 120)}`;
  if (method === "HEAD") return null;
  let body: Record<string, unknown>;
  try {
    body = JSON.parse(res.body) as Record<string, unknown>;
  } catch {
    return `body is not JSON: ${res.body.slice(0, 120)}`;
  }
  for (const field of ["type", "title", "detail"]) {
    if (typeof body[field] !== "string" || body[field] === "") return `${field} is ${show(body[field])}`;
  }
  return body.status === res.statusCode ? null : `status field ${show(body.status)} is not ${res.statusCode}`;
}

function namesOneOf(res: LightMyRequestResponse, fields: string[]): boolean {
  const errors = (res.json() as { errors?: { field: string }[] }).errors ?? [];
  return errors.some((e) => fields.some((f) => e.field === f || e.field.startsWith(`${f}.`)));
}

async function send(t: TestApp, request: Fuzz): Promise<Outcome> {
  const encoded = request.body !== undefined && typeof request.body !== "string";
  const res = await t.app.inject({
    method: request.method,
    url: request.url,
    headers: {
      ...(request.anonymous ? {} : bearer(t.tokens.admin)),
      ...(encoded ? JSON_TYPE : {}),
      ...request.headers,
    },
    payload: encoded ? JSON.stringify(request.body) : (request.body as string | undefined),
  });
  const clientError = res.statusCode >= 400 && res.statusCode < 500;
  return {
    request: `${request.method} ${show(request.url)} [${request.route}] ${request.what}`,
    mutating: !["GET", "HEAD", "OPTIONS", "TRACE", "PROPFIND"].includes(request.method),
    status: res.statusCode,
    problemFault: clientError ? problemFault(res, request.method) : null,
    wwwAuthenticate: String(res.headers["www-authenticate"] ?? ""),
    ...(request.names && res.statusCode === 400 ? { namedField: namesOneOf(res, request.names) } : {}),
  };
}

/** Every row of every table the database holds (found by introspection, so a new table is covered), in a stable order. */
function snapshot(t: TestApp): Promise<DatabaseDump> {
  return dumpDatabase(t.context.database);
}

describe.each(dialects())("a storm of malformed requests on %s", (dialect) => {
  let t: TestApp;
  let seeded: Seeded;
  let before: DatabaseDump;
  let requests: Fuzz[];
  let outcomes: Outcome[];

  beforeAll(async () => {
    t = await startTestApp(dialect, { now: NOW });
    seeded = await seed(t);
    before = await snapshot(t);
    requests = buildStorm(t, seeded);
    outcomes = [];
    for (const request of requests) outcomes.push(await send(t, request));
  }, 180_000);
  afterAll(async () => {
    await t?.close();
  });

  it("breaks only requests the server accepts as they are, so each refusal is down to what was broken", async () => {
    const fresh = await startTestApp(dialect, { now: NOW });
    try {
      const ids = await seed(fresh);
      const answer = async (method: "GET" | "POST" | "PUT", url: string, body?: unknown) =>
        (await fresh.request({ method, url, body })).statusCode;
      expect(await answer("POST", "/v1/deployments", stormRegistration())).toBe(201);
      expect(await answer("GET", "/v1/deployments")).toBe(200);
      expect(await answer("GET", `/v1/deployments/${ids.riskLive}`)).toBe(200);
      expect(await answer("GET", `/v1/deployments/${ids.riskLive}/events`)).toBe(200);
      expect(await answer("GET", "/v1/models")).toBe(200);
      expect(await answer("GET", "/v1/models/fraud-gbm")).toBe(200);
      expect(await answer("PUT", "/v1/models/fraud-gbm/golden", { model_version: "3.2.0" })).toBe(200);
      expect(await answer("POST", `/v1/deployments/${ids.riskLive}/retire`, { reason: "storm" })).toBe(200);
      expect(await answer("POST", "/v1/models/fraud-gbm/rollback", {})).toBe(200);
    } finally {
      await fresh.close();
    }
  });

  it("throws several hundred malformed requests at every route of the contract, the same ones on every run", () => {
    expect(requests.length).toBeGreaterThan(300);
    expect([...new Set(requests.map((r) => r.route))].sort()).toEqual([
      "GET /healthz",
      "GET /openapi.json",
      "GET /v1/alerts",
      "GET /v1/calendar.ics",
      "GET /v1/check",
      "GET /v1/deliveries",
      "GET /v1/deployments",
      "GET /v1/deployments/:id",
      "GET /v1/deployments/:id/events",
      "GET /v1/deployments/:id/policy",
      "GET /v1/deployments/:id/reference",
      "GET /v1/deployments/:id/timeline",
      "GET /v1/fleet",
      "GET /v1/ghosts",
      "GET /v1/lifecycle",
      "GET /v1/models",
      "GET /v1/models/:name",
      "GET /v1/models/:name/drift",
      "GET /v1/models/:name/events",
      "GET /v1/models/:name/performance",
      "GET /v1/sweeps",
      "POST /v1/deliveries/retry",
      "POST /v1/deployments",
      "POST /v1/deployments/:id/heartbeat",
      "POST /v1/deployments/:id/metrics",
      "POST /v1/deployments/:id/reference",
      "POST /v1/deployments/:id/retire",
      "POST /v1/deployments/:id/review",
      "POST /v1/deployments/:id/samples",
      "POST /v1/models/:name/rollback",
      "POST /v1/policies/reload",
      "POST /v1/sweeps",
      "POST /v1/traffic",
      "PUT /v1/models/:name/golden",
    ]);
    const fingerprint = (list: Fuzz[]) =>
      list.map((r) => `${r.method} ${r.url} ${show(r.body)} ${show(r.headers)}`);
    expect(fingerprint(buildStorm(t, seeded))).toEqual(fingerprint(requests));
  });

  it("answers none of them with a 5xx", () => {
    const faults = outcomes.filter((o) => o.status >= 500).map((o) => `${o.status} ← ${o.request}`);
    expect(faults).toEqual([]);
  });

  it("answers every 4xx with application/problem+json carrying type, title, detail and its status", () => {
    const faults = outcomes
      .filter((o) => o.problemFault !== null)
      .map((o) => `${o.status} ${o.problemFault} ← ${o.request}`);
    expect(faults).toEqual([]);
  });

  it("answers every 401 with a WWW-Authenticate: Bearer challenge", () => {
    const unauthorized = outcomes.filter((o) => o.status === 401);
    expect(unauthorized.length).toBeGreaterThan(80);
    expect(unauthorized.filter((o) => !/^Bearer\b/.test(o.wwwAuthenticate)).map((o) => o.request)).toEqual(
      [],
    );
  });

  it("names the bad field of a registration in the problem's errors list when it refuses it with 400", () => {
    const checked = outcomes.filter((o) => o.namedField !== undefined);
    expect(checked.length).toBeGreaterThan(150);
    expect(checked.filter((o) => !o.namedField).map((o) => o.request)).toEqual([]);
  });

  it("refuses every malformed change: no mutating request of the storm succeeds", () => {
    const accepted = outcomes
      .filter((o) => o.mutating && o.status < 400)
      .map((o) => `${o.status} ← ${o.request}`);
    expect(accepted).toEqual([]);
  });

  it("changes nothing: the database holds exactly the deployments registered before the storm", async () => {
    const db = t.context.database.db;
    const deployments = await db
      .selectFrom("deployments")
      .select(["id", "model", "status"])
      .orderBy("id")
      .execute();
    expect(deployments.map((d) => d.id)).toEqual(seeded.ids);
    expect(deployments.map((d) => `${d.model} ${d.status}`)).toEqual([
      "fraud-gbm superseded",
      "fraud-gbm active",
      "recsys active",
      "fraud-gbm retired",
    ]);
    expect(await snapshot(t)).toEqual(before);
  });
});
