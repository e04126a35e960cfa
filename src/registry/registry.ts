import { type AgePolicy, type AgeStage, DEFAULT_POLICY, stageDateRange } from "../core/age.js";
import { ConflictError, ForbiddenError, InputError, NotFoundError } from "../core/errors.js";
import type { DeploymentFilter, DeploymentStore } from "../store/deployment-store.js";
import type { DeploymentRole, DeploymentRow, DeploymentStatus } from "../store/schema.js";
import type { Actor } from "./actor.js";
import { instantToMs, type RegisterDeploymentBody } from "./deployment-input.js";
import {
  type DeploymentView,
  type EventView,
  type ModelView,
  toDeploymentView,
  toEventView,
  toModelView,
} from "./deployment-view.js";
import {
  hashRequest,
  type PendingRegistration,
  type Registration,
  registerRound,
  splitRounds,
} from "./register-round.js";
import { type Outcome, WriteBatcher } from "./write-batcher.js";

export type { Registration } from "./register-round.js";

/** How far ahead of the server's clock a deployment_date may be: clocks drift, a little. */
const FUTURE_TOLERANCE_MS = 5 * 60 * 1000;

export interface RegistryOptions {
  store: DeploymentStore;
  /** Epoch milliseconds now; injected so tests and replays control time. */
  clock: () => number;
  policy?: AgePolicy;
}

export interface ListQuery {
  model?: string;
  environment?: string;
  owner_team?: string;
  role?: DeploymentRole;
  status?: DeploymentStatus;
  stage?: AgeStage;
  sort: "-age" | "age";
  limit: number;
  cursor?: string;
}

export interface ListResult {
  items: DeploymentView[];
  next_cursor: string | null;
}

/**
 * The source of truth: registers deployments, supersedes primaries, retires, sets golden
 * versions and rolls back, each change with its events in one transaction.
 */
export class Registry {
  private readonly store: DeploymentStore;
  private readonly clock: () => number;
  private readonly policy: AgePolicy;

  private readonly registrations: WriteBatcher<PendingRegistration, Registration>;

  constructor(options: RegistryOptions) {
    this.store = options.store;
    this.clock = options.clock;
    this.policy = options.policy ?? DEFAULT_POLICY;
    this.registrations = new WriteBatcher({
      runBatch: (items) => this.registerBatch(items),
      runOne: (item) => this.registerOne(item),
      maxBatch: 64,
      // SQLite has one writer. On PostgreSQL two batches in flight keep the server busy while one
      // waits for its commit to flush; more only make the batches smaller (measured: 2 beat 1, 4 and 8).
      concurrency: options.store.dialect === "postgres" ? 2 : 1,
    });
  }

  /**
   * Registers a deployment. Concurrent registrations commit together (see WriteBatcher); each
   * still sees the ones before it, so a primary supersedes whichever primary was live just
   * before it, whether that one committed earlier or in the same transaction.
   */
  async register(body: RegisterDeploymentBody, actor: Actor, idempotencyKey?: string): Promise<Registration> {
    const now = this.clock();
    const deploymentDate = body.deployment_date === undefined ? now : instantToMs(body.deployment_date);
    const cutoff = instantToMs(body.training_data_cutoff);
    checkDates(deploymentDate, cutoff, now);
    assertTeam(actor, body.owner_team);
    return this.registrations.submit({
      body,
      actor,
      now,
      deployment_date: deploymentDate,
      training_data_cutoff: cutoff,
      // Only a request with an Idempotency-Key is ever compared with another.
      request_hash: idempotencyKey === undefined ? "" : hashRequest(body),
      scope_key: idempotencyKey === undefined ? undefined : `${actor.key_scope}:${idempotencyKey}`,
    });
  }

  private async registerBatch(items: PendingRegistration[]): Promise<Outcome<Registration>[]> {
    return this.store.transaction(async (tx) => {
      await tx.lockKeys(items.map((item) => lockKeyOf(item.body.model, item.body.environment)));
      const outcomes: Outcome<Registration>[] = [];
      for (const round of splitRounds(items)) {
        const results = await registerRound(
          tx,
          round.map((i) => items[i] as PendingRegistration),
          this.policy,
        );
        round.forEach((index, k) => {
          outcomes[index] = results[k] as Outcome<Registration>;
        });
      }
      return outcomes;
    });
  }

  /** A batch of one, in a transaction of its own: the batcher's fallback. */
  private async registerOne(item: PendingRegistration): Promise<Registration> {
    const [outcome] = await this.registerBatch([item]);
    if (!outcome?.ok) throw outcome?.error ?? new Error("the registration returned no outcome");
    return outcome.value;
  }

  /** Resolves when the database answers: the readiness check. */
  async ping(): Promise<void> {
    await this.store.ping();
  }

  async get(id: number): Promise<DeploymentView> {
    return toDeploymentView(await this.requireDeployment(id), this.policy, this.clock());
  }

  async events(id: number): Promise<EventView[]> {
    await this.requireDeployment(id);
    return (await this.store.listEvents(id)).map(toEventView);
  }

  async list(query: ListQuery): Promise<ListResult> {
    const now = this.clock();
    const filter: DeploymentFilter = {
      model: query.model,
      environment: query.environment,
      owner_team: query.owner_team,
      role: query.role,
      statuses: query.status ? [query.status] : undefined,
    };
    if (query.stage) {
      // Only live deployments have a stage.
      if (query.status && query.status !== "active") return { items: [], next_cursor: null };
      filter.statuses = ["active"];
      Object.assign(filter, stageDateRange(query.stage, this.policy, now));
    }
    const rows = await this.store.listDeployments({
      filter,
      order: query.sort === "-age" ? "asc" : "desc",
      limit: query.limit + 1,
      after: query.cursor === undefined ? undefined : decodeCursor(query.cursor),
    });
    const page = rows.slice(0, query.limit);
    const last = page.at(-1);
    return {
      items: page.map((row) => toDeploymentView(row, this.policy, now)),
      next_cursor: rows.length > query.limit && last ? encodeCursor([last.deployment_date, last.id]) : null,
    };
  }

  async retire(id: number, actor: Actor, reason?: string): Promise<DeploymentView> {
    const now = this.clock();
    return this.store.transaction(async (tx) => {
      const row = await tx.findDeployment(id);
      if (!row) throw new NotFoundError(`deployment ${id} does not exist`);
      assertTeam(actor, row.owner_team);
      await tx.lockKeys([lockKeyOf(row.model, row.environment)]);
      if (!(await tx.endDeployment(id, "retired", now))) {
        throw new ConflictError(`deployment ${id} is already ${row.status}, not live`);
      }
      await tx.appendEvent({
        deployment_id: id,
        model: row.model,
        environment: row.environment,
        type: "retired",
        actor: actor.name,
        at: now,
        data: { model_version: row.model_version, reason: reason ?? null },
      });
      return toDeploymentView({ ...row, status: "retired", ended_at: now }, this.policy, now);
    });
  }

  async setGolden(
    model: string,
    environment: string,
    modelVersion: string,
    actor: Actor,
  ): Promise<ModelView> {
    const now = this.clock();
    await this.store.transaction(async (tx) => {
      const owner = await this.requireModel(tx, model);
      assertTeam(actor, owner.owner_team);
      if (!(await tx.findVersion(model, modelVersion))) {
        throw new NotFoundError(`model ${model} has no version ${modelVersion}`);
      }
      await tx.upsertGolden({
        model,
        environment,
        model_version: modelVersion,
        set_at: now,
        set_by: actor.name,
      });
      await tx.appendEvent({
        deployment_id: null,
        model,
        environment,
        type: "golden_set",
        actor: actor.name,
        at: now,
        data: { model_version: modelVersion },
      });
    });
    return this.getModel(model);
  }

  /**
   * Makes the golden (or the named) version the live primary again: a new deployment of that
   * version, with the training_data_cutoff it was registered with; the current primary ends as
   * `rolled_back`.
   */
  async rollback(
    model: string,
    environment: string,
    actor: Actor,
    options: { to_version?: string; reason?: string } = {},
  ): Promise<{ deployment: DeploymentView; rolled_back: DeploymentView | null }> {
    const now = this.clock();
    return this.store.transaction(async (tx) => {
      const owner = await this.requireModel(tx, model);
      assertTeam(actor, owner.owner_team);
      await tx.lockKeys([lockKeyOf(model, environment)]);
      const target = options.to_version ?? (await tx.findGolden(model, environment))?.model_version;
      if (target === undefined) {
        throw new ConflictError(
          `model ${model} has no golden version in ${environment}: set one (tenure golden) or name the version to roll back to`,
        );
      }
      const version = await tx.findVersion(model, target);
      if (!version) throw new NotFoundError(`model ${model} has no version ${target}`);
      const current = await tx.findLivePrimary(model, environment);
      if (current?.model_version === target) {
        throw new ConflictError(`${model} ${target} is already the live primary in ${environment}`);
      }
      if (current) await tx.endDeployment(current.id, "rolled_back", now);
      const row = await tx.insertDeployment({
        model,
        model_version: target,
        environment,
        owner_team: owner.owner_team,
        role: "primary",
        status: "active",
        deployment_date: now,
        training_data_cutoff: version.training_data_cutoff,
        ended_at: null,
        endpoint: current?.endpoint ?? null,
        tags: current?.tags ?? "{}",
        ttl_extension_seconds: 0,
        created_at: now,
        created_by: actor.name,
      });
      const common = { model, environment, actor: actor.name, at: now };
      const reason = options.reason ?? null;
      await tx.appendEvent({
        ...common,
        deployment_id: row.id,
        type: "deployed",
        data: { model_version: target, role: "primary", rollback_of: current?.id ?? null, reason },
      });
      if (current) {
        await tx.appendEvent({
          ...common,
          deployment_id: current.id,
          type: "rolled_back",
          data: { model_version: current.model_version, rolled_back_to: row.id, to_version: target, reason },
        });
      }
      return {
        deployment: toDeploymentView(row, this.policy, now),
        rolled_back: current
          ? toDeploymentView({ ...current, status: "rolled_back", ended_at: now }, this.policy, now)
          : null,
      };
    });
  }

  /** A model's whole history: its deployments' events and its own, such as golden versions set. */
  async modelEvents(name: string): Promise<EventView[]> {
    await this.requireModel(this.store, name);
    return (await this.store.listModelEvents(name)).map(toEventView);
  }

  async listModels(): Promise<ModelView[]> {
    const models = await this.store.listModels();
    return Promise.all(models.map((m) => this.modelView(m.name, m)));
  }

  async getModel(name: string): Promise<ModelView> {
    const model = await this.requireModel(this.store, name);
    return this.modelView(name, model);
  }

  private async modelView(name: string, model: { name: string; owner_team: string; created_at: number }) {
    const now = this.clock();
    const [versions, live, golden] = await Promise.all([
      this.store.listVersions(name),
      this.store.listLiveForModels([name]),
      this.store.listGolden([name]),
    ]);
    const liveViews = live.map((row) => toDeploymentView(row, this.policy, now));
    return toModelView(model, versions, liveViews, golden);
  }

  private async requireDeployment(id: number): Promise<DeploymentRow> {
    const row = await this.store.findDeployment(id);
    if (!row) throw new NotFoundError(`deployment ${id} does not exist`);
    return row;
  }

  private async requireModel(store: DeploymentStore, name: string) {
    const model = await store.findModel(name);
    if (!model) throw new NotFoundError(`model ${name} does not exist`);
    return model;
  }
}

/** The lock that serializes changes to the primaries of a model in an environment. */
function lockKeyOf(model: string, environment: string): string {
  return `tenure:${model} ${environment}`;
}

function checkDates(deploymentDate: number, cutoff: number, now: number): void {
  if (deploymentDate > now + FUTURE_TOLERANCE_MS) {
    throw new InputError("deployment_date is in the future", [
      {
        field: "deployment_date",
        message: `must not be more than 5 minutes after the server's time (${new Date(now).toISOString()})`,
      },
    ]);
  }
  if (cutoff > deploymentDate) {
    throw new InputError("training_data_cutoff is after deployment_date", [
      {
        field: "training_data_cutoff",
        message: "must not be after deployment_date: a model cannot learn from the future",
      },
    ]);
  }
}

function assertTeam(actor: Actor, team: string): void {
  if (actor.team !== null && actor.team !== team) {
    throw new ForbiddenError(
      `this token belongs to team ${actor.team} and cannot change team ${team}'s models`,
    );
  }
}

function encodeCursor(key: [number, number]): string {
  return Buffer.from(JSON.stringify(key)).toString("base64url");
}

function decodeCursor(cursor: string): [number, number] {
  try {
    const key: unknown = JSON.parse(Buffer.from(cursor, "base64url").toString("utf8"));
    if (Array.isArray(key) && key.length === 2 && key.every((n) => Number.isSafeInteger(n))) {
      return key as [number, number];
    }
  } catch {
    // Falls through to the error below.
  }
  throw new InputError("cursor is not valid", [
    { field: "cursor", message: "must be a next_cursor returned by this endpoint" },
  ]);
}
