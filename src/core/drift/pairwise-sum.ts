/**
 * numpy's `np.sum` of a float64 array, in numpy's own order (pairwise summation with an
 * 8-way unrolled block of up to 128 values, numpy/_core/src/umath/loops_utils.h.src), so that
 * sums over bins and categories agree with SciPy's to the last bit rather than to a few ulps.
 */

const BLOCK = 128;

/** The sum of `values[start..start+n)` exactly as numpy's `pairwise_sum_DOUBLE` adds them. */
function pairwise(values: ArrayLike<number>, start: number, n: number): number {
  if (n < 8) {
    let sum = 0;
    for (let i = 0; i < n; i++) sum += values[start + i] as number;
    return sum;
  }
  if (n <= BLOCK) {
    // Eight running sums in locals rather than an array: this runs for every histogram, and a
    // fresh array per call cost more than the additions.
    let r0 = values[start] as number;
    let r1 = values[start + 1] as number;
    let r2 = values[start + 2] as number;
    let r3 = values[start + 3] as number;
    let r4 = values[start + 4] as number;
    let r5 = values[start + 5] as number;
    let r6 = values[start + 6] as number;
    let r7 = values[start + 7] as number;
    let i = 8;
    for (; i < n - (n % 8); i += 8) {
      const at = start + i;
      r0 += values[at] as number;
      r1 += values[at + 1] as number;
      r2 += values[at + 2] as number;
      r3 += values[at + 3] as number;
      r4 += values[at + 4] as number;
      r5 += values[at + 5] as number;
      r6 += values[at + 6] as number;
      r7 += values[at + 7] as number;
    }
    // ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7)), as numpy groups them.
    let sum = r0 + r1 + (r2 + r3) + (r4 + r5 + (r6 + r7));
    for (; i < n; i++) sum += values[start + i] as number;
    return sum;
  }
  let half = Math.floor(n / 2);
  half -= half % 8;
  return pairwise(values, start, half) + pairwise(values, start + half, n - half);
}

/** The sum of the values as `numpy.sum` computes it for a contiguous float64 array. */
export function numpySum(values: ArrayLike<number>): number {
  return pairwise(values, 0, values.length);
}
