import { setFlagsFromString } from "node:v8";

/**
 * How far V8 lets the heap grow past what a full collection kept, in percent, for a process that
 * works on the whole fleet (the server, a local sweep). V8's default for a process whose
 * collections are cheap is up to 4x: the server under the registry benchmark, and a sweep of the
 * whole fleet, held several times their live heap in garbage that a collection would have freed
 * anyway. 30% bounds that at the same throughput (see BENCHMARKS.md).
 * `TENURE_HEAP_GROWING_PERCENT` overrides it (V8 refuses the flag in NODE_OPTIONS).
 */
export const FLEET_HEAP_GROWING_PERCENT = 30;

/** Applies the bound unless `node --heap-growing-percent=N` chose one on the command line. */
export function boundHeapGrowth(chosen: number | undefined): void {
  if (process.execArgv.some((flag) => /^--heap[-_]growing[-_]percent/.test(flag))) return;
  setFlagsFromString(`--heap-growing-percent=${chosen ?? FLEET_HEAP_GROWING_PERCENT}`);
}
