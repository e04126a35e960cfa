import { InputError, NotFoundError } from "../core/errors.js";
import { type PolicySource, StoredSubject, singlePolicy } from "../core/policy.js";
import { FreshStatistics } from "../store/fresh-statistics.js";
import { parseTags } from "../store/json-columns.js";
import type { DeploymentRow } from "../store/schema.js";
import type { Stores } from "../store/stores.js";
import type { Actor } from "./actor.js";
import { AuditTrail } from "./audit-trail.js";
import { instantToMs, type RegisterDeploymentBody } from "./deployment-input.js";
import { type ListQuery, type ListResult, listDeployments } from "./deployment-list.js";
import {
  type DeploymentView,
  type EventView,
  type ModelView,
  toDeploymentView,
  toEventView,
  toModelView,
} from "./deployment-view.js";
import { FUTURE_TOLERANCE_MS } from "./deployment-words.js";
import { Handovers } from "./handovers.js";
import {
  hashRequest,
  NO_ENDED_ALERTS,
  type OnEnded,
  type PendingRegistration,
  type Registration,
  registerRound,
  splitRounds,
} from "./register-round.js";
import { assertTeam, lockKeyOf, requireModel } from "./registry-rules.js";
import { type Outcome, WriteBatcher } from "./write-batcher.js";

export type { ListQuery, ListResult } from "./deployment-list.js";
export type { RollbackOptions } from "./handovers.js";
export { type EndedAlerts, NO_ENDED_ALERTS, type Registration } from "./register-round.js";

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
  /**
   * Writes each change's audit row in the change's transaction; one that names no policies
   * (their digest null) when absent.
   */
  audit?: AuditTrail;
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
  /** The audit log's writer: every change here appends its row inside its own transaction. */
  readonly audit: AuditTrail;

  private readonly registrations: WriteBatcher<PendingRegistration, Registration>;
  private readonly statistics: FreshStatistics;
  private readonly handovers: Handovers;

  constructor(options: RegistryOptions) {
    this.stores = options.stores;
    this.clock = options.clock;
    this.policies = options.policies ?? singlePolicy();
    this.onEnded = options.onEnded ?? (async () => NO_ENDED_ALERTS);
    this.audit =
      options.audit ??
      new AuditTrail({ stores: this.stores, clock: this.clock, policies: { digest: () => null } });
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
    this.handovers = new Handovers({
      stores: this.stores,
      clock: this.clock,
      onEnded: this.onEnded,
      audit: this.audit,
      view: (row, now) => this.view(row, now),
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
            this.audit,
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

  /** A page of deployments (see listDeployments). */
  list(query: ListQuery): Promise<ListResult> {
    return listDeployments(this.stores.pages, (row, now) => this.view(row, now), query, this.clock());
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

  async setGolden(
    model: string,
    environment: string,
    modelVersion: string,
    actor: Actor,
  ): Promise<ModelView> {
    const now = this.clock();
    await this.stores.transaction(async (tx) => {
      const owner = await requireModel(tx.models, model);
      assertTeam(actor, owner.owner_team);
      if (!(await tx.models.findVersion(model, modelVersion))) {
        throw new NotFoundError(`model ${model} has no version ${modelVersion}`);
      }
      const subject = { kind: "model" as const, name: model, environment };
      const before = await this.audit.snapshot(subject, tx);
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
      const after = await this.audit.snapshot(subject, tx);
      await this.audit.recordIn(tx, actor, "model.golden", subject, before, after, now);
    });
    return this.getModel(model);
  }

  /** Ends a live deployment or cancels a scheduled promotion (see Handovers.retire). */
  retire(...args: Parameters<Handovers["retire"]>) {
    return this.handovers.retire(...args);
  }

  /** A live shadow or canary takes over from the live primary (see Handovers.takeOver). */
  takeOver(...args: Parameters<Handovers["takeOver"]>) {
    return this.handovers.takeOver(...args);
  }

  /** Carries out a scheduled promotion (see Handovers.promote). */
  promote(...args: Parameters<Handovers["promote"]>) {
    return this.handovers.promote(...args);
  }

  /** Rolls a live canary back (see Handovers.rollBackCanary). */
  rollBackCanary(...args: Parameters<Handovers["rollBackCanary"]>) {
    return this.handovers.rollBackCanary(...args);
  }

  /** Makes the golden (or the named) version the live primary again (see Handovers.rollback). */
  rollback(...args: Parameters<Handovers["rollback"]>) {
    return this.handovers.rollback(...args);
  }

  /** A model's whole history: its deployments' events and its own, such as golden versions set. */
  async modelEvents(name: string): Promise<EventView[]> {
    await requireModel(this.stores.models, name);
    return (await this.stores.deployments.listModelEvents(name)).map(toEventView);
  }

  async listModels(): Promise<ModelView[]> {
    const models = await this.stores.models.listModels();
    return Promise.all(models.map((m) => this.modelView(m.name, m)));
  }

  async getModel(name: string): Promise<ModelView> {
    const model = await requireModel(this.stores.models, name);
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
