import type { Incidents } from "../alerts/incidents.js";
import type { LifecycleEntry } from "../core/calendar.js";
import { ConflictError, InputError, NotFoundError } from "../core/errors.js";
import { lifecycleDates } from "../core/findings.js";
import { isoTime as iso } from "../core/iso-time.js";
import type { RotReport } from "../core/rot-report.js";
import type { AlertState, DeliveryState } from "../core/words.js";
import type { Actor } from "../registry/actor.js";
import type { DeploymentView } from "../registry/deployment-view.js";
import type { Registry } from "../registry/registry.js";
import { parseTags } from "../store/json-columns.js";
import type { DeploymentRow } from "../store/schema.js";
import type { Stores } from "../store/stores.js";
import { resolveAlertByHand, reviewDeployment } from "./acknowledgements.js";
import { checkFleet, type FleetView, fleetCounts, lifecycleEntries, scopeOf } from "./fleet-queries.js";
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
import { recordReloadedTtls } from "./reloaded-ttls.js";
import { readRotReport } from "./rot-report-source.js";
import type { Sweeper, SweepRequest } from "./sweeper.js";
import { buildTimeline, type TimelineView } from "./timeline.js";
import { listTtlSuggestions, type TtlSuggestionView } from "./ttl-suggestions.js";

export type { FleetView } from "./fleet-queries.js";
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

  /** A person's review of a live deployment (see reviewDeployment in acknowledgements.ts). */
  review(id: number, actor: Actor, body: { note: string; extend_seconds?: number }): Promise<DeploymentView> {
    return reviewDeployment(this.options, id, actor, body);
  }

  /** A person closes an alert no sweep closes (see resolveAlertByHand in acknowledgements.ts). */
  resolveAlert(id: number, actor: Actor, note: string): Promise<AlertView> {
    return resolveAlertByHand(this.options, id, actor, note);
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

  /**
   * Reads the policy file again. When it took, `ttlChanges` settles once the TTLs of `max_age: auto`
   * it changed are recorded as events by `actor` (see recordReloadedTtls); the policies are in
   * force already.
   */
  reloadPolicies(actor: string): { result: ReloadResult; ttlChanges: Promise<number> } {
    const { policies, stores, clock } = this.options;
    const before = policies.resolver();
    const sha256 = policies.digest().sha256;
    const result = policies.reload();
    if (result.ok) policies.readAt = clock();
    // The same text reloaded changes no TTL: nothing to read the fleet for.
    if (!result.ok || !policies.learnsTtls || policies.digest().sha256 === sha256) {
      return { result, ttlChanges: Promise.resolve(0) };
    }
    const after = policies.resolver();
    return { result, ttlChanges: recordReloadedTtls({ stores, before, after, at: clock(), actor }) };
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
  entries(filter: { owner_team?: string; environment?: string }): Promise<LifecycleEntry[]> {
    return lifecycleEntries(this.options, filter);
  }

  /** The fleet at a glance: live deployments by stage, team and environment, open alerts by kind. */
  fleet(): Promise<FleetView> {
    return fleetCounts(this.options);
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

  /** The CI gate (see checkFleet in fleet-queries.ts). */
  check(filter: { owner_team?: string; environment?: string; fail_on: "due" | "expired" | "stale" }) {
    return checkFleet(this.options, filter);
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

function subjectOf(row: DeploymentRow) {
  return {
    model: row.model,
    environment: row.environment,
    owner_team: row.owner_team,
    tags: parseTags(row.tags),
  };
}
