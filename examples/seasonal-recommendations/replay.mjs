// Replays a year of seasonal recommendation models against the real CLI (bin/tenure.js): four
// scheduled promotions carried out by the sweep, then the golden fallback when the winter model
// is cancelled and the autumn one outlives its 100-day TTL. Exit 0 when every deployment ends in
// the expected status and Slack heard what the policy promises, 1 otherwise.
//
//   npm run build && node examples/seasonal-recommendations/replay.mjs
//
// Plain Node 20, no dependencies: each step is a `tenure` child process on a fresh SQLite file.
// The seasons lie ahead, and a sweep dated after the clock is only a preview (`sweep --at` a future
// day writes nothing), so each step after the scheduling runs with its process's clock set to its
// day (clock.mjs, loaded with `node --import`), as if the replay waited for it. The sweeps still
// name their time with `--at`: the process reaches its sweep a moment after its clock was set,
// and a season's promotion and its 100th day must be the same instant of the day.
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import http from "node:http";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const HERE = dirname(fileURLToPath(import.meta.url));
const TENURE = resolve(HERE, "../../bin/tenure.js");
const POLICIES = join(HERE, "policies.yaml");
const CLOCK = pathToFileURL(join(HERE, "clock.mjs")).href;
const DAY_MS = 86_400_000;
const MODEL = "recs-seasonal";

const started = Date.now();
// `deploy --at` schedules a promotion, which must lie in the future: the seasons are next year's.
const year = new Date().getUTCFullYear() + 1;
const EVERGREEN = `${year - 1}.evergreen`;
const SEASONS = [
  { name: "spring", at: `${year}-03-20T00:00:00.000Z`, trainedThrough: `${year}-02-28` },
  { name: "summer", at: `${year}-06-21T00:00:00.000Z`, trainedThrough: `${year}-05-31` },
  { name: "autumn", at: `${year}-09-22T00:00:00.000Z`, trainedThrough: `${year}-08-31` },
  { name: "winter", at: `${year}-12-21T00:00:00.000Z`, trainedThrough: `${year}-11-30` },
];
const [spring, summer, autumn, winter] = SEASONS;
// The autumn model's 100th day: with no winter model to take over, it expires then.
const AUTUMN_EXPIRES = new Date(Date.parse(autumn.at) + 100 * DAY_MS).toISOString();
// Mid-autumn, when the winter model fails its evaluation.
const WINTER_CANCELLED = new Date(Date.parse(autumn.at) + 30 * DAY_MS).toISOString();

/** Slack messages as they arrived, each with the step that caused it. */
const slackMessages = [];
let currentStep = "";

// --- A Slack incoming webhook on 127.0.0.1 ------------------------------------------------------

function startSlack() {
  const path = "/services/T0RECS/B0SEASONS/replayreplayreplay";
  const server = http.createServer((request, response) => {
    let raw = "";
    request.setEncoding("utf8");
    request.on("data", (chunk) => {
      raw += chunk;
    });
    request.on("end", () => {
      let text;
      try {
        text = JSON.parse(raw).text;
      } catch {
        text = undefined;
      }
      if (request.url !== path || typeof text !== "string") {
        response.writeHead(400, { "content-type": "text/plain" }).end("invalid_payload");
        return;
      }
      slackMessages.push({ step: currentStep, text });
      response.writeHead(200, { "content-type": "text/plain" }).end("ok");
    });
  });
  return new Promise((done) => {
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      done({ url: `http://127.0.0.1:${port}${path}`, close: () => server.close() });
    });
  });
}

// --- The CLI ------------------------------------------------------------------------------------

function cleanEnv(extra) {
  const env = {};
  for (const [key, value] of Object.entries(process.env)) if (!key.startsWith("TENURE_")) env[key] = value;
  return { ...env, ...extra };
}

/**
 * Runs `node bin/tenure.js ...args` asynchronously (the Slack receiver must keep answering
 * meanwhile), with the process's clock at `now` when given.
 */
function run(env, args, now) {
  const node = now === undefined ? [TENURE] : ["--import", CLOCK, TENURE];
  const clock = now === undefined ? {} : { REPLAY_NOW: now };
  return new Promise((done) => {
    execFile(
      process.execPath,
      [...node, ...args],
      { env: { ...env, ...clock }, timeout: 60_000 },
      (error, stdout, stderr) => {
        done({ code: error ? (error.code ?? 1) : 0, stdout, stderr });
      },
    );
  });
}

/**
 * Runs a command that must succeed, on the day `now` (today when absent); prints it and its
 * output (unless JSON), and what reached Slack.
 */
async function tenure(env, step, args, now) {
  currentStep = step;
  const before = slackMessages.length;
  const json = args.includes("--json");
  if (!json)
    console.log(`  $ ${now === undefined ? "" : `REPLAY_NOW=${now.slice(0, 10)} `}tenure ${args.join(" ")}`);
  const result = await run(env, args, now);
  if (result.code !== 0) {
    throw new Error(`tenure ${args.join(" ")} exited ${result.code}: ${result.stderr.trim()}`);
  }
  if (!json) for (const line of result.stdout.trimEnd().split("\n")) console.log(`    ${line}`);
  for (const m of slackMessages.slice(before)) console.log(`  slack <- ${m.text}`);
  return json ? JSON.parse(result.stdout) : result.stdout;
}

const deploymentId = (output) => Number(/deployment (\d+)/.exec(output)?.[1]);
const promotionsIn = (output) => Number(/(\d+) promotion\(s\)/.exec(output)?.[1] ?? 0);

// --- The replay ---------------------------------------------------------------------------------

const slack = await startSlack();
const work = mkdtempSync(join(tmpdir(), "tenure-seasonal-replay-"));
const env = cleanEnv({
  TENURE_DATABASE_URL: join(work, "tenure.db"),
  TENURE_POLICIES: POLICIES,
  // The channels' stand-ins listen on 127.0.0.1, which Tenure refuses to call unless allowed
  // (docs/egress.md); real Slack and PagerDuty need no such setting.
  TENURE_ALLOW_PRIVATE_EGRESS: "1",
  RECS_SLACK_WEBHOOK: slack.url,
});
const failures = [];
const check = (ok, message) => {
  if (!ok) failures.push(message);
};

try {
  await replay();
} catch (error) {
  failures.push(error.message);
} finally {
  slack.close();
  rmSync(work, { recursive: true, force: true });
}

if (failures.length > 0) {
  console.log("\nFAILED:");
  for (const f of failures) console.log(`  ${f}`);
  process.exitCode = 1;
} else {
  console.log(`\nok: every deployment is where the seasons put it (${Date.now() - started} ms)`);
}

async function replay() {
  console.log(`seasonal-recommendations replay: the seasons of ${year}; database ${env.TENURE_DATABASE_URL}`);
  const where = ["--env", "production", "--team", "growth"];
  const ids = {};

  await tenure(env, "now", ["init"]);
  console.log(`\nnow: the all-season ${EVERGREEN} serves and becomes the golden version`);
  const evergreenCutoff = new Date(Date.now() - 30 * DAY_MS).toISOString().slice(0, 10);
  ids.evergreen = deploymentId(
    await tenure(env, "now", ["deploy", MODEL, EVERGREEN, ...where, "--trained-through", evergreenCutoff]),
  );
  await tenure(env, "now", ["golden", MODEL, EVERGREEN, "--env", "production"]);

  console.log(`\nnow: schedule the four seasonal promotions of ${year}`);
  for (const season of SEASONS) {
    const version = `${year}.${season.name}`;
    const args = ["deploy", MODEL, version, ...where, "--trained-through", season.trainedThrough];
    ids[season.name] = deploymentId(await tenure(env, "now", [...args, "--at", season.at]));
  }

  for (const season of [spring, summer, autumn]) {
    console.log(
      `\n${season.at.slice(0, 10)}: first day of ${season.name}, the sweep promotes ${season.name}`,
    );
    const output = await tenure(env, season.name, ["sweep", "--at", season.at], season.at);
    check(promotionsIn(output) === 1, `the ${season.name} sweep promoted ${promotionsIn(output)}, not 1`);
  }

  console.log(
    `\n${WINTER_CANCELLED.slice(0, 10)}: winter's model is not ready; cancel its scheduled promotion`,
  );
  await tenure(
    env,
    "cancel",
    ["retire", String(ids.winter), "--reason", "the winter model failed its evaluation"],
    WINTER_CANCELLED,
  );

  console.log(`\n${winter.at.slice(0, 10)}: first day of winter, nothing to promote; autumn is 90d of 100d`);
  const winterSweep = await tenure(env, "winter", ["sweep", "--at", winter.at], winter.at);
  check(promotionsIn(winterSweep) === 0, "the winter sweep promoted a cancelled deployment");

  console.log(`\n${AUTUMN_EXPIRES.slice(0, 10)}: autumn's 100th day: expired, rolled back to ${EVERGREEN}`);
  const expirySweep = await tenure(env, "expiry", ["sweep", "--at", AUTUMN_EXPIRES], AUTUMN_EXPIRES);
  // The rollback resolves the due alert, opens the expiry's and resolves it, in its transaction:
  // the sweep counts all of it, as many notifications as Slack then hears.
  check(
    /; alerts 1 opened, 2 resolved; 3 notification\(s\);/.test(expirySweep),
    "the expiry sweep does not count its rollback's alerts: 1 opened, 2 resolved, 3 notifications",
  );

  console.log("\nthe whole history, as it reads that day");
  await tenure(env, "end", ["ls", "--all", "--model", MODEL], AUTUMN_EXPIRES);
  await tenure(env, "end", ["show", String(ids.autumn)], AUTUMN_EXPIRES);

  const all = (await tenure(env, "end", ["ls", "--all", "--model", MODEL, "--json"], AUTUMN_EXPIRES)).items;
  await checkStatuses(all, ids);
  await printModelEvents(all);
  checkSlack();
}

/** Every deployment in its expected status, and the golden version live again. */
async function checkStatuses(all, ids) {
  const expected = {
    [ids.evergreen]: "superseded",
    [ids.spring]: "superseded",
    [ids.summer]: "superseded",
    [ids.autumn]: "rolled_back",
    [ids.winter]: "retired",
  };
  for (const [id, status] of Object.entries(expected)) {
    const d = all.find((row) => row.id === Number(id));
    check(d?.status === status, `deployment ${id} (${d?.model_version}) is ${d?.status}, expected ${status}`);
  }
  const live = all.filter((d) => d.status === "active");
  check(
    live.length === 1 && live[0].model_version === EVERGREEN && live[0].role === "primary",
    `the live primary is ${live.map((d) => d.model_version).join(", ") || "nothing"}, expected ${EVERGREEN}`,
  );
  check(all.length === 6, `${all.length} deployments, expected 6 (five registered, one rollback)`);
}

/** The model's events, oldest first, gathered from each deployment's history. */
async function printModelEvents(all) {
  const shown = await Promise.all(
    all.map((d) => tenure(env, "end", ["show", String(d.id), "--json"], AUTUMN_EXPIRES)),
  );
  const events = shown
    .flatMap(({ deployment, events: history }) =>
      history.map((e) => ({ ...e, version: deployment.model_version })),
    )
    .sort((a, b) => a.id - b.id);
  console.log(`\nevents of ${MODEL}, in the order they were recorded (tenure show ID --json)`);
  for (const e of events) {
    const { model_version: _, role: __, ...rest } = e.data ?? {};
    const detail = Object.entries(rest)
      .filter(([, value]) => value !== null && value !== undefined)
      .map(([key, value]) => `${key}=${value}`)
      .join(" ");
    const line = `${e.at.slice(0, 16)}Z  ${e.type.padEnd(11)} ${e.version.padEnd(16)} ${e.actor.padEnd(13)} ${detail}`;
    console.log(`  ${line.trimEnd()}`);
  }
  const types = (version) => events.filter((e) => e.version === version).map((e) => e.type);
  check(types(`${year}.spring`).includes("superseded"), "spring has no superseded event");
  check(types(`${year}.autumn`).includes("rolled_back"), "autumn has no rolled_back event");
  // Recorded in the order they happened: no event is dated before one written earlier.
  const unordered = events.findIndex((e, i) => i > 0 && e.at < events[i - 1].at);
  check(unordered === -1, `event ${events[unordered]?.id} is dated before the event recorded before it`);
}

/**
 * Slack heard the autumn model come due on the first day of winter; on its 100th day, in the
 * rollback's own transaction, that it expired and was rolled back to the golden version (the
 * expiry alert opened with its outcome before the rollback ends the deployment's alerts), then
 * its due alert and that expiry alert resolve with the rollback.
 */
function checkSlack() {
  const got = slackMessages.map((m) => `${m.step}: ${m.text}`);
  const expected = [
    /^winter: recs-seasonal \d{4}\.autumn in production is due for review: 90d of 100d \(90%\)$/,
    new RegExp(
      `^expiry: recs-seasonal \\d{4}\\.autumn in production is expired: 100d of 100d \\(100%\\); rolled back to the golden version ${EVERGREEN.replace(".", "\\.")}$`,
    ),
    /^expiry: Resolved: recs-seasonal \d{4}\.autumn in production no longer due for review \(rolled_back\)$/,
    /^expiry: Resolved: recs-seasonal \d{4}\.autumn in production no longer expired \(rolled_back\)$/,
  ];
  check(
    got.length === expected.length && expected.every((pattern, i) => pattern.test(got[i] ?? "")),
    `Slack heard:\n    ${got.join("\n    ") || "nothing"}\n  expected:\n    ${expected.join("\n    ")}`,
  );
}
