import { Badge } from "../../components";
import { count, percent, relativeTime } from "../../format";
import type { Canary, ShadowComparison } from "./model-types";

const ms = (v: number | null) => (v === null ? "—" : `${Math.round(v)} ms`);

/** Each live shadow against the primary on the same requests: agreement, latency, the verdict and the counts behind it. */
export function ShadowPanel({ shadow, environment }: { shadow: ShadowComparison; environment: string }) {
  if (shadow.shadows.length === 0)
    return <p class="muted">No shadow deployment in {environment}: nothing to compare with the primary.</p>;
  return (
    <div class="comparisons">
      {shadow.shadows.map((s) => (
        <div key={s.deployment_id} class="comparison" data-deployment-id={s.deployment_id}>
          <div class="comparison-head">
            <strong>
              {s.model_version} <span class="muted">shadow</span> vs {shadow.primary?.model_version ?? "—"}{" "}
              <span class="muted">primary</span>
            </strong>
            <Badge kind="state" value={s.verdict.verdict} />
          </div>
          <p class="hint">{s.verdict.reason}</p>
          <dl class="figures">
            <dt>pairs</dt>
            <dd>{count(s.pairs)}</dd>
            <dt>agreement</dt>
            <dd>{percent(s.agreement_rate, 1)}</dd>
            <dt>labelled</dt>
            <dd>
              {count(s.verdict.labelled)} <span class="muted">of {s.verdict.min_labelled} needed</span>
            </dd>
            <dt>accuracy</dt>
            <dd>
              {percent(s.verdict.candidate_accuracy, 1)}{" "}
              <span class="muted">vs {percent(s.verdict.primary_accuracy, 1)}</span>
            </dd>
            <dt>errors</dt>
            <dd>
              {count(s.shadow_errors)} <span class="muted">vs {count(s.primary_errors)}</span>
            </dd>
            <dt>p50 / p99</dt>
            <dd>
              {ms(s.shadow_latency_ms.p50)} / {ms(s.shadow_latency_ms.p99)}{" "}
              <span class="muted">
                vs {ms(s.primary_latency_ms.p50)} / {ms(s.primary_latency_ms.p99)}
              </span>
            </dd>
          </dl>
        </div>
      ))}
    </div>
  );
}

/** The newest canary: its state, weight and step, and its last analyses with their verdicts. */
export function CanaryPanel({
  canary,
  environment,
  now,
}: {
  canary: Canary | null;
  environment: string;
  now: number;
}) {
  if (!canary) return <p class="muted">No canary in {environment}.</p>;
  const steps = canary.steps ? `step ${canary.step_index + 1} of ${canary.steps.length}` : "fixed weight";
  return (
    <div class="comparison" data-deployment-id={canary.deployment.id}>
      <div class="comparison-head">
        <strong>
          {canary.deployment.model_version} <span class="muted">canary</span>
        </strong>
        <Badge kind="state" value={canary.state} />
      </div>
      <p class="hint">
        {canary.weight ?? 0}% of traffic, {steps}; {canary.failures} of {canary.config.failure_limit} failures
        allowed
        {canary.next_analysis_at ? `; next analysis ${relativeTime(canary.next_analysis_at, now)}` : ""}
      </p>
      {canary.analyses.length === 0 ? (
        <p class="muted">No analysis yet: it needs {canary.config.min_requests} requests on each side.</p>
      ) : (
        <table class="grid">
          <thead>
            <tr>
              <th>When</th>
              <th>Verdict</th>
              <th>Then</th>
              <th class="num">Requests</th>
              <th class="num">Error rate</th>
              <th>Why</th>
            </tr>
          </thead>
          <tbody>
            {canary.analyses.slice(0, 6).map((a) => (
              <tr key={a.id}>
                <td>{relativeTime(a.at, now)}</td>
                <td>
                  <Badge
                    kind="state"
                    value={a.verdict === "pass" ? "passed" : a.verdict === "fail" ? "failed" : "inconclusive"}
                  />
                </td>
                <td>{a.action}</td>
                <td class="num">
                  {count(a.figures.canary.requests)} / {count(a.figures.primary.requests)}
                </td>
                <td class="num">
                  {percent(a.figures.canary.error_rate, 2)} / {percent(a.figures.primary.error_rate, 2)}
                </td>
                <td class="why">{a.reasons.join("; ")}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </div>
  );
}
