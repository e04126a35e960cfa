/**
 * An LSD radix sort for Float64Array: the same ascending order as `Float64Array.prototype.sort`
 * (−0 before +0; NaN is not expected), faster on large columns (see BENCHMARKS.md). Each double's
 * bits are mapped to an unsigned key that orders like the number (negative numbers have every bit
 * flipped, others only the sign bit; Herf 2001, "Radix Tricks"), then sorted 16 bits at a time
 * over 32-bit halves, so no NaN pattern ever passes through a float register.
 */

const DIGIT_BITS = 16;
const BUCKETS = 1 << DIGIT_BITS;
/** Below this size the built-in sort wins. */
const SMALL = 4096;

/**
 * Working room for sorting arrays of up to `n` values with `sortFloat64`: a caller that sorts
 * several arrays passes one, so that each sort does not leave behind a buffer half the size of
 * its array (8 MB for a million values) for the garbage collector to free some time later.
 */
export function radixScratch(n: number): Uint32Array {
  return new Uint32Array(n < SMALL ? 0 : 2 * n);
}

/** Sorts the array in place, ascending, and returns it; `scratch` is from `radixScratch`. */
export function sortFloat64(values: Float64Array, scratch?: Uint32Array): Float64Array {
  const n = values.length;
  if (n < SMALL) return values.sort();
  const words = new Uint32Array(values.buffer, values.byteOffset, n * 2);
  toKeys(words);
  const counts = histograms(words, n);
  let source: Uint32Array = words;
  let target: Uint32Array =
    scratch !== undefined && scratch.length >= 2 * n ? scratch.subarray(0, 2 * n) : new Uint32Array(2 * n);
  for (let pass = 0; pass < 4; pass++) {
    const count = counts.subarray(pass * BUCKETS, (pass + 1) * BUCKETS);
    if (count.some((c) => c === n)) continue; // every key has the same digit here
    scatter(source, target, count, pass);
    [source, target] = [target, source];
  }
  if (source !== words) words.set(source);
  fromKeys(words);
  return values;
}

/** Little-endian: word 2i is the low half of element i, word 2i+1 the high half. */
function toKeys(words: Uint32Array): void {
  for (let i = 1; i < words.length; i += 2) {
    const high = words[i] as number;
    if (high & 0x80000000) {
      words[i] = ~high >>> 0;
      words[i - 1] = ~(words[i - 1] as number) >>> 0;
    } else words[i] = (high | 0x80000000) >>> 0;
  }
}

function fromKeys(words: Uint32Array): void {
  for (let i = 1; i < words.length; i += 2) {
    const high = words[i] as number;
    if (high & 0x80000000) words[i] = (high & 0x7fffffff) >>> 0;
    else {
      words[i] = ~high >>> 0;
      words[i - 1] = ~(words[i - 1] as number) >>> 0;
    }
  }
}

function digitOf(words: Uint32Array, element: number, pass: number): number {
  const word = words[2 * element + (pass >> 1)] as number;
  return pass & 1 ? word >>> 16 : word & 0xffff;
}

/** The four digit histograms in one read of the keys. */
function histograms(words: Uint32Array, n: number): Uint32Array {
  const counts = new Uint32Array(4 * BUCKETS);
  for (let i = 0; i < n; i++) {
    const low = words[2 * i] as number;
    const high = words[2 * i + 1] as number;
    increment(counts, low & 0xffff);
    increment(counts, BUCKETS + (low >>> 16));
    increment(counts, 2 * BUCKETS + (high & 0xffff));
    increment(counts, 3 * BUCKETS + (high >>> 16));
  }
  return counts;
}

function increment(counts: Uint32Array, index: number): void {
  counts[index] = (counts[index] as number) + 1;
}

/** One stable counting-sort pass on digit `pass`. */
function scatter(source: Uint32Array, target: Uint32Array, count: Uint32Array, pass: number): void {
  const offsets = new Uint32Array(BUCKETS);
  let sum = 0;
  for (let b = 0; b < BUCKETS; b++) {
    offsets[b] = sum;
    sum += count[b] as number;
  }
  const n = source.length / 2;
  for (let i = 0; i < n; i++) {
    const digit = digitOf(source, i, pass);
    const at = (offsets[digit] as number) * 2;
    offsets[digit] = (offsets[digit] as number) + 1;
    target[at] = source[2 * i] as number;
    target[at + 1] = source[2 * i + 1] as number;
  }
}
