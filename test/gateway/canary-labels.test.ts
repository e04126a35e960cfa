import { afterEach, describe, expect, it } from "vitest";
import type { CanaryAnalyzer } from "../../src/gateway/canary-analyzer.js";
import { type CanaryPrediction, LATENCY_BOUNDS_MS } from "../../src/gateway/traffic-report.js";
import type { TrafficWindows, WindowCounts } from "../../src/gateway/traffic-windows.js";
import { PREDICTION_RETENTION_MS } from "../../src/monitoring/canary-labels.js";
import { dialects } from "../support/databases.js";
import { registration, startTestApp, type TestApp } from "../support/test-app.js";

const T0 = Date.parse("2027-01-01T00:00:00Z");
const MINUTE = 60_000;

/** `requests` requests, none an error, every one answered in (10, 20] ms: both sides alike. */
function counts(requests: number): WindowCounts {
  const latency_buckets = new Array<number>(LATENCY_BOUNDS_MS.length + 1).fill(0);
  latency_buckets[4] = requests;
  return { requests, errors: 0, timeouts: 0, latency_buckets };
}

/** The same traffic for every deployment and window: error rate and latency never tell the sides apart. */
class EqualTraffic implements TrafficWindows {
  async window(ids: number[]): Promise<Map<number, WindowCounts>> {
    return new Map(ids.map((id) => [id, counts(1000)]));
  }
}

describe.each(dialects())("the canary's labels on %s", (dialect) => {
  let t: TestApp;
  let analyzer: CanaryAnalyzer;
  let now: number;

  afterEach(async () => {
    await t?.close();
  });

  async function start(): Promise<void> {
    now = T0;
    t = await startTestApp(dialect, { now });
    analyzer = t.context.canaryAnalyzer(new EqualTraffic());
  }

  async function deploy(body: Record<string, unknown>): Promise<number> {
    const response = await t.request({ method: "POST", url: "/v1/deployments", body: registration(body) });
    expect(response.statusCode, response.body).toBe(201);
    return response.json().id;
  }

  async function primaryAndCanary(canary: Record<string, unknown> = {}) {
    const primary = await deploy({ model: "fraud-gbm", model_version: "1.0.0" });
    const candidate = await deploy({
      model: "fraud-gbm",
      model_version: "2.0.0",
      role: "canary",
      canary: { weight: 10, failure_limit: 1, ...canary },
    });
    return { primary, canary: candidate };
  }

  /** `n` predictions of one side, `wrong` of them "legit" where the label will be "fraud". */
  function predictions(side: string, deploymentId: number, n: number, wrong: number): CanaryPrediction[] {
    return Array.from({ length: n }, (_, i) => ({
      request_id: `${side}-${i}`,
      deployment_id: deploymentId,
      at: T0 + 1000 + i,
      prediction: i < wrong ? "legit" : "fraud",
    }));
  }

  async function report(items: CanaryPrediction[], token?: string) {
    const response = await t.request({
      method: "POST",
      url: "/v1/traffic",
      token,
      body: { gateway: "gw-1", deployments: [], ghosts: [], pairs: [], predictions: items },
    });
    expect(response.statusCode, response.body).toBe(200);
    return response.json();
  }

  async function feedback(items: CanaryPrediction[]) {
    const response = await t.request({
      method: "POST",
      url: "/v1/feedback",
      body: { items: items.map((p) => ({ request_id: p.request_id, label: "fraud" })) },
    });
    expect(response.statusCode, response.body).toBe(200);
  }

  async function nextAnalysis() {
    now += MINUTE;
    t.setNow(now + 10_000);
    return analyzer.tick();
  }

  it("fails and rolls back a canary wrong more often on labelled requests, with error rate and latency equal", async () => {
    await start();
    const ids = await primaryAndCanary();
    const primarySide = predictions("p", ids.primary, 200, 10);
    const canarySide = predictions("c", ids.canary, 60, 30);
    expect(await report([...primarySide, ...canarySide])).toMatchObject({ predictions: 260 });
    // A retried report stores nothing twice.
    expect(await report(canarySide.slice(0, 5))).toMatchObject({ predictions: 0 });
    await feedback([...primarySide, ...canarySide]);

    expect(await nextAnalysis()).toEqual([
      { deployment_id: ids.canary, verdict: "fail", action: "rollback" },
    ]);
    const view = (await t.request({ method: "GET", url: "/v1/models/fraud-gbm/canary" })).json();
    expect(view.config.min_labels).toBe(30);
    const [analysis] = view.analyses;
    expect(analysis.figures.canary.error_rate).toBe(analysis.figures.primary.error_rate);
    expect(analysis.figures.labels).toMatchObject({
      counted: true,
      worse: true,
      kind: "classification",
      test: "fisher_exact",
      primary: { labelled: 200, errors: 10, error_rate: 0.05 },
      canary: { labelled: 60, errors: 30, error_rate: 0.5 },
      min_labels: 30,
    });
    expect(analysis.figures.labels.p_value).toBeLessThan(1e-10);
    expect(analysis.reasons).toEqual([
      expect.stringMatching(/error rate 50\.00% against the primary's 5\.00%/),
    ]);
    expect((await t.context.stores.deployments.findDeployment(ids.canary))?.status).toBe("rolled_back");
  });

  it("numbers: a canary whose absolute errors are significantly larger fails by Welch's t-test", async () => {
    await start();
    const ids = await primaryAndCanary();
    // Labels 100 + i; the primary is off by 0–2, the canary by 2–4.
    const side = (name: string, id: number, n: number, offset: number): CanaryPrediction[] =>
      Array.from({ length: n }, (_, i) => ({
        request_id: `${name}-${i}`,
        deployment_id: id,
        at: T0 + 1000 + i,
        prediction: 100 + i + offset + (i % 3),
      }));
    const primarySide = side("p", ids.primary, 90, 0);
    const canarySide = side("c", ids.canary, 40, 2);
    await report([...primarySide, ...canarySide]);
    const labels = [...primarySide, ...canarySide].map((p) => ({
      request_id: p.request_id,
      label: 100 + Number(p.request_id.split("-")[1]),
    }));
    const response = await t.request({ method: "POST", url: "/v1/feedback", body: { items: labels } });
    expect(response.statusCode, response.body).toBe(200);

    expect(await nextAnalysis()).toEqual([
      { deployment_id: ids.canary, verdict: "fail", action: "rollback" },
    ]);
    const view = (await t.request({ method: "GET", url: "/v1/models/fraud-gbm/canary" })).json();
    expect(view.analyses[0].figures.labels).toMatchObject({
      counted: true,
      worse: true,
      kind: "regression",
      test: "welch_t",
      primary: { labelled: 90, mean_abs_error: 1 },
      canary: { labelled: 40 },
    });
    expect(view.analyses[0].figures.labels.canary.mean_abs_error).toBeCloseTo(3, 1);
    expect(view.analyses[0].figures.labels.t_statistic).toBeLessThan(0);
  });

  it("too few labels on a side change nothing: the analysis passes on traffic, and says the labels did not count", async () => {
    await start();
    const ids = await primaryAndCanary({ min_labels: 50 });
    const primarySide = predictions("p", ids.primary, 200, 10);
    const canarySide = predictions("c", ids.canary, 60, 59);
    await report([...primarySide, ...canarySide]);
    // Labels for only 49 of the canary's requests: one short of min_labels.
    await feedback([...primarySide, ...canarySide.slice(0, 49)]);

    expect(await nextAnalysis()).toEqual([{ deployment_id: ids.canary, verdict: "pass", action: "hold" }]);
    const view = (await t.request({ method: "GET", url: "/v1/models/fraud-gbm/canary" })).json();
    expect(view.config.min_labels).toBe(50);
    expect(view.analyses[0].figures.labels).toMatchObject({
      counted: false,
      worse: false,
      p_value: null,
      canary: { labelled: 49, errors: 49 },
      min_labels: 50,
    });
    expect(view.analyses[0].figures.labels.reason).toMatch(
      /too few labels to count: 200 on the primary and 49/,
    );
    expect((await t.context.stores.deployments.findDeployment(ids.canary))?.status).toBe("active");
  });

  it("stores only predictions of live deployments the token's team owns, and prunes them after the retention", async () => {
    await start();
    const ids = await primaryAndCanary();
    const other = await deploy({ model: "churn", model_version: "1.0.0", owner_team: "growth" });
    const mixed = [
      ...predictions("p", ids.primary, 3, 0),
      ...predictions("x", 99_999, 2, 0),
      ...predictions("o", other, 2, 0),
    ];
    // The risk team's token: churn belongs to growth, 99999 to nobody.
    expect(await report(mixed, t.tokens.risk)).toMatchObject({ predictions: 3 });
    await feedback(mixed);
    const stores = t.context.stores;
    expect(await stores.canaryPredictions.labelledOf(ids.primary, T0, T0 + MINUTE, 10)).toHaveLength(3);
    expect(await stores.canaryPredictions.labelledOf(other, T0, T0 + MINUTE, 10)).toEqual([]);
    // Newest first, bounded, and only within [from, to).
    const newest = await stores.canaryPredictions.labelledOf(ids.primary, T0, T0 + 1002, 1);
    expect(newest).toEqual([{ request_id: "p-1", at: T0 + 1001, prediction: "fraud", label: "fraud" }]);

    // Past the retention for the first two (answered at T0 + 1000 and + 1001), not the third.
    t.setNow(T0 + PREDICTION_RETENTION_MS + 1002);
    expect(await t.context.canaryLabels.prune()).toBe(2);
    expect(await stores.canaryPredictions.labelledOf(ids.primary, 0, T0 + MINUTE, 10)).toHaveLength(1);
  });
});
