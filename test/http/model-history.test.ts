import { afterEach, describe, expect, it } from "vitest";
import { seededRandom } from "../../src/core/reservoir.js";
import { dialects } from "../support/databases.js";
import { registration, startTestApp, type TestApp } from "../support/test-app.js";

const DAY = 86_400_000;
const T0 = Date.parse("2027-01-01T00:00:00Z");
const iso = (ms: number) => new Date(ms).toISOString();
const POLICIES = `
policies:
  - name: fraud
    match: { model: "fraud-*" }
    max_age: 90d
    review_at: 0.8
    performance: { metric: auc, target: 0.9, window: 1d, min_samples: 100 }
    drift: { window: 1d, drift_share: 0.5 }
`;

function rows(n: number, mean: number, seed: number) {
  const random = seededRandom(seed);
  return Array.from({ length: n }, (_, i) => ({
    amount: mean + (random() + random() + random() - 1.5),
    country: mean > 10 ? (i % 10 === 0 ? "fr" : "de") : i % 3 === 0 ? "de" : "fr",
  }));
}

describe.each(dialects())("a model's history reads on %s", (dialect) => {
  let t: TestApp;
  afterEach(async () => {
    await t?.close();
  });

  const get = (url: string) => t.request({ method: "GET", url });
  const post = async (url: string, body: unknown) => {
    const res = await t.request({ method: "POST", url, body });
    expect(res.statusCode, res.body).toBeLessThan(300);
    return res.json();
  };
  const daily = (from: number, values: number[]) =>
    values.map((value, i) => ({
      name: "auc",
      value,
      timestamp: iso(from + i * DAY + DAY / 2),
      sample_size: 500,
    }));

  it("performance gives every started deployment of the environment its windows, policy dates, target and baseline in one answer", async () => {
    t = await startTestApp(dialect, { now: T0, policies: POLICIES });
    const first = await post(
      "/v1/deployments",
      registration({ model_version: "3.1.0", baseline_metrics: { auc: 0.95 } }),
    );
    t.setNow(T0 + 10 * DAY);
    const second = await post(
      "/v1/deployments",
      registration({ model_version: "3.2.0", baseline_metrics: { auc: 0.96 } }),
    );
    await post("/v1/deployments", registration({ model_version: "3.2.0", environment: "staging" }));
    await post("/v1/deployments", registration({ model_version: "3.3.0", scheduled_at: iso(T0 + 20 * DAY) }));
    t.setNow(T0 + 14 * DAY);
    await post(`/v1/deployments/${first.id}/metrics`, {
      points: daily(T0, [0.95, 0.94, 0.93, 0.92, 0.91, 0.9, 0.89, 0.88, 0.87, 0.86]),
    });
    await post(`/v1/deployments/${second.id}/metrics`, { points: daily(T0 + 10 * DAY, [0.96, 0.95, 0.95]) });

    const res = await get("/v1/models/fraud-gbm/performance?environment=production");
    expect(res.statusCode, res.body).toBe(200);
    const body = res.json();
    expect(body).toMatchObject({
      model: "fraud-gbm",
      environment: "production",
      metric: { name: "auc", direction: "higher", target: 0.9 },
      metrics: ["auc"],
    });
    // The scheduled 3.3.0 has not started and the staging deployment is in another environment.
    expect(
      body.deployments.map((d: { model_version: string; status: string }) => [d.model_version, d.status]),
    ).toEqual([
      ["3.1.0", "superseded"],
      ["3.2.0", "active"],
    ]);
    const [old, live] = body.deployments;
    expect(old).toMatchObject({
      deployment_id: first.id,
      deployment_date: iso(T0),
      ended_at: iso(T0 + 10 * DAY),
      policy: "fraud",
      ttl_seconds: 90 * 86_400,
      due_at: iso(T0 + 72 * DAY),
      expires_at: iso(T0 + 90 * DAY),
      target: 0.9,
      baseline: 0.95,
      state: null,
    });
    expect(old.windows).toHaveLength(10);
    expect(old.windows[0]).toEqual({
      start: iso(T0),
      end: iso(T0 + DAY),
      samples: 500,
      mean: 0.95,
      state: "ok",
    });
    expect(old.windows.at(-1)).toMatchObject({ mean: 0.86, state: "below" });
    expect(live).toMatchObject({ deployment_id: second.id, baseline: 0.96, state: "ok" });
    expect(live.windows.map((w: { mean: number }) => w.mean)).toEqual([0.96, 0.95, 0.95]);
  });

  it("performance names no metric when no deployment has points, and reads the metric asked for", async () => {
    t = await startTestApp(dialect, { now: T0, policies: POLICIES });
    const created = await post("/v1/deployments", registration({ environment: "staging" }));
    const empty = (await get("/v1/models/fraud-gbm/performance?environment=staging")).json();
    expect(empty.metric).toBeNull();
    expect(empty.metrics).toEqual([]);
    expect(empty.deployments).toHaveLength(1);
    expect(empty.deployments[0].windows).toEqual([]);

    t.setNow(T0 + 3 * DAY);
    await post(`/v1/deployments/${created.id}/metrics`, {
      points: [{ name: "precision", value: 0.7, timestamp: iso(T0 + DAY), sample_size: 10 }],
    });
    const asked = (await get("/v1/models/fraud-gbm/performance?environment=staging&metric=precision")).json();
    // A metric the policy does not judge is drawn against no target.
    expect(asked.metric).toEqual({ name: "precision", direction: "higher", target: null });
    expect(asked.deployments[0]).toMatchObject({ target: null, threshold: null, state: null });
    expect(asked.deployments[0].windows).toMatchObject([{ mean: 0.7, samples: 10 }]);
  });

  it("drift judges each day with samples against the reference, feature by feature, as a sweep then would have", async () => {
    t = await startTestApp(dialect, { now: T0, policies: POLICIES });
    const created = await post("/v1/deployments", registration());
    await post(`/v1/deployments/${created.id}/reference`, { rows: rows(3000, 10, 1) });
    t.setNow(T0 + DAY + 3_600_000);
    await post(`/v1/deployments/${created.id}/samples`, { rows: rows(1500, 10, 2) });
    t.setNow(T0 + 3 * DAY + 3_600_000);
    await post(`/v1/deployments/${created.id}/samples`, { rows: rows(1500, 11.5, 3) });
    const swept = await post("/v1/sweeps", {});
    expect(swept.findings).toMatchObject({ drifted: 1 });

    const res = await get("/v1/models/fraud-gbm/drift?environment=production&days=30");
    expect(res.statusCode, res.body).toBe(200);
    const body = res.json();
    expect(body).toMatchObject({ model: "fraud-gbm", environment: "production", days: 30 });
    expect(body.deployments).toHaveLength(1);
    const [d] = body.deployments;
    expect(d).toMatchObject({ deployment_id: created.id, drift_state: "drifted", reference: "stored" });
    expect(d.checks.map((c: { day: string; state: string }) => [c.day, c.state])).toEqual([
      [iso(T0 + DAY), "stable"],
      [iso(T0 + 3 * DAY), "drifted"],
    ]);
    const last = d.checks[1];
    expect(last.features.map((f: { feature: string }) => f.feature)).toEqual(["amount", "country"]);
    for (const f of last.features) {
      expect(f).toMatchObject({ state: "drifted", current_size: 1500 });
      expect(typeof f.method).toBe("string");
      expect(f.threshold).toBeGreaterThan(0);
    }
    expect(d.checks[0].features.every((f: { state: string }) => f.state === "stable")).toBe(true);
  });

  it("an unknown model is a 404 problem on both reads; a bad environment or days is a 400 naming the field", async () => {
    t = await startTestApp(dialect, { now: T0, policies: POLICIES });
    for (const url of ["/v1/models/nope/performance", "/v1/models/nope/drift"]) {
      const res = await get(url);
      expect(res.statusCode).toBe(404);
      expect(res.headers["content-type"]).toMatch(/application\/problem\+json/);
      expect(res.json().detail).toBe("model nope does not exist");
    }
    await post("/v1/deployments", registration());
    const badDays = await get("/v1/models/fraud-gbm/drift?days=365");
    expect(badDays.statusCode).toBe(400);
    expect(badDays.json().errors.map((e: { field: string }) => e.field)).toEqual(["days"]);
    const badEnv = await get("/v1/models/fraud-gbm/performance?environment=Not%20An%20Env");
    expect(badEnv.statusCode).toBe(400);
    expect(badEnv.json().errors.map((e: { field: string }) => e.field)).toEqual(["environment"]);
  });
});
