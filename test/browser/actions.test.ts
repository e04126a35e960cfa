import { readFile } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { extname, join, normalize } from "node:path";
import { fileURLToPath } from "node:url";
import preact from "@preact/preset-vite";
import type { Browser, Page } from "playwright-core";
import { build } from "vite";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { tempDir } from "../support/process.js";
import {
  type DemoServer,
  hasChromium,
  launchChromium,
  openPage,
  SCREENSHOTS,
  startDemo,
} from "./support/dashboard.js";

const WEB = fileURLToPath(new URL("../../web/", import.meta.url));
const TYPES: Record<string, string> = {
  ".html": "text/html",
  ".js": "text/javascript",
  ".css": "text/css",
};

interface Model {
  environments: {
    environment: string;
    golden_version: string | null;
    live: { id: number; model_version: string; role: string; status: string }[];
  }[];
}

/**
 * The actions another page places (the model page's retire, set golden and roll back), driven in
 * Debian's Chromium from a harness page (web/harness) that holds them with the props a test gives.
 * The harness is built here with Vite and served beside a proxy to `tenure demo`, so each click
 * reaches the real API; every test checks what the dialog said against what the API then answers.
 */
describe.skipIf(!hasChromium())("the action buttons against a real server", { timeout: 120_000 }, () => {
  let demo: DemoServer;
  let browser: Browser;
  let harness: Server;
  let harnessUrl: string;
  const out = tempDir();

  const model = async (name: string) =>
    (await (await fetch(`${demo.url}/v1/models/${name}`)).json()) as Model;
  const environment = async (name: string, env: string) =>
    (await model(name)).environments.find((e) => e.environment === env);

  beforeAll(async () => {
    [demo, browser] = await Promise.all([
      startDemo(),
      launchChromium(),
      build({
        root: WEB,
        configFile: false,
        logLevel: "warn",
        plugins: [preact({ prerender: { enabled: false } })],
        build: {
          outDir: out.path,
          emptyOutDir: true,
          rollupOptions: { input: join(WEB, "harness/actions.html") },
        },
      }),
    ]);
    harness = createServer(async (request, response) => {
      const url = request.url ?? "/";
      if (url.startsWith("/v1/")) {
        const chunks: Buffer[] = [];
        for await (const chunk of request) chunks.push(chunk as Buffer);
        const headers: Record<string, string> = {};
        for (const name of ["authorization", "content-type", "accept"]) {
          const value = request.headers[name];
          if (typeof value === "string") headers[name] = value;
        }
        const answer = await fetch(`${demo.url}${url}`, {
          method: request.method,
          headers,
          ...(chunks.length ? { body: Buffer.concat(chunks) } : {}),
        });
        response.writeHead(answer.status, { "content-type": answer.headers.get("content-type") ?? "" });
        response.end(Buffer.from(await answer.arrayBuffer()));
        return;
      }
      if (url === "/favicon.ico") return void response.writeHead(204).end();
      const path = normalize(join(out.path, url.split("?")[0] ?? "/"));
      const body = path.startsWith(out.path) ? await readFile(path).catch(() => undefined) : undefined;
      if (!body) return void response.writeHead(404).end();
      response
        .writeHead(200, { "content-type": TYPES[extname(path)] ?? "application/octet-stream" })
        .end(body);
    });
    await new Promise<void>((done) => harness.listen(0, "127.0.0.1", done));
    harnessUrl = `http://127.0.0.1:${(harness.address() as AddressInfo).port}`;
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
    await demo?.stop();
    await new Promise((done) => harness?.close(done));
    out.remove();
  });

  async function open(
    props: Record<string, unknown>,
    signedIn = true,
  ): Promise<{ page: Page; errors: string[]; close(): Promise<void> }> {
    const { context, page, errors } = await openPage(browser);
    await page.goto(`${harnessUrl}/harness/actions.html?props=${encodeURIComponent(JSON.stringify(props))}`);
    if (signedIn) {
      await page.evaluate(`sessionStorage.setItem("tenure.token", ${JSON.stringify(demo.token)})`);
      await page.reload();
    }
    await page.locator("h1").waitFor();
    return { page, errors, close: () => context.close() };
  }

  it("sets the golden version after saying which version it replaces", async () => {
    const before = await environment("fraud-gbm", "production");
    expect(before?.golden_version).toBe("3.2.0");
    const { page, errors, close } = await open({
      golden: { model: "fraud-gbm", environment: "production", model_version: "3.1.0" },
    });
    await page.getByRole("button", { name: "Set golden…" }).click();
    const dialog = page.getByRole("dialog", { name: "Set the golden version of fraud-gbm" });
    await expect
      .poll(() => dialog.locator("p.consequence").textContent())
      .toBe("Make 3.1.0 the golden version of fraud-gbm in production, in place of 3.2.0.");
    await dialog.getByRole("button", { name: "Set golden" }).click();
    await expect.poll(() => page.locator("#done").textContent()).toBe("golden");
    expect((await environment("fraud-gbm", "production"))?.golden_version).toBe("3.1.0");
    expect(errors).toEqual([]);
    await close();
  });

  it("rolls back to the golden version: the live version becomes rolled_back and the golden serves again", async () => {
    const before = await environment("recs-seasonal", "production");
    const current = before?.live.find((d) => d.role === "primary");
    expect(current?.model_version).toBe("2026.autumn");
    expect(before?.golden_version).toBe("2026.summer");
    const { page, errors, close } = await open({
      rollback: {
        model: "recs-seasonal",
        environment: "production",
        currentVersion: "2026.autumn",
        goldenVersion: "2026.summer",
      },
    });
    await page.getByRole("button", { name: "Roll back…" }).click();
    const dialog = page.getByRole("dialog", { name: "Roll back recs-seasonal in production" });
    expect(await dialog.locator("p.consequence").textContent()).toBe(
      "Roll back production from 2026.autumn to the golden 2026.summer: 2026.autumn becomes rolled_back.",
    );
    await page.screenshot({ path: join(SCREENSHOTS, "rollback-dialog-light.png") });
    await dialog.getByRole("button", { name: "Roll back" }).click();
    await expect.poll(() => page.locator("#done").textContent()).toBe("rollback");
    const after = await environment("recs-seasonal", "production");
    expect(after?.live.find((d) => d.role === "primary")?.model_version).toBe("2026.summer");
    const ended = (await (await fetch(`${demo.url}/v1/deployments/${current?.id}`)).json()) as {
      status: string;
    };
    expect(ended.status).toBe("rolled_back");
    expect(errors).toEqual([]);
    await close();
  });

  it("rolls back to a chosen version where there is no golden one, and refuses the live version before asking the API", async () => {
    const before = await environment("search-ranker", "eu-production");
    expect(before?.golden_version).toBeNull();
    const { page, errors, close } = await open({
      rollback: {
        model: "search-ranker",
        environment: "eu-production",
        currentVersion: "12.1",
        goldenVersion: null,
      },
    });
    await page.getByRole("button", { name: "Roll back…" }).click();
    const dialog = page.getByRole("dialog");
    expect(await dialog.locator("p.consequence").textContent()).toBe(
      "search-ranker has no golden version in eu-production: choose the version to roll back to.",
    );
    await dialog.getByRole("button", { name: "Roll back" }).click();
    expect(await dialog.getByRole("alert").textContent()).toContain("Choose a version");
    await dialog.getByLabel("Roll back to").selectOption("12.0");
    expect(await dialog.locator("p.consequence").textContent()).toBe(
      "Roll back eu-production from 12.1 to 12.0: 12.1 becomes rolled_back.",
    );
    await dialog.getByRole("button", { name: "Roll back" }).click();
    await expect.poll(() => page.locator("#done").textContent()).toBe("rollback");
    const after = await environment("search-ranker", "eu-production");
    expect(after?.live.map((d) => d.model_version)).toEqual(["12.0"]);
    expect(errors).toEqual([]);
    await close();
  });

  it("retires a shadow after saying the primary keeps serving; a second retire is refused by the API (409) in words", async () => {
    const before = await environment("aml-graph", "production");
    const shadow = before?.live.find((d) => d.role === "shadow");
    expect(shadow?.model_version).toBe("1.0.0-rc1");
    const deployment = {
      id: shadow?.id,
      model: "aml-graph",
      model_version: "1.0.0-rc1",
      environment: "production",
    };
    const { page, errors, close } = await open({ retire: deployment });
    await page.getByRole("button", { name: "Retire…" }).click();
    const dialog = page.getByRole("dialog", { name: "Retire aml-graph 1.0.0-rc1 in production" });
    await expect
      .poll(() => dialog.locator("p.consequence").textContent())
      .toBe("Retire aml-graph 1.0.0-rc1 in production: it ends now and becomes retired.");
    expect(await dialog.locator(".consequence-details").textContent()).toContain(
      "It is a shadow: the primary keeps serving.",
    );
    await dialog.getByLabel("Reason (optional)").fill("the candidate lost its shadow comparison");
    await dialog.getByRole("button", { name: "Retire it" }).click();
    await expect.poll(() => page.locator("#done").textContent()).toBe("retire");
    const ended = (await (await fetch(`${demo.url}/v1/deployments/${shadow?.id}`)).json()) as {
      status: string;
    };
    expect(ended.status).toBe("retired");
    // The page still offers it: the server refuses, and the dialog says why.
    await page.getByRole("button", { name: "Retire…" }).click();
    const again = page.getByRole("dialog");
    await expect.poll(() => again.locator("p.consequence").textContent()).toContain("is already retired");
    await again.getByRole("button", { name: "Retire it" }).click();
    await again.getByRole("alert").waitFor();
    expect(await again.getByRole("alert").textContent()).toMatch(
      /^Nothing was changed \(409\)deployment \d+ is already retired/,
    );
    expect(errors.filter((e) => !/status of 409/.test(e))).toEqual([]);
    await close();
  });

  it("offers a reader without a token only to sign in, for every action", async () => {
    const { page, close } = await open(
      {
        review: { id: 1, model: "spell-correct", model_version: "1.0.0", environment: "production" },
        retire: { id: 1, model: "spell-correct", model_version: "1.0.0", environment: "production" },
        golden: { model: "spell-correct", environment: "production", model_version: "1.0.0" },
        rollback: {
          model: "spell-correct",
          environment: "production",
          currentVersion: "1.0.0",
          goldenVersion: null,
        },
        retry: { id: 1, alert_id: 1, channel: "slack", action: "open", state: "failed", attempts: 8 },
      },
      false,
    );
    expect(await page.locator("main button").allTextContents()).toEqual([
      "Sign in to review",
      "Sign in to retire",
      "Sign in to set the golden version",
      "Sign in to roll back",
      "Sign in to retry",
    ]);
    await close();
  });
});
