import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { DialectName } from "../../src/store/database.js";
import { createTestDatabase } from "./databases.js";
import { cleanEnv, runTenure, type ServeProcess, startServe, tempDir } from "./process.js";

/**
 * A request of docs/PROTOCOL.md and the answer printed under it: a ```sh block that runs curl,
 * then a line "Answer: `200 OK`", then a ```json block with the body.
 */
export interface ProtocolExample {
  /** The 1-based line of the ```sh fence, for messages. */
  line: number;
  command: string;
  status: number;
  answer: unknown;
}

const ANSWER_LINE = /^Answer: `(\d{3}) [^`]+`$/;

/** Reads every curl example of the document; a curl block without its answer is an error naming its line. */
export function readExamples(markdown: string): ProtocolExample[] {
  const lines = markdown.split("\n");
  const examples: ProtocolExample[] = [];
  for (let i = 0; i < lines.length; i++) {
    if (lines[i] !== "```sh") continue;
    const start = i;
    const command = fenced(lines, i);
    i += command.length + 1;
    if (!/\bcurl\b/.test(command.join("\n"))) continue;
    const status = ANSWER_LINE.exec(lines[nextText(lines, i)] ?? "");
    const next = nextText(lines, nextText(lines, i));
    if (!status?.[1] || lines[next] !== "```json") {
      throw new Error(
        `PROTOCOL.md line ${start + 1}: a curl example needs "Answer: \`NNN Reason\`" and a json block`,
      );
    }
    const body = fenced(lines, next);
    examples.push({
      line: start + 1,
      command: command.join("\n"),
      status: Number(status[1]),
      answer: JSON.parse(body.join("\n")),
    });
    i = next + body.length + 1;
  }
  return examples;
}

/** The index of the first non-empty line after `index`. */
function nextText(lines: string[], index: number): number {
  let next = index + 1;
  while (lines[next] === "") next++;
  return next;
}

/** The lines between the fence at `open` and the next closing fence. */
function fenced(lines: string[], open: number): string[] {
  const close = lines.indexOf("```", open + 1);
  if (close < 0) throw new Error(`PROTOCOL.md line ${open + 1}: the block is never closed`);
  return lines.slice(open + 1, close);
}

export interface ExampleOutcome {
  status: number;
  contentType: string;
  body: unknown;
}

/**
 * Runs an example's command as written, in bash, with `curl` wrapped to write the status, the
 * headers and the body where the test reads them. `env` gives the variables the document names.
 */
export function runExample(example: ProtocolExample, env: Record<string, string>): Promise<ExampleOutcome> {
  const folder = mkdtempSync(join(tmpdir(), "tenure-protocol-"));
  const body = join(folder, "body");
  const headers = join(folder, "headers");
  const script = [
    // --fail is off: an error's problem+json body is what the example documents.
    `curl() { command curl --silent --show-error --max-time 10 --output '${body}' --dump-header '${headers}' --write-out '%{http_code}' "$@"; }`,
    example.command,
  ].join("\n");
  return new Promise((done, fail) => {
    execFile("bash", ["-c", script], { env: cleanEnv(env), timeout: 15_000 }, (error, stdout, stderr) => {
      try {
        if (error) {
          fail(
            new Error(`PROTOCOL.md line ${example.line}: the command failed: ${error.message}\n${stderr}`),
          );
          return;
        }
        const text = readFileSync(body, "utf8");
        const contentType = /^content-type: *(.*?)\r?$/im.exec(readFileSync(headers, "utf8"))?.[1] ?? "";
        done({ status: Number(stdout.trim()), contentType, body: text === "" ? null : JSON.parse(text) });
      } catch (caught) {
        fail(caught);
      } finally {
        rmSync(folder, { recursive: true, force: true });
      }
    });
  });
}

const TIMESTAMP = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;
/** Numbers that move with the clock between the run that wrote the document and this one. */
const CLOCK_FIELDS = /_seconds$|^ttl_fraction$|^health_score$/;

/**
 * An answer with what depends on the moment it was given replaced by a placeholder: timestamps
 * and the clocks of the age block. Everything else (ids, counts, fields, problem details) must
 * stay as documented.
 */
export function withoutClock(value: unknown, key = ""): unknown {
  if (typeof value === "string" && TIMESTAMP.test(value)) return "<timestamp>";
  if (typeof value === "number" && CLOCK_FIELDS.test(key)) return "<clock>";
  if (Array.isArray(value)) return value.map((item) => withoutClock(item));
  if (value !== null && typeof value === "object") {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, withoutClock(v, k)]));
  }
  return value;
}

export interface ProtocolServer {
  server: ServeProcess;
  /** The variables the document's examples use, but DEPLOYMENT_ID (the examples' registration answers it). */
  env: { TENURE_URL: string; TENURE_TOKEN: string; READ_TOKEN: string };
  /** An unbound admin token, for what the test sets up itself. */
  admin: string;
  stop(): Promise<void>;
}

/**
 * A fresh `tenure serve` as the document's examples expect it: the tokens they use, fraud-gbm
 * 3.1.0 (deployment 1, team risk, the version the examples' registration supersedes) and
 * churn-xgb 1.4.0 (deployment 2, team growth).
 */
export async function startProtocolServer(dialect: DialectName): Promise<ProtocolServer> {
  const cwd = tempDir();
  const database = await createTestDatabase(dialect);
  let server: ServeProcess | undefined;
  const stop = async () => {
    await server?.stop();
    await database.drop();
    cwd.remove();
  };
  const tenure = async (...args: string[]) => {
    const run = await runTenure([...args, "--database", database.url], { cwd: cwd.path });
    if (run.code !== 0) throw new Error(`tenure ${args.join(" ")} failed: ${run.stderr}`);
    return run.stdout.trim();
  };
  try {
    await tenure("init");
    const write = await tenure(
      "token",
      "create",
      "--scope",
      "write",
      "--team",
      "risk",
      "--name",
      "fraud-gbm-server",
    );
    const read = await tenure("token", "create", "--scope", "read", "--name", "dashboard");
    const admin = await tenure("token", "create", "--scope", "admin", "--name", "setup");
    server = await startServe({ cwd: cwd.path, database: database.url });
    for (const registration of SEED) {
      const answer = await fetch(`${server.url}/v1/deployments`, {
        method: "POST",
        headers: { authorization: `Bearer ${admin}`, "content-type": "application/json" },
        body: JSON.stringify(registration),
      });
      if (answer.status !== 201) throw new Error(`seeding failed: ${answer.status} ${await answer.text()}`);
    }
    return { server, admin, env: { TENURE_URL: server.url, TENURE_TOKEN: write, READ_TOKEN: read }, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** Deployments 1 and 2 of the document's examples. */
const SEED = [
  {
    model: "fraud-gbm",
    model_version: "3.1.0",
    training_data_cutoff: "2026-08-15",
    deployment_date: "2026-09-01T00:00:00Z",
    owner_team: "risk",
  },
  { model: "churn-xgb", model_version: "1.4.0", training_data_cutoff: "2026-09-01", owner_team: "growth" },
];
