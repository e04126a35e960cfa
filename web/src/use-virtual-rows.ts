import {
  elementScroll,
  observeElementOffset,
  observeElementRect,
  type VirtualItem,
  Virtualizer,
} from "@tanstack/virtual-core";
import { useLayoutEffect, useReducer, useRef, useState } from "preact/hooks";

/**
 * Renders only the rows in view of a scrolling element: TanStack's Virtualizer, driven the way its
 * React adapter drives it (it has no Preact one). Rows have one fixed height, so nothing is
 * measured; `headerHeight` is the sticky header above the rows inside the same scroller (a row
 * sits at `start - headerHeight` within the rows' own box).
 */
export function useVirtualRows({
  count,
  rowHeight,
  headerHeight,
  overscan = 12,
}: {
  count: number;
  rowHeight: number;
  headerHeight: number;
  overscan?: number;
}): {
  scrollRef: { current: HTMLDivElement | null };
  rows: VirtualItem[];
  totalHeight: number;
  scrollToTop: () => void;
} {
  const scrollRef = useRef<HTMLDivElement | null>(null);
  const [, rerender] = useReducer((n: number) => n + 1, 0);
  const options = {
    count,
    getScrollElement: () => scrollRef.current,
    estimateSize: () => rowHeight,
    overscan,
    scrollMargin: headerHeight,
    observeElementRect,
    observeElementOffset,
    scrollToFn: elementScroll,
    // Before the first layout it knows no size: assume a window's height, so the first paint
    // already has its rows.
    initialRect: { width: 0, height: typeof window === "undefined" ? 800 : window.innerHeight },
    onChange: () => rerender(0),
  };
  const [virtualizer] = useState(() => new Virtualizer<HTMLDivElement, Element>(options));
  virtualizer.setOptions({ ...virtualizer.options, ...options });
  useLayoutEffect(() => virtualizer._didMount(), [virtualizer]);
  useLayoutEffect(() => virtualizer._willUpdate());
  return {
    scrollRef,
    rows: virtualizer.getVirtualItems(),
    totalHeight: virtualizer.getTotalSize(),
    scrollToTop: () => virtualizer.scrollToOffset(0),
  };
}
