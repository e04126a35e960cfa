import type { NewEvent } from "../store/deployment-store.js";
import type { DeploymentRow, NewCanaryRow, NewDeploymentRow } from "../store/schema.js";
import { type AuditTrail, changeBy, snapshotOf } from "./audit-trail.js";
import { iso } from "./deployment-view.js";
import type { PendingRegistration } from "./pending-registration.js";

/**
 * The rows a round of registrations writes, built from what the round read and decided, with no
 * read of their own: each registration's deployment, its events, baselines and canary, and its
 * audit row. register-round.ts decides the round and sends these in its fixed statements.
 */

/** The key of a model and an environment (or a version) in a round's maps. */
export const pairKey = (a: string, b: string) => `${a}\u0000${b}`;

/** A registration its round accepted, and the live primary it supersedes, as read before the round. */
export interface Accepted {
  item: PendingRegistration;
  superseded: DeploymentRow | undefined;
}

/** The events of a round: each registration's own, and the supersession of what it replaced. */
export function eventsOf(accepted: Accepted[], rows: DeploymentRow[]): NewEvent[] {
  const events: NewEvent[] = [];
  accepted.forEach(({ item, superseded }, i) => {
    const row = rows[i] as DeploymentRow;
    const common = { model: row.model, environment: row.environment, actor: item.actor.name, at: item.now };
    events.push({
      ...common,
      deployment_id: row.id,
      type: item.scheduled ? "scheduled" : "deployed",
      data: item.scheduled
        ? { model_version: row.model_version, role: row.role, scheduled_at: iso(row.deployment_date) }
        : { model_version: row.model_version, role: row.role, supersedes: superseded?.id ?? null },
    });
    if (superseded) {
      events.push({
        ...common,
        deployment_id: superseded.id,
        type: "superseded",
        data: { model_version: superseded.model_version, superseded_by: row.id },
      });
    }
  });
  return events;
}

/** The canaries of a round: each canary registered with its analysis settings, due one interval on. */
export function canariesOf(
  accepted: Accepted[],
  rows: DeploymentRow[],
  primaryBy: Map<string, DeploymentRow>,
): NewCanaryRow[] {
  return accepted.flatMap(({ item }, i) => {
    const row = rows[i];
    const canary = item.body.canary;
    if (!row || !canary) return [];
    return [
      {
        deployment_id: row.id,
        model: row.model,
        environment: row.environment,
        primary_id: primaryBy.get(pairKey(row.model, row.environment))?.id ?? null,
        steps: canary.steps ? JSON.stringify(canary.steps) : null,
        step_index: 0,
        interval_seconds: canary.interval_seconds,
        failure_limit: canary.failure_limit,
        min_requests: canary.min_requests,
        min_labels: canary.min_labels,
        inconclusive_limit: canary.inconclusive_limit,
        max_error_rate_increase: canary.max_error_rate_increase,
        max_p99_ratio: canary.max_p99_ratio,
        failures: 0,
        inconclusive_streak: 0,
        state: "running",
        next_analysis_at: item.now + canary.interval_seconds * 1000,
        window_start: item.now,
        created_at: item.now,
        updated_at: item.now,
      },
    ];
  });
}

export function baselinesOf(accepted: Accepted[], rows: DeploymentRow[]) {
  return accepted.flatMap(({ item }, i) => {
    const row = rows[i];
    return row
      ? Object.entries(item.body.baseline_metrics ?? {}).map(([name, value]) => ({
          deployment_id: row.id,
          name,
          value,
          source: "registration" as const,
          created_at: item.now,
        }))
      : [];
  });
}

export function newRow(item: PendingRegistration): NewDeploymentRow {
  const { body } = item;
  return {
    model: body.model,
    model_version: body.model_version,
    environment: body.environment,
    owner_team: body.owner_team,
    role: body.role,
    status: item.scheduled ? "scheduled" : "active",
    deployment_date: item.deployment_date,
    training_data_cutoff: item.training_data_cutoff,
    ended_at: null,
    endpoint: body.endpoint ?? null,
    tags: JSON.stringify(body.tags ?? {}),
    ttl_extension_seconds: 0,
    created_at: item.now,
    created_by: item.actor.name,
    traffic_weight: body.canary ? (body.canary.weight ?? body.canary.steps?.[0] ?? null) : null,
    sticky_header: body.canary?.sticky_header ?? null,
  };
}

/**
 * The audit rows of a round, from what the round itself read and wrote (no read of its own):
 * `before` is the live primary a registration supersedes as it stood (null when none), `after`
 * the deployment it made.
 */
export function auditEntriesOf(audit: AuditTrail, accepted: Accepted[], rows: DeploymentRow[]) {
  return accepted.map(({ item, superseded }, i) =>
    audit.entryOf(
      changeBy(item.actor, "deployment.register", {
        kind: "model",
        name: item.body.model,
        environment: item.body.environment,
      }),
      snapshotOf(superseded),
      snapshotOf(rows[i]),
      item.now,
    ),
  );
}
