import type { ColumnSample } from "../core/drift/detect.js";
import { CategoryCounter } from "./category-counter.js";

/** How a column's values are read: detected from the values, or as the `--kind` flag says. */
export type KindOverride = "numeric" | "categorical";

/** Why a value was refused; the reader adds the file and line. */
export class ValueError extends Error {
  override name = "ValueError";
}

const POW10 = [
  1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19,
  1e20, 1e21, 1e22,
];
const DECIMAL = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

/** A decimal number as text (surrounding spaces allowed), or NaN; never hex, `Infinity` or `NaN`. */
export function parseDecimal(text: string): number {
  const trimmed = text.trim();
  return DECIMAL.test(trimmed) ? Number(trimmed) : Number.NaN;
}

/**
 * A decimal number read straight from bytes, or NaN when it is not one. Up to 15 significant
 * digits and a power of ten up to 22 the result is one correctly rounded operation on two exact
 * doubles (Clinger 1990, "How to Read Floating Point Numbers Accurately"), so it equals
 * `Number(text)`; anything longer goes through `Number` itself.
 */
export function parseDecimalBytes(bytes: Uint8Array, start: number, end: number): number {
  let i = start;
  let negative = false;
  const first = bytes[i];
  if (first === 45 || first === 43) {
    negative = first === 45;
    i++;
  }
  let mantissa = 0;
  let significant = 0;
  let exponent = 0;
  let digits = 0;
  let c = bytes[i] as number;
  for (; i < end && c >= 48 && c <= 57; c = bytes[++i] as number) {
    digits++;
    if (mantissa !== 0 || c !== 48) significant++;
    mantissa = mantissa * 10 + (c - 48);
  }
  if (i < end && c === 46) {
    for (c = bytes[++i] as number; i < end && c >= 48 && c <= 57; c = bytes[++i] as number) {
      digits++;
      if (mantissa !== 0 || c !== 48) significant++;
      mantissa = mantissa * 10 + (c - 48);
      exponent--;
    }
  }
  if (digits === 0 || significant > 15) return slowPath(bytes, start, end);
  if (i < end && (c === 101 || c === 69)) {
    let sign = 1;
    c = bytes[++i] as number;
    if (c === 45 || c === 43) {
      sign = c === 45 ? -1 : 1;
      c = bytes[++i] as number;
    }
    let power = 0;
    let powerDigits = 0;
    for (; i < end && c >= 48 && c <= 57 && power < 10_000; c = bytes[++i] as number) {
      power = power * 10 + (c - 48);
      powerDigits++;
    }
    if (powerDigits === 0) return Number.NaN;
    exponent += sign * power;
  }
  if (i !== end || exponent < -22 || exponent > 22) return slowPath(bytes, start, end);
  const value =
    exponent < 0 ? mantissa / (POW10[-exponent] as number) : mantissa * (POW10[exponent] as number);
  return negative ? -value : value;
}

function slowPath(bytes: Uint8Array, start: number, end: number): number {
  return parseDecimal(Buffer.from(bytes.buffer, bytes.byteOffset + start, end - start).toString("latin1"));
}

/**
 * Collects one column's values in a single pass: numbers into a growing Float64Array while every
 * value is a number; from the first value that is not, counts per category in a Map. The numbers
 * read before that point become categories under their shortest form (so `1.0` and `1` are one).
 */
export class ColumnBuilder {
  private values = new Float64Array(1024);
  private length = 0;
  private counts: Map<string, number> | null = null;
  /** Categories met as raw CSV bytes, counted by their bytes (see CategoryCounter). */
  private byBytes = new CategoryCounter();

  constructor(
    readonly name: string,
    private readonly override?: KindOverride,
  ) {
    if (override === "categorical") this.counts = new Map();
  }

  /** A CSV field, unquoted, as bytes; an empty field is a missing value. */
  addBytes(bytes: Uint8Array, start: number, end: number): void {
    if (start === end) return;
    if (this.counts === null) {
      const value = parseDecimalBytes(bytes, start, end);
      if (!Number.isNaN(value)) {
        this.push(value);
        return;
      }
    }
    if (this.override === "numeric") {
      this.addCategory(Buffer.from(bytes.buffer, bytes.byteOffset + start, end - start).toString("utf8"));
      return;
    }
    if (this.counts === null) this.becomeCategorical();
    this.byBytes.add(bytes, start, end);
  }

  /** A CSV field that was quoted: still a number if it reads as one (RFC 4180 quoting is not typing). */
  addField(text: string): void {
    if (text === "") return;
    if (this.counts === null) {
      const value = parseDecimal(text);
      if (!Number.isNaN(value)) {
        this.push(value);
        return;
      }
    }
    this.addCategory(text);
  }

  /** A number that arrived typed (JSON Lines). */
  addNumber(value: number): void {
    if (this.counts === null) this.push(value);
    else this.count(String(value));
  }

  /** A value that is a category whatever it looks like (a JSON string), unless the column is forced numeric. */
  addCategory(text: string): void {
    if (this.override === "numeric") {
      const value = parseDecimal(text);
      if (Number.isNaN(value))
        throw new ValueError(
          `column ${JSON.stringify(this.name)} is numeric (--kind) but holds ${JSON.stringify(text)}`,
        );
      this.push(value);
      return;
    }
    if (this.counts === null) this.becomeCategorical();
    this.count(text);
  }

  /** Makes room for `rows` numbers at once, so the array is not doubled (and copied) on the way. */
  reserve(rows: number): void {
    if (this.counts !== null || rows <= this.values.length) return;
    const sized = new Float64Array(rows);
    sized.set(this.values.subarray(0, this.length));
    this.values = sized;
  }

  /** The column's values. */
  finish(): ColumnSample {
    if (this.counts !== null) {
      this.byBytes.addTo(this.counts);
      this.byBytes = new CategoryCounter();
      return { kind: "categorical", counts: this.counts };
    }
    return { kind: "numeric", values: this.values.subarray(0, this.length) };
  }

  private push(value: number): void {
    if (!Number.isFinite(value)) throw new ValueError(`column ${JSON.stringify(this.name)} holds ${value}`);
    if (this.length === this.values.length) {
      const grown = new Float64Array(this.values.length * 2);
      grown.set(this.values);
      this.values = grown;
    }
    this.values[this.length++] = value;
  }

  private count(key: string): void {
    const counts = this.counts as Map<string, number>;
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }

  private becomeCategorical(): void {
    this.counts = new Map();
    for (let i = 0; i < this.length; i++) this.count(String(this.values[i]));
    this.values = new Float64Array(0);
    this.length = 0;
  }
}
