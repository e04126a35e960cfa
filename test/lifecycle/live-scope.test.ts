import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { NewDeploymentRow } from "../../src/store/schema.js";
import { dialects } from "../support/databases.js";
import { startTestApp, type TestApp } from "../support/test-app.js";

const DAY = 86_400_000;
const T0 = Date.parse("2027-01-01T00:00:00Z");
const TEAMS = ["risk", "growth", "rules"];
const ENVIRONMENTS = ["production", "staging", "eu-production"];

// /v1/check and /v1/lifecycle read only the live deployments of the team and environment asked
// for, filtered in SQL a page at a time: each answer must be the fleet-wide answer narrowed to
// that scope, across page boundaries (more than a page of 1,000 live deployments).
describe.each(dialects())(
  "the check gate and the lifecycle, scoped by team and environment (%s)",
  (dialect) => {
    let t: TestApp;

    beforeAll(async () => {
      t = await startTestApp(dialect, { now: T0 });
      const { models, deployments } = t.context.stores;
      const names = Array.from({ length: 40 }, (_, i) => `model-${i}`);
      await models.insertModels(
        names.map((name, i) => ({ name, owner_team: TEAMS[i % 3] as string, created_at: 0 })),
      );
      await models.insertVersions(
        names.map((model) => ({ model, model_version: "1", training_data_cutoff: 0, created_at: 0 })),
      );
      const rows: NewDeploymentRow[] = Array.from({ length: 2_400 }, (_, i) => ({
        model: names[i % names.length] as string,
        model_version: "1",
        environment: ENVIRONMENTS[Math.floor(i / 7) % 3] as string,
        owner_team: TEAMS[i % 3] as string,
        // Shadows and canaries only: any number of them may be live in one place.
        role: i % 2 === 0 ? "shadow" : "canary",
        // One in five has ended: never checked, never listed.
        status: i % 5 === 4 ? "retired" : "active",
        ended_at: i % 5 === 4 ? T0 - DAY : null,
        // Ages from a day to 400 days: fresh, due and expired under the default policy.
        deployment_date: T0 - ((i * 37) % 400) * DAY - DAY,
        training_data_cutoff: T0 - 500 * DAY,
        endpoint: null,
        tags: "{}",
        ttl_extension_seconds: 0,
        created_at: T0,
        created_by: "test",
      }));
      for (let i = 0; i < rows.length; i += 500) await deployments.insertDeployments(rows.slice(i, i + 500));
    });
    afterAll(async () => {
      await t?.close();
    });

    const get = async (url: string) => {
      const res = await t.request({ method: "GET", url });
      expect(res.statusCode, res.body).toBe(200);
      return res.json();
    };
    const scopes: { owner_team?: string; environment?: string }[] = [
      {},
      { owner_team: "risk" },
      { environment: "staging" },
      { owner_team: "growth", environment: "eu-production" },
      { owner_team: "nobody" },
    ];
    const query = (scope: { owner_team?: string; environment?: string }) =>
      new URLSearchParams(Object.entries(scope) as [string, string][]).toString();
    const inScope =
      (scope: { owner_team?: string; environment?: string }) =>
      (item: { owner_team: string; environment: string }) =>
        (!scope.owner_team || item.owner_team === scope.owner_team) &&
        (!scope.environment || item.environment === scope.environment);

    it("checks the deployments in scope, and fails on the same offenders the whole fleet's check names there", async () => {
      for (const failOn of ["due", "expired", "stale"]) {
        const fleet = await get(`/v1/check?fail_on=${failOn}`);
        expect(fleet.checked).toBe(1_920);
        for (const scope of scopes) {
          const scoped = await get(`/v1/check?fail_on=${failOn}&${query(scope)}`);
          const expected = fleet.offenders.filter(inScope(scope));
          if (scope.owner_team === "risk" && failOn !== "stale") expect(expected.length).toBeGreaterThan(0);
          expect(scoped.offenders.map((o: { id: number }) => o.id)).toEqual(
            expected.map((o: { id: number }) => o.id),
          );
          expect(scoped.offenders).toEqual(expected);
          expect(scoped.ok).toBe(expected.length === 0);
          const live = await t.context.database.db
            .selectFrom("deployments")
            .select((eb) => eb.fn.countAll<number>().as("n"))
            .where("status", "=", "active")
            .$if(scope.owner_team !== undefined, (q) =>
              q.where("owner_team", "=", scope.owner_team as string),
            )
            .$if(scope.environment !== undefined, (q) =>
              q.where("environment", "=", scope.environment as string),
            )
            .executeTakeFirstOrThrow();
          expect(scoped.checked).toBe(Number(live.n));
        }
      }
    });

    it("lists the lifecycle dates of the deployments in scope, as the whole fleet's list has them", async () => {
      const fleet = await get("/v1/lifecycle");
      expect(fleet.items).toHaveLength(1_920);
      for (const scope of scopes) {
        const scoped = await get(`/v1/lifecycle?${query(scope)}`);
        expect(scoped.items).toEqual(fleet.items.filter(inScope(scope)));
        if (scope.owner_team !== "nobody") expect(scoped.items.length).toBeGreaterThan(0);
      }
    });
  },
);
