import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { userInfo } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openDatabase } from "../../src/store/database.js";
import { migrateToLatest } from "../../src/store/migrate.js";
import { storesOf } from "../../src/store/stores.js";
import {
  createTestDatabase,
  dialects,
  missingTestDatabase,
  type TestDatabase,
} from "../support/databases.js";
import {
  cells,
  cleanEnv,
  deploymentIdIn,
  expectOneLineFailure,
  lines,
  runTenure,
  type ServeProcess,
  startServe,
  TENURE_BIN,
  tempDir,
} from "../support/process.js";
import { newRow, T0 } from "../support/registry-fixture.js";

const DAY_MS = 86_400_000;
const HOUR_MS = 3_600_000;
const COMMANDS = [
  "init",
  "serve",
  "gateway",
  "deploy",
  "ls",
  "show",
  "review",
  "retire",
  "golden",
  "rollback",
  "canary",
  "sweep",
  "alerts",
  "deliveries",
  "check",
  "report",
  "gate",
  "drift",
  "shadow",
  "ghosts",
  "sync",
  "policy",
  "token",
  "audit",
  "backup",
  "restore",
  "prune",
  "demo",
];

/** `count` live shadows of one model, a second apart, written straight to a new database. */
async function seedShadows(url: string, count: number): Promise<void> {
  const database = openDatabase(url);
  try {
    await migrateToLatest(database);
    const { models, deployments } = storesOf(database);
    await models.insertModels([{ name: "ranker", owner_team: "t0", created_at: T0 }]);
    await models.insertVersions([
      { model: "ranker", model_version: "1", training_data_cutoff: T0 - 1, created_at: T0 },
    ]);
    const rows = Array.from({ length: count }, (_, i) =>
      newRow("ranker", { deployment_date: T0 + i * 1000 }),
    );
    for (let at = 0; at < rows.length; at += 250)
      await deployments.insertDeployments(rows.slice(at, at + 250));
  } finally {
    await database.close();
  }
}

/** How events name the CLI when it writes to the database itself. */
const CLI_ACTOR = `cli:${userInfo().username}`;

/** An instant `days` whole days and one hour ago, so ages print as exactly `${days}d`. */
const daysAgo = (days: number): string => new Date(Date.now() - days * DAY_MS - HOUR_MS).toISOString();

interface Deployment {
  id: number;
  model: string;
  model_version: string;
  environment: string;
  owner_team: string;
  role: string;
  status: string;
}

interface Event {
  type: string;
  actor: string;
  data: Record<string, unknown>;
}

// Every suite below runs its tests at once: most of their time is child processes starting.
describe.concurrent("tenure CLI as a process", { timeout: 60_000 }, () => {
  describe("tenure --help", () => {
    it("lists every command with its summary on one line each and exits 0", async () => {
      const dir = tempDir();
      try {
        const result = await runTenure(["--help"], { cwd: dir.path });
        expect(result.code).toBe(0);
        const section = result.stdout.split(/^Commands:$/m)[1] ?? "";
        const rows = lines(section);
        for (const command of COMMANDS) {
          expect(
            rows.some((row) => new RegExp(`^  ${command}\\b.* {2,}\\S`).test(row)),
            `${command} with its summary`,
          ).toBe(true);
        }
        // One line per command (and `help`): no summary wraps onto a line of its own.
        expect(
          rows.filter((row) => !/^ {2}[a-z]/.test(row)),
          result.stdout,
        ).toEqual([]);
        expect(rows).toHaveLength(COMMANDS.length + 1);
      } finally {
        dir.remove();
      }
    });
  });

  describe("tenure usage errors", () => {
    let dir: ReturnType<typeof tempDir>;
    beforeAll(() => {
      dir = tempDir();
    });
    afterAll(() => dir.remove());
    const tenure = (...args: string[]) => runTenure(args, { cwd: dir.path });

    it("token create with an unknown scope exits 2, naming --scope and the scopes there are, and opens no database", async () => {
      const result = await tenure("token", "create", "--scope", "root");
      expect(result.code).toBe(2);
      expect(result.stdout).toBe("");
      expect(result.stderr).toContain("--scope");
      expect(result.stderr).toContain("read, write, admin");
      expect(existsSync(join(dir.path, "tenure.db"))).toBe(false);
    });

    it("an unknown scope, a bad id and a missing argument each exit 2 with one line on stderr", async () => {
      const results = await Promise.all([
        tenure("token", "create", "--scope", "root"),
        tenure("show", "abc"),
        tenure("deploy"),
      ]);
      for (const result of results) {
        expect(result.code).toBe(2);
        expect(lines(result.stderr), result.stderr).toHaveLength(1);
      }
    });
  });

  describe.concurrent.each(dialects())(
    "tenure CLI pointed at a %s database that does not exist",
    (dialect) => {
      /** A database no one made yet, and the name messages give it (its password as `***`). */
      function missing(onTestFinished: (fn: () => Promise<void>) => void) {
        const database = missingTestDatabase(dialect);
        const dir = tempDir();
        onTestFinished(async () => {
          await database.drop();
          dir.remove();
        });
        const named = dialect === "sqlite" ? database.url : database.url.replace(database.password, "***");
        const tenure = (...args: string[]) =>
          runTenure([...args, "--database", database.url], { cwd: dir.path });
        return { database, dir, named, tenure };
      }

      it("every command that reads or changes the registry exits 2 with one line naming the database (never its password) and makes nothing", async ({
        onTestFinished,
      }) => {
        const { database, dir, named, tenure } = missing(onTestFinished);
        const commands = [
          ["check"],
          ["ls", "--json"],
          ["deploy", "fraud-gbm", "3.2.0", "--team", "risk", "--trained-through", "2020-01-01"],
          ["sweep"],
          ["token", "list"],
        ];
        // One at a time: a process that made the database would let the next one pass.
        for (const args of commands) {
          const message = expectOneLineFailure(await tenure(...args), 2);
          expect(message, args.join(" ")).toBe(
            `tenure: the database ${named} does not exist (tenure init creates it)`,
          );
          expect(message).not.toContain(database.password);
        }
        // TENURE_DATABASE_URL is refused the same way as --database.
        const fromEnv = await runTenure(["check"], {
          cwd: dir.path,
          env: { TENURE_DATABASE_URL: database.url },
        });
        expect(expectOneLineFailure(fromEnv, 2)).toContain(named);
        expect(await database.exists()).toBe(false);
      });

      it("init creates the database and migrates it, saying so; a second init finds it up to date; check then passes", async ({
        onTestFinished,
      }) => {
        const { database, named, tenure } = missing(onTestFinished);

        const created = await tenure("init");
        expect(created).toMatchObject({ code: 0, stderr: "" });
        expect(created.stdout.startsWith(`created the database ${named} (schema `), created.stdout).toBe(
          true,
        );
        expect(created.stdout).toMatch(/ \(schema \d{4}-[a-z-]+\)\n$/);
        expect(await database.exists()).toBe(true);

        const again = await tenure("init", "--json");
        expect(again.code, again.stderr).toBe(0);
        expect(JSON.parse(again.stdout)).toEqual({
          database: named,
          created: false,
          applied: [],
          schema: expect.stringMatching(/^\d{4}-/),
        });
        expect(await tenure("check")).toMatchObject({
          code: 0,
          stdout: "ok: none of 0 live deployment(s) is expired\n",
        });
      });

      it("token create makes a missing database, as the first token of a new registry must", async ({
        onTestFinished,
      }) => {
        const { database, tenure } = missing(onTestFinished);
        if (dialect === "postgres") {
          // On PostgreSQL only init makes the database (CREATE DATABASE is an operator's act).
          const refused = await tenure("token", "create", "--scope", "admin");
          expect(expectOneLineFailure(refused, 2)).toContain("tenure init");
          expect(await database.exists()).toBe(false);
          return;
        }
        const created = await tenure("token", "create", "--scope", "admin");
        expect(created.code, created.stderr).toBe(0);
        expect(created.stdout).toMatch(/^tnr_\S+\n$/);
        expect(await database.exists()).toBe(true);
      });
    },
  );

  describe.concurrent.each(dialects())("tenure CLI on a %s database", (dialect) => {
    /** A fresh database and working folder for one test, removed when it finishes. */
    async function fresh(onTestFinished: (fn: () => Promise<void>) => void) {
      const database = await createTestDatabase(dialect);
      const dir = tempDir();
      onTestFinished(async () => {
        await database.drop();
        dir.remove();
      });
      const tenure = (...args: string[]) =>
        runTenure(args, { cwd: dir.path, env: { TENURE_DATABASE_URL: database.url } });
      const init = await tenure("init");
      expect(init.code, init.stderr).toBe(0);
      const json = async <T>(...args: string[]): Promise<T> => {
        const result = await tenure(...args, "--json");
        expect(result.code, result.stderr).toBe(0);
        return JSON.parse(result.stdout) as T;
      };
      const deploy = async (model: string, version: string, ...flags: string[]): Promise<number> => {
        const result = await tenure("deploy", model, version, ...flags);
        expect(result.code, result.stderr).toBe(0);
        return deploymentIdIn(result.stdout);
      };
      return { database, dir, tenure, json, deploy };
    }

    it("deploy registers a deployment with every flag and prints one line with its id", async ({
      onTestFinished,
    }) => {
      const { tenure, json } = await fresh(onTestFinished);
      const deployedAt = daysAgo(3);
      const result = await tenure(
        "deploy",
        "fraud-gbm",
        "3.2.0",
        "--env",
        "production",
        "--trained-through",
        "2020-10-01",
        "--team",
        "risk",
        "--deployed-at",
        deployedAt,
        "--endpoint",
        "http://fraud.internal:8080/predict",
        "--role",
        "primary",
      );
      expect(result.code).toBe(0);
      expect(result.stderr).toBe("");
      expect(lines(result.stdout)).toHaveLength(1);
      expect(result.stdout).toMatch(/^deployed fraud-gbm 3\.2\.0 to production as primary: deployment \d+/);

      const id = deploymentIdIn(result.stdout);
      const shown = await json<{ deployment: Record<string, unknown> }>("show", String(id));
      expect(shown.deployment).toMatchObject({
        id,
        model: "fraud-gbm",
        model_version: "3.2.0",
        environment: "production",
        owner_team: "risk",
        role: "primary",
        status: "active",
        deployment_date: deployedAt,
        training_data_cutoff: "2020-10-01T00:00:00.000Z",
        endpoint: "http://fraud.internal:8080/predict",
        created_by: CLI_ACTOR,
      });
    });

    it("deploy --json prints the registered deployment as JSON, with its age block", async ({
      onTestFinished,
    }) => {
      const { tenure } = await fresh(onTestFinished);
      const result = await tenure(
        "deploy",
        "ctr-dnn",
        "2026.47",
        "--env",
        "staging",
        "--trained-through",
        "2020-10-01",
        "--team",
        "ads",
        "--role",
        "shadow",
        "--json",
      );
      expect(result.code).toBe(0);
      expect(result.stderr).toBe("");
      const deployment = JSON.parse(result.stdout);
      expect(deployment).toMatchObject({
        id: expect.any(Number),
        model: "ctr-dnn",
        model_version: "2026.47",
        environment: "staging",
        owner_team: "ads",
        role: "shadow",
        status: "active",
        ended_at: null,
        created_by: CLI_ACTOR,
        age: { deployment_age_seconds: expect.any(Number), stage: "fresh", policy: "default" },
      });
    });

    it("deploy without --trained-through and --team exits 2 with one line naming both, and registers nothing", async ({
      onTestFinished,
    }) => {
      const { tenure, json } = await fresh(onTestFinished);
      const result = await tenure("deploy", "fraud-gbm", "3.2.0", "--env", "production");
      const message = expectOneLineFailure(result, 2);
      expect(message).toContain("--trained-through");
      expect(message).toContain("--team");
      expect((await json<{ items: unknown[] }>("ls", "--all")).items).toEqual([]);
    });

    it("a missing --trained-through is reported as required, as a missing --team is", async ({
      onTestFinished,
    }) => {
      const { tenure } = await fresh(onTestFinished);
      const message = expectOneLineFailure(await tenure("deploy", "fraud-gbm", "3.2.0", "--team", "risk"), 2);
      expect(message).toMatch(/--trained-through is required/);
    });

    it("deploy's refusals name the CLI's flags as sentences, the same from the registry here and from a server via TENURE_URL", async ({
      onTestFinished,
    }) => {
      const { database, dir, tenure, json } = await fresh(onTestFinished);
      const token = (await tenure("token", "create", "--scope", "admin")).stdout.trim();
      const server = await startServe({ cwd: dir.path, database: database.url });
      onTestFinished(async () => {
        await server.stop();
      });
      const remote = (...args: string[]) =>
        runTenure(args, { cwd: dir.path, env: { TENURE_URL: server.url, TENURE_TOKEN: token } });
      const base = ["deploy", "fraud-gbm", "3.2.0", "--team", "risk", "--trained-through", "2020-01-01"];
      const cases: Array<[string[], string]> = [
        [
          ["--deployed-at", "2099-01-01"],
          "tenure: --deployed-at must not be more than 5 minutes after the server's time (TIME); use --at for a promotion",
        ],
        [
          ["--at", "2000-01-01"],
          "tenure: --at must be after the server's time (TIME); register a live deployment instead",
        ],
        [
          ["--at", "2099-01-01", "--deployed-at", "2020-02-01"],
          "tenure: --deployed-at must not be given with --at: the promotion sets it",
        ],
        [["--role", "boss"], "tenure: --role must be one of primary, shadow, canary"],
        [
          ["--tag", "Team=risk"],
          "tenure: --tag keys must be lowercase letters, digits, '.', '_', '/' or '-', starting with a letter or digit, at most 64 characters",
        ],
      ];
      const anyTime = (line: string) => line.replace(/\(\d{4}-\d\d-\d\dT[\d:.]+Z\)/, "(TIME)");
      for (const [flags, expected] of cases) {
        for (const run of [tenure, remote]) {
          const message = expectOneLineFailure(await run(...base, ...flags), 2);
          expect(anyTime(message), `${run === tenure ? "local" : "remote"} ${flags.join(" ")}`).toBe(
            expected,
          );
        }
      }
      const future = expectOneLineFailure(
        await remote("deploy", "fraud-gbm", "3.2.0", "--team", "risk", "--trained-through", "2099-01-01"),
        2,
      );
      expect(future).toBe(
        "tenure: --trained-through must not be after --deployed-at: a model cannot learn from the future",
      );
      expect((await json<{ items: unknown[] }>("ls", "--all")).items).toEqual([]);
    });

    describe("ls over more than one page", () => {
      let database: TestDatabase;
      let dir: ReturnType<typeof tempDir>;
      let server: ServeProcess;
      let token: string;
      const local = (...args: string[]) =>
        runTenure(args, { cwd: dir.path, env: { TENURE_DATABASE_URL: database.url } });
      const remote = (...args: string[]) =>
        runTenure(args, { cwd: dir.path, env: { TENURE_URL: server.url, TENURE_TOKEN: token } });

      beforeAll(async () => {
        database = await createTestDatabase(dialect);
        dir = tempDir();
        // 1,005 live shadows, oldest first by id: one more page than ls shows by default.
        await seedShadows(database.url, 1005);
        token = (await local("token", "create", "--scope", "read")).stdout.trim();
        server = await startServe({ cwd: dir.path, database: database.url });
      });
      afterAll(async () => {
        await server?.stop();
        await database?.drop();
        dir?.remove();
      });

      it.each([
        ["locally", () => local],
        ["via TENURE_URL", () => remote],
      ])(
        "ls %s shows 1,000 rows and says on stderr that 5 more match and how to see them",
        async (_, run) => {
          const result = await run()("ls");
          expect(result.code, result.stderr).toBe(0);
          expect(cells(result.stdout)).toHaveLength(1001);
          expect(result.stderr).toBe(
            "showing 1000 of 1005 deployments; 5 more match: tenure ls --all-pages shows every one (or --limit 1005)\n",
          );
        },
      );

      it("ls --all-pages into a reader that stops early (| head) exits 0 quietly, with no EPIPE stack trace", async () => {
        const child = spawn(process.execPath, [TENURE_BIN, "ls", "--all-pages", "--json"], {
          cwd: dir.path,
          env: cleanEnv({ TENURE_DATABASE_URL: database.url }),
        });
        let stderr = "";
        child.stderr.on("data", (chunk) => {
          stderr += chunk;
        });
        // The first chunk read, the reader goes away, as `head -c 1` does.
        child.stdout.once("data", () => child.stdout.destroy());
        const code = await new Promise<number | null>((done) => child.on("close", done));
        expect(stderr).toBe("");
        expect(code).toBe(0);
      });

      it.each([
        ["locally", () => local],
        ["via TENURE_URL", () => remote],
      ])(
        "ls --json %s carries next_cursor, and --cursor continues from it; a filter the fleet cannot count is counted too",
        async (_, run) => {
          const first = await run()("ls", "--json", "--limit", "400", "--role", "shadow");
          expect(first.code, first.stderr).toBe(0);
          const page = JSON.parse(first.stdout) as { items: Deployment[]; next_cursor: string | null };
          expect(page.items).toHaveLength(400);
          expect(page.next_cursor).toEqual(expect.any(String));
          expect(first.stderr).toMatch(
            /^showing 400 of 1005 deployments; 605 more match: .*--cursor NEXT_CURSOR/,
          );
          const next = await run()("ls", "--json", "--limit", "3", "--cursor", page.next_cursor ?? "");
          const after = JSON.parse(next.stdout) as { items: Deployment[] };
          expect(after.items.map((d) => d.id)).toEqual(
            [401, 402, 403].map((n) => (page.items[0]?.id ?? 0) + n - 1),
          );
        },
      );

      it.each([
        ["locally", () => local],
        ["via TENURE_URL", () => remote],
      ])(
        "ls --all-pages %s streams every row under one header, and with --json one {items, next_cursor} line a page",
        async (_, run) => {
          const [table, json] = await Promise.all([
            run()("ls", "--all-pages", "--limit", "200"),
            run()("ls", "--all-pages", "--limit", "200", "--json"),
          ]);
          expect(table).toMatchObject({ code: 0, stderr: "" });
          const [header, ...rows] = cells(table.stdout);
          expect(header?.[0]).toBe("ID");
          expect(rows).toHaveLength(1005);
          expect(new Set(rows.map((row) => row[0])).size).toBe(1005);
          expect(json).toMatchObject({ code: 0, stderr: "" });
          const pages = lines(json.stdout).map(
            (line) => JSON.parse(line) as { items: unknown[]; next_cursor: string | null },
          );
          expect(pages.map((p) => p.items.length)).toEqual([200, 200, 200, 200, 200, 5]);
          expect(pages.map((p) => p.next_cursor === null)).toEqual([false, false, false, false, false, true]);
        },
      );
    });

    describe("with a fleet of four deployments", () => {
      let database: TestDatabase;
      let dir: ReturnType<typeof tempDir>;
      const ids: Record<string, number> = {};
      const tenure = (...args: string[]) =>
        runTenure(args, { cwd: dir.path, env: { TENURE_DATABASE_URL: database.url } });

      beforeAll(async () => {
        database = await createTestDatabase(dialect);
        dir = tempDir();
        // init makes and migrates the new database; the rest can then run at once.
        expect((await tenure("init")).code).toBe(0);
        const fleet: Array<[string, string, string, string, number, number]> = [
          ["fraud-gbm", "3.2.0", "production", "risk", 41, 60],
          ["churn-xgb", "5.1", "staging", "growth", 100, 130],
          ["search-ranker", "13.0", "eu-production", "search", 75, 90],
          ["ctr-dnn", "2026.47", "production", "ads", 2, 3],
        ];
        const deploy = async ([model, version, env, team, age, dataAge]: (typeof fleet)[number]) => {
          const result = await tenure(
            "deploy",
            model,
            version,
            "--env",
            env,
            "--team",
            team,
            "--deployed-at",
            daysAgo(age),
            "--trained-through",
            daysAgo(dataAge),
          );
          expect(result.code, result.stderr).toBe(0);
          ids[model] = deploymentIdIn(result.stdout);
        };
        await Promise.all(fleet.map(deploy));
      });
      afterAll(async () => {
        await database?.drop();
        dir?.remove();
      });

      it("ls prints a table, oldest first, with human ages, the stage, the health score and the verdict", async () => {
        const result = await tenure("ls");
        expect(result.code).toBe(0);
        expect(result.stderr).toBe("");
        const [header, ...rows] = cells(result.stdout);
        expect(header).toEqual([
          "ID",
          "MODEL",
          "VERSION",
          "ENV",
          "TEAM",
          "ROLE",
          "AGE",
          "DATA AGE",
          "PERF AGE",
          "STAGE",
          "HEALTH",
          "VERDICT",
        ]);
        expect(rows).toEqual([
          [
            String(ids["churn-xgb"]),
            "churn-xgb",
            "5.1",
            "staging",
            "growth",
            "primary",
            "100d",
            "130d",
            "-",
            "expired",
            "80.5",
            "review",
          ],
          [
            String(ids["search-ranker"]),
            "search-ranker",
            "13.0",
            "eu-production",
            "search",
            "primary",
            "75d",
            "90d",
            "-",
            "due",
            "97",
            "review",
          ],
          [
            String(ids["fraud-gbm"]),
            "fraud-gbm",
            "3.2.0",
            "production",
            "risk",
            "primary",
            "41d",
            "60d",
            "-",
            "fresh",
            "100",
            "keep",
          ],
          [
            String(ids["ctr-dnn"]),
            "ctr-dnn",
            "2026.47",
            "production",
            "ads",
            "primary",
            "2d",
            "3d",
            "-",
            "fresh",
            "100",
            "keep",
          ],
        ]);
      });

      it("ls --env, --team and --model each keep only the matching deployments", async () => {
        const models = async (...flags: string[]) => {
          const result = await tenure("ls", ...flags);
          expect(result.code, result.stderr).toBe(0);
          return cells(result.stdout)
            .slice(1)
            .map((row) => row[1]);
        };
        const [production, risk, churn] = await Promise.all([
          models("--env", "production"),
          models("--team", "risk"),
          models("--model", "churn-xgb"),
        ]);
        expect(production).toEqual(["fraud-gbm", "ctr-dnn"]);
        expect(risk).toEqual(["fraud-gbm"]);
        expect(churn).toEqual(["churn-xgb"]);
      });

      it("ls --json prints {items}, oldest first", async () => {
        const result = await tenure("ls", "--json");
        expect(result.code).toBe(0);
        const body = JSON.parse(result.stdout) as { items: Deployment[] };
        expect(body).toMatchObject({ next_cursor: null });
        expect(body.items.map((d) => d.model)).toEqual([
          "churn-xgb",
          "search-ranker",
          "fraud-gbm",
          "ctr-dnn",
        ]);
      });

      it("show prints the three clocks, the stage and the events with who did them", async () => {
        const id = ids["search-ranker"];
        const result = await tenure("show", String(id));
        expect(result.code).toBe(0);
        expect(result.stderr).toBe("");
        const out = result.stdout;
        expect(out).toContain(`deployment ${id}: search-ranker 13.0 in eu-production (primary, active)`);
        expect(out).toMatch(/^ {2}team +search$/m);
        expect(out).toMatch(/^ {2}deployment age +75d of 90d \(83%\), policy default$/m);
        expect(out).toMatch(/^ {2}data age +90d$/m);
        expect(out).toMatch(/^ {2}performance age +no metrics$/m);
        expect(out).toMatch(/^ {2}stage +due$/m);
        const events = cells(out.split(/^events$/m)[1] ?? "");
        expect(events[0]).toEqual(["AT", "EVENT", "BY", "DETAIL"]);
        expect(events.slice(1).map((row) => [row[1], row[2]])).toEqual([["deployed", CLI_ACTOR]]);
      });

      it("show of an unknown id exits 1 with one line naming it", async () => {
        const message = expectOneLineFailure(await tenure("show", "999999"), 1);
        expect(message).toContain("999999");
        expect(message).toMatch(/does not exist|not found/);
      });
    });

    it("a second deploy of the model in the environment supersedes the first, with both events", async ({
      onTestFinished,
    }) => {
      const { tenure, json, deploy } = await fresh(onTestFinished);
      const team = ["--team", "risk", "--trained-through", "2020-06-01"];
      const first = await deploy("fraud-gbm", "3.1.0", ...team, "--deployed-at", daysAgo(30));
      const second = await deploy("fraud-gbm", "3.2.0", ...team);

      const shown = await tenure("show", String(first));
      expect(shown.code).toBe(0);
      expect(shown.stdout).toContain(
        `deployment ${first}: fraud-gbm 3.1.0 in production (primary, superseded)`,
      );
      expect(shown.stdout).toMatch(/^ {2}stage +superseded$/m);
      const events = cells(shown.stdout.split(/^events$/m)[1] ?? "").slice(1);
      expect(events.map((row) => [row[1], row[2]])).toEqual([
        ["deployed", CLI_ACTOR],
        ["superseded", CLI_ACTOR],
      ]);
      expect(events[1]?.[3]).toContain(`superseded_by=${second}`);

      const live = await json<{ items: Deployment[] }>("ls");
      expect(live.items.map((d) => d.id)).toEqual([second]);
    });

    it("retire --reason ends a live deployment, records who and why, and a second retire exits 1", async ({
      onTestFinished,
    }) => {
      const { tenure, json, deploy } = await fresh(onTestFinished);
      const id = await deploy(
        "spell-correct",
        "1.0.0",
        "--team",
        "search",
        "--trained-through",
        "2020-01-01",
      );

      const retired = await tenure("retire", String(id), "--reason", "replaced by the new speller");
      expect(retired.code).toBe(0);
      expect(retired.stderr).toBe("");
      expect(retired.stdout).toMatch(
        new RegExp(`^retired deployment ${id} \\(spell-correct 1\\.0\\.0 in production\\)`),
      );

      const shown = await json<{ deployment: Deployment; events: Event[] }>("show", String(id));
      expect(shown.deployment.status).toBe("retired");
      expect(shown.events.map((e) => [e.type, e.actor])).toEqual([
        ["deployed", CLI_ACTOR],
        ["retired", CLI_ACTOR],
      ]);
      expect(shown.events[1]?.data.reason).toBe("replaced by the new speller");
      expect((await tenure("ls")).stdout).toBe("no deployments match\n");

      expect(expectOneLineFailure(await tenure("retire", String(id)), 1)).toMatch(/already retired/);
    });

    it("golden then rollback makes the golden version the live primary again; the current one ends rolled_back", async ({
      onTestFinished,
    }) => {
      const { tenure, json, deploy } = await fresh(onTestFinished);
      const flags = ["--env", "production", "--team", "risk", "--trained-through", "2020-06-01"];
      const old = await deploy("fraud-gbm", "3.1.0", ...flags, "--deployed-at", daysAgo(60));
      const current = await deploy("fraud-gbm", "3.2.0", ...flags, "--deployed-at", daysAgo(10));

      const golden = await tenure("golden", "fraud-gbm", "3.1.0", "--env", "production");
      expect(golden).toMatchObject({ code: 0, stderr: "" });
      expect(golden.stdout).toBe("golden version of fraud-gbm in production is now 3.1.0\n");

      const rollback = await tenure(
        "rollback",
        "fraud-gbm",
        "--env",
        "production",
        "--reason",
        "false declines",
      );
      expect(rollback).toMatchObject({ code: 0, stderr: "" });
      expect(lines(rollback.stdout)).toHaveLength(1);
      expect(rollback.stdout).toContain(`from 3.2.0 (deployment ${current}) to 3.1.0`);
      const restored = deploymentIdIn(rollback.stdout.split(" to 3.1.0")[1] ?? "");
      expect([old, current]).not.toContain(restored);

      const live = await json<{ items: Deployment[] }>("ls", "--model", "fraud-gbm");
      expect(live.items).toEqual([
        expect.objectContaining({ id: restored, model_version: "3.1.0", role: "primary", status: "active" }),
      ]);
      const ended = await json<{ deployment: Deployment; events: Event[] }>("show", String(current));
      expect(ended.deployment.status).toBe("rolled_back");
      expect(ended.events.map((e) => e.type)).toEqual(["deployed", "rolled_back"]);
      expect(ended.events[1]).toMatchObject({
        actor: CLI_ACTOR,
        data: { to_version: "3.1.0", rolled_back_to: restored, reason: "false declines" },
      });
    });

    it("rollback --to VERSION rolls back to that version without a golden one", async ({
      onTestFinished,
    }) => {
      const { json, deploy } = await fresh(onTestFinished);
      const flags = ["--team", "risk", "--trained-through", "2020-06-01"];
      await deploy("fraud-gbm", "3.1.0", ...flags, "--deployed-at", daysAgo(20));
      const current = await deploy("fraud-gbm", "3.2.0", ...flags);

      const result = await json<{ deployment: Deployment; rolled_back: Deployment }>(
        "rollback",
        "fraud-gbm",
        "--env",
        "production",
        "--to",
        "3.1.0",
      );
      expect(result.deployment).toMatchObject({ model_version: "3.1.0", role: "primary", status: "active" });
      expect(result.rolled_back).toMatchObject({
        id: current,
        model_version: "3.2.0",
        status: "rolled_back",
      });
    });

    it("rollback with no golden version and no --to exits 1 with one line saying what to do, changing nothing", async ({
      onTestFinished,
    }) => {
      const { tenure, json, deploy } = await fresh(onTestFinished);
      const id = await deploy("fraud-gbm", "3.2.0", "--team", "risk", "--trained-through", "2020-06-01");
      const message = expectOneLineFailure(await tenure("rollback", "fraud-gbm", "--env", "production"), 1);
      expect(message).toMatch(/no golden version/);
      expect(message).toMatch(/--to|tenure golden|name the version/);
      const live = await json<{ items: Deployment[] }>("ls");
      expect(live.items).toEqual([expect.objectContaining({ id, status: "active" })]);
    });

    it("token create prints only the token; token list shows it without the secret; token revoke revokes it", async ({
      onTestFinished,
    }) => {
      const { tenure, json } = await fresh(onTestFinished);
      const created = await tenure("token", "create", "--scope", "write", "--team", "risk");
      expect(created.code).toBe(0);
      expect(created.stderr).toBe("");
      expect(lines(created.stdout)).toHaveLength(1);
      expect(created.stdout).toMatch(/^tnr_\S+\n$/);
      const secret = created.stdout.trim();

      const listed = await tenure("token", "list");
      expect(listed.code).toBe(0);
      expect(listed.stdout).not.toContain(secret);
      expect(listed.stdout).not.toContain(secret.slice(4, 20));
      const [header, row, ...more] = cells(listed.stdout);
      expect(header).toEqual(["ID", "NAME", "SCOPE", "TEAM", "STATE", "CREATED", "EXPIRES", "REVOKED"]);
      expect(more).toEqual([]);
      expect(row?.slice(2, 5)).toEqual(["write", "risk", "active"]);
      expect(row?.slice(6)).toEqual(["never", "-"]);
      const id = row?.[0] ?? "";

      const revoked = await tenure("token", "revoke", id);
      expect(revoked).toMatchObject({ code: 0, stdout: `revoked token ${id}\n`, stderr: "" });
      const after = await json<{ items: Array<{ id: number; revoked_at: string | null }> }>("token", "list");
      expect(JSON.stringify(after)).not.toContain(secret);
      expect(after.items).toEqual([
        expect.objectContaining({ id: Number(id), revoked_at: expect.any(String) }),
      ]);
      expect(expectOneLineFailure(await tenure("token", "revoke", id), 1)).toContain(id);
    });
  });
});
