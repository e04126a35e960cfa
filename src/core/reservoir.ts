/**
 * Bounded samples of a stream (reservoir sampling, Vitter's Algorithm R): after `seen` values a
 * reservoir of capacity k holds each of them with probability k / seen, whatever the traffic.
 * The random choices come from a seeded generator, so the same batches give the same sample.
 */

/** mulberry32: small, fast and good enough to choose which values a reservoir keeps. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let z = state;
    z = Math.imul(z ^ (z >>> 15), z | 1);
    z ^= z + Math.imul(z ^ (z >>> 7), z | 61);
    return ((z ^ (z >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/** Standard normal draws by the Box–Muller transform, from seededRandom's stream. */
export function seededNormal(seed: number): () => number {
  const uniform = seededRandom(seed);
  return () => Math.sqrt(-2 * Math.log(1 - uniform())) * Math.cos(2 * Math.PI * uniform());
}

/** A 32-bit FNV-1a hash of a string: a seed that depends on what is sampled. */
export function hashSeed(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}

/**
 * Adds `values` to a reservoir that has seen `seen` values, keeping at most `capacity`;
 * returns the new reservoir (the input is not changed) and the new count seen.
 */
export function addToReservoir<T>(
  reservoir: readonly T[],
  seen: number,
  values: readonly T[],
  capacity: number,
  random: () => number,
): { reservoir: T[]; seen: number } {
  const kept = reservoir.slice(0, capacity);
  let count = seen;
  for (const value of values) {
    count++;
    if (kept.length < capacity) kept.push(value);
    else {
      const slot = Math.floor(random() * count);
      if (slot < capacity) kept[slot] = value;
    }
  }
  return { reservoir: kept, seen: count };
}

/**
 * Category counts bounded to `capacity` distinct categories: once full, new categories count
 * under `other`. Counts are exact for the categories kept.
 */
export function addToCounts(
  counts: Readonly<Record<string, number>>,
  values: readonly string[],
  capacity: number,
  other = "__other__",
): Record<string, number> {
  const next: Record<string, number> = { ...counts };
  let distinct = Object.keys(next).length;
  for (const value of values) {
    if (next[value] !== undefined) next[value] += 1;
    else if (distinct < capacity) {
      next[value] = 1;
      distinct++;
    } else next[other] = (next[other] ?? 0) + 1;
  }
  return next;
}
