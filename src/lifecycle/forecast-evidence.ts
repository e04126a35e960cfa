import { type CrossingResult, forecastCrossing } from "../core/decay/forecast.js";
import { forecastBreachFinding, nextReviewPoint } from "../core/decay/forecast-finding.js";
import type { Finding } from "../core/finding.js";
import { lifecycleDates } from "../core/findings.js";
import type { Policy } from "../core/policy.js";
import type { DeploymentRow } from "../store/schema.js";
import type { Stores } from "../store/stores.js";
import { decayKey, type ModelDecay } from "./decay-histories.js";
import type { ModelDecays } from "./model-decays.js";

/**
 * The forecast a sweep weighs beside performance and drift: for each live deployment of the page
 * whose policy sets a performance target, when its model's decay curve says it crosses the
 * threshold. The curves of the page's models come from the sweep's `decays` (learned together, each
 * once a sweep, and shared with the TTL learner), the forecast kept on each deployment for its
 * views, and a `forecast_breach` finding added when the earliest crossing comes before the next
 * review point.
 */
export async function judgeForecasts(
  source: {
    stores: Pick<Stores, "forecasts">;
    policyOf: (row: DeploymentRow) => Policy;
    decays: ModelDecays;
  },
  evaluated: { row: DeploymentRow; policy: Policy; findings: Finding[] }[],
  at: number,
  write = true,
): Promise<void> {
  const targeted = evaluated.filter((e) => e.policy.performance !== null);
  if (targeted.length === 0) return;
  const groups = new Map(
    targeted.map((e) => [decayKey(e.row), { model: e.row.model, environment: e.row.environment }]),
  );
  const decays = await source.decays.byKey(source.policyOf, [...groups.values()]);
  const updates: { id: number; forecast: string }[] = [];
  for (const e of targeted) {
    const { row, policy } = e;
    const result = forecastOf(row, policy, decays.get(decayKey(row)), at);
    if (result.crossing) {
      const finding = forecastBreachFinding(
        {
          name: `${row.model} ${row.model_version} in ${row.environment}`,
          crossing: result.crossing,
          threshold: result.threshold,
          review: nextReviewPoint(lifecycleDates(row, policy), policy.exempt ?? false, at),
          policy: policy.name,
        },
        at,
      );
      if (finding) e.findings.push(finding);
    }
    const column = forecastColumn(result, at, row.forecast);
    if (column !== row.forecast) updates.push({ id: row.id, forecast: column });
  }
  if (write) await source.stores.forecasts.setForecasts(updates);
}

type Judged = CrossingResult & { threshold: number };

/** A live deployment's forecast from its model's curve, or why there is none. */
function forecastOf(row: DeploymentRow, policy: Policy, decay: ModelDecay | undefined, at: number): Judged {
  const none = (reason: string): Judged => ({ crossing: null, reason, threshold: Number.NaN });
  const performance = policy.performance;
  if (!performance) return none(`its policy ${policy.name} sets no performance target`);
  const curve = decay?.fit.curve;
  if (!decay || !curve) {
    return none(
      `${row.model} in ${row.environment} has no decay curve yet: ${decay?.fit.reason ?? "no history"}`,
    );
  }
  if (curve.metric !== performance.metric) {
    return none(
      `its policy ${policy.name} judges ${performance.metric}, but the model's curve is learned for ${curve.metric} (its primary's policy)`,
    );
  }
  const history = decay.histories.get(row.id);
  if (!history)
    return none(`its own ${performance.metric} windows were not among its model's newest deployments`);
  const threshold = performance.target ?? history.evaluation.threshold;
  if (threshold === null) {
    return none(
      `no threshold yet: its policy sets no ${performance.metric} target and too few judged windows learned one`,
    );
  }
  const result = forecastCrossing({
    curve,
    deployment_date: row.deployment_date,
    baseline: history.baseline,
    windows: history.history.windows,
    threshold,
    now: at,
  });
  return { ...result, threshold };
}

/**
 * The deployment's forecast column (JsonColumns.forecast): `computed_at` comes last, so a forecast
 * that did not change since the last sweep is recognised by its text and not written again (a
 * sweep's writes stay with what changed), keeping the `computed_at` of the sweep that found it.
 */
export function forecastColumn(result: CrossingResult, at: number, previous: string | null): string {
  const body = JSON.stringify(result.crossing ?? { reason: result.reason });
  const prefix = `${body.slice(0, -1)},"computed_at":`;
  if (previous?.startsWith(prefix)) return previous;
  return `${prefix}${at}}`;
}
