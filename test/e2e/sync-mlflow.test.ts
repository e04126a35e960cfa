import { join } from "node:path";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { type FakeMlflow, type FakeMlflowOptions, startFakeMlflow } from "../support/fake-mlflow.js";
import {
  expectOneLineFailure,
  freePort,
  lines,
  pollUntil,
  type RunResult,
  runTenure,
  startServe,
  tempDir,
} from "../support/process.js";

const DAY = 86_400_000;
const TOKEN = "dapi-e2e-s3cret-7f3a9c";
const TAGS = { owner_team: "risk", training_data_cutoff: "2026-06-30" };

/** Every output of every run, checked at the end for the token. */
const outputs: string[] = [];
const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});
afterAll(() => {
  expect(outputs.length).toBeGreaterThan(0);
  for (const output of outputs) expect(output).not.toContain(TOKEN);
});

interface Setup {
  mlflow: FakeMlflow;
  database: string;
  tenure(...args: string[]): Promise<RunResult>;
}

/** A fake MLflow that wants the token, a fresh database, and the CLI run with MLflow's own token variable. */
async function setUp(options: FakeMlflowOptions = {}): Promise<Setup> {
  const dir = tempDir();
  const mlflow = await startFakeMlflow({ auth: { bearer: TOKEN }, ...options });
  cleanups.push(
    () => dir.remove(),
    () => mlflow.close(),
  );
  const database = join(dir.path, "tenure.db");
  const tenure = async (...args: string[]) => {
    const result = await runTenure([...args, "--database", database], {
      cwd: dir.path,
      env: { MLFLOW_TRACKING_TOKEN: TOKEN },
    });
    outputs.push(result.stdout, result.stderr);
    return result;
  };
  const init = await tenure("init");
  expect(init.code, init.stderr).toBe(0);
  return { mlflow, database, tenure };
}

function champion(mlflow: FakeMlflow, name: string, tags: Record<string, string> = TAGS): string {
  mlflow.createModel(name);
  const version = mlflow.createVersion(name, { created: Date.now() - 30 * DAY, tags });
  mlflow.setAlias(name, "champion", version);
  return version;
}

/** What the registry holds, without the ages that move with the clock. */
async function registry(setup: Setup) {
  const listed = await setup.tenure("ls", "--all", "--json");
  expect(listed.code, listed.stderr).toBe(0);
  const { items } = JSON.parse(listed.stdout) as {
    items: {
      id: number;
      model: string;
      model_version: string;
      status: string;
      tags: Record<string, string>;
    }[];
  };
  return items.map(({ id, model, model_version, status, tags }) => ({
    id,
    model,
    model_version,
    status,
    tags,
  }));
}

describe("tenure sync mlflow as a process", { timeout: 60_000 }, () => {
  it("registers each champion, paging through MLflow and riding out a 429; a second sync changes nothing", async () => {
    const setup = await setUp({ pageCap: 2, int64: "alternate" });
    for (const name of ["churn", "fraud", "ranker"]) champion(setup.mlflow, name);
    setup.mlflow.fail({ status: 429, error_code: "REQUEST_LIMIT_EXCEEDED", retryAfter: "1" });
    const first = await setup.tenure("sync", "mlflow", "--url", setup.mlflow.url);
    expect(first.code, first.stderr).toBe(0);
    const [summary, ...rest] = lines(first.stdout);
    expect(summary).toBe("mlflow: 3 serving, 3 registered, 0 unchanged");
    expect(rest).toHaveLength(3);
    expect(rest[1]).toMatch(
      /^ {2}\+ fraud 1 in production as #\d+; since .* \(its creation: no record says when it started serving\) \[models:\/fraud@champion\]$/,
    );
    expect(setup.mlflow.requests.filter((r) => r.path === "registered-models/search")).toHaveLength(3);
    const before = await registry(setup);
    const second = await setup.tenure("sync", "mlflow", "--url", setup.mlflow.url, "--json");
    expect(second.code, second.stderr).toBe(0);
    expect(JSON.parse(second.stdout)).toMatchObject({
      registered: [],
      unchanged: 3,
      findings: [],
      errors: [],
    });
    expect(await registry(setup)).toEqual(before);
  });

  it("a moved alias supersedes the old deployment, its date marked as discovered", async () => {
    const setup = await setUp();
    champion(setup.mlflow, "fraud");
    expect((await setup.tenure("sync", "mlflow", "--url", setup.mlflow.url)).code).toBe(0);
    const next = setup.mlflow.createVersion("fraud", { created: Date.now() - 2 * DAY, tags: TAGS });
    setup.mlflow.setAlias("fraud", "champion", next);
    const moved = await setup.tenure("sync", "mlflow", "--url", setup.mlflow.url, "--json");
    expect(moved.code, moved.stderr).toBe(0);
    const report = JSON.parse(moved.stdout);
    expect(report.registered).toEqual([
      expect.objectContaining({ model: "fraud", model_version: "2", basis: "discovered" }),
    ]);
    expect(report.registered[0].supersedes).toMatchObject({ model_version: "1" });
    expect(await registry(setup)).toEqual([
      expect.objectContaining({ model_version: "1", status: "superseded" }),
      expect.objectContaining({
        model_version: "2",
        status: "active",
        tags: expect.objectContaining({ "tenure.dev/deployment-date-basis": "discovered" }),
      }),
    ]);
  });

  it("reports a version without its tags by the MLflow tag to set, and registers nothing", async () => {
    const setup = await setUp();
    champion(setup.mlflow, "fraud", { data_cutoff: "2026-06-30" });
    const result = await setup.tenure(
      "sync",
      "mlflow",
      "--url",
      setup.mlflow.url,
      "--map-tag",
      "owner_team=team,training_data_cutoff=data_cutoff",
    );
    expect(result.code, result.stderr).toBe(0);
    expect(lines(result.stdout)).toEqual([
      "mlflow: 1 serving, 0 registered, 0 unchanged, 1 to look at",
      "  ! fraud 1 [models:/fraud@champion] lacks tag `team` (owner_team): not registered",
    ]);
    expect(await registry(setup)).toEqual([]);
  });

  it("--dry-run shows what would change and changes nothing", async () => {
    const setup = await setUp();
    champion(setup.mlflow, "fraud");
    const result = await setup.tenure("sync", "mlflow", "--url", setup.mlflow.url, "--dry-run");
    expect(result.code, result.stderr).toBe(0);
    expect(lines(result.stdout)[0]).toBe("mlflow (dry run): 1 serving, 1 would register, 0 unchanged");
    expect(await registry(setup)).toEqual([]);
  });

  it("refuses a bad --url or mapping in one line with exit 2, never repeating a password", async () => {
    const setup = await setUp();
    const cases: [string[], RegExp][] = [
      [["--url", "ftp://mlflow.example"], /^tenure: --url must be an http:\/\/ or https:\/\/ URL$/],
      [["--url", "not a url"], /^tenure: --url must be an http:\/\/ or https:\/\/ URL$/],
      [["--url", `https://ada:${TOKEN}@mlflow.example`], /^tenure: --url must not carry credentials/],
      [["--url", setup.mlflow.url, "--map-tag", "team=owner"], /^tenure: .*--map-tag takes owner_team=TAG/],
      [["--url", setup.mlflow.url, "--alias", "champion=Prod"], /^tenure: .*the environment must be a slug/],
      [[], /^tenure: sync mlflow needs --url/],
    ];
    for (const [args, message] of cases) {
      const result = await setup.tenure("sync", "mlflow", ...args);
      expect(expectOneLineFailure(result, 2)).toMatch(message);
    }
    expect(setup.mlflow.requests).toEqual([]);
  });

  it("says in one line that MLflow cannot be reached, and exits 1", async () => {
    const setup = await setUp();
    const port = await freePort();
    const result = await setup.tenure("sync", "mlflow", "--url", `http://127.0.0.1:${port}`);
    expect(expectOneLineFailure(result, 1)).toMatch(
      new RegExp(
        `^tenure: cannot reach MLflow at http://127\\.0\\.0\\.1:${port}: .*ECONNREFUSED.*\\(after 5 attempts\\)$`,
      ),
    );
  });

  it("refused credentials fail in one line that never shows the token", async () => {
    const setup = await setUp();
    const wrong = `${TOKEN}-wrong`;
    const result = await setup.tenure("sync", "mlflow", "--url", setup.mlflow.url, "--token", wrong);
    expect(expectOneLineFailure(result, 1)).toMatch(/refused registered-models\/search: UNAUTHENTICATED/);
    expect(result.stderr).not.toContain(wrong);
    expect(setup.mlflow.requests[0]?.authorization).toBe(`Bearer ${wrong}`);
  });

  it("under serve, syncs on a schedule: the champion appears, and a moved alias supersedes it", async () => {
    const setup = await setUp();
    champion(setup.mlflow, "fraud");
    const server = await startServe({
      cwd: join(setup.database, ".."),
      database: setup.database,
      extraArgs: ["--public-read", "--mlflow-url", setup.mlflow.url, "--mlflow-sync-every", "1s"],
      env: { TENURE_MLFLOW_TOKEN: TOKEN },
    });
    cleanups.push(async () => void (await server.stop()));
    const live = (version: string) =>
      pollUntil(`fraud ${version} to be the live primary`, async () => {
        const response = await fetch(`${server.url}/v1/deployments?model=fraud&status=active`);
        const { items } = (await response.json()) as {
          items: { model_version: string; tags: Record<string, string> }[];
        };
        return items[0]?.model_version === version ? items[0] : undefined;
      });
    expect((await live("1")).tags["tenure.dev/deployment-date-basis"]).toBe("version_created");
    setup.mlflow.setAlias("fraud", "champion", setup.mlflow.createVersion("fraud", { tags: TAGS }));
    expect((await live("2")).tags["tenure.dev/deployment-date-basis"]).toBe("discovered");
    await server.stop();
    outputs.push(server.stdout(), server.stderr());
    expect(server.stdout()).toContain('"msg":"mlflow sync"');
  });
});
