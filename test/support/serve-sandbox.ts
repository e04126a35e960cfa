import type { DialectName } from "../../src/store/database.js";
import { createTestDatabase, type TestDatabase } from "./databases.js";
import { type RunResult, runTenure, type ServeProcess, startServe, tempDir } from "./process.js";

/** A fresh database and working folder for one test, with `tenure` and `tenure serve` on them. */
export interface ServeSandbox {
  database: TestDatabase;
  cwd: string;
  /** Runs `tenure …args --database <the sandbox's>` in its folder. */
  tenure(args: string[], env?: Record<string, string>): Promise<RunResult>;
  /** Starts `tenure serve` on the sandbox's database; healthy when it resolves, stopped after the test. */
  serve(extraArgs?: string[], env?: Record<string, string>): Promise<ServeProcess>;
}

/**
 * A sandbox for one test (SQLite unless told otherwise): every server it started is stopped, then
 * the database dropped and the folder removed, when the test finishes.
 */
export async function serveSandbox(
  onTestFinished: (fn: () => Promise<void>) => void,
  dialect: DialectName = "sqlite",
): Promise<ServeSandbox> {
  const database = await createTestDatabase(dialect);
  const cwd = tempDir();
  const servers: ServeProcess[] = [];
  onTestFinished(async () => {
    for (const server of servers) await server.stop();
    await database.drop();
    cwd.remove();
  });
  return {
    database,
    cwd: cwd.path,
    tenure: (args, env = {}) => runTenure([...args, "--database", database.url], { cwd: cwd.path, env }),
    serve: async (extraArgs = [], env = {}) => {
      const server = await startServe({ cwd: cwd.path, database: database.url, extraArgs, env });
      servers.push(server);
      return server;
    },
  };
}
