import { randomBytes } from "node:crypto";
import { writeFileSync } from "node:fs";
import http, { type IncomingMessage } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, dialects, type TestDatabase } from "../support/databases.js";
import { mlflowDelivery } from "../support/mlflow-deliveries.js";
import { pollUntil, runTenure, type ServeProcess, startServe, tempDir } from "../support/process.js";

/**
 * Issue 19, point 3: secrets (tokens, webhook URLs and secrets, routing keys, the MLflow token,
 * the database password) never appear in logs, errors, /metrics or /openapi.json. The secrets are
 * planted in a real `tenure serve` logging at debug, every outside system it talks to fails and
 * echoes what it was sent back in its error, and every log line and every response is searched.
 */

const DAY_MS = 86_400_000;

/** A value that can only appear where a secret leaked: random, and long enough not to occur by chance. */
function secret(prefix: string, bytes = 16): string {
  return `${prefix}${randomBytes(bytes).toString("hex")}`;
}

/**
 * A server that fails every request (400 for a webhook target, 500 for the rest) and echoes the request (line, headers, body) in its
 * error: the worst an outside system can do to a message that quotes its answer.
 */
interface EchoServer {
  url: string;
  requests: { url: string; headers: IncomingMessage["headers"]; body: string }[];
  close(): Promise<void>;
}

async function startEchoServer(): Promise<EchoServer> {
  const requests: EchoServer["requests"] = [];
  const server = http.createServer((request, response) => {
    let body = "";
    request.setEncoding("utf8");
    request.on("data", (chunk: string) => {
      body += chunk;
    });
    request.on("end", () => {
      requests.push({ url: request.url ?? "", headers: request.headers, body });
      // A webhook target's 400 is final: its delivery is dead-lettered at once, and logged.
      const status = request.url?.startsWith("/hooks/") ? 400 : 500;
      response.writeHead(status, { "content-type": "application/json" });
      response.end(
        JSON.stringify({
          error_code: "INTERNAL_ERROR",
          message: `failed ${request.method} ${request.url} ${JSON.stringify(request.headers)} ${body}`,
        }),
      );
    });
  });
  await new Promise<void>((done) => server.listen(0, "127.0.0.1", done));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () =>
      new Promise((done) => {
        server.closeAllConnections();
        server.close(() => done());
      }),
  };
}

const POLICIES = `
channels:
  team-slack: { type: slack, url: "\${SLACK_URL}", timeout: 2s }
  oncall: { type: pagerduty, routing_key: "\${PD_KEY}", url: "\${PD_URL}", timeout: 2s }
  pipeline:
    type: webhook
    url: "\${HOOK_URL}"
    secret: "\${HOOK_SECRET}"
    headers: { authorization: "Bearer \${HOOK_HEADER_TOKEN}" }
    timeout: 2s
policies:
  - name: short
    match: { model: "fraud-*" }
    max_age: 30d
    notify: { due: [team-slack, oncall, pipeline], expired: [team-slack, oncall, pipeline] }
`;

interface Secrets {
  slack: string;
  pagerduty: string;
  hook_secret: string;
  hook_header: string;
  mlflow_webhook: string;
  mlflow_token: string;
  admin_token: string;
  database_password?: string;
}

describe.each(dialects())("secrets never leave tenure serve on %s", { timeout: 120_000 }, (dialect) => {
  let secrets: Secrets;
  const captured: { what: string; text: string }[] = [];
  let echo: EchoServer;
  let database: TestDatabase;
  let cwd: ReturnType<typeof tempDir>;
  let server: ServeProcess | undefined;
  let databaseUrl: string;

  beforeAll(async () => {
    echo = await startEchoServer();
    database = await createTestDatabase(dialect);
    cwd = tempDir();
    secrets = {
      slack: secret("slackpath", 12),
      pagerduty: secret("", 16), // 32 hex characters, as PagerDuty's keys are
      hook_secret: secret("hooksecret"),
      hook_header: secret("hookheader"),
      mlflow_webhook: secret("mlflowhook"),
      mlflow_token: secret("mlflowtoken"),
      admin_token: "",
    };
    databaseUrl = database.url;
    if (dialect === "postgres") {
      // The shared server trusts local connections and ignores it; it is there to be kept out of sight.
      secrets.database_password = secret("dbpassword");
      const url = new URL(database.url);
      url.password = secrets.database_password;
      databaseUrl = url.toString();
    }
    const policies = join(cwd.path, "policies.yaml");
    writeFileSync(policies, POLICIES);
    const env = {
      SLACK_URL: `${echo.url}/services/T0000/B0000/${secrets.slack}`,
      PD_KEY: secrets.pagerduty,
      PD_URL: `${echo.url}/v2/enqueue`,
      HOOK_URL: `${echo.url}/hooks/tenure`,
      HOOK_SECRET: secrets.hook_secret,
      HOOK_HEADER_TOKEN: secrets.hook_header,
      TENURE_POLICIES: policies,
      TENURE_LOG_LEVEL: "debug",
      TENURE_MLFLOW_URL: `${echo.url}/mlflow`,
      TENURE_MLFLOW_TOKEN: secrets.mlflow_token,
      TENURE_MLFLOW_WEBHOOK_SECRET: secrets.mlflow_webhook,
    };
    const tenure = (...args: string[]) =>
      runTenure([...args, "--database", databaseUrl], { cwd: cwd.path, env });
    const init = await tenure("init");
    expect(init.code, init.stderr).toBe(0);
    const past = new Date(Date.now() - 40 * DAY_MS).toISOString();
    const deployed = await tenure(
      "deploy",
      "fraud-gbm",
      "1",
      "--team",
      "risk",
      "--trained-through",
      past.slice(0, 10),
      "--deployed-at",
      past,
    );
    expect(deployed.code, deployed.stderr).toBe(0);
    const created = await tenure("token", "create", "--scope", "admin", "--name", "leak-test");
    expect(created.code, created.stderr).toBe(0);
    secrets.admin_token = created.stdout.trim();
    expect(secrets.admin_token).toMatch(/^tnr_/);
    for (const [what, result] of [
      ["init", init],
      ["deploy", deployed],
    ] as const) {
      captured.push({ what: `tenure ${what}`, text: result.stdout + result.stderr });
    }
    server = await startServe({ cwd: cwd.path, database: databaseUrl, env });
  });

  afterAll(async () => {
    await server?.stop();
    await echo?.close();
    await database?.drop();
    cwd?.remove();
  });

  /** One request to the running server; its status, headers and body are kept for the search. */
  async function call(
    method: string,
    path: string,
    options: { headers?: Record<string, string>; body?: string } = {},
  ): Promise<{ status: number; text: string }> {
    if (!server) throw new Error("the server is not running");
    const res = await fetch(`${server.url}${path}`, {
      method,
      headers: options.headers,
      body: options.body,
    });
    const text = await res.text();
    captured.push({
      what: `${method} ${path} → ${res.status}`,
      text: `${JSON.stringify([...res.headers.entries()])}\n${text}`,
    });
    return { status: res.status, text };
  }

  it("shows no token, webhook URL or secret, routing key, MLflow credential or database password anywhere", async () => {
    const admin = { authorization: `Bearer ${secrets.admin_token}` };
    const json = { ...admin, "content-type": "application/json" };

    // Requests that succeed, public and authenticated.
    for (const path of ["/", "/healthz", "/openapi.json"]) expect((await call("GET", path)).status).toBe(200);
    for (const path of [
      "/metrics",
      "/v1/deployments",
      "/v1/deployments/1",
      "/v1/deployments/1/events",
      "/v1/deployments/1/timeline",
      "/v1/deployments/1/policy",
      "/v1/models/fraud-gbm",
      "/v1/fleet",
      "/v1/lifecycle",
      "/v1/check",
      "/v1/sweeps",
      "/v1/routes",
    ]) {
      const res = await call("GET", path, { headers: admin });
      expect(res.status, `${path}: ${res.text}`).toBe(200);
    }
    // A calendar subscription carries its token in the query: the access log must not keep it.
    expect((await call("GET", `/v1/calendar.ics?token=${secrets.admin_token}`)).status).toBe(200);
    expect((await call("POST", "/v1/policies/reload", { headers: json, body: "{}" })).status).toBe(200);

    // Requests that fail: bad credentials carrying the real token, bad input, unknown paths.
    for (const authorization of [
      `Bearer ${secrets.admin_token}x`,
      `Bearer ${secrets.admin_token} extra`,
      `Basic ${Buffer.from(`admin:${secrets.admin_token}`).toString("base64")}`,
      secrets.admin_token,
    ]) {
      expect((await call("GET", "/v1/deployments", { headers: { authorization } })).status).toBe(401);
    }
    expect((await call("GET", `/v1/nowhere?token=${secrets.admin_token}`, { headers: admin })).status).toBe(
      404,
    );
    expect((await call("POST", "/v1/deployments", { headers: json, body: "{not json" })).status).toBe(400);
    expect((await call("POST", "/v1/deployments", { headers: json, body: "{}" })).status).toBe(400);
    expect((await call("GET", "/v1/deployments/999999", { headers: admin })).status).toBe(404);

    // MLflow's webhook: forged, then signed (its look-up at MLflow fails and echoes the token).
    const delivery = mlflowDelivery({
      secret: secrets.mlflow_webhook,
      event: "model_version_alias.created",
      data: { name: "fraud-gbm", alias: "champion", version: "2" },
      at: Date.now(),
    });
    const forged = { ...delivery.headers, "x-mlflow-signature": "v1,AAAA" };
    expect((await call("POST", "/v1/hooks/mlflow", { headers: forged, body: delivery.body })).status).toBe(
      401,
    );
    const signed = await call("POST", "/v1/hooks/mlflow", { headers: delivery.headers, body: delivery.body });
    expect(signed.status, signed.text).toBeGreaterThanOrEqual(400);

    // The server swept at start: each channel's delivery fails against the echoing receiver.
    const sweep = await call("POST", "/v1/sweeps", { headers: json, body: "{}" });
    expect([201, 409], sweep.text).toContain(sweep.status);
    const paths = ["/services/T0000/B0000/", "/v2/enqueue", "/hooks/tenure"];
    await pollUntil("a failed attempt on every channel", () =>
      paths.every((p) => echo.requests.some((r) => r.url.startsWith(p))) ? true : undefined,
    );
    await pollUntil("the failed attempts in the deliveries", async () => {
      const res = await fetch(`${server?.url}/v1/deliveries`, { headers: admin });
      const items = ((await res.json()) as { items: { attempts: number }[] }).items;
      return items.length >= 3 && items.every((d) => d.attempts > 0) ? true : undefined;
    });
    for (const state of ["", "?state=pending", "?state=failed"]) {
      expect((await call("GET", `/v1/deliveries${state}`, { headers: admin })).status).toBe(200);
    }
    expect((await call("GET", "/v1/alerts", { headers: admin })).status).toBe(200);
    expect((await call("GET", "/metrics", { headers: admin })).status).toBe(200);

    // The secrets were live: each reached the system it is for, so finding none below means something.
    const sent = JSON.stringify(echo.requests);
    expect(echo.requests.some((r) => r.url.endsWith(secrets.slack))).toBe(true);
    expect(sent).toContain(secrets.pagerduty);
    expect(sent).toContain(secrets.hook_header);
    expect(sent).toContain(secrets.mlflow_token);

    if (!server) throw new Error("the server is not running");
    await server.stop();
    const log = `${server.stdout()}\n${server.stderr()}`;
    // Debug logging was on: the search covers access logs, not only warnings.
    expect(log).toMatch(/"msg":"incoming request"/);
    // ... and the failures: a dead-lettered delivery and MLflow's failed look-up are in it.
    expect(log).toMatch(/dead-lettered/);
    expect(log).toMatch(/MLflow did not answer the webhook's look-up/);
    captured.push({ what: "the server's log", text: log });

    const leaks: string[] = [];
    for (const [name, value] of Object.entries(secrets)) {
      if (!value) continue;
      for (const form of new Set([value, encodeURIComponent(value)])) {
        for (const { what, text } of captured) {
          const at = text.indexOf(form);
          if (at >= 0) leaks.push(`${name} in ${what}: …${text.slice(Math.max(0, at - 120), at + 40)}…`);
        }
      }
    }
    expect(leaks).toEqual([]);
  });
});
