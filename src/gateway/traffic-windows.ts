import type { LabelledOutcomes, WindowTraffic } from "../core/canary-analysis.js";

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

/** Where labelled outcomes come from, where ground truth exists (the shadow's feedback). */
export interface LabelWindows {
  outcomes(deploymentIds: number[], from: number, to: number): Promise<Map<number, LabelledOutcomes>>;
}
