import type { Logger } from "pino";
import type { Finding } from "../core/finding.js";
import { evaluateDeployment } from "../core/findings.js";
import type { Policy } from "../core/policy.js";
import type { DeploymentRow } from "../store/schema.js";
import { judgeDrift, judgePerformance } from "./evidence.js";
import { type ExpiryRetirementOptions, retireOnPolicy } from "./expiry-retirement.js";
import { judgeForecasts } from "./forecast-evidence.js";
import type { Pass } from "./sweep-pass.js";

/** A live deployment as a sweep judged it: its policy and everything it found. */
export interface JudgedDeployment {
  row: DeploymentRow;
  policy: Policy;
  findings: Finding[];
}

export interface JudgePageOptions extends ExpiryRetirementOptions {
  /** Where evidence that could not be judged is reported (the server's log). */
  logger?: Pick<Logger, "warn">;
}

/** The findings of the evidence steps, counted once they are judged (the clocks' are counted first). */
const EVIDENCE_KINDS = new Set(["degraded", "drifted", "forecast_breach"]);

/**
 * One step of a sweep for a batch of a page's live deployments: each one's clocks, stage and
 * findings under its policy (retired on policy when it asks and something can take over), then
 * the evidence of those that stay — performance, drift, the decay forecast — each read for the
 * whole batch at once; counted in the pass's totals. `policyOf` is the pass's (a preview's holds
 * the TTLs it would learn). What the batch's alerts are planned from.
 */
export async function judgePage(
  options: JudgePageOptions,
  rows: readonly DeploymentRow[],
  pass: Pass,
  policyOf: (row: DeploymentRow) => Policy,
): Promise<JudgedDeployment[]> {
  const { stores, logger } = options;
  const { at, totals } = pass;
  const judged = await judgeClocks(options, rows, pass, policyOf);
  await judgePerformance(stores.metrics, judged, at, !pass.dryRun);
  for (const error of await judgeDrift(stores, judged, at, !pass.dryRun))
    logger?.warn(error, "drift could not be judged");
  await judgeForecasts({ stores, policyOf, decays: pass.decays }, judged, at, !pass.dryRun);
  pass.decays.release(rows.at(-1)?.id ?? 0);
  for (const e of judged) {
    for (const f of e.findings) {
      if (EVIDENCE_KINDS.has(f.kind)) totals.findings[f.kind] = (totals.findings[f.kind] ?? 0) + 1;
    }
  }
  return judged;
}

/** The clocks' verdict of each deployment the pass judges, after any retirement on policy. */
async function judgeClocks(
  options: ExpiryRetirementOptions,
  rows: readonly DeploymentRow[],
  pass: Pass,
  policyOf: (row: DeploymentRow) => Policy,
): Promise<JudgedDeployment[]> {
  const { at, totals } = pass;
  const judged: JudgedDeployment[] = [];
  for (const row of rows) {
    // A replay in the past skips deployments that had not started yet at its time.
    if (row.deployment_date > at) continue;
    // A successor that took over earlier in this sweep was read as it was before: the next
    // sweep judges it as the primary it now is. A preview skips too the primaries its
    // promotions would have superseded.
    if (pass.tookOver.has(row.id) || pass.superseded.has(row.id)) continue;
    const policy = policyOf(row);
    const { age, findings } = evaluateDeployment(row, policy, at);
    const expired = findings.find((f) => f.kind === "expired");
    if (expired && policy.expire_action === "retire") {
      const outcome = await retireOnPolicy(options, row, policy, expired, pass);
      if (outcome.ended) {
        // Its model's deployments changed (one ended, another may have taken over): read anew.
        pass.decays.forget(row);
        continue;
      }
      for (const f of findings) if (f.kind === "expired") f.detail.expire_action_blocked = outcome.reason;
    }
    totals.deployments++;
    if (age.stage) totals.stages[age.stage]++;
    for (const f of findings) totals.findings[f.kind] = (totals.findings[f.kind] ?? 0) + 1;
    judged.push({ row, policy, findings });
  }
  return judged;
}
