import type { FeatureRow, FeedbackItem, MetricPoint } from "./routes.js";

/*
 * The SDK checks what it records against the limits the API enforces, item by item, before it
 * queues it: one bad point refused at once costs one point, while found by the server it would
 * cost the whole batch it rode in. The patterns are the API's own; a test compares them with the
 * ones `/openapi.json` publishes.
 */

/** Metric names as the API takes them (`auc`, `precision@10`, `eval/f1`). */
export const METRIC_NAME = /^[A-Za-z0-9][A-Za-z0-9._:@/-]{0,127}$/;

/** Versions as the API takes them (`3.2.0`, `2027.spring`, `v12+build.7`). */
export const MODEL_VERSION = /^[A-Za-z0-9][A-Za-z0-9._+-]{0,127}$/;

const MAX_SAMPLE_SIZE = 1_000_000_000;
const MAX_FEATURES = 500;
const MAX_FEATURE_NAME = 128;
const MAX_TEXT = 1024;
const MAX_REQUEST_ID = 256;
const EARLIEST = Date.parse("0000-01-01T00:00:00.000Z");
const LATEST = Date.parse("9999-12-31T23:59:59.999Z");

/** When something happened, as the caller may give it: a Date, ms since the epoch, or ISO 8601 text. */
export type When = Date | number | string;

/** The point to queue, or the reason it cannot be. */
export function checkedPoint(
  name: string,
  value: number,
  options: { sample_size?: number; timestamp?: When },
  now: number,
): MetricPoint | string {
  if (typeof name !== "string" || !METRIC_NAME.test(name)) {
    return "a metric name is letters, digits and . _ : @ / -, at most 128 characters";
  }
  if (typeof value !== "number" || !Number.isFinite(value)) return `metric ${name}: the value must be finite`;
  const size = options.sample_size;
  if (size !== undefined && !(Number.isInteger(size) && size >= 1 && size <= MAX_SAMPLE_SIZE)) {
    return `metric ${name}: sample_size must be a whole number from 1 to ${MAX_SAMPLE_SIZE}`;
  }
  const at = instantOf(options.timestamp ?? now);
  if (at === null) return `metric ${name}: the timestamp is not a date`;
  return size === undefined
    ? { name, value, timestamp: at }
    : { name, value, timestamp: at, sample_size: size };
}

/** A copy of the row to queue (the caller may reuse its object), or the reason it cannot be. */
export function checkedRow(row: FeatureRow): FeatureRow | string {
  if (typeof row !== "object" || row === null || Array.isArray(row)) return "a feature row is an object";
  const copy: FeatureRow = {};
  let features = 0;
  for (const [name, value] of Object.entries(row)) {
    if (++features > MAX_FEATURES) return `a feature row holds at most ${MAX_FEATURES} features`;
    if (name.length < 1 || name.length > MAX_FEATURE_NAME) {
      return `feature names are 1 to ${MAX_FEATURE_NAME} characters`;
    }
    const fits =
      value === null ||
      typeof value === "boolean" ||
      (typeof value === "number" && Number.isFinite(value)) ||
      (typeof value === "string" && value.length <= MAX_TEXT);
    if (!fits)
      return `feature ${name}: a value is a finite number, a string of at most ${MAX_TEXT}, a boolean or null`;
    copy[name] = value;
  }
  return copy;
}

/** The feedback item to queue, or the reason it cannot be. */
export function checkedFeedback(requestId: string, label: FeedbackItem["label"]): FeedbackItem | string {
  if (typeof requestId !== "string" || requestId.length < 1 || requestId.length > MAX_REQUEST_ID) {
    return `a request id is 1 to ${MAX_REQUEST_ID} characters`;
  }
  const fits =
    typeof label === "boolean" ||
    (typeof label === "number" && Number.isFinite(label)) ||
    (typeof label === "string" && label.length >= 1 && label.length <= MAX_TEXT);
  if (!fits)
    return `feedback ${requestId}: a label is a string of 1 to ${MAX_TEXT}, a finite number or a boolean`;
  return { request_id: requestId, label };
}

/** ISO 8601 UTC with milliseconds, as the API writes times, or null for what is not a time. */
export function instantOf(when: When): string | null {
  const ms = when instanceof Date ? when.getTime() : typeof when === "number" ? when : Date.parse(when);
  // Years 0000 to 9999: past them toISOString writes six-digit years the API refuses, or throws.
  return Number.isFinite(ms) && ms >= EARLIEST && ms <= LATEST ? new Date(ms).toISOString() : null;
}
