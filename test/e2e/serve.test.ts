import { existsSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import SqliteDatabase from "better-sqlite3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, dialects, type TestDatabase } from "../support/databases.js";
import {
  cells,
  deploymentIdIn,
  expectOneLineFailure,
  freePort,
  getOnNewConnection,
  lines,
  postAfterContinue,
  type RequestOutcome,
  runTenure,
  type ServeProcess,
  startServe,
  tempDir,
  waitUntilRefused,
} from "../support/process.js";
import { serveSandbox } from "../support/serve-sandbox.js";

const DAY_S = 86_400;
const DAY_MS = DAY_S * 1000;
/** Deployments registered before the SIGTERM test; a multiple of 20. */
const FLEET = 300;
/** Servers the SIGTERM test stops under load. */
const SHUTDOWNS = 3;

// Every suite below runs its tests at once: most of their time is child processes starting.
describe.concurrent("tenure serve as a process", { timeout: 60_000 }, () => {
  describe.concurrent.each(dialects())("tenure serve on %s", (dialect) => {
    /** A fresh database and working folder for one test; servers it starts are stopped after it. */
    async function fresh(onTestFinished: (fn: () => Promise<void>) => void) {
      const sandbox = await serveSandbox(onTestFinished, dialect);
      return { tenure: (...args: string[]) => sandbox.tenure(args), serve: () => sandbox.serve() };
    }

    it("answers GET /healthz and GET /openapi.json (an OpenAPI 3.1 document of the v1 routes), with nothing on stderr", async ({
      onTestFinished,
    }) => {
      const { serve } = await fresh(onTestFinished);
      const server = await serve();
      const health = await fetch(`${server.url}/healthz`);
      expect(health.status).toBe(200);
      expect(await health.json()).toMatchObject({ status: "ok", version: expect.any(String) });

      const openapi = await fetch(`${server.url}/openapi.json`);
      expect(openapi.status).toBe(200);
      const document = (await openapi.json()) as { openapi: string; paths: Record<string, unknown> };
      expect(document.openapi).toBe("3.1.0");
      expect(Object.keys(document.paths)).toEqual(
        expect.arrayContaining(["/v1/deployments", "/v1/deployments/{id}", "/healthz"]),
      );
      // Logs are JSON on stdout; stderr is for the one line of a failure, so a healthy start leaves it empty.
      expect(server.stderr()).toBe("");
    });

    it("serves GET /metrics to a read token, and nothing to a request without one", async ({
      onTestFinished,
    }) => {
      const { tenure, serve } = await fresh(onTestFinished);
      const created = await tenure("token", "create", "--scope", "read", "--name", "prometheus");
      expect(created.code, created.stderr).toBe(0);
      const token = created.stdout.trim();
      const server = await serve();
      expect((await fetch(`${server.url}/metrics`)).status).toBe(401);
      const scrape = await fetch(`${server.url}/metrics`, { headers: { authorization: `Bearer ${token}` } });
      expect(scrape.status).toBe(200);
      expect(scrape.headers.get("content-type")).toBe("text/plain; version=0.0.4; charset=utf-8");
      const text = await scrape.text();
      expect(text).toMatch(/^tenure_build_info\{version="\d+\.\d+\.\d+[^"]*"\} 1$/m);
      expect(text).toMatch(/^process_resident_memory_bytes \d+$/m);
      expect(text).toMatch(/^tenure_sweeps_total\{outcome="done"\} \d+$/m);
      expect(text).not.toContain(token);
    });

    it("a registration taken before SIGTERM whose body arrives after it is still stored (201), then the process exits 0", async ({
      onTestFinished,
    }) => {
      const { tenure, serve } = await fresh(onTestFinished);
      const created = await tenure("token", "create", "--scope", "write", "--name", "drain");
      expect(created.code, created.stderr).toBe(0);
      const running = await serve();
      const outcome = await postAfterContinue(
        `${running.url}/v1/deployments`,
        { authorization: `Bearer ${created.stdout.trim()}` },
        {
          model: "slow-body",
          model_version: "1.0.0",
          training_data_cutoff: "2020-01-01",
          owner_team: "risk",
        },
        // The server has routed the request (100 Continue); the body is sent only once it is
        // shutting down, which shows as its port refusing new connections.
        async () => {
          running.child.kill("SIGTERM");
          await waitUntilRefused(running.port);
        },
      );
      expect(outcome).toMatchObject({ kind: "response", status: 201 });
      expect(await running.exited).toEqual({ code: 0, signal: null });
      const listed = await tenure("ls", "--model", "slow-body", "--json");
      expect(JSON.parse(listed.stdout).items).toEqual([
        expect.objectContaining({ model: "slow-body", created_by: "token:drain" }),
      ]);
    });

    it("on SIGTERM exits 0 after finishing the requests it accepted: none gets a 5xx or is cut mid-response", async ({
      onTestFinished,
    }) => {
      const { tenure, serve } = await fresh(onTestFinished);
      const token = async (scope: string) => {
        const created = await tenure("token", "create", "--scope", scope);
        expect(created.code).toBe(0);
        return created.stdout.trim();
      };
      // One after the other: processes migrating one new SQLite file at once race (see below).
      const write = await token("write");
      const read = await token("read");
      const seeding = await serve();
      // A fleet big enough that each list takes a few milliseconds: requests queue up in the
      // server, so the signal lands while many are accepted and not yet answered.
      for (let batch = 0; batch < FLEET / 20; batch++) {
        const statuses = await Promise.all(
          Array.from({ length: 20 }, async (_, i) => {
            const response = await fetch(`${seeding.url}/v1/deployments`, {
              method: "POST",
              headers: { authorization: `Bearer ${write}`, "content-type": "application/json" },
              body: JSON.stringify({
                model: `model-${batch * 20 + i}`,
                model_version: "1.0.0",
                training_data_cutoff: "2020-01-01",
                owner_team: "risk",
              }),
            });
            await response.arrayBuffer();
            return response.status;
          }),
        );
        expect(new Set(statuses)).toEqual(new Set([201]));
      }
      await seeding.stop();

      // Where the signal lands among the requests varies from run to run, so stop a few servers.
      for (let round = 1; round <= SHUTDOWNS; round++) {
        const running = await serve();
        // Signal as soon as the first answer starts: the server is then working through the
        // other requests, and every one it took must still be answered 200.
        let firstAnswer: () => void = () => {};
        const answered = new Promise<void>((done) => {
          firstAnswer = done;
        });
        const outcomes = Array.from({ length: 50 }, () =>
          getOnNewConnection(
            `${running.url}/v1/deployments?limit=500`,
            { authorization: `Bearer ${read}` },
            firstAnswer,
          ),
        );
        await answered;
        running.child.kill("SIGTERM");
        const results = await Promise.all(outcomes);
        const exit = await running.exited;

        const completed = results.filter(
          (r): r is Extract<RequestOutcome, { kind: "response" }> =>
            r.kind === "response" && r.status === 200,
        );
        for (const r of completed) expect(JSON.parse(r.body).items).toHaveLength(FLEET);
        // Allowed: a complete 200, or no connection (refused, or reset before a byte of an answer).
        const broken = results.filter(
          (r) => !(r.kind === "response" && r.status === 200) && !(r.kind === "error" && !r.responseStarted),
        );
        const summary = broken.map((r) =>
          r.kind === "response" ? `${r.status} ${r.body}` : `${r.code} mid-response`,
        );
        expect(
          summary,
          `shutdown ${round}: ${broken.length} of 50 requests broken, ${completed.length} completed`,
        ).toEqual([]);
        expect(completed.length).toBeGreaterThan(0);
        expect(exit).toEqual({ code: 0, signal: null });
        expect(running.stdout()).toContain("tenure stopped");
      }

      const after = await tenure("ls", "--json");
      expect(after.code).toBe(0);
      expect(JSON.parse(after.stdout).items).toHaveLength(FLEET);
    });
  });

  describe("tenure serve on a database migrated by a newer Tenure", () => {
    let cwd: ReturnType<typeof tempDir>;
    beforeAll(() => {
      cwd = tempDir();
    });
    afterAll(() => cwd.remove());

    it("refuses to start with exit 1 and one line telling to upgrade Tenure", async () => {
      const file = join(cwd.path, "tenure.db");
      expect((await runTenure(["init", "--database", file], { cwd: cwd.path })).code).toBe(0);
      const handle = new SqliteDatabase(file);
      handle
        .prepare("insert into kysely_migration (name, timestamp) values (?, ?)")
        .run("9999-future", new Date().toISOString());
      handle.close();

      const port = String(await freePort());
      const result = await runTenure(["serve", "--database", file, "--port", port], { cwd: cwd.path });
      expect(result.code).toBe(1);
      expect(result.stdout).toBe("");
      expect(lines(result.stderr)).toHaveLength(1);
      expect(result.stderr).toMatch(/upgrade Tenure/i);
      expect(result.stderr).toContain("9999-future");
    });
  });

  describe("tenure serve and two tenure token create started together on a new SQLite file", () => {
    let cwd: ReturnType<typeof tempDir>;
    beforeAll(() => {
      cwd = tempDir();
    });
    afterAll(() => cwd.remove());

    it("all succeed: the file's first migration is not a race that one of them loses", async () => {
      // The race is narrow (about one new file in four loses it), so try several; every process
      // must succeed every time.
      for (let round = 0; round < 5; round++) {
        const file = join(cwd.path, `race-${round}.db`);
        const create = (scope: string) =>
          runTenure(["token", "create", "--scope", scope, "--database", file], { cwd: cwd.path });
        const [serve, write, read] = await Promise.allSettled([
          startServe({ cwd: cwd.path, database: file }),
          create("write"),
          create("read"),
        ]);
        if (serve.status === "fulfilled") await serve.value.stop();
        expect({
          serve: serve.status === "fulfilled" ? "healthy" : String(serve.reason),
          tokens: [write, read].map((r) =>
            r.status === "fulfilled" ? `${r.value.code} ${r.value.stderr.trim()}` : String(r.reason),
          ),
        }).toEqual({ serve: "healthy", tokens: ["0 ", "0 "] });
      }
    });
  });

  it("on a port in use exits 1 with one line naming the port and --port", async ({ onTestFinished }) => {
    const cwd = tempDir();
    const busy = createServer();
    await new Promise<void>((done) => busy.listen(0, "127.0.0.1", done));
    onTestFinished(async () => {
      await new Promise<void>((done) => busy.close(() => done()));
      cwd.remove();
    });
    const address = busy.address();
    const port = typeof address === "object" && address ? address.port : 0;
    const result = await runTenure(["serve", "--port", String(port), "--database", "busy.db"], {
      cwd: cwd.path,
    });
    expect(expectOneLineFailure(result, 1)).toBe(
      `tenure: port ${port} on 127.0.0.1 is in use: stop what listens there, or choose another with --port`,
    );
  });

  describe.concurrent.each(dialects())("tenure client commands against tenure serve on %s", (dialect) => {
    let database: TestDatabase;
    let serverDir: ReturnType<typeof tempDir>;
    let clientDir: ReturnType<typeof tempDir>;
    let server: ServeProcess;
    const tokens = { write: "", read: "" };

    beforeAll(async () => {
      database = await createTestDatabase(dialect);
      serverDir = tempDir();
      clientDir = tempDir();
      const create = async (...args: string[]) => {
        const result = await runTenure(["token", "create", ...args, "--database", database.url], {
          cwd: serverDir.path,
        });
        expect(result.code, result.stderr).toBe(0);
        return result.stdout.trim();
      };
      tokens.write = await create("--scope", "write", "--team", "risk", "--name", "ci-risk");
      tokens.read = await create("--scope", "read", "--name", "dashboard");
      server = await startServe({ cwd: serverDir.path, database: database.url });
    });
    afterAll(async () => {
      await server?.stop();
      await database?.drop();
      serverDir?.remove();
      clientDir?.remove();
    });

    /** Runs a client command in a folder with no database, so only the server can answer it. */
    const remote = (token: string | undefined, ...args: string[]) =>
      runTenure(args, { cwd: clientDir.path, env: { TENURE_URL: server.url, TENURE_TOKEN: token } });
    const cutoff = ["--trained-through", "2020-06-01"];

    it("deploy, ls, show and retire work through the server, recorded as the token", async () => {
      const deployed = await remote(
        tokens.write,
        "deploy",
        "fraud-gbm",
        "3.2.0",
        "--team",
        "risk",
        ...cutoff,
      );
      expect(deployed.code, deployed.stderr).toBe(0);
      expect(deployed.stdout).toMatch(/^deployed fraud-gbm 3\.2\.0 to production as primary: deployment \d+/);
      const id = deploymentIdIn(deployed.stdout);

      const listed = await remote(tokens.read, "ls", "--model", "fraud-gbm");
      expect(listed.code, listed.stderr).toBe(0);
      expect(cells(listed.stdout).slice(1)).toEqual([
        [
          String(id),
          "fraud-gbm",
          "3.2.0",
          "production",
          "risk",
          "primary",
          expect.stringMatching(/^\d+s$/),
          expect.stringMatching(/^\d+d$/),
          "-",
          "fresh",
          expect.stringMatching(/^\d+(\.\d)?$/),
          "keep",
        ],
      ]);

      const retired = await remote(tokens.write, "retire", String(id), "--reason", "done");
      expect(retired.code, retired.stderr).toBe(0);
      expect(retired.stdout).toMatch(new RegExp(`^retired deployment ${id} `));

      const shown = await remote(tokens.read, "show", String(id));
      expect(shown.code, shown.stderr).toBe(0);
      expect(shown.stdout).toContain(`deployment ${id}: fraud-gbm 3.2.0 in production (primary, retired)`);
      const events = cells(shown.stdout.split(/^events$/m)[1] ?? "").slice(1);
      expect(events.map((row) => [row[1], row[2]])).toEqual([
        ["deployed", "token:ci-risk"],
        ["retired", "token:ci-risk"],
      ]);
      expect(existsSync(join(clientDir.path, "tenure.db"))).toBe(false);
    });

    it("a read-scope token is refused on deploy: exit 1, one line about the scope, nothing registered", async () => {
      const result = await remote(tokens.read, "deploy", "read-attempt", "1.0", "--team", "risk", ...cutoff);
      const message = expectOneLineFailure(result, 1);
      expect(message).toMatch(/scope read/);
      expect(message).toMatch(/write/);
      const listed = await remote(tokens.read, "ls", "--model", "read-attempt", "--all", "--json");
      expect(JSON.parse(listed.stdout).items).toEqual([]);
    });

    it("without TENURE_TOKEN a change is refused with one line saying a token is needed", async () => {
      const result = await remote(undefined, "deploy", "no-token", "1.0", "--team", "risk", ...cutoff);
      const message = expectOneLineFailure(result, 1);
      expect(message).toMatch(/token/);
      expect(message).toMatch(/tenure token create/);
    });

    it("a team token cannot change another team's model: exit 1, one line naming both teams", async () => {
      const result = await remote(tokens.write, "deploy", "bid-shading", "7.1", "--team", "ads", ...cutoff);
      const message = expectOneLineFailure(result, 1);
      expect(message).toContain("risk");
      expect(message).toContain("ads");
    });

    it("a field the server refuses (400) exits 2 with one line naming the field", async () => {
      const tomorrow = new Date(Date.now() + DAY_MS).toISOString();
      const result = await remote(
        tokens.write,
        "deploy",
        "fraud-gbm",
        "3.3.0",
        "--team",
        "risk",
        ...cutoff,
        "--deployed-at",
        tomorrow,
      );
      const message = expectOneLineFailure(result, 2);
      expect(message).toMatch(/deployment_date|--deployed-at/);
    });
  });
});
