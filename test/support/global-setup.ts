import pg from "pg";
import type { TestProject } from "vitest/node";
import { POSTGRES_URL } from "./postgres-url.js";

/**
 * Checks once per run whether PostgreSQL is reachable. On a user's machine without it, the
 * PostgreSQL half of every suite is skipped with one line; under CI=true it is a failure.
 */
export async function setup(project: TestProject): Promise<void> {
  const client = new pg.Client({ connectionString: POSTGRES_URL, connectionTimeoutMillis: 3000 });
  let reachable = false;
  try {
    await client.connect();
    await client.query("select 1");
    reachable = true;
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    if (process.env.CI === "true") {
      throw new Error(`PostgreSQL is required under CI=true but ${POSTGRES_URL} is not reachable: ${reason}`);
    }
    process.stdout.write(
      `skipping PostgreSQL tests: ${POSTGRES_URL} is not reachable (${reason}); set TENURE_TEST_POSTGRES_URL to run them\n`,
    );
  } finally {
    await client.end().catch(() => {});
  }
  project.provide("postgres", reachable);
}

declare module "vitest" {
  export interface ProvidedContext {
    postgres: boolean;
  }
}
