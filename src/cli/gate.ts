import { readFileSync } from "node:fs";
import { type Command, InvalidArgumentError } from "commander";
import type { z } from "zod";
import { type FieldIssue, InputError } from "../core/errors.js";
import type { GateCheck, GateDecision } from "../core/gate.js";
import type { GateRequest } from "../lifecycle/gate-input.js";
import { clientFrom } from "./client.js";
import { parseFlags } from "./flag-input.js";
import { GateFailed } from "./gate-failed.js";
import { type Io, printJson } from "./io.js";
import { type DatabaseFlag, databaseOption, type PoliciesFlag, policiesOption } from "./options.js";
import { RemoteError } from "./remote-error.js";

interface GateFlags extends DatabaseFlag, PoliciesFlag {
  candidate: string;
  metrics: string;
  env: string;
  minImprovement?: number;
  requireShadow?: boolean;
  json?: boolean;
}

/** The request's fields the flags set; every other field comes from the metrics file. */
const FLAG_OF: Readonly<Record<string, string>> = {
  name: "MODEL",
  model_version: "--candidate",
  environment: "--env",
  min_improvement: "--min-improvement",
  require_shadow: "--require-shadow",
};

/** The champion-vs-challenger gate for CI: exit 0 to promote, 1 to block, 2 on bad input. */
export function gateCommand(program: Command, io: Io): void {
  policiesOption(
    databaseOption(
      program
        .command("gate")
        .summary("champion vs challenger: may a candidate version replace the live primary?")
        .argument("<model>", "the model")
        .requiredOption("--candidate <version>", "the candidate model version")
        .requiredOption(
          "--metrics <file>",
          "candidate.json: the candidate's metrics (see docs/integrations/gate.md)",
        )
        .option("--env <environment>", "where it would replace the primary", "production")
        .option(
          "--min-improvement <x>",
          "how much better each metric must be, absolute, in its own units (default 0.005)",
          nonNegative,
        )
        .option("--require-shadow", "also require a candidate_better verdict from a live shadow or canary")
        .option("--json", "print {decision, checks, ...} as JSON"),
    ),
  ).action(async (model: string, flags: GateFlags) => {
    const { ModelNameParams } = await import("../registry/registry-input.js");
    const { name } = parseFlags(ModelNameParams, { name: model }, "the model is not valid", {
      name: "MODEL",
    });
    const request = await readRequest(flags);
    const client = await clientFrom(io.env, flags.database, flags.policies);
    let decision: GateDecision;
    try {
      decision = await client.gate(name, request).catch((error: unknown) => {
        throw inFileTerms(error, flags.metrics);
      });
    } finally {
      await client.close();
    }
    if (flags.json) printJson(io, decision);
    else io.out(report(decision));
    if (decision.decision === "block") throw new GateFailed("blocked: the checks marked ✗ failed");
  });
}

function nonNegative(value: string): number {
  const n = Number(value);
  if (value.trim() === "" || !Number.isFinite(n) || n < 0) {
    throw new InvalidArgumentError("--min-improvement must be a number, 0 or more");
  }
  return n;
}

/**
 * The gate's request from the metrics file and the flags, checked with the schemas the server
 * checks it with, before the database is opened or a server called. Every problem is named by
 * where it is: the file and the field in it, or the flag.
 */
async function readRequest(flags: GateFlags): Promise<GateRequest> {
  const { CandidateFile, GateBody } = await import("../lifecycle/gate-input.js");
  const path = flags.metrics;
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new InputError(`--metrics ${path} cannot be read${code ? ` (${code})` : ""}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new InputError(`--metrics ${path} is not JSON: ${(error as Error).message}`);
  }
  const file = check(CandidateFile, json, path);
  if (file.model_version !== undefined && file.model_version !== flags.candidate) {
    throw new InputError("the metrics file is of another version", [
      {
        field: `${path}: model_version`,
        message: `is ${file.model_version}, not --candidate ${flags.candidate}`,
      },
    ]);
  }
  return check(
    GateBody,
    {
      ...file,
      model_version: flags.candidate,
      environment: flags.env,
      min_improvement: flags.minImprovement,
      require_shadow: flags.requireShadow === true,
    },
    path,
  );
}

function check<S extends z.ZodType>(schema: S, input: unknown, path: string): z.infer<S> {
  const parsed = schema.safeParse(input);
  if (parsed.success) return parsed.data;
  // As the server words them (src/http/problem.ts): an unknown field by its own path, a missing one as required.
  const issues = parsed.error.issues.flatMap((issue): FieldIssue[] => {
    const at = issue.path.map(String);
    if (issue.code === "unrecognized_keys")
      return issue.keys.map((key) => ({ field: [...at, key].join("."), message: "is not a known field" }));
    const missing = at.length > 0 && valueAt(input, issue.path) === undefined;
    return [{ field: at.join("."), message: missing ? "is required" : issue.message }];
  });
  throw new InputError(
    `--metrics ${path} is not valid`,
    issues.map((issue) => named(issue, path)),
  );
}

function valueAt(input: unknown, path: readonly PropertyKey[]): unknown {
  let value = input;
  for (const key of path) {
    if (typeof value !== "object" || value === null || !Object.hasOwn(value, key)) return undefined;
    value = (value as Record<PropertyKey, unknown>)[key];
  }
  return value;
}

/** A field of the request named as the user wrote it: its flag, or the file and its path there. */
function named(issue: FieldIssue, path: string): FieldIssue {
  const flag = FLAG_OF[issue.field];
  return { field: flag ?? (issue.field === "" ? path : `${path}: ${issue.field}`), message: issue.message };
}

/** What the gate refused (here or on a server) in the terms of the file and flags. */
function inFileTerms(error: unknown, path: string): unknown {
  const refused = error instanceof InputError || (error instanceof RemoteError && error.status === 400);
  if (!refused || error.issues.length === 0) return error;
  return new InputError(
    error.message,
    error.issues.map((issue) => named(issue, path)),
  );
}

const MARK = { pass: "✓", fail: "✗", skip: "–" } as const;

/** One line on what was gated against what, one per check with its figures, and the decision. */
function report(d: GateDecision): string {
  const against = d.primary
    ? `against the primary ${d.primary.model_version} (deployment ${d.primary.deployment_id})`
    : "with no live primary";
  const lines = [
    `${d.model} ${d.candidate.model_version} ${against} in ${d.environment}, policy ${d.policy}`,
    ...d.checks.map((c: GateCheck) => `  ${MARK[c.status]} ${c.summary}`),
    d.summary,
  ];
  return `${lines.join("\n")}\n`;
}
