import { afterEach, describe, expect, it } from "vitest";
import { dialects } from "../support/databases.js";
import { registration, startTestApp, type TestApp } from "../support/test-app.js";

const DAY = 86_400_000;
const T0 = Date.parse("2027-01-01T00:00:00Z");
const POLICIES = `
policies:
  - name: fraud
    match: { model: "fraud-*" }
    max_age: 90d
    performance: { metric: auc, target: 0.92, window: 1d, min_samples: 500, label_delay: 2d }
`;

describe.each(dialects())("performance on %s", (dialect) => {
  let t: TestApp;
  afterEach(async () => {
    await t?.close();
  });

  const points = (day: number, value: number, samples = 1000) =>
    [0, 6, 12, 18].map((hour) => ({
      name: "auc",
      value,
      timestamp: new Date(T0 + day * DAY + hour * 3_600_000).toISOString(),
      sample_size: samples / 4,
    }));
  const post = async (id: number, body: unknown) =>
    t.request({ method: "POST", url: `/v1/deployments/${id}/metrics`, body });
  const sweep = async (at: number) => {
    t.setNow(at);
    return (await t.request({ method: "POST", url: "/v1/sweeps", body: {} })).json();
  };

  it("a young model whose AUC falls below target is degraded and alerted once; performance age says since when it held", async () => {
    t = await startTestApp(dialect, { now: T0, policies: POLICIES });
    const created = await t.request({
      method: "POST",
      url: "/v1/deployments",
      body: registration({ training_data_cutoff: "2026-12-20", baseline_metrics: { auc: 0.95 } }),
    });
    expect(created.statusCode, created.body).toBe(201);
    const id = created.json().id as number;
    expect(created.json().age.performance_age_seconds).toBeNull();

    t.setNow(T0 + 10 * DAY);
    for (const day of [0, 1, 2, 3])
      expect((await post(id, { points: points(day, 0.95) })).statusCode).toBe(200);
    // Days 4 and 5 fall below; day 5 is still inside the two-day label delay at the sweep.
    expect((await post(id, { points: [...points(4, 0.9), ...points(5, 0.5)] })).statusCode).toBe(200);
    const first = await sweep(T0 + 7 * DAY + 3_600_000);
    expect(first.findings).toEqual({ degraded: 1 });
    const open = (await t.request({ method: "GET", url: "/v1/alerts?state=open" })).json().items;
    expect(open).toMatchObject([
      {
        kind: "degraded",
        detail: { metric: "auc", value: 0.9, threshold: 0.92, baseline: 0.95, samples: 1000 },
      },
    ]);
    const view = (await t.request({ method: "GET", url: `/v1/deployments/${id}` })).json();
    expect(view.age.performance_age_seconds).toBe(0);

    // Flapping: good, bad, good — still the one alert.
    t.setNow(T0 + 10 * DAY);
    const flap = await post(id, { points: [...points(5, 0.95), ...points(6, 0.9), ...points(7, 0.95)] });
    expect(flap.statusCode).toBe(200);
    const second = await sweep(T0 + 10 * DAY);
    expect(second).toMatchObject({ alerts_opened: 0, findings: { degraded: 1 } });

    // Three good days in a row clear it; performance age counts from the end of the last bad day.
    t.setNow(T0 + 13 * DAY);
    const late = await post(id, { points: [...points(8, 0.95), ...points(9, 0.95), ...points(10, 0.95)] });
    expect(late.json()).toEqual({ deployment_id: id, accepted: 12 });
    const third = await sweep(T0 + 13 * DAY);
    expect(third).toMatchObject({ alerts_resolved: 1, findings: {} });
    const after = (await t.request({ method: "GET", url: `/v1/deployments/${id}` })).json();
    expect(after.age.performance_age_seconds).toBe(6 * 86_400);
    const check = (await t.request({ method: "GET", url: "/v1/check?fail_on=stale" })).json();
    expect(check.ok).toBe(true);

    const timeline = (await t.request({ method: "GET", url: `/v1/deployments/${id}/timeline` })).json();
    expect(timeline).toMatchObject({
      deployment_id: id,
      policy: "fraud",
      clocks: { due_at: new Date(T0 + 72 * DAY).toISOString(), performance_age_seconds: 6 * 86_400 },
      stages: [
        { stage: "fresh", from: new Date(T0).toISOString(), to: new Date(T0 + 13 * DAY).toISOString() },
      ],
      health: { score: 100, verdict: "keep" },
    });
    const [auc] = timeline.metrics;
    expect(auc).toMatchObject({ name: "auc", target: 0.92, baseline: 0.95, state: "ok" });
    expect(auc.windows.map((w: { state: string }) => w.state)).toEqual([
      "ok",
      "ok",
      "ok",
      "ok",
      "below",
      "ok",
      "below",
      "ok",
      "ok",
      "ok",
      "ok",
    ]);
  });

  it("performance age stays 0 while the latest judged window is below, however long after the sweep it is read", async () => {
    t = await startTestApp(dialect, { now: T0, policies: POLICIES });
    const id = (await t.request({ method: "POST", url: "/v1/deployments", body: registration() })).json().id;
    t.setNow(T0 + 5 * DAY);
    expect((await post(id, { points: [...points(0, 0.95), ...points(1, 0.5)] })).statusCode).toBe(200);
    expect((await sweep(T0 + 4 * DAY)).findings).toEqual({ degraded: 1 });
    for (const later of [T0 + 4 * DAY, T0 + 4 * DAY + 3_600_000, T0 + 20 * DAY]) {
      t.setNow(later);
      const view = (await t.request({ method: "GET", url: `/v1/deployments/${id}` })).json();
      expect(view.age.performance_age_seconds, new Date(later).toISOString()).toBe(0);
      const timeline = (await t.request({ method: "GET", url: `/v1/deployments/${id}/timeline` })).json();
      expect(timeline.clocks.performance_age_seconds).toBe(0);
    }
  });

  it("a deployment on target but below its baseline loses health by the drop once a sweep judged it", async () => {
    t = await startTestApp(dialect, { now: T0, policies: POLICIES });
    const body = registration({ training_data_cutoff: "2026-12-20", baseline_metrics: { auc: 1 } });
    const id = (await t.request({ method: "POST", url: "/v1/deployments", body })).json().id as number;
    t.setNow(T0 + 5 * DAY);
    await post(id, { points: [0, 1].flatMap((day) => points(day, 0.95)) });
    await sweep(T0 + 5 * DAY);
    const view = (await t.request({ method: "GET", url: `/v1/deployments/${id}` })).json();
    // 5% below the baseline is a performance penalty of 0.25, weighted 0.6: 100 × (1 − 0.15).
    expect(view.age).toMatchObject({ stage: "fresh", health_score: 85, verdict: "keep" });
  });

  it("a retried batch of points changes nothing, and a late correction replaces the first value", async () => {
    t = await startTestApp(dialect, { now: T0, policies: POLICIES });
    const id = (await t.request({ method: "POST", url: "/v1/deployments", body: registration() })).json().id;
    t.setNow(T0 + 5 * DAY);
    const batch = { points: points(0, 0.5) };
    await post(id, batch);
    await post(id, batch);
    expect((await sweep(T0 + 3 * DAY)).findings).toEqual({ degraded: 1 });
    // The labels of day 0 were wrong: corrected, the day holds its target.
    t.setNow(T0 + 5 * DAY);
    await post(id, { points: points(0, 0.97) });
    const swept = await sweep(T0 + 5 * DAY);
    expect(swept.findings).toEqual({});
    const rows = await t.context.database.db.selectFrom("metric_points").selectAll().execute();
    expect(rows).toHaveLength(4);
    // The day's roll-up, which the sweep read, counted the retry once and the correction in place of the first values.
    const rollups = await t.context.database.db.selectFrom("metric_rollups").selectAll().execute();
    expect(rollups.map((r) => [Number(r.day), Number(r.samples), Number(r.weighted_sum)])).toEqual([
      [T0 / DAY, 1000, 970],
    ]);
  });

  it("refuses bad points, naming the field, and stores none of the batch", async () => {
    t = await startTestApp(dialect, { now: T0, policies: POLICIES });
    const id = (await t.request({ method: "POST", url: "/v1/deployments", body: registration() })).json().id;
    const good = { name: "auc", value: 0.9 };
    for (const [body, field] of [
      [{ points: [] }, "points"],
      [{ points: [{ ...good, value: "0.9" }] }, "points.0.value"],
      [{ points: [good, { ...good, name: "bad name" }] }, "points.1.name"],
      [{ points: [{ ...good, sample_size: 0 }] }, "points.0.sample_size"],
      [{ points: [{ ...good, timestamp: "yesterday" }] }, "points.0.timestamp"],
      [{ points: [good, { ...good, timestamp: "2030-01-01T00:00:00Z" }] }, "points.1.timestamp"],
      [{ points: Array.from({ length: 10_001 }, () => good) }, "points"],
      [{ points: [{ ...good, extra: 1 }] }, "points.0.extra"],
    ] as const) {
      const res = await post(id, body);
      expect(res.statusCode, JSON.stringify(body).slice(0, 80)).toBe(400);
      expect(
        res.json().errors.map((e: { field: string }) => e.field),
        field,
      ).toContain(field);
    }
    expect(await t.context.database.db.selectFrom("metric_points").selectAll().execute()).toEqual([]);
    expect((await post(999, { points: [good] })).statusCode).toBe(404);
    const bad = await t.request({
      method: "POST",
      url: "/v1/deployments",
      body: registration({ model_version: "9", baseline_metrics: { auc: "high" } }),
    });
    expect(bad.statusCode).toBe(400);
  });
});
