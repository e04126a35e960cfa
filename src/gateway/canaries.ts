import { z } from "zod";
import { NotFoundError } from "../core/errors.js";
import { isoTime as iso } from "../core/iso-time.js";
import type { CanaryState, CanaryVerdict } from "../core/words.js";
import type { DeploymentView } from "../registry/deployment-view.js";
import type { Registry } from "../registry/registry.js";
import { parseStoredJson } from "../store/json-columns.js";
import type { CanaryAnalysisRow } from "../store/schema.js";
import type { Stores } from "../store/stores.js";

const Side = z.object({
  requests: z.number(),
  errors: z.number(),
  error_rate: z.number().nullable(),
  p99_ms: z.number().nullable(),
});

const LabelSide = z.object({
  labelled: z.number(),
  unusable: z.number(),
  errors: z.number().nullable(),
  error_rate: z.number().nullable(),
  mean_abs_error: z.number().nullable(),
});

/** compareUnpaired's figures (src/core/compare/unpaired-comparison.ts), as stored. */
const LabelFigures = z.looseObject({
  counted: z.boolean(),
  worse: z.boolean(),
  reason: z.string(),
  kind: z.enum(["classification", "regression"]).nullable(),
  test: z.enum(["fisher_exact", "welch_t"]).nullable(),
  primary: LabelSide,
  canary: LabelSide,
  t_statistic: z.number().nullable(),
  df: z.number().nullable(),
  p_value: z.number().nullable(),
  alpha: z.number(),
  min_labels: z.number(),
});

const FiguresSchema = z.looseObject({
  primary: Side,
  canary: Side,
  min_requests: z.number(),
  error_rate_margin: z.number().nullable(),
  p99_limit_ms: z.number().nullable(),
  // Analyses stored before labels were weighed hold none, or another shape: they read as null.
  labels: LabelFigures.nullable().catch(null).default(null),
});
type Figures = z.infer<typeof FiguresSchema>;
/** canary_analyses.figures as read back: what analyzeCanary found, and its reasons. */
const StoredFigures = FiguresSchema.extend({ reasons: z.array(z.string()) });

/** One analysis as the API shows it: its window, verdict, what followed, and its figures. */
export interface CanaryAnalysisView {
  id: number;
  at: string;
  window_start: string;
  window_end: string;
  verdict: CanaryVerdict;
  action: string;
  step_index: number;
  weight: number;
  reasons: string[];
  figures: Figures;
}

/** A model's canary in an environment: its deployment, settings, progress and analyses. */
export interface CanaryView {
  model: string;
  environment: string;
  deployment: DeploymentView;
  /** The live primary when it was registered. */
  primary_id: number | null;
  state: CanaryState;
  /** Its share of traffic now, percent; null once it became the primary. */
  weight: number | null;
  sticky_header: string | null;
  steps: number[] | null;
  step_index: number;
  failures: number;
  inconclusive_streak: number;
  config: {
    interval_seconds: number;
    failure_limit: number;
    min_requests: number;
    min_labels: number;
    inconclusive_limit: number;
    max_error_rate_increase: number;
    max_p99_ratio: number;
  };
  next_analysis_at: string | null;
  created_at: string;
  updated_at: string;
  /** Newest first. */
  analyses: CanaryAnalysisView[];
}

/** Reads a model's canary for the API and the CLI. */
export class Canaries {
  constructor(private readonly options: { stores: Stores; registry: Registry }) {}

  /** The newest canary of a model in an environment; NotFoundError when it never had one. */
  async get(model: string, environment: string, limit: number): Promise<CanaryView> {
    const { stores, registry } = this.options;
    await registry.getModel(model);
    const canary = await stores.canaries.latestCanary(model, environment);
    if (!canary) throw new NotFoundError(`${model} has no canary in ${environment}`);
    const [deployment, analyses] = await Promise.all([
      registry.get(canary.deployment_id),
      stores.canaries.listAnalyses(canary.deployment_id, limit),
    ]);
    const row = await stores.deployments.findDeployment(canary.deployment_id);
    return {
      model,
      environment,
      deployment,
      primary_id: canary.primary_id,
      state: canary.state,
      weight: row?.traffic_weight ?? null,
      sticky_header: row?.sticky_header ?? null,
      steps: canary.steps === null ? null : (JSON.parse(canary.steps) as number[]),
      step_index: canary.step_index,
      failures: canary.failures,
      inconclusive_streak: canary.inconclusive_streak,
      config: {
        interval_seconds: canary.interval_seconds,
        failure_limit: canary.failure_limit,
        min_requests: canary.min_requests,
        min_labels: canary.min_labels,
        inconclusive_limit: canary.inconclusive_limit,
        max_error_rate_increase: canary.max_error_rate_increase,
        max_p99_ratio: canary.max_p99_ratio,
      },
      next_analysis_at: canary.state === "running" ? iso(canary.next_analysis_at) : null,
      created_at: iso(canary.created_at),
      updated_at: iso(canary.updated_at),
      analyses: analyses.map(toAnalysisView),
    };
  }
}

function toAnalysisView(row: CanaryAnalysisRow): CanaryAnalysisView {
  const { reasons, ...figures } = parseStoredJson("canary_analyses.figures", StoredFigures, row.figures);
  return {
    id: row.id,
    at: iso(row.at),
    window_start: iso(row.window_start),
    window_end: iso(row.window_end),
    verdict: row.verdict,
    action: row.action,
    step_index: row.step_index,
    weight: row.weight,
    reasons,
    figures,
  };
}
