import uPlot from "uplot";
import { formatDuration, metricValue } from "../../format";
import { type Band, type ChartData, type ChartSeries, chartData } from "./age-performance-data";
import type { ModelPerformance } from "./model-types";
import { axisStyle, mountPlot, type Palette, type PlotOptions, palette, usePlot } from "./mount-plot";

const HEIGHT = 340;

function seriesOptions(s: ChartSeries, p: Palette): uPlot.Series {
  const base = { label: s.label, spanGaps: false, points: { show: false } };
  switch (s.kind) {
    case "metric":
      return { ...base, scale: "metric", stroke: p.accent, width: 2.25, value: (_u, v) => metricValue(v) };
    case "below":
      return {
        ...base,
        scale: "metric",
        stroke: p.bad,
        width: 0,
        paths: () => null,
        points: { show: true, size: 7, fill: p.bad, stroke: p.bad, width: 1 },
        value: (_u, v) => metricValue(v),
      };
    case "target":
      return {
        ...base,
        scale: "metric",
        stroke: p.bad,
        width: 1.5,
        dash: [7, 5],
        value: (_u, v) => metricValue(v),
      };
    case "baseline":
      return {
        ...base,
        scale: "metric",
        stroke: p.ok,
        width: 1.5,
        dash: [2, 4],
        value: (_u, v) => metricValue(v),
      };
    case "age":
      return {
        ...base,
        scale: "age",
        stroke: p.muted,
        width: 1.25,
        value: (_u, v) => (v === null ? "—" : `${Math.floor(v)}d`),
      };
    case "candidate":
      return {
        ...base,
        scale: "metric",
        stroke: p.info,
        width: 1.5,
        dash: [5, 3],
        value: (_u, v) => metricValue(v),
      };
  }
}

/**
 * Draws each deployment as a band under the lines: primaries full height, alternating, their
 * time after the review point tinted as due and after expiry as expired, with the review and
 * expiry marked; shadows and canaries as a strip along the bottom.
 */
function drawBands(u: uPlot, bands: Band[], golden: string | null, p: Palette): void {
  const { ctx } = u;
  const { left, top, width, height } = u.bbox;
  const px = uPlot.pxRatio;
  const xOf = (s: number) => Math.min(left + width, Math.max(left, u.valToPos(s, "x", true)));
  ctx.save();
  ctx.beginPath();
  ctx.rect(left, top, width, height);
  ctx.clip();
  ctx.textBaseline = "top";
  let strip = 0;
  bands.forEach((b, i) => {
    const x0 = xOf(b.start);
    const x1 = xOf(b.end);
    if (x1 - x0 < 0.5) return;
    if (b.role !== "primary") {
      ctx.fillStyle = p.info;
      ctx.globalAlpha = 0.5;
      const y = top + height - (6 + strip * 8) * px;
      ctx.fillRect(x0, y, x1 - x0, 5 * px);
      ctx.globalAlpha = 1;
      strip = (strip + 1) % 3;
      return;
    }
    ctx.fillStyle = i % 2 === 0 ? p.surface2 : p.track;
    ctx.globalAlpha = 0.55;
    ctx.fillRect(x0, top, x1 - x0, height);
    const due = xOf(Math.max(b.start, b.due));
    const expires = xOf(Math.max(b.start, b.expires));
    ctx.globalAlpha = 0.7;
    if (b.due < b.end) {
      ctx.fillStyle = p.warnBg;
      ctx.fillRect(due, top, Math.min(x1, expires) - due, height);
    }
    if (b.expires < b.end) {
      ctx.fillStyle = p.badBg;
      ctx.fillRect(expires, top, x1 - expires, height);
    }
    ctx.globalAlpha = 1;
    ctx.setLineDash([3 * px, 3 * px]);
    ctx.lineWidth = px;
    ctx.font = `${11 * px}px system-ui, sans-serif`;
    for (const [at, colour, label] of [
      [b.due, p.warn, "review"],
      [b.expires, p.bad, "expiry"],
    ] as const) {
      if (at <= b.start || at >= b.end) continue;
      const x = xOf(at);
      ctx.strokeStyle = colour;
      ctx.beginPath();
      ctx.moveTo(x, top);
      ctx.lineTo(x, top + height);
      ctx.stroke();
      // The label sits right of its line, up to the band's end or the next marker.
      const next = label === "review" && b.expires < b.end ? xOf(b.expires) : x1;
      if (next - x > ctx.measureText(label).width + 6 * px) {
        ctx.fillStyle = colour;
        ctx.fillText(label, x + 3 * px, top + 20 * px);
      }
    }
    ctx.setLineDash([]);
    ctx.strokeStyle = p.border;
    ctx.beginPath();
    ctx.moveTo(x0, top);
    ctx.lineTo(x0, top + height);
    ctx.stroke();
    // Labels are drawn only where they fit whole: a squeezed label reads worse than none.
    const room = x1 - x0 - 8 * px;
    ctx.fillStyle = p.fg;
    ctx.font = `600 ${12 * px}px system-ui, sans-serif`;
    const name = b.version === golden ? `${b.version} ★` : b.version;
    if (ctx.measureText(name).width <= room) ctx.fillText(name, x0 + 4 * px, top + 4 * px);
    if (b.live && b.due > b.end) {
      // What lies ahead of a live deployment whose review point is still to come.
      ctx.font = `${11 * px}px system-ui, sans-serif`;
      ctx.fillStyle = p.muted;
      const ahead = `review in ${formatDuration(b.due - b.end)}, expiry in ${formatDuration(b.expires - b.end)}`;
      const short = `review in ${formatDuration(b.due - b.end)}`;
      const fitting = [ahead, short].find((t) => ctx.measureText(t).width <= room);
      if (fitting) ctx.fillText(fitting, x0 + 4 * px, top + 20 * px);
    }
  });
  ctx.restore();
}

function options(
  data: ChartData,
  metric: string,
  golden: string | null,
  onLayout: (u: uPlot) => void,
): PlotOptions {
  const p = palette();
  const axis = axisStyle(p);
  return {
    height: HEIGHT,
    cursor: { drag: { x: false, y: false }, points: { size: 6 } },
    legend: { live: true },
    scales: {
      x: { time: true },
      metric: {
        range: (_u, min, max) => {
          const pad = Math.max((max - min) * 0.12, 0.005);
          return [min - pad, max + pad];
        },
      },
      age: { range: (_u, _min, max) => [0, Math.max(1, max * 1.15)] },
    },
    axes: [
      axis,
      {
        ...axis,
        scale: "metric",
        label: metric,
        size: 56,
        values: (_u, splits) => splits.map((v) => metricValue(v)),
      },
      {
        ...axis,
        scale: "age",
        side: 1,
        label: "deployment age (days)",
        size: 56,
        grid: { show: false },
        values: (_u, splits) => splits.map((v) => `${Math.round(v)}d`),
      },
    ],
    series: [
      { label: "time", value: (_u, v) => (v === null ? "—" : new Date(v * 1000).toISOString().slice(0, 10)) },
      ...data.series.map((s) => seriesOptions(s, p)),
    ],
    hooks: {
      drawAxes: [(u) => drawBands(u, data.bands, golden, p)],
      // Scales and the plot's box are known once it is drawn, and change with its size.
      ready: [onLayout],
      setSize: [onLayout],
    },
  };
}

/**
 * Age vs Performance: the metric over time against its target and baseline, the deployment age
 * on a second axis, each deployment a band with its review point and expiry, so a dip after a
 * model ages shows at a glance. Redrawn on a theme change, resized with the page.
 */
/** Where the plot's time axis lies in the chart (CSS pixels), so the timeline below can line up with it. */
export interface PlotFrame {
  left: number;
  width: number;
  from: number;
  to: number;
}

export function AgePerformanceChart({
  perf,
  golden,
  now,
  onFrame,
}: {
  perf: ModelPerformance;
  golden: string | null;
  now: number;
  onFrame?: (frame: PlotFrame | null) => void;
}) {
  const box = usePlot(
    (element) => {
      const data = chartData(perf, now);
      const layout = (u: uPlot) => {
        const { min, max } = u.scales.x ?? {};
        if (min === undefined || max === undefined || min === null || max === null) return;
        const px = uPlot.pxRatio;
        onFrame?.({ left: u.bbox.left / px, width: u.bbox.width / px, from: min * 1000, to: max * 1000 });
      };
      const unmount = mountPlot(element, options(data, perf.metric?.name ?? "metric", golden, layout), [
        data.x,
        ...data.series.map((s) => s.values),
      ] as uPlot.AlignedData);
      return () => {
        unmount();
        onFrame?.(null);
      };
    },
    [perf, golden, now],
  );
  return <div class="age-chart plot" ref={box} role="img" aria-label={describe(perf)} />;
}

/** What the chart shows, in words, for a screen reader. */
function describe(perf: ModelPerformance): string {
  const name = perf.metric?.name ?? "metric";
  const parts = perf.deployments
    .filter((d) => d.role === "primary" && d.windows.length > 0)
    .map((d) => {
      const first = d.windows[0]?.mean;
      const last = d.windows.at(-1)?.mean;
      return `${d.model_version}: ${name} from ${metricValue(first)} to ${metricValue(last)}`;
    });
  return `Age vs Performance. ${parts.join("; ")}.`;
}
