import { closeSync, existsSync, fsyncSync, openSync, renameSync, rmSync, statSync } from "node:fs";
import { basename, dirname, join, resolve } from "node:path";
import SqliteDatabase from "better-sqlite3";

/** How far a copy has come, in SQLite pages. */
export interface CopyProgress {
  total_pages: number;
  copied_pages: number;
}

export interface CopyResult {
  pages: number;
  bytes: number;
}

/**
 * Pages copied per step while the source is not being written: small enough that a progress bar
 * moves, large enough that a step costs little over its pages.
 */
const STEP_PAGES = 1024;

/**
 * Copies the SQLite database `source` into `destination` with SQLite's online backup API, so the
 * copy is one consistent snapshot even while another process (`tenure serve`) writes to the
 * source. `tenure backup` and `tenure restore` both copy this way. The copy is made beside the
 * destination under a temporary name, the destination's WAL and shared-memory index are removed
 * (a stale WAL would be replayed onto the new file and corrupt it), and the copy is renamed over
 * the destination: it is never a half-written file.
 *
 * SQLite restarts a step-wise backup whenever another connection writes the source between two
 * steps; under a steady stream of writes it could restart forever. After a restart the rest is
 * copied in a single step: one read transaction, which in WAL mode blocks no writer.
 */
export async function copySqlite(
  source: string,
  destination: string,
  onProgress: (progress: CopyProgress) => void = () => {},
): Promise<CopyResult> {
  const handle = new SqliteDatabase(resolve(source), { fileMustExist: true });
  const target = resolve(destination);
  const temporary = temporaryBeside(target);
  try {
    handle.pragma("busy_timeout = 5000");
    let restarted = false;
    let lastRemaining = Number.POSITIVE_INFINITY;
    const result = await handle.backup(temporary, {
      progress({ totalPages, remainingPages }) {
        if (remainingPages > lastRemaining) restarted = true;
        lastRemaining = remainingPages;
        onProgress({ total_pages: totalPages, copied_pages: totalPages - remainingPages });
        return restarted ? Math.max(totalPages, 1) : STEP_PAGES;
      },
    });
    onProgress({ total_pages: result.totalPages, copied_pages: result.totalPages });
    syncFile(temporary);
    removeBesides(target);
    renameSync(temporary, target);
    syncFile(dirname(target));
    return { pages: result.totalPages, bytes: statSync(target).size };
  } catch (error) {
    rmSync(temporary, { force: true });
    throw error;
  } finally {
    handle.close();
  }
}

/** What a file holds, as far as Tenure is concerned. */
export type SqliteFileKind =
  | { kind: "not-sqlite"; reason: string }
  | { kind: "not-tenure" }
  | { kind: "tenure"; migrations: string[] };

/**
 * Reads, without changing it, whether `file` is a sound SQLite database (`PRAGMA quick_check`)
 * and which Tenure migrations it has applied.
 */
export function inspectSqlite(file: string): SqliteFileKind {
  let handle: SqliteDatabase.Database;
  try {
    handle = new SqliteDatabase(resolve(file), { readonly: true, fileMustExist: true });
  } catch (error) {
    return { kind: "not-sqlite", reason: messageOf(error) };
  }
  try {
    const check = handle.pragma("quick_check", { simple: true });
    if (check !== "ok") return { kind: "not-sqlite", reason: `its integrity check says: ${String(check)}` };
    const table = handle
      .prepare("select name from sqlite_master where type = 'table' and name = 'kysely_migration'")
      .get();
    if (!table) return { kind: "not-tenure" };
    const rows = handle.prepare("select name from kysely_migration order by name").all() as Array<{
      name: string;
    }>;
    return { kind: "tenure", migrations: rows.map((row) => row.name) };
  } catch (error) {
    return { kind: "not-sqlite", reason: messageOf(error) };
  } finally {
    handle.close();
  }
}

/**
 * True when another connection has the SQLite file `file` open (a running `tenure serve`): in
 * WAL mode every open connection holds a shared lock on the file, so an exclusive lock taken
 * without waiting fails exactly then.
 */
export function sqliteInUse(file: string): boolean {
  if (!existsSync(resolve(file))) return false;
  const handle = new SqliteDatabase(resolve(file), { fileMustExist: true });
  try {
    handle.pragma("busy_timeout = 0");
    handle.pragma("locking_mode = EXCLUSIVE");
    handle.exec("begin exclusive");
    handle.exec("rollback");
    return false;
  } catch (error) {
    if ((error as { code?: unknown }).code === "SQLITE_BUSY") return true;
    throw error;
  } finally {
    handle.close();
  }
}

/** A name beside `target`, unique to this process, that no reader of `target` will open. */
function temporaryBeside(target: string): string {
  return join(dirname(target), `.${basename(target)}.${process.pid}.${Date.now()}.tmp`);
}

/** The WAL and shared-memory index of `file`: they belong to the file they were written for. */
function removeBesides(file: string): void {
  for (const suffix of ["-wal", "-shm"]) rmSync(`${file}${suffix}`, { force: true });
}

/** Makes what was written to `path` (a file or a folder's entries) durable before going on. */
function syncFile(path: string): void {
  const fd = openSync(path, "r");
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
