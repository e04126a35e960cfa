import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ansiToHtml } from "../support/ansi-html.js";
import { DEMO_FLAGS, seedDemo, serveDemo } from "../support/demo-fleet.js";
import { hasExternalTool } from "../support/external-tool.js";
import { cells, lines, type RunResult, runTenure, type ServeProcess, tempDir } from "../support/process.js";
import { ANSI_COLOR, hasScript, runInTerminal, stripAnsi } from "../support/terminal.js";

const ESC = "\u001b";
const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const CAPTURES = join(ROOT, "test-results/terminal");
const PLAIN_HEADERS = [
  "ID",
  "MODEL",
  "VERSION",
  "ENV",
  "TEAM",
  "ROLE",
  "AGE",
  "DATA AGE",
  "PERF AGE",
  "STAGE",
  "HEALTH",
  "VERDICT",
];
/** An AGE/TTL cell: the percent of the TTL, then fourteen cells of bar with one review mark. */
const BAR_CELL = /^\d+% [█▉▊▋▌▍▎▏·│]{14}$/;
const SPARK_LINE = /^ {19}[▁▂▃▄▅▆▇█ ]+ {2}latest \d+(\.\d+)? · \d+ windows since \d{4}-\d\d-\d\d$/;

interface Listed {
  id: number;
  model: string;
  model_version: string;
  environment: string;
}

/** A capture of what a person saw: the command, then the screen with its colours. */
function capture(name: string, command: string, screen: string): void {
  mkdirSync(CAPTURES, { recursive: true });
  writeFileSync(join(CAPTURES, name), `$ ${command}\n${screen}`);
}

describe.skipIf(!hasScript())(
  "the terminal: colour, the age bar and sparklines for a person, plain text for a pipe",
  { timeout: 90_000, concurrent: true },
  () => {
    let dir: ReturnType<typeof tempDir>;
    let fleet: Listed[];
    let server: ServeProcess | undefined;
    const database = DEMO_FLAGS;
    const pipe = (...args: string[]) => runTenure([...args, ...database], { cwd: dir.path });
    const terminal = (env: Record<string, string>, ...args: string[]) =>
      runInTerminal([...args, ...database], { cwd: dir.path, env });
    const remote = (...args: string[]) =>
      runTenure(args, { cwd: dir.path, env: { TENURE_URL: server?.url } });
    const idOf = (model: string, version: string) => {
      const found = fleet.find((d) => d.model === model && d.model_version === version);
      if (!found) throw new Error(`the demo has no ${model} ${version}`);
      return String(found.id);
    };

    beforeAll(async () => {
      dir = tempDir();
      await seedDemo(dir.path);
      const listed = await pipe("ls", "--json");
      fleet = (JSON.parse(listed.stdout) as { items: Listed[] }).items;
      server = await serveDemo(dir.path);
    });
    afterAll(async () => {
      await server?.stop();
      dir?.remove();
    });

    it("in a pipe, ls prints the plain table scripts read: the same columns, no escape codes, the same text each time", async () => {
      const [first, second] = await Promise.all([pipe("ls"), pipe("ls")]);
      expect(first.code, first.stderr).toBe(0);
      expect(first.stdout).not.toMatch(ANSI_COLOR);
      expect(first.stdout).not.toMatch(/[█│·]/);
      expect(cells(first.stdout)[0]).toEqual(PLAIN_HEADERS);
      expect(second.stdout).toBe(first.stdout);
      expect(first.stderr).toBe("");
    });

    it("on a terminal, ls colours stages and verdicts, still in words, and draws age against TTL with the review point marked", async () => {
      const [shown, piped] = await Promise.all([terminal({}), pipe("ls")]).then(
        async ([_, p]) => [await terminal({}, "ls"), p] as const,
      );
      expect(shown.code).toBe(0);
      capture("ls.txt", "tenure ls   # on a terminal, against the demo fleet", shown.stdout);
      // Red on the word expired, yellow on due, green on fresh: never a colour without its word.
      expect(shown.stdout).toContain("\u001b[31mexpired\u001b[39m");
      expect(shown.stdout).toContain("\u001b[33mdue\u001b[39m");
      expect(shown.stdout).toContain("\u001b[32mfresh\u001b[39m");
      const [header, ...rows] = cells(stripAnsi(shown.stdout));
      expect(header).toEqual([...PLAIN_HEADERS.slice(0, 7), "AGE/TTL", ...PLAIN_HEADERS.slice(7)]);
      for (const row of rows) {
        expect(row[7]).toMatch(BAR_CELL);
        expect(row[7]?.split("│")).toHaveLength(2);
      }
      // An expired deployment's bar is full; a fresh one's stops before the review mark.
      const expired = rows.find((r) => r[10] === "expired");
      expect(expired?.[7]).toMatch(/^\d{3,}% █{11}│██$/);
      const fresh = rows.find((r) => r[10] === "fresh" && r[6] === "2d");
      expect(fresh?.[7]).toMatch(/^\d{1,2}% [█▉▊▋▌▍▎▏]*·+│·+$/);
      // Take the bar away and it is the pipe's table, cell for cell.
      const withoutBar = rows.map((r) => [...r.slice(0, 7), ...r.slice(8)]);
      expect(withoutBar).toEqual(cells(piped.stdout).slice(1));
    });

    it("NO_COLOR=1 on a terminal turns the colours off and keeps the bar and the words", async () => {
      const shown = await terminal({ NO_COLOR: "1" }, "ls");
      expect(shown.code).toBe(0);
      expect(shown.stdout).not.toMatch(ANSI_COLOR);
      const [header, first] = cells(shown.stdout);
      expect(header).toContain("AGE/TTL");
      expect(first?.[7]).toMatch(BAR_CELL);
    });

    it("FORCE_COLOR=1 in a pipe draws as on a terminal (for less -R); an empty one does nothing", async () => {
      const [forced, empty] = await Promise.all([
        runTenure(["ls", ...database], { cwd: dir.path, env: { FORCE_COLOR: "1" } }),
        runTenure(["ls", ...database], { cwd: dir.path, env: { FORCE_COLOR: "" } }),
      ]);
      expect(forced.stdout).toMatch(ANSI_COLOR);
      expect(cells(stripAnsi(forced.stdout))[0]).toContain("AGE/TTL");
      expect(empty.stdout).not.toMatch(ANSI_COLOR);
      expect(cells(empty.stdout)[0]).toEqual(PLAIN_HEADERS);
    });

    it("--json on a terminal is the JSON of a pipe: no colour, no bar, the same fields, pretty-printed as before", async () => {
      const id = idOf("anomaly-iforest", "0.4.0");
      for (const args of [
        ["ls", "--json"],
        ["show", id, "--json"],
      ]) {
        const [shown, piped] = await Promise.all([terminal({}, ...args), pipe(...args)]);
        expect(shown.stdout).not.toMatch(ANSI_COLOR);
        const parsed = JSON.parse(shown.stdout);
        expect(shown.stdout).toBe(`${JSON.stringify(parsed, null, 2)}\n`);
        // The clocks tick between two runs: the shapes and every word match, the numbers are numbers.
        expect(shapeOf(parsed)).toEqual(shapeOf(JSON.parse(piped.stdout)));
      }
    });

    it("show draws each metric over time as a sparkline with the latest value and how many windows, and says where the target falls", async () => {
      const id = idOf("anomaly-iforest", "0.4.0");
      const shown = await pipe("show", id);
      expect(shown.code, shown.stderr).toBe(0);
      expect(shown.stdout).not.toMatch(ANSI_COLOR);
      const out = lines(shown.stdout);
      const at = out.findIndex((line) => line.startsWith("  auc "));
      expect(out[at]).toMatch(/target 0\.8, baseline 0\.9: degraded$/);
      expect(out[at + 1]).toMatch(SPARK_LINE);
      // Under it, ▔ under every span below the target, and the target's height on the scale.
      expect(out[at + 2]).toMatch(
        /^ {19}[ ▔]+ {2}▔ below target 0\.8 \([▁▂▃▄▅▆▇█] on this scale\): \d+ of \d+ windows$/,
      );
      const spark = out[at + 1]?.slice(19, 59) ?? "";
      const under = out[at + 2]?.slice(19, 59) ?? "";
      // A model that decays with age: high when young, below its target at the end.
      expect(spark.at(0)).toBe("█");
      expect(spark.at(-1)).toBe("▁");
      expect(under.at(0)).toBe(" ");
      expect(under.at(-1)).toBe("▔");
      // And the same text again: nothing in the drawing depends on the moment it ran.
      expect((await pipe("show", id)).stdout).toBe(shown.stdout);
    });

    it("show marks the windows above the target for a metric where lower is better", async () => {
      const shown = await pipe("show", idOf("capacity-forecast", "1.2"));
      const out = lines(shown.stdout);
      const at = out.findIndex((line) => line.startsWith("  mape "));
      expect(out[at + 1]).toMatch(SPARK_LINE);
      expect(out[at + 2]).toMatch(
        /▔ above target 0\.15 \([▁▂▃▄▅▆▇█] on this scale\): (none|\d+ of \d+ windows)$/,
      );
    });

    it("show draws the same through a server (TENURE_URL) as from the database", async () => {
      const id = idOf("anomaly-iforest", "0.4.0");
      const [local, served] = await Promise.all([pipe("show", id), remote("show", id)]);
      expect(served.code, served.stderr).toBe(0);
      const charts = (text: string) => lines(text).filter((line) => /^ {19}\S| {2}▔ /.test(line));
      expect(charts(served.stdout)).toHaveLength(2);
      expect(charts(served.stdout)).toEqual(charts(local.stdout));
    });

    it("on a terminal, show colours the stage, the verdict and each span by its target, with the age bar; NO_COLOR leaves it plain", async () => {
      const id = idOf("anomaly-iforest", "0.4.0");
      const [shown, plain] = await Promise.all([
        terminal({}, "show", id),
        terminal({ NO_COLOR: "1" }, "show", id),
      ]);
      capture("show.txt", `tenure show ${id}   # on a terminal`, shown.stdout);
      expect(shown.stdout).toContain("  stage            \u001b[31mexpired\u001b[39m");
      expect(shown.stdout).toContain("(\u001b[31mretire\u001b[39m)");
      // Green while on target, red once below it: one colour code a run of cells.
      expect(shown.stdout.replaceAll(ESC, "^")).toMatch(
        /\^\[32m█[▁▂▃▄▅▆▇█]*\^\[39m\^\[31m[▁▂▃▄▅▆▇█]*▁\^\[39m/,
      );
      expect(plain.stdout).not.toMatch(ANSI_COLOR);
      expect(plain.stdout).toMatch(
        /^ {2}deployment age {3}█{11}│██ {2}369d of 90d \(411%\), policy default$/m,
      );
      // Without colour, every word and drawing is still there.
      expect(stripAnsi(shown.stdout)).toBe(plain.stdout);
    });

    it("ls on a terminal through a server marks the review point where the database does", async () => {
      const bars = (result: RunResult) =>
        cells(stripAnsi(result.stdout))
          .slice(1)
          .map((r) => r[7]?.replace(/^\d+% /, ""));
      const [local, served] = await Promise.all([
        terminal({}, "ls"),
        runInTerminal(["ls"], { cwd: dir.path, env: { TENURE_URL: server?.url ?? "" } }),
      ]);
      expect(bars(served).length).toBeGreaterThan(20);
      expect(bars(served)).toEqual(bars(local));
    });

    it("demo shows its progress on a terminal and stays quiet in a pipe", async () => {
      const [shown, piped] = await Promise.all([
        runInTerminal(["demo", "--seed-only", "--database", "progress-tty.db"], { cwd: dir.path }),
        runTenure(["demo", "--seed-only", "--database", "progress-pipe.db"], { cwd: dir.path }),
      ]);
      expect(shown.code).toBe(0);
      for (const phase of ["history ", "evidence", "sweep   "]) expect(shown.stdout).toContain(phase);
      expect(shown.stdout).toMatch(/history .*100% 39\/39/);
      // The bar is cleared when done: the screen ends with what the command says.
      expect(stripAnsi(shown.stdout).split("\n").at(-3)).toMatch(/demo fleet: \d+ deployments/);
      expect(piped.stderr).toBe("");
      expect(piped.stdout).not.toMatch(/history|evidence/);
      expect(piped.stdout).not.toContain(ESC);
    });

    it("a local sweep and tenure drift draw a progress bar on a terminal and nothing in a pipe", async () => {
      writeFileSync(
        join(dir.path, "a.csv"),
        `x,y\n${Array.from({ length: 500 }, (_, i) => `${i},${i % 7}`).join("\n")}\n`,
      );
      writeFileSync(
        join(dir.path, "b.csv"),
        `x,y\n${Array.from({ length: 500 }, (_, i) => `${i + 50},${i % 5}`).join("\n")}\n`,
      );
      const [sweep, drift, sweepPiped, driftPiped] = await Promise.all([
        terminal({}, "sweep", "--dry-run"),
        runInTerminal(["drift", "a.csv", "b.csv"], { cwd: dir.path }),
        pipe("sweep", "--dry-run"),
        runTenure(["drift", "a.csv", "b.csv"], { cwd: dir.path }),
      ]);
      expect(sweep.stdout).toMatch(/sweep {4}.*\d+\/\d+/);
      expect(stripAnsi(sweep.stdout)).toContain("preview of a sweep");
      expect(drift.stdout).toMatch(/reading .*\d+(\.\d)? (B|KiB)\/\d+(\.\d)? KiB/);
      expect(stripAnsi(drift.stdout)).toContain("dataset:");
      expect(sweepPiped.stdout).not.toMatch(/█/);
      expect(sweepPiped.stdout).not.toContain(ESC);
      expect(driftPiped.stderr).toBe("");
      expect(driftPiped.stdout).not.toMatch(/reading/);
      expect(driftPiped.stdout).not.toContain(ESC);
    });
  },
);

/** A JSON value with every number made `0`: its shape and words, without the clocks. */
function shapeOf(value: unknown): unknown {
  if (typeof value === "number") return 0;
  if (Array.isArray(value)) return value.map(shapeOf);
  if (value && typeof value === "object")
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, shapeOf(v)]));
  return value;
}

const hasChromium = hasExternalTool("/usr/bin/chromium", "apt-get install chromium");

describe.skipIf(!hasScript() || !hasChromium)(
  "the terminal captures as pictures",
  { timeout: 90_000 },
  () => {
    it("renders what ls and show print on a terminal into PNGs under test-results/terminal/", async () => {
      const dir = tempDir();
      try {
        await seedDemo(dir.path);
        const database = DEMO_FLAGS;
        const listed = JSON.parse(
          (await runTenure(["ls", "--json", ...database], { cwd: dir.path })).stdout,
        ) as {
          items: Listed[];
        };
        const id = String(listed.items.find((d) => d.model === "anomaly-iforest")?.id);
        const screens = {
          "ls.png": ["tenure ls", await runInTerminal(["ls", ...database], { cwd: dir.path })],
          "show.png": [
            `tenure show ${id}`,
            await runInTerminal(["show", id, ...database], { cwd: dir.path }),
          ],
        } as const;
        const { chromium } = await import("playwright-core");
        const browser = await chromium.launch({
          executablePath: "/usr/bin/chromium",
          args: ["--headless", "--no-sandbox"],
        });
        try {
          const page = await browser.newPage({
            viewport: { width: 1500, height: 400 },
            deviceScaleFactor: 1,
          });
          mkdirSync(CAPTURES, { recursive: true });
          for (const [name, [command, result]] of Object.entries(screens)) {
            await page.setContent(ansiToHtml(`$ ${command}\n${result.stdout}`, command));
            const shot = await page.locator("pre").screenshot({ path: join(CAPTURES, name) });
            // A PNG of a screen with text on it: its signature and more than a blank page's bytes.
            expect(shot.subarray(1, 4).toString()).toBe("PNG");
            expect(shot.length).toBeGreaterThan(10_000);
          }
        } finally {
          await browser.close();
        }
      } finally {
        dir.remove();
      }
    });
  },
);
