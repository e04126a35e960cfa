import { describe, expect, it } from "vitest";
import { compactCount, formatBytes, table } from "./format.js";

describe("table", () => {
  it("pads each column to its widest cell, two spaces apart, with no trailing spaces", () => {
    expect(table(["A", "BB"], [["xyz", "1"]])).toBe("A    BB\nxyz  1\n");
  });

  it("pads painted cells by their plain width, so escape codes never shift a column", () => {
    const red = (text: string) => `\u001b[31m${text}\u001b[39m`;
    const painted = table(
      ["STAGE", "N"],
      [
        ["due", "1"],
        ["expired", "2"],
      ],
      [],
      (text, row, column) => (row >= 0 && column === 0 ? red(text) : text),
    );
    // biome-ignore lint/suspicious/noControlCharactersInRegex: the test strips ANSI escapes
    const plain = painted.replace(/\u001b\[\d+m/g, "");
    expect(plain).toBe(
      table(
        ["STAGE", "N"],
        [
          ["due", "1"],
          ["expired", "2"],
        ],
      ),
    );
    expect(painted).toContain(`${red("due")}      1`);
  });
});

describe("compactCount", () => {
  it("writes counts as a person scans them", () => {
    expect(compactCount(950)).toBe("950");
    expect(compactCount(1234)).toBe("1.2k");
    expect(compactCount(48_000)).toBe("48.0k");
    expect(compactCount(3_100_000)).toBe("3.1M");
  });
});

describe("formatBytes", () => {
  it("writes sizes in powers of 1024", () => {
    expect(formatBytes(812)).toBe("812 B");
    expect(formatBytes(65_536)).toBe("64.0 KiB");
    expect(formatBytes(1.5 * 1024 * 1024)).toBe("1.5 MiB");
    expect(formatBytes(2 * 1024 ** 3)).toBe("2.0 GiB");
  });
});
