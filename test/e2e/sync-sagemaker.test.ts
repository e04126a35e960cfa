import { spawn } from "node:child_process";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { type BothPaths, startBothPaths } from "../support/both-paths.js";
import { FAKE_CREDENTIALS, type FakeSagemaker, startFakeSagemaker } from "../support/fake-sagemaker.js";
import {
  cleanEnv,
  expectOneLineFailure,
  lines,
  pollUntil,
  type RunResult,
  runTenure,
  TENURE_BIN,
  tempDir,
} from "../support/process.js";

const DAY = 86_400_000;
const OWNED = { owner_team: "risk", training_data_cutoff: "2026-06-30" };

/**
 * The AWS SDK's default chain finds the fake's keys in the environment; nothing of the machine's
 * own AWS setup (profiles, files, instance metadata) is read.
 */
const AWS_ENV = {
  AWS_ACCESS_KEY_ID: FAKE_CREDENTIALS.accessKeyId,
  AWS_SECRET_ACCESS_KEY: FAKE_CREDENTIALS.secretAccessKey,
  AWS_SESSION_TOKEN: "",
  AWS_PROFILE: "",
  AWS_REGION: "",
  AWS_DEFAULT_REGION: "",
  AWS_CONFIG_FILE: "/nonexistent/aws-config",
  AWS_SHARED_CREDENTIALS_FILE: "/nonexistent/aws-credentials",
  AWS_EC2_METADATA_DISABLED: "true",
  AWS_MAX_ATTEMPTS: "",
};

describe("tenure sync sagemaker as a process", { timeout: 120_000 }, () => {
  let fake: FakeSagemaker;
  let dir: { path: string; remove(): void };
  let database: string;

  beforeEach(async () => {
    fake = await startFakeSagemaker({ pageSize: 2 });
    dir = tempDir();
    database = join(dir.path, "tenure.db");
    const init = await runTenure(["init", "--database", database], { cwd: dir.path });
    expect(init.code, init.stderr).toBe(0);
  });

  afterEach(async () => {
    await fake.close();
    dir.remove();
  });

  const sync = (args: string[] = [], env: Record<string, string> = {}): Promise<RunResult> =>
    runTenure(
      [
        "sync",
        "sagemaker",
        "--region",
        "us-east-1",
        "--endpoint-url",
        fake.url,
        "--database",
        database,
        ...args,
      ],
      { cwd: dir.path, env: { ...AWS_ENV, ...env } },
    );

  /** fraud-gbm v1 serving on fraud-prod, v2 approved and ready; churn-xgb v1 on churn-prod. */
  function fleet(now = Date.now()) {
    fake.group("fraud-gbm", now - 200 * DAY);
    fake.group("churn-xgb", now - 190 * DAY);
    fake.group("unused", now - 180 * DAY);
    const v1 = fake.modelPackage("fraud-gbm", { createdAt: now - 60 * DAY, metadata: OWNED });
    fake.modelPackage("fraud-gbm", { createdAt: now - 5 * DAY, metadata: OWNED });
    const churn = fake.modelPackage("churn-xgb", { createdAt: now - 90 * DAY, metadata: OWNED });
    fake.model("fraud-gbm-v1", { packageArn: v1 }, now - 50 * DAY);
    fake.model("churn-xgb-v1", { packageArn: churn }, now - 80 * DAY);
    fake.endpoint("fraud-prod", [{ model: "fraud-gbm-v1" }], { createdAt: now - 40 * DAY });
    fake.endpoint("churn-prod", [{ model: "churn-xgb-v1" }], { createdAt: now - 70 * DAY });
  }

  it("the first sync registers what serves, a second changes nothing, a changed endpoint supersedes", async () => {
    fleet();
    const first = await sync();
    expect(first.code, first.stderr).toBe(0);
    expect(first.stderr).toBe("");
    const [summary, ...rest] = lines(first.stdout);
    expect(summary).toBe("sagemaker: 2 serving, 2 registered, 0 unchanged");
    expect(rest).toEqual([
      expect.stringMatching(
        /^ {2}\+ churn-xgb 1 in production as #\d+; since .* \(its creation.*\) \[arn:aws:sagemaker:us-east-1:123456789012:endpoint\/churn-prod\/AllTraffic\]$/,
      ),
      expect.stringMatching(/^ {2}\+ fraud-gbm 1 in production as #\d+; since /),
    ]);

    const second = await sync();
    expect(second.code, second.stderr).toBe(0);
    expect(lines(second.stdout)).toEqual(["sagemaker: 2 serving, 0 registered, 2 unchanged"]);

    const v2 = fake.state.packages.find((p) => p.group === "fraud-gbm" && p.version === 2)?.arn ?? "";
    fake.model("fraud-gbm-v2", { packageArn: v2 }, Date.now() - DAY);
    fake.updateEndpoint("fraud-prod", [{ model: "fraud-gbm-v2" }], Date.now() - DAY);
    const third = await sync();
    expect(third.code, third.stderr).toBe(0);
    expect(lines(third.stdout)).toEqual([
      "sagemaker: 2 serving, 1 registered, 1 unchanged",
      expect.stringMatching(
        /^ {2}\+ fraud-gbm 2 in production as #\d+, supersedes 1; since .* \(discovered by this sync\)/,
      ),
    ]);
    const ls = await runTenure(["ls", "--json", "--database", database], { cwd: dir.path });
    const items = (
      JSON.parse(ls.stdout) as { items: { model: string; model_version: string; status: string }[] }
    ).items;
    expect(items.map((d) => `${d.model} ${d.model_version}`).sort()).toEqual(["churn-xgb 1", "fraud-gbm 2"]);
  });

  it("ghosts, missing metadata and zombies are reported in one line each and registered nothing", async () => {
    fleet();
    expect((await sync()).code).toBe(0);
    const bare = fake.modelPackage("churn-xgb", {
      createdAt: Date.now() - DAY,
      metadata: { owner_team: "growth" },
    });
    fake.model("churn-xgb-v2", { packageArn: bare }, Date.now() - DAY);
    fake.updateEndpoint("churn-prod", [{ model: "churn-xgb-v2" }], Date.now() - DAY);
    fake.model(
      "handmade",
      { image: "123456789012.dkr.ecr.us-east-1.amazonaws.com/ranker:7" },
      Date.now() - DAY,
    );
    fake.endpoint("ranker-prod", [{ model: "handmade" }], { createdAt: Date.now() - DAY });
    fake.state.endpoints = fake.state.endpoints.filter((e) => e.name !== "fraud-prod");

    const result = await sync();
    expect(result.code, result.stderr).toBe(0);
    expect(lines(result.stdout)).toEqual([
      "sagemaker: 1 serving, 0 registered, 0 unchanged, 3 to look at",
      '  ! ghost: handmade serves in production [arn:aws:sagemaker:us-east-1:123456789012:endpoint/ranker-prod/AllTraffic] but is not registered: SageMaker Model "handmade" was not made from a model package (image 123456789012.dkr.ecr.us-east-1.amazonaws.com/ranker:7)',
      "  ! churn-xgb 2 [arn:aws:sagemaker:us-east-1:123456789012:endpoint/churn-prod/AllTraffic] lacks training_data_cutoff: not registered",
      expect.stringMatching(
        /^ {2}! zombie: #\d+ fraud-gbm 1 is live in production but nothing serves it \[arn:aws:sagemaker:us-east-1:123456789012:endpoint\/fraud-prod\/AllTraffic\]$/,
      ),
    ]);
  });

  it("throttled calls are retried by the SDK and the sync succeeds", async () => {
    fleet();
    fake.throttle("ListEndpoints", 1);
    fake.throttle("DescribeEndpoint", 1);
    const result = await sync(["--json"]);
    expect(result.code, result.stderr).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({ source: "sagemaker", observed: 2, errors: [] });
    expect(fake.calls.filter((c) => c.status === 400).map((c) => c.operation)).toEqual([
      "ListEndpoints",
      "DescribeEndpoint",
    ]);
  });

  it("pages through the registry and the endpoints with NextToken", async () => {
    fleet();
    for (let i = 0; i < 3; i++) fake.endpoint(`idle-${i}`, [], { createdAt: Date.now(), status: "Failed" });
    const result = await sync(["--json"]);
    expect(result.code, result.stderr).toBe(0);
    expect(JSON.parse(result.stdout).registered).toHaveLength(2);
    const tokens = fake.calls
      .filter((c) => c.operation === "ListEndpoints")
      .map((c) => typeof c.input.NextToken);
    expect(tokens).toEqual(["undefined", "string", "string"]);
  });

  it("a dry run prints what it would register as JSON and registers nothing", async () => {
    fleet();
    const result = await sync(["--dry-run", "--json"]);
    expect(result.code, result.stderr).toBe(0);
    const report = JSON.parse(result.stdout);
    expect(report).toMatchObject({
      source: "sagemaker",
      dry_run: true,
      observed: 2,
      unchanged: 0,
      findings: [],
    });
    expect(
      report.registered.map((r: { model: string; deployment_id: null }) => [r.model, r.deployment_id]),
    ).toEqual([
      ["churn-xgb", null],
      ["fraud-gbm", null],
    ]);
    const ls = await runTenure(["ls", "--json", "--database", database], { cwd: dir.path });
    expect(JSON.parse(ls.stdout).items).toEqual([]);
  });

  it("wrong credentials fail in one line naming the call, with exit 1", async () => {
    fleet();
    const result = await sync([], { AWS_ACCESS_KEY_ID: "AKIANOTTHEFAKEKEY000" });
    expect(expectOneLineFailure(result, 1)).toBe(
      "tenure: SageMaker ListModelPackageGroups failed: UnrecognizedClientException: The security token included in the request is invalid.",
    );
  });

  it("bad flags exit 2 in one line, before any call to SageMaker", async () => {
    const cases: [string[], RegExp][] = [
      [["--region", "Mars"], /^tenure: .*--region must be a region such as us-east-1/],
      [
        ["--endpoint-url", "ftp://example.com"],
        /^tenure: .*--endpoint-url must be an http:\/\/ or https:\/\/ URL/,
      ],
      [["--environment", "Prod Env"], /^tenure: .*--environment must be a slug/],
      [["--group", "fraud_gbm!"], /^tenure: .*--group must be a model package group name/],
      [["--every", "soon"], /^tenure: .*--every must be a duration/],
      [["--colour"], /^tenure: unknown option '--colour'/],
    ];
    for (const [args, message] of cases) {
      expect(expectOneLineFailure(await sync(args), 2)).toMatch(message);
    }
    const noRegion = await runTenure(
      ["sync", "sagemaker", "--endpoint-url", fake.url, "--database", database],
      {
        cwd: dir.path,
        env: AWS_ENV,
      },
    );
    expect(expectOneLineFailure(noRegion, 2)).toBe("tenure: --region is required (or set AWS_REGION)");
    expect(fake.calls).toEqual([]);
  });

  it("AWS_REGION stands in for --region", async () => {
    fleet();
    const result = await runTenure(
      ["sync", "sagemaker", "--endpoint-url", fake.url, "--database", database, "--json"],
      { cwd: dir.path, env: { ...AWS_ENV, AWS_REGION: "us-east-1" } },
    );
    expect(result.code, result.stderr).toBe(0);
    expect(JSON.parse(result.stdout).registered).toHaveLength(2);
  });

  it("--every syncs again after each interval until stopped, and a change between rounds is registered", async () => {
    fleet();
    const child = spawn(
      process.execPath,
      [
        TENURE_BIN,
        "sync",
        "sagemaker",
        "--region",
        "us-east-1",
        "--endpoint-url",
        fake.url,
        "--database",
        database,
        "--every",
        "1s",
      ],
      { cwd: dir.path, env: cleanEnv(AWS_ENV), stdio: ["ignore", "pipe", "pipe"] },
    );
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => {
      stdout += chunk.toString("utf8");
    });
    child.stderr.on("data", (chunk: Buffer) => {
      stderr += chunk.toString("utf8");
    });
    const exited = new Promise<number | null>((done) => child.on("exit", (code) => done(code)));
    try {
      await pollUntil("the first round", () => (stdout.includes("2 registered") ? true : undefined));
      const v2 = fake.state.packages.find((p) => p.group === "fraud-gbm" && p.version === 2)?.arn ?? "";
      fake.model("fraud-gbm-v2", { packageArn: v2 }, Date.now());
      fake.updateEndpoint("fraud-prod", [{ model: "fraud-gbm-v2" }], Date.now());
      await pollUntil("a later round to register the change", () =>
        stdout.includes("1 registered, 1 unchanged") ? true : undefined,
      );
    } finally {
      child.kill("SIGTERM");
    }
    expect(await exited).toBe(0);
    expect(stderr).toBe("");
  });
});

describe("tenure sync sagemaker through TENURE_URL", { timeout: 120_000 }, () => {
  let paths: BothPaths;
  let fake: FakeSagemaker;
  let dir: { path: string; remove(): void };

  beforeAll(async () => {
    paths = await startBothPaths("write");
    fake = await startFakeSagemaker({ pageSize: 2 });
    dir = tempDir();
  });

  afterAll(async () => {
    await fake?.close();
    await paths?.stop();
    dir?.remove();
  });

  it("registers through the server what it registers on the database, and a second sync changes nothing", async () => {
    const now = Date.now();
    fake.group("fraud-gbm", now - 100 * DAY);
    const v1 = fake.modelPackage("fraud-gbm", { createdAt: now - 60 * DAY, metadata: OWNED });
    fake.model("fraud-gbm-v1", { packageArn: v1 }, now - 50 * DAY);
    fake.endpoint("fraud-prod", [{ model: "fraud-gbm-v1" }], { createdAt: now - 40 * DAY });
    const args = ["sync", "sagemaker", "--region", "us-east-1", "--endpoint-url", fake.url, "--json"];
    const remote = await runTenure(args, {
      cwd: dir.path,
      env: { ...AWS_ENV, TENURE_URL: paths.server.url, TENURE_TOKEN: paths.server.token },
    });
    expect(remote.code, remote.stderr).toBe(0);
    const local = await runTenure([...args, "--database", paths.localDatabase], {
      cwd: dir.path,
      env: AWS_ENV,
    });
    expect(local.code, local.stderr).toBe(0);
    const shape = (r: RunResult) =>
      (JSON.parse(r.stdout).registered as Record<string, unknown>[]).map(({ deployment_id, ...rest }) => ({
        ...rest,
        deployment_id: typeof deployment_id,
      }));
    expect(shape(remote)).toEqual(shape(local));
    expect(shape(remote)).toHaveLength(1);

    const again = await runTenure(args, {
      cwd: dir.path,
      env: { ...AWS_ENV, TENURE_URL: paths.server.url, TENURE_TOKEN: paths.server.token },
    });
    expect(JSON.parse(again.stdout)).toMatchObject({ registered: [], unchanged: 1 });
  });
});
