import type { WindowTraffic } from "../core/canary-analysis.js";
import type { LabelledPrediction } from "../core/compare/unpaired-comparison.js";

/** One deployment's traffic over a window, as the traffic store sums the gateways' reports. */
export interface WindowCounts extends WindowTraffic {
  timeouts: number;
  latency_buckets: number[];
}

/**
 * Where canary analysis and the guardrail read traffic: per deployment, the requests, errors,
 * timeouts and latency histogram (buckets as in traffic-report.ts's LATENCY_BOUNDS_MS) over
 * [from, to), epoch ms. A deployment with no traffic may be left out of the map.
 */
export interface TrafficWindows {
  window(deploymentIds: number[], from: number, to: number): Promise<Map<number, WindowCounts>>;
}

/**
 * Where labelled predictions come from: per deployment, what it predicted for requests it
 * answered in [from, to) whose ground truth has arrived (`POST /v1/feedback`), newest first
 * and bounded. A deployment with none may be left out of the map.
 */
export interface LabelWindows {
  labelled(deploymentIds: number[], from: number, to: number): Promise<Map<number, LabelledPrediction[]>>;
}
