// Replays 32 days in the life of a fraud model against the real CLI (bin/tenure.js), with three
// local receivers standing in for Slack, PagerDuty and GitHub's workflow_dispatch API, and
// checks that each channel heard exactly what the policy promises. Exit 0 when it did, 1 when
// it did not.
//
//   npm run build && node examples/fraud-detection/replay.mjs
//
// Plain Node 20, no dependencies: each step is a `tenure` child process on a fresh SQLite file.
import { execFile } from "node:child_process";
import { createHmac, timingSafeEqual } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import http from "node:http";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const HERE = dirname(fileURLToPath(import.meta.url));
const TENURE = resolve(HERE, "../../bin/tenure.js");
const POLICIES = join(HERE, "policies.yaml");
const DAY_MS = 86_400_000;

// Stand-ins for real credentials: the receivers below insist on them as the real services would.
const ROUTING_KEY = "f2a1c0de5ca1ab1ef2a1c0de5ca1ab1e";
const RETRAIN_SECRET = "whsec_replay_0123456789abcdef";
const GH_TOKEN = "ghp_replay_not_a_real_token";

const started = Date.now();
// The registry refuses a deployment dated more than 5 minutes ahead, so the replay's day 0 lies
// 40 days in the past and `sweep --at` walks forward from it; day 32 is still a week ago.
const today = Date.UTC(new Date().getUTCFullYear(), new Date().getUTCMonth(), new Date().getUTCDate());
const day0 = today - 40 * DAY_MS;
const dayIso = (n) => new Date(day0 + n * DAY_MS).toISOString();
const dayDate = (n) => dayIso(n).slice(0, 10);

/** What the receivers accepted, each tagged with the replay day it arrived on. */
const arrivals = [];
/** Requests a receiver refused (bad signature, wrong token, not JSON): always a failure. */
const refusals = [];
let currentDay = 0;

// --- Receivers ----------------------------------------------------------------------------------

/** The README's recipe, as a receiver would copy it: Stripe's scheme over the raw body. */
function verifyTenure(secret, header, rawBody, nowSeconds = Math.floor(Date.now() / 1000)) {
  const fields = header.split(",").map((part) => part.trim().split("="));
  const t = Number(fields.find(([key]) => key === "t")?.[1]);
  if (!Number.isInteger(t) || Math.abs(nowSeconds - t) > 300) return false;
  const expected = createHmac("sha256", secret).update(`${t}.`).update(rawBody).digest();
  return fields.some(
    ([key, value]) =>
      key === "v1" && /^[0-9a-f]{64}$/.test(value) && timingSafeEqual(Buffer.from(value, "hex"), expected),
  );
}

/**
 * One fake service on 127.0.0.1. `handle` gets the request and its raw body and returns
 * `{status, body, arrival?}` or `{status, body, refused}`; the URL has the real service's path shape.
 */
function startReceiver(channel, path, handle) {
  const server = http.createServer((request, response) => {
    const chunks = [];
    request.on("data", (chunk) => chunks.push(chunk));
    request.on("end", () => {
      const raw = Buffer.concat(chunks);
      const answer =
        request.method === "POST" && request.url === path
          ? handle(request, raw)
          : { status: 404, body: "not found", refused: `${request.method} ${request.url}` };
      if (answer.refused) refusals.push({ day: currentDay, channel, why: answer.refused });
      if (answer.arrival) arrivals.push({ day: currentDay, channel, ...answer.arrival });
      response.writeHead(answer.status, { "content-type": "application/json" }).end(answer.body ?? "");
    });
  });
  return new Promise((done) => {
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      done({ url: `http://127.0.0.1:${port}${path}`, close: () => server.close() });
    });
  });
}

function parseJson(raw) {
  try {
    return JSON.parse(raw.toString("utf8"));
  } catch {
    return undefined;
  }
}

// Slack answers 200 "ok" to a message with a text; what a person reads is that text.
function slack(_request, raw) {
  const message = parseJson(raw);
  if (typeof message?.text !== "string" || !Array.isArray(message.blocks)) {
    return { status: 400, body: "invalid_payload", refused: "not a Block Kit message with a text" };
  }
  const action = message.text.startsWith("Reminder:")
    ? "remind"
    : message.text.startsWith("Resolved:")
      ? "resolve"
      : "trigger";
  const kind = /due for review/.test(message.text) ? "due" : /expired/.test(message.text) ? "expired" : "?";
  const resolution = action === "resolve" ? ` (${/\((\w+)\)$/.exec(message.text)?.[1] ?? "?"})` : "";
  return {
    status: 200,
    body: "ok",
    arrival: { label: `${action} ${kind}${resolution}`, detail: message.text },
  };
}

// PagerDuty's Events API v2 answers 202 with the dedup_key it filed the event under.
function pagerduty(_request, raw) {
  const event = parseJson(raw);
  if (event?.routing_key !== ROUTING_KEY || typeof event.dedup_key !== "string") {
    return { status: 400, body: '{"status":"invalid event"}', refused: "wrong routing_key or no dedup_key" };
  }
  const body = JSON.stringify({ status: "success", message: "Event processed", dedup_key: event.dedup_key });
  const detail =
    event.event_action === "trigger"
      ? `dedup_key=${event.dedup_key} severity=${event.payload?.severity}: ${event.payload?.summary}`
      : `dedup_key=${event.dedup_key}`;
  const kind = event.payload?.class ? ` ${event.payload.class}` : "";
  return {
    status: 202,
    body,
    arrival: { label: `${event.event_action}${kind}`, detail, dedupKey: event.dedup_key },
  };
}

// GitHub's workflow_dispatch answers 204. This one also checks Tenure-Signature as the README's
// recipe does, and drops a Tenure-Delivery it has already processed (delivery is at least once).
const seenDeliveries = new Set();
function webhook(request, raw) {
  if (request.headers.authorization !== `Bearer ${GH_TOKEN}`) {
    return { status: 401, body: '{"message":"Bad credentials"}', refused: "no or wrong bearer token" };
  }
  if (!verifyTenure(RETRAIN_SECRET, request.headers["tenure-signature"] ?? "", raw)) {
    return { status: 401, body: '{"message":"bad signature"}', refused: "Tenure-Signature does not verify" };
  }
  const delivery = request.headers["tenure-delivery"];
  if (seenDeliveries.has(delivery)) return { status: 204 };
  seenDeliveries.add(delivery);
  const dispatch = parseJson(raw);
  if (typeof dispatch?.ref !== "string" || typeof dispatch.inputs !== "object") {
    return { status: 422, body: '{"message":"Invalid request"}', refused: "not a workflow_dispatch body" };
  }
  const { model, version, action, reason } = dispatch.inputs;
  return {
    status: 204,
    arrival: {
      label: `dispatch ${action}`,
      detail: `workflow_dispatch ref=${dispatch.ref} model=${model} version=${version} (signature ok, delivery ${delivery}): ${reason}`,
    },
  };
}

// --- The CLI ------------------------------------------------------------------------------------

/** Runs `node bin/tenure.js ...args` asynchronously: the receivers must keep answering meanwhile. */
function tenure(env, args) {
  return new Promise((done) => {
    execFile(process.execPath, [TENURE, ...args], { env, timeout: 60_000 }, (error, stdout, stderr) => {
      done({ code: error ? (error.code ?? 1) : 0, stdout, stderr });
    });
  });
}

/** One step of the replay: prints the command, its output, and what reached the channels. */
async function step(env, day, note, args) {
  currentDay = day;
  const before = arrivals.length;
  console.log(`\nday ${day} (${dayDate(day)}): ${note}`);
  console.log(`  $ tenure ${args.join(" ")}`);
  const result = await tenure(env, args);
  for (const line of result.stdout.trim().split("\n")) console.log(`    ${line}`);
  if (result.code !== 0) {
    throw new Error(`tenure ${args.join(" ")} exited ${result.code}: ${result.stderr.trim()}`);
  }
  const heard = arrivals.slice(before);
  if (heard.length === 0) console.log("  channels: nothing arrived");
  for (const a of heard) console.log(`  ${a.channel.padEnd(9)} <- ${a.label}: ${a.detail}`);
}

// --- The replay ---------------------------------------------------------------------------------

const EXPECTED = [
  { day: 25, channel: "slack", label: "trigger due" },
  { day: 25, channel: "webhook", label: "dispatch trigger" },
  { day: 31, channel: "pagerduty", label: "trigger expired" },
  { day: 31, channel: "slack", label: "trigger expired" },
  { day: 32, channel: "pagerduty", label: "resolve" },
  { day: 32, channel: "slack", label: "resolve expired (superseded)" },
];

function cleanEnv(extra) {
  const env = {};
  for (const [key, value] of Object.entries(process.env)) if (!key.startsWith("TENURE_")) env[key] = value;
  return { ...env, ...extra };
}

const receivers = await Promise.all([
  startReceiver("slack", "/services/T0FRAUD/B0RISK/replayreplayreplay", slack),
  startReceiver("pagerduty", "/v2/enqueue", pagerduty),
  startReceiver("webhook", "/repos/acme/fraud-models/actions/workflows/retrain.yml/dispatches", webhook),
]);
const [slackUrl, pagerdutyUrl, webhookUrl] = receivers.map((r) => r.url);
const work = mkdtempSync(join(tmpdir(), "tenure-fraud-replay-"));
const env = cleanEnv({
  TENURE_DATABASE_URL: join(work, "tenure.db"),
  TENURE_POLICIES: POLICIES,
  // The channels' stand-ins listen on 127.0.0.1, which Tenure refuses to call unless allowed
  // (docs/egress.md); real Slack and PagerDuty need no such setting.
  TENURE_ALLOW_PRIVATE_EGRESS: "1",
  RISK_SLACK_WEBHOOK: slackUrl,
  PD_ROUTING_KEY: ROUTING_KEY,
  PD_EVENTS_URL: pagerdutyUrl,
  RETRAIN_DISPATCH_URL: webhookUrl,
  RETRAIN_SECRET: RETRAIN_SECRET,
  GH_TOKEN: GH_TOKEN,
});

let failures = [];
try {
  console.log(`fraud-detection replay: day 0 is ${dayDate(0)}; database ${env.TENURE_DATABASE_URL}`);
  console.log(
    `receivers: slack ${slackUrl}\n           pagerduty ${pagerdutyUrl}\n           webhook ${webhookUrl}`,
  );
  const deploy = (version, trainedThrough, deployedAt) => [
    ...["deploy", "fraud-gbm", version, "--env", "production", "--team", "risk"],
    ...["--trained-through", dayDate(trainedThrough), "--deployed-at", dayIso(deployedAt)],
  ];
  await step(env, 0, "a new registry: tenure init makes the database", ["init"]);
  await step(env, 0, "fraud-gbm 3.2.0 goes live, trained on data up to day -20", deploy("3.2.0", -20, 0));
  await step(env, 10, "the daily sweep: 10d of 30d, fresh", ["sweep", "--at", dayIso(10)]);
  await step(env, 25, "25d of 30d is 83%: due for review", ["sweep", "--at", dayIso(25)]);
  await step(env, 26, "still due; its alert is open and repeats weekly: nothing new", [
    "sweep",
    "--at",
    dayIso(26),
  ]);
  await step(env, 31, "31d of 30d: expired", ["sweep", "--at", dayIso(31)]);
  await step(
    env,
    32,
    "the retrained fraud-gbm 3.3.0 goes live and supersedes 3.2.0",
    deploy("3.3.0", 30, 32),
  );
  await step(env, 32, "the next sweep delivers the resolution queued by the supersession", [
    "sweep",
    "--at",
    dayIso(32),
  ]);
  failures = compare();
} catch (error) {
  failures = [error.message];
} finally {
  for (const r of receivers) r.close();
  rmSync(work, { recursive: true, force: true });
}

printSummary();
if (failures.length > 0) {
  console.log("\nFAILED: what arrived is not what the policy promises");
  for (const f of failures) console.log(`  ${f}`);
  process.exitCode = 1;
} else {
  console.log(`\nok: every channel heard exactly what was expected (${Date.now() - started} ms)`);
}

/** The differences between what arrived and EXPECTED, plus anything a receiver refused. */
function compare() {
  const key = (a) => `day ${a.day} ${a.channel}: ${a.label}`;
  // Matched one for one, so a message that arrived twice shows as unexpected.
  const unmatched = EXPECTED.map(key);
  const unexpected = [];
  for (const got of arrivals.map(key)) {
    const at = unmatched.indexOf(got);
    if (at === -1) unexpected.push(got);
    else unmatched.splice(at, 1);
  }
  const problems = [
    ...unmatched.map((w) => `missing    ${w}`),
    ...unexpected.map((g) => `unexpected ${g}`),
    ...refusals.map((r) => `refused    day ${r.day} ${r.channel}: ${r.why}`),
  ];
  // The resolve must close the incident the trigger opened: PagerDuty matches them by dedup_key.
  const keys = new Set(arrivals.filter((a) => a.channel === "pagerduty").map((a) => a.dedupKey));
  if (keys.size > 1) problems.push(`PagerDuty events used ${keys.size} dedup_keys: ${[...keys].join(", ")}`);
  return problems;
}

function printSummary() {
  console.log("\nsummary: what each channel heard");
  const rows = [["DAY", "CHANNEL", "WHAT ARRIVED"]];
  for (const day of [0, 10, 25, 26, 31, 32]) {
    const heard = arrivals
      .filter((a) => a.day === day)
      .sort((a, b) => a.channel.localeCompare(b.channel) || a.label.localeCompare(b.label));
    if (heard.length === 0) rows.push([String(day), "-", "nothing"]);
    for (const a of heard) rows.push([String(day), a.channel, a.label]);
  }
  const width = [0, 1].map((i) => Math.max(...rows.map((r) => r[i].length)));
  for (const r of rows) console.log(`  ${r[0].padEnd(width[0])}  ${r[1].padEnd(width[1])}  ${r[2]}`);
}
