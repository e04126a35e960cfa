import { useMemo } from "preact/hooks";
import { formatDuration, metricValue } from "../../format";
import { setQuery } from "../../router";
import { DecayChart } from "./decay-chart";
import { type DecayChartData, decayChartData, ttlLine } from "./decay-data";
import type { ModelDecay, ModelPerformance } from "./model-types";
import "./decay.css";

/** A slope per day as people read it: "−0.0020/day". */
const perDay = (slope: number) => `${slope < 0 ? "−" : "+"}${Math.abs(slope).toPrecision(2)}/day`;

/**
 * The model's decay under Age vs Performance: the current TTL beside the suggested one (the reason
 * in words and as the tooltip), the fitted curve over deployment age with the forecast crossing,
 * or, without a curve, a short note saying why.
 */
export function DecayPanel({ perf, now }: { perf: ModelPerformance; now: number }) {
  const { decay } = perf;
  const data = useMemo(() => decayChartData(perf, now), [perf, now]);
  const live = perf.deployments.findLast((d) => d.status === "active" && d.role === "primary");
  const ttl = ttlLine(decay, live?.ttl_seconds ?? null);
  const other = decay.metric !== null && perf.metric !== null && decay.metric !== perf.metric.name;
  return (
    <div class="decay" data-decay={decay.curve ? "curve" : "none"}>
      <div class="decay-head">
        <h3>Decay with age</h3>
        <span class="decay-ttl" title={decay.suggestion?.reason ?? decay.suggestion_reason ?? undefined}>
          {ttl}
        </span>
      </div>
      {decay.suggestion ? <p class="decay-reason">{decay.suggestion.reason}</p> : null}
      {!decay.curve ? (
        <p class="decay-note">
          <strong>No decay curve yet.</strong> {sentence(decay.reason ?? "no curve")}
        </p>
      ) : other ? (
        <p class="decay-note">
          The decay curve is learned for <strong>{decay.metric}</strong>, the metric its policy judges.{" "}
          <button type="button" class="link-button" onClick={() => setQuery({ metric: decay.metric })}>
            Show {decay.metric}
          </button>
        </p>
      ) : data ? (
        <>
          <DecayChart data={data} metric={decay.metric ?? "metric"} label={describe(decay, data)} />
          <Facts decay={decay} data={data} />
        </>
      ) : null}
    </div>
  );
}

/** The curve's evidence and the forecast, in one line each. */
function Facts({ decay, data }: { decay: ModelDecay; data: DecayChartData }) {
  const curve = decay.curve;
  if (!curve) return null;
  const f = decay.forecast;
  const [soonest, latest] = f?.interval_seconds ?? [0, null];
  return (
    <div class="hint decay-facts">
      <p class="chart-key">
        <span class="key key-curve" /> curve {perDay(curve.slope_per_day)}, interval{" "}
        {perDay(curve.interval_per_day[0])} to {perDay(curve.interval_per_day[1])}, from{" "}
        {curve.based_on_deployments} deployments and {curve.based_on_windows} windows
        {curve.consistent ? "" : " (the versions disagree: the band is their spread)"}
        {data.threshold !== null ? (
          <>
            <span class="key key-threshold" /> threshold {metricValue(data.threshold)}
          </>
        ) : null}
      </p>
      <p class="decay-forecast">
        <span class="key key-crossing" />
        {!f
          ? `No forecast: ${decay.forecast_reason ?? "none"}.`
          : f.breach_in_seconds === 0
            ? `${f.model_version} is past its crossing by the curve (${f.breach_at.slice(0, 10)}), though its judged windows have not shown it yet`
            : `${f.model_version} crosses in ~${formatDuration(f.breach_in_seconds)} (${f.breach_at.slice(0, 10)}; between ~${formatDuration(soonest)} and ${latest === null ? "never" : `~${formatDuration(latest)}`})`}
      </p>
    </div>
  );
}

const sentence = (text: string) => `${text.charAt(0).toUpperCase()}${text.slice(1)}.`;

function describe(decay: ModelDecay, data: DecayChartData): string {
  const curve = decay.curve;
  if (!curve) return "No decay curve.";
  const parts = [
    `Decay with age: ${decay.metric} ${perDay(curve.slope_per_day)} from ${metricValue(curve.intercept)} at age 0`,
    data.crossing ? data.crossing.label : null,
    data.ttl !== null ? ttlLine(decay, null) : null,
  ];
  return `${parts.filter(Boolean).join("; ")}.`;
}
