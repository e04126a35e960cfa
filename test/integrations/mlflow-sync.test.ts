import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { LocalClient } from "../../src/cli/local-client.js";
import { InputError } from "../../src/core/errors.js";
import { SYNC_TAGS } from "../../src/core/sync-plan.js";
import { EgressPolicy } from "../../src/egress-policy.js";
import {
  MlflowClient,
  type MlflowClientOptions,
  MlflowError,
  mlflowCredentials,
  nameFilter,
} from "../../src/integrations/mlflow/mlflow-client.js";
import {
  defaultMlflowMapping,
  type MlflowMapping,
  tenureModelName,
} from "../../src/integrations/mlflow/mlflow-observations.js";
import { observeMlflow } from "../../src/integrations/mlflow/mlflow-source.js";
import { startMlflowSyncLoop } from "../../src/integrations/mlflow/mlflow-sync-loop.js";
import { applySync, type SyncReport } from "../../src/integrations/sync-applier.js";
import { dialects } from "../support/databases.js";
import { type FakeMlflow, type FakeMlflowOptions, startFakeMlflow } from "../support/fake-mlflow.js";
import { freePort, pollUntil } from "../support/process.js";
import { startTestApp, type TestApp } from "../support/test-app.js";

/** The fakes listen on 127.0.0.1: private egress is allowed here, as a test opts in. */
const egress = EgressPolicy.allowPrivate();

const DAY = 86_400_000;
const NOW = Date.parse("2027-03-01T12:00:00.000Z");
const TOKEN = "dapi-s3cret-token-0123456789";

/** Records the waits instead of waiting them. */
function recordedSleep() {
  const waits: number[] = [];
  return { waits, sleep: async (ms: number) => void waits.push(ms) };
}

const fakes: FakeMlflow[] = [];
async function fake(options: FakeMlflowOptions = {}): Promise<FakeMlflow> {
  const started = await startFakeMlflow(options);
  fakes.push(started);
  return started;
}
afterEach(async () => {
  for (const f of fakes.splice(0)) await f.close();
});

function clientOf(f: FakeMlflow, options: Partial<MlflowClientOptions> = {}): MlflowClient {
  const { sleep } = recordedSleep();
  return new MlflowClient({ url: f.url, outbound: { sleep, attempts: 3, egress }, ...options });
}

/** A model with a version under the alias `champion` and both tags on the version. */
function champion(
  f: FakeMlflow,
  name: string,
  options: { created?: number; tags?: Record<string, string> } = {},
): string {
  f.createModel(name);
  const version = f.createVersion(name, {
    created: options.created ?? NOW - 30 * DAY,
    tags: options.tags ?? { owner_team: "risk", training_data_cutoff: "2026-12-31" },
  });
  f.setAlias(name, "champion", version);
  return version;
}

describe("Tenure names for MLflow models", () => {
  it("keeps a slug as it is and makes one of any other name, stable and never empty", () => {
    expect(tenureModelName("fraud-gbm")).toBe("fraud-gbm");
    expect(tenureModelName("main.risk.fraud_gbm")).toBe("main.risk.fraud_gbm");
    expect(tenureModelName("Fraud GBM")).toBe("fraud-gbm");
    expect(tenureModelName("  Churn (EU) v2!")).toBe("churn-eu-v2");
    expect(tenureModelName("Modèle Prévision")).toBe("modele-prevision");
    expect(tenureModelName("x".repeat(200))).toHaveLength(128);
    const other = tenureModelName("模型");
    expect(other).toMatch(/^mlflow-[0-9a-f]{12}$/);
    expect(tenureModelName("模型")).toBe(other);
    expect(tenureModelName("模型二")).not.toBe(other);
  });

  it("quotes a name for MLflow's filter grammar, which has no escapes", () => {
    expect(nameFilter("fraud")).toBe("name='fraud'");
    expect(nameFilter("bob's model")).toBe(`name="bob's model"`);
  });
});

describe("the MLflow client against MLflow's REST API", () => {
  it("pages through every registered model and every version with page_token until no next_page_token", async () => {
    const f = await fake();
    for (const name of ["e", "d", "c", "b", "a"]) {
      f.createModel(name, { owner_team: "risk" });
      for (let i = 0; i < 3; i++) f.createVersion(name);
    }
    const client = clientOf(f, { pageSize: { models: 2, versions: 2 } });
    const names: string[] = [];
    for await (const model of client.registeredModels()) names.push(model.name);
    expect(names).toEqual(["a", "b", "c", "d", "e"]);
    const searches = f.requests.filter((r) => r.path === "registered-models/search");
    expect(
      searches.map((r) => [r.query.max_results, r.query.order_by, r.query.page_token !== undefined]),
    ).toEqual([
      ["2", "name ASC", false],
      ["2", "name ASC", true],
      ["2", "name ASC", true],
    ]);
    const versions = await client.modelVersions("c");
    expect(versions.map((v) => v.version).sort()).toEqual(["1", "2", "3"]);
    const versionSearches = f.requests.filter((r) => r.path === "model-versions/search");
    expect(versionSearches).toHaveLength(2);
    expect(versionSearches.every((r) => r.query.filter === "name='c'" && r.query.max_results === "2")).toBe(
      true,
    );
  });

  it("follows next_page_token when the server answers fewer than max_results, and asks for no more than MLflow allows", async () => {
    const f = await fake({ pageCap: 1 });
    for (const name of ["a", "b", "c"]) f.createModel(name);
    const client = clientOf(f);
    const names: string[] = [];
    for await (const model of client.registeredModels()) names.push(model.name);
    expect(names).toEqual(["a", "b", "c"]);
    const asked = f.requests.map((r) => Number(r.query.max_results));
    expect(asked.every((n) => n === 1000)).toBe(true);
    expect(asked).toHaveLength(3);
  });

  it("reads int64 timestamps whether MLflow writes them as numbers or as strings", async () => {
    const created = NOW - 5 * DAY;
    for (const int64 of ["number", "string", "alternate"] as const) {
      const f = await fake({ int64, pageCap: 1 });
      for (const name of ["a", "b"]) {
        f.createModel(name);
        f.createVersion(name, { created });
      }
      const client = clientOf(f);
      const models = [];
      for await (const model of client.registeredModels()) models.push(model);
      expect(models.map((m) => typeof m.creation_timestamp)).toEqual(["number", "number"]);
      const [version] = await client.modelVersions("b");
      expect(version?.creation_timestamp).toBe(created);
      expect(models[0]?.latest_versions?.[0]?.creation_timestamp).toBe(created);
    }
    const raw = await startFakeMlflow({ int64: "string" });
    fakes.push(raw);
    raw.createModel("a");
    const body = (await (await fetch(`${raw.url}/api/2.0/mlflow/registered-models/search`)).json()) as {
      registered_models: { creation_timestamp: unknown }[];
    };
    expect(typeof body.registered_models[0]?.creation_timestamp).toBe("string");
  });

  it("retries 429 and 500 with backoff, waiting what Retry-After asks, and then reads the page", async () => {
    const f = await fake();
    f.createModel("a");
    f.fail({
      status: 429,
      error_code: "REQUEST_LIMIT_EXCEEDED",
      message: "Too many requests",
      retryAfter: "3",
    });
    f.fail({ status: 500, error_code: "INTERNAL_ERROR", message: "boom" });
    const { waits, sleep } = recordedSleep();
    const client = new MlflowClient({
      url: f.url,
      outbound: { sleep, random: () => 0.5, baseDelayMs: 200, egress },
    });
    const names: string[] = [];
    for await (const model of client.registeredModels()) names.push(model.name);
    expect(names).toEqual(["a"]);
    expect(f.requests).toHaveLength(3);
    expect(waits).toEqual([3000, 200]);
  });

  it("gives up after its attempts with MLflow's own error code and message", async () => {
    const f = await fake();
    f.fail({ status: 503, error_code: "TEMPORARILY_UNAVAILABLE", message: "The service is busy", times: 5 });
    const error = await clientOf(f)
      .modelVersions("a")
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(MlflowError);
    expect(error).toMatchObject({ error_code: "TEMPORARILY_UNAVAILABLE", status: 503 });
    expect((error as Error).message).toContain("TEMPORARILY_UNAVAILABLE: The service is busy");
    expect(f.requests).toHaveLength(3);
  });

  it("answers null for a model MLflow does not have (RESOURCE_DOES_NOT_EXIST), and a sync of it names it", async () => {
    const f = await fake();
    f.createModel("fraud");
    const client = clientOf(f);
    expect(await client.registeredModel("nope")).toBeNull();
    expect((await client.registeredModel("fraud"))?.name).toBe("fraud");
    const refused = await observeMlflow(client, {
      mapping: defaultMlflowMapping(),
      models: ["nope"],
      now: () => NOW,
    }).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(InputError);
    expect((refused as Error).message).toBe(`MLflow at ${f.url} has no registered model named "nope"`);
  });

  it("sends a bearer token or basic credentials as MLflow's client does, and no message ever carries them", async () => {
    const f = await fake({ auth: { bearer: TOKEN } });
    f.createModel("a");
    const anonymous = await clientOf(f)
      .modelVersions("a")
      .catch((e: unknown) => e);
    expect((anonymous as Error).message).toMatch(/refused .*UNAUTHENTICATED/);
    const client = clientOf(f, { credentials: { kind: "bearer", token: TOKEN } });
    expect(await client.modelVersions("a")).toEqual([]);
    // A server that echoes what it was sent.
    f.fail({ status: 400, error_code: "INVALID_PARAMETER_VALUE", message: `bad header Bearer ${TOKEN}` });
    const echoed = await client.modelVersions("a").catch((e: unknown) => e);
    expect((echoed as Error).message).toContain("bad header Bearer ***");
    expect((echoed as Error).message).not.toContain(TOKEN);

    const basic = await fake({ auth: { username: "ada", password: "pa55word-xyz" } });
    const viaEnv = mlflowCredentials(undefined, {
      MLFLOW_TRACKING_USERNAME: "ada",
      MLFLOW_TRACKING_PASSWORD: "pa55word-xyz",
      MLFLOW_TRACKING_TOKEN: "ignored-when-basic-is-set",
    });
    expect(await clientOf(basic, { credentials: viaEnv }).modelVersions("a")).toEqual([]);
    expect(basic.requests[0]?.authorization).toBe(
      `Basic ${Buffer.from("ada:pa55word-xyz").toString("base64")}`,
    );
    expect(mlflowCredentials(undefined, { MLFLOW_TRACKING_TOKEN: TOKEN })).toEqual({
      kind: "bearer",
      token: TOKEN,
    });
    expect(mlflowCredentials("given", { MLFLOW_TRACKING_TOKEN: TOKEN })).toEqual({
      kind: "bearer",
      token: "given",
    });
    expect(mlflowCredentials(undefined, {})).toBeUndefined();
  });

  it("says plainly when the URL is no MLflow server, or nothing answers there", async () => {
    const f = await fake();
    const wrongPath = new MlflowClient({ url: `${f.url}/not-mlflow/`, outbound: { egress } });
    const notFound = await wrongPath.modelVersions("a").catch((e: unknown) => e);
    expect((notFound as Error).message).toBe(
      `no MLflow model registry at ${f.url}/not-mlflow (HTTP 404 for model-versions/search): is --url the tracking server's address?`,
    );
    const port = await freePort();
    const { sleep } = recordedSleep();
    const down = new MlflowClient({
      url: `http://127.0.0.1:${port}`,
      outbound: { sleep, attempts: 2, egress },
    });
    const unreachable = await down.modelVersions("a").catch((e: unknown) => e);
    expect((unreachable as Error).message).toMatch(
      new RegExp(
        `^cannot reach MLflow at http://127\\.0\\.0\\.1:${port}: .*ECONNREFUSED.* \\(after 2 attempts\\)$`,
      ),
    );
  });
});

describe.each(dialects())("an MLflow sync into the registry (%s)", (dialect) => {
  let app: TestApp;
  let now: number;
  beforeEach(async () => {
    now = NOW;
    app = await startTestApp(dialect, { now });
  });
  afterEach(async () => {
    await app?.close();
  });

  const target = () => new LocalClient(app.context);

  async function sync(
    f: FakeMlflow,
    options: { mapping?: MlflowMapping; dryRun?: boolean; models?: string[] } = {},
  ): Promise<SyncReport> {
    app.setNow(now);
    const observed = await observeMlflow(clientOf(f, { pageSize: { models: 2, versions: 2 } }), {
      mapping: options.mapping ?? defaultMlflowMapping(),
      models: options.models,
      now: () => now,
    });
    return applySync(target(), "mlflow", observed.observations, {
      dryRun: options.dryRun ?? false,
      environments: observed.environments,
      findings: observed.findings,
      zombieScope: observed.zombieScope,
      now: () => now,
    });
  }

  async function everything() {
    const { items } = await target().list({ limit: 500 });
    const events = await Promise.all(items.map((d) => target().events(d.id)));
    return { items, events };
  }

  it("registers the version an alias points to, dated by its creation and marked so, with the MLflow name in its ref", async () => {
    const f = await fake({ int64: "alternate" });
    const created = NOW - 30 * DAY;
    f.createModel("Fraud GBM", { owner_team: "risk" });
    f.createVersion("Fraud GBM", { created: created - DAY, tags: { training_data_cutoff: "2026-12-01" } });
    f.createVersion("Fraud GBM", { created, tags: { training_data_cutoff: "2027-01-15" } });
    f.setAlias("Fraud GBM", "champion", "2");
    const report = await sync(f);
    expect(report.registered).toEqual([
      expect.objectContaining({
        ref: "models:/Fraud GBM@champion",
        model: "fraud-gbm",
        model_version: "2",
        environment: "production",
        basis: "version_created",
        deployment_date: new Date(created).toISOString(),
        supersedes: null,
      }),
    ]);
    const deployment = await target().get(report.registered[0]?.deployment_id ?? 0);
    expect(deployment).toMatchObject({ owner_team: "risk", status: "active", role: "primary" });
    expect(deployment.training_data_cutoff).toMatch(/^2027-01-15/);
    expect(deployment.tags).toEqual({
      [SYNC_TAGS.source]: "mlflow",
      [SYNC_TAGS.ref]: "models:/Fraud GBM@champion",
      [SYNC_TAGS.basis]: "version_created",
    });
  });

  it("a second sync changes nothing: nothing registered, every deployment and event as it was", async () => {
    const f = await fake();
    for (const name of ["a", "b", "c"]) champion(f, name);
    const first = await sync(f);
    expect(first.registered).toHaveLength(3);
    const before = await everything();
    now += DAY;
    const second = await sync(f);
    expect(second).toMatchObject({ registered: [], unchanged: 3, findings: [], errors: [] });
    const after = await everything();
    expect(after.events).toEqual(before.events);
    expect(after.items.map((d) => [d.id, d.model_version, d.status])).toEqual(
      before.items.map((d) => [d.id, d.model_version, d.status]),
    );
  });

  it("a moved alias supersedes the old primary, dated when this sync discovered it", async () => {
    const f = await fake();
    champion(f, "fraud");
    const first = await sync(f);
    const old = first.registered[0]?.deployment_id ?? 0;
    const next = f.createVersion("fraud", {
      created: NOW - 2 * DAY,
      tags: { owner_team: "risk", training_data_cutoff: "2027-02-15" },
    });
    f.setAlias("fraud", "champion", next);
    now += DAY;
    const moved = await sync(f);
    expect(moved.registered).toEqual([
      expect.objectContaining({
        model_version: "2",
        basis: "discovered",
        deployment_date: new Date(now).toISOString(),
        supersedes: { id: old, model_version: "1" },
      }),
    ]);
    expect((await target().get(old)).status).toBe("superseded");
    const successor = await target().get(moved.registered[0]?.deployment_id ?? 0);
    expect(successor.tags[SYNC_TAGS.basis]).toBe("discovered");
  });

  it("reports a version without its tags by the MLflow tag names to set, and registers nothing for it", async () => {
    const f = await fake();
    const mapping: MlflowMapping = {
      ...defaultMlflowMapping(),
      tags: { owner_team: "team", training_data_cutoff: "data_cutoff" },
    };
    champion(f, "churn", { tags: { data_cutoff: "2027-01-01" } });
    champion(f, "ranker", { tags: { team: "Search Team", data_cutoff: "last march" } });
    const report = await sync(f, { mapping });
    expect(report.registered).toEqual([]);
    expect(report.findings).toEqual([
      {
        kind: "missing_metadata",
        ref: "models:/churn@champion",
        model: "churn",
        model_version: "1",
        missing: ["owner_team"],
        hints: ["tag `team` (owner_team)"],
      },
      {
        kind: "missing_metadata",
        ref: "models:/ranker@champion",
        model: "ranker",
        model_version: "1",
        missing: ["training_data_cutoff"],
        hints: ['tag `data_cutoff` (training_data_cutoff) as an ISO 8601 date, not "last march"'],
      },
    ]);
    expect((await everything()).items).toEqual([]);
    // A tag named as the field it carries is named once.
    const unmapped = await sync(f, { models: ["churn"] });
    expect(unmapped.findings).toEqual([
      expect.objectContaining({ hints: ["tag `owner_team`", "tag `training_data_cutoff`"] }),
    ]);
  });

  it("takes a tag from the version over the same tag on the registered model", async () => {
    const f = await fake();
    f.createModel("fraud", { owner_team: "platform", training_data_cutoff: "2026-06-30" });
    const version = f.createVersion("fraud", { created: NOW - DAY, tags: { owner_team: "risk" } });
    f.setAlias("fraud", "champion", version);
    const report = await sync(f);
    const deployment = await target().get(report.registered[0]?.deployment_id ?? 0);
    expect(deployment.owner_team).toBe("risk");
    expect(deployment.training_data_cutoff).toMatch(/^2026-06-30/);
  });

  it("reads the legacy Production stage where no alias is set, the alias first where both are, and reports a disagreement", async () => {
    const f = await fake();
    const tags = { owner_team: "risk", training_data_cutoff: "2026-12-01" };
    const created = NOW - 30 * DAY;
    f.createModel("legacy");
    f.createVersion("legacy", { created, tags, stage: "Archived" });
    f.createVersion("legacy", { created, tags, stage: "Production" });
    f.createVersion("legacy", { created, tags, stage: "Production" });
    f.createVersion("legacy", { created, tags, stage: "Staging" });
    f.createModel("both");
    f.createVersion("both", { created, tags, stage: "Production" });
    f.setAlias("both", "champion", f.createVersion("both", { created, tags }));
    f.createModel("agree");
    f.setAlias("agree", "champion", f.createVersion("agree", { created, tags, stage: "Production" }));
    f.createModel("idle");
    f.createVersion("idle", { created, tags, stage: "Staging" });
    const report = await sync(f);
    expect(report.registered.map((r) => [r.ref, r.model_version])).toEqual([
      ["models:/agree@champion", "1"],
      ["models:/both@champion", "2"],
      ["models:/legacy/Production", "3"],
    ]);
    expect(report.observed).toBe(4);
    expect(report.findings).toEqual([
      {
        kind: "conflict",
        ref: "models:/both/Production",
        model: "both",
        environment: "production",
        model_version: "1",
        kept: { ref: "models:/both@champion", model_version: "2" },
      },
    ]);
    // `idle` has neither: its versions are never read.
    const searched = f.requests.filter((r) => r.path === "model-versions/search").map((r) => r.query.filter);
    expect([...new Set(searched)]).toEqual(["name='agree'", "name='both'", "name='legacy'"]);
  });

  it("maps each alias to its environment: champion in production, challenger=staging in staging", async () => {
    const f = await fake();
    champion(f, "fraud");
    f.setAlias(
      "fraud",
      "challenger",
      f.createVersion("fraud", {
        created: NOW - DAY,
        tags: { owner_team: "risk", training_data_cutoff: "2027-02-01" },
      }),
    );
    const mapping: MlflowMapping = {
      ...defaultMlflowMapping(),
      aliases: [
        { alias: "champion", environment: "production" },
        { alias: "challenger", environment: "staging" },
      ],
    };
    const report = await sync(f, { mapping });
    expect(report.registered.map((r) => [r.environment, r.model_version, r.ref])).toEqual([
      ["production", "1", "models:/fraud@champion"],
      ["staging", "2", "models:/fraud@challenger"],
    ]);
  });

  it("a dry run reports what it would register and writes nothing", async () => {
    const f = await fake();
    champion(f, "fraud");
    champion(f, "churn");
    const report = await sync(f, { dryRun: true });
    expect(report.dry_run).toBe(true);
    expect(report.registered.map((r) => [r.model, r.deployment_id])).toEqual([
      ["churn", null],
      ["fraud", null],
    ]);
    expect((await everything()).items).toEqual([]);
  });

  it("never merges two MLflow models that make one Tenure name: the one spelled as a slug keeps it, the other is reported", async () => {
    const f = await fake();
    champion(f, "Fraud GBM");
    champion(f, "fraud-gbm");
    const report = await sync(f);
    expect(report.registered.map((r) => r.ref)).toEqual(["models:/fraud-gbm@champion"]);
    expect(report.findings).toEqual([
      {
        kind: "conflict",
        ref: "models:/Fraud GBM@champion",
        model: "fraud-gbm",
        environment: "production",
        model_version: "1",
        kept: { ref: "models:/fraud-gbm@champion", model_version: "1" },
      },
    ]);
  });

  it("reports a primary it registered as a zombie once its alias is removed, and leaves it live", async () => {
    const f = await fake();
    champion(f, "fraud");
    champion(f, "churn");
    const first = await sync(f);
    const fraud = first.registered.find((r) => r.model === "fraud")?.deployment_id;
    f.deleteAlias("fraud", "champion");
    const report = await sync(f);
    expect(report.findings).toEqual([
      {
        kind: "zombie",
        ref: "models:/fraud@champion",
        deployment_id: fraud,
        model: "fraud",
        environment: "production",
        model_version: "1",
      },
    ]);
    expect((await target().get(fraud ?? 0)).status).toBe("active");
    // A sync of one model judges only that model.
    const one = await sync(f, { models: ["churn"] });
    expect(one.findings).toEqual([]);
  });

  it("under serve: syncs at once and every interval, logs a failed round and tries again, and stops when asked", async () => {
    const f = await fake();
    champion(f, "fraud");
    f.fail({ status: 500, error_code: "INTERNAL_ERROR", message: "database is locked" });
    const logged: { level: string; fields: object; message: string }[] = [];
    const rounds: ({ report: SyncReport } | { error: string })[] = [];
    const loop = startMlflowSyncLoop({
      url: f.url,
      credentials: { kind: "bearer", token: TOKEN },
      everySeconds: 300,
      everyMs: 20,
      registry: app.context.registry,
      logger: {
        info: (fields, message) => logged.push({ level: "info", fields, message }),
        error: (fields, message) => logged.push({ level: "error", fields, message }),
      },
      now: () => now,
      outbound: { attempts: 1, egress },
      onRound: (round) => rounds.push(round),
    });
    await pollUntil("two rounds after the failed one", () => (rounds.length >= 3 ? true : undefined));
    await loop.stop();
    const settled = rounds.length;
    expect(rounds[0]).toEqual({ error: expect.stringContaining("INTERNAL_ERROR: database is locked") });
    expect(rounds[1]).toMatchObject({
      report: { registered: [expect.objectContaining({ model: "fraud" })] },
    });
    expect(rounds[2]).toMatchObject({ report: { registered: [], unchanged: 1 } });
    expect(logged.find((l) => l.level === "error")?.message).toBe("mlflow sync failed; trying again in 0 s");
    const events = await target().events((await target().list({ limit: 10 })).items[0]?.id ?? 0);
    expect(events[0]?.actor).toBe("sync:mlflow");
    expect(JSON.stringify(logged)).not.toContain(TOKEN);
    // Nothing to poll for: a stopped loop shows itself by doing nothing for three of its intervals.
    await new Promise((resolve) => setTimeout(resolve, 60));
    expect(rounds).toHaveLength(settled);
  });
});
