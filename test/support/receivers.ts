import http, { type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, afterEach, beforeAll } from "vitest";
import { verifySignature } from "../../src/alerts/channels/webhook.js";

export type ReceiverKind = "slack" | "pagerduty" | "webhook";
/** `hang` reads the request and never answers (until close): a timeout from the sender's side. */
export type ReceiverMode = "ok" | "error503" | "hang" | "rate-limit";

export interface Delivery {
  headers: IncomingHttpHeaders;
  /** The parsed JSON, or the raw text for a body that is not JSON. */
  body: unknown;
  raw: string;
}

export interface Rejection {
  headers: IncomingHttpHeaders;
  raw: string;
  status: number;
  errors: string[];
}

export interface Receiver {
  url: string;
  /** Deliveries the receiver accepted and answered with success. */
  received: Delivery[];
  /** Deliveries it refused as the real service would (400, 401). */
  rejected: Rejection[];
  setMode(mode: ReceiverMode): void;
  close(): Promise<void>;
}

/** What a check decided: accepted with the success answer, or refused with errors. */
type Verdict =
  | { ok: true; body: unknown; status: number; answer: string; contentType: string }
  | { ok: false; status: number; errors: string[]; answer: string; contentType: string };

// Paths shaped like the real ones, so a renderer that drops the configured path is caught.
const PATHS: Record<ReceiverKind, string> = {
  slack: "/services/T0000/B0000/XXXXXXXXXXXXXXXXXXXXXXXX",
  pagerduty: "/v2/enqueue",
  webhook: "/hooks/tenure",
};

/**
 * A fake Slack incoming webhook, PagerDuty Events API v2 or webhook target on 127.0.0.1,
 * checking each payload against the documented format and answering as the real one does.
 */
export async function startReceiver(
  kind: ReceiverKind,
  options: { secret?: string } = {},
): Promise<Receiver> {
  const received: Delivery[] = [];
  const rejected: Rejection[] = [];
  let mode: ReceiverMode = "ok";
  const server = http.createServer((request, response) => {
    readBody(request).then((raw) => {
      if (mode === "hang") return;
      if (mode === "error503") return answer(response, 503, "text/plain", "service unavailable");
      if (mode === "rate-limit") {
        response.setHeader("retry-after", "1");
        return answer(response, 429, "text/plain", "rate limited");
      }
      if (request.method !== "POST" || request.url !== PATHS[kind]) {
        return answer(response, 404, "text/plain", "no_service");
      }
      const verdict = check(kind, request.headers, raw, options.secret);
      if (verdict.ok) received.push({ headers: request.headers, body: verdict.body, raw });
      else rejected.push({ headers: request.headers, raw, status: verdict.status, errors: verdict.errors });
      answer(response, verdict.status, verdict.contentType, verdict.answer);
    });
  });
  await new Promise<void>((done) => server.listen(0, "127.0.0.1", done));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}${PATHS[kind]}`,
    received,
    rejected,
    setMode: (next) => {
      mode = next;
    },
    close: () =>
      new Promise<void>((done) => {
        // Hung requests hold their connections open; close() alone would wait for them forever.
        server.closeAllConnections();
        server.close(() => done());
      }),
  };
}

function readBody(request: IncomingMessage): Promise<string> {
  return new Promise((done) => {
    let raw = "";
    request.setEncoding("utf8");
    request.on("data", (chunk: string) => {
      raw += chunk;
    });
    request.on("end", () => done(raw));
    request.on("error", () => done(raw));
  });
}

function answer(response: ServerResponse, status: number, contentType: string, body: string): void {
  response.writeHead(status, { "content-type": contentType }).end(body);
}

function check(kind: ReceiverKind, headers: IncomingHttpHeaders, raw: string, secret?: string): Verdict {
  if (kind === "slack") return checkSlack(headers, raw);
  if (kind === "pagerduty") return checkPagerDuty(headers, raw);
  return checkWebhook(headers, raw, secret);
}

function parseJson(raw: string): { ok: true; value: unknown } | { ok: false } {
  try {
    return { ok: true, value: JSON.parse(raw) };
  } catch {
    return { ok: false };
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function isJsonContentType(headers: IncomingHttpHeaders): boolean {
  return /^application\/json\b/i.test(headers["content-type"] ?? "");
}

// --- Slack: an incoming webhook answers 200 "ok", or 400 with a one-word error in plain text.

function checkSlack(headers: IncomingHttpHeaders, raw: string): Verdict {
  const refuse = (word: string, errors: string[]): Verdict => ({
    ok: false,
    status: 400,
    errors,
    answer: word,
    contentType: "text/plain",
  });
  const parsed = parseJson(raw);
  if (!isJsonContentType(headers) || !parsed.ok || !isObject(parsed.value)) {
    return refuse("invalid_payload", ["the body is not a JSON object"]);
  }
  const message = parsed.value;
  if (typeof message.text !== "string" || message.text.trim() === "") {
    return refuse("no_text", ["text must be a non-empty string"]);
  }
  const errors = slackBlocksErrors(message.blocks);
  if (errors.length > 0) return refuse("invalid_blocks", errors);
  return { ok: true, body: message, status: 200, answer: "ok", contentType: "text/plain" };
}

// The limits of docs.slack.dev/reference/block-kit/blocks for the blocks a notification may use.
function slackBlocksErrors(blocks: unknown): string[] {
  if (!Array.isArray(blocks) || blocks.length === 0 || blocks.length > 50) {
    return ["blocks must be an array of 1 to 50 blocks"];
  }
  const errors: string[] = [];
  for (const [i, block] of blocks.entries()) {
    const at = `blocks[${i}]`;
    if (!isObject(block)) {
      errors.push(`${at} is not an object`);
      continue;
    }
    if (block.block_id !== undefined && !isText(block.block_id, 255))
      errors.push(`${at}.block_id is invalid`);
    switch (block.type) {
      case "header":
        if (!isTextObject(block.text, 150, ["plain_text"]))
          errors.push(`${at}.text must be plain_text ≤ 150`);
        break;
      case "section": {
        const text = block.text === undefined || isTextObject(block.text, 3000);
        const fields =
          block.fields === undefined ||
          (Array.isArray(block.fields) &&
            block.fields.length >= 1 &&
            block.fields.length <= 10 &&
            block.fields.every((field) => isTextObject(field, 2000)));
        if (!text || !fields || (block.text === undefined && block.fields === undefined)) {
          errors.push(`${at} needs a text ≤ 3000 or 1 to 10 fields ≤ 2000`);
        }
        break;
      }
      case "context":
        if (!Array.isArray(block.elements) || block.elements.length < 1 || block.elements.length > 10) {
          errors.push(`${at}.elements must hold 1 to 10 elements`);
        } else if (!block.elements.every((element) => isTextObject(element, 3000))) {
          errors.push(`${at}.elements must be text objects`);
        }
        break;
      case "divider":
        break;
      default:
        errors.push(`${at}.type ${String(block.type)} is not a block this receiver knows`);
    }
  }
  return errors;
}

function isText(value: unknown, max: number): value is string {
  return typeof value === "string" && value.length >= 1 && value.length <= max;
}

function isTextObject(value: unknown, max: number, types = ["plain_text", "mrkdwn"]): boolean {
  return isObject(value) && types.includes(value.type as string) && isText(value.text, max);
}

// --- PagerDuty Events API v2: 202 with the dedup_key, or 400 "invalid event" listing what is wrong.

const EVENT_FIELDS = [
  "routing_key",
  "event_action",
  "dedup_key",
  "payload",
  "client",
  "client_url",
  "links",
  "images",
];
const PAYLOAD_FIELDS = [
  "summary",
  "source",
  "severity",
  "timestamp",
  "component",
  "group",
  "class",
  "custom_details",
];
const SEVERITIES = ["critical", "error", "warning", "info"];

function checkPagerDuty(headers: IncomingHttpHeaders, raw: string): Verdict {
  const parsed = parseJson(raw);
  if (!isJsonContentType(headers) || !parsed.ok || !isObject(parsed.value)) {
    return pagerDutyRefusal(["JSON parse error"]);
  }
  const event = parsed.value;
  const errors = pagerDutyEventErrors(event);
  if (errors.length > 0) return pagerDutyRefusal(errors);
  const dedupKey = typeof event.dedup_key === "string" ? event.dedup_key : `generated-${Date.now()}`;
  return {
    ok: true,
    body: event,
    status: 202,
    answer: JSON.stringify({ status: "success", message: "Event processed", dedup_key: dedupKey }),
    contentType: "application/json",
  };
}

function pagerDutyRefusal(errors: string[]): Verdict {
  const answer = JSON.stringify({ status: "invalid event", message: "Event object is invalid", errors });
  return { ok: false, status: 400, errors, answer, contentType: "application/json" };
}

// Stricter than PagerDuty in one way: unknown fields are refused, so a misspelt `dedupKey` shows.
function pagerDutyEventErrors(event: Record<string, unknown>): string[] {
  const errors = Object.keys(event)
    .filter((key) => !EVENT_FIELDS.includes(key))
    .map((key) => `Unknown field '${key}'`);
  if (typeof event.routing_key !== "string" || event.routing_key.length !== 32) {
    errors.push("Length of 'routing_key' is incorrect (should be 32 characters)");
  }
  if (!["trigger", "acknowledge", "resolve"].includes(event.event_action as string)) {
    errors.push("'event_action' is invalid (must be one of: trigger, acknowledge, resolve)");
  }
  if (event.dedup_key !== undefined && !isText(event.dedup_key, 255)) {
    errors.push("'dedup_key' must be a string of at most 255 characters");
  }
  if (event.event_action !== "trigger") {
    if (event.dedup_key === undefined) errors.push("'dedup_key' is required unless event_action is trigger");
    return errors;
  }
  if (!isObject(event.payload)) return [...errors, "'payload' is missing or not an object"];
  return [...errors, ...payloadErrors(event.payload), ...linkErrors(event.links)];
}

function payloadErrors(payload: Record<string, unknown>): string[] {
  const errors = Object.keys(payload)
    .filter((key) => !PAYLOAD_FIELDS.includes(key))
    .map((key) => `Unknown field 'payload.${key}'`);
  if (!isText(payload.summary, 1024)) errors.push("'payload.summary' must be 1 to 1024 characters");
  if (!isText(payload.source, 255)) errors.push("'payload.source' is missing");
  if (!SEVERITIES.includes(payload.severity as string)) {
    errors.push("'payload.severity' is invalid (must be one of: critical, error, warning, info)");
  }
  if (payload.timestamp !== undefined && Number.isNaN(Date.parse(String(payload.timestamp)))) {
    errors.push("'payload.timestamp' is not an ISO 8601 date-time");
  }
  for (const key of ["component", "group", "class"]) {
    if (payload[key] !== undefined && typeof payload[key] !== "string")
      errors.push(`'payload.${key}' must be a string`);
  }
  if (payload.custom_details !== undefined && !isObject(payload.custom_details)) {
    errors.push("'payload.custom_details' must be an object");
  }
  return errors;
}

function linkErrors(links: unknown): string[] {
  if (links === undefined) return [];
  const valid =
    Array.isArray(links) && links.every((link) => isObject(link) && URL.canParse(String(link.href)));
  return valid ? [] : ["'links' must be an array of {href, text}"];
}

// --- A webhook target: checks the signature when it shares a secret, and needs a delivery id.

function checkWebhook(headers: IncomingHttpHeaders, raw: string, secret?: string): Verdict {
  const refuse = (status: number, error: string): Verdict => ({
    ok: false,
    status,
    errors: [error],
    answer: JSON.stringify({ error }),
    contentType: "application/json",
  });
  if (secret !== undefined) {
    const signature = headers["tenure-signature"];
    const nowSeconds = Math.floor(Date.now() / 1000);
    if (typeof signature !== "string" || !verifySignature(secret, signature, raw, nowSeconds)) {
      return refuse(401, "bad signature");
    }
  }
  if (!/^\d+$/.test(String(headers["tenure-delivery"]))) return refuse(400, "no Tenure-Delivery");
  let body: unknown = raw;
  if (isJsonContentType(headers)) {
    const parsed = parseJson(raw);
    if (!parsed.ok) return refuse(400, "the body is not JSON");
    body = parsed.value;
  }
  return {
    ok: true,
    body,
    status: 200,
    answer: JSON.stringify({ ok: true }),
    contentType: "application/json",
  };
}

/**
 * A Slack receiver and a signed webhook receiver for the tests of a describe block: started
 * before them, emptied after each, closed after all. `env` names their URLs as a policy file
 * reads them (`${SLACK_URL}`, `${HOOK_URL}`).
 */
export function slackAndWebhookEach(secret: string): {
  readonly slack: Receiver;
  readonly hook: Receiver;
  env(): { SLACK_URL: string; HOOK_URL: string };
} {
  let started: [Receiver, Receiver] | undefined;
  const both = (): [Receiver, Receiver] => {
    if (!started) throw new Error("the receivers start before the block's tests");
    return started;
  };
  beforeAll(async () => {
    started = await Promise.all([startReceiver("slack"), startReceiver("webhook", { secret })]);
  });
  afterEach(() => {
    for (const r of started ?? []) r.received.length = 0;
  });
  afterAll(async () => {
    await Promise.all((started ?? []).map((r) => r.close()));
  });
  return {
    get slack() {
      return both()[0];
    },
    get hook() {
      return both()[1];
    },
    env: () => ({ SLACK_URL: both()[0].url, HOOK_URL: both()[1].url }),
  };
}
