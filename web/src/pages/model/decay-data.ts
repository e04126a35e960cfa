import { formatDuration } from "../../../../src/core/duration.js";
import type { ModelDecay, ModelPerformance } from "./model-types.js";

const DAY_MS = 86_400_000;
const DAY_S = 86_400;
/** Samples of the straight lines across the chart: enough for uPlot's cursor to follow them. */
const GRID = 80;
/** A crossing further out than this many times the rest of the chart is named, not drawn. */
const FAR = 3;

export type DecaySeriesKind = "live" | "earlier" | "curve" | "steep" | "gentle" | "threshold" | "forecast";

export interface DecaySeries {
  kind: DecaySeriesKind;
  label: string;
  values: (number | null)[];
}

/** Where the curve meets the threshold: the live deployment's forecast, else the model's own curve. */
export interface Crossing {
  of: "forecast" | "curve";
  /** Deployment age in days. */
  age: number;
  level: number;
  label: string;
  /** The forecast's interval, as ages in days (null: never at the gentle end). */
  interval: [number, number | null] | null;
  /** Whether it lies inside the chart (a far crossing is only named). */
  shown: boolean;
}

/** Everything the decay chart draws, on one axis of deployment age in days. */
export interface DecayChartData {
  x: number[];
  series: DecaySeries[];
  threshold: number | null;
  crossing: Crossing | null;
  /** The current and the suggested TTL, in days. */
  ttl: number | null;
  suggested: number | null;
  /** The live deployment's age today, in days. */
  today: number | null;
  max: number;
}

const round6 = (x: number) => Math.round(x * 1e6) / 1e6;

/**
 * The decay chart's data: every judged window of the model's deployments at its age (the live
 * one apart from the rest), the fitted curve level = intercept + slope × age with its interval
 * (the slope's steep and gentle ends from the same intercept), the threshold, the crossing and
 * the TTLs. Null when there is no curve, or when the metric drawn is not the curve's.
 */
export function decayChartData(perf: ModelPerformance, nowMs: number): DecayChartData | null {
  const { decay } = perf;
  const curve = decay.curve;
  if (!curve || !perf.metric || decay.metric !== perf.metric.name) return null;
  const live =
    perf.deployments.find((d) => d.deployment_id === decay.forecast?.deployment_id) ??
    perf.deployments.findLast((d) => d.status === "active" && d.role === "primary");
  const bornOf = (d: { deployment_date: string }) => Date.parse(d.deployment_date);
  const points: { age: number; mean: number; live: boolean }[] = [];
  for (const d of perf.deployments) {
    for (const w of d.windows) {
      if ((w.state !== "ok" && w.state !== "below") || !Number.isFinite(w.mean)) continue;
      const age = ((Date.parse(w.start) + Date.parse(w.end)) / 2 - bornOf(d)) / DAY_MS;
      if (age >= 0) points.push({ age: round6(age), mean: w.mean, live: d === live });
    }
  }
  const threshold =
    decay.suggestion?.evidence.threshold ?? decay.forecast?.threshold ?? perf.metric.target ?? null;
  const today = live && live.status === "active" ? (nowMs - bornOf(live)) / DAY_MS : null;
  const ttl = decay.suggestion ? decay.suggestion.current_max_age_seconds / DAY_S : null;
  const suggested = decay.suggestion ? decay.suggestion.suggested_max_age_seconds / DAY_S : null;
  const crossing = crossingOf(decay, live ? bornOf(live) : null, today);
  const base = Math.max(7, today ?? 0, ttl ?? 0, suggested ?? 0, ...points.map((p) => p.age));
  if (crossing) crossing.shown = crossing.age <= base * FAR;
  const max = Math.ceil(Math.max(base, crossing?.shown ? crossing.age : 0) * 1.06);

  const xs = new Set<number>();
  for (let i = 0; i <= GRID; i++) xs.add(round6((max * i) / GRID));
  for (const p of points) xs.add(p.age);
  if (today !== null) xs.add(round6(today));
  if (crossing?.shown) xs.add(round6(crossing.age));
  const x = [...xs].sort((a, b) => a - b);
  const index = new Map(x.map((v, i) => [v, i]));
  const empty = () => x.map((): number | null => null);

  const livePoints = empty();
  const earlier = empty();
  for (const p of points) {
    const i = index.get(p.age) as number;
    // Two windows at one age (two versions' day 3) keep the live one's, and the first of the rest.
    if (p.live) livePoints[i] = p.mean;
    else earlier[i] ??= p.mean;
  }
  const line = (slope: number) => x.map((age) => curve.intercept + slope * age);
  const [low, high] = curve.interval_per_day;
  const steep = decay.direction === "lower" ? high : low;
  const gentle = decay.direction === "lower" ? low : high;
  const series: DecaySeries[] = [];
  const version = live?.model_version ?? "live";
  if (livePoints.some((v) => v !== null))
    series.push({ kind: "live", label: `${version} (live)`, values: livePoints });
  if (earlier.some((v) => v !== null))
    series.push({ kind: "earlier", label: "earlier versions", values: earlier });
  series.push({ kind: "curve", label: "decay curve", values: line(curve.slope_per_day) });
  series.push({ kind: "steep", label: "steep end", values: line(steep) });
  series.push({ kind: "gentle", label: "gentle end", values: line(gentle) });
  if (threshold !== null)
    series.push({ kind: "threshold", label: "threshold", values: x.map(() => threshold) });
  if (crossing?.of === "forecast" && crossing.shown && today !== null) {
    // From today, along the model's slope, to the crossing: where the live deployment is headed.
    const values = x.map((age) =>
      age >= round6(today) && age <= round6(crossing.age)
        ? crossing.level + curve.slope_per_day * (age - crossing.age)
        : null,
    );
    if (values.some((v) => v !== null))
      series.push({ kind: "forecast", label: `forecast (${version})`, values });
  }
  return { x, series, threshold, crossing, ttl, suggested, today, max };
}

function crossingOf(decay: ModelDecay, born: number | null, today: number | null): Crossing | null {
  const forecast = decay.forecast;
  if (forecast && born !== null && today !== null) {
    const age = (Date.parse(forecast.breach_at) - born) / DAY_MS;
    const [soonest, latest] = forecast.interval_seconds;
    const when = forecast.breach_at.slice(0, 10);
    const label =
      forecast.breach_in_seconds === 0
        ? `${forecast.model_version} is past its crossing by the curve (${when})`
        : `${forecast.model_version} crosses ${when} (in ~${formatDuration(forecast.breach_in_seconds)})`;
    return {
      of: "forecast",
      age,
      level: forecast.threshold,
      label,
      interval: [today + soonest / DAY_S, latest === null ? null : today + latest / DAY_S],
      shown: true,
    };
  }
  const at = decay.suggestion?.evidence.crossing_age_seconds[1];
  const threshold = decay.suggestion?.evidence.threshold;
  if (at === null || at === undefined || at <= 0 || threshold === undefined) return null;
  return {
    of: "curve",
    age: at / DAY_S,
    level: threshold,
    label: `the curve crosses at ~${formatDuration(at)}`,
    interval: null,
    shown: true,
  };
}

/** "TTL 30d · suggested 18d", or what stands in when nothing is suggested. */
export function ttlLine(decay: ModelDecay, currentTtlSeconds: number | null): string {
  const s = decay.suggestion;
  if (!s)
    return currentTtlSeconds === null
      ? "no suggested TTL"
      : `TTL ${formatDuration(currentTtlSeconds)} · no suggestion`;
  const now = `TTL ${formatDuration(s.current_max_age_seconds)}`;
  return s.suggested_max_age_seconds === s.current_max_age_seconds
    ? `${now} · suggested: keep it`
    : `${now} · suggested ${formatDuration(s.suggested_max_age_seconds)}`;
}
