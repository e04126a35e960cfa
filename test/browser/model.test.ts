import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { formatDuration } from "../../src/core/duration.js";
import {
  type DemoServer,
  hasChromium,
  launchChromium,
  openPage,
  SCREENSHOTS,
  screenshot,
  startDemo,
} from "./support/dashboard.js";

interface Perf {
  metric: { name: string } | null;
  deployments: {
    role: string;
    target: number | null;
    baseline: number | null;
    windows: { state: string }[];
  }[];
}

/**
 * The series Age vs Performance must draw for an answer of the performance read: the primaries'
 * metric, their windows below target (when any), target, baseline, the deployment age, and a
 * line per shadow or canary with metrics.
 */
function expectedSeries(perf: Perf): number {
  const primaries = perf.deployments.filter((d) => d.role === "primary");
  const others = perf.deployments.filter((d) => d.role !== "primary" && d.windows.length > 0);
  return (
    1 +
    (primaries.some((d) => d.windows.some((w) => w.state === "below")) ? 1 : 0) +
    (primaries.some((d) => d.target !== null) ? 1 : 0) +
    (primaries.some((d) => d.baseline !== null) ? 1 : 0) +
    1 +
    others.length
  );
}

interface Decay {
  curve: { slope_per_day: number } | null;
  reason: string | null;
  suggestion: { current_max_age_seconds: number; suggested_max_age_seconds: number; reason: string } | null;
  forecast: { model_version: string; breach_in_seconds: number } | null;
}

interface Mark {
  kind: string;
  x: number;
  y: number;
}

/**
 * Whether the decay chart's canvas holds `variable`'s colour (a theme variable) near each mark: some
 * pixel within a few pixels of it of that colour, at least as opaque as `alpha` (a band is translucent).
 */
function markColours(page: Page, checks: { kind: string; variable: string; alpha: number }[]) {
  return page.$eval(
    ".decay-chart",
    (chart, checks) => {
      // The root tsconfig has no DOM library: the few browser objects read here, typed by hand.
      type Canvas = {
        getContext(kind: "2d"): { getImageData(...box: number[]): { data: ArrayLike<number> } };
      };
      type Window = {
        getComputedStyle(element: unknown): { getPropertyValue(name: string): string };
        document: { documentElement: unknown };
      };
      const element = chart as unknown as {
        dataset: Record<string, string | undefined>;
        querySelector(selector: string): unknown;
      };
      const ctx = (element.querySelector("canvas") as Canvas).getContext("2d");
      const marks = JSON.parse(element.dataset.marks ?? "[]") as Mark[];
      const window = globalThis as unknown as Window;
      const style = window.getComputedStyle(window.document.documentElement);
      return checks.map(({ kind, variable, alpha }) => {
        const mark = marks.find((m) => m.kind === kind);
        if (!mark) return `${kind}: not drawn`;
        const hex = style.getPropertyValue(variable).trim();
        const want = [1, 3, 5].map((i) => Number.parseInt(hex.slice(i, i + 2), 16));
        const { data } = ctx.getImageData(mark.x - 3, mark.y - 6, 7, 13);
        for (let i = 0; i < data.length; i += 4) {
          const close = want.every((c, k) => Math.abs((data[i + k] as number) - c) <= 24);
          if (close && (data[i + 3] as number) >= alpha) return `${kind}: drawn`;
        }
        return `${kind}: not ${variable} at (${mark.x}, ${mark.y})`;
      });
    },
    checks,
  );
}

/** The 404 a missing model answers is logged by the browser as a failed resource: expected there. */
const unexpected = (errors: string[]) => errors.filter((e) => !/status of 404/.test(e));

describe.skipIf(!hasChromium())("the model page", { timeout: 180_000 }, () => {
  let demo: DemoServer;
  let browser: Browser;
  const api = async <T>(path: string): Promise<T> => {
    const res = await fetch(`${demo.url}${path}`);
    expect(res.status, path).toBe(200);
    return (await res.json()) as T;
  };
  /** What the page must show for a model in an environment, from the API. */
  const truth = async (model: string, environment: string) => {
    const [perf, deployments, events, view] = await Promise.all([
      api<Perf>(`/v1/models/${model}/performance?environment=${environment}`),
      api<{ items: { id: number }[] }>(`/v1/deployments?model=${model}&environment=${environment}&limit=500`),
      api<{ items: { environment: string }[] }>(`/v1/models/${model}/events`),
      api<{ environments: { environment: string; live: unknown[] }[] }>(`/v1/models/${model}`),
    ]);
    return {
      series: expectedSeries(perf),
      deploymentIds: deployments.items.map((d) => String(d.id)).sort(),
      events: events.items.filter((e) => e.environment === environment).length,
      live: view.environments.find((e) => e.environment === environment)?.live.length ?? 0,
    };
  };
  const shown = async (page: Page) => {
    await page.locator(".age-chart[data-series]").waitFor();
    await page.locator(".event-list li").first().waitFor();
    const ids = await page
      .locator(".timeline [data-deployment-id]")
      .evaluateAll((els) => els.map((el) => el.getAttribute("data-deployment-id") ?? ""));
    return {
      series: Number(await page.locator(".age-chart").getAttribute("data-series")),
      deploymentIds: ids.sort(),
      events: await page.locator(".event-list li").count(),
      live: await page.locator('[data-slot="deployment-actions"]').count(),
    };
  };

  beforeAll(async () => {
    [demo, browser] = await Promise.all([startDemo(), launchChromium()]);
  }, 180_000);
  afterAll(async () => {
    await browser?.close();
    await demo?.stop();
  });

  it("fraud-gbm in production: Age vs Performance draws the metric, the dip below target, target, baseline and age; a bar per deployment; every event; light and dark", async () => {
    const expected = await truth("fraud-gbm", "production");
    // The demo's fraud-gbm versions decay with age, and the oldest fell below its target.
    expect(expected.series).toBe(5);
    expect(expected.deploymentIds.length).toBeGreaterThanOrEqual(5);
    for (const theme of ["light", "dark"] as const) {
      const { context, page, errors } = await openPage(browser, theme);
      await page.goto(`${demo.url}/models/fraud-gbm?environment=production`);
      expect(await shown(page)).toEqual(expected);
      const legend = await page.locator(".age-chart .u-legend .u-label").allTextContents();
      expect(legend).toEqual([
        "time",
        "auc (primary)",
        "below target",
        "target",
        "baseline (offline)",
        "deployment age (days)",
      ]);
      expect(await page.locator('[data-slot="environment-actions"]').getAttribute("data-environment")).toBe(
        "production",
      );
      await expect
        .poll(() => page.locator(".event-list li").first().textContent())
        .toContain("3.3.0 rolled back to 3.2.0");
      expect(await page.locator(".drift-table tbody tr").count()).toBeGreaterThanOrEqual(3);
      await screenshot(page, `model-${theme}`);
      expect(errors).toEqual([]);
      await context.close();
    }
  });

  it("fraud-gbm's decay: the fitted curve over deployment age with its band, the live version's crossing on the threshold, and the suggested TTL beside the current one; light and dark", async () => {
    const { decay } = await api<{ decay: Decay }>("/v1/models/fraud-gbm/performance?environment=production");
    // The demo's fraud-gbm versions each decay with age: enough history for a curve and a forecast.
    expect(decay.curve?.slope_per_day).toBeLessThan(0);
    const suggestion = decay.suggestion as NonNullable<Decay["suggestion"]>;
    const forecast = decay.forecast as NonNullable<Decay["forecast"]>;
    expect(suggestion.suggested_max_age_seconds).not.toBe(suggestion.current_max_age_seconds);
    for (const theme of ["light", "dark"] as const) {
      const { context, page, errors } = await openPage(browser, theme);
      await page.goto(`${demo.url}/models/fraud-gbm?environment=production`);
      const chart = page.locator(".decay-chart[data-marks]");
      await chart.waitFor();
      const ttl = page.locator(".decay-ttl");
      expect(await ttl.textContent()).toBe(
        `TTL ${formatDuration(suggestion.current_max_age_seconds)} · suggested ${formatDuration(suggestion.suggested_max_age_seconds)}`,
      );
      expect(await ttl.getAttribute("title")).toBe(suggestion.reason);
      expect(await page.locator(".decay-reason").textContent()).toBe(suggestion.reason);
      expect(await page.locator(".decay-chart .u-legend .u-label").allTextContents()).toEqual([
        "age",
        `${forecast.model_version} (live)`,
        "earlier versions",
        "decay curve",
        "steep end",
        "gentle end",
        "threshold",
        `forecast (${forecast.model_version})`,
      ]);
      expect(await page.locator(".decay-forecast").textContent()).toContain(
        `${forecast.model_version} crosses in ~${formatDuration(forecast.breach_in_seconds)}`,
      );
      // Each mark is on the canvas in its colour: read back from the pixels, not from the DOM.
      expect(
        await markColours(page, [
          { kind: "curve", variable: "--accent", alpha: 200 },
          { kind: "band", variable: "--accent", alpha: 20 },
          { kind: "crossing", variable: "--bad", alpha: 250 },
          { kind: "ttl", variable: "--fg", alpha: 100 },
          { kind: "suggested", variable: "--ok", alpha: 100 },
        ]),
      ).toEqual(["curve: drawn", "band: drawn", "crossing: drawn", "ttl: drawn", "suggested: drawn"]);
      // The whole page with the decay is model-light.png and model-dark.png: this is the panel close up.
      await page.locator(".decay").screenshot({ path: `${SCREENSHOTS}/model-decay-${theme}.png` });
      expect(errors).toEqual([]);
      await context.close();
    }
  });

  it("a model without a curve gets a short note saying why, and its TTL with no suggestion, not an empty chart", async () => {
    const { decay } = await api<{ decay: Decay }>(
      "/v1/models/spell-correct/performance?environment=production",
    );
    expect(decay.curve).toBeNull();
    const { context, page, errors } = await openPage(browser, "light");
    await page.goto(`${demo.url}/models/spell-correct?environment=production`);
    const note = page.locator('.decay[data-decay="none"] .decay-note');
    await note.waitFor();
    const reason = decay.reason as string;
    expect(await note.textContent()).toBe(
      `No decay curve yet. ${reason.charAt(0).toUpperCase()}${reason.slice(1)}.`,
    );
    expect(await page.locator(".decay-chart").count()).toBe(0);
    expect(await page.locator(".decay-ttl").textContent()).toMatch(/^TTL \d+d · no suggestion$/);
    await page
      .locator(".panel:has(#age-performance)")
      .screenshot({ path: `${SCREENSHOTS}/model-decay-none-light.png` });
    expect(errors).toEqual([]);
    await context.close();
  });

  it("the environment lives in the URL: a tab switches to staging, back returns to production, a reload keeps the view", async () => {
    const [production, staging] = await Promise.all([
      truth("fraud-gbm", "production"),
      truth("fraud-gbm", "staging"),
    ]);
    const { context, page, errors } = await openPage(browser, "light");
    await page.goto(`${demo.url}/models/fraud-gbm?environment=production`);
    expect(await shown(page)).toEqual(production);
    await page.locator(".env-tabs").getByRole("link", { name: "staging" }).click();
    await page.waitForURL(/environment=staging/);
    await expect.poll(async () => (await shown(page)).deploymentIds).toEqual(staging.deploymentIds);
    expect(await shown(page)).toEqual(staging);
    await page.reload();
    expect(await shown(page)).toEqual(staging);
    await page.goBack();
    await page.waitForURL(/environment=production/);
    await expect.poll(async () => (await shown(page)).deploymentIds).toEqual(production.deploymentIds);
    expect(errors).toEqual([]);
    await context.close();
  });

  it("an unknown model shows the API's 404 as a clear message; a model with no metrics says how to send them", async () => {
    const { context, page, errors } = await openPage(browser, "light");
    await page.goto(`${demo.url}/models/no-such-model`);
    const alert = page.getByRole("alert");
    await alert.waitFor();
    expect(await alert.textContent()).toContain("model no-such-model does not exist");
    expect(await page.getByRole("link", { name: "Back to the fleet" }).count()).toBe(1);

    const created = await fetch(`${demo.url}/v1/deployments`, {
      method: "POST",
      headers: { authorization: `Bearer ${demo.token}`, "content-type": "application/json" },
      body: JSON.stringify({
        model: "brand-new",
        model_version: "1.0",
        owner_team: "growth",
        training_data_cutoff: "2026-11-01",
      }),
    });
    expect(created.status).toBe(201);
    const id = ((await created.json()) as { id: number }).id;
    await page.goto(`${demo.url}/models/brand-new`);
    const empty = page.locator(".empty");
    await empty.waitFor();
    expect(await empty.textContent()).toContain("No metrics in production yet");
    expect(await empty.textContent()).toContain(`/v1/deployments/${id}/metrics`);
    expect(await page.locator(".timeline [data-deployment-id]").count()).toBe(1);
    await screenshot(page, "model-empty-light");
    expect(unexpected(errors)).toEqual([]);
    await context.close();
  });
});
