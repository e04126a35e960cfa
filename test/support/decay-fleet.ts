import { DAY_MS } from "./seeding.js";
import { postOk, registration, type TestApp } from "./test-app.js";

/** A metric point as POST /v1/deployments/{id}/metrics takes it. */
export interface MetricPoint {
  name: string;
  value: number;
  timestamp: string;
  sample_size: number;
}

/**
 * One point a day at noon from `from`, for `days` days, of `level(day)` (day 0 is the first).
 * `skewDays` stamps every point that many days off (negative: before it was measured).
 */
export function dailyPoints(
  from: number,
  days: number,
  level: (day: number) => number,
  options: { metric?: string; sampleSize?: number; skewDays?: number } = {},
): MetricPoint[] {
  return Array.from({ length: days }, (_, day) => ({
    name: options.metric ?? "auc",
    value: level(day),
    timestamp: new Date(from + (day + (options.skewDays ?? 0)) * DAY_MS + DAY_MS / 2).toISOString(),
    sample_size: options.sampleSize ?? 500,
  }));
}

/** AUC that starts at 0.96 on a deployment's first day and loses 0.002 a day: it crosses 0.9 at ~30d. */
export const decayingAuc = (day: number): number => Number((0.96 - 0.002 * day).toFixed(4));

/** One version of a model: it goes live on `day` (superseding the one before) and reports `days` daily points. */
export interface VersionSpan {
  version: string;
  day: number;
  days: number;
  /** Its registered baseline for the metric. */
  baseline?: number;
}

/**
 * Registers a model's versions one after the other, each at its day after `t0` on the app's clock,
 * and posts each one's daily points at the end of its span (where the clock is left). Their ids,
 * in order.
 */
export async function seedVersions(
  t: TestApp,
  options: {
    model: string;
    metric: string;
    t0: number;
    versions: VersionSpan[];
    /** The metric on a version's day `day` (0 is its first). */
    level: (day: number) => number;
    sampleSize?: number;
    skewDays?: number;
    /** Fields every registration has besides the model, version and baseline (a data cutoff, a team). */
    registration?: Record<string, unknown>;
  },
): Promise<number[]> {
  const ids: number[] = [];
  for (const span of options.versions) {
    const from = options.t0 + span.day * DAY_MS;
    t.setNow(from);
    const body = registration({
      ...options.registration,
      model: options.model,
      model_version: span.version,
      ...(span.baseline === undefined ? {} : { baseline_metrics: { [options.metric]: span.baseline } }),
    });
    const id = (await postOk(t, "/v1/deployments", body)).id as number;
    ids.push(id);
    const points = dailyPoints(from, span.days, options.level, {
      metric: options.metric,
      sampleSize: options.sampleSize,
      skewDays: options.skewDays,
    });
    t.setNow(from + span.days * DAY_MS);
    await postOk(t, `/v1/deployments/${id}/metrics`, { points });
  }
  return ids;
}

/**
 * Every model under it learns its TTL within 14d..180d, 60d as its fallback, judging AUC against
 * a target of 0.9 with a day's windows.
 */
export const LEARNED_TTL_POLICIES = `
policies:
  - name: learned
    match: { model: "*" }
    max_age: { auto: { min: 14d, max: 180d, fallback: 60d } }
    performance: { metric: auc, target: 0.9, window: 1d, min_samples: 100 }
`;

/**
 * The fleet learned TTLs are judged on, all losing AUC alike (`decayingAuc`): fraud-gbm 3.1.0
 * served 30 days from `t0`, 3.2.0 the 20 since (50 judged windows across 2 deployments, enough
 * for a curve); churn-xgb 1.0.0 of team growth went live on day 41 (9 judged windows, too few).
 * The app's clock is left on day 50.
 */
export async function seedLearnedTtlFleet(
  t: TestApp,
  t0: number,
): Promise<{ first: number; second: number; churn: number }> {
  const fleet = { metric: "auc", t0, level: decayingAuc };
  const [first, second] = await seedVersions(t, {
    ...fleet,
    model: "fraud-gbm",
    versions: [
      { version: "3.1.0", day: 0, days: 30 },
      { version: "3.2.0", day: 30, days: 20 },
    ],
  });
  const [churn] = await seedVersions(t, {
    ...fleet,
    model: "churn-xgb",
    versions: [{ version: "1.0.0", day: 41, days: 9 }],
    registration: { owner_team: "growth" },
  });
  return { first: first as number, second: second as number, churn: churn as number };
}
