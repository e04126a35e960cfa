import { createHmac, timingSafeEqual } from "node:crypto";
import type { Notification, OutboundRequest } from "../notification.js";
import type { ChannelConfig } from "./channel-config.js";

export type WebhookChannelConfig = Extract<ChannelConfig, { type: "webhook" }>;

export const SIGNATURE_HEADER = "tenure-signature";
export const DELIVERY_HEADER = "tenure-delivery";

/**
 * A webhook delivery: the notification as JSON, or the channel's template filled from it (so a
 * webhook can call a CI system's dispatch API as it is). Signed when the channel has a secret;
 * always numbered, because delivery is at least once and a receiver drops what it has seen.
 */
export function webhookRequest(
  n: Notification,
  config: WebhookChannelConfig,
  nowSeconds: number,
  deliveryId: number,
): OutboundRequest {
  const contentType = config.content_type ?? "application/json";
  const body =
    config.template === undefined
      ? JSON.stringify(n)
      : renderTemplate(config.template, n, isJson(contentType));
  const headers: Record<string, string> = {};
  // Extra headers go first, lower-cased, so that ours win and no name is sent twice in two cases.
  for (const [name, value] of Object.entries(config.headers ?? {})) headers[name.toLowerCase()] = value;
  headers["content-type"] = contentType;
  headers[DELIVERY_HEADER] = String(deliveryId);
  if (config.secret !== undefined) headers[SIGNATURE_HEADER] = signature(config.secret, nowSeconds, body);
  return { url: config.url, headers, body };
}

/**
 * Fills each `{{path.to.field}}` with the notification's value at that path; an unknown path
 * fills nothing. In a JSON body the value is escaped as the inside of a JSON string (the
 * template supplies the quotes), so a quote or newline in a value cannot break the document.
 */
export function renderTemplate(template: string, n: Notification, json: boolean): string {
  return template.replace(/\{\{\s*([A-Za-z0-9_.-]+)\s*\}\}/g, (_whole, path: string) => {
    const text = valueText(valueAt(n, path));
    return json ? JSON.stringify(text).slice(1, -1) : text;
  });
}

// Own properties only: `{{constructor}}` must not reach into the prototype chain.
function valueAt(root: unknown, path: string): unknown {
  let value = root;
  for (const key of path.split(".")) {
    if (typeof value !== "object" || value === null || !Object.hasOwn(value, key)) return undefined;
    value = (value as Record<string, unknown>)[key];
  }
  return value;
}

function valueText(value: unknown): string {
  if (value === undefined || value === null) return "";
  if (typeof value === "object") return JSON.stringify(value);
  return String(value);
}

// `application/json` or any `+json` type (RFC 6839), parameters such as charset aside.
function isJson(contentType: string): boolean {
  const essence = contentType.split(";")[0]?.trim().toLowerCase() ?? "";
  return essence === "application/json" || /^application\/[^/]+\+json$/.test(essence);
}

/**
 * The Tenure-Signature header of a body sent at `nowSeconds`. Stripe's scheme: the time is signed
 * with the body, so a captured delivery cannot be replayed later with a fresh header, and `v1=`
 * leaves room for another algorithm beside it.
 */
export function signature(secret: string, nowSeconds: number, body: string): string {
  const t = Math.floor(nowSeconds);
  return `t=${t},v1=${hmacHex(secret, t, body)}`;
}

function hmacHex(secret: string, t: number, body: string | Uint8Array): string {
  return createHmac("sha256", secret).update(`${t}.`).update(body).digest("hex");
}

/**
 * The receiver's check of `Tenure-Signature: t=<unix seconds>,v1=<hex>`: recompute the HMAC
 * over `t + "." + raw body`, compare in constant time, and refuse a time more than
 * `toleranceSeconds` from now (a replay). Any `v1` may match, so a receiver can verify during
 * a secret rotation when the header carries two.
 */
export function verifySignature(
  secret: string,
  header: string,
  body: string | Uint8Array,
  nowSeconds: number,
  toleranceSeconds = 300,
): boolean {
  let t: number | undefined;
  const candidates: string[] = [];
  for (const part of header.split(",")) {
    const [key, value = ""] = part.trim().split("=", 2);
    if (key === "t" && /^\d+$/.test(value)) t = Number(value);
    // Strictly 64 hex digits: Buffer.from(hex) would quietly drop a tail of other characters.
    if (key === "v1" && /^[0-9a-f]{64}$/i.test(value)) candidates.push(value);
  }
  if (t === undefined || Math.abs(nowSeconds - t) > toleranceSeconds) return false;
  const expected = Buffer.from(hmacHex(secret, t, body), "hex");
  return candidates.some((candidate) => {
    const given = Buffer.from(candidate, "hex");
    return given.length === expected.length && timingSafeEqual(given, expected);
  });
}
