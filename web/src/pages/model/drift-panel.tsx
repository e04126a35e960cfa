import { Badge } from "../../components";
import type { FeatureCheck, ModelDrift } from "./model-types";

const BAR_W = 9;
const CHART_H = 24;

/** How far a result is toward its threshold, 1 at the threshold: tests judge low p-values, distances high scores. */
function severity(f: FeatureCheck): number {
  if (f.score === null) return 0;
  if (f.p_value !== null) return f.score <= 0 ? 2 : Math.min(2, f.threshold / f.score);
  return Math.min(2, f.score / f.threshold);
}

function scoreText(f: FeatureCheck | undefined): string {
  if (!f || f.score === null) return "—";
  return f.p_value !== null ? `p ${f.score.toPrecision(2)}` : f.score.toPrecision(2);
}

/** One feature's checks, day by day, as bars against its threshold (the line). */
function FeatureBars({ checks }: { checks: { day: string; f: FeatureCheck | undefined }[] }) {
  const width = checks.length * BAR_W;
  return (
    <svg class="drift-bars" width={width} height={CHART_H} aria-hidden="true">
      <line x1={0} x2={width} y1={CHART_H / 2} y2={CHART_H / 2} class="drift-threshold" />
      {checks.map(({ day, f }, i) => {
        const h = f ? Math.max(1.5, (severity(f) / 2) * CHART_H) : 0;
        return (
          <rect
            key={day}
            x={i * BAR_W + 1}
            y={CHART_H - h}
            width={BAR_W - 2}
            height={h}
            class={`drift-${f?.state ?? "none"}`}
          >
            <title>{`${day.slice(0, 10)}: ${scoreText(f)} by ${f?.method ?? "—"} (threshold ${f?.threshold ?? "—"}), ${f?.state ?? "not checked"}`}</title>
          </rect>
        );
      })}
    </svg>
  );
}

/**
 * Input drift feature by feature: for each deployment with samples, each day's check as a bar
 * against the threshold, the latest score and state, and the deployment's verdict.
 */
export function DriftPanel({ drift }: { drift: ModelDrift }) {
  const deployments = [...drift.deployments].reverse();
  if (deployments.length === 0) {
    return (
      <p class="muted">
        No feature samples in the last {drift.days} days. Send live inputs with{" "}
        <code>POST /v1/deployments/ID/samples</code> and a training sample as its reference with{" "}
        <code>POST …/reference</code>.
      </p>
    );
  }
  return (
    <div class="drift">
      {deployments.map((d) => {
        const latest = d.checks.at(-1);
        const features = [...new Set(d.checks.flatMap((c) => c.features.map((f) => f.feature)))];
        return (
          <div key={d.deployment_id} class="drift-deployment" data-deployment-id={d.deployment_id}>
            <div class="drift-head">
              <strong>{d.model_version}</strong>
              <span class="muted">
                {d.role} · {d.status.replace("_", " ")}
              </span>
              <Badge kind="state" value={d.drift_state} />
              <span class="hint">
                {d.checks.length} check{d.checks.length === 1 ? "" : "s"}, reference{" "}
                {d.reference === "first_day" ? "its first day of samples" : (d.reference ?? "none")}
              </span>
            </div>
            {latest?.state === "error" ? <p class="error">{latest.error}</p> : null}
            {features.length === 0 ? (
              <p class="muted">No comparison yet: a first day of samples becomes the reference.</p>
            ) : (
              <table class="grid drift-table">
                <thead>
                  <tr>
                    <th>Feature</th>
                    <th>Method</th>
                    <th class="num">Threshold</th>
                    <th>Day by day</th>
                    <th class="num">Latest</th>
                    <th>State</th>
                  </tr>
                </thead>
                <tbody>
                  {features.map((name) => {
                    const checks = d.checks.map((c) => ({
                      day: c.day,
                      f: c.features.find((f) => f.feature === name),
                    }));
                    const last = checks.at(-1)?.f;
                    return (
                      <tr key={name}>
                        <td>
                          <code>{name}</code>
                        </td>
                        <td class="muted">{last?.method ?? "—"}</td>
                        <td class="num">
                          {last ? (last.p_value !== null ? `p ${last.threshold}` : last.threshold) : "—"}
                        </td>
                        <td>
                          <FeatureBars checks={checks} />
                        </td>
                        <td class="num">{scoreText(last)}</td>
                        <td>
                          <Badge kind="state" value={last?.state ?? null} />
                        </td>
                      </tr>
                    );
                  })}
                </tbody>
              </table>
            )}
          </div>
        );
      })}
    </div>
  );
}
