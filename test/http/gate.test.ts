import fc from "fast-check";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { compareUnpaired, type LabelledPrediction } from "../../src/core/compare/unpaired-comparison.js";
import type { ShadowPair } from "../../src/gateway/traffic-report.js";
import { dialects } from "../support/databases.js";
import { registration, startTestApp, type TestApp } from "../support/test-app.js";

const NOW = Date.parse("2026-11-25T12:00:00.000Z");
const DAY = 86_400_000;

/** fraud-gbm is judged on accuracy, and its data may be 60 days old at most. */
const POLICIES = `
policies:
  - name: fraud
    match: { model: fraud-gbm }
    max_age: 90d
    max_data_age: 60d
    performance: { metric: accuracy, target: 0.85, min_samples: 100 }
`;

/** A candidate better than the primary's 0.905 by 0.025 on 5,000 observations: a promotion. */
const CANDIDATE = {
  model_version: "3.3.0",
  training_data_cutoff: "2026-11-10",
  sample_size: 5000,
  metrics: { accuracy: 0.93 },
};

describe.each(dialects())("POST /v1/models/{name}/gate on %s", (dialect) => {
  let t: TestApp;
  let primaryId: number;

  const register = async (overrides: Record<string, unknown>) => {
    const res = await t.request({ method: "POST", url: "/v1/deployments", body: registration(overrides) });
    expect(res.statusCode, res.body).toBe(201);
    return (res.json() as { id: number }).id;
  };
  const gate = (body: unknown, token?: string | null, model = "fraud-gbm") =>
    t.request({
      method: "POST",
      url: `/v1/models/${model}/gate`,
      body,
      token: token === undefined ? t.tokens.read : token,
    });

  beforeEach(async () => {
    t = await startTestApp(dialect, { now: NOW, policies: POLICIES });
    primaryId = await register({
      model_version: "3.2.0",
      training_data_cutoff: "2026-10-01",
      deployment_date: "2026-11-01T00:00:00Z",
    });
    // Three judged days at 0.9, 0.91 and 0.905 on 2,000 labels each; today's window is still open.
    const points = [0.9, 0.91, 0.905].map((value, i) => ({
      name: "accuracy",
      value,
      sample_size: 2000,
      timestamp: new Date(NOW - (3 - i) * DAY).toISOString(),
    }));
    points.push({
      name: "accuracy",
      value: 0.5,
      sample_size: 2000,
      timestamp: new Date(NOW - 60_000).toISOString(),
    });
    const res = await t.request({
      method: "POST",
      url: `/v1/deployments/${primaryId}/metrics`,
      body: { points },
    });
    expect(res.statusCode, res.body).toBe(200);
  });
  afterEach(async () => {
    await t.close();
  });

  it("promotes a candidate that beats the primary's recent judged windows, with a read token, changing nothing", async () => {
    const before = await t.request({ method: "GET", url: `/v1/deployments/${primaryId}/events` });
    const res = await gate(CANDIDATE);
    expect(res.statusCode, res.body).toBe(200);
    const body = res.json();
    expect(body).toMatchObject({
      decision: "promote",
      model: "fraud-gbm",
      environment: "production",
      candidate: {
        model_version: "3.3.0",
        training_data_cutoff: "2026-11-10T00:00:00.000Z",
        cutoff_source: "candidate",
      },
      primary: {
        deployment_id: primaryId,
        model_version: "3.2.0",
        training_data_cutoff: "2026-10-01T00:00:00.000Z",
      },
      policy: "fraud",
      min_improvement: 0.005,
      alpha: 0.05,
    });
    expect(body.checks.map((c: { kind: string; status: string }) => [c.kind, c.status])).toEqual([
      ["metric", "pass"],
      ["training_data_cutoff", "pass"],
      ["data_age", "pass"],
    ]);
    const [metric] = body.checks;
    expect(metric).toMatchObject({ name: "accuracy", primary_sample_size: 6000, test: "fisher_exact" });
    expect(metric.primary_value).toBeCloseTo(0.905, 12);
    expect(metric.primary_windows).toHaveLength(3);
    const after = await t.request({ method: "GET", url: `/v1/deployments/${primaryId}/events` });
    expect(after.json()).toEqual(before.json());
  });

  it("blocks a candidate no better than the margin, and one whose figures are not significant", async () => {
    const small = (await gate({ ...CANDIDATE, metrics: { accuracy: 0.908 } })).json();
    expect(small.decision).toBe("block");
    expect(small.checks[0]).toMatchObject({ status: "fail", name: "accuracy" });
    expect(small.checks[0].summary).toContain("less than the 0.005 required");
    const few = (await gate({ ...CANDIDATE, sample_size: 100 })).json();
    expect(few.decision).toBe("block");
    expect(few.checks[0].summary).toMatch(/Fisher's exact test on 93 of 100 .* ≥ 0\.05$/);
    const wider = (await gate({ ...CANDIDATE, metrics: { accuracy: 0.93 }, min_improvement: 0.05 })).json();
    expect(wider.decision).toBe("block");
  });

  it("blocks a candidate trained on data no newer than the primary's, or older than the policy's max_data_age", async () => {
    const older = (await gate({ ...CANDIDATE, training_data_cutoff: "2026-09-30" })).json();
    expect(older.decision).toBe("block");
    expect(older.checks.find((c: { kind: string }) => c.kind === "training_data_cutoff").status).toBe("fail");

    // Newer than the primary's, yet 61 days old by the policy's clock: stale before it serves.
    await t.request({ method: "POST", url: `/v1/deployments/${primaryId}/retire` });
    const oldPrimary = await register({
      model_version: "3.1.0",
      training_data_cutoff: "2026-08-01",
      deployment_date: "2026-09-01T00:00:00Z",
    });
    expect(oldPrimary).toBeGreaterThan(primaryId);
    const stale = (await gate({ ...CANDIDATE, training_data_cutoff: "2026-09-25" })).json();
    const age = stale.checks.find((c: { kind: string }) => c.kind === "data_age");
    expect(age).toMatchObject({ status: "fail", max_data_age_seconds: 60 * 86_400, policy: "fraud" });
    expect(stale.decision).toBe("block");
  });

  it("without a live primary in the environment there is nothing to beat: promote, unless the data is too old", async () => {
    const staging = (await gate({ ...CANDIDATE, environment: "staging", require_shadow: true })).json();
    expect(staging).toMatchObject({ decision: "promote", primary: null, environment: "staging" });
    expect(staging.checks.map((c: { status: string }) => c.status)).toEqual(["pass", "pass", "pass", "pass"]);
    expect(staging.checks[0].summary).toBe("accuracy 0.93: no live primary in staging, nothing to beat");
    const stale = (
      await gate({ ...CANDIDATE, environment: "staging", training_data_cutoff: "2026-09-01" })
    ).json();
    expect(stale.decision).toBe("block");
    expect(stale.checks.map((c: { kind: string; status: string }) => `${c.kind} ${c.status}`)).toContain(
      "data_age fail",
    );
  });

  it("with require_shadow, blocks without a verdict and promotes on a live shadow's candidate_better, reading its registered cutoff", async () => {
    const { training_data_cutoff: _, ...withoutCutoff } = CANDIDATE;
    const missing = (await gate({ ...CANDIDATE, require_shadow: true })).json();
    expect(missing.decision).toBe("block");
    expect(missing.checks.at(-1)).toMatchObject({ kind: "shadow_verdict", status: "fail", verdicts: [] });

    const shadowId = await register({
      model_version: "3.3.0",
      role: "shadow",
      training_data_cutoff: "2026-11-10",
    });
    // 40 requests only the shadow got right, 3 only the primary, 100 both: McNemar's p is tiny.
    const outcomes = [
      ...Array.from({ length: 40 }, () => ["fraud", "legit"] as const),
      ...Array.from({ length: 3 }, () => ["legit", "fraud"] as const),
      ...Array.from({ length: 100 }, () => ["legit", "legit"] as const),
    ];
    const pairs: ShadowPair[] = outcomes.map(([shadowSays, primarySays], i) => ({
      request_id: `g-${i}`,
      primary_id: primaryId,
      shadow_id: shadowId,
      at: NOW - 60_000 + i,
      primary_prediction: primarySays,
      shadow_prediction: shadowSays,
      primary_status: 200,
      shadow_status: 200,
      primary_latency_ms: 10,
      shadow_latency_ms: 12,
    }));
    expect((await t.context.shadow.recordPairs(pairs)).recorded).toBe(pairs.length);
    const labels = outcomes.map(([shadowSays, primarySays], i) => ({
      request_id: `g-${i}`,
      // Where they disagree, the truth is fraud: the shadow said so 40 times, the primary 3.
      label: shadowSays === primarySays ? shadowSays : "fraud",
    }));
    expect(
      (await t.request({ method: "POST", url: "/v1/feedback", body: { items: labels } })).statusCode,
    ).toBe(200);

    const res = await gate({ ...withoutCutoff, require_shadow: true });
    expect(res.statusCode, res.body).toBe(200);
    const body = res.json();
    expect(body.candidate).toMatchObject({
      cutoff_source: "registry",
      training_data_cutoff: "2026-11-10T00:00:00.000Z",
    });
    expect(body.checks.at(-1)).toMatchObject({
      kind: "shadow_verdict",
      status: "pass",
      verdicts: [
        expect.objectContaining({ source: "shadow", deployment_id: shadowId, verdict: "candidate_better" }),
      ],
    });
    expect(body.decision).toBe("promote");
  });

  it("with require_shadow, a live canary of the candidate whose labels show it significantly better passes", async () => {
    const canaryId = await register({
      model_version: "3.3.0",
      role: "canary",
      training_data_cutoff: "2026-11-10",
      canary: { weight: 10 },
    });
    const side = (n: number, wrong: number): LabelledPrediction[] =>
      Array.from({ length: n }, (_, i) => ({ prediction: i < wrong ? "fraud" : "legit", label: "legit" }));
    const analysis = async (labels: ReturnType<typeof compareUnpaired>, verdict: "pass" | "fail" = "pass") =>
      t.context.stores.canaries.insertAnalysis({
        deployment_id: canaryId,
        at: NOW - 1000,
        window_start: NOW - 61_000,
        window_end: NOW - 1000,
        verdict,
        action: "hold",
        step_index: 0,
        weight: 10,
        figures: {
          primary: { requests: 2000, errors: 2, error_rate: 0.001, p99_ms: 20 },
          canary: { requests: 200, errors: 0, error_rate: 0, p99_ms: 21 },
          min_requests: 100,
          error_rate_margin: 0.01,
          p99_limit_ms: 29,
          labels,
          reasons: ["within margins"],
        },
      });
    await analysis(compareUnpaired(side(300, 60), side(300, 15)));
    const betterRes = await gate({ ...CANDIDATE, require_shadow: true });
    expect(betterRes.statusCode, betterRes.body).toBe(200);
    const better = betterRes.json();
    expect(better.checks.at(-1)).toMatchObject({
      status: "pass",
      verdicts: [
        expect.objectContaining({ source: "canary", deployment_id: canaryId, verdict: "candidate_better" }),
      ],
    });
    expect(better.decision).toBe("promote");

    await analysis(compareUnpaired(side(300, 60), side(300, 58)));
    const unsure = (await gate({ ...CANDIDATE, require_shadow: true })).json();
    expect(unsure.decision).toBe("block");
    expect(unsure.checks.at(-1).verdicts[0].verdict).toBe("inconclusive");
  });

  it.each([
    [{ ...CANDIDATE, metrics: {} }, "metrics", /at least one metric/],
    [{ ...CANDIDATE, metrics: { accuracy: "high" } }, "metrics.accuracy", /./],
    [
      { ...CANDIDATE, metrics: { accuracy: { value: 0.9, surprise: 1 } } },
      "metrics.accuracy.surprise",
      /not a known field/,
    ],
    [{ ...CANDIDATE, sample_size: 0 }, "sample_size", /./],
    [{ ...CANDIDATE, training_data_cutoff: "last week" }, "training_data_cutoff", /ISO 8601/],
    [{ ...CANDIDATE, min_improvement: -0.1 }, "min_improvement", /./],
    [{ ...CANDIDATE, surprise: true }, "surprise", /./],
    [{ metrics: { accuracy: 0.93 } }, "model_version", /required/],
  ])("refuses %j with 400 naming %s", async (body, field, message) => {
    const res = await gate(body);
    expect(res.statusCode, res.body).toBe(400);
    expect(res.headers["content-type"]).toMatch(/^application\/problem\+json/);
    expect(res.json().errors).toEqual(
      expect.arrayContaining([expect.objectContaining({ field, message: expect.stringMatching(message) })]),
    );
  });

  it("refuses, naming the field, what only the policy and the registry can tell is wrong", async () => {
    const cases: [unknown, string, RegExp][] = [
      [
        { ...CANDIDATE, metrics: { recall: { value: 0.8, direction: "higher" } } },
        "metrics.accuracy",
        /is required: policy fraud judges it/,
      ],
      [{ ...CANDIDATE, metrics: { accuracy: 0.93, recall: 0.8 } }, "metrics.recall.direction", /is required/],
      [
        { ...CANDIDATE, metrics: { accuracy: { value: 0.93, direction: "lower" } } },
        "metrics.accuracy.direction",
        /must be higher/,
      ],
      [
        { model_version: "9.9.9", metrics: { accuracy: 0.93 } },
        "training_data_cutoff",
        /is required: version 9\.9\.9/,
      ],
      [
        { ...CANDIDATE, training_data_cutoff: "2027-01-01" },
        "training_data_cutoff",
        /must not be in the future/,
      ],
      [
        { ...CANDIDATE, model_version: "3.2.0" },
        "training_data_cutoff",
        /differs from the cutoff 3\.2\.0 was registered with/,
      ],
    ];
    for (const [body, field, message] of cases) {
      const res = await gate(body);
      expect(res.statusCode, res.body).toBe(400);
      expect(res.json().errors, JSON.stringify(body)).toEqual([
        expect.objectContaining({ field, message: expect.stringMatching(message) }),
      ]);
    }
  });

  it("answers 404 for a model it does not know: a typo must not pass as 'nothing to beat'", async () => {
    const res = await gate(CANDIDATE, undefined, "fraud-gmb");
    expect(res.statusCode).toBe(404);
    expect(res.json().detail).toBe("model fraud-gmb does not exist");
  });

  it("answers no body, however odd, with a 5xx: every answer is a decision or a problem naming a field", async () => {
    const extreme = fc.constantFrom(0, 1, 2 ** 53, 1e308, -1e308, 5e-324, -0);
    const number = fc.oneof(fc.double(), fc.integer({ min: -3, max: 3 }), extreme);
    const share = fc.oneof(fc.double({ min: 0, max: 1, noNaN: true }), fc.constantFrom(0, 1));
    const size = fc.oneof(fc.integer({ min: 1, max: 10_000_000 }), fc.constantFrom(1, 2, 2 ** 53 - 1));
    // Plausible figures, valid or nearly, so that most of them reach the comparison and its tests.
    const plausible = fc.record(
      {
        model_version: fc.constantFrom("3.3.0", "3.3.0", "9.9.9"),
        training_data_cutoff: fc.constantFrom("2026-11-10", "2026-11-10", "2026-09-01"),
        sample_size: size,
        environment: fc.constantFrom("production", "production", "staging"),
        min_improvement: fc.oneof(share, fc.constantFrom(0, 1e6)),
        require_shadow: fc.boolean(),
        metrics: fc.oneof(
          fc.record({ accuracy: share }),
          fc.record({
            accuracy: fc.record(
              {
                value: share,
                sample_size: size,
                kind: fc.constantFrom("rate", "score"),
                values: fc.array(fc.oneof(share, extreme), { minLength: 2, maxLength: 6 }),
              },
              { requiredKeys: ["value"] },
            ),
            recall: fc.record({
              value: fc.oneof(share, extreme),
              direction: fc.constantFrom("higher", "lower"),
            }),
          }),
        ),
      },
      { requiredKeys: ["model_version", "metrics"] },
    );
    const odd = fc.record(
      {
        model_version: fc.oneof(fc.constantFrom("3.3.0", ""), fc.string()),
        training_data_cutoff: fc.oneof(fc.constantFrom("2027-01-01", "2026-02-30"), fc.string()),
        sample_size: number,
        min_improvement: number,
        require_shadow: fc.anything(),
        metrics: fc.oneof(
          fc.dictionary(
            fc.constantFrom("accuracy", "recall", "constructor", "toString", "a b", ""),
            fc.anything(),
          ),
          fc.anything(),
        ),
      },
      { requiredKeys: [] },
    );
    let decided = 0;
    await fc.assert(
      fc.asyncProperty(fc.oneof(plausible, odd), async (b) => {
        const res = await gate(b);
        expect(res.statusCode, `${JSON.stringify(b)} -> ${res.body}`).toBeLessThan(500);
        if (res.statusCode === 200) decided++;
        else {
          expect(res.statusCode, res.body).toBe(400);
          expect(res.json().errors.length).toBeGreaterThan(0);
        }
      }),
      { numRuns: 100 },
    );
    // The property must have reached the decision, not only the schema.
    expect(decided).toBeGreaterThan(10);
  });

  it("needs a token, of any scope", async () => {
    expect((await gate(CANDIDATE, null)).statusCode).toBe(401);
    expect((await gate(CANDIDATE, t.tokens.write)).statusCode).toBe(200);
  });

  it("is a read: under publicRead it needs no token, while a change beside it still does", async () => {
    const open = await startTestApp(dialect, { now: NOW, publicRead: true });
    try {
      const registered = await open.request({ method: "POST", url: "/v1/deployments", body: registration() });
      expect(registered.statusCode).toBe(201);
      const res = await open.request({
        method: "POST",
        url: "/v1/models/fraud-gbm/gate",
        body: { ...CANDIDATE, metrics: { accuracy: { value: 0.93, direction: "higher" } } },
        token: null,
      });
      expect(res.statusCode, res.body).toBe(200);
      const change = await open.request({
        method: "POST",
        url: "/v1/deployments",
        body: registration(),
        token: null,
      });
      expect(change.statusCode).toBe(401);
    } finally {
      await open.close();
    }
  });
});
