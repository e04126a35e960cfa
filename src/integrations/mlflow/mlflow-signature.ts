import { createHmac, timingSafeEqual } from "node:crypto";

/**
 * MLflow's webhook signature (MLflow 3.3+, mlflow/webhooks/delivery.py), which follows Standard
 * Webhooks: `X-MLflow-Signature: v1,` then the base64 HMAC-SHA256, keyed by the webhook's
 * secret, of `{X-MLflow-Delivery-Id}.{X-MLflow-Timestamp}.{body}`, the body's bytes as sent.
 */
export const MLFLOW_SIGNATURE_HEADERS = {
  signature: "x-mlflow-signature",
  deliveryId: "x-mlflow-delivery-id",
  timestamp: "x-mlflow-timestamp",
} as const;

/** MLflow's reference receiver refuses a delivery more than 5 minutes old. */
export const DEFAULT_MLFLOW_TOLERANCE_MS = 5 * 60_000;

const VERSION = "v1";

/** The signature MLflow sends with a delivery: what a test (or another sender) signs with. */
export function signMlflowDelivery(
  secret: string,
  deliveryId: string,
  timestamp: string,
  body: Buffer | string,
): string {
  return `${VERSION},${digestOf(secret, deliveryId, timestamp, body).toString("base64")}`;
}

export type MlflowVerification =
  | { ok: true; delivery_id: string /** Epoch ms of the signed timestamp. */; signed_at: number }
  | { ok: false; reason: string };

/**
 * Checks a delivery as MLflow's reference receiver does: the signature over the raw body,
 * compared in constant time, then the signed timestamp against the tolerance. Unlike that
 * example, which refuses any timestamp ahead of the receiver's clock, a timestamp may be ahead
 * by the tolerance too (as Standard Webhooks allows): two hosts' clocks never agree exactly.
 */
export function verifyMlflowDelivery(input: {
  secret: string;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
  now: number;
  toleranceMs?: number;
}): MlflowVerification {
  const tolerance = input.toleranceMs ?? DEFAULT_MLFLOW_TOLERANCE_MS;
  const signature = single(input.headers, MLFLOW_SIGNATURE_HEADERS.signature);
  const deliveryId = single(input.headers, MLFLOW_SIGNATURE_HEADERS.deliveryId);
  const timestamp = single(input.headers, MLFLOW_SIGNATURE_HEADERS.timestamp);
  if (signature === undefined) {
    return {
      ok: false,
      reason:
        "the delivery has no X-MLflow-Signature: give the MLflow webhook the secret this server was started with",
    };
  }
  if (deliveryId === undefined || deliveryId === "") {
    return { ok: false, reason: "the delivery has no X-MLflow-Delivery-Id, which its signature covers" };
  }
  if (timestamp === undefined || !/^\d{1,12}$/.test(timestamp)) {
    return { ok: false, reason: "the delivery's X-MLflow-Timestamp is missing or not Unix seconds" };
  }
  const expected = digestOf(input.secret, deliveryId, timestamp, input.body);
  // Several signatures, space-separated, are how Standard Webhooks rotates a secret: one must match.
  const matches = signature
    .split(" ")
    .some((candidate) => candidate.startsWith(`${VERSION},`) && sameBytes(candidate.slice(3), expected));
  if (!matches) {
    return {
      ok: false,
      reason: "the X-MLflow-Signature does not match the body: a different secret, or a changed body",
    };
  }
  const signedAt = Number(timestamp) * 1000;
  const skew = input.now - signedAt;
  if (Math.abs(skew) > tolerance) {
    const seconds = Math.round(Math.abs(skew) / 1000);
    return {
      ok: false,
      reason:
        `the delivery was signed ${seconds} s ${skew > 0 ? "ago" : "ahead of this server's clock"}; ` +
        `deliveries more than ${tolerance / 1000} s away are refused (a replay, or clocks apart)`,
    };
  }
  return { ok: true, delivery_id: deliveryId, signed_at: signedAt };
}

function digestOf(secret: string, deliveryId: string, timestamp: string, body: Buffer | string): Buffer {
  return createHmac("sha256", secret).update(`${deliveryId}.${timestamp}.`).update(body).digest();
}

/** Constant time for a signature of the right length; a wrong length tells nothing secret. */
function sameBytes(base64: string, expected: Buffer): boolean {
  const given = Buffer.from(base64, "base64");
  return given.length === expected.length && timingSafeEqual(given, expected);
}

/** A header sent once; sent several times, it is refused as absent. */
function single(headers: Record<string, string | string[] | undefined>, name: string): string | undefined {
  const value = headers[name];
  return typeof value === "string" ? value : undefined;
}
