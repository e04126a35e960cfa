import { describe, expect, it } from "vitest";
import { ColumnBuilder } from "../../src/monitoring/column-builder.js";

describe("ColumnBuilder", () => {
  it("counts categories met as raw bytes exactly, across table growth and with quoted fields of the same text", () => {
    const builder = new ColumnBuilder("c", "categorical");
    const expected = new Map<string, number>();
    for (let round = 0; round < 3; round++) {
      for (let i = 0; i < 5000; i++) {
        const text = `cat-${i % 1700}-é`;
        const bytes = Buffer.from(`xx${text}yy`);
        if (i % 7 === 0) builder.addField(text);
        else builder.addBytes(bytes, 2, bytes.length - 2);
        expected.set(text, (expected.get(text) ?? 0) + 1);
      }
    }
    const sample = builder.finish();
    expect(sample.kind).toBe("categorical");
    if (sample.kind !== "categorical") return;
    expect(new Map([...sample.counts].sort())).toEqual(new Map([...expected].sort()));
  });

  it("counts short categories, keyed by their packed bytes, exactly: texts that differ only in length or in a zero byte stay apart", () => {
    const builder = new ColumnBuilder("c", "categorical");
    const expected = new Map<string, number>();
    const texts = [
      "a",
      "a\0",
      "\0a",
      "\0",
      "\0\0",
      "ab",
      "abc",
      "abcd",
      "abcde",
      "abcdef",
      "abcdefg",
      "é",
      "ÿÿÿ",
    ];
    for (let i = 0; i < 3000; i++) texts.push(`v${i}`, (i * 7919).toString(36).slice(0, 1 + (i % 7)));
    texts.forEach((text, i) => {
      for (let n = 0; n <= i % 3; n++) {
        const bytes = Buffer.from(`,${text},`);
        builder.addBytes(bytes, 1, bytes.length - 1);
        expected.set(text, (expected.get(text) ?? 0) + 1);
      }
    });
    const sample = builder.finish();
    expect(sample.kind).toBe("categorical");
    if (sample.kind !== "categorical") return;
    expect(new Map([...sample.counts].sort())).toEqual(new Map([...expected].sort()));
  });

  it("turns numbers read so far into categories when a field is not a number", () => {
    const builder = new ColumnBuilder("c");
    for (const text of ["1", "2", "1", "a", "a"]) {
      const bytes = Buffer.from(text);
      builder.addBytes(bytes, 0, bytes.length);
    }
    const sample = builder.finish();
    expect(sample).toEqual({
      kind: "categorical",
      counts: new Map([
        ["1", 2],
        ["2", 1],
        ["a", 2],
      ]),
    });
  });
});
