import type { DecayCurve } from "../core/decay/decay-curve.js";
import { type Forecast, forecastBreach } from "../core/decay/forecast.js";
import type { TtlEvidence } from "../core/decay/suggest-ttl.js";
import type { Policy } from "../core/policy.js";
import type { DeploymentRow } from "../store/schema.js";
import { decayOf } from "./decay-histories.js";
import type { MetricReads } from "./shared-metric-reads.js";
import { suggestionFor } from "./ttl-suggestions.js";

/**
 * The decay block of a model's performance view: the curve learned from its deployments in one
 * environment, the TTL it suggests for the policy of the deployment that leads, and when the live
 * one will cross its threshold. What the model page draws over Age vs Performance.
 */

export interface DecayCurveView {
  slope_per_day: number;
  interval_per_day: [number, number];
  intercept: number;
  spread_per_day: [number, number];
  consistent: boolean;
  based_on_deployments: number;
  based_on_windows: number;
}

export interface TtlSuggestionView {
  current_max_age_seconds: number;
  suggested_max_age_seconds: number;
  reason: string;
  evidence: TtlEvidence;
}

export interface DecayForecastView extends Forecast {
  /** The live deployment the forecast is for. */
  deployment_id: number;
  model_version: string;
  /** The threshold it crosses: its target, or its learned threshold. */
  threshold: number;
}

export interface ModelDecayView {
  /** The metric the curve is learned for: the one the leading deployment's policy judges. */
  metric: string | null;
  direction: "higher" | "lower" | null;
  curve: DecayCurveView | null;
  /** Why there is no curve. */
  reason: string | null;
  suggestion: TtlSuggestionView | null;
  suggestion_reason: string | null;
  forecast: DecayForecastView | null;
  forecast_reason: string | null;
}

const curveView = (c: DecayCurve): DecayCurveView => ({
  slope_per_day: c.slope_per_day,
  interval_per_day: c.interval_per_day,
  intercept: c.intercept,
  spread_per_day: c.spread_per_day,
  consistent: c.consistent,
  based_on_deployments: c.based_on_deployments,
  based_on_windows: c.based_on_windows,
});

/**
 * The decay of a model in an environment from its started deployments, already read: the curve
 * (or why not), the suggested TTL against the leading deployment's threshold (suggestionFor: its
 * policy's label delay, lead time and bounds), and the forecast of the leading deployment when it is live.
 */
export async function buildModelDecay(
  metrics: MetricReads,
  policyOf: (row: DeploymentRow) => Policy,
  input: { model: string; environment: string },
  rows: readonly DeploymentRow[],
  now: number,
): Promise<ModelDecayView> {
  const decay = await decayOf(metrics, policyOf, input, rows, now);
  const { fit, lead, policy, performance } = decay;
  const base = {
    metric: performance?.metric ?? null,
    direction: performance?.direction ?? null,
  };
  if (!fit.curve || !lead || !policy || !performance) {
    const reason = fit.reason ?? "no curve";
    return {
      ...base,
      curve: null,
      reason,
      suggestion: null,
      suggestion_reason: reason,
      forecast: null,
      forecast_reason: reason,
    };
  }
  const curve = fit.curve;
  const judged = decay.histories.get(lead.id);
  const threshold = judged?.evaluation.threshold ?? null;
  if (threshold === null || !judged) {
    const reason = `${lead.model_version} has no ${performance.metric} threshold yet: its policy ${policy.name} learns it from its first judged windows`;
    return {
      ...base,
      curve: curveView(curve),
      reason: null,
      suggestion: null,
      suggestion_reason: reason,
      forecast: null,
      forecast_reason: reason,
    };
  }
  // The suggestion `tenure policy suggest` gives: the policy's lead time and bounds.
  const suggested = suggestionFor(decay);
  const suggestion: TtlSuggestionView | null =
    suggested.suggested_max_age_seconds === null || suggested.evidence === null
      ? null
      : {
          current_max_age_seconds: policy.max_age_seconds,
          suggested_max_age_seconds: suggested.suggested_max_age_seconds,
          reason: suggested.reason,
          evidence: suggested.evidence,
        };
  let forecast: DecayForecastView | null = null;
  let forecastReason: string;
  if (lead.status !== "active") {
    forecastReason = `no deployment of ${input.model} is live in ${input.environment}`;
  } else {
    const result = forecastBreach({
      curve,
      deployment_date: lead.deployment_date,
      baseline: judged.baseline,
      windows: judged.history.windows,
      threshold,
      now,
    });
    forecast = result.forecast
      ? { ...result.forecast, deployment_id: lead.id, model_version: lead.model_version, threshold }
      : null;
    forecastReason = result.reason ?? "";
  }
  return {
    ...base,
    curve: curveView(curve),
    reason: null,
    suggestion,
    suggestion_reason: suggestion ? null : suggested.reason,
    forecast,
    forecast_reason: forecast ? null : forecastReason,
  };
}
