/**
 * Where things are, from flags and the environment. Kept apart from the composition root so that
 * commands that never open a database (`tenure drift`, `tenure policy check`, `--help`) start
 * without loading the database drivers and the HTTP server.
 */

/** Every day at 00:00 UTC. */
export const DEFAULT_SWEEP_CRON = "0 0 * * *";

/** The default database of the CLI and the server: a SQLite file in the working folder. */
export const DEFAULT_DATABASE = "./tenure.db";

/** The database URL from a flag, then TENURE_DATABASE_URL, then ./tenure.db. */
export function databaseUrlFrom(flag: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  return flag ?? env.TENURE_DATABASE_URL ?? DEFAULT_DATABASE;
}

/** The policy file from a flag, then TENURE_POLICIES; none means the built-in defaults. */
export function policiesPathFrom(
  flag: string | undefined,
  env: NodeJS.ProcessEnv = process.env,
): string | null {
  return flag ?? (env.TENURE_POLICIES || null);
}
