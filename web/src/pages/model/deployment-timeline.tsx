import { useEffect, useRef, useState } from "preact/hooks";
import { formatDuration, shortTime } from "../../format";
import type { PlotFrame } from "./age-performance";
import type { Deployment, ModelEvent } from "./model-types";

const LABEL_W = 78;
const LANE_H = 30;
const BAR_H = 22;
const AXIS_H = 22;
const TOP = 14;
/** One lane per role, and one for the promotions still to come, so a future bar never crowds a live one. */
const LANES = ["primary", "canary", "shadow", "scheduled"] as const;
const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
const DAY = 86_400_000;

interface Bar {
  d: Deployment;
  start: number;
  end: number;
  row: number;
}

/** Bars of one role, each on the first row where it overlaps nothing (shadows may run side by side). */
function stack(deployments: Deployment[], now: number): Bar[] {
  const rows: number[] = [];
  return [...deployments]
    .sort((a, b) => Date.parse(a.deployment_date) - Date.parse(b.deployment_date))
    .map((d) => {
      const start = Date.parse(d.deployment_date);
      const end =
        d.status === "scheduled"
          ? Math.max(start + 3 * DAY, now)
          : d.ended_at
            ? Date.parse(d.ended_at)
            : Math.max(now, start);
      let row = rows.findIndex((free) => free <= start);
      if (row < 0) row = rows.push(0) - 1;
      rows[row] = end;
      return { d, start, end, row };
    });
}

/** Ticks on month starts (weeks for a short span), thinned to fit about one per 110 px. */
function ticks(from: number, to: number, width: number): { at: number; label: string }[] {
  const out: { at: number; label: string }[] = [];
  const span = to - from;
  if (span < 60 * DAY) {
    for (let t = Math.ceil(from / DAY) * DAY; t <= to; t += 7 * DAY) {
      const d = new Date(t);
      out.push({ at: t, label: `${MONTHS[d.getUTCMonth()]} ${d.getUTCDate()}` });
    }
  } else {
    const d = new Date(from);
    let t = Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1);
    while (t <= to) {
      const m = new Date(t);
      const month = MONTHS[m.getUTCMonth()] ?? "";
      out.push({ at: t, label: m.getUTCMonth() === 0 ? `${month} ${m.getUTCFullYear()}` : month });
      t = Date.UTC(m.getUTCFullYear(), m.getUTCMonth() + 1, 1);
    }
  }
  const every = Math.max(1, Math.ceil(out.length / Math.max(1, Math.floor(width / 110))));
  return out.filter((_, i) => i % every === 0);
}

function barLabel(bar: Bar, golden: string | null): string {
  const { d } = bar;
  const span = formatDuration((bar.end - bar.start) / 1000);
  const when =
    d.status === "scheduled"
      ? `scheduled for ${shortTime(d.deployment_date)}`
      : `${shortTime(d.deployment_date)} → ${d.ended_at ? shortTime(d.ended_at) : "now"} (${span})`;
  const gold = d.model_version === golden ? ", golden version" : "";
  return `${d.model_version} ${d.role}, ${d.status.replace("_", " ")}${gold}: ${when}`;
}

/**
 * Every deployment of the environment as a bar from its deployment date to its end (or now), one
 * lane per role: supersessions as bars that meet, rollbacks marked where they happened, the golden
 * version starred, scheduled promotions dashed.
 */
export function DeploymentTimeline({
  deployments,
  events,
  golden,
  now,
  frame,
}: {
  deployments: Deployment[];
  events: ModelEvent[];
  golden: string | null;
  now: number;
  frame: PlotFrame | null;
}) {
  const box = useRef<HTMLDivElement>(null);
  const [width, setWidth] = useState(1000);
  useEffect(() => {
    const element = box.current;
    if (!element) return;
    const observer = new ResizeObserver(() => setWidth(element.clientWidth || 1000));
    observer.observe(element);
    setWidth(element.clientWidth || 1000);
    return () => observer.disconnect();
  }, []);

  const lanes = LANES.map((role) => ({
    role,
    bars: stack(
      deployments.filter((d) =>
        role === "scheduled" ? d.status === "scheduled" : d.role === role && d.status !== "scheduled",
      ),
      now,
    ),
  })).filter((lane) => lane.bars.length > 0);
  const all = lanes.flatMap((l) => l.bars);
  const to = Math.max(now, ...all.map((b) => b.end));
  // At least two weeks across, so a deployment made today is a short bar, not the whole width.
  const from = Math.min(to - 14 * DAY, ...all.map((b) => b.start));
  // Lined up with the chart above when its time axis covers every bar; else a frame of its own.
  const aligned = frame && frame.from <= from + 1000 && frame.to >= to - 60_000 ? frame : null;
  const pad = (to - from) * 0.01;
  const x = aligned
    ? (t: number) => aligned.left + ((t - aligned.from) / (aligned.to - aligned.from)) * aligned.width
    : (t: number) => LABEL_W + ((t - (from - pad)) / (to + pad - (from - pad))) * (width - LABEL_W - 8);
  let y = TOP;
  const placed = lanes.map((lane) => {
    const rows = Math.max(...lane.bars.map((b) => b.row)) + 1;
    const top = y;
    y += rows * LANE_H + 6;
    return { ...lane, top, rows };
  });
  const height = y + AXIS_H;
  const rollbacks = events.filter((e) => e.type === "rolled_back" || e.type === "canary_rolled_back");

  return (
    <div class="timeline" ref={box}>
      <svg width={width} height={height} role="img" aria-label={describe(all, golden)}>
        {ticks(from, to, width - LABEL_W).map((t) => (
          <g key={t.at} class="tl-tick">
            <line x1={x(t.at)} x2={x(t.at)} y1={TOP - 6} y2={height - AXIS_H} />
            <text x={x(t.at)} y={height - 6} text-anchor="middle">
              {t.label}
            </text>
          </g>
        ))}
        {placed.map((lane) => (
          <g key={lane.role}>
            <text class="tl-lane" x={0} y={lane.top + BAR_H / 2 + 4}>
              {lane.role}
            </text>
            {lane.bars.map((bar) => {
              const x0 = x(bar.start);
              const w = Math.max(3, x(bar.end) - x0);
              const top = lane.top + bar.row * LANE_H;
              const isGolden = bar.d.model_version === golden;
              const soon =
                bar.d.status === "scheduled" ? ` in ${formatDuration((bar.start - now) / 1000)}` : "";
              const text = `${bar.d.model_version}${isGolden ? " ★" : ""}${soon}`;
              const fits = w > text.length * 7 + 10;
              // A label that does not fit goes beside the bar: after it, or before it at the right edge.
              const after = x0 + w + text.length * 7 + 8 < width;
              return (
                <g key={bar.d.id} class={`tl-bar tl-${bar.d.status}`} data-deployment-id={bar.d.id}>
                  <title>{barLabel(bar, golden)}</title>
                  <rect x={x0} y={top} width={w} height={BAR_H} rx={3} />
                  <text
                    x={fits ? x0 + 6 : after ? x0 + w + 4 : x0 - 4}
                    y={top + BAR_H / 2 + 4}
                    class={fits ? "tl-in" : "tl-out"}
                    text-anchor={fits || after ? "start" : "end"}
                  >
                    {text}
                  </text>
                </g>
              );
            })}
          </g>
        ))}
        {rollbacks.map((e) => {
          const lane = placed.find((l) => l.role === (e.type === "rolled_back" ? "primary" : "canary"));
          if (!lane) return null;
          const at = x(Date.parse(e.at));
          const to = typeof e.data.to_version === "string" ? ` to ${e.data.to_version}` : "";
          const why = typeof e.data.reason === "string" ? `: ${e.data.reason}` : "";
          return (
            <g key={e.id} class="tl-rollback">
              <title>{`${String(e.data.model_version ?? "")} rolled back${to} ${shortTime(e.at)}${why}`}</title>
              <line x1={at} x2={at} y1={lane.top - 6} y2={lane.top + BAR_H + 4} />
              <text x={at} y={lane.top - 3} text-anchor="middle">
                ↶ rollback
              </text>
            </g>
          );
        })}
        <g class="tl-now">
          <line x1={x(now)} x2={x(now)} y1={TOP - 10} y2={height - AXIS_H} />
          <text x={x(now)} y={TOP - 4} text-anchor="end">
            now
          </text>
        </g>
      </svg>
    </div>
  );
}

/** The timeline in words, for a screen reader. */
function describe(bars: Bar[], golden: string | null): string {
  return `Deployments over time: ${bars.map((b) => barLabel(b, golden)).join("; ")}.`;
}
