import type { SyncFinding } from "../core/sync-plan.js";
import type { SyncReport } from "../integrations/sync-applier.js";
import { shortTime } from "./format.js";
import { type Io, printJson } from "./io.js";

const BASIS_WORDS = {
  exact: "exact",
  discovered: "discovered by this sync",
  version_created: "its creation: no record says when it started serving",
} as const;

/**
 * Prints a sync's report: one summary line, then a line per registration, refusal and finding,
 * so a person sees what changed and what needs them; `--json` prints the report as it is.
 */
export function printSyncReport(io: Io, report: SyncReport, json: boolean): void {
  if (json) {
    printJson(io, report);
    return;
  }
  const verb = report.dry_run ? "would register" : "registered";
  const parts = [
    `${report.observed} serving`,
    `${report.registered.length} ${verb}`,
    `${report.unchanged} unchanged`,
    ...(report.pending.length > 0 ? [`${report.pending.length} pending`] : []),
    ...(report.errors.length > 0 ? [`${report.errors.length} refused`] : []),
    ...(report.findings.length > 0 ? [`${report.findings.length} to look at`] : []),
  ];
  io.out(`${report.source}${report.dry_run ? " (dry run)" : ""}: ${parts.join(", ")}\n`);
  for (const r of report.registered) {
    const over = r.supersedes ? `, supersedes ${r.supersedes.model_version}` : "";
    const id = r.deployment_id === null ? "" : ` as #${r.deployment_id}`;
    io.out(
      `  + ${r.model} ${r.model_version} in ${r.environment}${id}${over}; since ${shortTime(r.deployment_date)} (${BASIS_WORDS[r.basis]}) [${r.ref}]\n`,
    );
  }
  for (const p of report.pending) {
    const version = p.model_version === null ? "" : ` ${p.model_version}`;
    io.out(`  … ${p.model}${version} in ${p.environment} [${p.ref}]: ${p.detail}\n`);
  }
  for (const e of report.errors) io.out(`  ✗ ${e.model} ${e.model_version} [${e.ref}]: ${e.message}\n`);
  for (const f of report.findings) io.out(`  ! ${findingLine(f)}\n`);
  for (const note of report.notes) io.out(`  · ${note}\n`);
}

/** One finding in a sentence. */
export function findingLine(f: SyncFinding): string {
  switch (f.kind) {
    case "missing_metadata":
      return `${f.model} ${f.model_version} [${f.ref}] lacks ${(f.hints ?? f.missing).join(" and ")}: not registered`;
    case "conflict":
      return `${f.model} in ${f.environment}: ${f.ref} says ${f.model_version}, ${f.kept.ref} says ${f.kept.model_version} (kept)`;
    case "ghost":
      return `ghost: ${f.model}${f.model_version ? ` ${f.model_version}` : ""} serves in ${f.environment} [${f.ref}] but is not registered: ${f.detail}`;
    case "zombie":
      return `zombie: #${f.deployment_id} ${f.model} ${f.model_version} is live in ${f.environment} but nothing serves it [${f.ref}]`;
    case "version_mismatch":
      return `version mismatch: #${f.deployment_id} ${f.model} in ${f.environment} is registered as ${f.registered_version}, ${f.ref} serves ${f.serving_version}`;
  }
}
