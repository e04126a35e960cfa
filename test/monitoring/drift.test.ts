import { Writable } from "node:stream";
import { pino } from "pino";
import { afterEach, describe, expect, it } from "vitest";
import { openContext } from "../../src/context.js";
import { seededRandom } from "../../src/core/reservoir.js";
import { dialects } from "../support/databases.js";
import { runTenure, tempDir } from "../support/process.js";
import { registration, startTestApp, type TestApp } from "../support/test-app.js";

const DAY = 86_400_000;
const T0 = Date.parse("2027-01-01T00:00:00Z");
const POLICIES = `
channels:
  hook: { type: webhook, url: "http://127.0.0.1:9/never" }
policies:
  - name: fraud
    match: { model: "fraud-*" }
    drift: { window: 1d, drift_share: 0.5 }
    notify: { drifted: [hook] }
`;
/** The policies with another drift block for the fraud policy. */
const withDrift = (drift: string) =>
  POLICIES.replace("drift: { window: 1d, drift_share: 0.5 }", `drift: ${drift}`);

/** Normal-ish values around `mean` (sum of uniforms), reproducibly. */
function numbers(n: number, mean: number, seed: number): number[] {
  const random = seededRandom(seed);
  return Array.from({ length: n }, () => mean + (random() + random() + random() - 1.5));
}

function rows(n: number, amountMean: number, country: (i: number) => string, seed: number) {
  const amounts = numbers(n, amountMean, seed);
  return amounts.map((amount, i) => ({ amount, country: country(i), flagged: i % 7 === 0 }));
}

describe.each(dialects())("drift on %s", (dialect) => {
  let t: TestApp;
  afterEach(async () => {
    await t?.close();
  });

  const post = (url: string, body: unknown, headers?: Record<string, string>) =>
    t.request({ method: "POST", url, body, headers });

  it("a young deployment whose inputs drift from its reference is drifted and stale, whatever its age", async () => {
    t = await startTestApp(dialect, { now: T0, policies: POLICIES });
    const id = (await post("/v1/deployments", registration({ training_data_cutoff: "2026-12-20" }))).json()
      .id;
    const uploaded = await post(`/v1/deployments/${id}/reference`, {
      rows: rows(3000, 10, (i) => (i % 3 === 0 ? "de" : "fr"), 1),
    });
    expect(uploaded.statusCode, uploaded.body).toBe(200);
    expect(uploaded.json()).toMatchObject({
      source: "upload",
      features: [
        { feature: "amount", kind: "numeric", seen: 3000, kept: 3000 },
        { feature: "country", kind: "categorical", seen: 3000, kept: 2 },
        { feature: "flagged", kind: "categorical", seen: 3000, kept: 2 },
      ],
    });

    // Day 1: the same distribution. Day 3: amounts shift and most traffic comes from one country.
    t.setNow(T0 + DAY + 3_600_000);
    for (let batch = 0; batch < 3; batch++) {
      const res = await post(`/v1/deployments/${id}/samples`, {
        rows: rows(1000, 10, (i) => (i % 3 === 0 ? "de" : "fr"), 10 + batch),
      });
      expect(res.statusCode, res.body).toBe(200);
    }
    t.setNow(T0 + 2 * DAY);
    const calm = (await post("/v1/sweeps", {})).json();
    expect(calm.findings).toEqual({});
    expect((await t.request({ method: "GET", url: `/v1/deployments/${id}/timeline` })).json().drift).toEqual({
      state: "stable",
      error: null,
    });

    t.setNow(T0 + 3 * DAY + 3_600_000);
    await post(`/v1/deployments/${id}/samples`, {
      rows: rows(3000, 11.5, (i) => (i % 10 === 0 ? "fr" : "de"), 99),
    });
    t.setNow(T0 + 4 * DAY);
    const swept = (await post("/v1/sweeps", {})).json();
    expect(swept.findings).toEqual({ drifted: 1 });
    const [alert] = (await t.request({ method: "GET", url: "/v1/alerts?state=open" })).json().items;
    expect(alert).toMatchObject({ kind: "drifted", severity: "error" });
    expect(alert.detail.features.map((f: { feature: string }) => f.feature).sort()).toEqual([
      "amount",
      "country",
    ]);
    expect(alert.detail.features[0]).toMatchObject({
      reference_size: expect.any(Number),
      current_size: expect.any(Number),
    });
    const view = (await t.request({ method: "GET", url: `/v1/deployments/${id}` })).json();
    expect(view.age).toMatchObject({ stage: "fresh", verdict: "retrain" });
    expect(view.age.health_score).toBeLessThan(60);
    const stale = (await t.request({ method: "GET", url: "/v1/check?fail_on=stale" })).json();
    expect(stale.offenders.map((o: { id: number }) => o.id)).toEqual([id]);
  });

  it("keeps a bounded sample whatever the traffic: a day of 30,000 rows stores 2,000 values a feature", async () => {
    t = await startTestApp(dialect, { now: T0, policies: POLICIES });
    const id = (await post("/v1/deployments", registration())).json().id;
    for (let batch = 0; batch < 3; batch++) {
      const res = await post(`/v1/deployments/${id}/samples`, { rows: rows(10_000, 10, () => "de", batch) });
      expect(res.statusCode).toBe(200);
    }
    const stored = await t.context.database.db.selectFrom("drift_samples").selectAll().execute();
    const amount = stored.find((s) => s.feature === "amount");
    expect(Number(amount?.seen)).toBe(30_000);
    expect(JSON.parse(amount?.summary ?? "[]")).toHaveLength(2000);
  });

  it("takes a CSV reference as it is, and refuses bad samples naming the field", async () => {
    t = await startTestApp(dialect, { now: T0, policies: POLICIES });
    const id = (await post("/v1/deployments", registration())).json().id;
    const csv = `amount,country\n${numbers(500, 10, 3)
      .map((a, i) => `${a},${i % 2 ? "de" : "fr"}`)
      .join("\n")}\n`;
    const res = await post(`/v1/deployments/${id}/reference`, csv, { "content-type": "text/csv" });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json().features).toMatchObject([
      { feature: "amount", kind: "numeric", seen: 500 },
      { feature: "country", kind: "categorical", seen: 500 },
    ]);
    for (const [body, field] of [
      [{ rows: [] }, "rows"],
      [{ rows: [{ a: [1] }] }, "rows.0.a"],
      [{ rows: [{ a: 1 }, { a: "x" }] }, "rows.*.a"],
      [{ rows: [{ a: 1 }], timestamp: "2030-01-01T00:00:00Z" }, "timestamp"],
    ] as const) {
      const bad = await post(`/v1/deployments/${id}/samples`, body);
      expect(bad.statusCode, JSON.stringify(body)).toBe(400);
      expect(bad.json().errors.map((e: { field: string }) => e.field)).toContain(field);
    }
    expect(await t.context.database.db.selectFrom("drift_samples").selectAll().execute()).toEqual([]);
  });

  it("a policy's numeric method (ks) judges the numeric features and the default rule the categorical ones: drift is never silently off", async () => {
    t = await startTestApp(dialect, {
      now: T0,
      policies: withDrift("{ window: 1d, method: ks, drift_share: 0.5 }"),
    });
    const id = (await post("/v1/deployments", registration())).json().id;
    const reference = await post(`/v1/deployments/${id}/reference`, {
      rows: rows(800, 10, (i) => (i % 3 === 0 ? "de" : "fr"), 1),
    });
    expect(reference.statusCode, reference.body).toBe(200);
    t.setNow(T0 + DAY + 3_600_000);
    await post(`/v1/deployments/${id}/samples`, {
      rows: rows(800, 11.5, (i) => (i % 10 === 0 ? "fr" : "de"), 99),
    });
    t.setNow(T0 + 2 * DAY);
    const swept = (await post("/v1/sweeps", {})).json();
    expect(swept.findings).toEqual({ drifted: 1 });
    const [alert] = (await t.request({ method: "GET", url: "/v1/alerts?state=open" })).json().items;
    const methods = Object.fromEntries(
      alert.detail.features.map((f: { feature: string; method: string }) => [f.feature, f.method]),
    );
    expect(methods).toEqual({ amount: "ks", country: "ztest" });
    const timeline = (await t.request({ method: "GET", url: `/v1/deployments/${id}/timeline` })).json();
    expect(timeline.drift).toEqual({ state: "drifted", error: null });
  });

  it("inputs that cannot be compared put the deployment in the drift error state: logged, shown by the API and tenure show, one drift_error event", async () => {
    t = await startTestApp(dialect, { now: T0, policies: POLICIES });
    const id = (await post("/v1/deployments", registration())).json().id;
    await post(`/v1/deployments/${id}/reference`, { rows: numbers(200, 10, 1).map((a) => ({ a })) });
    t.setNow(T0 + DAY + 3_600_000);
    await post(`/v1/deployments/${id}/samples`, { rows: numbers(200, 10, 2).map((b) => ({ b })) });

    // The sweep of a server: the composition root wired with its logger.
    const logged: Record<string, unknown>[] = [];
    const sink = new Writable({
      write(chunk, _encoding, done) {
        for (const line of String(chunk).split("\n").filter(Boolean)) logged.push(JSON.parse(line));
        done();
      },
    });
    const server = await openContext(t.database.url, {
      clock: () => T0 + 2 * DAY,
      policies: t.policiesPath,
      env: {},
      logger: pino({ level: "info" }, sink),
    });
    try {
      const swept = await server.sweeper.run({ trigger: "manual", actor: "test" });
      expect(swept.state).toBe("done");
      await server.sweeper.run({ trigger: "manual", actor: "test", at: T0 + 2 * DAY + 60_000 });
    } finally {
      await server.close();
    }
    const message = "the live samples have no feature in common with the reference";
    expect(logged.filter((l) => l.msg === "drift could not be judged")).toMatchObject([
      { level: 40, deployment_id: id, message },
      { level: 40, deployment_id: id, message },
    ]);
    const timeline = (await t.request({ method: "GET", url: `/v1/deployments/${id}/timeline` })).json();
    expect(timeline.drift).toEqual({ state: "error", error: message });
    const events = (await t.request({ method: "GET", url: `/v1/deployments/${id}/events` })).json();
    const errors = (events.items ?? events).filter((e: { type: string }) => e.type === "drift_error");
    expect(errors).toMatchObject([{ actor: "tenure:sweep", data: { message, policy: "fraud" } }]);

    const dir = tempDir();
    try {
      const shown = await runTenure(["show", String(id), "--policies", t.policiesPath ?? ""], {
        cwd: dir.path,
        env: { TENURE_DATABASE_URL: t.database.url },
      });
      expect(shown.stderr).toBe("");
      expect(shown.stdout).toContain(`drift            error: ${message}`);
    } finally {
      dir.remove();
    }

    // Comparable inputs again: the error clears.
    await post(`/v1/deployments/${id}/samples`, { rows: numbers(200, 10, 3).map((a) => ({ a })) });
    t.setNow(T0 + 2 * DAY + 120_000);
    expect((await post("/v1/sweeps", {})).statusCode).toBe(201);
    const cleared = (await t.request({ method: "GET", url: `/v1/deployments/${id}/timeline` })).json();
    expect(cleared.drift).toEqual({ state: "stable", error: null });
  });

  it("one samples request of 9,002 features is refused whole with 422 naming max_features (1,000 by default), and stores nothing", async () => {
    t = await startTestApp(dialect, { now: T0, policies: POLICIES });
    const id = (await post("/v1/deployments", registration())).json().id;
    // 19 rows of 474 distinct features each: the shape of the 110 KB request.
    const wide = Array.from({ length: 19 }, (_, r) =>
      Object.fromEntries(Array.from({ length: 474 }, (_, f) => [`f${r * 474 + f}`, f])),
    );
    const res = await post(`/v1/deployments/${id}/samples`, { rows: wide });
    expect(res.statusCode, res.body).toBe(422);
    expect(res.headers["content-type"]).toContain("application/problem+json");
    expect(res.json()).toMatchObject({
      type: "https://tenure.dev/problems/unprocessable",
      status: 422,
      detail: expect.stringContaining("max_features of 1000"),
      errors: [{ field: "rows" }],
    });
    expect(await t.context.database.db.selectFrom("drift_samples").selectAll().execute()).toEqual([]);
    const reference = await post(`/v1/deployments/${id}/reference`, { rows: wide });
    expect(reference.statusCode, reference.body).toBe(422);
    expect(await t.context.database.db.selectFrom("drift_references").selectAll().execute()).toEqual([]);
  });

  it("a policy's drift max_features counts the features already stored: a request past it is refused whole, for samples and a reference", async () => {
    t = await startTestApp(dialect, { now: T0, policies: withDrift("{ window: 1d, max_features: 3 }") });
    const id = (await post("/v1/deployments", registration())).json().id;
    const samples = (row: Record<string, number>) => post(`/v1/deployments/${id}/samples`, { rows: [row] });
    expect((await samples({ a: 1, b: 2 })).statusCode).toBe(200);
    const past = await samples({ a: 1, c: 3, d: 4 });
    expect(past.statusCode, past.body).toBe(422);
    expect(past.json().detail).toContain("4 features (2 stored, 2 new)");
    // The next day, the features of earlier days still count.
    t.setNow(T0 + DAY);
    expect((await samples({ c: 1 })).statusCode).toBe(200);
    expect((await samples({ d: 1 })).statusCode).toBe(422);
    const stored = await t.context.database.db
      .selectFrom("drift_samples")
      .select(["feature", "seen"])
      .execute();
    expect(stored.map((r) => `${r.feature}:${r.seen}`).sort()).toEqual(["a:1", "b:1", "c:1"]);

    const reference = await post(`/v1/deployments/${id}/reference`, { rows: [{ a: 1, e: 2 }] });
    expect(reference.statusCode, reference.body).toBe(422);
    const csv = await post(`/v1/deployments/${id}/reference`, "a,b,c,e\n1,2,3,4\n", {
      "content-type": "text/csv",
    });
    expect(csv.statusCode, csv.body).toBe(422);
    expect(csv.json().errors).toMatchObject([{ field: "body" }]);
    expect(await t.context.database.db.selectFrom("drift_references").selectAll().execute()).toEqual([]);
    expect((await post(`/v1/deployments/${id}/reference`, { rows: [{ a: 1, b: 2, c: 3 }] })).statusCode).toBe(
      200,
    );
    // A feature only the reference names counts for the samples too.
    expect((await samples({ a: 2 })).statusCode).toBe(200);
  });

  it("a CSV or JSON Lines reference is parsed from the request's memory: no temporary file is written", async () => {
    t = await startTestApp(dialect, { now: T0, policies: POLICIES });
    const id = (await post("/v1/deployments", registration())).json().id;
    const upload = (type: string, payload: string) =>
      post(`/v1/deployments/${id}/reference`, payload, { "content-type": type });
    // A temporary folder that cannot be made: an upload that needs one fails.
    const tmp = process.env.TMPDIR;
    process.env.TMPDIR = "/nonexistent/tenure-no-temp";
    try {
      const csv = await upload("text/csv", "amount,country\n1.5,de\n2.5,fr\n");
      expect(csv.statusCode, csv.body).toBe(200);
      expect(csv.json().features).toMatchObject([
        { feature: "amount", kind: "numeric", seen: 2 },
        { feature: "country", kind: "categorical", seen: 2 },
      ]);
      const jsonl = await upload("application/x-ndjson", '{"amount": 3}\n{"amount": 4, "tier": "a"}\n');
      expect(jsonl.statusCode, jsonl.body).toBe(200);
      expect(jsonl.json().features).toMatchObject([
        { feature: "amount", seen: 2 },
        { feature: "tier", seen: 1 },
      ]);
      const bad = await upload("text/csv", "a,b\n1\n");
      expect(bad.statusCode).toBe(400);
      expect(bad.json().detail).toBe("the body:2: 1 fields where the header has 2");
    } finally {
      if (tmp === undefined) delete process.env.TMPDIR;
      else process.env.TMPDIR = tmp;
    }
  });
});
