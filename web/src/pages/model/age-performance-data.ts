import type { DeploymentPerformance, ModelPerformance } from "./model-types.js";

const DAY_S = 86_400;
const seconds = (iso: string) => Date.parse(iso) / 1000;

/** One deployment's period on the chart: a shaded band, with its review point and expiry marked. */
export interface Band {
  deployment_id: number;
  version: string;
  role: DeploymentPerformance["role"];
  start: number;
  end: number;
  due: number;
  expires: number;
  live: boolean;
}

export type SeriesKind = "metric" | "below" | "target" | "baseline" | "age" | "candidate";

export interface ChartSeries {
  kind: SeriesKind;
  label: string;
  values: (number | null)[];
}

/** Everything the Age vs Performance chart draws, aligned on one time axis (epoch seconds). */
export interface ChartData {
  x: number[];
  series: ChartSeries[];
  bands: Band[];
}

/** The windows' midpoints, where a window's mean is drawn. */
const midpoint = (w: { start: string; end: string }) => (seconds(w.start) + seconds(w.end)) / 2;

/**
 * The chart's data from the performance answer: the primaries' metric as one line broken between
 * deployments, the windows below target as points, target and baseline per deployment, and the
 * deployment age as a sawtooth that climbs from 0 at each primary's deployment date. Shadows and
 * canaries with metrics get a line of their own. Nothing is interpolated: every value is a
 * window the API judged.
 */
export function chartData(perf: ModelPerformance, nowMs: number): ChartData {
  const now = nowMs / 1000;
  const primaries = perf.deployments.filter((d) => d.role === "primary");
  const candidates = perf.deployments.filter((d) => d.role !== "primary" && d.windows.length > 0);
  const bands: Band[] = perf.deployments.map((d) => ({
    deployment_id: d.deployment_id,
    version: d.model_version,
    role: d.role,
    start: seconds(d.deployment_date),
    end: d.ended_at ? seconds(d.ended_at) : now,
    due: seconds(d.due_at),
    expires: seconds(d.expires_at),
    live: d.status === "active",
  }));
  const xs = new Set<number>();
  for (const b of bands.filter((b) => b.role === "primary")) {
    xs.add(b.start);
    // One second before the end, so the next primary's start (often the same instant) stays apart.
    xs.add(Math.max(b.start, b.end - 1));
  }
  for (const d of [...primaries, ...candidates]) for (const w of d.windows) xs.add(midpoint(w));
  const x = [...xs].sort((a, b) => a - b);
  const index = new Map(x.map((v, i) => [v, i]));
  const empty = () => x.map((): number | null => null);

  const metric = empty();
  const below = empty();
  const target = empty();
  const baseline = empty();
  const age = empty();
  for (const d of primaries) {
    const band = bands.find((b) => b.deployment_id === d.deployment_id) as Band;
    const inside = x.map((v, i) => [v, i] as const).filter(([v]) => v >= band.start && v <= band.end);
    for (const [v, i] of inside) {
      age[i] = (v - band.start) / DAY_S;
      if (d.target !== null) target[i] = d.target;
      if (d.baseline !== null) baseline[i] = d.baseline;
    }
    for (const w of d.windows) {
      const i = index.get(midpoint(w));
      if (i === undefined || !Number.isFinite(w.mean)) continue;
      metric[i] = w.mean;
      if (w.state === "below") below[i] = w.mean;
    }
  }
  const name = perf.metric?.name ?? "metric";
  const series: ChartSeries[] = [{ kind: "metric", label: `${name} (primary)`, values: metric }];
  if (below.some((v) => v !== null)) series.push({ kind: "below", label: "below target", values: below });
  if (target.some((v) => v !== null)) series.push({ kind: "target", label: "target", values: target });
  if (baseline.some((v) => v !== null))
    series.push({ kind: "baseline", label: "baseline (offline)", values: baseline });
  series.push({ kind: "age", label: "deployment age (days)", values: age });
  for (const d of candidates) {
    const values = empty();
    for (const w of d.windows) {
      const i = index.get(midpoint(w));
      if (i !== undefined && Number.isFinite(w.mean)) values[i] = w.mean;
    }
    series.push({ kind: "candidate", label: `${name} (${d.role} ${d.model_version})`, values });
  }
  return { x, series, bands };
}
