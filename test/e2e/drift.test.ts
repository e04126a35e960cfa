import { readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cells, expectOneLineFailure, lines, runTenure, tempDir } from "../support/process.js";

interface NumericCase {
  name: string;
  reference: number[];
  current: number[];
  ks: { statistic: number; pvalue: number };
  wasserstein: number;
  reference_std: number;
  psi: number;
  jensenshannon: number;
}
interface CategoricalCase {
  name: string;
  categories: string[];
  reference_counts: number[];
  current_counts: number[];
  chi2_contingency: { statistic: number; pvalue: number };
  jensenshannon: number;
}
const scipy = JSON.parse(
  readFileSync(new URL("../../src/core/drift/fixtures/scipy-reference.json", import.meta.url), "utf8"),
) as {
  numeric: NumericCase[];
  asymptotic: {
    reference: number[];
    current: number[];
    shifts: Array<{ shift: number; statistic: number; pvalue: number }>;
  };
  categorical: CategoricalCase[];
};

interface Column {
  column: string;
  kind: string;
  method: string;
  statistic: number | null;
  p_value: number | null;
  score: number | null;
  threshold: number;
  state: string;
  reference_size: number;
  current_size: number;
  noise_floor: number | null;
  insufficient: boolean;
}
interface Report {
  columns: Column[];
  drifted_share: number;
  dataset_drift: boolean;
  benjamini_hochberg: { fdr: number; drifted_share: number; dataset_drift: boolean };
}

const numericCase = (name: string) => scipy.numeric.find((c) => c.name === name) as NumericCase;
const categoricalCase = (name: string) => scipy.categorical.find((c) => c.name === name) as CategoricalCase;

/** A CSV of columns of different lengths: the shorter ones end in empty (missing) cells. */
function csv(columns: Record<string, Array<number | string>>): string {
  const names = Object.keys(columns);
  const rows = Math.max(...names.map((n) => columns[n]?.length ?? 0));
  const body = Array.from({ length: rows }, (_, i) =>
    names.map((n) => String(columns[n]?.[i] ?? "")).join(","),
  );
  return `${[names.join(","), ...body].join("\n")}\n`;
}

/** Categories spelled out from counts, in order. */
const spell = (categories: string[], counts: number[]) =>
  categories.flatMap((c, i) => Array(counts[i]).fill(c));

function expectClose(actual: number | null, expected: number, relative: number): void {
  expect(actual).not.toBeNull();
  const error =
    expected === 0
      ? Math.abs(actual as number)
      : Math.abs((actual as number) - expected) / Math.abs(expected);
  expect(error, `${actual} vs SciPy ${expected}`).toBeLessThanOrEqual(expected === 0 ? 1e-15 : relative);
}

describe("tenure drift", () => {
  let dir: ReturnType<typeof tempDir>;
  const file = (name: string, text: string) => {
    writeFileSync(join(dir.path, name), text);
    return name;
  };
  const tenure = (...args: string[]) => runTenure(["drift", ...args], { cwd: dir.path });
  const json = async (...args: string[]) => {
    const result = await tenure(...args, "--json");
    expect(result.stderr).toBe("");
    expect(result.code).toBe(0);
    return JSON.parse(result.stdout) as Report;
  };

  const tiesCase = numericCase("exact, ties, 40 vs 35");
  const skewed = numericCase("exact, 1000 vs 1000 skewed");
  const colours = categoricalCase("four colours, mild shift");

  beforeAll(() => {
    dir = tempDir();
    file(
      "reference.csv",
      csv({
        ties: tiesCase.reference,
        skewed: skewed.reference,
        colour: spell(colours.categories, colours.reference_counts),
      }),
    );
    file(
      "current.csv",
      csv({
        ties: tiesCase.current,
        skewed: skewed.current,
        colour: spell(colours.categories, colours.current_counts),
      }),
    );
  });
  afterAll(() => dir.remove());

  it("--json gives each column's statistic and p-value as SciPy gives them for the same data", async () => {
    const report = await json("reference.csv", "current.csv");
    expect(Object.keys(report)).toEqual(
      expect.arrayContaining(["columns", "drifted_share", "dataset_drift", "benjamini_hochberg"]),
    );
    const [ties, skew, colour] = report.columns;
    expect(Object.keys(ties ?? {}).slice(0, 10)).toEqual([
      "column",
      "kind",
      "method",
      "statistic",
      "p_value",
      "score",
      "threshold",
      "state",
      "reference_size",
      "current_size",
    ]);
    expect(ties).toMatchObject({
      column: "ties",
      kind: "numeric",
      method: "ks",
      reference_size: 40,
      current_size: 35,
    });
    expectClose(ties?.statistic ?? null, tiesCase.ks.statistic, 1e-12);
    expectClose(ties?.p_value ?? null, tiesCase.ks.pvalue, 1e-9);
    expect(skew).toMatchObject({ method: "ks", reference_size: 1000, current_size: 1000, state: "stable" });
    expectClose(skew?.statistic ?? null, skewed.ks.statistic, 1e-12);
    expectClose(skew?.p_value ?? null, skewed.ks.pvalue, 1e-9);
    expect(colour).toMatchObject({ kind: "categorical", method: "chisquare", state: "drifted" });
    expectClose(colour?.statistic ?? null, colours.chi2_contingency.statistic, 1e-12);
    expectClose(colour?.p_value ?? null, colours.chi2_contingency.pvalue, 1e-9);
    expect(report.drifted_share).toBeCloseTo(1 / 3, 12);
    expect(report.dataset_drift).toBe(false);
  });

  it("--method wasserstein, psi and jensenshannon match SciPy (and the documented PSI binning)", async () => {
    const w = (await json("reference.csv", "current.csv", "--columns", "skewed", "--method", "wasserstein"))
      .columns[0];
    expectClose(w?.statistic ?? null, skewed.wasserstein, 1e-12);
    expectClose(w?.score ?? null, skewed.wasserstein / skewed.reference_std, 1e-12);
    expect(w?.noise_floor).toBeGreaterThan(0);
    const psi = (await json("reference.csv", "current.csv", "--columns", "skewed", "--method", "psi"))
      .columns[0];
    expectClose(psi?.statistic ?? null, skewed.psi, 1e-12);
    const js = (
      await json("reference.csv", "current.csv", "--columns", "skewed,colour", "--method", "jensenshannon")
    ).columns;
    expectClose(js[0]?.statistic ?? null, skewed.jensenshannon, 1e-12);
    expectClose(js[1]?.statistic ?? null, colours.jensenshannon, 1e-12);
  });

  it("reads JSON Lines as well as CSV, and --kind reads numbers as categories", async () => {
    const jsonl = (values: number[]) => `${values.map((v) => JSON.stringify({ ties: v })).join("\n")}\n`;
    file("reference.jsonl", jsonl(tiesCase.reference));
    file("current.ndjson", jsonl(tiesCase.current));
    const report = await json("reference.jsonl", "current.ndjson");
    expectClose(report.columns[0]?.p_value ?? null, tiesCase.ks.pvalue, 1e-9);
    const asCategories = await json("reference.jsonl", "current.ndjson", "--kind", "ties=categorical");
    expect(asCategories.columns[0]).toMatchObject({ kind: "categorical", method: "chisquare" });
  });

  it("12,000 vs 15,000 rows use the asymptotic KS p-value, as SciPy does", async () => {
    const shifted = scipy.asymptotic.shifts.find((s) => s.shift === 0.05);
    file("big-reference.csv", csv({ x: scipy.asymptotic.reference }));
    file("big-current.csv", csv({ x: scipy.asymptotic.current.map((x) => x + 0.05) }));
    const column = (await json("big-reference.csv", "big-current.csv", "--method", "ks")).columns[0];
    expectClose(column?.statistic ?? null, shifted?.statistic ?? Number.NaN, 1e-12);
    expectClose(column?.p_value ?? null, shifted?.pvalue ?? Number.NaN, 1e-9);
  });

  it("prints a table with one row per column, then the dataset verdict and its Benjamini–Hochberg view", async () => {
    const result = await tenure("reference.csv", "current.csv");
    expect(result).toMatchObject({ code: 0, stderr: "" });
    const [header, ...rows] = cells(result.stdout.split("\n\n")[0] ?? "");
    expect(header).toEqual([
      "COLUMN",
      "KIND",
      "METHOD",
      "STATISTIC",
      "P-VALUE",
      "SCORE",
      "THRESHOLD",
      "NOISE FLOOR",
      "ROWS",
      "STATE",
    ]);
    expect(rows.map((r) => [r[0], r[2], r.at(-1)])).toEqual([
      ["ties", "ks", "stable"],
      ["skewed", "ks", "stable"],
      ["colour", "chisquare", "drifted"],
    ]);
    const verdict = lines(result.stdout).slice(-2);
    expect(verdict[0]).toMatch(/^dataset: 1 of 3 column\(s\) drifted \(33%\): no dataset drift/);
    // The colour drift (p = 0.037) does not survive the adjustment for three tested columns.
    expect(verdict[1]).toMatch(/^benjamini-hochberg \(fdr 0.05\): 0 of 3 column\(s\) drifted \(0%\)/);
  });

  it("--fail-on drifted exits 1 after the report when a column drifted, naming it in one line on stderr", async () => {
    const result = await tenure("reference.csv", "current.csv", "--fail-on", "drifted");
    expect(result.code).toBe(1);
    expect(lines(result.stdout).slice(-2)[0]).toMatch(/^dataset: 1 of 3 column\(s\) drifted/);
    expect(result.stderr).toBe("tenure: --fail-on drifted: 1 of 3 column(s) drifted (colour)\n");
    // The JSON report is whole before the gate's line, so CI can keep it.
    const json = await tenure("reference.csv", "current.csv", "--fail-on", "drifted", "--json");
    expect(json.code).toBe(1);
    expect((JSON.parse(json.stdout) as Report).columns.map((c) => c.state)).toEqual([
      "stable",
      "stable",
      "drifted",
    ]);
  });

  it("--fail-on possible also fails on a borderline column, which --fail-on drifted lets pass", async () => {
    // At a p threshold of 0.02 the colour test (p = 0.037) is in the possible band, not drifted.
    const strict = ["reference.csv", "current.csv", "--threshold", "0.02"];
    const [possible, drifted] = await Promise.all([
      tenure(...strict, "--fail-on", "possible"),
      tenure(...strict, "--fail-on", "drifted"),
    ]);
    expect(
      cells(possible.stdout)
        .find((row) => row[0] === "colour")
        ?.at(-1),
    ).toBe("possible");
    expect(possible.code).toBe(1);
    expect(possible.stderr).toBe(
      "tenure: --fail-on possible: 1 of 3 column(s) possible or drifted (colour)\n",
    );
    expect(drifted).toMatchObject({ code: 0, stderr: "" });
  });

  it("without --fail-on a drifted dataset exits 0; data that did not move passes --fail-on possible", async () => {
    const [plain, same] = await Promise.all([
      tenure("reference.csv", "current.csv"),
      tenure("reference.csv", "reference.csv", "--fail-on", "possible"),
    ]);
    expect(plain.stdout).toMatch(/drifted/);
    expect(plain).toMatchObject({ code: 0, stderr: "" });
    expect(same).toMatchObject({ code: 0, stderr: "" });
  });

  it("--fail-on with another word exits 2, naming the states it takes", async () => {
    const message = expectOneLineFailure(
      await tenure("reference.csv", "current.csv", "--fail-on", "maybe"),
      2,
    );
    expect(message).toContain("--fail-on must be one of possible, drifted");
  });

  it("8 rows far apart are reported as stable with too few rows, never drifted", async () => {
    const eight = numericCase("exact, 8 vs 8 far apart");
    file("eight-reference.csv", csv({ x: eight.reference }));
    file("eight-current.csv", csv({ x: eight.current }));
    const column = (await json("eight-reference.csv", "eight-current.csv")).columns[0];
    expect(column).toMatchObject({ state: "stable", insufficient: true });
    expectClose(column?.p_value ?? null, eight.ks.pvalue, 1e-9);
  });

  it.each([
    ["a missing file", ["reference.csv", "absent.csv"], /absent\.csv: no such file/],
    [
      "a column absent from one file",
      ["reference.csv", "current.csv", "--columns", "ties,nope"],
      /"nope" is not in reference\.csv/,
    ],
    ["no common columns", ["reference.csv", "other.csv"], /no column in common/],
    [
      "a malformed CSV line",
      ["reference.csv", "ragged.csv"],
      /ragged\.csv:3: 3 fields where the header has 2/,
    ],
    ["a malformed JSON line", ["reference.csv", "broken.jsonl"], /broken\.jsonl:2: not valid JSON/],
    [
      "an unknown method",
      ["reference.csv", "current.csv", "--method", "t-test"],
      /--method must be one of ks, wasserstein/,
    ],
    [
      "a bad --kind",
      ["reference.csv", "current.csv", "--kind", "ties=text"],
      /--kind must be COLUMN=numeric/,
    ],
    [
      "a numeric method on categories",
      ["reference.csv", "current.csv", "--method", "ks"],
      /needs numbers, but column "colour"/,
    ],
  ])("%s exits 2 with one line", async (_, args, message) => {
    file("other.csv", "unrelated\n1\n");
    file("ragged.csv", "ties,skewed\n1,2\n1,2,3\n");
    file("broken.jsonl", '{"ties": 1}\n{"ties": \n');
    const failure = expectOneLineFailure(await tenure(...(args as string[])), 2);
    expect(failure).toMatch(/^tenure: /);
    expect(failure).toMatch(message as RegExp);
  });
});

describe("tenure drift on a real data set: Seattle weather from vega-datasets", () => {
  let dir: ReturnType<typeof tempDir>;
  // The package exports only its JavaScript entry (build/index.js); the CSV files sit in data/ beside it.
  const entry = createRequire(import.meta.url).resolve("vega-datasets");
  const seattle = join(dirname(entry), "..", "data", "seattle-weather.csv");
  const [header = "", ...rows] = readFileSync(seattle, "utf8").trim().split("\n");
  const month = (row: string) => Number(row.slice(5, 7));
  const day = (row: string) => Number(row.slice(8, 10));
  const write = (name: string, keep: (row: string) => boolean) => {
    writeFileSync(join(dir.path, name), `${[header, ...rows.filter(keep)].join("\n")}\n`);
    return name;
  };
  const drift = async (...args: string[]) => {
    const result = await runTenure(["drift", ...args, "--columns", "temp_max", "--json"], { cwd: dir.path });
    expect(result.stderr).toBe("");
    return (JSON.parse(result.stdout) as Report).columns[0];
  };

  beforeAll(() => {
    dir = tempDir();
  });
  afterAll(() => dir.remove());

  it("ships the file (1,461 days, 2012–2015) in node_modules", () => {
    expect(header).toBe("date,precipitation,temp_max,temp_min,wind,weather");
    expect(rows).toHaveLength(1461);
  });

  it("winter against summer drifts on temp_max, by KS and by normed Wasserstein", async () => {
    const winter = write("winter.csv", (r) => [12, 1, 2].includes(month(r)));
    const summer = write("summer.csv", (r) => [6, 7, 8].includes(month(r)));
    expect(await drift(winter, summer)).toMatchObject({
      method: "ks",
      state: "drifted",
      reference_size: 361,
    });
    const wasserstein = await drift(winter, summer, "--method", "wasserstein");
    expect(wasserstein).toMatchObject({ state: "drifted" });
    expect(wasserstein?.score).toBeGreaterThan(wasserstein?.noise_floor ?? Number.POSITIVE_INFINITY);
  });

  it("the two halves of July do not drift: one July is too few days to judge, four Julys are judged stable", async () => {
    const july2013 = (r: string) => r.startsWith("2013-07");
    const oneFirst = write("july-2013-first.csv", (r) => july2013(r) && day(r) <= 15);
    const oneSecond = write("july-2013-second.csv", (r) => july2013(r) && day(r) > 15);
    expect(await drift(oneFirst, oneSecond)).toMatchObject({ state: "stable", insufficient: true });
    const first = write("july-first.csv", (r) => month(r) === 7 && day(r) <= 15);
    const second = write("july-second.csv", (r) => month(r) === 7 && day(r) > 15);
    expect(await drift(first, second)).toMatchObject({
      method: "ks",
      state: "stable",
      insufficient: false,
      reference_size: 60,
      current_size: 64,
    });
  });
});
