import { LATENCY_BOUNDS_MS } from "../../src/gateway/traffic-report.js";
import type { TrafficWindows, WindowCounts } from "../../src/gateway/traffic-windows.js";

/** `requests` requests, `errors` of them errors, every one answered in (10, 20] ms. */
export function counts(requests: number, errors: number): WindowCounts {
  const latency_buckets = new Array<number>(LATENCY_BOUNDS_MS.length + 1).fill(0);
  latency_buckets[4] = requests;
  return { requests, errors, timeouts: 0, latency_buckets };
}

/**
 * The gateways' traffic as the test sets it per deployment, the same for every window: what the
 * canary analyzer and the guardrail read in place of the traffic store.
 */
export class FixedTraffic implements TrafficWindows {
  readonly figures = new Map<number, WindowCounts>();
  async window(ids: number[]): Promise<Map<number, WindowCounts>> {
    return new Map(
      ids.flatMap((id) => (this.figures.has(id) ? [[id, this.figures.get(id) as WindowCounts]] : [])),
    );
  }
}
