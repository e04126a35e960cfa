/**
 * The reference's quantile bins (edges and counts) without sorting the reference: the values
 * that can hold the wanted ranks are found by a histogram of the top 16 bits of their sort keys,
 * and only those buckets are gathered and sorted, as numpy's `partition` sorts only around the
 * ranks it is asked for. Buckets are ranges of the sort order, so the values at each rank, and
 * with them the edges, are exactly those of a full sort; a bucket near a quantile of a million
 * normal values holds one or two per cent of them.
 */

import { binCounts, binCountsSorted, quantileEdges, quantileOf } from "./binning.js";
import { sortFloat64 } from "./radix-sort.js";

const BUCKET_BITS = 16;
const BUCKETS = 1 << BUCKET_BITS;
/** Below this size sorting a copy costs less than the bucket histogram. */
const SMALL = 4096;

/** Quantile bin edges and the reference's count in each bin. */
export interface ReferenceBins {
  edges: Float64Array;
  counts: Float64Array;
}

/**
 * The inner edges of `bins` reference-quantile bins (`quantileEdges` of the sorted values) and the
 * reference's counts in them (`binCountsSorted`), the same to the bit; `values` is not modified.
 * NaN is not expected, as in `sortFloat64`.
 */
export function referenceBins(values: Float64Array, bins: number): ReferenceBins {
  const n = values.length;
  if (n < SMALL) {
    const sorted = sortFloat64(values.slice());
    const edges = quantileEdges(sorted, bins);
    return { edges, counts: binCountsSorted(sorted, edges) };
  }
  const words = new Uint32Array(values.buffer, values.byteOffset, 2 * n);
  const sizes = new Uint32Array(BUCKETS);
  // bucketOf inlined by hand here and in gather: a CLI run executes these loops once, mostly
  // before the optimising compiler has inlined anything.
  for (let i = 1; i < 2 * n; i += 2) {
    const high = words[i] as number;
    const bucket = (high ^ ((high >> 31) | 0x80000000)) >>> (32 - BUCKET_BITS);
    sizes[bucket] = (sizes[bucket] as number) + 1;
  }
  // firsts[b]: the rank of bucket b's first value in the sorted order.
  const firsts = new Float64Array(BUCKETS + 1);
  for (let b = 0; b < BUCKETS; b++) firsts[b + 1] = (firsts[b] as number) + (sizes[b] as number);
  const wanted = new Uint8Array(BUCKETS);
  for (let k = 1; k < bins; k++) {
    const { lower, upper } = ranksOf(n, k / bins);
    wanted[bucketOfRank(firsts, lower)] = 1;
    wanted[bucketOfRank(firsts, upper)] = 1;
  }
  const gathered = gather(values, words, sizes, wanted);
  const valueAt = (rank: number): number => {
    const bucket = bucketOfRank(firsts, rank);
    return gathered.values[
      (gathered.offsets[bucket] as number) + rank - (firsts[bucket] as number)
    ] as number;
  };
  const edges = dedupe(Array.from({ length: bins - 1 }, (_, k) => quantileOf(n, (k + 1) / bins, valueAt)));
  const counts = countsBelow(edges, n, firsts, wanted, gathered);
  return { edges, counts: counts ?? binCounts(values, edges) };
}

/** The top 16 bits of a double's sort key, from its high word (see radix-sort.ts). */
function bucketOf(high: number): number {
  return (high ^ ((high >> 31) | 0x80000000)) >>> (32 - BUCKET_BITS);
}

/** numpy's 'linear' method reads the values at these two ranks for quantile q. */
function ranksOf(n: number, q: number): { lower: number; upper: number } {
  const lower = Math.min(Math.max(Math.floor((n - 1) * q), 0), n - 1);
  return { lower, upper: Math.min(lower + 1, n - 1) };
}

/** The bucket holding `rank`: the last b with firsts[b] ≤ rank and a value in it. */
function bucketOfRank(firsts: Float64Array, rank: number): number {
  let low = 0;
  let high = BUCKETS - 1;
  while (low < high) {
    const middle = (low + high + 1) >>> 1;
    if ((firsts[middle] as number) <= rank) low = middle;
    else high = middle - 1;
  }
  return low;
}

interface Gathered {
  /** The wanted buckets' values, sorted, bucket after bucket. */
  values: Float64Array;
  /** Where each wanted bucket starts in `values`. */
  offsets: Uint32Array;
}

/** Copies the values of the wanted buckets out in one pass, then sorts them. */
function gather(values: Float64Array, words: Uint32Array, sizes: Uint32Array, wanted: Uint8Array): Gathered {
  const offsets = new Uint32Array(BUCKETS);
  const next = new Int32Array(BUCKETS).fill(-1);
  let total = 0;
  for (let b = 0; b < BUCKETS; b++) {
    if (wanted[b] === 0) continue;
    offsets[b] = total;
    next[b] = total;
    total += sizes[b] as number;
  }
  const out = new Float64Array(total);
  for (let i = 0; i < values.length; i++) {
    const high = words[2 * i + 1] as number;
    const bucket = (high ^ ((high >> 31) | 0x80000000)) >>> (32 - BUCKET_BITS);
    const at = next[bucket] as number;
    if (at < 0) continue;
    out[at] = values[i] as number;
    next[bucket] = at + 1;
  }
  // Each bucket by the built-in sort, which is native code and so as fast on a first call; a
  // bucket holds values of one sign, so its order is the radix sort's.
  for (let b = 0; b < BUCKETS; b++) {
    if (wanted[b] !== 0) out.subarray(offsets[b], (offsets[b] as number) + (sizes[b] as number)).sort();
  }
  return { values: out, offsets };
}

function dedupe(edges: number[]): Float64Array {
  const out: number[] = [];
  for (const edge of edges) if (out.length === 0 || edge !== out[out.length - 1]) out.push(edge);
  return Float64Array.from(out);
}

/**
 * The reference's count in each bin, from the number of values ≤ each edge: the values of the
 * buckets below the edge's, plus those ≤ it in its own bucket, which was gathered and sorted.
 * Null when an edge's bucket was not gathered (its value rounded outside the two values it lies
 * between) or the edge is zero (−0 and +0 are equal but in different buckets): the caller then
 * counts by a pass over the values.
 */
function countsBelow(
  edges: Float64Array,
  n: number,
  firsts: Float64Array,
  wanted: Uint8Array,
  gathered: Gathered,
): Float64Array | null {
  const counts = new Float64Array(edges.length + 1);
  let previous = 0;
  for (let e = 0; e < edges.length; e++) {
    const edge = edges[e] as number;
    if (edge === 0) return null;
    const words = new Uint32Array(Float64Array.of(edge).buffer);
    const bucket = bucketOf(words[1] as number);
    if (wanted[bucket] === 0) return null;
    // The first value above the edge in the bucket's sorted run.
    const start = gathered.offsets[bucket] as number;
    let low = start;
    let high = start + (firsts[bucket + 1] as number) - (firsts[bucket] as number);
    while (low < high) {
      const middle = (low + high) >>> 1;
      if ((gathered.values[middle] as number) <= edge) low = middle + 1;
      else high = middle;
    }
    const below = (firsts[bucket] as number) + low - start;
    counts[e] = below - previous;
    previous = below;
  }
  counts[edges.length] = n - previous;
  return counts;
}
