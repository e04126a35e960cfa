import type { Stores } from "../store/stores.js";

/** The metric reads that judge windows: what a model's performance and its decay curve read. */
export type MetricReads = Pick<Stores["metrics"], "windowAggregates" | "baselines">;

/**
 * The reads of `metrics`, each asked once: a read asked again with the same arguments (the same
 * deployments in the same order, metric, window and bounds) gets the first answer. The model
 * page reads its windows and baselines, then its decay curve reads them again when the leading
 * policy judges every deployment by the same metric and window: this makes that one query each.
 * The key is the arguments themselves, so reads that differ in anything are never shared. For
 * one request's reads only: what it keeps is not refreshed.
 */
export function sharedMetricReads(metrics: MetricReads): MetricReads {
  const windows = new Map<string, ReturnType<MetricReads["windowAggregates"]>>();
  const baselines = new Map<string, ReturnType<MetricReads["baselines"]>>();
  return {
    windowAggregates(...args) {
      return once(windows, args, () => metrics.windowAggregates(...args));
    },
    baselines(...args) {
      return once(baselines, args, () => metrics.baselines(...args));
    },
  };
}

function once<T>(answers: Map<string, T>, args: unknown[], read: () => T): T {
  const key = JSON.stringify(args);
  const answer = answers.get(key) ?? read();
  answers.set(key, answer);
  return answer;
}
