import { writeFileSync } from "node:fs";
import { join } from "node:path";
import fc, { type Arbitrary } from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Io } from "../../src/cli/io.js";
import { main } from "../../src/cli/main.js";
import { InputError } from "../../src/core/errors.js";
import { parseDataset, readDataset } from "../../src/monitoring/dataset-reader.js";
import { runTenure, tempDir } from "../support/process.js";
import { mangledText, NASTY_VALUES } from "../support/schema-arbitrary.js";

/*
 * Drift inputs, generated and broken: CSV and JSON Lines of every shape (quotes, CRLF, BOMs,
 * ragged rows, numbers at the edges of a double, unicode, nulls, nested values, prototype keys)
 * then cut and flipped at the byte level. The reader either returns columns or throws an
 * InputError naming the file; the same bytes read whole, in 7-byte chunks or from memory give
 * the same answer; and `tenure drift` on them exits 0 or 2 with one line, never a stack trace.
 */

const SEED = Number(process.env.FUZZ_SEED ?? 0x19fa);

const cells: Arbitrary<string> = fc.oneof(
  { weight: 4, arbitrary: fc.double().map(String) },
  { weight: 3, arbitrary: fc.integer().map(String) },
  {
    weight: 2,
    arbitrary: fc.constantFrom(
      "",
      "NaN",
      "Infinity",
      "-Infinity",
      "1e309",
      "-0",
      "0x1F",
      "1_000",
      "１２",
      "9".repeat(400),
      "1e-400",
      ".5",
      "5.",
      "+1",
      "\u0000",
      "__proto__",
      "constructor",
      "😀",
      "\ud800",
    ),
  },
  { weight: 2, arbitrary: fc.string({ unit: "grapheme", maxLength: 12 }) },
);

function csvCell(text: string, quote: boolean): string {
  return quote || /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

const headers = fc.uniqueArray(
  fc.oneof(
    fc.constantFrom("amount", "country", "__proto__", "constructor", "", "a b", "é"),
    fc.string({ maxLength: 6 }),
  ),
  { minLength: 1, maxLength: 5 },
);

const csvTexts: Arbitrary<string> = fc
  .tuple(
    headers,
    fc.array(fc.array(fc.tuple(cells, fc.boolean()), { maxLength: 6 }), { maxLength: 30 }),
    fc.constantFrom("\n", "\r\n", "\r"),
    fc.boolean(),
  )
  .map(([header, rows, newline, bom]) => {
    const lines = [
      header.map((h) => csvCell(h, false)),
      ...rows.map((r) => r.map(([c, q]) => csvCell(c, q))),
    ];
    return `${bom ? "\uFEFF" : ""}${lines.map((l) => l.join(",")).join(newline)}`;
  });

const jsonlTexts: Arbitrary<string> = fc
  .tuple(
    headers,
    fc.array(fc.array(fc.oneof(cells, NASTY_VALUES), { maxLength: 6 }), { maxLength: 30 }),
    fc.constantFrom("\n", "\r\n"),
  )
  .map(([header, rows, newline]) =>
    rows
      .map((row) => {
        // Keys written by hand: `__proto__` must reach the reader as a key, as a file would hold it.
        const fields = header.map(
          (h, i) => `${JSON.stringify(h)}:${JSON.stringify(row[i] ?? null) ?? "null"}`,
        );
        return `{${fields.join(",")}}`;
      })
      .join(newline),
  );

const files: Arbitrary<{ format: "csv" | "jsonl"; bytes: Buffer }> = fc
  .oneof(
    { weight: 3, arbitrary: csvTexts.map((t) => ({ format: "csv" as const, text: t })) },
    { weight: 3, arbitrary: jsonlTexts.map((t) => ({ format: "jsonl" as const, text: t })) },
    { weight: 2, arbitrary: mangledText(csvTexts).map((t) => ({ format: "csv" as const, text: t })) },
    { weight: 2, arbitrary: mangledText(jsonlTexts).map((t) => ({ format: "jsonl" as const, text: t })) },
    {
      weight: 1,
      arbitrary: fc
        .tuple(fc.constantFrom("csv" as const, "jsonl" as const), fc.uint8Array({ maxLength: 300 }))
        .map(([format, bytes]) => ({ format, bytes: Buffer.from(bytes) })),
    },
  )
  .map((f) => ("bytes" in f ? f : { format: f.format, bytes: Buffer.from(f.text, "utf8") }));

type Outcome = { columns: string } | { refused: string };

/** A read as comparable data: its columns and values, or the InputError's message. Anything else throws. */
async function outcomeOf(
  read: () => Promise<{ header: string[]; data: ReadonlyMap<string, unknown> }>,
): Promise<Outcome> {
  try {
    const file = await read();
    return {
      columns: JSON.stringify([file.header, [...file.data]], (_k, v) =>
        v instanceof Map ? [...v] : ArrayBuffer.isView(v) ? [...(v as Float64Array)] : v,
      ),
    };
  } catch (error) {
    if (error instanceof InputError) return { refused: error.message };
    throw error;
  }
}

describe("CSV and JSON Lines files, generated and mutated", () => {
  let dir: ReturnType<typeof tempDir>;
  beforeAll(() => {
    dir = tempDir();
  });
  afterAll(() => dir.remove());

  it("read to columns or refused with an InputError naming the file, the same from disk in any chunk size and from memory", async () => {
    let n = 0;
    const seen = { read: 0, refused: 0 };
    await fc.assert(
      fc.asyncProperty(files, async ({ format, bytes }) => {
        const path = join(dir.path, `f${n++}.${format}`);
        writeFileSync(path, bytes);
        const whole = await outcomeOf(() => readDataset(path));
        const chunked = await outcomeOf(() => readDataset(path, { chunkSize: 7 }));
        const memory = await outcomeOf(async () => parseDataset(bytes, format, path));
        expect(chunked).toEqual(whole);
        expect(memory).toEqual(whole);
        if ("refused" in whole) expect(whole.refused.startsWith(path)).toBe(true);
        seen["refused" in whole ? "refused" : "read"]++;
      }),
      { numRuns: 300, seed: SEED },
    );
    // Both outcomes were met: the generator makes readable files as well as broken ones.
    expect(seen.read).toBeGreaterThan(50);
    expect(seen.refused).toBeGreaterThan(50);
  });

  it("make `tenure drift` exit 0 or 2 with one line on stderr, never a crash", async () => {
    let n = 0;
    await fc.assert(
      fc.asyncProperty(files, files, async (reference, current) => {
        const paths = [reference, current].map((f, i) => {
          const path = join(dir.path, `d${n}-${i}.${f.format}`);
          writeFileSync(path, f.bytes);
          return path;
        });
        n++;
        const err: string[] = [];
        const io: Io = { out: () => {}, err: (t) => void err.push(t), env: {} };
        const code = await main(["node", "tenure", "drift", ...paths, "--json"], io);
        expect([0, 2], err.join("")).toContain(code);
        if (code === 2) {
          expect(err.join("")).toMatch(/^tenure: [^\n]*\n$/);
        }
      }),
      { numRuns: 150, seed: SEED },
    );
  });

  it("as a process, `tenure drift` on a cut JSON Lines file and on binary bytes exits 2 with one line", async () => {
    const cut = join(dir.path, "cut.jsonl");
    writeFileSync(cut, '{"amount": 1}\n{"amount": 2, "country": "fr"\n');
    const binary = join(dir.path, "binary.csv");
    writeFileSync(binary, Buffer.from([0xff, 0xfe, 0x00, 0x22, 0x0a, 0x22, 0x2c, 0x0d]));
    for (const [reference, current] of [
      [cut, cut],
      [binary, cut],
    ]) {
      const result = await runTenure(["drift", reference as string, current as string], { cwd: dir.path });
      expect(result.code, result.stderr).toBe(2);
      expect(result.stderr).toMatch(/^tenure: [^\n]*\n$/);
      expect(result.stderr).not.toMatch(/\bat .*\.js:\d+/);
    }
  });
});
