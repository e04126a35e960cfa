import { z } from "zod";

import { ROLES } from "../core/words.js";
import { SLUG_PATTERN } from "./deployment-words.js";

export { instantToMs, SLUG_PATTERN } from "./deployment-words.js";

const SLUG_MESSAGE =
  "must be a slug: lowercase letters, digits, '.', '_' or '-', starting with a letter or digit, at most 128 characters";

export const slug = () => z.string().regex(SLUG_PATTERN, SLUG_MESSAGE);

/** Versions keep their authors' spelling (`3.2.0`, `2027.spring`, `v12+build.7`), within reason. */
export const modelVersion = () =>
  z
    .string()
    .regex(
      /^[A-Za-z0-9][A-Za-z0-9._+-]{0,127}$/,
      "must start with a letter or digit and hold only letters, digits, '.', '_', '+' or '-', at most 128 characters",
    );

/** A date (`2026-10-01`, midnight UTC) or an ISO 8601 date-time with an offset. */
export const instant = () =>
  z.union([z.iso.date(), z.iso.datetime({ offset: true })], {
    error: "must be an ISO 8601 date (2026-10-01) or date-time with offset (2026-10-01T12:00:00Z)",
  });

/** A whole number written in decimal digits only: `0x10`, `1e3` and `1.0` are not ids or limits. */
export const decimalInt = (min: number, max: number) =>
  z
    .string()
    .regex(/^\d{1,10}$/, "must be a whole number in decimal digits")
    .transform(Number)
    .pipe(z.number().int().min(min).max(max));

/** Free text (reasons, notes, tag values): any characters but control characters, which no note needs. */
export const freeText = (max: number) =>
  z
    .string()
    .max(max)
    // biome-ignore lint/suspicious/noControlCharactersInRegex: the point is to refuse them.
    .regex(/^[^\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]*$/, "must not contain control characters");

/** Metric names as monitoring systems write them: `auc`, `precision@10`, `latency_ms`, `eval/f1`. */
export const metricName = () =>
  z
    .string()
    .regex(
      /^[A-Za-z0-9][A-Za-z0-9._:@/-]{0,127}$/,
      "must be a metric name: letters, digits and . _ : @ / -, at most 128 characters",
    );

/** A finite number: JSON cannot carry NaN or Infinity, and a metric never needs them. */
export const finite = () => z.number().refine(Number.isFinite, "must be a finite number");

/** A header name as RFC 9110 §5.1 spells it: a token. */
const headerName = () =>
  z
    .string()
    .regex(/^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,128}$/, "must be an HTTP header name (RFC 9110 token characters)");

const percent = () => z.number().int("must be a whole percent").min(1).max(100);

/**
 * A canary's share of traffic and how it is analysed (see src/core/canary-analysis.ts), given
 * only with `role: canary`. Durations are seconds, as everywhere on the wire.
 */
export const CanaryInput = z
  .strictObject({
    weight: percent()
      .optional()
      .describe("percent of the model's requests it answers at first; defaults to the first step"),
    sticky_header: headerName()
      .optional()
      .describe("requests with the same value of this header go to the same side"),
    steps: z
      .array(percent())
      .min(1)
      .max(20)
      .refine((steps) => steps.every((w, i) => i === 0 || w > (steps[i - 1] ?? 0)), "must be ascending")
      .optional()
      .describe(
        "weights to walk through as analyses pass; passing the last promotes it. Without, it never promotes",
      ),
    interval_seconds: z.number().int().min(10).max(86_400).default(60).describe("time between analyses"),
    failure_limit: z.number().int().min(1).max(1000).default(3).describe("failed analyses that roll it back"),
    min_requests: z
      .number()
      .int()
      .min(1)
      .max(1_000_000_000)
      .default(100)
      .describe("fewer requests on either side in a window make the analysis inconclusive"),
    min_labels: z
      .number()
      .int()
      .min(1)
      .max(1_000_000)
      .default(30)
      .describe(
        "labelled requests each side needs before labels are weighed (since the canary started); fewer do not count",
      ),
    inconclusive_limit: z
      .number()
      .int()
      .min(1)
      .max(1000)
      .default(5)
      .describe("inconclusive analyses in a row that pause it and alert"),
    max_error_rate_increase: z
      .number()
      .min(0)
      .max(1)
      .default(0.01)
      .describe("the least increase of the error rate over the primary's that fails it (0.01 = one point)"),
    max_p99_ratio: z
      .number()
      .min(1)
      .max(100)
      .default(1.2)
      .describe("its p99 latency fails above the primary's times this, plus 5 ms"),
  })
  .refine((c) => c.weight !== undefined || c.steps !== undefined, {
    message: "needs a weight or steps",
    path: ["weight"],
  })
  .refine((c) => c.weight === undefined || c.steps === undefined || c.steps[0] === c.weight, {
    message: "must be the first of the steps",
    path: ["weight"],
  });
export type CanaryInput = z.infer<typeof CanaryInput>;

export const RegisterDeploymentBody = z.strictObject({
  model: slug().describe("the model's name, a slug"),
  model_version: modelVersion().describe("the trained artifact's version"),
  training_data_cutoff: instant().describe("the newest data the version learned from"),
  owner_team: slug().describe("the team that owns the model"),
  environment: slug().default("production").describe("where it serves"),
  deployment_date: instant().optional().describe("when it started serving; defaults to receipt time"),
  scheduled_at: instant()
    .optional()
    .describe(
      "a scheduled promotion: the sweep makes it live at this time (in the future; not with deployment_date)",
    ),
  role: z.enum(ROLES).default("primary"),
  endpoint: z
    .url({ protocol: /^https?$/, error: "must be an http:// or https:// URL" })
    .max(2048)
    .pipe(freeText(2048))
    .optional()
    .describe("where it serves (http or https), for liveness and the gateway"),
  tags: z
    .record(z.string().regex(/^[a-z0-9][a-z0-9._/-]{0,63}$/), freeText(256), {
      error: (issue) =>
        issue.code === "invalid_key"
          ? "keys must be lowercase letters, digits, '.', '_', '/' or '-', starting with a letter or digit, at most 64 characters"
          : undefined,
    })
    .refine((tags) => Object.keys(tags).length <= 50, "at most 50 tags")
    .optional(),
  baseline_metrics: z
    .record(metricName(), finite())
    .refine((metrics) => Object.keys(metrics).length <= 50, "at most 50 metrics")
    .optional()
    .describe(
      "the version's offline evaluation, such as {auc: 0.94}: the baseline its live metrics are judged against",
    ),
  canary: CanaryInput.optional().describe(
    "with role canary: its share of traffic and how it is analysed, rolled back or promoted",
  ),
});

export type RegisterDeploymentBody = z.infer<typeof RegisterDeploymentBody>;
