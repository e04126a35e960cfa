import type { Incidents } from "../alerts/incidents.js";
import type { AgeStage } from "../core/age.js";
import type { LifecycleEntry } from "../core/calendar.js";
import { ConflictError, InputError, NotFoundError } from "../core/errors.js";
import { ACTION_KINDS } from "../core/finding.js";
import { lifecycleDates } from "../core/findings.js";
import { isoTime as iso } from "../core/iso-time.js";
import type { RotReport } from "../core/rot-report.js";
import type { AlertState, DeliveryState } from "../core/words.js";
import type { Actor } from "../registry/actor.js";
import { snapshotOf } from "../registry/audit-trail.js";
import type { DeploymentView } from "../registry/deployment-view.js";
import type { Registry } from "../registry/registry.js";
import type { LiveScope } from "../store/deployment-store.js";
import { parseTags } from "../store/json-columns.js";
import type { DeploymentRow } from "../store/schema.js";
import type { Stores } from "../store/stores.js";
import { type FleetRows, readFleetRows } from "./fleet-rows.js";
import { explainLearnedTtl, type LearnedTtlExplanation } from "./learned-ttl-view.js";
import {
  type AlertView,
  type DeliveryView,
  type SweepView,
  toAlertView,
  toDeliveryView,
  toSweepView,
} from "./lifecycle-view.js";
import { buildModelDrift, type ModelDriftView } from "./model-drift.js";
import { buildModelPerformance, type ModelPerformanceView } from "./model-performance.js";
import type { PolicyBook, PolicyExplanation, ReloadResult } from "./policy-book.js";
import { readRotReport } from "./rot-report-source.js";
import type { Sweeper, SweepRequest } from "./sweeper.js";
import { buildTimeline, type TimelineView } from "./timeline.js";
import { listTtlSuggestions, type TtlSuggestionView } from "./ttl-suggestions.js";

export type { TimelineView } from "./timeline.js";

export interface LifecycleOptions {
  stores: Stores;
  registry: Registry;
  policies: PolicyBook;
  incidents: Incidents;
  sweeper: Sweeper;
  clock: () => number;
  /** The base of links (calendar entries). */
  publicUrl: string;
  /** Called when a change queued notifications. */
  onNotifications?: () => void;
}

export interface ExplainView {
  deployment_id: number;
  policy: string;
  reason: string;
  exempt: boolean;
  exempt_reason: string | null;
  max_age_seconds: number;
  review_at: number;
  ttl_extension_seconds: number;
  max_data_age_seconds: number | null;
  silence_after_seconds: number | null;
  expire_action: "review" | "retire";
  /** A new primary's guardrail, when the policy sets one. */
  guardrail: { error_rate: number; bake_seconds: number; min_requests: number } | null;
  due_at: string;
  expires_at: string;
  notify: Record<string, string[]>;
  candidates: PolicyExplanation["candidates"];
  /** How a `max_age: auto` TTL was set, with its changes and their evidence; null for a fixed `max_age`. */
  learned_ttl: LearnedTtlExplanation | null;
}

/**
 * The lifecycle as the API and the CLI use it: sweeps, reviews, liveness, alerts, deliveries,
 * policy reloads and explanations, and the lifecycle dates of the fleet.
 */
export class Lifecycle {
  constructor(private readonly options: LifecycleOptions) {}

  async sweep(request: SweepRequest): Promise<SweepView> {
    return toSweepView(await this.options.sweeper.run(request));
  }

  async sweeps(
    limit: number,
    beforeId?: number,
  ): Promise<{ items: SweepView[]; next_cursor: string | null }> {
    const rows = await this.options.stores.sweeps.listSweeps(limit + 1, beforeId);
    const page = rows.slice(0, limit);
    return {
      items: page.map(toSweepView),
      next_cursor: rows.length > limit ? String(page.at(-1)?.id) : null,
    };
  }

  /**
   * A review: acknowledges the deployment's age, optionally extends its TTL, records who and
   * when, and resolves its open age alerts when the extension takes it back below its review
   * point (or expiry), telling their channels, all in one transaction.
   */
  async review(
    id: number,
    actor: Actor,
    body: { note: string; extend_seconds?: number },
  ): Promise<DeploymentView> {
    const now = this.options.clock();
    const { registry, incidents } = this.options;
    const row = await this.options.stores.transaction(async (tx) => {
      const row = await tx.deployments.findDeployment(id);
      if (!row) throw new NotFoundError(`deployment ${id} does not exist`);
      registry.assertTeam(actor, row.owner_team);
      if (row.status !== "active")
        throw new ConflictError(`deployment ${id} is ${row.status}, not live: nothing to review`);
      const extend = body.extend_seconds ?? 0;
      if (extend > 0) await tx.deployments.extendTtl(id, extend);
      const reviewed = { ...row, ttl_extension_seconds: row.ttl_extension_seconds + extend };
      const policy = registry.policyOf(row);
      const dates = lifecycleDates(reviewed, policy);
      await tx.deployments.appendEvent({
        deployment_id: id,
        model: row.model,
        environment: row.environment,
        type: "reviewed",
        actor: actor.name,
        at: now,
        data: {
          model_version: row.model_version,
          note: body.note,
          extend_seconds: extend,
          ttl_seconds: policy.max_age_seconds + reviewed.ttl_extension_seconds,
          due_at: iso(dates.due_at),
          expires_at: iso(dates.expires_at),
        },
      });
      // The review is the acknowledgement: its open age alerts end here. If the deployment is
      // still past its (extended) review point, the next sweep raises a new one.
      const open = (await tx.alerts.openAlertsFor([id])).filter(
        (a) => a.kind === "due" || a.kind === "expired",
      );
      const change = await incidents.resolve(
        tx,
        open.map((alert) => ({ alert, row: reviewed })),
        now,
        "reviewed",
      );
      await registry.audit.recordIn(
        tx,
        actor,
        "deployment.review",
        { kind: "deployment", id },
        snapshotOf(row),
        snapshotOf(reviewed),
      );
      if (change.notifications > 0) queueMicrotask(() => this.options.onNotifications?.());
      return reviewed;
    });
    return registry.view(row, now);
  }

  /**
   * A person closes an alert that no sweep closes (a canary rolled back or paused, a guardrail's
   * rollback) once they have dealt with it: recorded as an event with who, when and what was
   * done, and its channels told, in one transaction. An alert a sweep concludes closes when its
   * condition ends (an age alert with a review), so closing one by hand is refused rather than
   * reopened by the next sweep.
   */
  async resolveAlert(id: number, actor: Actor, note: string): Promise<AlertView> {
    const now = this.options.clock();
    const { registry, incidents } = this.options;
    const alert = await this.options.stores.transaction(async (tx) => {
      const [alert] = await tx.alerts.findAlerts([id]);
      if (!alert) throw new NotFoundError(`alert ${id} does not exist`);
      registry.assertTeam(actor, alert.owner_team);
      if (alert.state !== "open") {
        throw new ConflictError(`alert ${id} is already resolved (${alert.resolution ?? "resolved"})`);
      }
      if (!ACTION_KINDS.has(alert.kind))
        throw new ConflictError(closedBySweep(alert.kind, alert.deployment_id));
      const row = await tx.deployments.findDeployment(alert.deployment_id);
      if (!row) throw new NotFoundError(`deployment ${alert.deployment_id} of alert ${id} does not exist`);
      const change = await incidents.resolve(tx, [{ alert, row }], now, "acknowledged");
      await tx.deployments.appendEvent({
        deployment_id: row.id,
        model: row.model,
        environment: row.environment,
        type: "alert_resolved",
        actor: actor.name,
        at: now,
        data: { alert_id: id, kind: alert.kind, model_version: row.model_version, note },
      });
      const resolved = { ...alert, state: "resolved" as const, resolved_at: now, resolution: "acknowledged" };
      await registry.audit.recordIn(
        tx,
        actor,
        "alert.resolve",
        { kind: "alert", id },
        snapshotOf(alert),
        snapshotOf(resolved),
      );
      if (change.notifications > 0) queueMicrotask(() => this.options.onNotifications?.());
      return resolved;
    });
    return toAlertView(alert);
  }

  /** A liveness heartbeat from the serving endpoint; a deployment that is not live says so (409). */
  /**
   * Liveness from the serving endpoint. With `served_version`, the version the endpoint says it
   * serves: one that differs from the registry's marks a version mismatch, as a gateway's report
   * does, and the registered one clears a mismatch seen before.
   */
  async heartbeat(
    id: number,
    actor: Actor,
    at?: number,
    servedVersion?: string,
  ): Promise<{ deployment_id: number; last_heartbeat_at: string; version_mismatch: boolean }> {
    const now = at ?? this.options.clock();
    const row = await this.requireDeployment(id);
    this.options.registry.assertTeam(actor, row.owner_team);
    if (row.status !== "active") throw new ConflictError(`deployment ${id} is ${row.status}, not live`);
    await this.options.stores.metrics.recordHeartbeat(id, now);
    const mismatch = servedVersion !== undefined && servedVersion !== row.model_version;
    if (servedVersion !== undefined) {
      await this.options.stores.traffic.markDeployments([
        mismatch
          ? { deployment_id: id, mismatch: { version: servedVersion, at: now } }
          : { deployment_id: id, matched_at: now },
      ]);
    }
    const latest = Math.max(now, row.last_heartbeat_at ?? 0);
    return {
      deployment_id: id,
      last_heartbeat_at: new Date(latest).toISOString(),
      version_mismatch: mismatch,
    };
  }

  /**
   * Records performance points of a deployment (any status: labels arrive late, after a
   * deployment has ended). Each point's timestamp defaults to now; one in the future is refused.
   */
  async recordMetrics(
    id: number,
    actor: Actor,
    points: { name: string; value: number; timestamp?: number; sample_size?: number }[],
  ): Promise<{ deployment_id: number; accepted: number }> {
    const now = this.options.clock();
    const row = await this.requireDeployment(id);
    this.options.registry.assertTeam(actor, row.owner_team);
    const issues = points.flatMap((p, i) =>
      p.timestamp !== undefined && p.timestamp > now + 5 * 60_000
        ? [
            {
              field: `points.${i}.timestamp`,
              message: "must not be more than 5 minutes after the server's time",
            },
          ]
        : [],
    );
    if (issues.length > 0) throw new InputError("a point is in the future", issues.slice(0, 20));
    await this.options.stores.metrics.upsertPoints(
      id,
      points.map((p) => ({
        name: p.name,
        value: p.value,
        timestamp: p.timestamp ?? now,
        sample_size: p.sample_size ?? 1,
      })),
      now,
    );
    return { deployment_id: id, accepted: points.length };
  }

  /** Everything the Age vs Performance chart draws, on one time axis (see buildTimeline). */
  async timeline(id: number): Promise<TimelineView> {
    const row = await this.requireDeployment(id);
    return buildTimeline(this.options.stores, this.options.registry, row, this.options.clock());
  }

  /** One metric of a model's deployments in an environment, for Age vs Performance (see buildModelPerformance). */
  async modelPerformance(model: string, environment: string, metric?: string): Promise<ModelPerformanceView> {
    await this.requireModel(model);
    const { stores, registry, clock } = this.options;
    return buildModelPerformance(stores, registry, { model, environment, metric }, clock());
  }

  /** Input drift of a model's deployments in an environment, feature by feature and day by day (see buildModelDrift). */
  async modelDrift(model: string, environment: string, days: number): Promise<ModelDriftView> {
    await this.requireModel(model);
    const { stores, registry, clock } = this.options;
    return buildModelDrift(stores, registry, { model, environment, days }, clock());
  }

  async alerts(query: {
    state?: AlertState;
    deployment_id?: number;
    owner_team?: string;
    limit: number;
    cursor?: number;
  }) {
    const rows = await this.options.stores.alerts.listAlerts({
      ...query,
      limit: query.limit + 1,
      beforeId: query.cursor,
    });
    const page = rows.slice(0, query.limit);
    return {
      items: page.map(toAlertView),
      next_cursor: rows.length > query.limit ? String(page.at(-1)?.id) : null,
    } satisfies { items: AlertView[]; next_cursor: string | null };
  }

  async deliveries(query: { state?: DeliveryState; alert_id?: number; limit: number; cursor?: number }) {
    const rows = await this.options.stores.outbox.listDeliveries({
      ...query,
      limit: query.limit + 1,
      beforeId: query.cursor,
    });
    const page = rows.slice(0, query.limit);
    const attempts = await this.options.stores.outbox.listAttempts(page.map((d) => d.id));
    return {
      items: page.map((d) =>
        toDeliveryView(
          d,
          attempts.filter((a) => a.delivery_id === d.id),
        ),
      ),
      next_cursor: rows.length > query.limit ? String(page.at(-1)?.id) : null,
    } satisfies { items: DeliveryView[]; next_cursor: string | null };
  }

  /** Puts dead-lettered deliveries back in the queue (all, or those named), with its audit row. */
  async retryDeliveries(actor: Actor, ids?: number[]): Promise<{ retried: number }> {
    const retried = await this.options.stores.transaction(async (tx) => {
      const retried = await tx.outbox.retryFailed(Date.now(), ids);
      await this.options.registry.audit.recordIn(tx, actor, "deliveries.retry", null, null, { retried });
      return retried;
    });
    if (retried > 0) this.options.onNotifications?.();
    return { retried };
  }

  reloadPolicies(): ReloadResult {
    return this.options.policies.reload();
  }

  async explain(id: number): Promise<ExplainView> {
    const row = await this.requireDeployment(id);
    const { policy, candidates, reason } = this.options.policies.explain(subjectOf(row));
    const dates = lifecycleDates(row, policy);
    return {
      deployment_id: id,
      policy: policy.name,
      reason,
      exempt: policy.exempt,
      exempt_reason: policy.reason,
      max_age_seconds: policy.max_age_seconds,
      review_at: policy.review_at,
      ttl_extension_seconds: row.ttl_extension_seconds,
      max_data_age_seconds: policy.max_data_age_seconds,
      silence_after_seconds: policy.silence_after_seconds,
      expire_action: policy.expire_action,
      guardrail: policy.guardrail,
      due_at: iso(dates.due_at),
      expires_at: iso(dates.expires_at),
      notify: policy.notify as Record<string, string[]>,
      candidates,
      learned_ttl: await explainLearnedTtl(this.options.stores, row, policy),
    };
  }

  /** The TTL each model's decay suggests, per environment with live deployments (`tenure policy suggest`). */
  async suggestions(filter: {
    model?: string;
    environment?: string;
  }): Promise<{ items: TtlSuggestionView[] }> {
    const { stores, registry } = this.options;
    const items = await listTtlSuggestions(
      stores,
      (row) => registry.policyOf(row),
      filter,
      this.options.clock(),
    );
    return { items };
  }

  /** Every live deployment's review and expiry dates, soonest expiry first; optionally one team's. */
  async entries(filter: { owner_team?: string; environment?: string }): Promise<LifecycleEntry[]> {
    const entries: LifecycleEntry[] = [];
    await this.eachLive(scopeOf(filter), (row) => {
      const policy = this.options.registry.policyOf(row);
      entries.push({
        deployment_id: row.id,
        model: row.model,
        model_version: row.model_version,
        environment: row.environment,
        owner_team: row.owner_team,
        policy: policy.name,
        exempt: policy.exempt,
        ...lifecycleDates(row, policy),
        link: new URL(`/v1/deployments/${row.id}`, this.options.publicUrl).toString(),
      });
    });
    return entries.sort((a, b) => a.expires_at - b.expires_at || a.deployment_id - b.deployment_id);
  }

  /**
   * Counts of live deployments by stage, by team and by environment (each with its stages), and
   * the open alerts by kind: the fleet at a glance.
   */
  async fleet(): Promise<FleetView> {
    const now = this.options.clock();
    const view: FleetView = {
      live: 0,
      exempt: 0,
      stages: emptyStages(),
      teams: {},
      environments: {},
      open_alerts: {},
    };
    await this.eachLive({}, (row) => {
      const { age } = this.options.registry.view(row, now);
      const stage = age.stage ?? "fresh";
      view.live++;
      if (age.exempt) view.exempt++;
      view.stages[stage]++;
      view.teams[row.owner_team] ??= emptyStages();
      (view.teams[row.owner_team] as Record<AgeStage, number>)[stage]++;
      view.environments[row.environment] ??= emptyStages();
      (view.environments[row.environment] as Record<AgeStage, number>)[stage]++;
    });
    view.open_alerts = await this.options.stores.alerts.countOpenAlerts();
    return view;
  }

  /** Every live deployment in scope, oldest first, as the dashboard's fleet table and /metrics read it. */
  async fleetRows(filter: { owner_team?: string; environment?: string; model?: string }): Promise<FleetRows> {
    const { stores, registry } = this.options;
    return readFleetRows(
      { stores, policyOf: (row) => registry.policyOf(row) },
      { ...scopeOf(filter), model: filter.model || undefined },
      this.options.clock(),
    );
  }

  /** The rot report of a team (or every team) over the last `since` seconds (see readRotReport). */
  async report(query: { owner_team?: string; since: number }): Promise<RotReport> {
    const { stores, registry } = this.options;
    return readRotReport(
      { stores, policyOf: (row) => registry.policyOf(row) },
      { owner_team: query.owner_team, since_seconds: query.since },
      this.options.clock(),
    );
  }

  /** Visits the live deployments in `scope`, read a page at a time, each page filtered in SQL. */
  private async eachLive(
    scope: LiveScope,
    visit: (row: DeploymentRow) => Promise<void> | void,
  ): Promise<void> {
    for (let after = 0; ; ) {
      const rows = await this.options.stores.deployments.liveDeployments(after, 1000, scope);
      for (const row of rows) await visit(row);
      if (rows.length < 1000) return;
      after = rows.at(-1)?.id ?? after;
    }
  }

  /**
   * The CI gate: live deployments in scope at or past `failOn` (`due` includes expired; `stale`
   * means data older than the policy allows, performance below target, or drifted inputs). An
   * exempt policy waives the age and data-age gates, not the evidence of performance and drift.
   */
  async check(filter: { owner_team?: string; environment?: string; fail_on: "due" | "expired" | "stale" }) {
    const now = this.options.clock();
    const offenders: (DeploymentView & { reasons: string[] })[] = [];
    let checked = 0;
    await this.eachLive(scopeOf(filter), (row) => {
      checked++;
      const policy = this.options.registry.policyOf(row);
      const view = this.options.registry.view(row, now);
      // An exempt policy waives age and data age, not the evidence of performance and drift.
      const reasons = policy.exempt
        ? []
        : offenceOf(view.age.stage, view.age.data_age_seconds, policy.max_data_age_seconds, filter.fail_on);
      if (filter.fail_on === "stale" && row.performance_state === "degraded") reasons.push("degraded");
      if (filter.fail_on === "stale" && row.drift_state === "drifted") reasons.push("drifted");
      if (reasons.length > 0) offenders.push({ ...view, reasons });
    });
    offenders.sort((a, b) => b.age.ttl_fraction - a.age.ttl_fraction);
    return { ok: offenders.length === 0, fail_on: filter.fail_on, checked, offenders };
  }

  private async requireModel(name: string): Promise<void> {
    if (!(await this.options.stores.models.findModel(name)))
      throw new NotFoundError(`model ${name} does not exist`);
  }

  private async requireDeployment(id: number): Promise<DeploymentRow> {
    const row = await this.options.stores.deployments.findDeployment(id);
    if (!row) throw new NotFoundError(`deployment ${id} does not exist`);
    return row;
  }
}

export interface FleetView {
  live: number;
  exempt: number;
  stages: Record<AgeStage, number>;
  teams: Record<string, Record<AgeStage, number>>;
  environments: Record<string, Record<AgeStage, number>>;
  open_alerts: Record<string, number>;
}

/** A request's scope as the store reads it: an empty value, as before, filters nothing. */
function scopeOf(filter: { owner_team?: string; environment?: string }): LiveScope {
  return {
    owner_team: filter.owner_team || undefined,
    environment: filter.environment || undefined,
  };
}

const emptyStages = (): Record<AgeStage, number> => ({ fresh: 0, due: 0, expired: 0 });

function subjectOf(row: DeploymentRow) {
  return {
    model: row.model,
    environment: row.environment,
    owner_team: row.owner_team,
    tags: parseTags(row.tags),
  };
}

function offenceOf(
  stage: AgeStage | null,
  dataAge: number,
  maxDataAge: number | null,
  failOn: "due" | "expired" | "stale",
): string[] {
  // Age gates: `due` fails on due and expired, `expired` on expired only. `stale` is functional
  // expiry, whatever the age: data older than the policy allows, or performance below target
  // (the caller adds `degraded` and `drifted`).
  if (failOn === "stale") return maxDataAge !== null && dataAge >= maxDataAge ? ["data_stale"] : [];
  if (stage === "expired") return ["expired"];
  if (stage === "due" && failOn === "due") return ["due"];
  return [];
}

/** Why an alert a sweep concluded cannot be closed by hand, and what closes it. */
function closedBySweep(kind: string, deploymentId: number): string {
  const how =
    kind === "due" || kind === "expired"
      ? `review the deployment (tenure review ${deploymentId}) or end it`
      : "the sweep closes it when the condition ends, or when the deployment ends";
  return `${/^[aeiou]/.test(kind) ? "an" : "a"} ${kind} alert is not closed by hand: ${how}`;
}
