import type { RefObject } from "preact";
import { useEffect, useRef } from "preact/hooks";
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";
import { useShared } from "../../store";
import { theme } from "../../theme";
import "./plot.css";

/** The theme's colours, read from its CSS variables so the canvas follows light and dark. */
export function palette() {
  const style = getComputedStyle(document.documentElement);
  const v = (name: string) => style.getPropertyValue(name).trim();
  return {
    fg: v("--fg"),
    muted: v("--muted"),
    border: v("--border"),
    surface: v("--surface"),
    surface2: v("--surface-2"),
    track: v("--bar-track"),
    accent: v("--accent"),
    ok: v("--ok"),
    bad: v("--bad"),
    badBg: v("--bad-bg"),
    warn: v("--warn"),
    warnBg: v("--warn-bg"),
    info: v("--info"),
  };
}
export type Palette = ReturnType<typeof palette>;

/** An axis in the theme's colours: muted labels, grid and ticks in the border colour. */
export const axisStyle = (p: Palette) => ({
  stroke: p.muted,
  grid: { stroke: p.border, width: 1 },
  ticks: { stroke: p.border, width: 1 },
});

/** A plot's options without its width: it takes its container's. */
export type PlotOptions = Omit<uPlot.Options, "width">;

/** The legend's values mean something only under the cursor: plot.css hides them while it is away. */
const markIdle = (u: uPlot) =>
  u.root.classList.toggle("idle", u.cursor.idx === null || u.cursor.idx === undefined);

/**
 * Draws a uPlot in `element` at its width, resizes it when that width changes, and returns what
 * takes it down again. `element.dataset.series` counts its series (not the x values), for tests.
 */
export function mountPlot(element: HTMLElement, options: PlotOptions, data: uPlot.AlignedData): () => void {
  const hooks = { ...options.hooks, setLegend: [...(options.hooks?.setLegend ?? []), markIdle] };
  const plot = new uPlot({ ...options, width: element.clientWidth, hooks }, data, element);
  element.dataset.series = String(plot.series.length - 1);
  plot.root.classList.add("idle");
  const observer = new ResizeObserver(() => {
    if (element.clientWidth > 0 && element.clientWidth !== plot.width)
      plot.setSize({ width: element.clientWidth, height: options.height });
  });
  observer.observe(element);
  return () => {
    observer.disconnect();
    plot.destroy();
    delete element.dataset.series;
  };
}

/**
 * A plot's container: `mount` runs once the container is in the page and again, after the previous
 * plot is taken down, whenever one of `deps` or the theme changes (the canvas holds its colours).
 * It returns its teardown, usually `mountPlot`'s.
 */
export function usePlot(
  mount: (element: HTMLDivElement) => () => void,
  deps: readonly unknown[],
): RefObject<HTMLDivElement> {
  const box = useRef<HTMLDivElement>(null);
  const currentTheme = useShared(theme);
  useEffect(() => {
    const element = box.current;
    if (!element) return;
    return mount(element);
  }, [...deps, currentTheme]);
  return box;
}
