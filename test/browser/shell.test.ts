import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type DemoServer,
  hasChromium,
  launchChromium,
  openPage,
  screenshot,
  startDemo,
} from "./support/dashboard.js";

describe.skipIf(!hasChromium())("the dashboard's shell", { timeout: 120_000 }, () => {
  let demo: DemoServer;
  let browser: Browser;
  beforeAll(async () => {
    [demo, browser] = await Promise.all([startDemo(), launchChromium()]);
  }, 180_000);
  afterAll(async () => {
    await browser?.close();
    await demo?.stop();
  });

  it("serves the dashboard at / and at every view's path, and JSON links to a client that asks for JSON", async () => {
    const html = await fetch(`${demo.url}/models/fraud-detector?environment=production`);
    expect(html.status).toBe(200);
    expect(html.headers.get("content-type")).toMatch(/^text\/html/);
    expect(await html.text()).toContain('<div id="app">');
    const json = await fetch(demo.url, { headers: { accept: "application/json" } });
    expect(await json.json()).toMatchObject({ name: "tenure", links: { openapi: "/openapi.json" } });
    const missing = await fetch(`${demo.url}/v1/nothing-here`, { headers: { accept: "text/html" } });
    expect(missing.status).toBe(404);
    expect(missing.headers.get("content-type")).toMatch(/problem\+json/);
  });

  it("moves between views from the keyboard and the history, in light and dark, with no console errors", async () => {
    for (const theme of ["light", "dark"] as const) {
      const { context, page, errors } = await openPage(browser, theme);
      await page.goto(`${demo.url}/`);
      await page.getByRole("link", { name: "Alerts" }).focus();
      await page.keyboard.press("Enter");
      await page.waitForURL(`${demo.url}/alerts`);
      await expect.poll(() => page.locator("h1").first().textContent()).toBe("Alerts");
      await page.goBack();
      await page.waitForURL(`${demo.url}/`);
      expect(await page.locator("html").getAttribute("data-theme")).toBe(theme);
      await screenshot(page, `shell-${theme}`);
      expect(errors).toEqual([]);
      await context.close();
    }
  });
});
