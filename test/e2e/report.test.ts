import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ansiToHtml } from "../support/ansi-html.js";
import { DEMO_FLAGS, seedDemo, serveDemo } from "../support/demo-fleet.js";
import { hasExternalTool } from "../support/external-tool.js";
import { expectOneLineFailure, lines, runTenure, type ServeProcess, tempDir } from "../support/process.js";
import { ANSI_COLOR, hasScript, runInTerminal, stripAnsi } from "../support/terminal.js";

const CAPTURES = join(import.meta.dirname, "../../test-results/terminal");

interface Report {
  generated_at: string;
  since_seconds: number;
  teams: { owner_team: string; live: number; expired: { deployment_age_seconds: number | null }[] }[];
}

describe("tenure report as a process: text, markdown and JSON, local and remote", {
  timeout: 120_000,
}, () => {
  let dir: ReturnType<typeof tempDir>;
  let server: ServeProcess | undefined;
  const database = DEMO_FLAGS;
  const local = (...args: string[]) => runTenure(["report", ...args, ...database], { cwd: dir.path });
  const remote = (...args: string[]) =>
    runTenure(["report", ...args], { cwd: dir.path, env: { TENURE_URL: server?.url } });

  beforeAll(async () => {
    dir = tempDir();
    await seedDemo(dir.path);
    server = await serveDemo(dir.path);
  });
  afterAll(async () => {
    await server?.stop();
    dir?.remove();
  });

  it("text: a heading per team, each section an aligned table in human units, plain in a pipe", async () => {
    const result = await local();
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).not.toMatch(ANSI_COLOR);
    const out = lines(result.stdout);
    expect(out[0]).toMatch(
      /^Rot report {2}generated \d{4}-\d\d-\d\d \d\d:\d\dZ; period: the last 7d \(since .*\); looking ahead 14d$/,
    );
    expect(out).toEqual(expect.arrayContaining(["== ads ==  4 live; 1 expired, 1 due, 2 drifted"]));
    // Ages in days; numbers right-aligned under their header.
    const expired = out.indexOf("Expired (1)");
    expect(out[expired + 1]).toMatch(
      /^ {2}ID {2}MODEL +VERSION +ENV +AGE {2}TTL {2}OVERDUE {2}EXPIRED AT +NOTE$/,
    );
    expect(out[expired + 2]).toMatch(
      /^ +\d+ {2}\S+ +\S+ +\S+ +\d+d +\d+d +\d+d {2}\d{4}-\d\d-\d\d \d\d:\d\dZ {2}expired (in|before) the period$/,
    );
    expect(out).toEqual(expect.arrayContaining([expect.stringMatching(/^Forecast breaches \(\d+\)/)]));
  });

  it("markdown: fit to paste into a ticket, headings and pipe tables", async () => {
    const result = await local("--format", "markdown", "--team", "growth");
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout.startsWith("# Rot report\n\n_generated ")).toBe(true);
    expect(result.stdout).toContain("\n## growth\n\n**5 live;");
    expect(result.stdout).toMatch(
      /\n### Degraded \(1\)\n\n\| ID \| Model \| Version \| Env \| Metric \| Value \| Target \| Drop \| State \|\n\|---:\|---\|---\|---\|---\|---:\|---:\|---:\|---\|\n\| \d+ \| ltv-regressor \| 2\.3\.1 \| production \| auc \| /,
    );
    expect(result.stdout).not.toContain("## ads");
  });

  it("JSON: seconds, not human units; --team narrows it; the same answer from a server as from the database", async () => {
    const [all, growth, fromServer] = await Promise.all([
      local("--json"),
      local("--format", "json", "--team", "growth"),
      remote("--json", "--team", "growth"),
    ]);
    for (const result of [all, growth, fromServer]) expect(result.code, result.stderr).toBe(0);
    const report = JSON.parse(all.stdout) as Report;
    expect(report.since_seconds).toBe(7 * 86_400);
    expect(report.teams.map((t) => t.owner_team)).toEqual(["ads", "growth", "platform", "risk", "search"]);
    expect(report.teams[0]?.expired[0]?.deployment_age_seconds).toBeGreaterThan(100 * 86_400);
    const local1 = JSON.parse(growth.stdout) as Report;
    const remote1 = JSON.parse(fromServer.stdout) as Report;
    expect(local1.teams.map((t) => t.owner_team)).toEqual(["growth"]);
    // Computed a moment apart: the same deployments and sections, ages within a minute.
    const shape = (r: Report) =>
      JSON.stringify(r.teams, (key, value) =>
        /_seconds$|_at$|^generated_at$|^since$/.test(key) ? undefined : value,
      );
    expect(shape(remote1)).toBe(shape(local1));
  });

  it("a bad --since or --format is one line on stderr and exit 2, locally and against a server", async () => {
    for (const args of [
      ["--since", "7"],
      ["--since", "-1d"],
      ["--since", "soon"],
    ]) {
      for (const run of [local, remote]) {
        const message = expectOneLineFailure(await run(...args), 2);
        expect(message).toMatch(/^tenure: --since must be a duration such as 7d, 36h, 2w/);
      }
    }
    expect(expectOneLineFailure(await local("--format", "xml"), 2)).toMatch(
      /^tenure: .*--format.*(text|markdown|json)/,
    );
    expect(expectOneLineFailure(await local("--team", "Not A Team"), 2)).toMatch(/^tenure: --team /);
  });

  const hasChromium = hasExternalTool("/usr/bin/chromium", "apt-get install chromium");

  it.skipIf(!hasScript())(
    "on a terminal: the same report in colour, kept under test-results/terminal/",
    async () => {
      const shown = await runInTerminal(["report", "--team", "growth", ...database], { cwd: dir.path });
      expect(shown.code).toBe(0);
      expect(shown.stdout).toMatch(ANSI_COLOR);
      const piped = await local("--team", "growth");
      // The same words and columns, colour aside (the clocks may have moved a minute).
      const words = (text: string) =>
        stripAnsi(text)
          .replace(/\d{4}-\d\d-\d\d \d\d:\d\dZ/g, "T")
          .trimEnd();
      expect(words(shown.stdout)).toBe(words(piped.stdout));
      mkdirSync(CAPTURES, { recursive: true });
      const command = "tenure report --team growth";
      writeFileSync(join(CAPTURES, "report.txt"), `$ ${command}\n${shown.stdout}`);
      writeFileSync(join(CAPTURES, "report.html"), ansiToHtml(`$ ${command}\n${shown.stdout}`, command));
      if (!hasChromium) return;
      const { chromium } = await import("playwright-core");
      const browser = await chromium.launch({
        executablePath: "/usr/bin/chromium",
        args: ["--headless", "--no-sandbox"],
      });
      try {
        const page = await browser.newPage({ viewport: { width: 1300, height: 400 }, deviceScaleFactor: 1 });
        await page.setContent(ansiToHtml(`$ ${command}\n${shown.stdout}`, command));
        const shot = await page.locator("pre").screenshot({ path: join(CAPTURES, "report.png") });
        expect(shot.subarray(1, 4).toString()).toBe("PNG");
      } finally {
        await browser.close();
      }
    },
  );
});
