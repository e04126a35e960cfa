import http from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { EgressPolicy } from "../../src/egress-policy.js";
import { OutboundError, requestJson } from "../../src/integrations/outbound-http.js";

/** The fakes listen on 127.0.0.1: private egress is allowed here, as a test opts in. */
const egress = EgressPolicy.allowPrivate();

type Answer = { status: number; body?: string; headers?: Record<string, string>; hang?: boolean };

/** A server that gives the answers in order (the last one again once they run out) and records each request. */
async function scripted(answers: Answer[]) {
  const seen: { url: string; authorization?: string; body: string }[] = [];
  const server = http.createServer((request, response) => {
    let body = "";
    request.on("data", (chunk) => {
      body += chunk;
    });
    request.on("end", () => {
      seen.push({ url: request.url ?? "", authorization: request.headers.authorization, body });
      const answer = answers[Math.min(seen.length - 1, answers.length - 1)] as Answer;
      if (answer.hang) return;
      response.writeHead(answer.status, { "content-type": "application/json", ...answer.headers });
      response.end(answer.body ?? "");
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  servers.push(server);
  return { url, seen };
}

const servers: http.Server[] = [];
afterEach(async () => {
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
});

/** Records the waits instead of waiting them. */
function recordedSleep() {
  const waits: number[] = [];
  return { waits, sleep: async (ms: number) => void waits.push(ms) };
}

describe("requestJson", () => {
  it("retries 429 and 5xx, waits what Retry-After asks, and returns the JSON that finally comes", async () => {
    const { url, seen } = await scripted([
      { status: 429, headers: { "retry-after": "7" }, body: '{"error_code":"REQUEST_LIMIT_EXCEEDED"}' },
      { status: 503 },
      { status: 200, body: '{"registered_models":[]}' },
    ]);
    const { waits, sleep } = recordedSleep();
    const body = await requestJson(
      { url: `${url}/api/2.0/x` },
      { egress, sleep, random: () => 0.5, baseDelayMs: 100 },
    );
    expect(body).toEqual({ registered_models: [] });
    expect(seen).toHaveLength(3);
    expect(waits[0]).toBe(7_000);
    expect(waits[1]).toBe(100);
  });

  it("does not retry a 4xx that another attempt cannot fix, and names the server's message", async () => {
    const { url, seen } = await scripted([
      {
        status: 404,
        body: '{"error_code":"RESOURCE_DOES_NOT_EXIST","message":"Registered Model with name=x not found"}',
      },
    ]);
    const error = await requestJson({ url }, { egress, sleep: async () => {} }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OutboundError);
    expect(error).toMatchObject({
      status: 404,
      attempts: 1,
      body: { error_code: "RESOURCE_DOES_NOT_EXIST" },
    });
    expect((error as Error).message).toMatch(/HTTP 404: Registered Model with name=x not found/);
    expect(seen).toHaveLength(1);
  });

  it("gives up after its attempts with the last status, and never shows the token or the query", async () => {
    const { url, seen } = await scripted([{ status: 500, body: "boom" }]);
    const error = await requestJson(
      { url: `${url}/search?token=secret-in-query`, headers: { authorization: "Bearer secret-token-123" } },
      { egress, attempts: 3, sleep: async () => {} },
    ).catch((e: unknown) => e);
    expect(error).toMatchObject({ status: 500, attempts: 3 });
    expect(seen.map((s) => s.authorization)).toEqual(Array(3).fill("Bearer secret-token-123"));
    const shown = `${(error as Error).message} ${JSON.stringify(error)}`;
    expect(shown).not.toContain("secret");
    expect((error as Error).message).toContain(`GET ${url}/search failed: HTTP 500: boom`);
  });

  it("times out an attempt that hangs and retries it", async () => {
    const { url, seen } = await scripted([
      { status: 200, hang: true },
      { status: 200, body: "{}" },
    ]);
    expect(await requestJson({ url }, { egress, timeoutMs: 200, sleep: async () => {} })).toEqual({});
    expect(seen).toHaveLength(2);
  });

  it("fails at once rather than wait a Retry-After longer than it allows", async () => {
    const { url, seen } = await scripted([{ status: 429, headers: { "retry-after": "3600" } }]);
    const error = await requestJson({ url }, { egress, sleep: async () => {} }).catch((e: unknown) => e);
    expect(error).toMatchObject({ status: 429, attempts: 1 });
    expect(seen).toHaveLength(1);
  });

  it("refuses a success whose body is not JSON, and sends a JSON body as JSON", async () => {
    const { url, seen } = await scripted([{ status: 200, body: "<html>login</html>" }]);
    const error = await requestJson(
      { method: "POST", url, body: { a: 1 } },
      { egress, sleep: async () => {} },
    ).catch((e: unknown) => e);
    expect((error as Error).message).toMatch(/not JSON/);
    expect(seen[0]?.body).toBe('{"a":1}');
  });

  it("reports a server that is not there as a network failure after its attempts", async () => {
    const { url } = await scripted([{ status: 200 }]);
    await Promise.all(servers.splice(0).map((s) => new Promise((resolve) => s.close(resolve))));
    const error = await requestJson({ url }, { egress, attempts: 2, sleep: async () => {} }).catch(
      (e: unknown) => e,
    );
    expect(error).toMatchObject({ status: null, attempts: 2 });
    expect((error as Error).message).toMatch(/ECONNREFUSED/);
  });
});
