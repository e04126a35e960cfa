import { copyFileSync, existsSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import SqliteDatabase from "better-sqlite3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { pollUntil, runTenure, type ServeProcess, startServe, tempDir } from "../support/process.js";
import { hasScript, runInTerminal, stripAnsi } from "../support/terminal.js";

/** Every row of every table, each as one JSON line, by table name. */
function contents(file: string): Map<string, string[]> {
  const db = new SqliteDatabase(file, { readonly: true });
  try {
    const tables = db
      .prepare(
        "select name from sqlite_master where type = 'table' and name not like 'sqlite_%' order by name",
      )
      .all() as Array<{ name: string }>;
    return new Map(
      tables.map(({ name }) => [
        name,
        (db.prepare(`select * from "${name}"`).all() as unknown[]).map((row) => JSON.stringify(row)),
      ]),
    );
  } finally {
    db.close();
  }
}

describe("tenure backup and restore as processes", { timeout: 120_000 }, () => {
  const cwd = tempDir();
  const database = join(cwd.path, "tenure.db");
  const tenure = (...args: string[]) => runTenure(args, { cwd: cwd.path });
  let server: ServeProcess;
  let token: string;

  beforeAll(async () => {
    expect((await tenure("init", "--database", database)).code).toBe(0);
    token = (await tenure("token", "create", "--scope", "write", "--database", database)).stdout.trim();
    server = await startServe({ cwd: cwd.path, database });
    // The first start sweeps a database never swept: let it finish, so that from here on every
    // write is one of the writer's own inserts.
    await pollUntil("the start-up sweep to be done", async () => {
      const res = await fetch(`${server.url}/v1/sweeps`, { headers: { authorization: `Bearer ${token}` } });
      const { items } = (await res.json()) as { items: Array<{ state: string }> };
      return items.length > 0 && items.every((s) => s.state === "done") ? true : undefined;
    });
  });
  afterAll(async () => {
    await server?.stop();
    cwd.remove();
  });

  /** Registers one deployment of its own model, with a metric point; resolves with its id. */
  async function register(n: number): Promise<number> {
    const headers = { authorization: `Bearer ${token}`, "content-type": "application/json" };
    const res = await fetch(`${server.url}/v1/deployments`, {
      method: "POST",
      headers,
      body: JSON.stringify({
        model: `model-${n}`,
        model_version: "1",
        training_data_cutoff: "2026-01-01T00:00:00.000Z",
        owner_team: `team-${n % 7}`,
      }),
    });
    expect(res.status).toBe(201);
    const { id } = (await res.json()) as { id: number };
    const metrics = await fetch(`${server.url}/v1/deployments/${id}/metrics`, {
      method: "POST",
      headers,
      body: JSON.stringify({ points: [{ name: "auc", value: 0.9, sample_size: n + 1 }] }),
    });
    expect(metrics.status).toBeLessThan(300);
    return id;
  }

  it("a backup taken while the server writes restores to every row acknowledged before it began, each equal to the live database's", async () => {
    for (let n = 0; n < 200; n++) await register(n);

    // Writes go on, acknowledged one by one, for the whole of the backup.
    const acknowledged: Array<{ id: number; at: number }> = [];
    let writing = true;
    const writer = (async () => {
      for (let n = 200; writing; n++) acknowledged.push({ id: await register(n), at: performance.now() });
    })();
    await pollUntil("writes under way", () => (acknowledged.length >= 20 ? true : undefined));
    const backupStarted = performance.now();
    const backupFile = join(cwd.path, "backup.db");
    const backup = await tenure("backup", backupFile, "--database", database, "--json");
    const backupEnded = performance.now();
    expect(backup.stderr).toBe("");
    expect(backup.code).toBe(0);
    await pollUntil("writes after the backup", () =>
      acknowledged.some((a) => a.at > backupEnded + 50) ? true : undefined,
    );
    writing = false;
    await writer;
    expect(JSON.parse(backup.stdout)).toMatchObject({ backup: backupFile, pages: expect.any(Number) });

    const restored = join(cwd.path, "restored", "tenure.db");
    mkdirSync(join(cwd.path, "restored"));
    const restore = await tenure("restore", backupFile, "--database", restored);
    expect(restore.stderr).toBe("");
    expect(restore.code).toBe(0);
    expect(restore.stdout).toMatch(/^restored .*backup\.db into .*tenure\.db \(schema \d{4}-[a-z-]+, /);

    await server.stop();
    const live = contents(database);
    const copy = contents(restored);
    // Every table is there, and every row of the restored database is a row of the live one, to
    // the byte: the writer only inserts, so the backup point is a prefix of what the live has.
    expect([...copy.keys()]).toEqual([...live.keys()]);
    for (const [table, rows] of copy) {
      const liveRows = new Set(live.get(table));
      expect(
        rows.filter((row) => !liveRows.has(row)),
        `rows of ${table} not in the live database`,
      ).toEqual([]);
    }
    // Everything acknowledged before the backup began is in it; something written after it is not.
    const ids = new Set((copy.get("deployments") ?? []).map((row) => (JSON.parse(row) as { id: number }).id));
    const before = acknowledged.filter((a) => a.at < backupStarted);
    expect(before.length).toBeGreaterThan(0);
    expect(before.filter((a) => !ids.has(a.id))).toEqual([]);
    // The server acknowledged writes while the backup ran: it was taken under writes.
    expect(acknowledged.some((a) => a.at > backupStarted && a.at < backupEnded)).toBe(true);
    const after = acknowledged.filter((a) => a.at > backupEnded);
    expect(after.length).toBeGreaterThan(0);
    expect(after.filter((a) => ids.has(a.id))).toEqual([]);
    expect(ids.size).toBeGreaterThanOrEqual(200 + before.length);
    for (const table of ["deployments", "events", "metric_points"]) {
      if (live.has(table)) expect((copy.get(table) ?? []).length, table).toBeGreaterThan(0);
    }

    // The restored database is one Tenure opens and answers from.
    const ls = await tenure("ls", "--database", restored, "--json", "--limit", "1000");
    expect(ls.code).toBe(0);
    expect((JSON.parse(ls.stdout) as { items: unknown[] }).items).toHaveLength(ids.size);
    server = await startServe({ cwd: cwd.path, database });
  });

  it("restore replaces an existing database only with --force, atomically, and removes its stale WAL", async () => {
    const backupFile = join(cwd.path, "again.db");
    expect((await tenure("backup", backupFile, "--database", database)).code).toBe(0);

    const refusedBackup = await tenure("backup", backupFile, "--database", database);
    expect(refusedBackup.code).toBe(2);
    expect(refusedBackup.stderr).toBe(`tenure: ${backupFile} exists; --force replaces it\n`);

    // The running server holds the database open: refused without --force, named as in use.
    const refused = await tenure("restore", backupFile, "--database", database);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/^tenure: the database .* is in use \(a tenure serve has it open\)/);

    const target = join(cwd.path, "other.db");
    expect((await tenure("init", "--database", target)).code).toBe(0);
    const existing = await tenure("restore", backupFile, "--database", target);
    expect(existing.code).toBe(2);
    expect(existing.stderr).toMatch(/exists; --force replaces it/);
    // A WAL left beside the target by a crash would be replayed onto the restored file.
    writeFileSync(`${target}-wal`, "stale");
    writeFileSync(`${target}-shm`, "stale");
    const forced = await tenure("restore", backupFile, "--database", target, "--force");
    expect(forced.code).toBe(0);
    expect(existsSync(`${target}-wal`)).toBe(false);
    expect(existsSync(`${target}-shm`)).toBe(false);
    expect(contents(target)).toEqual(contents(backupFile));
  });

  it.runIf(hasScript())(
    "backup and restore show their progress in pages on a terminal, and nothing of it in a pipe",
    async () => {
      const file = join(cwd.path, "on-terminal.db");
      const shown = await runInTerminal(["backup", file, "--database", database], { cwd: cwd.path });
      expect(shown.code).toBe(0);
      const screen = stripAnsi(shown.stdout);
      expect(screen).toMatch(/backup +█+ 100% (\d+)\/\1/);
      expect(screen).toMatch(/backed up .* to .*on-terminal\.db/);
      const piped = await runTenure(["backup", file, "--force", "--database", database], { cwd: cwd.path });
      expect(piped.stderr).toBe("");
      expect(piped.stdout).not.toMatch(/█|%/);
      const target = join(cwd.path, "from-terminal.db");
      const restored = await runInTerminal(["restore", file, "--database", target], { cwd: cwd.path });
      expect(restored.code).toBe(0);
      expect(stripAnsi(restored.stdout)).toMatch(/restore +█+ 100%/);
    },
  );

  it("restore refuses, with exit 2, a file that is not a Tenure database or has a newer schema", async () => {
    const notSqlite = join(cwd.path, "notes.txt");
    writeFileSync(notSqlite, "not a database at all, but long enough to be read as one".repeat(100));
    const target = join(cwd.path, "never.db");
    const a = await tenure("restore", notSqlite, "--database", target);
    expect(a.code).toBe(2);
    expect(a.stderr).toMatch(/^tenure: .*notes\.txt is not a sound SQLite database/);

    const otherSqlite = join(cwd.path, "other-app.db");
    const other = new SqliteDatabase(otherSqlite);
    other.exec("create table t (x)");
    other.close();
    const b = await tenure("restore", otherSqlite, "--database", target);
    expect(b.code).toBe(2);
    expect(b.stderr).toMatch(/is a SQLite database but not a Tenure one/);

    const newer = join(cwd.path, "newer.db");
    expect((await tenure("backup", newer, "--database", database)).code).toBe(0);
    const db = new SqliteDatabase(newer);
    db.prepare("insert into kysely_migration (name, timestamp) values (?, ?)").run("9999-future", "x");
    db.close();
    const c = await tenure("restore", newer, "--database", target);
    expect(c.code).toBe(2);
    expect(c.stderr).toMatch(/has schema version 9999-future, newer than this Tenure knows \(\d{4}-/);
    expect(existsSync(target)).toBe(false);

    const missing = await tenure("restore", join(cwd.path, "nowhere.db"), "--database", target);
    expect(missing.code).toBe(2);
  });

  it("on PostgreSQL, backup and restore point to pg_dump and pg_restore with exit 2, never printing the password", async () => {
    const url = "postgres://tenure:s3cret-pass@db.example:5432/tenure";
    for (const command of ["backup", "restore"]) {
      const file = join(cwd.path, `${command}.dump`);
      if (command === "restore") copyFileSync(database, file);
      const result = await tenure(command, file, "--database", url);
      expect(result.code).toBe(2);
      expect(result.stderr).toMatch(command === "backup" ? /pg_dump --format=custom/ : /pg_restore --clean/);
      expect(result.stderr).not.toContain("s3cret-pass");
      expect(result.stdout).toBe("");
    }
  });
});
