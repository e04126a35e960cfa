import { z } from "zod";

/**
 * What a gateway sends the registry every few seconds (`POST /v1/traffic`, or straight to the
 * store when it opened the database itself): per deployment, its requests, errors and latency
 * over a window; the requests for models the registry does not know (ghosts); the shadow
 * pairs answered since the last report; and, for models with a canary, each side's predictions.
 * One wire format for both paths.
 */

/**
 * Upper bounds (ms) of the latency histogram's buckets, Prometheus-style: a count per bucket of
 * requests at most that slow, plus one overflow bucket (`latency_buckets` has one more entry).
 */
export const LATENCY_BOUNDS_MS = [
  1, 2, 5, 10, 20, 50, 100, 200, 300, 500, 750, 1000, 2000, 5000, 10000, 30000,
] as const;

const epochMs = () => z.number().int().min(0).max(8_640_000_000_000_000);
const count = () => z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);

export const DeploymentTraffic = z.strictObject({
  deployment_id: z.number().int().min(1),
  /** The window the counts cover, epoch ms: [window_start, window_end). */
  window_start: epochMs(),
  window_end: epochMs(),
  requests: count(),
  /** 5xx answers and failed connections, timeouts included. */
  errors: count(),
  timeouts: count(),
  latency_buckets: z.array(count()).length(LATENCY_BOUNDS_MS.length + 1),
  latency_sum_ms: z.number().min(0),
  /** The version the upstream last stated when it differed from the registry's; else absent. */
  mismatched_version: z.string().max(128).optional(),
  /** Requests a shadow did not see because their body was over `--shadow-max-body`. */
  shadow_skipped_oversize: count().optional(),
});
export type DeploymentTraffic = z.infer<typeof DeploymentTraffic>;

export const GhostTraffic = z.strictObject({
  model: z.string().min(1).max(128),
  environment: z.string().min(1).max(128),
  requests: count(),
  first_seen: epochMs(),
  last_seen: epochMs(),
});
export type GhostTraffic = z.infer<typeof GhostTraffic>;

/** One request answered by a primary (or canary) and by a shadow, paired by request id. */
export const ShadowPair = z.strictObject({
  request_id: z.string().min(1).max(256),
  /** Who answered the user. */
  primary_id: z.number().int().min(1),
  /** The shadow that saw a copy. */
  shadow_id: z.number().int().min(1),
  at: epochMs(),
  /** Each side's prediction read by the JSON pointer; null when absent or unreadable. */
  primary_prediction: z.union([z.string().max(1024), z.number(), z.boolean(), z.null()]),
  shadow_prediction: z.union([z.string().max(1024), z.number(), z.boolean(), z.null()]),
  primary_status: z.number().int(),
  shadow_status: z.number().int(),
  primary_latency_ms: z.number().min(0),
  shadow_latency_ms: z.number().min(0),
});
export type ShadowPair = z.infer<typeof ShadowPair>;

/**
 * One request of a model with a canary, answered by its primary or by the canary (each request
 * goes to one side only): what the answer predicted, so a label that arrives later for the
 * request id scores that side.
 */
export const CanaryPrediction = z.strictObject({
  request_id: z.string().min(1).max(256),
  /** The deployment that answered the user: the primary or the canary. */
  deployment_id: z.number().int().min(1),
  at: epochMs(),
  /** The prediction read by the JSON pointer (`/prediction`); null when absent or unreadable. */
  prediction: z.union([z.string().max(1024), z.number(), z.boolean(), z.null()]),
});
export type CanaryPrediction = z.infer<typeof CanaryPrediction>;

export const TrafficReport = z.strictObject({
  /** Which gateway sent it (host:port or a name), for logs and the ghosts' sources. */
  gateway: z.string().min(1).max(256),
  deployments: z.array(DeploymentTraffic).max(100_000).default([]),
  ghosts: z.array(GhostTraffic).max(10_000).default([]),
  pairs: z.array(ShadowPair).max(100_000).default([]),
  predictions: z.array(CanaryPrediction).max(100_000).default([]),
});
export type TrafficReport = z.infer<typeof TrafficReport>;
