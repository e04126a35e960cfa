/**
 * Counts categories met as raw CSV bytes without making a string of each: a string is made only
 * for a category's first field. Making a string per field and counting it in a Map was most of
 * the cost of reading categorical columns.
 *
 * A field of at most 7 bytes (most category labels) is its own key: its bytes and length packed
 * into two integers, so a lookup is one multiplicative hash and two integer comparisons, with no
 * loop over the bytes. A longer field is found by an FNV-1a hash of its bytes, then compared
 * byte by byte. Both tables use open addressing over a power-of-two number of slots, grown at
 * half full.
 */
export class CategoryCounter {
  // Short fields: `high` holds the length in its top byte, so 0 marks an empty slot.
  private shortLow = new Int32Array(64);
  private shortHigh = new Int32Array(64);
  private shortCounts = new Float64Array(64);
  private shortKeys: (string | undefined)[] = new Array(64);
  private shortShift = 32 - 6;
  private shortUsed = 0;
  private long: (LongCategory | undefined)[] = new Array(64);
  private longUsed = 0;

  /** Counts the field held by `bytes[start, end)`, not empty. */
  add(bytes: Uint8Array, start: number, end: number): void {
    const length = end - start;
    if (length > SHORT_BYTES) {
      this.addLong(bytes, start, end);
      return;
    }
    const split = length < 4 ? end : start + 4;
    let low = 0;
    for (let i = start; i < split; i++) low = (low << 8) | (bytes[i] as number);
    let rest = 0;
    for (let i = split; i < end; i++) rest = (rest << 8) | (bytes[i] as number);
    const high = (length << 24) | rest;
    const mask = this.shortLow.length - 1;
    // Fibonacci hashing (Knuth, TAOCP vol. 3, 6.4): the product's top bits pick the slot.
    let slot = Math.imul(low ^ Math.imul(high, 0x85ebca6b), 0x9e3779b1) >>> this.shortShift;
    for (;;) {
      const h = this.shortHigh[slot] as number;
      if (h === 0) break;
      if (h === high && this.shortLow[slot] === low) {
        this.shortCounts[slot] = (this.shortCounts[slot] as number) + 1;
        return;
      }
      slot = (slot + 1) & mask;
    }
    const key = textOf(bytes, start, end);
    if ((this.shortUsed + 1) * 2 > this.shortLow.length) {
      this.growShort();
      this.placeShort(low, high, 1, key);
    } else {
      this.shortLow[slot] = low;
      this.shortHigh[slot] = high;
      this.shortCounts[slot] = 1;
      this.shortKeys[slot] = key;
    }
    this.shortUsed++;
  }

  /** Adds every category's count to `counts`, under its text. */
  addTo(counts: Map<string, number>): void {
    for (let slot = 0; slot < this.shortHigh.length; slot++) {
      const key = this.shortKeys[slot];
      if (key !== undefined) counts.set(key, (counts.get(key) ?? 0) + (this.shortCounts[slot] as number));
    }
    for (const category of this.long) {
      if (category) counts.set(category.key, (counts.get(category.key) ?? 0) + category.count);
    }
  }

  private growShort(): void {
    const low = this.shortLow;
    const high = this.shortHigh;
    const counts = this.shortCounts;
    const keys = this.shortKeys;
    const size = low.length * 2;
    this.shortLow = new Int32Array(size);
    this.shortHigh = new Int32Array(size);
    this.shortCounts = new Float64Array(size);
    this.shortKeys = new Array(size);
    this.shortShift--;
    for (let slot = 0; slot < low.length; slot++) {
      if (high[slot] !== 0)
        this.placeShort(
          low[slot] as number,
          high[slot] as number,
          counts[slot] as number,
          keys[slot] as string,
        );
    }
  }

  private placeShort(low: number, high: number, count: number, key: string): void {
    const mask = this.shortLow.length - 1;
    let slot = Math.imul(low ^ Math.imul(high, 0x85ebca6b), 0x9e3779b1) >>> this.shortShift;
    while (this.shortHigh[slot] !== 0) slot = (slot + 1) & mask;
    this.shortLow[slot] = low;
    this.shortHigh[slot] = high;
    this.shortCounts[slot] = count;
    this.shortKeys[slot] = key;
  }

  private addLong(bytes: Uint8Array, start: number, end: number): void {
    let hash = 0x811c9dc5;
    for (let i = start; i < end; i++) hash = Math.imul(hash ^ (bytes[i] as number), 0x01000193);
    const mask = this.long.length - 1;
    for (let slot = hash & mask; ; slot = (slot + 1) & mask) {
      const category = this.long[slot];
      if (category === undefined) break;
      if (category.hash === hash && sameBytes(category.bytes, bytes, start, end)) {
        category.count++;
        return;
      }
    }
    const copy = Uint8Array.prototype.slice.call(bytes, start, end);
    const category = { hash, bytes: copy, key: textOf(copy, 0, copy.length), count: 1 };
    if ((this.longUsed + 1) * 2 > this.long.length) {
      const old = this.long;
      this.long = new Array(old.length * 2);
      for (const c of old) if (c !== undefined) this.placeLong(c);
    }
    this.placeLong(category);
    this.longUsed++;
  }

  private placeLong(category: LongCategory): void {
    const mask = this.long.length - 1;
    let slot = category.hash & mask;
    while (this.long[slot] !== undefined) slot = (slot + 1) & mask;
    this.long[slot] = category;
  }
}

/** Fields up to this many bytes are keyed by their bytes: 4 in one integer, 3 and the length in another. */
const SHORT_BYTES = 7;

interface LongCategory {
  hash: number;
  bytes: Uint8Array;
  key: string;
  count: number;
}

function textOf(bytes: Uint8Array, start: number, end: number): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset + start, end - start).toString("utf8");
}

function sameBytes(a: Uint8Array, b: Uint8Array, start: number, end: number): boolean {
  if (a.length !== end - start) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[start + i]) return false;
  return true;
}
