import { describe, expect, it } from "vitest";
import { dialects } from "../support/databases.js";
import { startTestApp } from "../support/test-app.js";

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
