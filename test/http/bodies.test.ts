import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { dialects } from "../support/databases.js";
import { registration, startTestApp, type TestApp } from "../support/test-app.js";

const NOW = Date.parse("2026-11-25T12:00:00.000Z");

describe.each(dialects())("request bodies on %s", (dialect) => {
  let t: TestApp;
  let id: number;
  beforeEach(async () => {
    t = await startTestApp(dialect, { now: NOW });
    id = (await t.request({ method: "POST", url: "/v1/deployments", body: registration() })).json().id;
  });
  afterEach(async () => {
    await t.close();
  });

  const send = (url: string, body: string, contentType: string) =>
    t.request({ method: "POST", url, body, headers: { "content-type": contentType } });
  const count = async () => (await t.request({ method: "GET", url: "/v1/deployments" })).json().items.length;
  const samplesStored = async () =>
    (await t.context.database.db.selectFrom("drift_samples").selectAll().execute()).length;

  it("refuses a text/plain body on a JSON route with 415 naming the type sent and the type it takes, registering nothing", async () => {
    const res = await send("/v1/deployments", JSON.stringify(registration({ model: "other" })), "text/plain");
    expect(res.statusCode).toBe(415);
    expect(res.headers["content-type"]).toMatch(/^application\/problem\+json/);
    expect(res.json()).toMatchObject({
      type: "https://tenure.dev/problems/unsupported-media-type",
      status: 415,
      detail: "the body came as text/plain; POST /v1/deployments takes application/json",
    });
    const retire = await send(`/v1/deployments/${id}/retire`, "retire it", "text/plain; charset=utf-8");
    expect(retire.statusCode).toBe(415);
    expect(await count()).toBe(1);
  });

  it("refuses a CSV body on the samples route with 415 naming what was sent, what to send and where CSV goes, not fields the client never sent", async () => {
    const res = await send(`/v1/deployments/${id}/samples`, "amount,country\n12.5,de\n", "text/csv");
    expect(res.statusCode).toBe(415);
    const body = res.json();
    expect(body.detail).toBe(
      "the body came as text/csv; POST /v1/deployments/{id}/samples takes application/json; " +
        "CSV files go to POST /v1/deployments/{id}/reference",
    );
    expect(body.errors).toBeUndefined();
    const lines = await send(`/v1/deployments/${id}/samples`, '{"amount":1}\n', "application/x-ndjson");
    expect(lines.statusCode).toBe(415);
    expect(lines.json().detail).toContain("application/x-ndjson");
    expect(await samplesStored()).toBe(0);
  });

  it("answers CSV text sent as application/json with 400 malformed saying it looks like CSV and what to send", async () => {
    const res = await send(`/v1/deployments/${id}/samples`, "amount,country\n12.5,de\n", "application/json");
    expect(res.statusCode).toBe(400);
    const body = res.json();
    expect(body.type).toBe("https://tenure.dev/problems/malformed");
    expect(body.detail).toMatch(/^the body is not valid JSON \(it looks like CSV\): .+; send a JSON object/);
    expect(body.detail).toContain("text/csv to POST /v1/deployments/{id}/reference");
    expect(await samplesStored()).toBe(0);
  });

  it("still takes CSV and JSON Lines on the reference route", async () => {
    const csv = await send(`/v1/deployments/${id}/reference`, "amount\n1\n2\n3\n", "text/csv");
    expect(csv.statusCode, csv.body).toBe(200);
    const jsonl = await send(`/v1/deployments/${id}/reference`, '{"a":1}\n{"a":2}\n', "application/x-ndjson");
    expect(jsonl.statusCode, jsonl.body).toBe(200);
  });

  it.each([
    ['{"__proto__": {"admin": true}}', "__proto__", "__proto__"],
    ['{"rows": [{"amount": 1, "__proto__": 2}]}', "rows.0.__proto__", "__proto__"],
    [
      '{"rows": [{"constructor": {"prototype": {"x": 1}}}]}',
      "rows.0.constructor.prototype",
      "constructor.prototype",
    ],
  ])(
    "refuses valid JSON %s as a validation error naming the key and why, not as 'not valid JSON'",
    async (text, field, key) => {
      const res = await send(`/v1/deployments/${id}/samples`, text, "application/json");
      expect(res.statusCode).toBe(400);
      const body = res.json();
      expect(body.type).toBe("https://tenure.dev/problems/validation");
      expect(body.detail).not.toMatch(/not valid JSON/);
      expect(body.detail).toContain(`key ${key}`);
      expect(body.detail).toContain("prototype");
      expect(body.errors).toEqual([{ field, message: expect.stringContaining("prototype") }]);
      expect(await samplesStored()).toBe(0);
    },
  );

  it("takes a feature named constructor that holds no prototype", async () => {
    const res = await send(
      `/v1/deployments/${id}/samples`,
      '{"rows": [{"constructor": "x"}]}',
      "application/json",
    );
    expect(res.statusCode, res.body).toBe(200);
  });
});
