import { setTimeout as sleep } from "node:timers/promises";
import type { Logger } from "pino";
import type { Incidents } from "../alerts/incidents.js";
import {
  analyzeCanary,
  type CanaryAction,
  type CanaryAnalysis,
  DEFAULT_CANARY_CRITERIA,
  nextCanaryStep,
} from "../core/canary-analysis.js";
import { ConflictError } from "../core/errors.js";
import type { Finding } from "../core/finding.js";
import type { Policy } from "../core/policy.js";
import type { Actor } from "../registry/actor.js";
import type { Registry } from "../registry/registry.js";
import type { CanaryChange } from "../store/canary-store.js";
import type { CanaryRow, DeploymentRow } from "../store/schema.js";
import type { Stores } from "../store/stores.js";
import { Guardrail } from "./guardrail.js";
import { LATENCY_BOUNDS_MS } from "./traffic-report.js";
import type { LabelWindows, TrafficWindows } from "./traffic-windows.js";

export type { LabelWindows, TrafficWindows, WindowCounts } from "./traffic-windows.js";

export interface CanaryAnalyzerOptions {
  stores: Stores;
  registry: Registry;
  incidents: Incidents;
  traffic: TrafficWindows;
  labels?: LabelWindows;
  clock: () => number;
  /** How often it looks for analyses that are due (5 s). */
  pollMs?: number;
  /**
   * How long after a window ends before its traffic is taken as complete: gateways report every
   * few seconds, so the newest seconds are not in the store yet (10 s).
   */
  settleMs?: number;
  /** Windows end on multiples of this (60 s): the traffic store keeps a row per minute. */
  alignMs?: number;
  /** The guardrail of new primaries (policies' `guardrail`); off when absent. */
  guardrail?: { policies: () => readonly Policy[]; everyMs?: number };
  /** Called after a change that queued notifications, so the dispatcher need not wait to poll. */
  onNotifications?: () => void;
  logger?: Pick<Logger, "info" | "warn" | "error">;
}

/** What one analysis did. */
export interface AnalysisOutcome {
  deployment_id: number;
  verdict: CanaryAnalysis["verdict"] | null;
  action: CanaryAction | "ended" | "waiting";
}

const CANARY_ACTOR: Actor = { name: "tenure:canary", key_scope: "tenure:canary", team: null };

/** Thrown inside a transaction when another analyser took the canary meanwhile: nothing is written. */
class LostClaim extends Error {}

/**
 * Analyses canaries when they are due and acts on the verdict: holds, walks the steps, promotes
 * through the registry's supersession, rolls back or pauses, each with its analysis, events
 * and alert in one transaction. Several analyzers (servers, gateways) may share one database:
 * each due analysis is claimed with a conditional update, and only its claimant writes it.
 */
export class CanaryAnalyzer {
  private readonly pollMs: number;
  private readonly settleMs: number;
  private readonly alignMs: number;
  private readonly guardrail: Guardrail | undefined;

  constructor(private readonly options: CanaryAnalyzerOptions) {
    this.pollMs = options.pollMs ?? 5000;
    this.settleMs = options.settleMs ?? 10_000;
    this.alignMs = options.alignMs ?? 60_000;
    this.guardrail = options.guardrail
      ? new Guardrail({ ...options, ...options.guardrail, logger: options.logger })
      : undefined;
  }

  /** Runs until `signal` aborts: analyses what is due, then waits `pollMs`. Never throws. */
  async run(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      try {
        await this.tick();
      } catch (error) {
        this.options.logger?.error({ err: error }, "canary analysis failed; it tries again");
      }
      try {
        await sleep(this.pollMs, undefined, { signal, ref: false });
      } catch {
        return;
      }
    }
  }

  /** One pass: every canary analysis due now, then the guardrails when theirs is due. */
  async tick(): Promise<AnalysisOutcome[]> {
    const outcomes: AnalysisOutcome[] = [];
    for (;;) {
      const due = await this.options.stores.canaries.dueCanaries(this.options.clock(), 50);
      for (const canary of due) {
        // One canary's failure (its traffic unreadable) does not hold back the others; its claim
        // moved its next analysis on, so it is tried again an interval later.
        try {
          const outcome = await this.analyse(canary);
          if (outcome) outcomes.push(outcome);
        } catch (error) {
          this.options.logger?.error(
            { err: error, deployment_id: canary.deployment_id },
            "canary analysis failed; the next interval tries again",
          );
        }
      }
      if (due.length < 50) break;
    }
    try {
      await this.guardrail?.checkIfDue();
    } catch (error) {
      this.options.logger?.error({ err: error }, "the guardrail check failed; the next check tries again");
    }
    return outcomes;
  }

  /** Analyses one due canary; undefined when another analyser claimed it first. */
  async analyse(canary: CanaryRow): Promise<AnalysisOutcome | undefined> {
    const { stores, clock } = this.options;
    const now = clock();
    const id = canary.deployment_id;
    const windowEnd = Math.floor((now - this.settleMs) / this.alignMs) * this.alignMs;
    if (windowEnd <= canary.window_start) {
      // Not one whole window of settled traffic yet: try when there is.
      const ready = (Math.floor(canary.window_start / this.alignMs) + 1) * this.alignMs + this.settleMs;
      const claimed = await stores.canaries.claimAnalysis(
        id,
        canary.next_analysis_at,
        Math.max(ready, now + 1),
      );
      return claimed ? { deployment_id: id, verdict: null, action: "waiting" } : undefined;
    }
    const claimedNext = now + canary.interval_seconds * 1000;
    if (!(await stores.canaries.claimAnalysis(id, canary.next_analysis_at, claimedNext))) return undefined;

    const row = await stores.deployments.findDeployment(id);
    if (row?.status !== "active" || row.role !== "canary") {
      // Retired, rolled back or promoted by someone else (a sweep's validated successor):
      // nothing left to analyse, and a primary has no share of its own.
      const promoted = row?.status === "active" && row.role === "primary";
      await stores.transaction(async (tx) => {
        await tx.canaries.setState(id, promoted ? "promoted" : "ended", now);
        if (promoted) await tx.canaries.setTrafficWeight(id, null);
      });
      return { deployment_id: id, verdict: null, action: "ended" };
    }
    const primary = await stores.deployments.findLivePrimary(row.model, row.environment);
    const ids = primary ? [id, primary.id] : [id];
    // The first window starts on the minute the canary was registered in: the traffic store
    // keeps minutes, and counts a minute in a window when the minute starts in it.
    const windowStart = Math.floor(canary.window_start / this.alignMs) * this.alignMs;
    // Labels come late (hours, days after the answer), so a window's own requests seldom have
    // theirs yet: labels weigh every request each side answered since the canary started.
    const [traffic, labels] = await Promise.all([
      this.options.traffic.window(ids, windowStart, windowEnd),
      primary ? this.options.labels?.labelled(ids, canary.created_at, windowEnd) : undefined,
    ]);
    const analysis = analyzeCanary(
      primary ? traffic.get(primary.id) : undefined,
      traffic.get(id),
      {
        ...DEFAULT_CANARY_CRITERIA,
        min_requests: canary.min_requests,
        max_error_rate_increase: canary.max_error_rate_increase,
        max_p99_ratio: canary.max_p99_ratio,
        min_labels: canary.min_labels,
        latency_bounds_ms: LATENCY_BOUNDS_MS,
      },
      labels && primary ? { primary: labels.get(primary.id) ?? [], canary: labels.get(id) ?? [] } : undefined,
    );
    if (!primary)
      analysis.reasons.unshift(`${row.model} has no live primary in ${row.environment} to compare with`);
    const steps = parseSteps(canary.steps);
    const step = nextCanaryStep(
      {
        steps,
        step_index: canary.step_index,
        weight: row.traffic_weight ?? steps?.[canary.step_index] ?? 0,
        failures: canary.failures,
        inconclusive_streak: canary.inconclusive_streak,
      },
      canary,
      analysis.verdict,
    );
    const act: Act = {
      canary,
      row,
      primary,
      analysis,
      step,
      now,
      claimed: claimedNext,
      window: { start: windowStart, end: windowEnd },
    };
    try {
      await this.act(act);
    } catch (error) {
      if (error instanceof LostClaim) return undefined;
      // The primary changed or the canary ended meanwhile: the next analysis sees the new state.
      if (error instanceof ConflictError) {
        this.options.logger?.warn({ deployment_id: id, reason: error.message }, "canary action refused");
        return { deployment_id: id, verdict: analysis.verdict, action: "hold" };
      }
      throw error;
    }
    this.options.logger?.info(
      { deployment_id: id, verdict: analysis.verdict, action: step.action, weight: step.progress.weight },
      "canary analysed",
    );
    return { deployment_id: id, verdict: analysis.verdict, action: step.action };
  }

  private async act(a: Act): Promise<void> {
    const { registry, stores, incidents } = this.options;
    const { row, step, analysis, now } = a;
    const figures = { ...analysis.figures, reasons: analysis.reasons };
    const common = { model: row.model, environment: row.environment, actor: CANARY_ACTOR.name, at: now };
    let notified = false;
    if (step.action === "rollback") {
      await registry.rollBackCanary(row.id, CANARY_ACTOR, {
        at: now,
        reason: `failed ${step.progress.failures} analyses (failure_limit ${a.canary.failure_limit})`,
        data: { failures: step.progress.failures, weight: 0, figures },
        within: async (tx, ended, resolved) => {
          await this.record(tx, a, "rolled_back");
          const change = await incidents.open(tx, [{ row: ended, finding: failedFinding(a, figures) }], now);
          // The rollback resolved the canary's open alerts first, which notifies too.
          notified = resolved.notifications + change.notifications > 0;
        },
      });
    } else if (step.action === "promote") {
      if (!a.primary)
        throw new ConflictError(`${row.model} has no live primary in ${row.environment} to replace`);
      const reason = `the canary passed its last step (${step.progress.weight}%)`;
      await registry.takeOver(a.primary.id, row.id, CANARY_ACTOR, reason, now, async (tx, resolved) => {
        // The primary it replaces had its open alerts resolved, which notifies their channels.
        notified = resolved.notifications > 0;
        await this.record(tx, a, "promoted");
        await tx.canaries.setTrafficWeight(row.id, null);
        await tx.deployments.appendEvent({
          ...common,
          deployment_id: row.id,
          type: "canary_promoted",
          data: {
            model_version: row.model_version,
            step_index: step.progress.step_index,
            weight: 100,
            primary: true,
          },
        });
      });
    } else {
      await stores.transaction(async (tx) => {
        await this.record(tx, a, step.action === "pause" ? "paused" : "running");
        // A step up or a pause changes who answers users, so the log has it; a hold changes nothing.
        if (step.action === "advance" || step.action === "pause") {
          await registry.audit.recordIn(
            tx,
            CANARY_ACTOR,
            step.action === "advance" ? "canary.advance" : "canary.pause",
            { kind: "deployment", id: row.id },
            { traffic_weight: row.traffic_weight },
            {
              traffic_weight: step.action === "advance" ? step.progress.weight : row.traffic_weight,
              ...(step.action === "pause" ? { state: "paused" } : {}),
            },
          );
        }
        if (step.action === "advance") {
          await tx.canaries.setTrafficWeight(row.id, step.progress.weight);
          await tx.deployments.appendEvent({
            ...common,
            deployment_id: row.id,
            type: "canary_promoted",
            data: {
              model_version: row.model_version,
              step_index: step.progress.step_index,
              weight: step.progress.weight,
              from_weight: row.traffic_weight,
            },
          });
        }
        if (step.action === "pause") {
          await tx.deployments.appendEvent({
            ...common,
            deployment_id: row.id,
            type: "canary_paused",
            data: {
              model_version: row.model_version,
              inconclusive_streak: step.progress.inconclusive_streak,
              figures,
            },
          });
          const open = await tx.alerts.openAlertsFor([row.id]);
          if (!open.some((alert) => alert.kind === "canary_paused")) {
            const change = await incidents.open(tx, [{ row, finding: pausedFinding(a, figures) }], now);
            notified = change.notifications > 0;
          }
        }
      });
    }
    if (notified) this.options.onNotifications?.();
  }

  /** The canary's new progress and this analysis, written only while the claim holds. */
  private async record(tx: Stores, a: Act, state: CanaryChange["state"]): Promise<void> {
    const { step, now } = a;
    const change: CanaryChange = {
      state,
      step_index: step.progress.step_index,
      failures: step.progress.failures,
      inconclusive_streak: step.progress.inconclusive_streak,
      next_analysis_at: a.claimed,
      window_start: a.window.end,
      updated_at: now,
    };
    if (!(await tx.canaries.updateCanary(a.row.id, a.claimed, change))) throw new LostClaim();
    await tx.canaries.insertAnalysis({
      deployment_id: a.row.id,
      at: now,
      window_start: a.window.start,
      window_end: a.window.end,
      verdict: a.analysis.verdict,
      action: step.action,
      step_index: step.progress.step_index,
      weight: step.progress.weight,
      figures: { ...a.analysis.figures, reasons: a.analysis.reasons },
    });
  }
}

interface Act {
  canary: CanaryRow;
  row: DeploymentRow;
  primary: DeploymentRow | undefined;
  analysis: CanaryAnalysis;
  step: ReturnType<typeof nextCanaryStep>;
  now: number;
  claimed: number;
  window: { start: number; end: number };
}

function parseSteps(text: string | null): number[] | null {
  if (text === null) return null;
  const steps: unknown = JSON.parse(text);
  if (!Array.isArray(steps) || !steps.every((s) => Number.isInteger(s) && s >= 1 && s <= 100)) {
    throw new Error(`the stored canaries.steps is not a list of percents: ${text}`);
  }
  return steps as number[];
}

function failedFinding(a: Act, figures: Record<string, unknown>): Finding {
  const { row } = a;
  return {
    kind: "canary_failed",
    severity: "error",
    summary:
      `canary ${row.model} ${row.model_version} in ${row.environment} rolled back after ` +
      `${a.step.progress.failures} failed analyses: ${a.analysis.reasons.join("; ")}`,
    detail: { failures: a.step.progress.failures, failure_limit: a.canary.failure_limit, ...figures },
  };
}

function pausedFinding(a: Act, figures: Record<string, unknown>): Finding {
  const { row } = a;
  return {
    kind: "canary_paused",
    severity: "warning",
    summary:
      `canary ${row.model} ${row.model_version} in ${row.environment} paused after ` +
      `${a.step.progress.inconclusive_streak} inconclusive analyses in a row: ${a.analysis.reasons.join("; ")}`,
    detail: {
      inconclusive_streak: a.step.progress.inconclusive_streak,
      inconclusive_limit: a.canary.inconclusive_limit,
      weight: a.step.progress.weight,
      ...figures,
    },
  };
}
