import uPlot from "uplot";
import { formatDuration, metricValue } from "../../format";
import type { DecayChartData, DecaySeries } from "./decay-data";
import { axisStyle, mountPlot, type Palette, type PlotOptions, palette, usePlot } from "./mount-plot";

const HEIGHT = 300;

/** "#2b5f8a" at alpha 0.2 → "rgba(43, 95, 138, 0.2)": uPlot's band fill takes one colour string. */
function withAlpha(colour: string, alpha: number): string {
  const hex = /^#([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})$/i.exec(colour);
  if (!hex) return colour;
  const [r, g, b] = hex.slice(1).map((h) => Number.parseInt(h, 16));
  return `rgba(${r}, ${g}, ${b}, ${alpha})`;
}

function seriesOptions(s: DecaySeries, p: Palette): uPlot.Series {
  const base = { label: s.label, spanGaps: false, points: { show: false }, value: metricOf };
  const dots = (fill: string, size: number) => ({
    ...base,
    stroke: fill,
    width: 0,
    paths: () => null,
    points: { show: true, size, fill, stroke: fill, width: 1 },
  });
  switch (s.kind) {
    case "live":
      return dots(p.accent, 5);
    case "earlier":
      return dots(withAlpha(p.muted, 0.55), 4);
    case "curve":
      return { ...base, stroke: p.accent, width: 2.5 };
    case "steep":
    case "gentle":
      return { ...base, stroke: withAlpha(p.accent, 0.5), width: 1 };
    case "threshold":
      return { ...base, stroke: p.bad, width: 1.5, dash: [7, 5] };
    case "forecast":
      return { ...base, stroke: p.warn, width: 2, dash: [4, 3] };
  }
}

const metricOf = (_u: uPlot, v: number | null) => metricValue(v);

/** Where a mark was drawn, in canvas pixels: the browser test reads the canvas there. */
export interface DrawnMark {
  kind: "crossing" | "ttl" | "suggested" | "curve" | "band";
  x: number;
  y: number;
}

/**
 * The marks over the lines: the current TTL and the suggested one as upright lines, the crossing
 * as a ring on the threshold with its interval along it, and what each is in words beside it.
 */
function drawMarks(u: uPlot, data: DecayChartData, p: Palette): DrawnMark[] {
  const { ctx } = u;
  const { left, top, width, height } = u.bbox;
  const px = uPlot.pxRatio;
  const xOf = (age: number) => u.valToPos(age, "x", true);
  const yOf = (v: number) => u.valToPos(v, "y", true);
  const drawn: DrawnMark[] = [];
  ctx.save();
  ctx.beginPath();
  ctx.rect(left, top, width, height);
  ctx.clip();
  ctx.font = `${11 * px}px system-ui, sans-serif`;
  // uPlot leaves its axes' alignment on the context.
  ctx.textAlign = "left";
  ctx.textBaseline = "top";
  const upright = (age: number, colour: string, dash: number[], label: string, row: number) => {
    const x = xOf(age);
    ctx.strokeStyle = colour;
    ctx.lineWidth = 1.5 * px;
    ctx.setLineDash(dash.map((d) => d * px));
    ctx.beginPath();
    ctx.moveTo(x, top);
    ctx.lineTo(x, top + height);
    ctx.stroke();
    ctx.setLineDash([]);
    const text = ctx.measureText(label).width;
    // Right of the line, or left of it near the right edge; two labels at one age take two rows.
    const tx = x + 4 * px + text > left + width ? x - 4 * px - text : x + 4 * px;
    const ty = top + (4 + row * 15) * px;
    ctx.fillStyle = p.surface;
    ctx.fillRect(tx - 2 * px, ty - px, text + 4 * px, 14 * px);
    ctx.fillStyle = colour;
    ctx.fillText(label, tx, ty);
    return x;
  };
  if (data.ttl !== null)
    drawn.push({
      kind: "ttl",
      x: upright(data.ttl, p.fg, [], `TTL ${formatDays(data.ttl)}`, 0),
      y: top + height / 2,
    });
  if (data.suggested !== null && data.suggested !== data.ttl) {
    const close = data.ttl !== null && Math.abs(xOf(data.suggested) - xOf(data.ttl)) < 110 * px;
    const x = upright(data.suggested, p.ok, [6, 4], `suggested ${formatDays(data.suggested)}`, close ? 1 : 0);
    drawn.push({ kind: "suggested", x, y: top + height / 2 });
  }
  const c = data.crossing;
  if (c?.shown) {
    const y = yOf(c.level);
    if (c.interval) {
      const [from, to] = c.interval;
      ctx.strokeStyle = withAlpha(p.bad, 0.35);
      ctx.lineWidth = 6 * px;
      ctx.lineCap = "round";
      ctx.beginPath();
      ctx.moveTo(xOf(from), y);
      ctx.lineTo(to === null ? left + width : xOf(to), y);
      ctx.stroke();
      ctx.lineCap = "butt";
    }
    const x = xOf(c.age);
    ctx.fillStyle = p.bad;
    ctx.strokeStyle = p.surface;
    ctx.lineWidth = 2 * px;
    ctx.beginPath();
    ctx.arc(x, y, 6 * px, 0, 2 * Math.PI);
    ctx.fill();
    ctx.stroke();
    drawn.push({ kind: "crossing", x, y });
    ctx.font = `600 ${12 * px}px system-ui, sans-serif`;
    const text = ctx.measureText(c.label).width;
    const tx = x + 10 * px + text > left + width ? x - 10 * px - text : x + 10 * px;
    // Where the curve is not: above the threshold past a falling curve's crossing, below a rising one's.
    const ty = goesDown(data) ? y - 23 * px : y + 9 * px;
    ctx.fillStyle = p.surface;
    ctx.fillRect(tx - 3 * px, ty - 2 * px, text + 6 * px, 17 * px);
    ctx.fillStyle = p.bad;
    ctx.fillText(c.label, tx, ty);
  } else if (c) {
    ctx.fillStyle = p.muted;
    const label = `${c.label.replace(/ \(.*\)$/, "")} →`;
    const text = ctx.measureText(label).width;
    ctx.fillText(label, left + width - text - 6 * px, yOf(c.level) - 16 * px);
  }
  // A point on the curve and one inside its band, far out where the band is widest.
  const curve = data.series.find((s) => s.kind === "curve");
  const steep = data.series.find((s) => s.kind === "steep");
  const gentle = data.series.find((s) => s.kind === "gentle");
  const i = Math.floor((data.x.length * 3) / 4);
  const at = data.x[i];
  const [cv, sv, gv] = [curve?.values[i], steep?.values[i], gentle?.values[i]];
  if (at !== undefined && typeof cv === "number" && typeof sv === "number" && typeof gv === "number") {
    drawn.push({ kind: "curve", x: xOf(at), y: yOf(cv) });
    drawn.push({ kind: "band", x: xOf(at), y: yOf((cv + sv) / 2) });
  }
  ctx.restore();
  return drawn.map((m) => ({ ...m, x: Math.round(m.x), y: Math.round(m.y) }));
}

/** Whether the curve falls with age. */
const goesDown = (data: DecayChartData): boolean => {
  const v = data.series.find((s) => s.kind === "curve")?.values;
  return (v?.at(-1) ?? 0) < (v?.[0] ?? 0);
};

const formatDays = (days: number) => formatDuration(Math.round(days * 86_400));

function options(data: DecayChartData, metric: string, onMarks: (m: DrawnMark[]) => void): PlotOptions {
  const p = palette();
  const axis = axisStyle(p);
  const index = (kind: DecaySeries["kind"]) => data.series.findIndex((s) => s.kind === kind) + 1;
  // The band between the slope interval's two lines: upper is the larger slope's at every age > 0.
  const [upper, lower] =
    (data.series.find((s) => s.kind === "gentle")?.values.at(-1) ?? 0) >=
    (data.series.find((s) => s.kind === "steep")?.values.at(-1) ?? 0)
      ? [index("gentle"), index("steep")]
      : [index("steep"), index("gentle")];
  return {
    height: HEIGHT,
    cursor: { drag: { x: false, y: false }, points: { size: 6 } },
    legend: { live: true },
    scales: {
      x: { time: false, range: [0, data.max] },
      y: {
        range: (_u, min, max) => {
          const lo = Math.min(min, data.threshold ?? min);
          const hi = Math.max(max, data.threshold ?? max);
          const pad = Math.max((hi - lo) * 0.1, 0.005);
          return [lo - pad, hi + pad];
        },
      },
    },
    axes: [
      { ...axis, label: "deployment age", values: (_u, splits) => splits.map((v) => `${Math.round(v)}d`) },
      { ...axis, label: metric, size: 56, values: (_u, splits) => splits.map((v) => metricValue(v)) },
    ],
    series: [
      { label: "age", value: (_u, v) => (v === null ? "—" : `${v.toFixed(1)}d`) },
      ...data.series.map((s) => seriesOptions(s, p)),
    ],
    bands: [{ series: [upper, lower], fill: withAlpha(p.accent, 0.16) }],
    hooks: {
      draw: [(u) => onMarks(drawMarks(u, data, p))],
    },
  };
}

/**
 * The model's decay over deployment age: every version's judged windows at their age, the fitted
 * curve with its interval band, the threshold, where the live deployment will cross it, and the
 * current TTL beside the suggested one. Redrawn on a theme change, resized with the page.
 */
export function DecayChart({ data, metric, label }: { data: DecayChartData; metric: string; label: string }) {
  const box = usePlot(
    (element) => {
      const marks = (m: DrawnMark[]) => {
        element.dataset.marks = JSON.stringify(m);
      };
      const unmount = mountPlot(element, options(data, metric, marks), [
        data.x,
        ...data.series.map((s) => s.values),
      ] as uPlot.AlignedData);
      return () => {
        unmount();
        delete element.dataset.marks;
      };
    },
    [data, metric],
  );
  return <div class="decay-chart plot" ref={box} role="img" aria-label={label} />;
}
