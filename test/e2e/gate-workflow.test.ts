import { execFile } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { renderTemplate } from "../../src/alerts/channels/webhook.js";
import type { Notification } from "../../src/alerts/notification.js";
import { openContext } from "../../src/context.js";
import { CandidateFile, GateBody } from "../../src/lifecycle/gate-input.js";
import { parsePolicyFile } from "../../src/lifecycle/policy-file.js";
import { createTestDatabase, type TestDatabase } from "../support/databases.js";
import {
  cleanEnv,
  runTenure,
  type ServeProcess,
  startServe,
  TENURE_BIN,
  tempDir,
} from "../support/process.js";

/*
 * examples/ci/retrain-on-due.yml and examples/ci/policies.yaml, held to what they promise: Tenure's
 * `due` webhook renders the repository_dispatch body the workflow listens for, the workflow
 * gates before it deploys, and its shell steps, run here in order as GitHub's runner runs them
 * (bash -eo pipefail, step outputs through $GITHUB_OUTPUT), write a candidate.json the gate
 * accepts and register the new deployment only when the gate passes.
 */

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const WORKFLOW = join(ROOT, "examples/ci/retrain-on-due.yml");
const POLICIES = join(ROOT, "examples/ci/policies.yaml");
const POLICY_ENV = {
  GITHUB_DISPATCH_URL: "http://127.0.0.1:9/repos/acme/fraud/dispatches",
  GITHUB_DISPATCH_TOKEN: "github_pat_example",
};
const DAY = 86_400_000;
const ACTOR = { name: "test", key_scope: "test", team: null };

interface Step {
  id?: string;
  name?: string;
  uses?: string;
  run?: string;
  env?: Record<string, string>;
  if?: string;
  "continue-on-error"?: boolean;
}
interface Job {
  env: Record<string, string>;
  steps: Step[];
}

const workflow = parse(readFileSync(WORKFLOW, "utf8")) as {
  on: { repository_dispatch: { types: string[] } };
  jobs: Record<string, Job>;
};
const job = Object.values(workflow.jobs)[0] as Job;
const stepIndex = (match: (step: Step) => boolean) => job.steps.findIndex(match);

/** The webhook channel's body for a notification, as Tenure sends it to GitHub. */
function dispatchBody(action: "trigger" | "resolve", deployment: Notification["deployment"]) {
  const result = parsePolicyFile(readFileSync(POLICIES, "utf8"), POLICY_ENV);
  if (!result.ok) throw new Error(JSON.stringify(result.errors));
  const channel = result.file.channels["retrain-fraud"];
  if (channel?.type !== "webhook" || channel.template === undefined) throw new Error("no webhook template");
  const notification: Notification = {
    action,
    alert: {
      id: 1,
      kind: "due",
      severity: "warning",
      summary: `${deployment.model} ${deployment.model_version} in ${deployment.environment} is due for review: 25d of 30d (83%)`,
      dedup_key: "tenure-1-due",
      state: "open",
      opened_at: new Date().toISOString(),
      resolved_at: null,
      resolution: null,
    },
    deployment,
    finding: {},
    evaluated_at: new Date().toISOString(),
    link: `http://tenure.local/deployments/${deployment.id}`,
  };
  return JSON.parse(renderTemplate(channel.template, notification, true)) as {
    event_type: string;
    client_payload: Record<string, string>;
  };
}

const deploymentOf = (id: number, cutoff: string): Notification["deployment"] => ({
  id,
  model: "fraud-gbm",
  model_version: "3.2.0",
  environment: "production",
  owner_team: "risk",
  role: "primary",
  status: "active",
  deployment_date: new Date().toISOString(),
  training_data_cutoff: cutoff,
  endpoint: null,
  policy: "fraud",
  age: { deployment_age_seconds: 0, data_age_seconds: 0, ttl_seconds: 0, ttl_fraction: 0, stage: "due" },
});

describe("examples/ci: retrain on Tenure's due webhook, gate, then deploy", () => {
  it("listens for the repository_dispatch event the webhook's trigger sends, and not for its resolve", () => {
    const trigger = dispatchBody("trigger", deploymentOf(7, "2026-10-01T00:00:00.000Z"));
    const resolve = dispatchBody("resolve", deploymentOf(7, "2026-10-01T00:00:00.000Z"));
    expect(workflow.on.repository_dispatch.types).toEqual([trigger.event_type]);
    expect(workflow.on.repository_dispatch.types).not.toContain(resolve.event_type);
    // GitHub refuses a client_payload of more than 10 top-level keys.
    expect(Object.keys(trigger.client_payload).length).toBeLessThanOrEqual(10);
    const used = [...readFileSync(WORKFLOW, "utf8").matchAll(/github\.event\.client_payload\.(\w+)/g)].map(
      (m) => m[1],
    );
    expect(used.length).toBeGreaterThan(0);
    for (const key of used) expect(Object.keys(trigger.client_payload), key).toContain(key);
    expect(trigger.client_payload).toMatchObject({
      model: "fraud-gbm",
      model_version: "3.2.0",
      owner_team: "risk",
    });
  });

  it("runs the gate before the deploy, and the deploy only when the gate passed", () => {
    const candidate = stepIndex((s) => s.run?.includes("> candidate.json") === true);
    const gate = stepIndex((s) => /^tenure gate /.test(s.run ?? ""));
    const deploy = stepIndex((s) => /^tenure deploy /.test(s.run ?? ""));
    expect(candidate).toBeGreaterThan(-1);
    expect(gate).toBeGreaterThan(candidate);
    expect(deploy).toBeGreaterThan(gate);
    // A failed gate fails the job, and later steps run only on success: no `if` may override it.
    for (const step of job.steps.slice(gate)) {
      expect(step.if, step.name).toBeUndefined();
      expect(step["continue-on-error"], step.name).toBeUndefined();
    }
    expect(job.steps[gate]?.run).toContain("--metrics candidate.json");
    expect(job.env).toMatchObject({
      TENURE_URL: expect.stringMatching(/^\$\{\{ secrets\.TENURE_URL \}\}$/),
      TENURE_TOKEN: expect.stringMatching(/^\$\{\{ secrets\.TENURE_TOKEN \}\}$/),
    });
    expect(job.steps.find((s) => s.id === "train")?.name).toMatch(/PLACEHOLDER/);
  });

  it("its policy file passes tenure policy check with the variables its header lists", async ({
    onTestFinished,
  }) => {
    const cwd = tempDir();
    onTestFinished(() => cwd.remove());
    const result = await runTenure(["policy", "check", POLICIES], { cwd: cwd.path, env: POLICY_ENV });
    expect(result, result.stderr).toMatchObject({
      code: 0,
      stdout: `${POLICIES}: 1 policy, 1 channel: ok\n`,
    });
  });

  describe("its steps, run against a Tenure server", { timeout: 120_000 }, () => {
    const dir = tempDir();
    let database: TestDatabase;
    let server: ServeProcess;
    let token: string;
    let payload: Record<string, string>;
    const shims = join(dir.path, "bin");

    beforeAll(async () => {
      database = await createTestDatabase("sqlite");
      const now = Date.now();
      const primaryCutoff = new Date(now - 50 * DAY).toISOString();
      const context = await openContext(database.url, { policies: POLICIES, env: POLICY_ENV });
      try {
        const { deployment } = await context.registry.register(
          {
            model: "fraud-gbm",
            model_version: "3.2.0",
            training_data_cutoff: primaryCutoff,
            owner_team: "risk",
            environment: "production",
            role: "primary",
            deployment_date: new Date(now - 5 * DAY).toISOString(),
          },
          ACTOR,
        );
        await context.lifecycle.recordMetrics(
          deployment.id,
          ACTOR,
          [0.9, 0.91, 0.905].map((value, i) => ({
            name: "accuracy",
            value,
            sample_size: 5000,
            timestamp: now - (3 - i) * DAY,
          })),
        );
        payload = dispatchBody("trigger", deploymentOf(deployment.id, primaryCutoff)).client_payload;
      } finally {
        await context.close();
      }
      const created = await runTenure(
        ["token", "create", "--scope", "write", "--team", "risk", "--database", database.url],
        { cwd: dir.path },
      );
      expect(created.code, created.stderr).toBe(0);
      token = created.stdout.trim();
      server = await startServe({
        cwd: dir.path,
        database: database.url,
        env: POLICY_ENV,
        extraArgs: ["--policies", POLICIES],
      });
      // `npm install --global tenure` as the runner would have it: this checkout's CLI on PATH.
      mkdirSync(shims);
      writeFileSync(join(shims, "tenure"), `#!/bin/sh\nexec "${process.execPath}" "${TENURE_BIN}" "$@"\n`);
      chmodSync(join(shims, "tenure"), 0o755);
    });
    afterAll(async () => {
      await server?.stop();
      await database?.drop();
      dir.remove();
    });

    /**
     * Runs the job's `run` steps in order as the runner would, stopping at the first that fails:
     * `${{ … }}` in env read secrets, vars, the dispatch payload and earlier steps' outputs.
     * The CLI's install is the shim above; `uses:` steps have nothing to do here.
     */
    async function runJob(options: {
      vars: Record<string, string>;
      outputs?: Record<string, Record<string, string>>;
      runNumber: number;
    }) {
      const work = join(dir.path, `run-${options.runNumber}`);
      mkdirSync(work);
      const outputs: Record<string, Record<string, string>> = {};
      const expression = (value: string) =>
        value.replace(/\$\{\{ *([\w.-]+) *\}\}/g, (_all, path: string) => {
          const [root, ...rest] = path.split(".");
          if (root === "secrets") return { TENURE_URL: server.url, TENURE_TOKEN: token }[rest[0] ?? ""] ?? "";
          if (root === "vars") return options.vars[rest[0] ?? ""] ?? "";
          if (path.startsWith("github.event.client_payload.")) return payload[rest.at(-1) ?? ""] ?? "";
          if (root === "steps" && rest[1] === "outputs") return outputs[rest[0] ?? ""]?.[rest[2] ?? ""] ?? "";
          throw new Error(`the test does not know ${path}`);
        });
      const ran: { name: string; code: number; stdout: string; stderr: string }[] = [];
      for (const step of job.steps) {
        if (step.run === undefined || step.run.startsWith("npm install")) continue;
        const outputFile = join(work, `output-${ran.length}`);
        writeFileSync(outputFile, "");
        const env = cleanEnv({
          ...Object.fromEntries(
            Object.entries({ ...job.env, ...step.env }).map(([k, v]) => [k, expression(v)]),
          ),
          GITHUB_OUTPUT: outputFile,
          GITHUB_RUN_NUMBER: String(options.runNumber),
          GITHUB_RUN_ID: String(9_000_000 + options.runNumber),
          PATH: `${shims}:${process.env.PATH}`,
        });
        const script = join(work, `step-${ran.length}.sh`);
        writeFileSync(script, step.run);
        const result = await new Promise<{ code: number; stdout: string; stderr: string }>((done) =>
          execFile(
            "bash",
            ["--noprofile", "--norc", "-eo", "pipefail", script],
            { cwd: work, env },
            (error, stdout, stderr) => done({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr }),
          ),
        );
        ran.push({ name: step.name ?? step.run, ...result });
        const written = Object.fromEntries(
          readFileSync(outputFile, "utf8")
            .split("\n")
            .filter((line) => line.includes("="))
            .map((line) => [line.slice(0, line.indexOf("=")), line.slice(line.indexOf("=") + 1)]),
        );
        if (step.id) outputs[step.id] = { ...written, ...options.outputs?.[step.id] };
        if (result.code !== 0) break;
      }
      return { ran, work };
    }

    const live = async () => {
      const res = await fetch(`${server.url}/v1/deployments?model=fraud-gbm&status=active`, {
        headers: { authorization: `Bearer ${token}` },
      });
      return ((await res.json()) as { items: { model_version: string; tags: Record<string, string> }[] })
        .items;
    };

    it("as shipped, the placeholder fails the job before anything is gated or registered", async () => {
      const { ran } = await runJob({ vars: {}, runNumber: 1 });
      const last = ran.at(-1);
      expect(last?.name).toMatch(/PLACEHOLDER/);
      expect(last?.code).toBe(1);
      expect(last?.stdout).toContain("::error title=Placeholder::");
      expect((await live()).map((d) => d.model_version)).toEqual(["3.2.0"]);
    });

    it("writes a candidate.json the gate's schema accepts, and a losing candidate is blocked: nothing registered", async () => {
      const { ran, work } = await runJob({
        vars: { TENURE_PLACEHOLDER_TRAINING: "demo" },
        outputs: { train: { accuracy: "0.906" } },
        runNumber: 2,
      });
      const written = JSON.parse(readFileSync(join(work, "candidate.json"), "utf8"));
      const file = CandidateFile.parse(written);
      expect(GateBody.safeParse({ ...file, model_version: file.model_version }).success).toBe(true);
      expect(written).toMatchObject({ sample_size: 20000, metrics: { accuracy: 0.906 } });
      const gate = ran.at(-1);
      expect(gate?.name).toBe("Gate the candidate against the live primary");
      expect(gate?.code, gate?.stderr).toBe(1);
      expect(gate?.stdout).toMatch(/✗ accuracy 0\.906 against the primary's 0\.905/);
      expect((await live()).map((d) => d.model_version)).toEqual(["3.2.0"]);
    });

    it("with figures that beat the primary, the gate passes and tenure deploy registers the new primary", async () => {
      const { ran, work } = await runJob({ vars: { TENURE_PLACEHOLDER_TRAINING: "demo" }, runNumber: 3 });
      expect(ran.map((r) => [r.name, r.code])).toEqual([
        ["Name the candidate version", 0],
        ["Retrain (PLACEHOLDER - replace with your training job)", 0],
        ["Write candidate.json", 0],
        ["Gate the candidate against the live primary", 0],
        ["Register the new deployment", 0],
      ]);
      const candidate = CandidateFile.parse(JSON.parse(readFileSync(join(work, "candidate.json"), "utf8")));
      expect(ran[3]?.stdout).toMatch(
        /^promote fraud-gbm \S+ in production: it beats 3\.2\.0 on every check$/m,
      );
      expect(ran[4]?.stdout).toMatch(/^deployed fraud-gbm \S+ to production as primary: deployment \d+/);
      expect(await live()).toEqual([
        expect.objectContaining({
          model_version: candidate.model_version,
          tags: { retrained_from: "3.2.0" },
        }),
      ]);
      expect(existsSync(join(work, "candidate.json"))).toBe(true);
    });
  });
});
