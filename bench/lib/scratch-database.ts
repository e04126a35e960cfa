import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";

export type Dialect = "sqlite" | "postgres";

/** A database made for one bench run and dropped after it. */
export interface ScratchDatabase {
  dialect: Dialect;
  /** What `tenure --database` takes: a file path or a postgres:// URL. */
  url: string;
  /** A folder for the run's other files (server log, profiles), removed by `drop`. */
  dir: string;
  drop(): Promise<void>;
}

/**
 * SQLite: a file in a fresh temp folder. PostgreSQL: `tenure_bench_<random>`, created on the
 * server `adminUrl` names and dropped (with FORCE, in case a connection lingers) afterwards.
 */
export async function createScratchDatabase(dialect: Dialect, adminUrl: string): Promise<ScratchDatabase> {
  const dir = mkdtempSync(join(tmpdir(), "tenure-bench-"));
  const removeDir = () => rmSync(dir, { recursive: true, force: true });
  if (dialect === "sqlite") {
    return { dialect, url: join(dir, "tenure.db"), dir, drop: async () => removeDir() };
  }
  const name = `tenure_bench_${randomBytes(6).toString("hex")}`;
  await adminQuery(adminUrl, `create database ${name}`);
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return {
    dialect,
    url: url.toString(),
    dir,
    drop: async () => {
      removeDir();
      await adminQuery(adminUrl, `drop database if exists ${name} with (force)`);
    },
  };
}

async function adminQuery(adminUrl: string, text: string): Promise<void> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    await client.query(text);
  } finally {
    await client.end();
  }
}
