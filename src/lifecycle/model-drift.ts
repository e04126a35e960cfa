import type { DriftState } from "../core/drift/detect.js";
import { driftStateOf } from "../core/drift-finding.js";
import { InputError } from "../core/errors.js";
import { isoTime as iso } from "../core/iso-time.js";
import type { DeploymentRole, DeploymentStatus } from "../core/words.js";
import { datasetOf } from "../monitoring/drift-monitor.js";
import type { Registry } from "../registry/registry.js";
import type { DaySample, StoredSummary } from "../store/drift-store.js";
import type { Stores } from "../store/stores.js";
import { compareInputs } from "./evidence.js";
import { startedDeployments } from "./started-deployments.js";

const DAY_MS = 86_400_000;
const dayOf = (ms: number) => Math.floor(ms / DAY_MS) * DAY_MS;

export interface DriftCheckView {
  /** The UTC day whose end the check is judged at, as a sweep then would have. */
  day: string;
  state: DriftState | "error";
  drifted_share: number | null;
  /** Why the inputs could not be compared, in the `error` state. */
  error: string | null;
  features: {
    feature: string;
    kind: string;
    method: string;
    statistic: number | null;
    p_value: number | null;
    score: number | null;
    threshold: number;
    state: DriftState;
    current_size: number;
  }[];
}

export interface ModelDriftView {
  model: string;
  environment: string;
  days: number;
  deployments: {
    deployment_id: number;
    model_version: string;
    role: DeploymentRole;
    status: DeploymentStatus;
    /** The verdict the last sweep kept on the deployment. */
    drift_state: string | null;
    /** `stored` for a kept reference, `first_day` when its first day of samples stands in for one. */
    reference: "stored" | "first_day" | null;
    checks: DriftCheckView[];
  }[];
}

const round = (x: number | null) => (x === null ? null : Number(x.toPrecision(6)));

/**
 * Input drift of every deployment of a model in an environment over the last `days`, feature by
 * feature: for each day with live samples, the comparison a sweep at the end of that day would
 * have made (the policy's window of days against the reference). Sweeps keep only their
 * verdict, so the history is judged again from the stored day summaries; two queries for all
 * the deployments.
 */
export async function buildModelDrift(
  stores: Pick<Stores, "pages" | "drift">,
  registry: Registry,
  input: { model: string; environment: string; days: number },
  now: number,
): Promise<ModelDriftView> {
  const rows = await startedDeployments(stores, input.model, input.environment, now);
  const policies = new Map(rows.map((r) => [r.id, registry.policyOf(r)]));
  const longest = Math.max(0, ...[...policies.values()].map((p) => p.drift.window_seconds)) * 1000;
  const from = dayOf(now - input.days * DAY_MS) + DAY_MS;
  const ids = rows.map((r) => r.id);
  const samples = await stores.drift.samplesBetween(ids, dayOf(from - longest), now);
  const references = await stores.drift.references([...samples.keys()]);
  return {
    model: input.model,
    environment: input.environment,
    days: input.days,
    deployments: rows
      .filter((row) => samples.has(row.id) || row.drift_state !== null)
      .map((row) => {
        const days = samples.get(row.id) ?? [];
        const stored = references.get(row.id);
        const firstDay = days[0]?.day;
        // Without an uploaded reference a sweep keeps the first day of samples as one.
        const reference: StoredSummary[] = stored?.length ? stored : days.filter((s) => s.day === firstDay);
        const policy = policies.get(row.id);
        const checks: DriftCheckView[] = [];
        if (policy && reference.length > 0) {
          const checkDays = [...new Set(days.map((s) => s.day))].filter(
            (d) => d >= from && (stored?.length || d !== firstDay),
          );
          for (const day of checkDays) {
            const since = dayOf(day + DAY_MS - 1 - policy.drift.window_seconds * 1000);
            const recent = days.filter((s: DaySample) => s.day >= since && s.day <= day);
            checks.push(check(day, reference, recent, policy));
          }
        }
        return {
          deployment_id: row.id,
          model_version: row.model_version,
          role: row.role,
          status: row.status,
          drift_state: row.drift_state,
          reference: stored?.length ? "stored" : reference.length > 0 ? "first_day" : null,
          checks,
        };
      }),
  };
}

function check(
  day: number,
  reference: StoredSummary[],
  recent: DaySample[],
  policy: Parameters<typeof compareInputs>[2],
): DriftCheckView {
  try {
    const result = compareInputs(datasetOf(reference), datasetOf(recent), policy);
    return {
      day: iso(day),
      state: driftStateOf(result),
      drifted_share: round(result.drifted_share),
      error: null,
      features: result.columns.map((c) => ({
        feature: c.column,
        kind: c.kind,
        method: c.method,
        statistic: round(c.statistic),
        p_value: round(c.p_value),
        score: round(c.score),
        threshold: c.threshold,
        state: c.state,
        current_size: c.current_size,
      })),
    };
  } catch (error) {
    if (!(error instanceof InputError)) throw error;
    return { day: iso(day), state: "error", drifted_share: null, error: error.message, features: [] };
  }
}
