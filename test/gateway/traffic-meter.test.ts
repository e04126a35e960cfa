import { afterEach, describe, expect, it } from "vitest";
import type { Exchange } from "../../src/gateway/exchange.js";
import {
  bucketOf,
  RejectedReportError,
  TrafficMeter,
  type TrafficSink,
} from "../../src/gateway/traffic-meter.js";
import { LATENCY_BOUNDS_MS, type ShadowPair, TrafficReport } from "../../src/gateway/traffic-report.js";
import { answered, modelRoutes, routeTarget } from "../support/exchanges.js";

const target = (id: number, version = "3.2.0") => routeTarget(id, version);
const routes = modelRoutes;
const exchange = (changes: Partial<Exchange> = {}) => answered(changes.target ?? target(1), changes);

const pair = (i: number): ShadowPair => ({
  request_id: `r${i}`,
  primary_id: 1,
  shadow_id: 2,
  at: 1000,
  primary_prediction: 1,
  shadow_prediction: 0,
  primary_status: 200,
  shadow_status: 200,
  primary_latency_ms: 5,
  shadow_latency_ms: 6,
});

/** A sink that keeps what it was sent, failing while `failing` is set. */
class RecordingSink implements TrafficSink {
  reports: TrafficReport[] = [];
  failing: Error | undefined;
  async send(report: TrafficReport): Promise<void> {
    if (this.failing) throw this.failing;
    // Every report the meter makes must pass the registry's schema.
    this.reports.push(TrafficReport.parse(report));
  }
}

const meters: TrafficMeter[] = [];
function meter(
  sink: TrafficSink,
  options: { maxGhosts?: number; maxPairs?: number; now?: () => number } = {},
) {
  const logs: { level: string; details: object; message: string }[] = [];
  const m = new TrafficMeter({
    sink,
    gateway: "gw-1",
    environment: "production",
    // A test flushes by hand: the timer never fires within it.
    flushIntervalMs: 3_600_000,
    maxGhosts: options.maxGhosts,
    maxPairs: options.maxPairs,
    clock: options.now ?? (() => 5000),
    logger: {
      warn: (details, message) => logs.push({ level: "warn", details, message }),
      error: (details, message) => logs.push({ level: "error", details, message }),
    },
  });
  meters.push(m);
  return { meter: m, logs };
}

afterEach(async () => {
  for (const m of meters.splice(0)) await m.close().catch(() => {});
});

describe("TrafficMeter", () => {
  it("counts requests, errors and timeouts per deployment, with a latency histogram and sum", async () => {
    const sink = new RecordingSink();
    const { meter: m } = meter(sink);
    m.answered(exchange({ latency_ms: 0.5 }), routes());
    m.answered(exchange({ latency_ms: 7, outcome: "error", status: 502 }), routes());
    m.answered(exchange({ latency_ms: 31_000, outcome: "timeout", status: 504 }), routes());
    m.answered(exchange({ target: target(2), latency_ms: 100 }), routes());
    await m.flush();
    expect(sink.reports).toHaveLength(1);
    const [report] = sink.reports;
    expect(report?.gateway).toBe("gw-1");
    const one = report?.deployments.find((d) => d.deployment_id === 1);
    expect(one).toMatchObject({ requests: 3, errors: 2, timeouts: 1, latency_sum_ms: 31_007.5 });
    const buckets = new Array(LATENCY_BOUNDS_MS.length + 1).fill(0);
    buckets[0] = 1; // 0.5 ms ≤ 1
    buckets[3] = 1; // 7 ms ≤ 10
    buckets[LATENCY_BOUNDS_MS.length] = 1; // over 30 s
    expect(one?.latency_buckets).toEqual(buckets);
    expect(report?.deployments.find((d) => d.deployment_id === 2)).toMatchObject({ requests: 1, errors: 0 });
  });

  it("puts a latency on a bound into that bound's bucket, as Prometheus's `le` does", () => {
    expect(bucketOf(1)).toBe(0);
    expect(bucketOf(1.0001)).toBe(1);
    expect(bucketOf(30_000)).toBe(LATENCY_BOUNDS_MS.length - 1);
    expect(bucketOf(30_001)).toBe(LATENCY_BOUNDS_MS.length);
  });

  it("reports the version an upstream stated when it is not the registry's, and nothing when it is", async () => {
    const sink = new RecordingSink();
    const { meter: m } = meter(sink);
    m.answered(exchange({ upstream_version: "3.2.0" }), routes());
    m.answered(exchange({ target: target(2), upstream_version: "3.1.9" }), routes());
    await m.flush();
    const [report] = sink.reports;
    expect(report?.deployments.find((d) => d.deployment_id === 1)?.mismatched_version).toBeUndefined();
    expect(report?.deployments.find((d) => d.deployment_id === 2)?.mismatched_version).toBe("3.1.9");
  });

  it("counts the requests a shadow missed for their size, only when the model has a shadow", async () => {
    const sink = new RecordingSink();
    const { meter: m } = meter(sink);
    m.answered(exchange({ request_body_oversize: true }), routes([target(9)]));
    m.answered(exchange({ request_body_oversize: true }), routes());
    await m.flush();
    expect(sink.reports[0]?.deployments[0]?.shadow_skipped_oversize).toBe(1);
  });

  it("swaps its counters at each report: the next report counts only what came after", async () => {
    const sink = new RecordingSink();
    let now = 5000;
    const { meter: m } = meter(sink, { now: () => now });
    m.answered(exchange(), routes());
    await m.flush();
    now = 10_000;
    m.answered(exchange(), routes());
    m.answered(exchange(), routes());
    await m.flush();
    // Nothing counted: nothing sent.
    await m.flush();
    expect(sink.reports.map((r) => r.deployments[0]?.requests)).toEqual([1, 2]);
    expect(sink.reports[1]?.deployments[0]).toMatchObject({ window_start: 5000, window_end: 10_000 });
  });

  it("keeps the counts of a report it could not send and sends them merged into the next", async () => {
    const sink = new RecordingSink();
    let now = 5000;
    const { meter: m, logs } = meter(sink, { now: () => now });
    sink.failing = new Error("registry away");
    m.answered(exchange({ upstream_version: "3.1.9" }), routes());
    m.ghost("nobody-knows", 4000);
    m.addPairs([pair(1)]);
    await m.flush();
    expect(logs).toMatchObject([{ level: "warn", message: expect.stringMatching(/could not be sent/) }]);
    now = 10_000;
    sink.failing = undefined;
    m.answered(exchange({ outcome: "error", status: 500 }), routes());
    m.ghost("nobody-knows", 9000);
    await m.flush();
    expect(sink.reports).toHaveLength(1);
    const [report] = sink.reports;
    expect(report?.deployments).toMatchObject([
      { deployment_id: 1, requests: 2, errors: 1, window_start: expect.any(Number), window_end: 10_000 },
    ]);
    expect(report?.deployments[0]?.mismatched_version).toBe("3.1.9");
    expect(report?.ghosts).toEqual([
      { model: "nobody-knows", environment: "production", requests: 2, first_seen: 4000, last_seen: 9000 },
    ]);
    expect(report?.pairs.map((p) => p.request_id)).toEqual(["r1"]);
  });

  it("holds no more while the registry is away than one report's worth per deployment", async () => {
    const sink = new RecordingSink();
    const { meter: m } = meter(sink, { maxGhosts: 10, maxPairs: 50 });
    sink.failing = new Error("registry away");
    for (let round = 0; round < 100; round++) {
      for (let i = 0; i < 20; i++) m.answered(exchange({ target: target(1 + (i % 3)) }), routes());
      for (let i = 0; i < 30; i++) m.ghost(`ghost-${round}-${i}`, 1000);
      m.addPairs([pair(round), pair(round + 1000)]);
      await m.flush();
    }
    sink.failing = undefined;
    await m.flush();
    const [report] = sink.reports;
    expect(report?.deployments).toHaveLength(3);
    expect(report?.deployments.reduce((n, d) => n + d.requests, 0)).toBe(2000);
    expect(report?.ghosts).toHaveLength(10);
    expect(report?.pairs).toHaveLength(50);
    // The newest pairs are kept.
    expect(report?.pairs.at(-1)?.request_id).toBe("r1099");
  });

  it("holds at most maxGhosts distinct names between reports, counts the rest as dropped and says so", async () => {
    const sink = new RecordingSink();
    const { meter: m, logs } = meter(sink, { maxGhosts: 2 });
    m.ghost("a", 1000);
    m.ghost("b", 1000);
    m.ghost("c", 1000);
    m.ghost("a", 2000);
    m.ghost("x".repeat(129), 1000);
    m.ghost("bad\nname", 1000);
    await m.flush();
    expect(sink.reports[0]?.ghosts.map((g) => [g.model, g.requests])).toEqual([
      ["a", 2],
      ["b", 1],
    ]);
    expect(logs).toMatchObject([{ level: "warn", details: { dropped_ghost_requests: 3 } }]);
  });

  it("drops a report the registry refused as invalid instead of sending it forever", async () => {
    const sink = new RecordingSink();
    const { meter: m, logs } = meter(sink);
    sink.failing = new RejectedReportError("400: not valid");
    m.answered(exchange(), routes());
    await m.flush();
    sink.failing = undefined;
    m.answered(exchange(), routes());
    await m.flush();
    expect(sink.reports.map((r) => r.deployments[0]?.requests)).toEqual([1]);
    expect(logs).toMatchObject([{ level: "error", message: expect.stringMatching(/refused/) }]);
  });

  it("sends shadow pairs added by another observer, a bounded number a report", async () => {
    const sink = new RecordingSink();
    const m = new TrafficMeter({
      sink,
      gateway: "gw-1",
      environment: "production",
      flushIntervalMs: 3_600_000,
      maxPairsPerReport: 3,
    });
    meters.push(m);
    m.addPairs([1, 2, 3, 4, 5].map(pair));
    await m.flush();
    await m.flush();
    expect(sink.reports.map((r) => r.pairs.map((p) => p.request_id))).toEqual([
      ["r1", "r2", "r3"],
      ["r4", "r5"],
    ]);
  });

  it("sends what is left when it closes, and nothing after", async () => {
    const sink = new RecordingSink();
    const { meter: m } = meter(sink);
    m.answered(exchange(), routes());
    await m.close();
    expect(sink.reports).toHaveLength(1);
    await m.close();
    expect(sink.reports).toHaveLength(1);
  });

  it("sends on its own timer, without being asked", async () => {
    const sink = new RecordingSink();
    const m = new TrafficMeter({ sink, gateway: "gw-1", environment: "production", flushIntervalMs: 20 });
    meters.push(m);
    m.answered(exchange(), routes());
    for (let i = 0; i < 200 && sink.reports.length === 0; i++) await new Promise((r) => setTimeout(r, 10));
    expect(sink.reports[0]?.deployments[0]?.requests).toBe(1);
  });

  it("answers a request without waiting for a report being sent", async () => {
    const sent: TrafficReport[] = [];
    let release: () => void = () => {};
    const held = new Promise<void>((r) => {
      release = r;
    });
    const slow: TrafficSink = {
      send: async (report) => {
        sent.push(report);
        if (sent.length === 1) await held;
      },
    };
    const { meter: m } = meter(slow);
    m.answered(exchange(), routes());
    const sending = m.flush();
    // Counting goes on while the report is under way, and is sent with the next one.
    m.answered(exchange(), routes());
    m.answered(exchange(), routes());
    release();
    await sending;
    await m.flush();
    expect(sent.map((r) => r.deployments[0]?.requests)).toEqual([1, 2]);
  });
});
