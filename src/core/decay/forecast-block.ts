import { type Forecast, type ForecastCrossing, forecastAt } from "./forecast.js";

/**
 * A deployment's forecast as its views show it, from what the last sweep kept on it: the
 * crossing's absolute times turned into seconds from the view's own now, or why there is none.
 */

/** What a sweep keeps on a deployment: its forecast crossing or the reason it has none, and when. */
export type StoredForecast =
  | (ForecastCrossing & { computed_at: number })
  | { reason: string; computed_at: number };

/** The two fields of the age block that the forecast fills. */
export interface ForecastBlock {
  forecast: Forecast | null;
  /** Why `forecast` is null; null when there is one. */
  forecast_reason: string | null;
}

export interface ForecastBlockInput {
  status: string;
  /**
   * The deployment's stored forecast, parsed; null when no sweep forecast it; `unreadable` (why)
   * when what is stored does not parse as a forecast.
   */
  stored: StoredForecast | { unreadable: string } | null;
  /** Its policy now: a policy without a performance target forecasts nothing, whatever is stored. */
  policy: { name: string; performance?: { metric: string } | null };
}

/** The forecast fields of a deployment's age block at `now`. */
export function forecastBlock(input: ForecastBlockInput, now: number): ForecastBlock {
  const none = (reason: string): ForecastBlock => ({ forecast: null, forecast_reason: reason });
  if (input.status === "scheduled") return none("it has not started: only a live deployment is forecast");
  if (input.status !== "active") return none("it has ended: only a live deployment is forecast");
  const performance = input.policy.performance;
  if (performance === null) return none(`its policy ${input.policy.name} sets no performance target`);
  const stored = input.stored;
  if (stored === null) return none("no sweep has forecast it yet");
  if ("unreadable" in stored) {
    return none(
      `its stored forecast cannot be read (${stored.unreadable}): the next sweep forecasts it again`,
    );
  }
  if ("reason" in stored) return none(stored.reason);
  if (performance !== undefined && performance.metric !== stored.metric) {
    return none(
      `its policy ${input.policy.name} now judges ${performance.metric}, not ${stored.metric}: the next sweep forecasts it`,
    );
  }
  return { forecast: forecastAt(stored, now), forecast_reason: null };
}
