import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { dialects } from "../support/databases.js";
import { hasExternalTool } from "../support/external-tool.js";
import { cleanEnv, type RunResult } from "../support/process.js";
import {
  type ProtocolServer,
  readExamples,
  runExample,
  startProtocolServer,
  withoutClock,
} from "../support/protocol-examples.js";
import { registration, startTestApp, type TestApp } from "../support/test-app.js";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const DOC = readFileSync(join(ROOT, "docs/PROTOCOL.md"), "utf8");
const PYTHON_EXAMPLE = join(ROOT, "examples/python/tenure_protocol.py");
const PYTHON = "/usr/bin/python3";
const CURL = "/usr/bin/curl";
/** What a reader sets before the examples, as the document's first block says. */
const VARIABLES = ["TENURE_URL", "TENURE_TOKEN", "READ_TOKEN", "DEPLOYMENT_ID"];

describe("docs/PROTOCOL.md as text", () => {
  it("gives every curl command its answer, and the examples use only the variables the page sets", () => {
    const examples = readExamples(DOC);
    const routes = examples.map((e) => /"\$TENURE_URL(\/v1\/[a-z]+)/.exec(e.command)?.[1]);
    expect(routes).toEqual(expect.arrayContaining(["/v1/deployments", "/v1/feedback"]));
    for (const route of ["heartbeat", "metrics", "samples"]) {
      expect(examples.some((e) => e.command.includes(`/${route}"`))).toBe(true);
    }
    const used = new Set(examples.flatMap((e) => [...e.command.matchAll(/\$([A-Z_]+)/g)].map((m) => m[1])));
    expect([...used].sort()).toEqual([...VARIABLES].sort());
    for (const variable of VARIABLES) expect(DOC).toContain(`export ${variable}=`);
  });

  it("shows examples/python/tenure_protocol.py exactly as the file has it", () => {
    const shown = /```python\n([\s\S]*?)```/.exec(DOC)?.[1];
    expect(shown).toBe(readFileSync(PYTHON_EXAMPLE, "utf8"));
  });
});

/** The rows of the Limits table: route, body limit (bytes) and the bounded list, if any. */
function limitRows(): Array<{ method: string; path: string; body: number | null; items: Bounds | null }> {
  const section = DOC.slice(DOC.indexOf("## Limits"), DOC.indexOf("\n## ", DOC.indexOf("## Limits") + 1));
  return section
    .split("\n")
    .filter((line) => line.startsWith("| `"))
    .map((line) => {
      const [route = "", body = "", items = ""] = line
        .split("|")
        .slice(1, -1)
        .map((cell) => cell.trim());
      const [method = "", path = ""] = route.replaceAll("`", "").split(" ");
      const mib = /^(\d+) MiB$/.exec(body)?.[1];
      return { method, path, body: mib ? Number(mib) * 1024 * 1024 : null, items: boundsOf(items) };
    });
}

interface Bounds {
  field: string;
  min: number;
  max: number;
}

/** "`points`: 1–10,000" */
function boundsOf(cell: string): Bounds | null {
  const match = /^`(\w+)`: (\d+)–([\d,]+)/.exec(cell);
  if (!match?.[1] || !match[2] || !match[3]) return null;
  return { field: match[1], min: Number(match[2]), max: Number(match[3].replaceAll(",", "")) };
}

describe.each(dialects())("docs/PROTOCOL.md's limits, on %s", (dialect) => {
  let t: TestApp;
  let id: number;
  beforeAll(async () => {
    t = await startTestApp(dialect);
    const registered = await t.request({ method: "POST", url: "/v1/deployments", body: registration() });
    id = registered.json().id;
  });
  afterAll(async () => t?.close());

  /** The smallest valid body of each POST route in the table. */
  const smallest: Record<string, unknown> = {
    "/v1/deployments": registration({ model: "padded" }),
    "/v1/deployments/{id}/heartbeat": { served_version: "3.2.0" },
    "/v1/deployments/{id}/metrics": { points: [{ name: "auc", value: 0.9 }] },
    "/v1/deployments/{id}/samples": { rows: [{ amount: 1 }] },
    "/v1/feedback": { items: [{ request_id: "r-1", label: true }] },
  };

  it("takes a body of exactly each route's documented limit, and answers one byte more with 413 naming it", async () => {
    const rows = limitRows().filter((row) => row.body !== null);
    expect(rows.map((row) => row.path)).toEqual(expect.arrayContaining(Object.keys(smallest)));
    for (const row of rows) {
      const limit = row.body as number;
      const body = JSON.stringify(smallest[row.path]);
      expect(body, `a body for ${row.path}`).toBeDefined();
      const url = row.path.replace("{id}", String(id));
      const send = (size: number) =>
        t.request({
          method: "POST",
          url,
          token: t.tokens.admin,
          body: body + " ".repeat(size - body.length),
        });
      const fits = await send(limit);
      expect(fits.statusCode, `${row.path} at ${limit} bytes: ${fits.body}`).toBeLessThan(300);
      const over = await send(limit + 1);
      expect(over.statusCode).toBe(413);
      expect(over.json().detail).toBe(
        `the request body is larger than ${limit / 1024 / 1024} MiB, the limit of POST ${row.path}`,
      );
    }
  });

  it("states each list's bounds as the route's schema has them", async () => {
    const document = (await t.request({ method: "GET", url: "/openapi.json" })).json();
    const rows = limitRows().filter((row) => row.items !== null);
    expect(rows.length).toBeGreaterThanOrEqual(4);
    for (const row of rows) {
      const bounds = row.items as Bounds;
      if (row.method === "POST") {
        const schema = document.paths[row.path].post.requestBody.content["application/json"].schema;
        expect(schema.properties[bounds.field], row.path).toMatchObject({
          minItems: bounds.min,
          maxItems: bounds.max,
        });
      } else {
        const get = (value: number) =>
          t.request({ method: "GET", url: `${row.path}?${bounds.field}=${value}` });
        expect((await get(bounds.min)).statusCode).toBe(200);
        expect((await get(bounds.max)).statusCode).toBe(200);
        expect((await get(bounds.min - 1)).statusCode).toBe(400);
        expect((await get(bounds.max + 1)).statusCode).toBe(400);
      }
    }
  });
});

// Each program is checked once, here: a missing one skips its suite with one line, or fails under CI=true.
const hasCurl = hasExternalTool(CURL, "apt-get install curl");
const hasPython = hasExternalTool(PYTHON, "apt-get install python3");

describe.skipIf(!hasCurl).each(dialects())(
  "docs/PROTOCOL.md's curl examples against tenure serve on %s",
  { timeout: 60_000 },
  (dialect) => {
    let started: ProtocolServer;
    beforeAll(async () => {
      started = await startProtocolServer(dialect);
    });
    afterAll(async () => started?.stop());

    it("each one, run as written in the page's order, answers the status and the body printed under it", async () => {
      const env: Record<string, string> = { ...started.env };
      const examples = readExamples(DOC);
      expect(examples.length).toBeGreaterThanOrEqual(12);
      for (const example of examples) {
        const outcome = await runExample(example, env);
        const where = `PROTOCOL.md line ${example.line}`;
        expect(outcome.status, where).toBe(example.status);
        expect(outcome.contentType, where).toBe(
          example.status >= 400
            ? "application/problem+json; charset=utf-8"
            : "application/json; charset=utf-8",
        );
        expect(withoutClock(outcome.body), where).toEqual(withoutClock(example.answer));
        // The page's examples name the deployment the registration answered.
        if (outcome.status === 201) env.DEPLOYMENT_ID = String((outcome.body as { id: number }).id);
      }
    });
  },
);

describe.skipIf(!hasPython).each(dialects())(
  "examples/python/tenure_protocol.py against tenure serve on %s",
  { timeout: 60_000 },
  (dialect) => {
    let started: ProtocolServer;
    let id: number;
    beforeAll(async () => {
      started = await startProtocolServer(dialect);
      const { TENURE_URL, TENURE_TOKEN } = started.env;
      const post = async (path: string, body: unknown) => {
        const answer = await fetch(`${TENURE_URL}${path}`, {
          method: "POST",
          headers: { authorization: `Bearer ${TENURE_TOKEN}`, "content-type": "application/json" },
          body: JSON.stringify(body),
        });
        expect(answer.status, await answer.clone().text()).toBeLessThan(300);
        return (await answer.json()) as { id: number };
      };
      ({ id } = await post("/v1/deployments", {
        model: "fraud-gbm",
        model_version: "3.2.0",
        training_data_cutoff: "2026-11-15",
        owner_team: "risk",
      }));
      // A stored reference makes the drift view show each day's samples, feature by feature.
      await post(`/v1/deployments/${id}/reference`, {
        rows: [
          { amount: 10, country: "de", card_present: true },
          { amount: 500, country: "fr", card_present: false },
        ],
      });
    });
    afterAll(async () => started?.stop());

    const python = (env: Record<string, string>): Promise<RunResult> =>
      new Promise((done, fail) => {
        execFile(
          PYTHON,
          [PYTHON_EXAMPLE],
          { cwd: ROOT, env: cleanEnv({ ...env, TENURE_URL: started.env.TENURE_URL }), timeout: 20_000 },
          (error, stdout, stderr) => {
            if (error && typeof error.code !== "number") fail(error);
            else done({ code: error ? (error.code as number) : 0, stdout, stderr });
          },
        );
      });
    const read = async <T>(path: string): Promise<T> => {
      const answer = await fetch(`${started.env.TENURE_URL}${path}`, {
        headers: { authorization: `Bearer ${started.env.READ_TOKEN}` },
      });
      expect(answer.status).toBe(200);
      return (await answer.json()) as T;
    };
    type Deployment = { last_heartbeat_at: string; reported_version: string | null };
    type Drift = {
      deployments: Array<{
        deployment_id: number;
        checks: Array<{ features: Array<{ feature: string; current_size: number }> }>;
      }>;
    };

    it("finds the live primary, and its heartbeat, metric and feature samples arrive through the API", async () => {
      const run = await python({
        TENURE_TOKEN: started.env.TENURE_TOKEN,
        MODEL: "fraud-gbm",
        MODEL_VERSION: "3.2.0",
      });
      expect(run, run.stderr).toMatchObject({ code: 0, stderr: "" });
      expect(JSON.parse(run.stdout)).toEqual({ deployment_id: id, accepted: 2, day: expect.any(String) });

      const deployment = await read<Deployment>(`/v1/deployments/${id}`);
      expect(Date.parse(deployment.last_heartbeat_at)).toBeGreaterThan(Date.now() - 60_000);
      expect(deployment.reported_version).toBeNull();

      const timeline = await read<{ metrics: unknown[] }>(`/v1/deployments/${id}/timeline`);
      expect(timeline.metrics).toEqual([
        expect.objectContaining({
          name: "auc",
          windows: [expect.objectContaining({ samples: 4120, mean: 0.931 })],
        }),
      ]);

      const drift = await read<Drift>("/v1/models/fraud-gbm/drift");
      const checks = drift.deployments.find((d) => d.deployment_id === id)?.checks ?? [];
      expect(checks).toHaveLength(1);
      expect(checks[0]?.features.map((f) => [f.feature, f.current_size])).toEqual([
        ["amount", 2],
        ["card_present", 2],
        ["country", 2],
      ]);
    });

    it("with TENURE_DEPLOYMENT_ID and another version than the registry's, says so and the deployment shows it", async () => {
      const run = await python({
        TENURE_TOKEN: started.env.TENURE_TOKEN,
        TENURE_DEPLOYMENT_ID: String(id),
        MODEL: "fraud-gbm",
        MODEL_VERSION: "3.1.9",
      });
      expect(run.code, run.stderr).toBe(0);
      expect(run.stdout.split("\n")[0]).toBe(
        `deployment ${id} is registered with another version than 3.1.9`,
      );
      expect((await read<Deployment>(`/v1/deployments/${id}`)).reported_version).toBe("3.1.9");
    });

    it("exits non-zero with one line when the model has no live primary", async () => {
      const run = await python({
        TENURE_TOKEN: started.env.TENURE_TOKEN,
        MODEL: "no-such-model",
        MODEL_VERSION: "1",
      });
      expect(run).toMatchObject({
        code: 1,
        stdout: "",
        stderr: "no-such-model has no live primary in production\n",
      });
    });
  },
);
