import { spawn } from "node:child_process";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { SyncReport } from "../../src/integrations/sync-applier.js";
import { createTestDatabase, type TestDatabase } from "../support/databases.js";
import {
  daysAgo,
  type FakeKubernetes,
  kubeTime,
  registrable,
  startFakeKubernetes,
} from "../support/fake-kubernetes.js";
import {
  cleanEnv,
  expectOneLineFailure,
  initDatabase,
  lines,
  pollUntil,
  runTenure,
  type ServeProcess,
  startServe,
  TENURE_BIN,
  tempDir,
} from "../support/process.js";

describe("tenure sync kubernetes, the CLI as a process against a cluster's API", { timeout: 60_000 }, () => {
  let cluster: FakeKubernetes;
  const dir = tempDir();
  let database: string;
  let kubeconfig: string;

  beforeEach(async () => {
    cluster = await startFakeKubernetes();
    kubeconfig = cluster.writeKubeconfig();
    database = await initDatabase(dir.path);
  });
  afterEach(async () => {
    await cluster.close();
  });
  afterAll(() => dir.remove());

  const sync = (args: string[], env: Record<string, string> = {}) =>
    runTenure(["sync", "kubernetes", ...args, "--database", database], {
      cwd: dir.path,
      env: { KUBECONFIG: kubeconfig, ...env },
    });

  it("registers a rolled-out Deployment at its rollout's exact time and says so; a second sync changes nothing", async () => {
    const rolledOut = daysAgo(2);
    cluster.deploy(registrable("fraud-gbm", "3.2.0", { available: rolledOut }));
    cluster.deploy(registrable("ranker", "8", "progressing"));

    const first = await sync([]);

    expect(first.code, first.stderr).toBe(0);
    const out = lines(first.stdout);
    expect(out[0]).toBe("kubernetes: 1 serving, 1 registered, 0 unchanged, 1 pending");
    expect(out[1]).toMatch(
      /^ {2}\+ fraud-gbm 3\.2\.0 in production as #1; since .* \(exact\) \[deployment\/ml\/fraud-gbm\]$/,
    );
    expect(out[2]).toBe("  … ranker 8 in production [deployment/ml/ranker]: 1 of 3 replicas updated");
    const shown = await runTenure(["ls", "--json", "--database", database], { cwd: dir.path });
    const listed = JSON.parse(shown.stdout) as { items: { model: string; deployment_date: string }[] };
    expect(listed.items.map((d) => [d.model, d.deployment_date])).toEqual([
      ["fraud-gbm", new Date(rolledOut).toISOString()],
    ]);

    const second = await sync([]);
    expect(second.code, second.stderr).toBe(0);
    expect(lines(second.stdout)[0]).toBe("kubernetes: 1 serving, 0 registered, 1 unchanged, 1 pending");
  });

  it("prints the report as JSON with --json, and registers nothing with --dry-run", async () => {
    cluster.serveInferenceServices = false;
    cluster.deploy(registrable("fraud-gbm", "3.2.0", { available: daysAgo(1) }));

    const run = await sync(["--json", "--dry-run"]);

    expect(run.code, run.stderr).toBe(0);
    const report = JSON.parse(run.stdout) as SyncReport;
    expect(report).toMatchObject({
      source: "kubernetes",
      dry_run: true,
      observed: 1,
      registered: [expect.objectContaining({ model: "fraud-gbm", deployment_id: null, basis: "exact" })],
      pending: [],
      notes: [
        "the cluster does not serve serving.kserve.io/v1beta1 (its CRD is not installed): no InferenceService was read",
      ],
    });
    const shown = await runTenure(["ls", "--json", "--database", database], { cwd: dir.path });
    expect(JSON.parse(shown.stdout)).toEqual({ items: [], next_cursor: null });
  });

  it("uses the kubeconfig context --context names, and refuses an unknown context or a namespace that is no name (exit 2)", async () => {
    kubeconfig = cluster.writeKubeconfig({ current: "elsewhere" });
    cluster.deploy(registrable("fraud-gbm", "3.2.0", { available: daysAgo(1) }));

    const picked = await sync(["--context", "fake", "--json"]);
    expect(picked.code, picked.stderr).toBe(0);
    expect((JSON.parse(picked.stdout) as SyncReport).registered).toHaveLength(1);

    expect(expectOneLineFailure(await sync(["--context", "nope"]), 2)).toBe(
      "tenure: --context nope is not in the kubeconfig (its contexts: fake, elsewhere)",
    );
    expect(expectOneLineFailure(await sync(["--namespace", "Not_A_Namespace"]), 2)).toContain(
      '--namespace "Not_A_Namespace" is not a valid name',
    );
    expect(expectOneLineFailure(await sync([], { KUBECONFIG: join(dir.path, "missing") }), 2)).toContain(
      "the kubeconfig cannot be read",
    );
  });
});

describe("tenure sync kubernetes --watch through a server (TENURE_URL)", { timeout: 60_000 }, () => {
  let cluster: FakeKubernetes;
  let database: TestDatabase;
  let server: ServeProcess;
  let token: string;
  const dir = tempDir();

  beforeAll(async () => {
    cluster = await startFakeKubernetes();
    database = await createTestDatabase("sqlite");
    const created = await runTenure(["token", "create", "--scope", "write", "--database", database.url], {
      cwd: dir.path,
    });
    expect(created.code, created.stderr).toBe(0);
    token = created.stdout.trim();
    server = await startServe({ cwd: dir.path, database: database.url });
  });
  afterAll(async () => {
    await server?.stop();
    await cluster?.close();
    await database?.drop();
    dir.remove();
  });

  async function api<T>(path: string): Promise<T> {
    const response = await fetch(`${server.url}${path}`, { headers: { authorization: `Bearer ${token}` } });
    expect(response.status).toBe(200);
    return (await response.json()) as T;
  }

  it("registers a rollout that becomes available while it watches, at the rollout's time, records a ghost, and stops on SIGTERM", async () => {
    cluster.deploy(registrable("fraud-gbm", "3.3.0", "progressing"));
    const child = spawn(process.execPath, [TENURE_BIN, "sync", "kubernetes", "--watch"], {
      cwd: dir.path,
      env: cleanEnv({
        KUBECONFIG: cluster.writeKubeconfig(),
        TENURE_URL: server.url,
        TENURE_TOKEN: token,
      }),
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
      stdout += chunk;
    });
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => {
      stderr += chunk;
    });
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((done) =>
      child.on("exit", (code, signal) => done({ code, signal })),
    );
    try {
      await pollUntil(
        "the first round's report",
        () => (stdout.includes("1 pending") ? true : undefined),
        20_000,
      );
      await pollUntil("the watches to open", () => (cluster.watching() === 3 ? true : undefined));
      expect((await api<{ items: unknown[] }>("/v1/deployments?model=fraud-gbm")).items).toEqual([]);

      const rolledOut = kubeTime(Date.now() - 1000);
      cluster.deploy(registrable("fraud-gbm", "3.3.0", { available: rolledOut }));
      cluster.deploy({
        name: "upsell",
        model: "upsell",
        version: "1.0.0",
        rollout: { available: rolledOut },
      });

      const registered = await pollUntil("the deployment registered from the watch", async () => {
        const page = await api<{
          items: { model_version: string; deployment_date: string; tags: Record<string, string> }[];
        }>("/v1/deployments?model=fraud-gbm");
        return page.items[0];
      });
      expect(registered).toMatchObject({
        model_version: "3.3.0",
        deployment_date: new Date(rolledOut).toISOString(),
        tags: { "tenure.dev/source": "kubernetes", "tenure.dev/deployment-date-basis": "exact" },
      });
      const ghosts = await pollUntil("the ghost recorded", async () => {
        const page = await api<{ items: { model: string; last_gateway: string }[] }>("/v1/ghosts");
        return page.items.length > 0 ? page.items : undefined;
      });
      expect(ghosts).toEqual([expect.objectContaining({ model: "upsell", last_gateway: "sync:kubernetes" })]);
      // The first round listed each kind once; everything after came from the watches.
      expect(cluster.requests.filter((r) => !r.watch)).toHaveLength(3);
    } finally {
      child.kill("SIGTERM");
    }
    expect(await exited, stderr).toEqual({ code: 0, signal: null });
    expect(stdout).toMatch(
      /\+ fraud-gbm 3\.3\.0 in production as #\d+; since .* \(exact\) \[deployment\/ml\/fraud-gbm\]/,
    );
    await pollUntil("the watches to close", () => (cluster.watching() === 0 ? true : undefined));
  });
});
