/**
 * Histograms for PSI and Jensen–Shannon on numeric features. The inner bin edges are the
 * reference's k/B quantiles (k = 1 … B−1, numpy's default 'linear' quantile, Hyndman & Fan type 7),
 * duplicates removed; bin i holds (edge[i−1], edge[i]], and the first and last bins are open, so
 * a current value outside the reference's range falls in an end bin instead of being dropped.
 */

/** PSI's default number of bins, the common choice (Siddiqi 2006; Yurdakul 2018). */
export const DEFAULT_BINS = 10;

/** The value an empty bin's proportion is raised to before PSI takes its logarithm. */
export const EMPTY_BIN_EPSILON = 1e-4;

/**
 * The `q` quantile of a sample sorted ascending, as `numpy.quantile(values, q)` (method 'linear'):
 * virtual index (n − 1)·q, interpolated with numpy's `_lerp` (which works from the upper
 * neighbour when the fraction is ≥ 0.5).
 */
export function quantileSorted(sorted: Float64Array, q: number): number {
  return quantileOf(sorted.length, q, (rank) => sorted[rank] as number);
}

/**
 * The `q` quantile of n values, as `quantileSorted` computes it, where `valueAt(rank)` gives the
 * value at a rank of the sorted order: for a caller that knows only the ranks it needs.
 */
export function quantileOf(n: number, q: number, valueAt: (rank: number) => number): number {
  if (n === 0) return Number.NaN;
  const virtual = (n - 1) * q;
  const lower = Math.min(Math.max(Math.floor(virtual), 0), n - 1);
  const upper = Math.min(lower + 1, n - 1);
  const gamma = virtual - lower;
  const a = valueAt(lower);
  const b = valueAt(upper);
  const diff = b - a;
  return gamma >= 0.5 ? b - diff * (1 - gamma) : a + diff * gamma;
}

/** The inner edges of `bins` reference-quantile bins, ascending and without duplicates. */
export function quantileEdges(sortedReference: Float64Array, bins: number): Float64Array {
  const edges: number[] = [];
  for (let k = 1; k < bins; k++) {
    const edge = quantileSorted(sortedReference, k / bins);
    if (edges.length === 0 || edge !== edges[edges.length - 1]) edges.push(edge);
  }
  return Float64Array.from(edges);
}

/** The index of the first edge ≥ value: `numpy.searchsorted(edges, value, side='left')`. */
function binOf(edges: Float64Array, value: number): number {
  let low = 0;
  let high = edges.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if ((edges[middle] as number) < value) low = middle + 1;
    else high = middle;
  }
  return low;
}

/**
 * Up to this many edges a bin is found by scanning them in order rather than by binary search:
 * the scan mispredicts one branch per value (where it stops), the search about half of its
 * log₂ k, so for the usual ten bins counting is faster (see BENCHMARKS.md).
 */
const SCAN_EDGES = 16;

/**
 * From this many values on, `binCounts` first maps each 16-bit prefix of the sort key to its bin:
 * the 65,536-entry table costs less than the branch mispredictions it saves.
 */
const TABLE_MIN = 1 << 16;
const PREFIX_BITS = 16;

/** How many values fall in each of the edges.length + 1 bins; the values need not be sorted. */
export function binCounts(values: Float64Array, edges: Float64Array): Float64Array {
  if (values.length >= TABLE_MIN && !edges.some(Number.isNaN)) return binCountsByPrefix(values, edges);
  const counts = new Float64Array(edges.length + 1);
  const k = edges.length;
  if (k > SCAN_EDGES) {
    for (let i = 0; i < values.length; i++) {
      const bin = binOf(edges, values[i] as number);
      counts[bin] = (counts[bin] as number) + 1;
    }
    return counts;
  }
  for (let i = 0; i < values.length; i++) {
    const value = values[i] as number;
    // The first edge ≥ value, as binOf finds it.
    let bin = 0;
    while (bin < k && (edges[bin] as number) < value) bin++;
    counts[bin] = (counts[bin] as number) + 1;
  }
  return counts;
}

/** The same counts as `binCounts` for values sorted ascending, by one binary search per edge. */
export function binCountsSorted(sorted: Float64Array, edges: Float64Array): Float64Array {
  const counts = new Float64Array(edges.length + 1);
  let previous = 0;
  for (let e = 0; e < edges.length; e++) {
    // The first index whose value is above the edge: values ≤ edge belong to bins up to e.
    let low = previous;
    let high = sorted.length;
    const edge = edges[e] as number;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if ((sorted[middle] as number) <= edge) low = middle + 1;
      else high = middle;
    }
    counts[e] = low - previous;
    previous = low;
  }
  counts[edges.length] = sorted.length - previous;
  return counts;
}

/**
 * `binCounts` by the top 16 bits of each value's sort key (the radix sort's: ordered as the
 * numbers are). A prefix shared by no edge lies wholly between two edges, so its bin is known
 * without a comparison; only values whose prefix holds an edge are compared with the edges. The
 * prefixes of zero (−0 and +0 are equal but differ) and of infinities and NaNs are always
 * compared, so every value gets the bin the scan gives it.
 */
function binCountsByPrefix(values: Float64Array, edges: Float64Array): Float64Array {
  const k = edges.length;
  const table = prefixBins(edges);
  const counts = new Float64Array(k + 1);
  const words = new Uint32Array(values.buffer, values.byteOffset, 2 * values.length);
  for (let i = 0; i < values.length; i++) {
    const high = words[2 * i + 1] as number;
    let bin = table[(high ^ ((high >> 31) | 0x80000000)) >>> (32 - PREFIX_BITS)] as number;
    if (bin < 0) bin = binOf(edges, values[i] as number);
    counts[bin] = (counts[bin] as number) + 1;
  }
  return counts;
}

/** Each key prefix's bin, or −1 where values must be compared with the edges. */
function prefixBins(edges: Float64Array): Int32Array {
  const size = 1 << PREFIX_BITS;
  const table = new Int32Array(size);
  const high = new Uint32Array(2);
  const bits = new Float64Array(high.buffer);
  const prefixOf = (value: number): number => {
    bits[0] = value;
    const h = high[1] as number;
    return (h ^ ((h >> 31) | 0x80000000)) >>> (32 - PREFIX_BITS);
  };
  // Edges ascend, so their prefixes do: the bin of an edge-free prefix is the number of edges below it.
  let below = 0;
  let e = 0;
  for (let prefix = 0; prefix < size; prefix++) {
    let holdsEdge = false;
    while (e < edges.length && prefixOf(edges[e] as number) === prefix) {
      holdsEdge = true;
      e++;
    }
    table[prefix] = holdsEdge ? -1 : below;
    below = e;
  }
  // Zeros of both signs, and the prefixes of ±Infinity and NaN (exponent all ones).
  table[prefixOf(0)] = -1;
  table[prefixOf(-0)] = -1;
  for (let prefix = prefixOf(Number.POSITIVE_INFINITY); prefix < size; prefix++) table[prefix] = -1;
  for (let prefix = 0; prefix <= prefixOf(Number.NEGATIVE_INFINITY); prefix++) table[prefix] = -1;
  return table;
}
