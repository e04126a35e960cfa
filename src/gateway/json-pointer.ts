/**
 * Reading one value out of a JSON document by an RFC 6901 JSON pointer (`/prediction`,
 * `/outputs/0/label`, `` for the whole document), the way the shadow finds each side's
 * prediction in its answer.
 */

/** The pointer split into reference tokens; throws on one that does not start with `/`. */
export function parsePointer(pointer: string): string[] {
  if (pointer === "") return [];
  if (!pointer.startsWith("/"))
    throw new Error(`a JSON pointer is empty or starts with "/", got "${pointer}"`);
  // RFC 6901 §4: ~1 becomes / before ~0 becomes ~, so "~01" is "~1", never "/".
  return pointer
    .slice(1)
    .split("/")
    .map((token) => token.replaceAll("~1", "/").replaceAll("~0", "~"));
}

/** The value the tokens point at, or undefined when there is none. */
export function resolvePointer(document: unknown, tokens: readonly string[]): unknown {
  let current: unknown = document;
  for (const token of tokens) {
    if (Array.isArray(current)) {
      // §4: an array index is 0 or digits without a leading zero.
      if (!/^(0|[1-9][0-9]*)$/.test(token)) return undefined;
      current = current[Number(token)];
    } else if (current !== null && typeof current === "object" && Object.hasOwn(current, token)) {
      current = (current as Record<string, unknown>)[token];
    } else {
      return undefined;
    }
  }
  return current;
}
