import { LineCounter, parseDocument, visit } from "yaml";
import { z } from "zod";
import { type ChannelConfig, ChannelConfigSchema } from "../alerts/channels/channel-config.js";
import { parseDuration } from "../core/duration.js";
import { FINDING_KINDS } from "../core/finding.js";
import type { PerformancePolicy } from "../core/performance.js";
import {
  DEFAULT_DRIFT_POLICY,
  DEFAULT_MAX_FEATURES,
  DEFAULT_TTL_SUGGESTION,
  type Policy,
  type TtlSuggestionPolicy,
} from "../core/policy.js";
import { type DigestSchedule, digestCron, isTimeZone } from "./digest-schedule.js";
import { autoOf, boundsErrors } from "./policy-file-ttl.js";

/** One problem in a policy file, where it is. */
export interface PolicyFileError {
  line: number;
  column: number;
  message: string;
}

export interface PolicyFile {
  channels: Record<string, ChannelConfig>;
  /** The rot report's digest per team, when the file schedules one. */
  report: DigestSchedule | null;
  defaults: Policy;
  policies: Policy[];
}

export type PolicyFileResult = { ok: true; file: PolicyFile } | { ok: false; errors: PolicyFileError[] };

const duration = z.string().refine((text) => parseDuration(text) !== undefined, {
  message: "must be a duration such as 90d, 36h, 2w (units s m h d w), of at most 1000 years",
});
const fraction = z.number().gt(0, "must be above 0").lte(1, "must be at most 1");
const name = z.string().regex(/^[a-z0-9][a-z0-9._-]{0,127}$/, "must be a slug");
const pattern = z.string().regex(/^[a-z0-9.*_-]{1,128}$/, "must be a name, with * as a wildcard");

const Performance = z.strictObject({
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

const Ages = {
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

const PolicyFileSchema = z.strictObject({
  channels: z.record(name, ChannelConfigSchema).default({}),
  report: Report.optional(),
  defaults: z.strictObject(Ages).default({}),
  policies: z.array(PolicyEntry).default([]),
});

const DEFAULTS = { max_age: "90d", review_at: 0.8 } as const;

/** The policies in force when no policy file is given: everything under the defaults. */
export function defaultPolicyFile(): PolicyFile {
  const result = parsePolicyFile("", {});
  if (!result.ok) throw new Error("the built-in defaults do not parse");
  return result.file;
}

/**
 * Parses and checks a policy file. Every problem is reported with its line and column, not
 * only the first; `${VAR}` in a string reads `env`, and a missing variable is one of them.
 */
export function parsePolicyFile(text: string, env: Record<string, string | undefined>): PolicyFileResult {
  const tooDeep = tooDeepAt(text);
  if (tooDeep) return { ok: false, errors: [tooDeep] };
  const lineCounter = new LineCounter();
  const document = parseDocument(text, { lineCounter, prettyErrors: false });
  const at = (offset: number | undefined) => {
    const { line, col } = lineCounter.linePos(offset ?? 0);
    return { line, column: col };
  };
  const errors: PolicyFileError[] = document.errors.map((e) => ({
    ...at(e.pos[0]),
    message: e.message.split("\n")[0] ?? e.message,
  }));
  if (errors.length > 0) return { ok: false, errors };

  visit(document, {
    Scalar(_key, node) {
      if (typeof node.value !== "string") return;
      node.value = node.value.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g, (whole, variable: string) => {
        const value = env[variable];
        if (value === undefined) {
          errors.push({ ...at(node.range?.[0]), message: `environment variable ${variable} is not set` });
          return whole;
        }
        return value;
      });
    },
  });
  if (errors.length > 0) return { ok: false, errors };

  const data = dataOf(document);
  if (!data.ok) return { ok: false, errors: [{ line: 1, column: 1, message: data.message }] };
  const parsed = PolicyFileSchema.safeParse(data.value ?? {});
  if (!parsed.success) {
    return {
      ok: false,
      errors: parsed.error.issues.map((issue) => {
        const path = issue.path.map((p) => (typeof p === "number" ? p : String(p)));
        // Point at the deepest node that exists: a missing key is reported at its parent.
        let node: unknown;
        for (let depth = path.length; depth >= 0 && !node; depth--) {
          node = depth === 0 ? document.contents : document.getIn(path.slice(0, depth), true);
        }
        const offset = (node as { range?: number[] } | undefined)?.range?.[0];
        const where = path.length ? `${path.join(".")}: ` : "";
        return { ...at(offset), message: `${where}${issue.message}` };
      }),
    };
  }
  const config = parsed.data;
  const crossChecks: PolicyFileError[] = [];
  config.policies.forEach((policy, i) => {
    for (const [kind, channels] of Object.entries(policy.notify ?? {})) {
      channels.forEach((channel, k) => {
        if (!(channel in config.channels)) {
          const node = document.getIn(["policies", i, "notify", kind, k], true) as
            | { range?: number[] }
            | undefined;
          crossChecks.push({
            ...at(node?.range?.[0]),
            message: `channel ${channel} is not defined under channels`,
          });
        }
      });
    }
  });
  crossChecks.push(...reportChannelChecks(config, document, at));
  const seen = new Set<string>();
  config.policies.forEach((policy, i) => {
    if (seen.has(policy.name)) {
      const node = document.getIn(["policies", i, "name"], true) as { range?: number[] } | undefined;
      crossChecks.push({ ...at(node?.range?.[0]), message: `policy name ${policy.name} is used twice` });
    }
    seen.add(policy.name);
  });
  if (crossChecks.length > 0) return { ok: false, errors: crossChecks };

  const defaults = toPolicy("default", {}, { ...DEFAULTS, ...config.defaults }, undefined);
  const policies = config.policies.map((p) => toPolicy(p.name, p.match, p, defaults, p.exempt, p.reason));
  const boundErrors = [
    ...boundsErrors(defaults, ["defaults"]),
    ...policies.flatMap((policy, i) => boundsErrors(policy, ["policies", i])),
  ].map(({ path, message }) => {
    let node: unknown;
    for (let depth = path.length; depth >= 0 && !node; depth--)
      node = document.getIn(path.slice(0, depth), true);
    return {
      ...at((node as { range?: number[] } | undefined)?.range?.[0]),
      message: `${path.join(".")}: ${message}`,
    };
  });
  if (boundErrors.length > 0) return { ok: false, errors: boundErrors };
  return {
    ok: true,
    file: {
      channels: config.channels,
      report: config.report
        ? {
            every: config.report.every.trim(),
            timezone: config.report.timezone,
            notify: config.report.notify,
            teams: config.report.teams,
            since_seconds:
              config.report.since === undefined ? null : (parseDuration(config.report.since) ?? null),
          }
        : null,
      defaults,
      policies,
    },
  };
}

/**
 * Each channel a digest names must be defined, and be one a digest can go to: Slack or a webhook.
 * PagerDuty pages someone about an incident; a weekly report is not one.
 */
function reportChannelChecks(
  config: z.infer<typeof PolicyFileSchema>,
  document: ReturnType<typeof parseDocument>,
  at: (offset: number | undefined) => { line: number; column: number },
): PolicyFileError[] {
  const report = config.report;
  if (!report) return [];
  const lists: [Array<string | number>, string[]][] = [
    [["report", "notify"], report.notify],
    ...Object.entries(report.teams).map(([team, channels]): [Array<string | number>, string[]] => [
      ["report", "teams", team],
      channels,
    ]),
  ];
  const errors: PolicyFileError[] = [];
  for (const [path, channels] of lists) {
    channels.forEach((channel, k) => {
      const node = document.getIn([...path, k], true) as { range?: number[] } | undefined;
      const type = config.channels[channel]?.type;
      const message =
        type === undefined
          ? `channel ${channel} is not defined under channels`
          : type === "pagerduty"
            ? `channel ${channel} is a PagerDuty channel: a digest goes to Slack or a webhook, it pages no one`
            : undefined;
      if (message) errors.push({ ...at(node?.range?.[0]), message: `${path.join(".")}: ${message}` });
    });
  }
  return errors;
}

/** Policy files nest a few levels; this many is far beyond any, and far within the stack. */
const MAX_NESTING = 100;

/**
 * Where the text nests deeper than MAX_NESTING, or null. The yaml library parses recursively: a
 * few KB of `- - - …` or `[[[…` overflow the stack, and V8 compiling a regular expression on a
 * nearly exhausted stack aborts the whole process ("RegExpCompiler Allocation failed"), which no
 * catch can stop. So depth is bounded before the library sees the text: block nesting by a line's
 * indentation plus its leading `- `, `? ` and `: ` indicators, flow nesting by open brackets
 * outside quotes. Both overestimate, which only refuses files no one writes.
 */
function tooDeepAt(text: string): PolicyFileError | null {
  const tooDeep = (line: number, column: number) => ({
    line,
    column,
    message: `the file nests deeper than ${MAX_NESTING} levels`,
  });
  let flow = 0;
  let quote: string | null = null;
  let line = 1;
  let lineStart = 0;
  let block = 0;
  let indenting = true;
  let previous = "\n";
  for (let i = 0; i < text.length; i++) {
    const c = text[i] as string;
    if (c === "\n") {
      line++;
      lineStart = i + 1;
      block = 0;
      indenting = true;
      previous = c;
      continue;
    }
    if (indenting && quote === null) {
      const indicator = (c === "-" || c === "?" || c === ":") && /\s/.test(text[i + 1] ?? " ");
      if (c === " " || c === "\t" || indicator) {
        if (++block > MAX_NESTING) return tooDeep(line, i - lineStart + 1);
        continue;
      }
      indenting = false;
    }
    if (quote !== null) {
      if (c === "\\" && quote === '"') i++;
      else if (c === quote) quote = null;
    } else if ((c === '"' || c === "'") && /[\s:\-[{,?]/.test(previous)) {
      // A quote opens a quoted scalar only where a scalar starts; `don't` in plain text is text.
      quote = c;
    } else if (c === "#" && /\s/.test(previous)) {
      const end = text.indexOf("\n", i);
      if (end < 0) break;
      i = end - 1;
    } else if (c === "[" || c === "{") {
      if (++flow > MAX_NESTING) return tooDeep(line, i - lineStart + 1);
    } else if ((c === "]" || c === "}") && flow > 0) {
      flow--;
    }
    previous = c;
  }
  return null;
}

/**
 * The document as plain data. A few aliases that refer to each other expand exponentially (the
 * "billion laughs"): the yaml library refuses past its alias count and throws, as it does for
 * nesting deeper than the stack, and either is a file to refuse, not a fault of the reader.
 */
function dataOf(
  document: ReturnType<typeof parseDocument>,
): { ok: true; value: unknown } | { ok: false; message: string } {
  try {
    return { ok: true, value: document.toJS({ maxAliasCount: 100 }) };
  } catch (error) {
    const reason = error instanceof RangeError ? "it is nested too deeply" : (error as Error).message;
    return { ok: false, message: `the file cannot be read as data: ${reason}` };
  }
}

function toPolicy(
  name: string,
  match: Policy["match"],
  ages: { [K in keyof typeof Ages]?: z.infer<(typeof Ages)[K]> },
  defaults: Policy | undefined,
  exempt = false,
  reason?: string,
): Policy {
  const seconds = (text: string | undefined) => (text === undefined ? undefined : parseDuration(text));
  const inherited = defaults?.ttl_suggestion ?? DEFAULT_TTL_SUGGESTION;
  const ttl_suggestion: TtlSuggestionPolicy = {
    lead_time_seconds: seconds(ages.lead_time) ?? inherited.lead_time_seconds,
    min_suggested_seconds: seconds(ages.min_suggested) ?? inherited.min_suggested_seconds,
    max_suggested_seconds: seconds(ages.max_suggested) ?? inherited.max_suggested_seconds,
  };
  const fixed =
    typeof ages.max_age === "string" && ages.max_age !== "auto" ? seconds(ages.max_age) : undefined;
  const max_age_auto =
    ages.max_age === undefined
      ? (defaults?.max_age_auto ?? null)
      : autoOf(ages.max_age, ttl_suggestion, defaults);
  return {
    name,
    match,
    max_age_seconds: max_age_auto?.fallback_seconds ?? fixed ?? defaults?.max_age_seconds ?? 90 * 86_400,
    max_age_auto,
    ttl_suggestion,
    review_at: ages.review_at ?? defaults?.review_at ?? 0.8,
    max_data_age_seconds: seconds(ages.max_data_age) ?? defaults?.max_data_age_seconds ?? null,
    silence_after_seconds: seconds(ages.silence_after) ?? defaults?.silence_after_seconds ?? null,
    exempt,
    reason: reason ?? null,
    expire_action: ages.expire_action ?? defaults?.expire_action ?? "review",
    repeat_interval_seconds: seconds(ages.repeat_interval) ?? defaults?.repeat_interval_seconds ?? 86_400,
    performance: ages.performance ? toPerformance(ages.performance) : (defaults?.performance ?? null),
    drift: ages.drift
      ? {
          window_seconds: parseDuration(ages.drift.window) ?? 86_400,
          features: ages.drift.features ?? null,
          method: ages.drift.method ?? null,
          drift_share: ages.drift.drift_share,
          max_features: ages.drift.max_features,
        }
      : (defaults?.drift ?? DEFAULT_DRIFT_POLICY),
    guardrail: ages.guardrail
      ? {
          error_rate: ages.guardrail.error_rate,
          bake_seconds: parseDuration(ages.guardrail.bake) ?? 3600,
          min_requests: ages.guardrail.min_requests,
        }
      : (defaults?.guardrail ?? null),
    notify: ages.notify ?? defaults?.notify ?? {},
  };
}

function toPerformance(p: z.infer<typeof Performance>): PerformancePolicy {
  return {
    metric: p.metric,
    target: p.target ?? null,
    direction: p.direction,
    window_seconds: parseDuration(p.window) ?? 86_400,
    min_samples: p.min_samples,
    label_delay_seconds: p.label_delay === undefined ? 0 : (parseDuration(p.label_delay) ?? 0),
    clear_after: p.clear_after,
    reference_windows: p.reference_windows,
  };
}
