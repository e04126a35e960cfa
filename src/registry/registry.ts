import type { AgeStage } from "../core/age.js";
import { ConflictError, ForbiddenError, InputError, NotFoundError } from "../core/errors.js";
import { type PolicySource, StoredSubject, singlePolicy } from "../core/policy.js";
import type { DeploymentRole, DeploymentStatus } from "../core/words.js";
import { FreshStatistics } from "../store/fresh-statistics.js";
import { parseTags } from "../store/json-columns.js";
import type { ModelStore } from "../store/model-store.js";
import type { DeploymentFilter } from "../store/page-store.js";
import type { DeploymentRow } from "../store/schema.js";
import type { Stores } from "../store/stores.js";
import type { Actor } from "./actor.js";
import { instantToMs, type RegisterDeploymentBody } from "./deployment-input.js";
import {
  type DeploymentView,
  type EventView,
  iso,
  type ModelView,
  toDeploymentView,
  toEventView,
  toModelView,
} from "./deployment-view.js";
import { FUTURE_TOLERANCE_MS } from "./deployment-words.js";
import {
  hashRequest,
  type OnEnded,
  type PendingRegistration,
  type Registration,
  registerRound,
  splitRounds,
} from "./register-round.js";
import { type Outcome, WriteBatcher } from "./write-batcher.js";

export type { Registration } from "./register-round.js";

export interface RegistryOptions {
  stores: Stores;
  /** Epoch milliseconds now; injected so tests and replays control time. */
  clock: () => number;
  /** Which policy governs each deployment; the built-in defaults when absent. */
  policies?: PolicySource;
  /**
   * Told, inside the same transaction, of every deployment that ends (superseded, retired,
   * rolled back): the lifecycle resolves their alerts there, so channels hear it at once.
   */
  onEnded?: OnEnded;
}

export interface RollbackOptions {
  to_version?: string;
  reason?: string;
  at?: number;
  /** Refuse (ConflictError) unless this deployment is still the live primary: a guardrail's check. */
  expect_current?: number;
  /** More of why, in the `rolled_back` event's data (a guardrail's figures). */
  data?: Record<string, unknown>;
  /** Runs in the rollback's transaction, told of the deployment rolled back and its replacement. */
  within?: (tx: Stores, rolledBack: DeploymentRow | null, replacement: DeploymentRow) => Promise<void>;
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
  private readonly stores: Stores;
  private readonly clock: () => number;
  private readonly policies: PolicySource;
  private readonly onEnded: OnEnded;

  private readonly registrations: WriteBatcher<PendingRegistration, Registration>;
  private readonly statistics: FreshStatistics;

  constructor(options: RegistryOptions) {
    this.stores = options.stores;
    this.clock = options.clock;
    this.policies = options.policies ?? singlePolicy();
    this.onEnded = options.onEnded ?? (async () => {});
    this.registrations = new WriteBatcher({
      runBatch: (items) => this.registerBatch(items),
      runOne: (item) => this.registerOne(item),
      maxBatch: 64,
      // SQLite has one writer. On PostgreSQL two batches in flight keep the server busy while one
      // waits for its commit to flush; more only make the batches smaller (see BENCHMARKS.md).
      concurrency: options.stores.traits.singleWriter ? 1 : 2,
      // Fuller PostgreSQL batches while one is in flight: more registrations a second (see BENCHMARKS.md).
      minBatchWhileBusy: 8,
    });
    this.statistics = new FreshStatistics({ analyze: () => this.stores.deployments.analyzeDeployments() });
  }

  /** Resolves once background work on the database (a statistics refresh) is done. */
  async idle(): Promise<void> {
    await this.statistics.idle();
  }

  /**
   * Registers a deployment. Concurrent registrations commit together (see WriteBatcher); each
   * still sees the ones before it, so a primary supersedes whichever primary was live just
   * before it, whether that one committed earlier or in the same transaction.
   */
  async register(body: RegisterDeploymentBody, actor: Actor, idempotencyKey?: string): Promise<Registration> {
    const now = this.clock();
    const scheduled = body.scheduled_at !== undefined;
    const deploymentDate = dateOf(body, now);
    const cutoff = instantToMs(body.training_data_cutoff);
    checkDates(deploymentDate, cutoff, now, scheduled);
    checkCanary(body, scheduled);
    assertTeam(actor, body.owner_team);
    return this.registrations.submit({
      body,
      actor,
      now,
      deployment_date: deploymentDate,
      training_data_cutoff: cutoff,
      scheduled,
      // Only a request with an Idempotency-Key is ever compared with another.
      request_hash: idempotencyKey === undefined ? "" : hashRequest(body),
      scope_key: idempotencyKey === undefined ? undefined : `${actor.key_scope}:${idempotencyKey}`,
    });
  }

  private async registerBatch(items: PendingRegistration[]): Promise<Outcome<Registration>[]> {
    const outcomes = await this.stores.transaction(async (tx) => {
      // The first round's reads are sent behind the locks, not after their answer: PostgreSQL
      // runs them once it holds the locks, and a failed lock fails them too.
      const rounds = splitRounds(items);
      const locked = tx.lockKeys(items.map((item) => lockKeyOf(item.body.model, item.body.environment)));
      const byItem: Outcome<Registration>[] = [];
      for (const round of rounds) {
        const [results] = await Promise.all([
          registerRound(
            tx,
            round.map((i) => items[i] as PendingRegistration),
            (row, now) => this.view(row, now),
            this.onEnded,
          ),
          // Settled after the first round: awaiting it again costs nothing.
          locked,
        ]);
        round.forEach((index, k) => {
          byItem[index] = results[k] as Outcome<Registration>;
        });
      }
      return byItem;
    });
    if (this.stores.traits.plannerStatistics) {
      this.statistics.grew(outcomes.filter((o) => o.ok && !o.value.replayed).length);
    }
    return outcomes;
  }

  /** A batch of one, in a transaction of its own: the batcher's fallback. */
  private async registerOne(item: PendingRegistration): Promise<Registration> {
    const [outcome] = await this.registerBatch([item]);
    if (!outcome?.ok) throw outcome?.error ?? new Error("the registration returned no outcome");
    return outcome.value;
  }

  /** Resolves when the database answers: the readiness check. */
  async ping(): Promise<void> {
    await this.stores.ping();
  }

  async get(id: number): Promise<DeploymentView> {
    return this.view(await this.requireDeployment(id), this.clock());
  }

  async events(id: number): Promise<EventView[]> {
    await this.requireDeployment(id);
    return (await this.stores.deployments.listEvents(id)).map(toEventView);
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
    const order = query.sort === "-age" ? "asc" : "desc";
    let after = query.cursor === undefined ? undefined : decodeCursor(query.cursor);
    if (!query.stage) {
      const rows = await this.stores.pages.listDeployments({ filter, order, limit: query.limit + 1, after });
      const page = rows.slice(0, query.limit);
      return this.page(page, rows.length > query.limit, now);
    }
    // Only live deployments have a stage, and each one's stage depends on its own policy: read
    // live deployments in age order, keep those in the stage, stop once the page is full.
    if (query.status && query.status !== "active") return { items: [], next_cursor: null };
    filter.statuses = ["active"];
    const kept: { row: DeploymentRow; view: DeploymentView }[] = [];
    const chunk = Math.max(200, query.limit * 4);
    for (;;) {
      const rows = await this.stores.pages.listDeployments({ filter, order, limit: chunk, after });
      for (const row of rows) {
        const view = this.view(row, now);
        if (view.age.stage === query.stage) kept.push({ row, view });
        if (kept.length > query.limit) break;
      }
      const last = rows.at(-1);
      if (kept.length > query.limit || rows.length < chunk || !last) break;
      after = [last.deployment_date, last.id];
    }
    const page = kept.slice(0, query.limit);
    const lastRow = page.at(-1)?.row;
    return {
      items: page.map((k) => k.view),
      next_cursor:
        kept.length > query.limit && lastRow ? encodeCursor([lastRow.deployment_date, lastRow.id]) : null,
    };
  }

  private page(rows: DeploymentRow[], more: boolean, now: number): ListResult {
    const last = rows.at(-1);
    return {
      items: rows.map((row) => this.view(row, now)),
      next_cursor: more && last ? encodeCursor([last.deployment_date, last.id]) : null,
    };
  }

  /** Throws ForbiddenError when a team-bound actor touches another team's model. */
  assertTeam(actor: Actor, team: string): void {
    assertTeam(actor, team);
  }

  /** A deployment as the API shows it, judged by the policy that governs it. */
  view(row: DeploymentRow, now: number): DeploymentView {
    return toDeploymentView(row, this.policyOf(row), now);
  }

  /** The policy that governs a deployment. */
  policyOf(row: Pick<DeploymentRow, "model" | "environment" | "owner_team" | "tags">) {
    return this.policies.policyFor(new StoredSubject(row, parseTags));
  }

  /**
   * Ends a live deployment, or cancels a scheduled promotion; either way its status is `retired`.
   * `at` dates it for a sweep that judges the fleet at another time than now (a replay).
   */
  async retire(id: number, actor: Actor, reason?: string, at?: number): Promise<DeploymentView> {
    const now = at ?? this.clock();
    return this.stores.transaction(async (tx) => {
      const row = await tx.deployments.findDeployment(id);
      if (!row) throw new NotFoundError(`deployment ${id} does not exist`);
      assertTeam(actor, row.owner_team);
      await tx.lockKeys([lockKeyOf(row.model, row.environment)]);
      const ended =
        row.status === "scheduled"
          ? await tx.deployments.cancelScheduled(id, now)
          : await tx.deployments.endDeployment(id, "retired", now);
      if (!ended) throw new ConflictError(`deployment ${id} is already ${row.status}, not live`);
      await this.onEnded(tx, [{ ...row, status: "retired", ended_at: now }], now);
      await tx.deployments.appendEvent({
        deployment_id: id,
        model: row.model,
        environment: row.environment,
        type: "retired",
        actor: actor.name,
        at: now,
        data: {
          model_version: row.model_version,
          reason: reason ?? null,
          ...(row.status === "scheduled" ? { cancelled_promotion: true } : {}),
        },
      });
      return this.view({ ...row, status: "retired", ended_at: now }, now);
    });
  }

  /**
   * Carries out a scheduled promotion at `at`: the deployment goes live (deployment_date = `at`)
   * and, if it is a primary, supersedes the live primary, with the usual events. Undefined when
   * it is no longer scheduled (cancelled, or another sweep promoted it first).
   */
  /**
   * A live shadow or canary takes over from the live primary of its model and environment: the
   * primary ends (`superseded`) and the successor becomes the primary, both recorded as events,
   * in one transaction. Refused (ConflictError) when either changed since the caller looked.
   */
  async takeOver(
    primaryId: number,
    successorId: number,
    actor: Actor,
    reason: string,
    at: number,
    within?: (tx: Stores) => Promise<void>,
  ): Promise<DeploymentView> {
    return this.stores.transaction(async (tx) => {
      const primary = await tx.deployments.findDeployment(primaryId);
      if (!primary) throw new NotFoundError(`deployment ${primaryId} does not exist`);
      await tx.lockKeys([lockKeyOf(primary.model, primary.environment)]);
      const successor = await tx.deployments.findDeployment(successorId);
      if (primary.status !== "active" || primary.role !== "primary") {
        throw new ConflictError(`deployment ${primaryId} is no longer the live primary`);
      }
      if (
        successor?.status !== "active" ||
        successor.role === "primary" ||
        successor.model !== primary.model ||
        successor.environment !== primary.environment
      ) {
        throw new ConflictError(`deployment ${successorId} is no longer a live successor of ${primaryId}`);
      }
      await tx.deployments.endDeployment(primary.id, "superseded", at);
      await this.onEnded(tx, [{ ...primary, status: "superseded", ended_at: at }], at);
      if (!(await tx.deployments.makePrimary(successor.id))) {
        throw new ConflictError(`deployment ${successorId} could not become the primary`);
      }
      const common = { model: primary.model, environment: primary.environment, actor: actor.name, at };
      await tx.deployments.appendEvents([
        {
          ...common,
          deployment_id: successor.id,
          type: "promoted",
          data: {
            model_version: successor.model_version,
            from_role: successor.role,
            supersedes: primary.id,
            reason,
          },
        },
        {
          ...common,
          deployment_id: primary.id,
          type: "superseded",
          data: { model_version: primary.model_version, superseded_by: successor.id, reason },
        },
      ]);
      await within?.(tx);
      return this.view({ ...successor, role: "primary" }, at);
    });
  }

  async promote(id: number, at: number, actor: Actor): Promise<DeploymentView | undefined> {
    return this.stores.transaction(async (tx) => {
      const row = await tx.deployments.findDeployment(id);
      if (row?.status !== "scheduled") return undefined;
      await tx.lockKeys([lockKeyOf(row.model, row.environment)]);
      const current =
        row.role === "primary" ? await tx.deployments.findLivePrimary(row.model, row.environment) : undefined;
      if (current) {
        await tx.deployments.endDeployment(current.id, "superseded", at);
        await this.onEnded(tx, [{ ...current, status: "superseded", ended_at: at }], at);
      }
      if (!(await tx.deployments.activateScheduled(id, at))) return undefined;
      const common = { model: row.model, environment: row.environment, actor: actor.name, at };
      await tx.deployments.appendEvent({
        ...common,
        deployment_id: id,
        type: "deployed",
        data: {
          model_version: row.model_version,
          role: row.role,
          supersedes: current?.id ?? null,
          promotion_scheduled_for: iso(row.deployment_date),
        },
      });
      if (current) {
        await tx.deployments.appendEvent({
          ...common,
          deployment_id: current.id,
          type: "superseded",
          data: { model_version: current.model_version, superseded_by: id },
        });
      }
      return this.view({ ...row, status: "active", deployment_date: at }, at);
    });
  }

  /**
   * Rolls a live canary back: it ends as `rolled_back` and answers no more traffic (weight 0),
   * with a `canary_rolled_back` event carrying `data`; `within` runs in the same transaction
   * (the canary's state, its analysis, the alert). Refused (ConflictError) when it is no longer
   * a live canary.
   */
  async rollBackCanary(
    id: number,
    actor: Actor,
    options: {
      at: number;
      reason: string;
      data: Record<string, unknown>;
      within?: (tx: Stores, row: DeploymentRow) => Promise<void>;
    },
  ): Promise<DeploymentRow> {
    const { at } = options;
    return this.stores.transaction(async (tx) => {
      const row = await tx.deployments.findDeployment(id);
      if (!row) throw new NotFoundError(`deployment ${id} does not exist`);
      await tx.lockKeys([lockKeyOf(row.model, row.environment)]);
      if (row.role !== "canary" || !(await tx.deployments.endDeployment(id, "rolled_back", at))) {
        throw new ConflictError(`deployment ${id} is no longer a live canary`);
      }
      const ended: DeploymentRow = { ...row, status: "rolled_back", ended_at: at, traffic_weight: 0 };
      await tx.canaries.setTrafficWeight(id, 0);
      await this.onEnded(tx, [ended], at);
      await tx.deployments.appendEvent({
        deployment_id: id,
        model: row.model,
        environment: row.environment,
        type: "canary_rolled_back",
        actor: actor.name,
        at,
        data: { model_version: row.model_version, reason: options.reason, ...options.data },
      });
      await options.within?.(tx, ended);
      return ended;
    });
  }

  async setGolden(
    model: string,
    environment: string,
    modelVersion: string,
    actor: Actor,
  ): Promise<ModelView> {
    const now = this.clock();
    await this.stores.transaction(async (tx) => {
      const owner = await this.requireModel(tx.models, model);
      assertTeam(actor, owner.owner_team);
      if (!(await tx.models.findVersion(model, modelVersion))) {
        throw new NotFoundError(`model ${model} has no version ${modelVersion}`);
      }
      await tx.models.upsertGolden({
        model,
        environment,
        model_version: modelVersion,
        set_at: now,
        set_by: actor.name,
      });
      await tx.deployments.appendEvent({
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
    options: RollbackOptions = {},
  ): Promise<{ deployment: DeploymentView; rolled_back: DeploymentView | null }> {
    const now = options.at ?? this.clock();
    return this.stores.transaction(async (tx) => {
      const owner = await this.requireModel(tx.models, model);
      assertTeam(actor, owner.owner_team);
      await tx.lockKeys([lockKeyOf(model, environment)]);
      const target = options.to_version ?? (await tx.models.findGolden(model, environment))?.model_version;
      if (target === undefined) {
        throw new ConflictError(
          `model ${model} has no golden version in ${environment}: set one (tenure golden) or name the version to roll back to`,
        );
      }
      const version = await tx.models.findVersion(model, target);
      if (!version) throw new NotFoundError(`model ${model} has no version ${target}`);
      const current = await tx.deployments.findLivePrimary(model, environment);
      if (options.expect_current !== undefined && current?.id !== options.expect_current) {
        throw new ConflictError(
          `deployment ${options.expect_current} is no longer the live primary of ${model} in ${environment}`,
        );
      }
      if (current?.model_version === target) {
        throw new ConflictError(`${model} ${target} is already the live primary in ${environment}`);
      }
      // Traffic goes back to where the target version served, not to the current's endpoint,
      // which serves the version being rolled back.
      const endpoint =
        (await tx.deployments.lastEndpoint(model, environment, target)) ?? current?.endpoint ?? null;
      if (current) {
        await tx.deployments.endDeployment(current.id, "rolled_back", now);
        await this.onEnded(tx, [{ ...current, status: "rolled_back", ended_at: now }], now);
      }
      const row = await tx.deployments.insertDeployment({
        model,
        model_version: target,
        environment,
        owner_team: owner.owner_team,
        role: "primary",
        status: "active",
        deployment_date: now,
        training_data_cutoff: version.training_data_cutoff,
        ended_at: null,
        endpoint,
        tags: current?.tags ?? "{}",
        ttl_extension_seconds: 0,
        created_at: now,
        created_by: actor.name,
      });
      const common = { model, environment, actor: actor.name, at: now };
      const reason = options.reason ?? null;
      await tx.deployments.appendEvent({
        ...common,
        deployment_id: row.id,
        type: "deployed",
        data: { model_version: target, role: "primary", rollback_of: current?.id ?? null, reason },
      });
      if (current) {
        await tx.deployments.appendEvent({
          ...common,
          deployment_id: current.id,
          type: "rolled_back",
          data: {
            model_version: current.model_version,
            rolled_back_to: row.id,
            to_version: target,
            reason,
            ...options.data,
          },
        });
      }
      const ended = current ? { ...current, status: "rolled_back" as const, ended_at: now } : null;
      await options.within?.(tx, ended, row);
      return {
        deployment: this.view(row, now),
        rolled_back: current ? this.view({ ...current, status: "rolled_back", ended_at: now }, now) : null,
      };
    });
  }

  /** A model's whole history: its deployments' events and its own, such as golden versions set. */
  async modelEvents(name: string): Promise<EventView[]> {
    await this.requireModel(this.stores.models, name);
    return (await this.stores.deployments.listModelEvents(name)).map(toEventView);
  }

  async listModels(): Promise<ModelView[]> {
    const models = await this.stores.models.listModels();
    return Promise.all(models.map((m) => this.modelView(m.name, m)));
  }

  async getModel(name: string): Promise<ModelView> {
    const model = await this.requireModel(this.stores.models, name);
    return this.modelView(name, model);
  }

  private async modelView(name: string, model: { name: string; owner_team: string; created_at: number }) {
    const now = this.clock();
    const [versions, live, golden] = await Promise.all([
      this.stores.models.listVersions(name),
      this.stores.deployments.listLiveForModels([name]),
      this.stores.models.listGolden([name]),
    ]);
    const liveViews = live.map((row) => this.view(row, now));
    return toModelView(model, versions, liveViews, golden);
  }

  private async requireDeployment(id: number): Promise<DeploymentRow> {
    const row = await this.stores.deployments.findDeployment(id);
    if (!row) throw new NotFoundError(`deployment ${id} does not exist`);
    return row;
  }

  private async requireModel(models: ModelStore, name: string) {
    const model = await models.findModel(name);
    if (!model) throw new NotFoundError(`model ${name} does not exist`);
    return model;
  }
}

/** The lock that serializes changes to the primaries of a model in an environment. */
function lockKeyOf(model: string, environment: string): string {
  return `tenure:${model} ${environment}`;
}

/** The deployment date a registration asks for: its promotion time, its date, or now. */
function dateOf(body: RegisterDeploymentBody, now: number): number {
  if (body.scheduled_at !== undefined) {
    if (body.deployment_date !== undefined) {
      throw new InputError("a scheduled promotion has no deployment_date yet", [
        { field: "deployment_date", message: "must not be given with scheduled_at: the promotion sets it" },
      ]);
    }
    return instantToMs(body.scheduled_at);
  }
  return body.deployment_date === undefined ? now : instantToMs(body.deployment_date);
}

function checkDates(deploymentDate: number, cutoff: number, now: number, scheduled: boolean): void {
  if (scheduled && deploymentDate <= now) {
    throw new InputError("scheduled_at is not in the future", [
      {
        field: "scheduled_at",
        message: `must be after the server's time (${new Date(now).toISOString()}); register a live deployment instead`,
      },
    ]);
  }
  if (!scheduled && deploymentDate > now + FUTURE_TOLERANCE_MS) {
    throw new InputError("deployment_date is in the future", [
      {
        field: "deployment_date",
        message: `must not be more than 5 minutes after the server's time (${new Date(now).toISOString()}); use scheduled_at for a promotion`,
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

/** Canary settings belong to a live canary: the analysis starts when it is registered. */
function checkCanary(body: RegisterDeploymentBody, scheduled: boolean): void {
  if (body.canary === undefined) return;
  if (body.role !== "canary") {
    throw new InputError("canary settings need role canary", [
      { field: "role", message: "must be canary to take canary settings (weight, steps, ...)" },
    ]);
  }
  if (scheduled) {
    throw new InputError("a canary cannot be scheduled", [
      {
        field: "scheduled_at",
        message: "must not be given with canary settings: register the canary when it goes live",
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
