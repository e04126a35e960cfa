import { writeFileSync } from "node:fs";
import { afterEach, describe, expect, it } from "vitest";
import { dialects } from "../support/databases.js";
import { seedVersions, type VersionSpan } from "../support/decay-fleet.js";
import { runTenure, tempDir } from "../support/process.js";
import { registration, startTestApp, type TestApp } from "../support/test-app.js";

const DAY = 86_400_000;
const T0 = Date.parse("2027-01-01T00:00:00Z");
/** Each model's versions go live at these days; the sweep runs on day 70, ten days into the third. */
const VERSIONS: VersionSpan[] = [
  { version: "1.0", day: 0, days: 30 },
  { version: "2.0", day: 30, days: 30 },
  { version: "3.0", day: 60, days: 10 },
];
const SWEEP_AT = T0 + 70 * DAY;

const performance = (metric: string, target: number, direction = "higher") =>
  `{ metric: ${metric}, target: ${target}, direction: ${direction}, window: 1d, min_samples: 10 }`;

/**
 * fraud reviews at 48d and crosses at ~25d: a forecast breach. churn reviews at 16d, before its
 * earliest crossing: a forecast, no breach. spam's error rate rises towards its upper target, which
 * it crosses before its review at 48d: a breach too.
 */
const policies = (fraudMaxAge = "60d") => `
policies:
  - name: fraud
    match: { model: "fraud-*" }
    max_age: ${fraudMaxAge}
    review_at: 0.8
    performance: ${performance("auc", 0.9)}
  - name: churn
    match: { model: "churn-*" }
    max_age: 20d
    review_at: 0.8
    performance: ${performance("auc", 0.9)}
  - name: spam
    match: { model: "spam-*" }
    max_age: 60d
    performance: ${performance("error_rate", 0.1, "lower")}
  - name: steady
    match: { model: "steady-*" }
    max_age: 60d
    performance: ${performance("auc", 0.9)}
  - name: untargeted
    match: { model: "plain-*" }
    max_age: 60d
`;

/** A little deterministic noise, so the slopes' intervals are not a point. */
const NOISE = [0.001, -0.001, 0.0005, -0.0005, 0];

describe.each(dialects())("forecasts on %s", (dialect) => {
  let t: TestApp;
  afterEach(async () => {
    await t?.close();
  });

  const request = async (method: "GET" | "POST", url: string, body?: unknown) => {
    const res = await t.request({ method, url, body });
    expect(res.statusCode, `${method} ${url}: ${res.body}`).toBeLessThan(300);
    return res.json();
  };

  /**
   * Registers a model's versions one after the other (each supersedes the one before) and posts
   * each one's daily metric at noon: `level(age in days at the window's middle)`.
   */
  function seedModel(
    model: string,
    metric: string,
    level: (ageDays: number) => number,
    options: {
      versions?: VersionSpan[];
      /** The live (last) version's registered baseline. */
      baseline?: number;
      /** Samples behind each daily point (100: every window judged). */
      sampleSize?: number;
      /** Days each point's timestamp is off by (a skewed clock): negative is before it was measured. */
      skewDays?: number;
    } = {},
  ): Promise<number[]> {
    const versions = options.versions ?? VERSIONS;
    return seedVersions(t, {
      model,
      metric,
      t0: T0,
      versions: versions.map((v, i) =>
        i === versions.length - 1 ? { ...v, baseline: options.baseline } : v,
      ),
      level: (day) => level(day + 0.5) + (NOISE[day % NOISE.length] ?? 0),
      sampleSize: options.sampleSize ?? 100,
      skewDays: options.skewDays,
      registration: { training_data_cutoff: "2026-12-01" },
    });
  }

  const view = async (id: number) => (await request("GET", `/v1/deployments/${id}`)).age;
  const sweep = async (body: Record<string, unknown> = {}) => {
    t.setNow(SWEEP_AT);
    return request("POST", "/v1/sweeps", body);
  };
  /** No number in the answer is NaN, infinite or negative (but a slope, which is signed). */
  const sane = (value: unknown, key = ""): void => {
    if (typeof value === "number") {
      expect(Number.isFinite(value), key).toBe(true);
      if (key !== "slope_per_day") expect(value, key).toBeGreaterThanOrEqual(0);
    } else if (value !== null && typeof value === "object") {
      for (const [k, v] of Object.entries(value)) sane(v, Array.isArray(value) ? key : k);
    }
    expect(JSON.stringify(value)).not.toMatch(/NaN|Infinity/);
  };

  it("forecasts the live deployment's crossing from its versions' decay, alerts when it comes before the review point, and not otherwise", async () => {
    t = await startTestApp(dialect, { now: T0, policies: policies() });
    // 0.95 at deployment, 0.002 lost a day: each version crosses 0.90 at 25 days of age.
    const decaying = (age: number) => 0.95 - 0.002 * age;
    const fraud = await seedModel("fraud-gbm", "auc", decaying, { baseline: 0.95 });
    const churn = await seedModel("churn-lr", "auc", decaying, { baseline: 0.95 });
    // An error rate that rises 0.002 a day from 0.05 crosses its upper target 0.10 at 25 days too.
    const spam = await seedModel("spam-filter", "error_rate", (age) => 0.05 + 0.002 * age);
    const fraudLive = fraud.at(-1) as number;

    // A preview computes the finding but keeps nothing: no forecast, no alert.
    const preview = await sweep({ dry_run: true });
    expect(preview.findings).toMatchObject({ forecast_breach: 2 });
    expect(await view(fraudLive)).toMatchObject({
      forecast: null,
      forecast_reason: "no sweep has forecast it yet",
    });
    expect((await request("GET", "/v1/alerts?state=open")).items).toEqual([]);

    const swept = await sweep();
    expect(swept.findings).toEqual({ forecast_breach: 2 });
    const crossing = T0 + 60 * DAY + 25 * DAY;
    for (const id of [fraudLive, churn.at(-1) as number, spam.at(-1) as number]) {
      const age = await view(id);
      sane(age);
      expect(age.forecast_reason).toBeNull();
      const f = age.forecast;
      expect(Math.abs(Date.parse(f.breach_at) - crossing)).toBeLessThan(1.5 * DAY);
      expect(Math.abs(f.breach_in_seconds - 15 * 86_400)).toBeLessThan(1.5 * 86_400);
      const [low, high] = f.interval_seconds;
      expect(low).toBeGreaterThanOrEqual(0);
      expect(low).toBeLessThanOrEqual(f.breach_in_seconds);
      expect(high === null || high >= f.breach_in_seconds).toBe(true);
      expect(f).toMatchObject({ based_on_deployments: 3, based_on_windows: 70 });
      expect(Math.abs(Math.abs(f.slope_per_day) - 0.002)).toBeLessThan(0.0003);
    }
    expect((await view(spam.at(-1) as number)).forecast).toMatchObject({ metric: "error_rate" });
    expect((await view(spam.at(-1) as number)).forecast.slope_per_day).toBeGreaterThan(0);

    // fraud's and spam's earliest crossings come before their review points (48d); churn reviews at 16d.
    const open = (await request("GET", "/v1/alerts?state=open")).items as { deployment_id: number }[];
    expect(open.map((a) => a.deployment_id).sort((a, b) => a - b)).toEqual([fraudLive, spam.at(-1)]);
    const alert = open.find((a) => a.deployment_id === fraudLive) as unknown as {
      detail: Record<string, unknown>;
      summary: string;
    };
    expect(alert).toMatchObject({
      kind: "forecast_breach",
      severity: "warning",
      deployment_id: fraudLive,
      policy: "fraud",
      detail: {
        metric: "auc",
        threshold: 0.9,
        policy: "fraud",
        based_on_deployments: 3,
        based_on_windows: 70,
        review_point: new Date(T0 + 60 * DAY + 48 * DAY).toISOString(),
      },
    });
    expect(alert.detail.reason).toMatch(/crosses 0\.9 in ~1\dd/);
    expect(alert.summary).toMatch(/fraud-gbm 3\.0 in production is forecast to cross its auc threshold 0\.9/);
    sane(alert.detail);

    // tenure show prints it for people and keeps it whole in --json (its clock is the machine's).
    const dir = tempDir();
    try {
      const options = { cwd: dir.path, env: { TENURE_DATABASE_URL: t.database.url } };
      const policiesFlag = ["--policies", t.policiesPath ?? ""];
      const shown = await runTenure(["show", String(fraudLive), ...policiesFlag], options);
      expect(shown.stderr).toBe("");
      expect(shown.stdout).toMatch(
        /\n {2}forecast {9}auc breach in ~\d+d \(\d+d–\d+d\), −0\.002 a day over 3 deployments\n/,
      );
      const json = await runTenure(["show", String(fraudLive), "--json", ...policiesFlag], options);
      expect(JSON.parse(json.stdout).deployment.age.forecast).toMatchObject({
        metric: "auc",
        breach_at: (await view(fraudLive)).forecast.breach_at,
      });
    } finally {
      dir.remove();
    }

    // The forecast is kept, not refitted: read later, it counts down from the same crossing.
    const before = (await view(fraudLive)).forecast;
    t.setNow(SWEEP_AT + 5 * DAY);
    const later = (await view(fraudLive)).forecast;
    expect(later.breach_at).toBe(before.breach_at);
    expect(later.breach_in_seconds).toBe(before.breach_in_seconds - 5 * 86_400);
    // Past the crossing by the curve, the countdown stops at 0 rather than going negative.
    t.setNow(SWEEP_AT + 60 * DAY);
    const past = (await view(fraudLive)).forecast;
    expect(past.breach_in_seconds).toBe(0);
    expect(past.interval_seconds[0]).toBe(0);
    sane(past);

    // A second sweep on the same evidence changes nothing and repeats nothing.
    expect(await sweep()).toMatchObject({
      alerts_opened: 0,
      alerts_resolved: 0,
      findings: { forecast_breach: 2 },
    });

    // A shorter TTL brings the review point (16d) before the earliest crossing: the alert resolves.
    writeFileSync(t.policiesPath as string, policies("20d"));
    await request("POST", "/v1/policies/reload");
    expect(await sweep()).toMatchObject({ alerts_resolved: 1, findings: { forecast_breach: 1 } });
    const alerts = (await request("GET", "/v1/alerts?state=resolved")).items;
    expect(alerts).toMatchObject([
      { kind: "forecast_breach", deployment_id: fraudLive, resolution: "cleared" },
    ]);
  });

  it("lists carry the forecast in every deployment's age block", async () => {
    t = await startTestApp(dialect, { now: T0, policies: policies() });
    const fraud = await seedModel("fraud-gbm", "auc", (age) => 0.95 - 0.002 * age, { baseline: 0.95 });
    await sweep();
    const list = (await request("GET", "/v1/deployments?model=fraud-gbm&status=active")).items as {
      id: number;
      status: string;
      age: { forecast: unknown; forecast_reason: string | null };
    }[];
    expect(list).toHaveLength(1);
    expect(list[0]?.age.forecast).toMatchObject({ metric: "auc", based_on_deployments: 3 });
    const model = await request("GET", "/v1/models/fraud-gbm");
    expect(model.environments[0].live[0].age.forecast).toMatchObject({ metric: "auc" });
    const ended = await request("GET", `/v1/deployments/${fraud[0]}`);
    expect(ended.age).toMatchObject({
      forecast: null,
      forecast_reason: "it has ended: only a live deployment is forecast",
    });
  });

  it("says why there is no forecast: too little history, no target, an improving metric (either direction), a start already below target", async () => {
    t = await startTestApp(dialect, { now: T0, policies: policies() });
    // One version only: its windows are not a model's history.
    const [young] = await seedModel("fraud-young", "auc", (age) => 0.95 - 0.002 * age, {
      versions: [{ version: "1.0", day: 60, days: 10 }],
    });
    // No performance target: nothing to cross.
    const [plain] = await seedModel("plain-model", "auc", (age) => 0.95 - 0.002 * age, {
      versions: [{ version: "1.0", day: 60, days: 10 }],
    });
    // A metric that gets better with age never crosses.
    const steady = await seedModel("steady-rank", "auc", (age) => 0.91 + 0.001 * age);
    // An error rate (lower is better) that falls with age is improving too.
    const calm = await seedModel("spam-calm", "error_rate", (age) => 0.08 - 0.0005 * age);
    // A start already below target: the baseline says so, whatever the curve.
    const below = await seedModel("fraud-below", "auc", (age) => 0.95 - 0.002 * age, { baseline: 0.89 });

    const swept = await sweep();
    expect(swept.findings.forecast_breach).toBeUndefined();
    const reasons = {
      young: await view(young as number),
      plain: await view(plain as number),
      steady: await view(steady.at(-1) as number),
      calm: await view(calm.at(-1) as number),
      below: await view(below.at(-1) as number),
    };
    for (const age of Object.values(reasons)) {
      sane(age);
      expect(age.forecast).toBeNull();
      expect(typeof age.forecast_reason).toBe("string");
    }
    expect(reasons.young.forecast_reason).toMatch(
      /^fraud-young in production has no decay curve yet: 10 judged auc windows across 1 deployment; a curve needs at least 14/,
    );
    expect(reasons.plain.forecast_reason).toBe("its policy untargeted sets no performance target");
    expect(reasons.steady.forecast_reason).toMatch(/^auc does not decay with age \(\+0\.001 a day\)/);
    expect(reasons.calm.forecast_reason).toMatch(/^error_rate does not decay with age \(−0\.0005 a day\)/);
    expect(reasons.below.forecast_reason).toBe("its starting auc 0.89 is already below the threshold 0.9");
    expect((await request("GET", "/v1/alerts?state=open")).items).toEqual([]);
  });

  it("says why for windows all too small to judge, and stays sane with clock-skewed points", async () => {
    t = await startTestApp(dialect, { now: T0, policies: policies() });
    // Every window has 5 samples, under the policy's min_samples of 10: nothing is judged.
    const thin = await seedModel("fraud-thin", "auc", (age) => 0.95 - 0.002 * age, { sampleSize: 5 });
    // Every point stamped 20 days early: the first versions' windows fall before their deployments.
    const skewed = await seedModel("fraud-skewed", "auc", (age) => 0.95 - 0.002 * age, { skewDays: -20 });

    await sweep();
    const thinAge = await view(thin.at(-1) as number);
    const skewedAge = await view(skewed.at(-1) as number);
    sane(thinAge);
    sane(skewedAge);
    expect(thinAge.forecast).toBeNull();
    expect(thinAge.forecast_reason).toMatch(
      /^fraud-thin in production has no decay curve yet: 0 judged auc windows across 3 deployments; a curve needs at least 14/,
    );
    // Skewed or not, the answer is a forecast or a reason, never both and never neither.
    expect((skewedAge.forecast === null) !== (skewedAge.forecast_reason === null)).toBe(true);
    const suggestions = await request("GET", "/v1/policy/suggestions?model=fraud-thin");
    expect(suggestions.items).toEqual([
      expect.objectContaining({ model: "fraud-thin", suggested_max_age_seconds: null, evidence: null }),
    ]);
    sane(suggestions);
  });

  it("shows a malformed stored forecast as no forecast, saying why, in every view and scrape, until the next sweep writes it again", async () => {
    t = await startTestApp(dialect, { now: T0, policies: policies(), metrics: true });
    const { id } = await request("POST", "/v1/deployments", registration({ model: "fraud-gbm" }));
    const malformed = [
      "{not json",
      "null",
      '{"reason":1,"computed_at":1}',
      '{"reason":"why","computed_at":1,"extra":true}',
      // JSON.parse reads 1e400 as Infinity.
      '{"metric":"auc","breach_at":1e400,"low_at":1,"high_at":null,"slope_per_day":-0.1,"based_on_deployments":3,"based_on_windows":40,"computed_at":1}',
      '{"metric":"auc","breach_at":2,"low_at":1,"high_at":null,"slope_per_day":-0.1,"based_on_deployments":-3,"based_on_windows":40,"computed_at":1}',
    ];
    for (const text of malformed) {
      await t.context.stores.forecasts.setForecasts([{ id, forecast: text }]);
      const age = await view(id);
      expect(age.forecast, text).toBeNull();
      expect(age.forecast_reason, text).toMatch(
        /^its stored forecast cannot be read \(the stored forecast (is not JSON|does not hold what it should: .+)\): the next sweep forecasts it again$/,
      );
      expect(age.forecast_reason, text).not.toContain("\n");
      const list = await request("GET", "/v1/deployments?model=fraud-gbm");
      expect(list.items[0].age.forecast_reason, text).toBe(age.forecast_reason);
      const fleet = await request("GET", "/v1/fleet/deployments");
      expect(fleet.items[0].age.forecast_reason, text).toBe(age.forecast_reason);
      const scrape = await t.request({ method: "GET", url: "/metrics" });
      expect(scrape.statusCode, text).toBe(200);
      expect(scrape.body, text).toContain("tenure_");
    }
    await sweep();
    const age = await view(id);
    expect(age.forecast).toBeNull();
    expect(age.forecast_reason).toMatch(/^fraud-gbm in production has no decay curve yet/);
  });
});
