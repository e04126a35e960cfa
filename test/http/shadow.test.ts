import { readFileSync } from "node:fs";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { LabelledPair } from "../../src/core/compare/shadow-verdict.js";
import type { ShadowPair } from "../../src/gateway/traffic-report.js";
import { dialects } from "../support/databases.js";
import { registration, startTestApp, type TestApp } from "../support/test-app.js";

const NOW = Date.parse("2026-11-25T12:00:00.000Z");

/** SciPy's answers for labelled pairs (scripts/scipy-compare-reference.py), computed apart from this code. */
const scipy = JSON.parse(
  readFileSync(new URL("../../src/core/compare/fixtures/scipy-reference.json", import.meta.url), "utf8"),
) as {
  classification: Array<{ pairs: LabelledPair[]; b: number; c: number; p_value: number }>;
  regression: Array<{ pairs: LabelledPair[]; statistic: number; p_value: number }>;
};

function relativeError(actual: number, expected: number): number {
  return Math.abs(actual - expected) / Math.abs(expected);
}

describe.each(dialects())("shadow validation over HTTP on %s", (dialect) => {
  let t: TestApp;
  let primaryId: number;
  let shadowId: number;
  beforeEach(async () => {
    t = await startTestApp(dialect, { now: NOW });
    const deploy = async (overrides: Record<string, unknown>) => {
      const res = await t.request({ method: "POST", url: "/v1/deployments", body: registration(overrides) });
      expect(res.statusCode).toBe(201);
      return (res.json() as { id: number }).id;
    };
    primaryId = await deploy({ model_version: "3.2.0", endpoint: "http://127.0.0.1:9001" });
    shadowId = await deploy({ model_version: "3.3.0", role: "shadow", endpoint: "http://127.0.0.1:9002" });
  });
  afterEach(async () => {
    await t.close();
  });

  function pairsFrom(labelled: LabelledPair[], prefix: string): ShadowPair[] {
    return labelled.map((p, i) => ({
      request_id: `${prefix}-${i}`,
      primary_id: primaryId,
      shadow_id: shadowId,
      at: NOW - 60_000 + i,
      primary_prediction: p.primary_prediction,
      shadow_prediction: p.shadow_prediction,
      primary_status: 200,
      shadow_status: 200,
      primary_latency_ms: 10 + (i % 7),
      shadow_latency_ms: 20 + (i % 11),
    }));
  }

  const feedback = (items: unknown[], token?: string) =>
    t.request({ method: "POST", url: "/v1/feedback", body: { items }, token });
  const view = (query = "") =>
    t.request({ method: "GET", url: `/v1/models/fraud-gbm/shadow${query}`, token: t.tokens.read });

  it("classification: the verdict's counts and p-value are McNemar's as SciPy computed them", async () => {
    const fixture = scipy.classification[1];
    if (!fixture) throw new Error("fixture missing");
    // Labels first for half the requests, pairs, then the other half's labels: order does not matter.
    const items = fixture.pairs.map((p, i) => ({ request_id: `c-${i}`, label: p.label }));
    const half = Math.floor(items.length / 2);
    expect((await feedback(items.slice(0, half))).json()).toEqual({ accepted: half });
    expect(await t.context.shadow.recordPairs(pairsFrom(fixture.pairs, "c"))).toEqual({
      recorded: fixture.pairs.length,
      ignored: 0,
    });
    expect((await feedback(items.slice(half))).statusCode).toBe(200);

    const res = await view("?environment=production");
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(body.primary).toEqual({ deployment_id: primaryId, model_version: "3.2.0" });
    expect(body.shadows).toHaveLength(1);
    const [shadow] = body.shadows;
    expect(shadow.deployment_id).toBe(shadowId);
    expect(shadow.pairs).toBe(fixture.pairs.length);
    expect(shadow.labelled).toBe(fixture.pairs.length);
    expect(shadow.verdict.primary_right_candidate_wrong).toBe(fixture.b);
    expect(shadow.verdict.primary_wrong_candidate_right).toBe(fixture.c);
    expect(relativeError(shadow.verdict.p_value, fixture.p_value)).toBeLessThanOrEqual(1e-10);
    expect(shadow.verdict.verdict).toBe(
      fixture.p_value < 0.05
        ? fixture.c > fixture.b
          ? "candidate_better"
          : "candidate_worse"
        : "inconclusive",
    );
    const agreeing = fixture.pairs.filter((p) => p.primary_prediction === p.shadow_prediction).length;
    expect(shadow.agreement_rate).toBeCloseTo(agreeing / fixture.pairs.length, 12);
    expect(shadow.primary_latency_ms.p50).toBeGreaterThanOrEqual(10);
    expect(shadow.shadow_latency_ms.p99).toBeLessThanOrEqual(30);
  });

  it("regression: the paired t-test on absolute errors gives SciPy's p-value, and numbers their mean differences", async () => {
    const fixture = scipy.regression[1];
    if (!fixture) throw new Error("fixture missing");
    await t.context.shadow.recordPairs(pairsFrom(fixture.pairs, "r"));
    const res = await feedback(fixture.pairs.map((p, i) => ({ request_id: `r-${i}`, label: p.label })));
    expect(res.statusCode).toBe(200);
    const [shadow] = (await view()).json().shadows;
    expect(shadow.verdict.kind).toBe("regression");
    expect(relativeError(shadow.verdict.p_value, fixture.p_value)).toBeLessThanOrEqual(1e-10);
    expect(relativeError(shadow.verdict.t_statistic, fixture.statistic)).toBeLessThanOrEqual(1e-10);
    expect(shadow.verdict.verdict).toBe("candidate_better");
    expect(shadow.mean_abs_difference).toBeGreaterThan(0);
    expect(shadow.agreement_rate).toBe(0);
  });

  it("a retried report changes nothing, pairs naming unknown deployments are ignored, a later label replaces the first", async () => {
    const pairs = pairsFrom([{ primary_prediction: "a", shadow_prediction: "b", label: "a" }], "x");
    expect(await t.context.shadow.recordPairs(pairs)).toEqual({ recorded: 1, ignored: 0 });
    expect(await t.context.shadow.recordPairs(pairs)).toEqual({ recorded: 0, ignored: 0 });
    expect(await t.context.shadow.recordPairs([{ ...(pairs[0] as ShadowPair), shadow_id: 9999 }])).toEqual({
      recorded: 0,
      ignored: 1,
    });
    await feedback([{ request_id: "x-0", label: "a" }]);
    await feedback([{ request_id: "x-0", label: "b" }]);
    const [shadow] = (await view()).json().shadows;
    expect(shadow.pairs).toBe(1);
    expect(shadow.verdict.primary_wrong_candidate_right).toBe(1);
    expect(shadow.verdict.verdict).toBe("inconclusive");
    expect(shadow.verdict.reason).toContain("fewer than the 30 required");
  });

  it("the traffic ingestion can record pairs inside its own transaction, and a rolled back one leaves none", async () => {
    const pairs = pairsFrom([{ primary_prediction: 1, shadow_prediction: 1, label: 1 }], "tx");
    await expect(
      t.context.stores.transaction(async (tx) => {
        expect(await t.context.shadow.recordPairs(pairs, tx)).toEqual({ recorded: 1, ignored: 0 });
        throw new Error("the report failed half-way");
      }),
    ).rejects.toThrow("half-way");
    expect((await view()).json().shadows[0].pairs).toBe(0);
    await t.context.stores.transaction((tx) => t.context.shadow.recordPairs(pairs, tx));
    expect((await view()).json().shadows[0].pairs).toBe(1);
  });

  it("feedback for requests never seen is accepted and meets its pair when the pair comes", async () => {
    expect((await feedback([{ request_id: "late-0", label: true }])).json()).toEqual({ accepted: 1 });
    expect((await view()).json().shadows[0].labelled).toBe(0);
    await t.context.shadow.recordPairs(
      pairsFrom([{ primary_prediction: true, shadow_prediction: false, label: true }], "late"),
    );
    expect((await view()).json().shadows[0].labelled).toBe(1);
  });

  it("bad feedback items are refused with 400, each one named", async () => {
    const res = await feedback([
      { request_id: "ok", label: "x" },
      { request_id: "", label: "x" },
      { request_id: "n", label: { nested: 1 } },
      { request_id: "m" },
    ]);
    expect(res.statusCode).toBe(400);
    expect(res.headers["content-type"]).toMatch(/^application\/problem\+json/);
    const fields = (res.json().errors as { field: string }[]).map((e) => e.field);
    expect(fields).toEqual(expect.arrayContaining(["items.1.request_id", "items.2.label", "items.3.label"]));
    expect((await feedback([])).statusCode).toBe(400);
    const tooMany = Array.from({ length: 10_001 }, (_, i) => ({ request_id: `r${i}`, label: 1 }));
    expect((await feedback(tooMany)).statusCode).toBe(400);
    expect(
      (
        await t.request({
          method: "POST",
          url: "/v1/feedback",
          body: { items: [{ request_id: "a", label: 1 }], extra: 1 },
        })
      ).statusCode,
    ).toBe(400);
  });

  it("feedback needs a write token; the view needs read", async () => {
    expect((await feedback([{ request_id: "a", label: 1 }], t.tokens.read)).statusCode).toBe(403);
    expect((await feedback([{ request_id: "a", label: 1 }], t.tokens.write)).statusCode).toBe(200);
    expect(
      (await t.request({ method: "GET", url: "/v1/models/fraud-gbm/shadow", token: null })).statusCode,
    ).toBe(401);
  });

  it("an unknown model is 404, an environment with no shadow an empty list, a bad environment 400", async () => {
    expect((await t.request({ method: "GET", url: "/v1/models/nope/shadow" })).statusCode).toBe(404);
    const staging = (await view("?environment=staging")).json();
    expect(staging).toMatchObject({ environment: "staging", primary: null, shadows: [] });
    expect((await view("?environment=Not%20A%20Slug")).statusCode).toBe(400);
  });

  it("pairs past the retention are not recorded, and pruning deletes old pairs and labels", async () => {
    const old = pairsFrom([{ primary_prediction: 1, shadow_prediction: 2, label: 1 }], "old").map((p) => ({
      ...p,
      at: NOW - 31 * 86_400_000,
    }));
    expect(await t.context.shadow.recordPairs(old)).toEqual({ recorded: 0, ignored: 1 });
    await t.context.shadow.recordPairs(
      pairsFrom([{ primary_prediction: 1, shadow_prediction: 2, label: 1 }], "new"),
    );
    await feedback([{ request_id: "new-0", label: 1 }]);
    t.setNow(NOW + 31 * 86_400_000);
    expect(await t.context.shadow.prune()).toEqual({ pairs: 1, feedback: 1 });
    expect((await view()).json().shadows[0].pairs).toBe(0);
  });
});
