import { LineCounter, parseDocument, visit } from "yaml";
import type { ChannelConfig } from "../alerts/channels/channel-config.js";
import { parseDuration } from "../core/duration.js";
import type { Policy } from "../core/policy.js";
import type { DigestSchedule } from "./digest-schedule.js";
import { toPolicy } from "./policy-file-entries.js";
import { type PolicyFileData, PolicyFileSchema } from "./policy-file-schema.js";
import { boundsErrors } from "./policy-file-ttl.js";
import { dataOf, tooDeepAt } from "./yaml-limits.js";

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
  config: PolicyFileData,
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
