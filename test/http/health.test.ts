import pg from "pg";
import { describe, expect, it } from "vitest";
import { dialects } from "../support/databases.js";
import { pollUntil } from "../support/process.js";
import { registration, startTestApp } from "../support/test-app.js";

describe.each(dialects())("health on %s", (dialect) => {
  it("answers ok while the database answers, and 503 problem+json once it does not", async () => {
    const t = await startTestApp(dialect);
    try {
      const ok = await t.request({ method: "GET", url: "/healthz", token: null });
      expect(ok.statusCode).toBe(200);
      expect(ok.json()).toEqual({ status: "ok", version: "test" });
      await t.context.database.close();
      const down = await t.request({ method: "GET", url: "/healthz", token: null });
      expect(down.statusCode).toBe(503);
      expect(down.headers["content-type"]).toMatch(/problem\+json/);
      expect(down.json()).toMatchObject({ status: 503, detail: "the database does not answer" });
    } finally {
      await t.app.close();
      await t.database.drop();
    }
  });
});

// A connection lost in the middle of a request (a restart, a failover, an administrator's
// pg_terminate_backend): the request is answered 503 with Retry-After, the server goes on, and a
// registration whose batch lost its connection is registered once, on a fresh one.
describe.runIf(dialects().includes("postgres"))("a lost database connection on postgres", () => {
  it("answers 503 problem+json with Retry-After, and a registration's batch is replayed once", async () => {
    const t = await startTestApp("postgres");
    const admin = new pg.Client({ connectionString: t.database.url });
    await admin.connect();
    // Terminates the app's backend that waits for the lock this test holds, once it waits.
    // Inside a transaction PostgreSQL shows the activity it saw first, unless told to look again.
    const terminateWaiting = () =>
      pollUntil("a backend waiting for the lock", async () => {
        await admin.query("select pg_stat_clear_snapshot()");
        const { rows } = await admin.query<{ pid: number }>(
          `select pid from pg_stat_activity
            where datname = current_database() and pid <> pg_backend_pid() and wait_event_type = 'Lock'`,
        );
        const pid = rows[0]?.pid;
        if (pid === undefined) return undefined;
        await admin.query("select pg_terminate_backend($1)", [pid]);
        return pid;
      });
    try {
      expect(
        (await t.request({ method: "POST", url: "/v1/deployments", body: registration() })).statusCode,
      ).toBe(201);
      await admin.query("begin");
      await admin.query("lock table deployments in access exclusive mode");

      // inject() starts a request once it is awaited: Promise.resolve starts it now.
      const list = Promise.resolve(t.request({ method: "GET", url: "/v1/deployments" }));
      await terminateWaiting();
      const lost = await list;
      expect(lost.statusCode).toBe(503);
      expect(lost.headers["retry-after"]).toBe("1");
      expect(lost.headers["content-type"]).toMatch(/problem\+json/);
      expect(lost.json()).toMatchObject({ type: "https://tenure.dev/problems/unavailable", status: 503 });
      await admin.query("rollback");

      // A registration's batch writes the deployment's events (and its audit row, in the same
      // transaction). Only the events are locked now, so the connection lost is the batch's own.
      await admin.query("begin");
      await admin.query("lock table deployment_events in access exclusive mode");
      const registered = Promise.resolve(
        t.request({
          method: "POST",
          url: "/v1/deployments",
          body: registration({ model_version: "3.3.0" }),
        }),
      );
      const first = await terminateWaiting();
      // The batch is replayed on another connection, which waits for the lock in turn.
      await pollUntil("the replay waiting for the lock", async () => {
        await admin.query("select pg_stat_clear_snapshot()");
        const { rows } = await admin.query(
          `select 1 from pg_stat_activity
            where datname = current_database() and wait_event_type = 'Lock' and pid <> $1`,
          [first],
        );
        return rows.length > 0 || undefined;
      });
      await admin.query("rollback");
      const answer = await registered;
      expect(answer.statusCode).toBe(201);
      expect(answer.json()).toMatchObject({ model_version: "3.3.0", status: "active" });

      const all = await t.request({ method: "GET", url: "/v1/deployments?model=fraud-gbm" });
      expect(all.statusCode).toBe(200);
      expect(
        all.json().items.map((d: { model_version: string; status: string }) => [d.model_version, d.status]),
      ).toEqual([
        ["3.2.0", "superseded"],
        ["3.3.0", "active"],
      ]);
    } finally {
      await admin.end();
      await t.close();
    }
  });
  // Regression: the rollback after a lost connection fails too ("Client was closed and is not
  // queryable"), and that failure used to replace the lost connection's own error: a 500.
  it("answers a review whose transaction lost its connection 503 with Retry-After, not 500", async () => {
    const t = await startTestApp("postgres");
    const admin = new pg.Client({ connectionString: t.database.url });
    await admin.connect();
    try {
      const registered = await t.request({ method: "POST", url: "/v1/deployments", body: registration() });
      expect(registered.statusCode).toBe(201);
      const id = registered.json().id as number;
      await admin.query("begin");
      await admin.query("lock table deployments in access exclusive mode");
      const review = Promise.resolve(
        t.request({ method: "POST", url: `/v1/deployments/${id}/review`, body: { note: "still fine" } }),
      );
      await pollUntil("the review's backend waiting for the lock", async () => {
        await admin.query("select pg_stat_clear_snapshot()");
        const { rows } = await admin.query<{ pid: number }>(
          `select pid from pg_stat_activity
            where datname = current_database() and pid <> pg_backend_pid() and wait_event_type = 'Lock'`,
        );
        const pid = rows[0]?.pid;
        if (pid === undefined) return undefined;
        await admin.query("select pg_terminate_backend($1)", [pid]);
        return pid;
      });
      await admin.query("rollback");
      const lost = await review;
      expect({ status: lost.statusCode, retry_after: lost.headers["retry-after"] }).toEqual({
        status: 503,
        retry_after: "1",
      });
      expect(lost.json()).toMatchObject({ type: "https://tenure.dev/problems/unavailable", status: 503 });
      const again = await t.request({
        method: "POST",
        url: `/v1/deployments/${id}/review`,
        body: { note: "still fine" },
      });
      expect(again.statusCode).toBe(200);
    } finally {
      await admin.end();
      await t.close();
    }
  });
});
