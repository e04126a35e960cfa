import { describe, expect, it } from "vitest";
import { seededRandom } from "../reservoir.js";
import { radixScratch, sortFloat64 } from "./radix-sort.js";

/** Values with both signs, ties, zeros of both signs and a wide range of exponents. */
function awkwardValues(n: number, seed: number): Float64Array {
  const random = seededRandom(seed);
  return Float64Array.from({ length: n }, (_, i) => {
    if (i % 97 === 0) return i % 2 === 0 ? 0 : -0;
    if (i % 31 === 0) return 1.5;
    const magnitude = 10 ** Math.floor(random() * 40 - 20);
    return (random() - 0.5) * magnitude;
  });
}

describe("radix sort of doubles", () => {
  it("orders as Float64Array.prototype.sort does, −0 before +0", () => {
    const values = awkwardValues(20_000, 1);
    const expected = values.slice().sort();
    const sorted = sortFloat64(values);
    expect(sorted).toBe(values);
    expect(Array.from(sorted)).toEqual(Array.from(expected));
    const negativeZeros = (array: Float64Array) => Array.from(array, (v) => Object.is(v, -0));
    expect(negativeZeros(sorted)).toEqual(negativeZeros(expected));
  });

  it("two arrays of different sizes sorted with one shared scratch buffer each sort correctly", () => {
    const a = awkwardValues(30_000, 2);
    const b = awkwardValues(12_000, 3);
    const expectedA = a.slice().sort();
    const expectedB = b.slice().sort();
    const scratch = radixScratch(Math.max(a.length, b.length));
    expect(Array.from(sortFloat64(a, scratch))).toEqual(Array.from(expectedA));
    expect(Array.from(sortFloat64(b, scratch))).toEqual(Array.from(expectedB));
  });

  it("a scratch buffer too small for the array is not used, and the sort is still right", () => {
    const values = awkwardValues(10_000, 4);
    const expected = values.slice().sort();
    expect(Array.from(sortFloat64(values, radixScratch(5_000)))).toEqual(Array.from(expected));
  });
});
