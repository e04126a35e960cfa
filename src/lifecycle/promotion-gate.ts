import { type FieldIssue, InputError, NotFoundError } from "../core/errors.js";
import {
  type CandidateMetric,
  canaryVerdict,
  type Direction,
  decideGate,
  type GateDecision,
  type VerdictEvidence,
} from "../core/gate.js";
import { recentJudgedWindows } from "../core/gate-metric.js";
import { isoTime } from "../core/iso-time.js";
import type { Policy } from "../core/policy.js";
import type { Canaries } from "../gateway/canaries.js";
import type { ShadowMonitor } from "../monitoring/shadow-monitor.js";
import { instantToMs } from "../registry/deployment-words.js";
import type { Registry } from "../registry/registry.js";
import type { DeploymentRow } from "../store/schema.js";
import type { Stores } from "../store/stores.js";
import type { GateRequest } from "./gate-input.js";
import { defaultPerformance } from "./timeline.js";

/** The significance level of the gate's tests, as of the shadow and canary verdicts. */
export const GATE_ALPHA = 0.05;

export interface PromotionGateOptions {
  stores: Pick<Stores, "models" | "deployments" | "metrics">;
  registry: Pick<Registry, "policyOf">;
  shadow: Pick<ShadowMonitor, "compare">;
  canaries: Pick<Canaries, "get">;
  clock: () => number;
}

/**
 * The champion-vs-challenger gate on the registry's side (`POST /v1/models/{name}/gate`,
 * `tenure gate`): reads the evidence — the live primary, its recent judged windows of each
 * metric the candidate names, the policy, the registered version, the shadows' and canary's
 * verdicts — and lets decideGate (src/core/gate.ts) decide. It changes nothing.
 */
export class PromotionGate {
  constructor(private readonly options: PromotionGateOptions) {}

  async judge(model: string, request: GateRequest): Promise<GateDecision> {
    const { stores, registry, clock } = this.options;
    const now = clock();
    // A typo in the model's name must not pass a CI gate as "no primary, nothing to beat".
    const record = await stores.models.findModel(model);
    if (!record) throw new NotFoundError(`model ${model} does not exist`);
    const environment = request.environment;
    const [primary, version] = await Promise.all([
      stores.deployments.findLivePrimary(model, environment),
      stores.models.findVersion(model, request.model_version),
    ]);
    const cutoff = candidateCutoff(request, version?.training_data_cutoff, now);
    // The candidate would take the primary's place, under the policy that governs it; without
    // a primary, the policy a deployment of the model's team would get.
    const policy = registry.policyOf(
      primary ?? { model, environment, owner_team: record.owner_team, tags: "{}" },
    );
    const metrics = candidateMetrics(request, policy, primary !== undefined);
    const evidence = [];
    for (const metric of metrics) {
      evidence.push({
        metric,
        primary_windows: primary ? await this.recentWindows(primary, metric.name, policy, now) : [],
      });
    }
    return decideGate({
      model,
      environment,
      candidate: { model_version: request.model_version, ...cutoff },
      primary: primary
        ? {
            deployment_id: primary.id,
            model_version: primary.model_version,
            training_data_cutoff: primary.training_data_cutoff,
          }
        : null,
      policy: { name: policy.name, max_data_age_seconds: policy.max_data_age_seconds },
      metrics: evidence,
      min_improvement: request.min_improvement,
      alpha: GATE_ALPHA,
      verdicts: request.require_shadow
        ? primary
          ? await this.verdicts(model, environment, request.model_version)
          : []
        : null,
      now,
    });
  }

  /**
   * The primary's recent judged windows of a metric: by the policy's performance settings when
   * the policy judges that metric, else daily windows from one sample, as the timeline draws a
   * metric no policy targets.
   */
  private async recentWindows(primary: DeploymentRow, name: string, policy: Policy, now: number) {
    const performance = policy.performance?.metric === name ? policy.performance : defaultPerformance(name);
    const aggregates = await this.options.stores.metrics.windowAggregates(
      [primary.id],
      name,
      performance.window_seconds * 1000,
      now,
    );
    return recentJudgedWindows(aggregates.get(primary.id) ?? [], performance, now);
  }

  /** Each live shadow of the candidate version, and its newest canary, with their verdicts. */
  private async verdicts(model: string, environment: string, version: string): Promise<VerdictEvidence[]> {
    const view = await this.options.shadow.compare(model, environment);
    const verdicts: VerdictEvidence[] = view.shadows
      .filter((s) => s.model_version === version)
      .map((s) => ({
        source: "shadow",
        deployment_id: s.deployment_id,
        verdict: s.verdict.verdict,
        reason: s.verdict.reason,
      }));
    const canary = await this.options.canaries.get(model, environment, 1).catch((error: unknown) => {
      if (error instanceof NotFoundError) return undefined;
      throw error;
    });
    if (canary && canary.deployment.model_version === version && canary.deployment.status === "active") {
      const analysis = canary.analyses[0];
      verdicts.push({
        source: "canary",
        deployment_id: canary.deployment.id,
        ...canaryVerdict(
          analysis && {
            verdict: analysis.verdict,
            reasons: analysis.reasons,
            labels: analysis.figures.labels,
          },
        ),
      });
    }
    return verdicts;
  }
}

/**
 * The candidate's training_data_cutoff: from its figures, or as its version was registered.
 * Both given and different is a mistake (a version has one cutoff wherever it is deployed);
 * neither is missing input; a cutoff in the future is impossible data.
 */
function candidateCutoff(
  request: GateRequest,
  registered: number | undefined,
  now: number,
): { training_data_cutoff: number; cutoff_source: "candidate" | "registry" } {
  const field = "training_data_cutoff";
  const given =
    request.training_data_cutoff === undefined ? undefined : instantToMs(request.training_data_cutoff);
  if (given !== undefined && registered !== undefined && given !== registered) {
    throw new InputError("the candidate's cutoff differs from its registered version's", [
      {
        field,
        message: `differs from the cutoff ${request.model_version} was registered with, ${isoTime(registered)}`,
      },
    ]);
  }
  const cutoff = given ?? registered;
  if (cutoff === undefined) {
    throw new InputError("the candidate's cutoff is unknown", [
      {
        field,
        message: `is required: version ${request.model_version} is not registered, so the figures must say it`,
      },
    ]);
  }
  if (cutoff > now) {
    throw new InputError("the candidate's cutoff is in the future", [
      { field, message: "must not be in the future: a model cannot learn from data not yet seen" },
    ]);
  }
  return { training_data_cutoff: cutoff, cutoff_source: given === undefined ? "registry" : "candidate" };
}

/**
 * The candidate's metrics with their directions settled. The policy's metric takes the
 * policy's direction (a figure that says otherwise is refused), and with a live primary it must
 * be given: it is what the sweep judges the primary by. Any other metric must say its direction:
 * guessing would pass a log loss that rose.
 */
function candidateMetrics(request: GateRequest, policy: Policy, hasPrimary: boolean): CandidateMetric[] {
  const judged = policy.performance;
  const issues: FieldIssue[] = [];
  if (judged && hasPrimary && !Object.hasOwn(request.metrics, judged.metric)) {
    issues.push({
      field: `metrics.${judged.metric}`,
      message: `is required: policy ${policy.name} judges it`,
    });
  }
  const metrics = Object.entries(request.metrics).map(([name, figure]): CandidateMetric => {
    const full = typeof figure === "number" ? { value: figure } : figure;
    const byPolicy = judged?.metric === name ? judged.direction : undefined;
    let direction: Direction | undefined = byPolicy ?? full.direction;
    if (byPolicy && full.direction && full.direction !== byPolicy) {
      issues.push({
        field: `metrics.${name}.direction`,
        message: `must be ${byPolicy}, as policy ${policy.name} judges ${name}`,
      });
    }
    if (direction === undefined) {
      issues.push({
        field: `metrics.${name}.direction`,
        message: "is required: no policy says whether higher or lower is better",
      });
      direction = "higher";
    }
    return {
      name,
      value: full.value,
      direction,
      sample_size: full.sample_size ?? request.sample_size ?? null,
      kind: full.kind ?? null,
      values: full.values ?? null,
      judged_by_policy: judged?.metric === name,
    };
  });
  if (issues.length > 0) throw new InputError("the candidate's metrics are not complete", issues);
  return metrics;
}
