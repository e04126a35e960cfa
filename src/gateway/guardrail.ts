import type { Logger } from "pino";
import type { Incidents } from "../alerts/incidents.js";
import { ConflictError, NotFoundError } from "../core/errors.js";
import type { Finding } from "../core/finding.js";
import type { GuardrailPolicy, Policy } from "../core/policy.js";
import type { Actor } from "../registry/actor.js";
import type { Registry } from "../registry/registry.js";
import type { DeploymentRow } from "../store/schema.js";
import type { Stores } from "../store/stores.js";
import type { TrafficWindows } from "./traffic-windows.js";

export interface GuardrailOptions {
  stores: Stores;
  registry: Registry;
  incidents: Incidents;
  traffic: TrafficWindows;
  clock: () => number;
  /** Every policy in force, to know how far back a primary may still be baking. */
  policies: () => readonly Policy[];
  /** How often new primaries are checked (30 s). */
  everyMs?: number;
  onNotifications?: () => void;
  logger?: Pick<Logger, "info" | "warn" | "error">;
}

/** What the guardrail found of one baking primary. */
export interface GuardrailOutcome {
  deployment_id: number;
  action: "rolled_back" | "alerted";
  reason: string;
}

const GUARDRAIL_ACTOR: Actor = { name: "tenure:guardrail", key_scope: "tenure:guardrail", team: null };

/**
 * A new primary's guardrail (policy `guardrail: {error_rate, bake}`): while it bakes, an error
 * rate above the limit (over at least min_requests since its deployment_date) or a `degraded`
 * verdict from the sweep rolls it back to the golden version, records why in the rollback's
 * event, and alerts (`guardrail`). With no golden version to go back to, or when it is the
 * golden version, it alerts only, once.
 */
export class Guardrail {
  private readonly everyMs: number;
  private nextCheck = 0;

  constructor(private readonly options: GuardrailOptions) {
    this.everyMs = options.everyMs ?? 30_000;
  }

  async checkIfDue(): Promise<GuardrailOutcome[]> {
    const now = this.options.clock();
    if (now < this.nextCheck) return [];
    this.nextCheck = now + this.everyMs;
    return this.check();
  }

  /** Checks every live primary still within its policy's bake period. */
  async check(): Promise<GuardrailOutcome[]> {
    const { stores, registry, clock } = this.options;
    const bakes = this.options.policies().flatMap((p) => (p.guardrail ? [p.guardrail.bake_seconds] : []));
    if (bakes.length === 0) return [];
    const now = clock();
    const since = now - Math.max(...bakes) * 1000;
    const outcomes: GuardrailOutcome[] = [];
    for (let after = 0; ; ) {
      const rows = await stores.canaries.primariesSince(since, 500, after);
      const baking = rows.flatMap((row) => {
        const guardrail = registry.policyOf(row).guardrail;
        return guardrail &&
          now < row.deployment_date + guardrail.bake_seconds * 1000 &&
          row.deployment_date <= now
          ? [{ row, guardrail }]
          : [];
      });
      if (baking.length > 0) {
        // From the minute the first of them went live: the traffic store keeps minutes.
        const from = Math.floor(Math.min(...baking.map((b) => b.row.deployment_date)) / 60_000) * 60_000;
        const traffic = await this.options.traffic.window(
          baking.map((b) => b.row.id),
          from,
          now,
        );
        for (const { row, guardrail } of baking) {
          const counts = traffic.get(row.id);
          const breach = breachOf(row, guardrail, counts?.requests ?? 0, counts?.errors ?? 0);
          if (!breach) continue;
          // One primary's failed rollback (its audit row refused) does not hold back the others';
          // it changed nothing, so the next check finds the same breach and tries again.
          try {
            const outcome = await this.act(row, guardrail, breach, now);
            if (outcome) outcomes.push(outcome);
          } catch (error) {
            this.options.logger?.error(
              { err: error, deployment_id: row.id },
              "guardrail rollback failed and changed nothing; the next check tries again",
            );
          }
        }
      }
      if (rows.length < 500) return outcomes;
      after = rows.at(-1)?.id ?? after;
    }
  }

  private async act(
    row: DeploymentRow,
    guardrail: GuardrailPolicy,
    breach: Breach,
    now: number,
  ): Promise<GuardrailOutcome | undefined> {
    const { stores, registry, incidents } = this.options;
    const golden = await stores.models.findGolden(row.model, row.environment);
    const data = { guardrail: { ...guardrail, ...breach.figures, cause: breach.cause } };
    let notified = false;
    let outcome: GuardrailOutcome | undefined;
    if (golden && golden.model_version !== row.model_version) {
      const reason = `guardrail: ${breach.reason}`;
      try {
        await registry.rollback(row.model, row.environment, GUARDRAIL_ACTOR, {
          reason,
          at: now,
          expect_current: row.id,
          data,
          within: async (tx, rolledBack, _replacement, resolved) => {
            if (!rolledBack) return;
            const finding = guardrailFinding(
              rolledBack,
              breach,
              `rolled back to the golden version ${golden.model_version}`,
            );
            const opened = await incidents.open(tx, [{ row: rolledBack, finding }], now);
            // The rollback resolved the primary's open alerts first, which notifies too.
            notified = resolved.notifications + opened.notifications > 0;
          },
        });
        outcome = { deployment_id: row.id, action: "rolled_back", reason };
      } catch (error) {
        // Someone changed the primary meanwhile: the guardrail looks again at the next check.
        if (!(error instanceof ConflictError || error instanceof NotFoundError)) throw error;
        this.options.logger?.warn(
          { deployment_id: row.id, reason: error.message },
          "guardrail rollback refused",
        );
        return undefined;
      }
    } else {
      const why = golden
        ? `it is the golden version ${golden.model_version}, so it stays`
        : `no golden version of ${row.model} in ${row.environment} to roll back to, so it stays`;
      await stores.transaction(async (tx) => {
        const open = await tx.alerts.openAlertsFor([row.id]);
        if (open.some((alert) => alert.kind === "guardrail")) return;
        const finding = guardrailFinding(row, breach, why);
        notified = (await incidents.open(tx, [{ row, finding }], now)).notifications > 0;
        outcome = { deployment_id: row.id, action: "alerted", reason: `${breach.reason}; ${why}` };
      });
    }
    if (notified) this.options.onNotifications?.();
    if (outcome) this.options.logger?.warn(outcome, "guardrail crossed");
    return outcome;
  }
}

interface Breach {
  cause: "error_rate" | "degraded";
  reason: string;
  figures: { requests: number; errors: number; observed_error_rate: number | null };
}

/** Why a baking primary crossed its guardrail, or undefined when it did not. */
export function breachOf(
  row: Pick<DeploymentRow, "performance_state">,
  guardrail: GuardrailPolicy,
  requests: number,
  errors: number,
): Breach | undefined {
  const rate = requests > 0 ? errors / requests : null;
  const figures = { requests, errors, observed_error_rate: rate };
  if (rate !== null && requests >= guardrail.min_requests && rate > guardrail.error_rate) {
    return {
      cause: "error_rate",
      reason: `error rate ${(rate * 100).toFixed(2)}% over ${requests} requests is above the limit ${(guardrail.error_rate * 100).toFixed(2)}% while baking`,
      figures,
    };
  }
  if (row.performance_state === "degraded") {
    return { cause: "degraded", reason: "found degraded by the sweep while baking", figures };
  }
  return undefined;
}

function guardrailFinding(row: DeploymentRow, breach: Breach, action: string): Finding {
  return {
    kind: "guardrail",
    severity: "error",
    summary: `${row.model} ${row.model_version} in ${row.environment} crossed its guardrail: ${breach.reason}; ${action}`,
    detail: { cause: breach.cause, ...breach.figures, action },
  };
}
