import { type ChildProcess, spawn } from "node:child_process";
import { mkdirSync } from "node:fs";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { type Browser, type BrowserContext, chromium, type Page } from "playwright-core";
import { hasExternalTool } from "../../support/external-tool.js";
import { cleanEnv, freePort, lines, pollUntil, TENURE_BIN, tempDir } from "../../support/process.js";

export const CHROMIUM = "/usr/bin/chromium";
/** Whether Debian's Chromium is here; prints one line (or fails under CI=true) when it is not. */
export const hasChromium = (): boolean => hasExternalTool(CHROMIUM, "apt-get install chromium");

export const SCREENSHOTS = resolve(
  fileURLToPath(new URL("../../../test-results/screenshots/", import.meta.url)),
);

/** The flags a headless Chromium needs on a machine with no network and no sandbox (as root). */
const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--disable-dev-shm-usage",
];

export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, headless: true });
}

export interface DemoServer {
  url: string;
  /** The demo's admin token, as `tenure demo` prints it. */
  token: string;
  database: string;
  stop(): Promise<void>;
}

/**
 * `tenure demo` on a free port, from its own folder: the demo fleet, served with public reads.
 * `extraArgs` pass through (e.g. a larger fleet). Needs `npm run build` first.
 */
export async function startDemo(extraArgs: string[] = []): Promise<DemoServer> {
  const folder = tempDir();
  const port = await freePort();
  const database = join(folder.path, "demo.db");
  const child: ChildProcess = spawn(
    process.execPath,
    [TENURE_BIN, "demo", "--port", String(port), "--database", database, ...extraArgs],
    { cwd: folder.path, env: cleanEnv(), stdio: ["ignore", "pipe", "pipe"] },
  );
  let stdout = "";
  let stderr = "";
  child.stdout?.setEncoding("utf8").on("data", (chunk: string) => {
    stdout += chunk;
  });
  child.stderr?.setEncoding("utf8").on("data", (chunk: string) => {
    stderr += chunk;
  });
  const exited = new Promise<void>((done) => child.on("exit", () => done()));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
    await exited;
    folder.remove();
  };
  try {
    const token = await pollUntil(
      "the demo to print its token",
      () => {
        if (child.exitCode !== null) throw new Error(`tenure demo exited early:\n${stderr}`);
        const line = lines(stdout).find((l) => l.includes("TENURE_TOKEN="));
        return line ? /TENURE_TOKEN=(\S+)/.exec(line)?.[1] : undefined;
      },
      120_000,
      50,
    );
    const url = `http://127.0.0.1:${port}`;
    await pollUntil("the demo to answer", async () => {
      const health = await fetch(`${url}/healthz`).catch(() => undefined);
      return health?.status === 200 ? true : undefined;
    });
    return { url, token, database, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** A page at 1280×800 in the given theme, collecting the console's errors for the test to check. */
export async function openPage(
  browser: Browser,
  theme: "light" | "dark" = "light",
): Promise<{ context: BrowserContext; page: Page; errors: string[] }> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, colorScheme: theme });
  const page = await context.newPage();
  const errors: string[] = [];
  page.on("console", (message) => {
    if (message.type() === "error") errors.push(message.text());
  });
  page.on("pageerror", (error) => errors.push(error.message));
  return { context, page, errors };
}

/** Saves a full-page screenshot as test-results/screenshots/NAME.png, for a person to look at. */
export async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(SCREENSHOTS, { recursive: true });
  const path = join(SCREENSHOTS, `${name}.png`);
  await page.screenshot({ path, fullPage: true });
  return path;
}
