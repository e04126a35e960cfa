import { z } from "zod";
import { finite, instant, metricName, modelVersion, slug } from "../registry/deployment-input.js";

/** More metrics than this in one candidate's figures is a dump, not a gate. */
const MAX_METRICS = 100;

/** A metric of the candidate written out in full, when a bare number does not say enough. */
const MetricFigure = z.strictObject({
  value: finite().describe("the candidate's figure of the metric"),
  sample_size: z
    .number()
    .int("must be a whole number")
    .min(1)
    .optional()
    .describe("the observations the figure was measured on (default: the file's sample_size)"),
  direction: z
    .enum(["higher", "lower"])
    .optional()
    .describe("which way is better; required unless the policy judges this metric (then it must agree)"),
  kind: z
    .enum(["rate", "score"])
    .optional()
    .describe(
      "rate: a share of observations (accuracy, error rate), compared as two proportions; score: anything else " +
        "(AUC, log loss). Default: rate when every figure lies in [0, 1]",
    ),
  values: z
    .array(finite())
    .min(2, "must hold two values or more")
    .max(10_000)
    .optional()
    .describe(
      "the metric per day of a backtest or per fold: Welch's t-test against the primary's window means",
    ),
});

/**
 * candidate.json: what a training pipeline writes of a new version. Fields it does not know are
 * left out (a pipeline may write more than the gate reads); the gate's own are checked strictly.
 */
export const CandidateFile = z.object({
  model_version: modelVersion()
    .optional()
    .describe("the candidate version; must be the one gated when given"),
  training_data_cutoff: instant()
    .optional()
    .describe("the newest data it learned from; default: as the version was registered (a shadow, a canary)"),
  sample_size: z
    .number()
    .int("must be a whole number")
    .min(1)
    .optional()
    .describe("the observations every metric was measured on, unless the metric says otherwise"),
  metrics: z
    .record(
      metricName(),
      z.union([finite(), MetricFigure], { error: "must be a number, or an object with the number as value" }),
    )
    .refine((metrics) => Object.keys(metrics).length > 0, "must name at least one metric")
    .refine((metrics) => Object.keys(metrics).length <= MAX_METRICS, `at most ${MAX_METRICS} metrics`)
    .describe("each metric's figure: a number, or {value, sample_size, direction, kind, values}"),
});
export type CandidateFile = z.infer<typeof CandidateFile>;

/** The gate's default margin: half a point of AUC or accuracy. */
export const DEFAULT_MIN_IMPROVEMENT = 0.005;

/** `POST /v1/models/{name}/gate`, and `tenure gate MODEL --candidate VERSION --metrics FILE`. */
export const GateBody = z.strictObject({
  ...CandidateFile.shape,
  model_version: modelVersion().describe("the candidate version"),
  environment: slug().default("production").describe("where the candidate would replace the live primary"),
  min_improvement: finite()
    .pipe(z.number().min(0).max(1_000_000))
    .default(DEFAULT_MIN_IMPROVEMENT)
    .describe("how much better each metric must be, absolute, in its own units"),
  require_shadow: z
    .boolean()
    .default(false)
    .describe("also require a candidate_better verdict from a live shadow or canary of the candidate"),
});
export type GateRequest = z.infer<typeof GateBody>;
