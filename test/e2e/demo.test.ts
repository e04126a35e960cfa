import { execFile, spawn } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  cells,
  cleanEnv,
  expectOneLineFailure,
  freePort,
  lines,
  pollUntil,
  runTenure,
  TENURE_BIN,
  tempDir,
} from "../support/process.js";

const DAY_S = 86_400;

interface Listed {
  id: number;
  model: string;
  environment: string;
  owner_team: string;
  status: string;
  age: {
    deployment_age_seconds: number;
    performance_age_seconds: number | null;
    stage: string | null;
    health_score: number | null;
    verdict: string | null;
  };
}

/** Runs a command line as a shell would, in `cwd`; resolves with its exit code and output. */
function shell(command: string, cwd: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((done) => {
    execFile("sh", ["-c", command], { cwd, env: cleanEnv(), timeout: 20_000 }, (error, stdout, stderr) =>
      done({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr }),
    );
  });
}

describe.concurrent("tenure demo", { timeout: 60_000 }, () => {
  let cwd: ReturnType<typeof tempDir>;
  beforeAll(() => {
    cwd = tempDir();
  });
  afterAll(() => cwd.remove());

  it("--seed-only makes a fleet of 30+ deployments: several teams and environments, ages from days to over a year, a superseded and a rolled_back", async () => {
    const seeded = await runTenure(["demo", "--seed-only", "--database", "seed/demo.db"], { cwd: cwd.path });
    expect(seeded.code, seeded.stderr).toBe(0);
    expect(seeded.stdout).toMatch(/^demo fleet: \d+ deployments/);
    expect(seeded.stderr).toBe("");

    const listed = await runTenure(["ls", "--all", "--json", "--database", "seed/demo.db"], {
      cwd: cwd.path,
    });
    expect(listed.code).toBe(0);
    const items = JSON.parse(listed.stdout).items as Listed[];
    expect(items.length).toBeGreaterThanOrEqual(30);
    expect(new Set(items.map((d) => d.owner_team)).size).toBeGreaterThanOrEqual(3);
    expect(new Set(items.map((d) => d.environment)).size).toBeGreaterThanOrEqual(2);
    const live = items.filter((d) => d.status === "active");
    expect(live.some((d) => d.age.deployment_age_seconds > 365 * DAY_S)).toBe(true);
    expect(live.some((d) => d.age.deployment_age_seconds < 7 * DAY_S)).toBe(true);
    expect(items.some((d) => d.status === "superseded")).toBe(true);
    expect(items.some((d) => d.status === "rolled_back")).toBe(true);
    expect(existsSync(join(cwd.path, "tenure.db"))).toBe(false);
  });

  it("serves a fleet whose rows show metrics, drift, every verdict and varied health; stdout holds no JSON log, and the printed commands work from any folder", async ({
    onTestFinished,
  }) => {
    const port = await freePort();
    const child = spawn(
      process.execPath,
      [
        TENURE_BIN,
        "demo",
        "--port",
        String(port),
        "--database",
        "served/demo.db",
        "--log",
        "served/demo.log",
      ],
      { cwd: cwd.path, env: cleanEnv(), stdio: ["ignore", "pipe", "pipe"] },
    );
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
      stdout += chunk;
    });
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => {
      stderr += chunk;
    });
    const exited = new Promise<number | null>((done) => child.on("exit", (code) => done(code)));
    onTestFinished(async () => {
      if (child.exitCode === null) child.kill("SIGTERM");
      await exited;
    });

    const commands = await pollUntil("the demo to print its commands", () => {
      if (child.exitCode !== null) throw new Error(`tenure demo exited early:\n${stderr}`);
      const printed = lines(stdout).filter((line) => line.includes("TENURE_URL="));
      return printed.length === 2 ? printed.map((line) => line.trim()) : undefined;
    });
    const [ls, show] = commands as [string, string];
    expect(ls).toMatch(
      new RegExp(
        `^TENURE_URL=http://127\\.0\\.0\\.1:${port} TENURE_TOKEN=tnr_\\S+ \\S+ /\\S+/bin/tenure\\.js ls$`,
      ),
    );
    await pollUntil("the demo to answer", async () => {
      const health = await fetch(`http://127.0.0.1:${port}/healthz`).catch(() => undefined);
      return health?.status === 200 ? true : undefined;
    });

    // Another folder, far from the package: the printed command carries its own paths.
    const elsewhere = tempDir();
    onTestFinished(() => elsewhere.remove());
    const table = await shell(ls, elsewhere.path);
    expect(table.code, table.stderr).toBe(0);
    const [header, ...rows] = cells(table.stdout);
    expect(header).toEqual(
      expect.arrayContaining(["AGE", "DATA AGE", "PERF AGE", "STAGE", "HEALTH", "VERDICT"]),
    );
    expect(rows.length).toBeGreaterThanOrEqual(20);
    const shown = await shell(show, elsewhere.path);
    expect(shown.code, shown.stderr).toBe(0);
    expect(shown.stdout).toMatch(/^ {2}health {11}\d+(\.\d)? \((retire|retrain)\)$/m);
    expect(shown.stdout).toMatch(/^ {2}auc {14}0\.\d+ on .+: degraded$/m);

    // The API says the same: metrics, drift and health, from the deployment views and timelines.
    const listed = await fetch(`http://127.0.0.1:${port}/v1/deployments?status=active&limit=500`);
    const { items } = (await listed.json()) as { items: Listed[] };
    const withMetrics = items.filter((d) => d.age.performance_age_seconds !== null);
    expect(withMetrics.length).toBeGreaterThanOrEqual(items.length - 2);
    expect(withMetrics.some((d) => (d.age.performance_age_seconds ?? 0) > 365 * DAY_S)).toBe(true);
    expect(new Set(items.map((d) => d.age.verdict))).toEqual(
      new Set(["keep", "review", "retrain", "retire"]),
    );
    const scores = new Set(items.map((d) => d.age.health_score));
    expect(scores.size).toBeGreaterThanOrEqual(10);
    expect(Math.min(...items.map((d) => d.age.health_score ?? 100))).toBeLessThan(50);
    const youngDegraded = [];
    const driftStates: string[] = [];
    for (const d of items) {
      const response = await fetch(`http://127.0.0.1:${port}/v1/deployments/${d.id}/timeline`);
      const timeline = (await response.json()) as {
        drift: { state: string | null };
        metrics: { state: string | null }[];
      };
      if (timeline.drift.state) driftStates.push(timeline.drift.state);
      const degraded = timeline.metrics.some((m) => m.state === "degraded");
      if (degraded && d.age.stage === "fresh") youngDegraded.push(d.model);
    }
    expect(driftStates).toContain("drifted");
    expect(driftStates).toContain("stable");
    expect(youngDegraded.length).toBeGreaterThanOrEqual(1);

    child.kill("SIGTERM");
    expect(await exited).toBe(0);
    expect(lines(stdout).filter((line) => line.trimStart().startsWith("{"))).toEqual([]);
    expect(stderr).toBe("");
    const log = lines(readFileSync(join(cwd.path, "served/demo.log"), "utf8")).map((line) =>
      JSON.parse(line),
    );
    expect(log.map((entry) => entry.msg)).toContain("tenure is serving");
  });

  it("fails on a port in use before anything is printed or made: exit 1 and one line naming the port and --port", async ({
    onTestFinished,
  }) => {
    const busy: Server = createServer();
    await new Promise<void>((done) => busy.listen(0, "127.0.0.1", done));
    onTestFinished(() => new Promise<void>((done) => busy.close(() => done())));
    const address = busy.address();
    const port = typeof address === "object" && address ? address.port : 0;
    const result = await runTenure(["demo", "--port", String(port), "--database", "busy/demo.db"], {
      cwd: cwd.path,
    });
    const message = expectOneLineFailure(result, 1);
    expect(message).toBe(
      `tenure: port ${port} on 127.0.0.1 is in use: stop what listens there, or choose another with --port`,
    );
    expect(existsSync(join(cwd.path, "busy"))).toBe(false);
  });

  it.each([
    ["./tenure.db", "./tenure.db"],
    ["tenure.db", "the same file spelled tenure.db"],
    ["postgres://postgres@127.0.0.1:5432/test", "a PostgreSQL URL"],
  ])("refuses --database %s (%s) with exit 2 and one line, touching nothing", async (target) => {
    const result = await runTenure(["demo", "--database", target], { cwd: cwd.path });
    expect(result.code).toBe(2);
    expect(lines(result.stderr)).toHaveLength(1);
    expect(result.stderr).toContain("--database");
    expect(existsSync(join(cwd.path, "tenure.db"))).toBe(false);
  });
});
