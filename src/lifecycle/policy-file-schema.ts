import { z } from "zod";
import { ChannelConfigSchema } from "../alerts/channels/channel-config.js";
import { parseDuration } from "../core/duration.js";
import { FINDING_KINDS } from "../core/finding.js";
import { DEFAULT_MAX_FEATURES } from "../core/policy.js";
import { digestCron, isTimeZone } from "./digest-schedule.js";

/**
 * What a policy file may say, as written: durations as text, every field checked. policy-file.ts
 * parses a file with it, and policy-file-entries.ts turns what it accepts into policies.
 */

const duration = z.string().refine((text) => parseDuration(text) !== undefined, {
  message: "must be a duration such as 90d, 36h, 2w (units s m h d w), of at most 1000 years",
});
const fraction = z.number().gt(0, "must be above 0").lte(1, "must be at most 1");
const name = z.string().regex(/^[a-z0-9][a-z0-9._-]{0,127}$/, "must be a slug");
const pattern = z.string().regex(/^[a-z0-9.*_-]{1,128}$/, "must be a name, with * as a wildcard");

export const Performance = z.strictObject({
  metric: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._:/-]{0,127}$/, "must be a metric name"),
  target: z.number().optional(),
  direction: z.enum(["higher", "lower"]).default("higher"),
  window: duration.default("1d"),
  min_samples: z.number().int().min(1).default(100),
  label_delay: duration.optional(),
  clear_after: z.number().int().min(1).max(100).default(3),
  reference_windows: z.number().int().min(2).max(100).default(5),
});

const Drift = z.strictObject({
  window: duration.default("1d"),
  features: z.array(z.string().min(1).max(128)).min(1).optional(),
  method: z.enum(["ks", "psi", "wasserstein", "jensenshannon", "chisquare"]).optional(),
  drift_share: fraction.default(0.5),
  max_features: z.number().int().min(1).max(100_000).default(DEFAULT_MAX_FEATURES),
});

const Guardrail = z.strictObject({
  error_rate: fraction,
  bake: duration,
  min_requests: z.number().int().min(1).default(100),
});

const durationMessage = "must be a duration such as 90d, 36h, 2w (units s m h d w), of at most 1000 years";

/**
 * `max_age`: a duration, `auto` (the learned TTL within the suggestion's bounds, the defaults'
 * TTL elsewhere), or `{auto: {min, max, fallback}}` with bounds and a fallback of its own.
 */
const MaxAge = z.union(
  [
    z.string().refine((text) => text === "auto" || parseDuration(text) !== undefined, {
      message: `${durationMessage}, or auto`,
    }),
    z.strictObject({
      auto: z
        .strictObject({ min: duration.optional(), max: duration.optional(), fallback: duration.optional() })
        .default({}),
    }),
  ],
  { error: "must be a duration such as 90d, auto, or {auto: {min: 14d, max: 180d, fallback: 90d}}" },
);

export const Ages = {
  max_age: MaxAge.optional(),
  lead_time: duration.optional(),
  min_suggested: duration.optional(),
  max_suggested: duration.optional(),
  review_at: fraction.optional(),
  max_data_age: duration.optional(),
  silence_after: duration.optional(),
  expire_action: z.enum(["review", "retire"]).optional(),
  repeat_interval: duration.optional(),
  performance: Performance.optional(),
  drift: Drift.optional(),
  guardrail: Guardrail.optional(),
  notify: z.partialRecord(z.enum(FINDING_KINDS), z.array(name)).optional(),
};

const PolicyEntry = z
  .strictObject({
    name,
    match: z
      .strictObject({
        model: pattern.optional(),
        environment: pattern.optional(),
        owner_team: pattern.optional(),
        tags: z.record(z.string(), z.string()).optional(),
      })
      .default({}),
    exempt: z.boolean().default(false),
    reason: z.string().max(2000).optional(),
    ...Ages,
  })
  .refine((p) => !p.exempt || p.reason, { message: "an exempt policy needs a reason", path: ["reason"] });

const Report = z
  .strictObject({
    every: z.string(),
    timezone: z
      .string()
      .refine(isTimeZone, { message: "must be an IANA time zone, such as Europe/Paris" })
      .default("UTC"),
    notify: z.array(name).min(1, "must name at least one channel"),
    teams: z.record(z.string().min(1).max(128), z.array(name).min(1)).default({}),
    since: duration.optional(),
  })
  .superRefine((report, context) => {
    if (!isTimeZone(report.timezone)) return;
    const cron = digestCron(report.every, report.timezone);
    if ("error" in cron) context.addIssue({ code: "custom", path: ["every"], message: cron.error });
  });

export const PolicyFileSchema = z.strictObject({
  channels: z.record(name, ChannelConfigSchema).default({}),
  report: Report.optional(),
  defaults: z.strictObject(Ages).default({}),
  policies: z.array(PolicyEntry).default([]),
});

/** A policy's ages and checks as written, under `defaults:` or in one of `policies:`. */
export type WrittenAges = { [K in keyof typeof Ages]?: z.infer<(typeof Ages)[K]> };

/** A policy file's content once the schema accepted it. */
export type PolicyFileData = z.infer<typeof PolicyFileSchema>;
