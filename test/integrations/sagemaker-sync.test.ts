import { readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type { SageMakerClient } from "@aws-sdk/client-sagemaker";
import ts from "typescript";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { LocalClient } from "../../src/cli/local-client.js";
import { SYNC_TAGS } from "../../src/core/sync-plan.js";
import { EgressPolicy } from "../../src/egress-policy.js";
import { observeSnapshot } from "../../src/integrations/sagemaker/sagemaker-observations.js";
import { readSagemaker, sagemakerClient } from "../../src/integrations/sagemaker/sagemaker-reader.js";
import { applySync, type SyncReport } from "../../src/integrations/sync-applier.js";
import { dialects } from "../support/databases.js";
import { FAKE_CREDENTIALS, type FakeSagemaker, startFakeSagemaker } from "../support/fake-sagemaker.js";
import { startTestApp, type TestApp } from "../support/test-app.js";

/** The fakes listen on 127.0.0.1: private egress is allowed here, as a test opts in. */
const egress = EgressPolicy.allowPrivate();

const NOW = Date.parse("2026-12-01T00:00:00Z");
const DAY = 86_400_000;
const at = (daysAgo: number) => NOW - daysAgo * DAY;
const OWNED = { owner_team: "risk", training_data_cutoff: "2026-06-30" };

describe.each(dialects())("tenure sync sagemaker on %s", (dialect) => {
  let app: TestApp;
  let fake: FakeSagemaker;
  let sagemaker: SageMakerClient;

  beforeEach(async () => {
    app = await startTestApp(dialect, { now: NOW });
    fake = await startFakeSagemaker({ pageSize: 2 });
    sagemaker = client();
  });

  afterEach(async () => {
    sagemaker.destroy();
    await fake.close();
    await app.close();
  });

  function client(maxAttempts?: number): SageMakerClient {
    return sagemakerClient({
      region: fake.region,
      endpoint: fake.url,
      credentials: FAKE_CREDENTIALS,
      maxAttempts,
      egress,
    });
  }

  async function sync(options: { dryRun?: boolean; group?: string; via?: SageMakerClient } = {}) {
    const snapshot = await readSagemaker(options.via ?? sagemaker, {
      region: fake.region,
      group: options.group,
    });
    const observed = observeSnapshot(snapshot, "production");
    return applySync(new LocalClient(app.context), "sagemaker", observed.observations, {
      dryRun: options.dryRun === true,
      environments: observed.environments,
      findings: observed.findings,
      zombieScope: observed.zombieScope,
      now: () => NOW,
    });
  }

  async function live() {
    const page = await new LocalClient(app.context).list({ environment: "production", status: "active" });
    return page.items.map((d) => ({ model: d.model, version: d.model_version, tags: d.tags }));
  }

  /** fraud-gbm with versions 1–3 (all approved), v2 serving on fraud-prod; churn-xgb v1 on churn-prod. */
  function fleet() {
    fake.group("fraud-gbm", at(200));
    fake.group("churn-xgb", at(190));
    fake.group("unused-group", at(180));
    fake.modelPackage("fraud-gbm", { createdAt: at(120), metadata: OWNED });
    const v2 = fake.modelPackage("fraud-gbm", { createdAt: at(60), metadata: OWNED });
    fake.modelPackage("fraud-gbm", { createdAt: at(5), metadata: OWNED });
    const churn = fake.modelPackage("churn-xgb", {
      createdAt: at(90),
      metadata: { owner_team: "growth", training_data_cutoff: "2026-08-01T00:00:00Z" },
    });
    fake.model("fraud-gbm-v2", { packageArn: v2 }, at(40));
    fake.model("churn-xgb-v1", { packageArn: churn }, at(80));
    fake.endpoint("fraud-prod", [{ model: "fraud-gbm-v2" }], { createdAt: at(30), configCreatedAt: at(31) });
    fake.endpoint("churn-prod", [{ model: "churn-xgb-v1" }], { createdAt: at(70) });
  }

  it("registers each approved package version an endpoint serves, dated by the latest creation of what serves it, and a second sync changes nothing", async () => {
    fleet();
    const first = await sync();
    expect(first.errors).toEqual([]);
    expect(first.findings).toEqual([]);
    expect(registered(first)).toEqual([
      ["churn-xgb", "1", iso(at(70)), "version_created"],
      ["fraud-gbm", "2", iso(at(30)), "version_created"],
    ]);
    const fraud = (await live()).find((d) => d.model === "fraud-gbm");
    expect(fraud?.tags).toEqual({
      [SYNC_TAGS.source]: "sagemaker",
      [SYNC_TAGS.ref]: `arn:aws:sagemaker:us-east-1:123456789012:endpoint/fraud-prod/AllTraffic`,
      [SYNC_TAGS.basis]: "version_created",
    });
    const deployment = await new LocalClient(app.context).list({ model: "churn-xgb" });
    expect(deployment.items[0]).toMatchObject({
      owner_team: "growth",
      training_data_cutoff: "2026-08-01T00:00:00.000Z",
    });

    const second = await sync();
    expect({ registered: second.registered, unchanged: second.unchanged, findings: second.findings }).toEqual(
      {
        registered: [],
        unchanged: 2,
        findings: [],
      },
    );
  });

  it("an approved package version that serves nowhere is not a deployment", async () => {
    fleet();
    await sync();
    const versions = (await live()).filter((d) => d.model === "fraud-gbm").map((d) => d.version);
    expect(versions).toEqual(["2"]);
  });

  it("an endpoint updated to another package version supersedes the old deployment, dated when the sync discovered it", async () => {
    fleet();
    await sync();
    const v3 = fake.state.packages.find((p) => p.group === "fraud-gbm" && p.version === 3)?.arn ?? "";
    fake.model("fraud-gbm-v3", { packageArn: v3 }, at(2));
    fake.updateEndpoint("fraud-prod", [{ model: "fraud-gbm-v3" }], at(1));
    const report = await sync();
    expect(report.registered).toEqual([
      expect.objectContaining({
        model: "fraud-gbm",
        model_version: "3",
        basis: "discovered",
        deployment_date: iso(NOW),
        supersedes: expect.objectContaining({ model_version: "2" }),
      }),
    ]);
    expect((await live()).filter((d) => d.model === "fraud-gbm").map((d) => d.version)).toEqual(["3"]);
  });

  it("what serves without an approved package of the registry is a ghost, never registered: an unknown package, an unapproved one, a Model not made from a package", async () => {
    fake.group("fraud-gbm", at(200));
    fake.modelPackage("fraud-gbm", { createdAt: at(50), metadata: OWNED });
    const pending = fake.modelPackage("fraud-gbm", {
      createdAt: at(10),
      metadata: OWNED,
      approval: "PendingManualApproval",
    });
    fake.model("pending", { packageArn: pending }, at(9));
    fake.model(
      "elsewhere",
      { packageArn: "arn:aws:sagemaker:us-east-1:999999999999:model-package/ranker/7" },
      at(9),
    );
    fake.model(
      "handmade",
      { image: "123.dkr.ecr.us-east-1.amazonaws.com/ranker:latest", modelDataUrl: "s3://x/m.tar.gz" },
      at(9),
    );
    fake.endpoint("pending-prod", [{ model: "pending" }], { createdAt: at(8) });
    fake.endpoint("ranker-prod", [{ model: "elsewhere" }], { createdAt: at(8) });
    fake.endpoint("handmade-prod", [{ model: "handmade" }], { createdAt: at(8) });
    const report = await sync();
    expect(report.registered).toEqual([]);
    expect(
      report.findings.map((f) => [f.kind, f.model, "model_version" in f ? f.model_version : null]),
    ).toEqual([
      ["ghost", "handmade", null],
      ["ghost", "fraud-gbm", "2"],
      ["ghost", "ranker", "7"],
    ]);
    const details = report.findings.map((f) => ("detail" in f ? f.detail : ""));
    expect(details[0]).toContain(
      "was not made from a model package (image 123.dkr.ecr.us-east-1.amazonaws.com/ranker:latest",
    );
    expect(details[1]).toContain("PendingManualApproval");
    expect(details[2]).toContain("does not know");
    expect(await live()).toEqual([]);
  });

  it("an endpoint still serving a deleted SageMaker Model or endpoint config is a ghost, and what was synced from it is not called a zombie", async () => {
    fleet();
    await sync();
    fake.state.models = fake.state.models.filter((m) => m.name !== "fraud-gbm-v2");
    fake.state.configs = fake.state.configs.filter((c) => !c.name.startsWith("churn-prod"));
    const report = await sync();
    expect(report.findings.map((f) => [f.kind, f.model, "detail" in f ? f.detail : ""])).toEqual([
      [
        "ghost",
        "churn-prod",
        'endpoint config "churn-prod-config-1" no longer exists: what the endpoint serves cannot be read',
      ],
      [
        "ghost",
        "fraud-gbm-v2",
        'SageMaker Model "fraud-gbm-v2" no longer exists: which package it serves cannot be read',
      ],
    ]);
  });

  it("a package version without owner_team or training_data_cutoff is reported with what is missing, never invented", async () => {
    fake.group("fraud-gbm", at(200));
    const bare = fake.modelPackage("fraud-gbm", { createdAt: at(50), metadata: { owner_team: "risk" } });
    fake.group("churn-xgb", at(200));
    const none = fake.modelPackage("churn-xgb", { createdAt: at(50) });
    fake.model("bare", { packageArn: bare }, at(9));
    fake.model("none", { packageArn: none }, at(9));
    fake.endpoint("fraud-prod", [{ model: "bare" }], { createdAt: at(8) });
    fake.endpoint("churn-prod", [{ model: "none" }], { createdAt: at(8) });
    const report = await sync();
    expect(report.registered).toEqual([]);
    expect(report.findings).toEqual([
      {
        kind: "missing_metadata",
        ref: "arn:aws:sagemaker:us-east-1:123456789012:endpoint/churn-prod/AllTraffic",
        model: "churn-xgb",
        model_version: "1",
        missing: ["owner_team", "training_data_cutoff"],
      },
      {
        kind: "missing_metadata",
        ref: "arn:aws:sagemaker:us-east-1:123456789012:endpoint/fraud-prod/AllTraffic",
        model: "fraud-gbm",
        model_version: "1",
        missing: ["training_data_cutoff"],
      },
    ]);
    expect(await live()).toEqual([]);
  });

  it("a synced deployment whose endpoint is gone or out of service is a zombie; one whose endpoint is updating is not, nor one registered by hand", async () => {
    fleet();
    await sync();
    await new LocalClient(app.context).register({
      model: "hand-made",
      model_version: "1.0.0",
      training_data_cutoff: "2026-10-01",
      owner_team: "risk",
      environment: "production",
      role: "primary",
      deployment_date: iso(at(3)),
    });
    fake.state.endpoints = fake.state.endpoints.filter((e) => e.name !== "fraud-prod");
    const churn = fake.state.endpoints.find((e) => e.name === "churn-prod");
    if (churn) churn.status = "OutOfService";
    const zombies = await sync();
    expect(
      zombies.findings.map((f) => (f.kind === "zombie" ? [f.kind, f.model, f.model_version] : f)),
    ).toEqual([
      ["zombie", "churn-xgb", "1"],
      ["zombie", "fraud-gbm", "2"],
    ]);

    if (churn) churn.status = "Updating";
    const updating = await sync();
    expect(updating.findings.map((f) => [f.kind, f.model])).toEqual([["zombie", "fraud-gbm"]]);
  });

  it("when variants of endpoints serve different versions of one model, the one taking most traffic is kept and the other reported", async () => {
    fleet();
    const v1 = fake.state.packages[0]?.arn ?? "";
    fake.model("fraud-gbm-v1", { packageArn: v1 }, at(100));
    fake.updateEndpoint(
      "fraud-prod",
      [
        { model: "fraud-gbm-v1", weight: 0.1, variant: "Canary" },
        { model: "fraud-gbm-v2", weight: 0.9, variant: "Main" },
      ],
      at(20),
    );
    const report = await sync();
    expect(registered(report).find((r) => r[0] === "fraud-gbm")?.[1]).toBe("2");
    expect(report.findings).toEqual([
      expect.objectContaining({
        kind: "conflict",
        model: "fraud-gbm",
        model_version: "1",
        kept: {
          ref: "arn:aws:sagemaker:us-east-1:123456789012:endpoint/fraud-prod/Main",
          model_version: "2",
        },
      }),
    ]);
  });

  it("throttled calls succeed after the SDK's own retries", async () => {
    fleet();
    fake.throttle("ListEndpoints", 2);
    fake.throttle("DescribeModelPackage", 1);
    const report = await sync();
    expect(report.registered).toHaveLength(2);
    const endpointsCalls = fake.calls.filter((c) => c.operation === "ListEndpoints").map((c) => c.status);
    expect(endpointsCalls.slice(0, 3)).toEqual([400, 400, 200]);
    expect(fake.calls.filter((c) => c.operation === "DescribeModelPackage").map((c) => c.status)[0]).toBe(
      400,
    );
  });

  it("a call still throttled after its last attempt fails the sync, naming the call", async () => {
    fleet();
    fake.throttle("ListModelPackageGroups", 10);
    const impatient = client(2);
    try {
      await expect(sync({ via: impatient })).rejects.toThrow(
        /SageMaker ListModelPackageGroups failed: ThrottlingException: Rate exceeded/,
      );
    } finally {
      impatient.destroy();
    }
    expect(fake.calls.filter((c) => c.operation === "ListModelPackageGroups")).toHaveLength(2);
    expect(await live()).toEqual([]);
  });

  it("pages through every list with NextToken, past the server's small pages", async () => {
    fleet();
    for (let i = 0; i < 4; i++) fake.endpoint(`idle-${i}`, [], { createdAt: at(10), status: "OutOfService" });
    await sync();
    const paged = (operation: string) =>
      fake.calls.filter((c) => c.operation === operation).map((c) => c.input.NextToken !== undefined);
    expect(paged("ListModelPackageGroups")).toEqual([false, true]);
    expect(paged("ListModelPackages")).toEqual([false, true, false, false]);
    expect(paged("ListEndpoints")).toEqual([false, true, true]);
    expect((await live()).length).toBe(2);
  });

  it("describes only endpoints in service and packages that serve", async () => {
    fleet();
    fake.endpoint("idle", [{ model: "fraud-gbm-v2" }], { createdAt: at(10), status: "OutOfService" });
    await sync();
    const described = (operation: string) =>
      fake.calls.filter((c) => c.operation === operation).map((c) => c.input);
    expect(described("DescribeEndpoint").map((i) => i.EndpointName)).toEqual(["churn-prod", "fraud-prod"]);
    expect(
      described("DescribeModelPackage").map((i) => String(i.ModelPackageName).split("/").slice(-2).join("/")),
    ).toEqual(["churn-xgb/1", "fraud-gbm/2"]);
  });

  it("a dry run says what it would register and registers nothing", async () => {
    fleet();
    const report = await sync({ dryRun: true });
    expect(report.dry_run).toBe(true);
    expect(report.registered.map((r) => [r.model, r.deployment_id])).toEqual([
      ["churn-xgb", null],
      ["fraud-gbm", null],
    ]);
    expect(await live()).toEqual([]);
  });

  it("--group reads one group: what other groups' endpoints serve is neither registered, a ghost nor a zombie", async () => {
    fleet();
    await sync();
    fake.model("handmade", { image: "img:1" }, at(9));
    fake.endpoint("handmade-prod", [{ model: "handmade" }], { createdAt: at(8) });
    fake.state.endpoints = fake.state.endpoints.filter((e) => e.name !== "churn-prod");
    const report = await sync({ group: "fraud-gbm" });
    expect({ registered: report.registered, unchanged: report.unchanged, findings: report.findings }).toEqual(
      {
        registered: [],
        unchanged: 1,
        findings: [],
      },
    );
    expect(
      fake.calls.filter((c) => c.operation === "ListModelPackages").at(-1)?.input.ModelPackageGroupName,
    ).toBe("fraud-gbm");
  });

  it("--group naming no group fails the sync rather than syncing nothing", async () => {
    fleet();
    await expect(sync({ group: "fraud" })).rejects.toThrow(
      "model package group fraud does not exist in this region",
    );
  });
});

describe("the AWS SDK is loaded only when `tenure sync sagemaker` runs", () => {
  it("src/cli/sync-sagemaker.ts imports the SDK's modules only inside its action", () => {
    const path = resolve(dirname(fileURLToPath(import.meta.url)), "../../src/cli/sync-sagemaker.ts");
    const source = ts.createSourceFile(path, readFileSync(path, "utf8"), ts.ScriptTarget.Latest);
    const statics = source.statements
      .filter((s) => ts.isImportDeclaration(s) && !s.importClause?.isTypeOnly)
      .map((s) => ((s as ts.ImportDeclaration).moduleSpecifier as ts.StringLiteral).text);
    expect(statics.filter((s) => s.includes("aws-sdk") || s.includes("sagemaker-"))).toEqual([]);
    expect(statics.length).toBeGreaterThan(0);
  });
});

function registered(report: SyncReport): string[][] {
  return report.registered.map((r) => [r.model, r.model_version, r.deployment_date, r.basis]);
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}
