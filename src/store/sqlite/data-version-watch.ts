import SqliteDatabase from "better-sqlite3";

/**
 * Watches a SQLite file for commits by polling `PRAGMA data_version`, which changes when any
 * other connection commits: one call into SQLite per tick, no read of any table. The watch has
 * a read-only connection of its own, so that commits made by this same process (a server that
 * serves `GET /v1/routes` and takes registrations) are seen too, as another connection's.
 */
export function watchDataVersion(
  file: string,
  intervalMs: number,
  handlers: { changed(): void; failed(error: unknown): void; recovered(): void },
): { close(): void } {
  let handle: SqliteDatabase.Database | undefined;
  let last: unknown;
  let failing = false;
  const tick = () => {
    try {
      handle ??= new SqliteDatabase(file, { readonly: true, fileMustExist: true });
      const version = handle.pragma("data_version", { simple: true });
      if (failing) {
        failing = false;
        handlers.recovered();
      }
      if (last !== undefined && version !== last) handlers.changed();
      last = version;
    } catch (error) {
      // A reopened connection starts a new count: compare from its first value, after a reload.
      handle?.close();
      handle = undefined;
      last = undefined;
      if (!failing) {
        failing = true;
        handlers.failed(error);
      }
    }
  };
  tick();
  const timer = setInterval(tick, intervalMs);
  timer.unref();
  return {
    close() {
      clearInterval(timer);
      handle?.close();
    },
  };
}
