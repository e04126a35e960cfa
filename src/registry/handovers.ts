import { ConflictError, NotFoundError } from "../core/errors.js";
import type { DeploymentRow } from "../store/schema.js";
import type { Stores } from "../store/stores.js";
import type { Actor } from "./actor.js";
import { type AuditSubject, type AuditTrail, snapshotOf } from "./audit-trail.js";
import { type DeploymentView, iso } from "./deployment-view.js";
import { type EndedAlerts, NO_ENDED_ALERTS, type OnEnded } from "./register-round.js";
import { assertTeam, lockKeyOf, requireModel } from "./registry-rules.js";

export interface RollbackOptions {
  to_version?: string;
  reason?: string;
  at?: number;
  /** Refuse (ConflictError) unless this deployment is still the live primary: a guardrail's check. */
  expect_current?: number;
  /** More of why, in the `rolled_back` event's data (a guardrail's figures). */
  data?: Record<string, unknown>;
  /** Runs in the rollback's transaction before the rolled-back primary's alerts resolve (see BeforeAlertsEnd). */
  beforeAlertsEnd?: BeforeAlertsEnd;
  /**
   * Runs in the rollback's transaction, told of the deployment rolled back, its replacement, and
   * what ending it did to its alerts (nothing when there was no primary to roll back).
   */
  within?: (
    tx: Stores,
    rolledBack: DeploymentRow | null,
    replacement: DeploymentRow,
    resolved: EndedAlerts,
  ) => Promise<void>;
}

/**
 * Runs in a handover's transaction once the deployment has ended, just before its open alerts
 * are resolved with it (onEnded): what the caller writes on them is what their resolution tells
 * (a sweep's expiry alert carries what was done about it).
 */
export type BeforeAlertsEnd = (tx: Stores, ended: DeploymentRow) => Promise<void>;

export interface HandoverOptions {
  stores: Stores;
  clock: () => number;
  onEnded: OnEnded;
  /** Each handover appends its audit row in its own transaction. */
  audit: AuditTrail;
  view: (row: DeploymentRow, now: number) => DeploymentView;
}

/**
 * The registry's changes of who serves a model in an environment once it is registered: a
 * deployment retired (or its scheduled promotion cancelled), a successor taking over, a scheduled
 * promotion carried out, a canary rolled back, a rollback to the golden version. Each runs in one
 * transaction under the model and environment's lock, with its events and its audit row, and
 * tells the lifecycle of the deployment it ends.
 */
export class Handovers {
  constructor(private readonly deps: HandoverOptions) {}

  /**
   * Ends a live deployment, or cancels a scheduled promotion; either way its status is `retired`.
   * `at` dates it for a sweep that judges the fleet at another time than now (a replay).
   */
  async retire(
    id: number,
    actor: Actor,
    reason?: string,
    at?: number,
    /**
     * Runs in the retirement's transaction, told of the retired row and of what its retirement
     * did to its alerts (a sweep's announcement, and its totals).
     */
    within?: (tx: Stores, retired: DeploymentRow, resolved: EndedAlerts) => Promise<void>,
    beforeAlertsEnd?: BeforeAlertsEnd,
  ): Promise<DeploymentView> {
    const now = at ?? this.deps.clock();
    return this.deps.stores.transaction(async (tx) => {
      const row = await tx.deployments.findDeployment(id);
      if (!row) throw new NotFoundError(`deployment ${id} does not exist`);
      assertTeam(actor, row.owner_team);
      await tx.lockKeys([lockKeyOf(row.model, row.environment)]);
      const ended =
        row.status === "scheduled"
          ? await tx.deployments.cancelScheduled(id, now)
          : await tx.deployments.endDeployment(id, "retired", now);
      if (!ended) throw new ConflictError(`deployment ${id} is already ${row.status}, not live`);
      const retired: DeploymentRow = { ...row, status: "retired", ended_at: now };
      await beforeAlertsEnd?.(tx, retired);
      const resolved = await this.deps.onEnded(tx, [retired], now);
      await this.deps.audit.recordIn(
        tx,
        actor,
        "deployment.retire",
        { kind: "deployment", id },
        snapshotOf(row),
        snapshotOf(retired),
      );
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
      await within?.(tx, retired, resolved);
      return this.deps.view(retired, now);
    });
  }

  /**
   * A live shadow or canary takes over from the live primary of its model and environment: the
   * primary ends (`superseded`) and the successor becomes the primary, both recorded as events,
   * in one transaction. Refused (ConflictError) when either changed since the caller looked.
   * `within` runs in it, told what ending the primary did to its alerts; `beforeAlertsEnd` before
   * they resolve.
   */
  async takeOver(
    primaryId: number,
    successorId: number,
    actor: Actor,
    reason: string,
    at: number,
    within?: (tx: Stores, resolved: EndedAlerts) => Promise<void>,
    beforeAlertsEnd?: BeforeAlertsEnd,
  ): Promise<DeploymentView> {
    return this.deps.stores.transaction(async (tx) => {
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
      const subject = modelOf(primary);
      const before = await this.deps.audit.snapshot(subject, tx);
      await tx.deployments.endDeployment(primary.id, "superseded", at);
      const ended: DeploymentRow = { ...primary, status: "superseded", ended_at: at };
      await beforeAlertsEnd?.(tx, ended);
      const resolved = await this.deps.onEnded(tx, [ended], at);
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
      await within?.(tx, resolved);
      const after = await this.deps.audit.snapshot(subject, tx);
      await this.deps.audit.recordIn(tx, actor, "deployment.take_over", subject, before, after);
      return this.deps.view({ ...successor, role: "primary" }, at);
    });
  }

  /**
   * Carries out a scheduled promotion at `at`: the deployment goes live (deployment_date = `at`)
   * and, if it is a primary, supersedes the live primary, with the usual events. Undefined when
   * it is no longer scheduled (cancelled, or another sweep promoted it first). `within` runs in
   * its transaction, told what superseding the primary did to its alerts (a sweep's totals).
   */
  async promote(
    id: number,
    at: number,
    actor: Actor,
    within?: (tx: Stores, resolved: EndedAlerts) => Promise<void>,
  ): Promise<DeploymentView | undefined> {
    return this.deps.stores.transaction(async (tx) => {
      const unlocked = await tx.deployments.findDeployment(id);
      if (unlocked?.status !== "scheduled") return undefined;
      await tx.lockKeys([lockKeyOf(unlocked.model, unlocked.environment)]);
      // Read again under the lock: another sweep may have promoted (or someone cancelled) it while
      // this one waited, and ending "the live primary" then would end the deployment just promoted.
      const row = await tx.deployments.findDeployment(id);
      if (row?.status !== "scheduled") return undefined;
      const current =
        row.role === "primary" ? await tx.deployments.findLivePrimary(row.model, row.environment) : undefined;
      let resolved = NO_ENDED_ALERTS;
      if (current) {
        await tx.deployments.endDeployment(current.id, "superseded", at);
        resolved = await this.deps.onEnded(tx, [{ ...current, status: "superseded", ended_at: at }], at);
      }
      // Under the lock it is still scheduled; failing here would leave the model without its
      // primary, so the whole promotion is undone rather than committed half-way.
      if (!(await tx.deployments.activateScheduled(id, at)))
        throw new ConflictError(`deployment ${id} is no longer scheduled`);
      const promoted: DeploymentRow = { ...row, status: "active", deployment_date: at };
      await this.deps.audit.recordIn(
        tx,
        actor,
        "deployment.promote",
        { kind: "deployment", id },
        snapshotOf(row),
        { ...snapshotOf(promoted), superseded: current?.id ?? null },
      );
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
      await within?.(tx, resolved);
      return this.deps.view(promoted, at);
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
      /** Told of the canary rolled back and what ending it did to its alerts. */
      within?: (tx: Stores, row: DeploymentRow, resolved: EndedAlerts) => Promise<void>;
    },
  ): Promise<DeploymentRow> {
    const { at } = options;
    return this.deps.stores.transaction(async (tx) => {
      const row = await tx.deployments.findDeployment(id);
      if (!row) throw new NotFoundError(`deployment ${id} does not exist`);
      await tx.lockKeys([lockKeyOf(row.model, row.environment)]);
      if (row.role !== "canary" || !(await tx.deployments.endDeployment(id, "rolled_back", at))) {
        throw new ConflictError(`deployment ${id} is no longer a live canary`);
      }
      const ended: DeploymentRow = { ...row, status: "rolled_back", ended_at: at, traffic_weight: 0 };
      await tx.canaries.setTrafficWeight(id, 0);
      const resolved = await this.deps.onEnded(tx, [ended], at);
      await tx.deployments.appendEvent({
        deployment_id: id,
        model: row.model,
        environment: row.environment,
        type: "canary_rolled_back",
        actor: actor.name,
        at,
        data: { model_version: row.model_version, reason: options.reason, ...options.data },
      });
      await options.within?.(tx, ended, resolved);
      await this.deps.audit.recordIn(
        tx,
        actor,
        "canary.rollback",
        { kind: "deployment", id },
        snapshotOf(row),
        snapshotOf(ended),
      );
      return ended;
    });
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
    const now = options.at ?? this.deps.clock();
    return this.deps.stores.transaction(async (tx) => {
      const owner = await requireModel(tx.models, model);
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
      const subject: AuditSubject = { kind: "model", name: model, environment };
      const before = await this.deps.audit.snapshot(subject, tx);
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
      let resolved = NO_ENDED_ALERTS;
      if (current) {
        await tx.deployments.endDeployment(current.id, "rolled_back", now);
        const ending: DeploymentRow = { ...current, status: "rolled_back", ended_at: now };
        await options.beforeAlertsEnd?.(tx, ending);
        resolved = await this.deps.onEnded(tx, [ending], now);
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
      await options.within?.(tx, ended, row, resolved);
      const after = await this.deps.audit.snapshot(subject, tx);
      await this.deps.audit.recordIn(tx, actor, "model.rollback", subject, before, after);
      return {
        deployment: this.deps.view(row, now),
        rolled_back: current
          ? this.deps.view({ ...current, status: "rolled_back", ended_at: now }, now)
          : null,
      };
    });
  }
}

function modelOf(row: DeploymentRow): AuditSubject {
  return { kind: "model", name: row.model, environment: row.environment };
}
