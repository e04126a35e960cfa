import { execFile } from "node:child_process";
import { chownSync, existsSync, readdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import pg from "pg";
import { freePort, tempDir } from "./process.js";

const run = promisify(execFile);

/** Where Debian's postgresql package puts a major version's server programs. */
const POSTGRES_LIB = "/usr/lib/postgresql";

/**
 * The server programs (initdb, pg_ctl) of the newest PostgreSQL installed, or the path they would
 * have, for hasExternalTool to name when there are none.
 */
export function postgresBinDir(): string {
  const versions = existsSync(POSTGRES_LIB)
    ? readdirSync(POSTGRES_LIB)
        .filter((v) => existsSync(join(POSTGRES_LIB, v, "bin", "pg_ctl")))
        .sort((a, b) => Number(b) - Number(a))
    : [];
  return join(POSTGRES_LIB, versions[0] ?? "<version>", "bin");
}

/** A PostgreSQL server of a test's own, in a temporary folder, that the test may stop and restart. */
export interface PostgresCluster {
  /** postgres://…/tenure on its port: the database is made when the cluster starts. */
  url: string;
  port: number;
  /** Stops it with `pg_ctl stop -m fast`: open connections are ended, as an administrator's restart does. */
  stop(): Promise<void>;
  start(): Promise<void>;
  /** `pg_ctl restart -m fast`, resolving once it accepts connections again. */
  restart(): Promise<void>;
  /** Stops it at once and removes its folder. */
  remove(): Promise<void>;
}

/**
 * initdb refuses to run as root, as CI and this machine's containers do: there the programs run
 * as the `postgres` user the package made, who must own the folder.
 */
function asServerUser(program: string, args: string[]): [string, string[]] {
  return process.getuid?.() === 0 ? ["runuser", ["-u", "postgres", "--", program, ...args]] : [program, args];
}

export async function startPostgresCluster(bin = postgresBinDir()): Promise<PostgresCluster> {
  const dir = tempDir();
  if (process.getuid?.() === 0) chownSync(dir.path, Number((await run("id", ["-u", "postgres"])).stdout), 0);
  const data = join(dir.path, "data");
  const port = await freePort();
  const pgCtl = async (...args: string[]) => {
    const [program, argv] = asServerUser(join(bin, "pg_ctl"), ["-D", data, ...args]);
    await run(program, argv, { cwd: dir.path, timeout: 60_000 });
  };
  const options = [
    "-o",
    `-p ${port} -k ${dir.path} -c listen_addresses=127.0.0.1`,
    "-l",
    join(dir.path, "server.log"),
  ];
  const [initdb, initArgs] = asServerUser(join(bin, "initdb"), [
    "-D",
    data,
    "-A",
    "trust",
    "-U",
    "postgres",
    "-E",
    "UTF8",
    "--no-sync",
  ]);
  // The postgres user may not enter the test's working directory: it works in its own.
  await run(initdb, initArgs, { cwd: dir.path, timeout: 60_000 });
  await pgCtl("start", "-w", ...options);
  const admin = new pg.Client({ connectionString: `postgres://postgres@127.0.0.1:${port}/postgres` });
  await admin.connect();
  await admin.query("create database tenure");
  await admin.end();
  return {
    url: `postgres://postgres@127.0.0.1:${port}/tenure`,
    port,
    stop: () => pgCtl("stop", "-w", "-m", "fast"),
    start: () => pgCtl("start", "-w", ...options),
    restart: () => pgCtl("restart", "-w", "-m", "fast", ...options),
    remove: async () => {
      await pgCtl("stop", "-w", "-m", "immediate").catch(() => {});
      rmSync(dir.path, { recursive: true, force: true });
    },
  };
}
