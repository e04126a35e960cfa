import { resolvePointer } from "./json-pointer.js";
import type { ShadowPair } from "./traffic-report.js";

/** A prediction as the gateway reports it: a class (string, boolean), a number, or none. */
export type ReportedPrediction = ShadowPair["primary_prediction"];

/** The longest string prediction a report carries (its schema's limit); a longer one is unreadable. */
const MAX_PREDICTION_CHARS = 1024;

/**
 * The value at the pointer (parsed with parsePointer) in a JSON answer, when it is a string, a
 * finite number or a boolean; else null. The shadow's pairs and the canary's predictions both
 * read answers this way, so a label scores both alike.
 */
export function readPrediction(body: Buffer | null, pointer: readonly string[]): ReportedPrediction {
  if (body === null || body.length === 0) return null;
  let document: unknown;
  try {
    document = JSON.parse(body.toString("utf8"));
  } catch {
    return null;
  }
  const value = resolvePointer(document, pointer);
  if (typeof value === "string") return value.length <= MAX_PREDICTION_CHARS ? value : null;
  if (typeof value === "number") return Number.isFinite(value) ? value : null;
  if (typeof value === "boolean") return value;
  return null;
}
