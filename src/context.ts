import { DEFAULT_POLICY } from "./core/age.js";
import { Registry } from "./registry/registry.js";
import { type Database, openDatabase } from "./store/database.js";
import { DeploymentStore } from "./store/deployment-store.js";
import { migrateToLatest } from "./store/migrate.js";
import { TokenStore } from "./store/token-store.js";

/** The default database of the CLI and the server: a SQLite file in the working folder. */
export const DEFAULT_DATABASE = "./tenure.db";

/** The database URL from a flag, then TENURE_DATABASE_URL, then ./tenure.db. */
export function databaseUrlFrom(flag: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  return flag ?? env.TENURE_DATABASE_URL ?? DEFAULT_DATABASE;
}

/** Everything that runs against one database, built once: the composition root. */
export interface Context {
  database: Database;
  store: DeploymentStore;
  tokens: TokenStore;
  registry: Registry;
  clock: () => number;
  close(): Promise<void>;
}

/** Opens the database, brings its schema up to date and wires the registry to it. */
export async function openContext(
  url: string,
  options: { clock?: () => number; poolSize?: number } = {},
): Promise<Context> {
  const database = openDatabase(url, { poolSize: options.poolSize });
  try {
    await migrateToLatest(database);
  } catch (error) {
    await database.close();
    throw error;
  }
  const clock = options.clock ?? Date.now;
  const store = new DeploymentStore(database);
  return {
    database,
    store,
    tokens: new TokenStore(database),
    registry: new Registry({ store, clock, policy: DEFAULT_POLICY }),
    clock,
    close: () => database.close(),
  };
}
