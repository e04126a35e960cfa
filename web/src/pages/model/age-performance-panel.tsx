import { ErrorBox, Loading, type useData } from "../../components";
import { metricValue } from "../../format";
import { setQuery } from "../../router";
import { AgePerformanceChart, type PlotFrame } from "./age-performance";
import { DecayPanel } from "./decay-panel";
import type { Deployment, ModelPerformance } from "./model-types";

/**
 * Age vs Performance for one environment: the metric to draw (when there are several), the chart
 * with its key and the decay under it, or, without metrics, how to send them.
 */
export function AgePerformancePanel({
  perf,
  golden,
  now,
  live,
  environment,
  onFrame,
}: {
  perf: ReturnType<typeof useData<ModelPerformance>>;
  golden: string | null;
  now: number;
  live: Deployment[];
  environment: string;
  /** Where the chart's time axis lies, for the timeline below to line up with it. */
  onFrame: (frame: PlotFrame | null) => void;
}) {
  return (
    <section class="card panel" aria-labelledby="age-performance">
      <div class="panel-head">
        <h2 id="age-performance">Age vs Performance</h2>
        {perf.data && perf.data.metrics.length > 1 ? (
          <label class="metric-pick">
            metric
            <select
              value={perf.data.metric?.name}
              onChange={(e) => setQuery({ metric: (e.target as HTMLSelectElement).value })}
            >
              {perf.data.metrics.map((m) => (
                <option key={m}>{m}</option>
              ))}
            </select>
          </label>
        ) : null}
      </div>
      <ErrorBox error={perf.error} />
      {perf.data ? (
        perf.data.metric ? (
          <>
            <AgePerformanceChart perf={perf.data} golden={golden} now={now} onFrame={onFrame} />
            <ChartKey perf={perf.data} />
            <DecayPanel perf={perf.data} now={now} />
          </>
        ) : (
          <NoMetrics live={live} environment={environment} />
        )
      ) : perf.error ? null : (
        <Loading what="metrics" />
      )}
    </section>
  );
}

/** What the shaded bands and markers mean: the lines explain themselves in uPlot's legend. */
function ChartKey({ perf }: { perf: ModelPerformance }) {
  const target = perf.metric?.target;
  return (
    <p class="chart-key hint">
      <span class="key key-band" /> a primary deployment (★ golden)
      <span class="key key-due" /> past its review point
      <span class="key key-expired" /> past its TTL
      <span class="key key-review" /> review
      <span class="key key-expiry" /> expiry
      {perf.deployments.some((d) => d.role !== "primary") ? (
        <>
          <span class="key key-candidate" /> shadow or canary
        </>
      ) : null}
      {target !== null && target !== undefined ? (
        <span class="key-note">
          {perf.metric?.direction === "lower" ? "lower" : "higher"} is better; target {metricValue(target)}
        </span>
      ) : null}
    </p>
  );
}

function NoMetrics({ live, environment }: { live: Deployment[]; environment: string }) {
  const id = live[0]?.id ?? "ID";
  return (
    <div class="empty">
      <p>
        <strong>No metrics in {environment} yet.</strong> Age vs Performance draws the metric your evaluation
        job sends for each deployment, against its policy's target. Send points like this:
      </p>
      <pre>
        <code>{`curl -X POST "$TENURE_URL/v1/deployments/${id}/metrics" \\
  -H "authorization: Bearer $TENURE_TOKEN" -H "content-type: application/json" \\
  -d '{"points": [{"name": "auc", "value": 0.91, "sample_size": 1200}]}'`}</code>
      </pre>
    </div>
  );
}
