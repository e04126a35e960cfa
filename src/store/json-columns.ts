import { z } from "zod";

/**
 * The JSON the text columns hold, as read back: a row written by hand, by another version of
 * Tenure or half-way through a failure is refused here, naming its column, rather than passed on
 * as whatever it happens to be.
 */
export const JsonColumns = {
  /** deployments.tags: string tags. */
  tags: z.record(z.string(), z.string()),
  /** deployment_events.data: what the event needs to be understood on its own. */
  event_data: z.record(z.string(), z.unknown()),
  /** alerts.detail: the finding's detail. */
  alert_detail: z.record(z.string(), z.unknown()),
  /** sweeps.stages and sweeps.findings: counts by stage or by finding kind. */
  sweep_counts: z.record(z.string(), z.number()),
  /** drift_references.summary and drift_samples.summary of a numeric feature: its reservoir. */
  numeric_summary: z.array(z.number()),
  /** The same of a categorical feature: counts by category. */
  categorical_summary: z.record(z.string(), z.number()),
  /**
   * deployments.forecast: the crossing the last sweep forecast (absolute times, epoch ms), or
   * why it forecast none; `computed_at` last (see the sweep's forecastColumn).
   */
  forecast: z.union([
    z.strictObject({
      metric: z.string(),
      breach_at: z.number(),
      low_at: z.number(),
      high_at: z.number().nullable(),
      slope_per_day: z.number(),
      based_on_deployments: z.number().int().nonnegative(),
      based_on_windows: z.number().int().nonnegative(),
      computed_at: z.number(),
    }),
    z.strictObject({ reason: z.string(), computed_at: z.number() }),
  ]),
} as const;

/** Parses a JSON column with its schema; a value that does not fit is an error that names the column. */
export function parseJsonColumn<K extends keyof typeof JsonColumns>(
  column: K,
  text: string,
): z.infer<(typeof JsonColumns)[K]> {
  const schema: z.ZodType<unknown> = JsonColumns[column];
  return parseStoredJson(column, schema, text) as z.infer<(typeof JsonColumns)[K]>;
}

/**
 * The same for a column whose schema belongs to the domain that writes it (the outbox's
 * notification to alerts/, a stored idempotent response to registry/): the store cannot
 * import them without a loop between folders.
 */
export function parseStoredJson<T>(column: string, schema: z.ZodType<T>, text: string): T {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new Error(`the stored ${column} is not JSON`);
  }
  const parsed = schema.safeParse(value);
  if (!parsed.success) {
    throw new Error(`the stored ${column} does not hold what it should: ${z.prettifyError(parsed.error)}`);
  }
  return parsed.data;
}

/**
 * A deployment's tags; most deployments have none, and `{}` needs no parse. Every sweep reads
 * the tags of every live deployment, so the schema's check is written out here (an object of
 * strings) and zod, several times slower, only words the refusal (see BENCHMARKS.md, session 10).
 */
export function parseTags(text: string): Record<string, string> {
  if (text === "{}") return {};
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    value = undefined;
  }
  return isStringRecord(value) ? value : parseJsonColumn("tags", text);
}

function isStringRecord(value: unknown): value is Record<string, string> {
  if (value === null || typeof value !== "object" || Array.isArray(value)) return false;
  for (const key in value) {
    // zod's record leaves a `__proto__` key out: such a row goes the schema's way.
    if (key === "__proto__" || typeof (value as Record<string, unknown>)[key] !== "string") return false;
  }
  return true;
}

/** What deployments.forecast holds, as read back. */
export type ForecastColumn = z.infer<typeof JsonColumns.forecast>;

/**
 * A deployment's stored forecast, or why it cannot be read: a value that does not fit is not the
 * view's failure, and the next sweep that forecasts the deployment writes it again. Every view of
 * a deployment reads it (lists, and the fleet rows behind each /metrics scrape), so, as for the
 * tags, the schema's check is written out here and zod only words the refusal (see BENCHMARKS.md,
 * "Batched writes of a sweep's verdicts").
 */
export function readForecast(text: string): ForecastColumn | { unreadable: string } {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    value = undefined;
  }
  if (isForecastColumn(value)) return value;
  try {
    return parseJsonColumn("forecast", text);
  } catch (error) {
    return { unreadable: (error as Error).message.replace(/\s*\n\s*/g, "; ") };
  }
}

/**
 * JsonColumns.forecast, written out: exactly the keys of one of its two objects, finite numbers
 * (JSON.parse reads `1e400` as Infinity, which zod refuses) and safe non-negative integer counts.
 * Anything it does not take goes the schema's way, so it never takes what the schema refuses.
 */
function isForecastColumn(value: unknown): value is ForecastColumn {
  if (value === null || typeof value !== "object" || Array.isArray(value)) return false;
  const v = value as Record<string, unknown>;
  const keys = Object.keys(v).length;
  if (keys === 2) return typeof v.reason === "string" && Number.isFinite(v.computed_at);
  return (
    keys === 8 &&
    typeof v.metric === "string" &&
    Number.isFinite(v.breach_at) &&
    Number.isFinite(v.low_at) &&
    (v.high_at === null || Number.isFinite(v.high_at)) &&
    Number.isFinite(v.slope_per_day) &&
    isCount(v.based_on_deployments) &&
    isCount(v.based_on_windows) &&
    Number.isFinite(v.computed_at)
  );
}

const isCount = (value: unknown) => Number.isSafeInteger(value) && (value as number) >= 0;
