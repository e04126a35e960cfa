import { readFileSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { dirname, join } from "node:path";
import SqliteDatabase from "better-sqlite3";
import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { pollUntil, runTenure } from "../support/process.js";
import {
  type DemoServer,
  hasChromium,
  launchChromium,
  openPage,
  SCREENSHOTS,
  screenshot,
  startDemo,
} from "./support/dashboard.js";

interface Alert {
  id: number;
  deployment_id: number;
  kind: string;
  state: string;
  model: string;
  model_version: string;
  environment: string;
  owner_team: string;
  resolution: string | null;
}

interface Delivery {
  id: number;
  alert_id: number;
  channel: string;
  action: string;
  state: string;
  attempts: number;
  last_error: string | null;
}

/** The refusals this suite causes on purpose: the browser logs each failed request as an error. */
const DELIBERATE = /Failed to load resource: the server responded with a status of (401|403)/;

/**
 * The alerts, deliveries and sweeps pages and the actions on them, driven in Debian's Chromium
 * against `tenure demo` (public reads, an admin token). The suite tells one story: a reader looks
 * without a token, signs in, reviews an alert, and the review's notice fails at a webhook that
 * refuses it, to be retried from the deliveries page.
 */
describe.skipIf(!hasChromium())(
  "alerts, deliveries and sweeps in the dashboard",
  { timeout: 120_000 },
  () => {
    let demo: DemoServer;
    let browser: Browser;
    let receiver: Server;
    let refusing = true;
    const received: string[] = [];

    const get = async <T>(path: string): Promise<T> => {
      const response = await fetch(`${demo.url}${path}`);
      expect(response.status).toBe(200);
      return (await response.json()) as T;
    };
    const openAlerts = async () => (await get<{ items: Alert[] }>("/v1/alerts?state=open&limit=500")).items;

    beforeAll(async () => {
      receiver = createServer((request, response) => {
        request.resume();
        received.push(request.url ?? "");
        if (request.url === "/ops") {
          response.writeHead(503, { "retry-after": "3600", "content-type": "text/plain" }).end("maintenance");
        } else if (refusing) {
          response.writeHead(410, { "content-type": "text/plain" }).end("the pipeline is paused");
        } else response.writeHead(202).end();
      });
      await new Promise<void>((done) => receiver.listen(0, "127.0.0.1", done));
      [demo, browser] = await Promise.all([startDemo(), launchChromium()]);
      // The demo's policies route no findings to channels. Route `expired` to a webhook that refuses
      // (410 Gone is not retried), so a review's notice is dead-lettered at once, and `due` to one
      // under maintenance (503, Retry-After an hour), so its notice waits to be retried.
      const policies = join(dirname(demo.database), "demo-policies.yaml");
      const port = (receiver.address() as AddressInfo).port;
      writeFileSync(
        policies,
        readFileSync(policies, "utf8").replace(
          "defaults:\n",
          `channels:\n  pipeline: { type: webhook, url: "http://127.0.0.1:${port}/retrain" }\n` +
            `  ops: { type: webhook, url: "http://127.0.0.1:${port}/ops" }\n` +
            "defaults:\n  notify: { due: [ops], expired: [pipeline] }\n",
        ),
      );
      const reload = await fetch(`${demo.url}/v1/policies/reload`, {
        method: "POST",
        headers: { authorization: `Bearer ${demo.token}`, "content-type": "application/json" },
        body: "{}",
      });
      expect(reload.status).toBe(200);
    }, 180_000);

    afterAll(async () => {
      await browser?.close();
      await demo?.stop();
      await new Promise((done) => receiver?.close(done));
    });

    async function alertsPage(theme: "light" | "dark" = "light", path = "/alerts") {
      const opened = await openPage(browser, theme);
      await opened.page.goto(`${demo.url}${path}`);
      await opened.page.locator("tr[data-alert], .empty").first().waitFor();
      return opened;
    }

    const unexpected = (errors: string[]) => errors.filter((e) => !DELIBERATE.test(e));

    it("lists every open alert the API counts, with its deployment, severity, times and state, in light and dark", async () => {
      const open = await openAlerts();
      expect(open.length).toBeGreaterThan(5);
      for (const theme of ["light", "dark"] as const) {
        const { context, page, errors } = await alertsPage(theme);
        await expect.poll(() => page.locator("tr[data-alert]").count()).toBe(open.length);
        const tally = page.locator(".tally > div").first();
        expect(await tally.textContent()).toBe(`${open.length}open`);
        const first = open[0] as Alert;
        const row = page.locator(`tr[data-alert="${first.id}"]`);
        expect(await row.locator("a").first().getAttribute("href")).toBe(
          `/models/${first.model}?environment=${first.environment}`,
        );
        expect(await row.textContent()).toContain(first.model_version);
        expect(await row.locator(".badge.state-open").textContent()).toBe("open");
        await screenshot(page, `alerts-${theme}`);
        expect(unexpected(errors)).toEqual([]);
        await context.close();
      }
    });

    it("keeps the kind and state filters in the URL: a shared link shows the same list", async () => {
      const expired = (await openAlerts()).filter((a) => a.kind === "expired");
      expect(expired.length).toBeGreaterThan(0);
      const { context, page } = await alertsPage();
      await page.getByLabel("Kind").selectOption("expired");
      await page.waitForURL(/kind=expired/);
      await expect.poll(() => page.locator("tr[data-alert]").count()).toBe(expired.length);
      await page.reload();
      await expect.poll(() => page.locator("tr[data-alert]").count()).toBe(expired.length);
      await page.getByRole("button", { name: "Resolved" }).click();
      await page.waitForURL(/state=resolved/);
      expect(page.url()).toContain("kind=expired");
      await context.close();
    });

    it("lets an anonymous reader look but not act: the review asks to sign in and the API refuses a review without a token", async () => {
      const [alert] = await openAlerts();
      const { context, page } = await alertsPage();
      const button = page.locator(`tr[data-alert="${alert?.id}"] button`);
      expect(await button.textContent()).toBe("Sign in to review");
      const status = await page.evaluate(async (id) => {
        const response = await fetch(`/v1/deployments/${id}/review`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ note: "anonymous" }),
        });
        return response.status;
      }, alert?.deployment_id);
      expect(status).toBe(401);
      await button.click();
      const signIn = page.getByRole("dialog", { name: "Sign in" });
      expect(await signIn.textContent()).toContain("To review, sign in with an API token.");
      await page.keyboard.press("Escape");
      await signIn.waitFor({ state: "detached" });
      await context.close();
    });

    it("refuses a wrong token at sign-in with a clear message, then signs in with the demo's token and reviews an alert, which resolves", async () => {
      const open = await openAlerts();
      const alert = open.find((a) => a.kind === "expired") as Alert;
      const others = open.filter((a) => a.deployment_id === alert.deployment_id && a.id !== alert.id);
      const deployment = await get<{ age: { ttl_seconds: number } }>(
        `/v1/deployments/${alert.deployment_id}`,
      );
      const ttlDays = deployment.age.ttl_seconds / 86_400;
      const { context, page, errors } = await alertsPage();
      await page.locator(`tr[data-alert="${alert.id}"] button`).click();
      const signIn = page.getByRole("dialog", { name: "Sign in" });
      await signIn.getByLabel("API token").fill("tnr_not-a-real-token");
      await signIn.getByRole("button", { name: "Sign in" }).click();
      await signIn.getByRole("alert").waitFor();
      expect(await signIn.getByRole("alert").textContent()).toContain("That token was refused (401)");
      await signIn.getByLabel("API token").fill(demo.token);
      await signIn.getByRole("button", { name: "Sign in" }).click();
      // Signed in, the reader lands in the review they asked for.
      const dialog = page.getByRole("dialog", {
        name: `Review ${alert.model} ${alert.model_version} in ${alert.environment}`,
      });
      await dialog.waitFor();
      const note = dialog.getByLabel("Note (required): what did you check?");
      await note.fill("AUC 0.93 on last week's labels; retraining in January");
      await dialog.getByRole("button", { name: "+30d" }).click();
      const sentence = dialog.locator("p.consequence");
      await expect
        .poll(() => sentence.textContent())
        .toBe(
          `Review ${alert.model} ${alert.model_version} in ${alert.environment}: the alert 'expired' resolves; ` +
            `its TTL is extended by 30d, to ${ttlDays + 30}d.`,
        );
      // The viewport, not the full page: the modal's backdrop covers the viewport.
      await page.screenshot({ path: join(SCREENSHOTS, "review-dialog-light.png") });
      await note.fill("");
      await dialog.getByRole("button", { name: "Record the review" }).click();
      expect(await dialog.getByRole("alert").textContent()).toBe(
        "The review needs a note (400)Say what you checked: the note is kept with the review.",
      );
      expect((await openAlerts()).length).toBe(open.length);
      await note.fill("AUC 0.93 on last week's labels; retraining in January");
      await dialog.getByRole("button", { name: "Record the review" }).click();
      await dialog.waitFor({ state: "detached" });
      await page.locator(`tr[data-alert="${alert.id}"]`).waitFor({ state: "detached" });
      await page.getByRole("status").filter({ hasText: "Reviewed" }).waitFor();
      await expect.poll(() => page.locator("tr[data-alert]").count()).toBe(open.length - 1);
      const after = await get<{ items: Alert[] }>(`/v1/alerts?deployment_id=${alert.deployment_id}&limit=50`);
      expect(after.items.find((a) => a.id === alert.id)).toMatchObject({
        state: "resolved",
        resolution: "reviewed",
      });
      // Only the age alert resolves: any other alert of that deployment stays open.
      for (const other of others.filter((a) => a.kind !== "due")) {
        expect(after.items.find((a) => a.id === other.id)?.state).toBe("open");
      }
      expect((await openAlerts()).length).toBe(open.length - 1);
      expect(unexpected(errors)).toEqual([]);
      await context.close();
    });

    it("opens the review dialog with Enter and closes it with Escape, focus back on the button", async () => {
      const { context, page } = await alertsPage();
      await page.evaluate(`sessionStorage.setItem("tenure.token", ${JSON.stringify(demo.token)})`);
      await page.reload();
      const button = page.locator("tr[data-alert] button").first();
      await button.waitFor();
      expect(await button.textContent()).toBe("Review…");
      await button.focus();
      await page.keyboard.press("Enter");
      const dialog = page.getByRole("dialog");
      await dialog.waitFor();
      expect(await page.evaluate("document.activeElement?.tagName")).toBe("TEXTAREA");
      await page.keyboard.press("Escape");
      await dialog.waitFor({ state: "detached" });
      expect(await page.evaluate("document.activeElement?.textContent")).toBe("Review…");
      // Again in the dark theme, for a look at the dialog there.
      await page.getByRole("button", { name: "Switch to dark theme" }).click();
      await button.focus();
      await page.keyboard.press("Enter");
      await dialog
        .getByLabel("Note (required): what did you check?")
        .fill("Precision holds on the holdout set");
      await dialog.getByRole("button", { name: "+60d" }).click();
      await page.screenshot({ path: join(SCREENSHOTS, "review-dialog-dark.png") });
      await page.keyboard.press("Escape");
      await dialog.waitFor({ state: "detached" });
      await context.close();
    });

    it("shows a token bound to another team the API's refusal (403) in the dialog, and changes nothing", async () => {
      const created = await runTenure(
        [
          "token",
          "create",
          "--database",
          demo.database,
          "--scope",
          "write",
          "--team",
          "growth",
          "--name",
          "growth-bot",
        ],
        { cwd: dirname(demo.database) },
      );
      expect(created.code).toBe(0);
      const token = created.stdout.trim();
      const open = await openAlerts();
      const alert = open.find((a) => a.owner_team !== "growth") as Alert;
      const { context, page, errors } = await alertsPage();
      await page.evaluate(`sessionStorage.setItem("tenure.token", ${JSON.stringify(token)})`);
      await page.reload();
      await page.locator(`tr[data-alert="${alert.id}"] button`).click();
      const dialog = page.getByRole("dialog");
      await dialog.getByLabel("Note (required): what did you check?").fill("looked at it");
      await dialog.getByRole("button", { name: "Record the review" }).click();
      const problem = dialog.getByRole("alert");
      await problem.waitFor();
      expect(await problem.textContent()).toBe(
        `This token may not do that (403)this token belongs to team growth and cannot change team ${alert.owner_team}'s models`,
      );
      expect((await openAlerts()).length).toBe(open.length);
      expect(unexpected(errors)).toEqual([]);
      await context.close();
    });

    it("offers to resolve an alert no sweep closes (a failed canary) instead of a review, and it closes with the note recorded", async () => {
      const canaries = await get<{
        items: {
          id: number;
          model: string;
          model_version: string;
          environment: string;
          owner_team: string;
        }[];
      }>("/v1/deployments?role=canary&status=active");
      const canary = canaries.items[0];
      expect(canary).toBeDefined();
      // Only the gateway's canary analysis opens this kind; the demo runs none, so the alert is
      // written as that analysis writes it.
      const db = new SqliteDatabase(demo.database);
      db.pragma("busy_timeout = 5000");
      const now = Date.now();
      const { lastInsertRowid } = db
        .prepare(
          "INSERT INTO alerts (deployment_id, kind, state, severity, policy, model, model_version, environment, owner_team, summary, detail, opened_at, last_notified_at, resolved_at, resolution) " +
            "VALUES (?, 'canary_failed', 'open', 'error', 'default', ?, ?, ?, ?, ?, '{}', ?, ?, NULL, NULL)",
        )
        .run(
          canary?.id,
          canary?.model,
          canary?.model_version,
          canary?.environment,
          canary?.owner_team,
          `${canary?.model} ${canary?.model_version} in ${canary?.environment} failed its canary analysis: error rate 4.1% against 0.9%`,
          now,
          now,
        );
      db.close();
      const id = Number(lastInsertRowid);
      const { context, page, errors } = await alertsPage("light", "/alerts?kind=canary_failed");
      await page.evaluate(`sessionStorage.setItem("tenure.token", ${JSON.stringify(demo.token)})`);
      await page.reload();
      const row = page.locator(`tr[data-alert="${id}"]`);
      await row.getByRole("button", { name: "Resolve…" }).click();
      const dialog = page.getByRole("dialog", { name: "Resolve the 'canary_failed' alert" });
      expect(await dialog.locator("p.consequence").textContent()).toBe(
        `Resolve the alert 'canary_failed' of ${canary?.model} ${canary?.model_version} in ${canary?.environment} as acknowledged: it closes now.`,
      );
      await dialog
        .getByLabel("Note (required): what was done about it?")
        .fill("bad feature join, fixed in the next build");
      await dialog.getByRole("button", { name: "Resolve it" }).click();
      await row.waitFor({ state: "detached" });
      const after = await get<{ items: Alert[] }>(`/v1/alerts?deployment_id=${canary?.id}&limit=50`);
      expect(after.items.find((a) => a.id === id)).toMatchObject({
        state: "resolved",
        resolution: "acknowledged",
      });
      const events = await get<{ items: { type: string; data: { note?: string } }[] }>(
        `/v1/deployments/${canary?.id}/events`,
      );
      expect(events.items.at(-1)).toMatchObject({
        type: "alert_resolved",
        data: { note: "bad feature join, fixed in the next build" },
      });
      // Every other open alert is closed by its sweep or a review: none offers to be resolved by hand.
      await page.goto(`${demo.url}/alerts`);
      await page.locator("tr[data-alert]").first().waitFor();
      expect(await page.getByRole("button", { name: "Resolve…" }).count()).toBe(0);
      expect(unexpected(errors)).toEqual([]);
      await context.close();
    });

    it("shows the review's notice dead-lettered by a webhook that refuses it, and a retry from the page delivers it", async () => {
      const failed = await pollUntil("the review's notice to be dead-lettered", async () => {
        const { items } = await get<{ items: Delivery[] }>("/v1/deliveries?state=failed");
        return items[0];
      });
      expect(failed).toMatchObject({ channel: "pipeline", action: "resolve", attempts: 1 });
      expect(failed.last_error).toContain("410");
      const due = (await openAlerts()).find((a) => a.kind === "due") as Alert;
      const reviewed = await fetch(`${demo.url}/v1/deployments/${due.deployment_id}/review`, {
        method: "POST",
        headers: { authorization: `Bearer ${demo.token}`, "content-type": "application/json" },
        body: JSON.stringify({ note: "checked", extend_seconds: 30 * 86_400 }),
      });
      expect(reviewed.status).toBe(200);
      const waiting = await pollUntil("the due alert's notice to wait for a retry", async () => {
        const { items } = await get<{ items: Delivery[] }>("/v1/deliveries?state=pending");
        return items.find((d) => d.channel === "ops" && d.attempts === 1);
      });
      const all = (await get<{ items: Delivery[] }>("/v1/deliveries")).items;
      for (const theme of ["light", "dark"] as const) {
        const { context, page, errors } = await openPage(browser, theme);
        await page.goto(`${demo.url}/deliveries`);
        await expect.poll(() => page.locator("tr[data-delivery]").count()).toBe(all.length);
        const row = page.locator(`tr[data-delivery="${failed.id}"]`);
        expect(await row.locator(".badge").last().textContent()).toBe("failed");
        expect(await row.textContent()).toContain("pipeline");
        await row.getByRole("button", { name: "▸ 1" }).click();
        expect(await page.locator("tr.attempt-log").textContent()).toContain("410");
        expect(await row.getByRole("button", { name: "Sign in to retry" }).count()).toBe(1);
        const retrying = page.locator(`tr[data-delivery="${waiting.id}"]`);
        expect(await retrying.locator(".badge").last().textContent()).toBe("retrying");
        expect(await retrying.textContent()).toMatch(/HTTP 503: maintenance.*in (59m|1h)/);
        await screenshot(page, `deliveries-${theme}`);
        expect(unexpected(errors)).toEqual([]);
        await context.close();
      }
      refusing = false;
      const { context, page, errors } = await openPage(browser);
      await page.goto(`${demo.url}/deliveries?state=failed`);
      await page.evaluate(`sessionStorage.setItem("tenure.token", ${JSON.stringify(demo.token)})`);
      await page.reload();
      const row = page.locator(`tr[data-delivery="${failed.id}"]`);
      await row.getByRole("button", { name: "Retry…" }).click();
      const dialog = page.getByRole("dialog", { name: `Retry delivery ${failed.id}` });
      expect(await dialog.locator("p.consequence").textContent()).toContain(
        `delivery ${failed.id} goes back to pending with its attempts reset from 1 to 0`,
      );
      await dialog.getByRole("button", { name: "Send it again" }).click();
      await page
        .getByRole("status")
        .filter({ hasText: `Delivery ${failed.id} is queued again` })
        .waitFor();
      await pollUntil("the retried notice to be delivered", async () => {
        const { items } = await get<{ items: Delivery[] }>(`/v1/deliveries?alert_id=${failed.alert_id}`);
        return items.find((d) => d.id === failed.id && d.state === "delivered");
      });
      await page.getByRole("button", { name: "Refresh" }).click();
      await page.getByText("No failed deliveries").waitFor();
      await screenshot(page, "deliveries-empty-light");
      expect(received.filter((path) => path === "/retrain").length).toBe(2);
      expect(unexpected(errors)).toEqual([]);
      await context.close();
    });

    it("lists the demo's sweeps with trigger, duration, stages and findings, as the API logs them", async () => {
      const sweeps = (
        await get<{ items: { id: number; trigger: string; stages: Record<string, number> }[] }>("/v1/sweeps")
      ).items;
      expect(sweeps.length).toBeGreaterThan(0);
      for (const theme of ["light", "dark"] as const) {
        const { context, page, errors } = await openPage(browser, theme);
        await page.goto(`${demo.url}/sweeps`);
        await expect.poll(() => page.locator("tr[data-sweep]").count()).toBe(sweeps.length);
        const demoSweep = sweeps.find((s) => s.trigger === "manual");
        const row = page.locator(`tr[data-sweep="${demoSweep?.id}"]`);
        expect(await row.textContent()).toContain("manual");
        expect(await row.locator(".stage-counts").textContent()).toBe(
          `${demoSweep?.stages.fresh ?? 0} fresh${demoSweep?.stages.due ?? 0} due${demoSweep?.stages.expired ?? 0} expired`,
        );
        await screenshot(page, `sweeps-${theme}`);
        expect(errors).toEqual([]);
        await context.close();
      }
    });
  },
);
