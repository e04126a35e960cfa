import { Badge } from "../components";
import type { FleetItem } from "../fleet-query";
import { formatDuration, metricValue, percent, relativeTime } from "../format";

/**
 * Deployment age against its TTL: a thin track filled to the fraction used, a tick at the review
 * point, and past the TTL a striped stub beyond the track's end (the bar is capped; the words say
 * by how much). Beside it the two ages in human units, so the bar is never the only signal.
 */
export function AgeBar({ d }: { d: FleetItem }) {
  const { deployment_age_seconds: age, ttl_seconds: ttl, ttl_fraction: fraction, stage, exempt } = d.age;
  const fill = Math.min(Math.max(fraction, 0), 1) * 100;
  const review = ttl > 0 ? Math.min(d.review_at_seconds / ttl, 1) * 100 : 100;
  const over = fraction > 1;
  const label =
    `${formatDuration(age)} of a ${formatDuration(ttl)} TTL (${percent(fraction)}), ` +
    `review at ${formatDuration(d.review_at_seconds)}${exempt ? "; exempt from age findings" : ""}`;
  return (
    <span class={`ttl ${exempt ? "ttl-exempt" : `ttl-${stage ?? "none"}`}`} title={label}>
      <span class="ttl-track" role="img" aria-label={label}>
        <span class="ttl-fill" style={{ width: `${fill}%` }} />
        <span class="ttl-tick" style={{ left: `${review}%` }} />
        {over ? <span class="ttl-over" /> : null}
      </span>
      <span class="ttl-text">
        <span class="ttl-age">{formatDuration(age)}</span>
        <span class="muted"> / {formatDuration(ttl)}</span>
      </span>
    </span>
  );
}

/** Data age, marked (in word and colour) when older than its policy's max_data_age. */
export function DataAge({ d }: { d: FleetItem }) {
  const limit = d.max_data_age_seconds;
  const over = limit !== null && d.age.data_age_seconds > limit;
  return (
    <span
      class={over ? "data-over" : undefined}
      title={
        limit === null
          ? "its policy sets no max data age"
          : `${over ? "older than" : "within"} its policy's max data age of ${formatDuration(limit)}`
      }
    >
      {over ? (
        <span class="over-mark" role="img" aria-label="stale:">
          ⚠
        </span>
      ) : null}
      {formatDuration(d.age.data_age_seconds)}
    </span>
  );
}

export function Stage({ d }: { d: FleetItem }) {
  if (d.age.exempt) {
    return (
      <span title={`exempt by its policy ${d.age.policy}`}>
        <span class="badge badge-none">exempt</span>
      </span>
    );
  }
  return <Badge kind="stage" value={d.age.stage} />;
}

/** The health score (0–100) and the verdict it leads to, side by side. */
export function Health({ d }: { d: FleetItem }) {
  const score = d.age.health_score;
  const tone =
    score === null ? "muted" : score < 50 ? "health-bad" : score < 80 ? "health-warn" : "health-ok";
  return (
    <span class="health">
      <span class={`health-score ${tone}`}>{score === null ? "—" : Math.round(score)}</span>
      {d.age.verdict ? <span class={`badge verdict-${d.age.verdict}`}>{d.age.verdict}</span> : null}
    </span>
  );
}

export function Performance({ d }: { d: FleetItem }) {
  const p = d.performance;
  if (!p)
    return (
      <span class="muted" title="its policy sets no performance target">
        no target
      </span>
    );
  const detail = [
    `${p.metric} ${metricValue(p.value)}`,
    p.target !== null ? `target ${metricValue(p.target)}` : "learned threshold",
    p.baseline !== null ? `baseline ${metricValue(p.baseline)}` : null,
    p.drop !== null ? `${percent(p.drop, 1)} below baseline` : null,
  ]
    .filter(Boolean)
    .join(", ");
  if (!p.state)
    return (
      <span class="muted" title={detail}>
        not judged
      </span>
    );
  return (
    <span title={detail}>
      <Badge kind="state" value={p.state} />
    </span>
  );
}

export function Drift({ d }: { d: FleetItem }) {
  if (!d.drift)
    return (
      <span class="muted" title="its inputs are not monitored">
        —
      </span>
    );
  const share = d.drift.share;
  return (
    <span title={share === null ? d.drift.state : `${percent(share)} of monitored features drifted`}>
      <Badge kind="state" value={d.drift.state} />
    </span>
  );
}

export function LastTraffic({ d, now }: { d: FleetItem; now: number }) {
  if (!d.last_traffic_at) {
    return (
      <span class="muted" title={d.last_heartbeat_at ? `last heartbeat ${d.last_heartbeat_at}` : undefined}>
        never
      </span>
    );
  }
  return <span title={d.last_traffic_at}>{relativeTime(d.last_traffic_at, now)}</span>;
}

export function Alerts({ d }: { d: FleetItem }) {
  if (d.open_alerts === 0) return <span class="muted">0</span>;
  return (
    <span class="alert-count" title={`open: ${d.open_alert_kinds.join(", ").replaceAll("_", " ")}`}>
      {d.open_alerts}
    </span>
  );
}

/** How long until the deployment crosses its threshold by its model's decay curve: "~26d", or "—" with why not. */
export function BreachIn({ d }: { d: FleetItem }) {
  const f = d.age.forecast;
  if (!f) {
    return (
      <span class="muted" title={d.age.forecast_reason ?? "no forecast"}>
        —
      </span>
    );
  }
  const [soonest, latest] = f.interval_seconds;
  // Marked when its sweep raised forecast_breach (the crossing may come before the next review), or it is due now.
  const alerted = d.open_alert_kinds.includes("forecast_breach");
  const soon = alerted || f.breach_in_seconds === 0;
  const title =
    `${f.metric} crosses its threshold ${f.breach_at.slice(0, 10)}; ` +
    `between ~${formatDuration(soonest)} and ${latest === null ? "never" : `~${formatDuration(latest)}`}` +
    (alerted ? "; forecast_breach alert open" : "");
  return (
    <span class={soon ? "breach-soon" : undefined} title={title}>
      {soon ? (
        <span class="over-mark" role="img" aria-label="soon:">
          ⚠
        </span>
      ) : null}
      {f.breach_in_seconds === 0 ? "now" : `~${formatDuration(f.breach_in_seconds)}`}
    </span>
  );
}
