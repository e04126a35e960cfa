import { RetireButton, ReviewButton } from "../../actions";
import { Badge } from "../../components";
import { formatDuration, metricValue, percent } from "../../format";
import type { Deployment, ModelDrift, ModelPerformance } from "./model-types";

/** The environment's live deployments with their clocks and verdicts, each with room for its actions. */
export function LiveTable({
  live,
  perf,
  drift,
  environment,
  onChanged,
}: {
  live: Deployment[];
  perf: ModelPerformance | undefined;
  drift: ModelDrift | undefined;
  environment: string;
  onChanged: () => void;
}) {
  if (live.length === 0) return <p class="muted">Nothing is live in {environment}.</p>;
  return (
    <table class="grid live-table">
      <thead>
        <tr>
          <th>Version</th>
          <th>Role</th>
          <th>Age against TTL</th>
          <th>Stage</th>
          <th class="num">Data age</th>
          <th class="num">Health</th>
          <th>Verdict</th>
          <th>Performance</th>
          <th>Drift</th>
          <th>
            <span class="visually-hidden">Actions</span>
          </th>
        </tr>
      </thead>
      <tbody>
        {live.map((d) => {
          const p = perf?.deployments.find((x) => x.deployment_id === d.id);
          const last = p?.windows.findLast((w) => w.state !== "pending");
          const dr = drift?.deployments.find((x) => x.deployment_id === d.id);
          const fraction = Math.min(1, d.age.ttl_fraction);
          return (
            <tr key={d.id} data-deployment-id={d.id}>
              <td>
                <strong>{d.model_version}</strong>
              </td>
              <td>{d.role}</td>
              <td>
                <span class="age-bar" title={`${percent(d.age.ttl_fraction)} of its TTL`}>
                  <span
                    class={`age-fill stage-${d.age.stage ?? "none"}`}
                    style={{ width: `${fraction * 100}%` }}
                  />
                </span>
                <span class="age-text">
                  {formatDuration(d.age.deployment_age_seconds)}{" "}
                  <span class="muted">of {formatDuration(d.age.ttl_seconds)}</span>
                </span>
              </td>
              <td>
                <Badge kind="stage" value={d.age.stage} />
              </td>
              <td class="num">{formatDuration(d.age.data_age_seconds)}</td>
              <td class="num">{d.age.health_score === null ? "—" : Math.round(d.age.health_score)}</td>
              <td>
                <Badge kind="verdict" value={d.age.verdict} />
              </td>
              <td>
                <Badge kind="state" value={p?.state ?? null} />
                {last ? <span class="muted"> {metricValue(last.mean)}</span> : null}
              </td>
              <td>
                <Badge kind="state" value={dr?.drift_state ?? null} />
              </td>
              <td>
                <div class="model-actions" data-slot="deployment-actions" data-deployment-id={d.id}>
                  <ReviewButton deployment={d} onDone={onChanged} compact />
                  <RetireButton deployment={d} onDone={onChanged} compact />
                </div>
              </td>
            </tr>
          );
        })}
      </tbody>
    </table>
  );
}
