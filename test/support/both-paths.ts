import { join } from "node:path";
import { expect } from "vitest";
import { createTestDatabase } from "./databases.js";
import { type RunResult, runTenure, startServe, tempDir } from "./process.js";

/**
 * The CLI's two paths side by side: `local` runs a command on a SQLite database of its own (made
 * with `tenure init`), `remote` runs it through TENURE_URL against a started server, with a
 * token of `scope`. Tests hold both to the same answer.
 */
export interface BothPaths {
  /** The started server's base URL, its database's URL, and the token the remote side uses. */
  server: { url: string; database: string; token: string };
  /** The local side's SQLite file. */
  localDatabase: string;
  local(...args: string[]): Promise<RunResult>;
  remote(...args: string[]): Promise<RunResult>;
  stop(): Promise<void>;
}

export async function startBothPaths(scope: "read" | "write" | "admin"): Promise<BothPaths> {
  const database = await createTestDatabase("sqlite");
  const serverDir = tempDir();
  const clientDir = tempDir();
  const created = await runTenure(["token", "create", "--scope", scope, "--database", database.url], {
    cwd: serverDir.path,
  });
  expect(created.code, created.stderr).toBe(0);
  const token = created.stdout.trim();
  const server = await startServe({ cwd: serverDir.path, database: database.url });
  const localDatabase = join(clientDir.path, "local.db");
  const paths: BothPaths = {
    server: { url: server.url, database: database.url, token },
    localDatabase,
    local: (...args) => runTenure([...args, "--database", localDatabase], { cwd: clientDir.path }),
    remote: (...args) =>
      runTenure(args, { cwd: clientDir.path, env: { TENURE_URL: server.url, TENURE_TOKEN: token } }),
    stop: async () => {
      await server.stop();
      await database.drop();
      serverDir.remove();
      clientDir.remove();
    },
  };
  const init = await paths.local("init");
  expect(init.code, init.stderr).toBe(0);
  return paths;
}
