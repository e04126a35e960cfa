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
    const r = new Float64Array(8);
    for (let j = 0; j < 8; j++) r[j] = values[start + j] as number;
    let i = 8;
    for (; i < n - (n % 8); i += 8) {
      for (let j = 0; j < 8; j++) r[j] = (r[j] as number) + (values[start + i + j] as number);
    }
    const at = (k: number) => r[k] as number;
    // ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7)), as numpy groups them.
    let sum = at(0) + at(1) + (at(2) + at(3)) + (at(4) + at(5) + (at(6) + at(7)));
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
