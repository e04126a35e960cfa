import type { FieldIssue } from "../core/errors.js";

/**
 * The flag or argument that sets each API field, for every command: an error names what the
 * user typed, whether the registry refused it in this process (InputError) or a server did
 * (problem+json `errors`). One table for every command: a field is set by the same flag
 * wherever it appears (`environment` is always `--env`).
 */
const FLAG_OF: Readonly<Record<string, string>> = {
  model: "MODEL",
  model_version: "VERSION",
  training_data_cutoff: "--trained-through",
  owner_team: "--team",
  environment: "--env",
  deployment_date: "--deployed-at",
  scheduled_at: "--at",
  at: "--at",
  dry_run: "--dry-run",
  role: "--role",
  status: "--status",
  stage: "--stage",
  state: "--state",
  endpoint: "--endpoint",
  tags: "--tag",
  note: "--note",
  extend_seconds: "--extend",
  reason: "--reason",
  to_version: "--to",
  fail_on: "--fail-on",
  since: "--since",
  limit: "--limit",
  cursor: "--cursor",
  ids: "ID",
  scope: "--scope",
  canary: "--weight",
  "canary.weight": "--weight",
  "canary.sticky_header": "--sticky-header",
  "canary.steps": "--steps",
  "canary.interval_seconds": "--interval",
  "canary.failure_limit": "--failure-limit",
  "canary.min_requests": "--min-requests",
  "canary.min_labels": "--min-labels",
  "canary.inconclusive_limit": "--inconclusive-limit",
  "canary.max_error_rate_increase": "--max-error-rate-increase",
  "canary.max_p99_ratio": "--max-p99-ratio",
};

/**
 * API field names that prose may mention ("use scheduled_at for a promotion"): those with an
 * underscore, which no English word has. Plain words such as `model` or `role` are left alone
 * in prose, where they are words ("a model cannot learn from the future").
 */
const FIELD_IN_PROSE = new RegExp(
  `\\b(${Object.keys(FLAG_OF)
    .filter((field) => field.includes("_") && !field.includes("."))
    .join("|")})\\b`,
  "g",
);

/** zod's own wording for an enum, `Invalid option: expected one of "a"|"b"`. */
const ZOD_ENUM = /^Invalid option: expected one of (.+)$/;

/** A sentence in the CLI's words: the field as its flag, API names in the text as flags too. */
export function inFlagTerms(issue: FieldIssue): FieldIssue {
  const [head = issue.field, ...rest] = issue.field.split(".");
  // `tags.team` is still the --tag flag; `points.3.value` has no flag and keeps its path;
  // `canary.steps.2` is the --steps flag.
  const flag = FLAG_OF[`${head}.${rest[0]}`] ?? FLAG_OF[head];
  return { field: flag ?? [head, ...rest].join("."), message: sentence(issue.message) };
}

/** An error message with the API field names it mentions written as the flags that set them. */
export function withFlagNames(text: string): string {
  return text.replace(FIELD_IN_PROSE, (field) => FLAG_OF[field] ?? field);
}

function sentence(message: string): string {
  const choices = ZOD_ENUM.exec(message)?.[1];
  if (choices !== undefined) return `must be one of ${choices.replaceAll('"', "").split("|").join(", ")}`;
  return withFlagNames(message);
}
