import { createHmac, randomUUID } from "node:crypto";

/**
 * Deliveries as MLflow 3.3+ sends them (mlflow/webhooks/delivery.py): the envelope
 * `{entity, action, timestamp, data}` serialized by Python's `json.dumps` (", " and ": " between
 * items, non-ASCII escaped), a uuid4 delivery id, Unix seconds, and the signature computed here
 * independently of the code under test: `v1,` + base64 HMAC-SHA256 of `{id}.{timestamp}.{body}`.
 */
export interface MlflowDelivery {
  body: string;
  headers: Record<string, string>;
  delivery_id: string;
  /** The envelope's `timestamp`, as Python's `datetime.now(timezone.utc).isoformat()` writes it. */
  sent_at: string;
}

export function mlflowDelivery(options: {
  secret: string;
  event: string;
  data: Record<string, unknown>;
  /** Epoch ms at which MLflow sends it. */
  at: number;
  /** Sub-millisecond digits of the envelope's time (Python keeps microseconds). */
  micros?: number;
  deliveryId?: string;
}): MlflowDelivery {
  const [entity, action] = options.event.split(".");
  const sentAt = pythonIsoformat(options.at, options.micros ?? 417);
  const body = pythonJsonDumps({ entity, action, timestamp: sentAt, data: options.data });
  const deliveryId = options.deliveryId ?? randomUUID();
  const timestamp = String(Math.floor(options.at / 1000));
  const signature = createHmac("sha256", options.secret)
    .update(`${deliveryId}.${timestamp}.${body}`, "utf8")
    .digest("base64");
  return {
    body,
    delivery_id: deliveryId,
    sent_at: sentAt,
    headers: {
      "content-type": "application/json",
      "x-mlflow-delivery-id": deliveryId,
      "x-mlflow-timestamp": timestamp,
      "x-mlflow-signature": `v1,${signature}`,
    },
  };
}

/** `2026-11-25T12:00:00.123417+00:00`: milliseconds from `ms`, then three more digits. */
function pythonIsoformat(ms: number, micros: number): string {
  return `${new Date(ms).toISOString().slice(0, 23)}${String(micros).padStart(3, "0")}+00:00`;
}

/** Python's `json.dumps(value)` with its defaults, for the plain values an envelope holds. */
export function pythonJsonDumps(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return `[${value.map(pythonJsonDumps).join(", ")}]`;
  if (typeof value === "object") {
    const items = Object.entries(value).map(([k, v]) => `${asciiJson(k)}: ${pythonJsonDumps(v)}`);
    return `{${items.join(", ")}}`;
  }
  return typeof value === "string" ? asciiJson(value) : JSON.stringify(value);
}

/** `ensure_ascii=True`: every character past ASCII as \uXXXX (UTF-16 units, as Python writes them). */
function asciiJson(text: string): string {
  return JSON.stringify(text).replace(
    /[\u0080-\uffff]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`,
  );
}
