import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ColumnSample } from "../../src/core/drift/detect.js";
import { InputError } from "../../src/core/errors.js";
import { parseDecimalBytes } from "../../src/monitoring/column-builder.js";
import { parseDataset, readDataset } from "../../src/monitoring/dataset-reader.js";
import { tempDir } from "../support/process.js";

const plain = (sample: ColumnSample | undefined) =>
  sample?.kind === "numeric"
    ? { numeric: [...sample.values] }
    : { categorical: Object.fromEntries(sample?.counts ?? []) };

describe("the dataset reader", () => {
  let dir: ReturnType<typeof tempDir>;
  const file = (name: string, text: string) => {
    const path = join(dir.path, name);
    writeFileSync(path, text);
    return path;
  };
  beforeAll(() => {
    dir = tempDir();
  });
  afterAll(() => dir.remove());

  const rfc4180 =
    '\uFEFFid,"na""me",score\r\n1,"a, ""quoted""\r\nvalue",2.5\r\n2,plain,\r\n3,"",-1e3\r\n,x,"7"';

  it("reads RFC 4180 CSV the same whatever the chunk size: quotes, escapes, newlines in fields, CRLF, a BOM", async () => {
    const path = file("rfc.csv", rfc4180);
    const whole = await readDataset(path);
    expect(whole.header).toEqual(["id", 'na"me', "score"]);
    expect(plain(whole.data.get("id"))).toEqual({ numeric: [1, 2, 3] });
    expect(plain(whole.data.get('na"me'))).toEqual({
      categorical: { 'a, "quoted"\r\nvalue': 1, plain: 1, x: 1 },
    });
    expect(plain(whole.data.get("score"))).toEqual({ numeric: [2.5, -1000, 7] });
    for (let chunkSize = 1; chunkSize <= 17; chunkSize++) {
      const chunked = await readDataset(path, { chunkSize });
      expect([...chunked.data].map(([k, v]) => [k, plain(v)])).toEqual(
        [...whole.data].map(([k, v]) => [k, plain(v)]),
      );
    }
  });

  it("reads records without quotes (the fast path) as records with them: blank lines, a lone CR, CRLF, a quote inside a field", async () => {
    const text = 'k,v\na,1\n\nb,2\rc,3\r\nx"y,4\n"q\nr",5\nd,6\n\r\ne,\n,7\nf,8';
    const path = file("plain.csv", text);
    const expected = [
      ["k", { categorical: { a: 1, b: 1, c: 1, 'x"y': 1, "q\nr": 1, d: 1, e: 1, f: 1 } }],
      ["v", { numeric: [1, 2, 3, 4, 5, 6, 7, 8] }],
    ];
    for (let chunkSize = 1; chunkSize <= text.length + 1; chunkSize++) {
      const read = await readDataset(path, { chunkSize });
      expect([...read.data].map(([k, v]) => [k, plain(v)])).toEqual(expected);
    }
    await expect(readDataset(file("late.csv", 'a,b\n"x\ny",1\n2,3\n4\n'))).rejects.toThrow(
      /late\.csv:5: 1 fields where the header has 2/,
    );
  });

  it("reads JSON Lines: nulls are missing, strings and booleans are categories, keys in order of appearance", async () => {
    const path = file("rows.jsonl", '{"a": 1, "b": "x"}\n\n{"b": null, "a": 2.5, "c": true}\n{"a": null}');
    const read = await readDataset(path, { chunkSize: 5 });
    expect(read.format).toBe("jsonl");
    expect(read.header).toEqual(["a", "b", "c"]);
    expect(plain(read.data.get("a"))).toEqual({ numeric: [1, 2.5] });
    expect(plain(read.data.get("b"))).toEqual({ categorical: { x: 1 } });
    expect(plain(read.data.get("c"))).toEqual({ categorical: { true: 1 } });
  });

  it("reads a body in memory exactly as the same bytes from a file, and names the body in errors", async () => {
    const jsonl = '{"a": 1, "b": "x"}\n\n{"b": null, "a": 2.5, "c": true}\n{"a": null}';
    for (const [name, text, format] of [
      ["rfc.csv", rfc4180, "csv"],
      ["plain.csv", 'k,v\na,1\n\nb,2\rc,3\r\nx"y,4\n"q\nr",5\nd,6\n\r\ne,\n,7\nf,8', "csv"],
      ["rows.jsonl", jsonl, "jsonl"],
      ["short.csv", "a\n", "csv"],
    ] as const) {
      const fromFile = await readDataset(file(name, text));
      const fromMemory = parseDataset(Buffer.from(text), format, "the body");
      expect(fromMemory.header, name).toEqual(fromFile.header);
      expect(
        [...fromMemory.data].map(([k, v]) => [k, plain(v)]),
        name,
      ).toEqual([...fromFile.data].map(([k, v]) => [k, plain(v)]));
    }
    expect(() => parseDataset(Buffer.from('a,b\n"x\ny",1\n2,3\n4\n'), "csv", "the body")).toThrow(
      /^the body:5: 1 fields where the header has 2$/,
    );
    expect(() => parseDataset(Buffer.from('{"a": 1}\n{a}\n'), "jsonl", "the body")).toThrow(
      /^the body:2: not valid JSON$/,
    );
    expect(() => parseDataset(Buffer.alloc(0), "csv", "the body")).toThrow(InputError);
  });

  it("detects the format from the content when the extension says nothing", async () => {
    expect((await readDataset(file("rows.txt", '{"a": 1}\n'))).format).toBe("jsonl");
    expect((await readDataset(file("table.txt", "a\n1\n"))).format).toBe("csv");
  });

  it("a column turns categorical at its first non-number, counting the earlier numbers by their shortest form", async () => {
    const read = await readDataset(file("mixed.csv", "code\n1.0\n1\n007\nA12\n"));
    expect(plain(read.data.get("code"))).toEqual({ categorical: { "1": 2, "7": 1, A12: 1 } });
  });

  it("--columns limits what is collected, --kind forces a kind, and a forced number refuses text with its line", async () => {
    const path = file("kinds.csv", "a,b\n1,2\n3,x\n");
    const read = await readDataset(path, { columns: ["a"], kinds: new Map([["a", "categorical"]]) });
    expect([...read.data.keys()]).toEqual(["a"]);
    expect(plain(read.data.get("a"))).toEqual({ categorical: { "1": 1, "3": 1 } });
    await expect(readDataset(path, { kinds: new Map([["b", "numeric"]]) })).rejects.toThrow(
      /kinds\.csv:3: column "b" is numeric \(--kind\) but holds "x"/,
    );
  });

  it.each([
    ["ragged.csv", "a,b\n1,2\n3\n", /ragged\.csv:3: 1 fields where the header has 2/],
    ["open.csv", 'a\n"never closed\n', /open\.csv:2: a quoted field is not closed/],
    ["after.csv", 'a\n"x"y\n', /after\.csv:2: text after a closing quote/],
    ["twice.csv", "a,a\n1,2\n", /twice\.csv:1: the header names column "a" twice/],
    ["empty.csv", "", /empty\.csv: no data/],
    ["array.jsonl", '{"a": 1}\n[1]\n', /array\.jsonl:2: not a JSON object/],
  ])("refuses %s with the file and line", async (name, text, message) => {
    const failure = readDataset(file(name, text));
    await expect(failure).rejects.toThrow(InputError);
    await expect(failure).rejects.toThrow(message);
  });

  it("reads numbers from bytes exactly as Number() does, hex and Infinity excepted", () => {
    const bytes = (text: string) => Buffer.from(text, "latin1");
    let seed = 12345;
    const random = () => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed / 2147483648;
    };
    for (let i = 0; i < 20000; i++) {
      const value = (random() - 0.5) * 10 ** Math.floor(random() * 30 - 15);
      for (const text of [String(value), value.toFixed(6), value.toPrecision(17), value.toExponential(3)]) {
        const b = bytes(text);
        expect(parseDecimalBytes(b, 0, b.length), text).toBe(Number(text));
      }
    }
    for (const text of ["0x1A", "Infinity", "NaN", "1e", "--1", "", ".", "1.2.3"]) {
      const b = bytes(text);
      expect(parseDecimalBytes(b, 0, b.length), text).toBeNaN();
    }
  });
});
