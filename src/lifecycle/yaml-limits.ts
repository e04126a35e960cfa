import type { parseDocument } from "yaml";

/**
 * The limits a policy file's YAML is read within: the yaml library recurses and expands aliases,
 * so a small hostile file could overflow the stack or the heap before any schema sees it.
 */

/** Policy files nest a few levels; this many is far beyond any, and far within the stack. */
const MAX_NESTING = 100;

/**
 * Where the text nests deeper than MAX_NESTING, or null. The yaml library parses recursively: a
 * few KB of `- - - …` or `[[[…` overflow the stack, and V8 compiling a regular expression on a
 * nearly exhausted stack aborts the whole process ("RegExpCompiler Allocation failed"), which no
 * catch can stop. So depth is bounded before the library sees the text: block nesting by a line's
 * indentation plus its leading `- `, `? ` and `: ` indicators, flow nesting by open brackets
 * outside quotes. Both overestimate, which only refuses files no one writes.
 */
export function tooDeepAt(text: string): { line: number; column: number; message: string } | null {
  const tooDeep = (line: number, column: number) => ({
    line,
    column,
    message: `the file nests deeper than ${MAX_NESTING} levels`,
  });
  let flow = 0;
  let quote: string | null = null;
  let line = 1;
  let lineStart = 0;
  let block = 0;
  let indenting = true;
  let previous = "\n";
  for (let i = 0; i < text.length; i++) {
    const c = text[i] as string;
    if (c === "\n") {
      line++;
      lineStart = i + 1;
      block = 0;
      indenting = true;
      previous = c;
      continue;
    }
    if (indenting && quote === null) {
      const indicator = (c === "-" || c === "?" || c === ":") && /\s/.test(text[i + 1] ?? " ");
      if (c === " " || c === "\t" || indicator) {
        if (++block > MAX_NESTING) return tooDeep(line, i - lineStart + 1);
        continue;
      }
      indenting = false;
    }
    if (quote !== null) {
      if (c === "\\" && quote === '"') i++;
      else if (c === quote) quote = null;
    } else if ((c === '"' || c === "'") && /[\s:\-[{,?]/.test(previous)) {
      // A quote opens a quoted scalar only where a scalar starts; `don't` in plain text is text.
      quote = c;
    } else if (c === "#" && /\s/.test(previous)) {
      const end = text.indexOf("\n", i);
      if (end < 0) break;
      i = end - 1;
    } else if (c === "[" || c === "{") {
      if (++flow > MAX_NESTING) return tooDeep(line, i - lineStart + 1);
    } else if ((c === "]" || c === "}") && flow > 0) {
      flow--;
    }
    previous = c;
  }
  return null;
}

/**
 * The document as plain data. A few aliases that refer to each other expand exponentially (the
 * "billion laughs"): the yaml library refuses past its alias count and throws, as it does for
 * nesting deeper than the stack, and either is a file to refuse, not a fault of the reader.
 */
export function dataOf(
  document: ReturnType<typeof parseDocument>,
): { ok: true; value: unknown } | { ok: false; message: string } {
  try {
    return { ok: true, value: document.toJS({ maxAliasCount: 100 }) };
  } catch (error) {
    const reason = error instanceof RangeError ? "it is nested too deeply" : (error as Error).message;
    return { ok: false, message: `the file cannot be read as data: ${reason}` };
  }
}
