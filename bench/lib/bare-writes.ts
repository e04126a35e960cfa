/**
 * The bare SQL write path, a second peer of the registry benchmark (SQLite): the rows one
 * registration writes, written by prepared better-sqlite3 statements in transactions of
 * `--batch` registrations, on the same migrated schema, in one thread, with no HTTP, no
 * validation, no Kysely and no views. What it costs in CPU is the least any server writing these
 * rows on one thread pays per registration; added to the HTTP floor's cost it bounds how far
 * Tenure's ratio can reach on this machine. Run as its own process: prints one JSON line.
 *
 *   node --import tsx bench/lib/bare-writes.ts --count 20000 --batch 32
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import SqliteDatabase from "better-sqlite3";
import { openDatabase } from "../../src/store/database.js";
import { migrateToLatest } from "../../src/store/migrate.js";
import { integer, parseScriptOptions } from "./bench-options.js";
import { withTeardown } from "./teardown.js";
import { registrationBody } from "./workload.js";

export interface BareWriteFigures {
  registrations: number;
  batch: number;
  per_s: number;
  cpu_us_per_registration: number;
}

async function main(): Promise<void> {
  const { count, batch } = parseScriptOptions("bare-writes", {
    count: { schema: integer(1).default(20_000), value: "N", help: "registrations" },
    batch: { schema: integer(1).default(32), value: "N", help: "registrations a transaction" },
  });
  await withTeardown(async (teardown) => {
    const file = join(teardown.folder(mkdtempSync(join(tmpdir(), "tenure-bare-"))), "tenure.db");
    const migrated = openDatabase(file);
    await migrateToLatest(migrated);
    await migrated.close();
    process.stdout.write(`${JSON.stringify(writeAll(file, count, batch))}\n`);
  });
}

function writeAll(file: string, count: number, batch: number): BareWriteFigures {
  const db = new SqliteDatabase(file);
  db.pragma("journal_mode = WAL");
  db.pragma("synchronous = NORMAL");
  const findModel = db.prepare("select name from models where name = ?");
  const addModel = db.prepare("insert into models (name, owner_team, created_at) values (?, ?, ?)");
  const findVersion = db.prepare("select model from model_versions where model = ? and model_version = ?");
  const addVersion = db.prepare(
    "insert into model_versions (model, model_version, training_data_cutoff, created_at) values (?, ?, ?, ?)",
  );
  const findPrimary = db.prepare(
    "select id, model_version from deployments where model = ? and environment = ? and status = 'active' and role = 'primary'",
  );
  const end = db.prepare("update deployments set status = 'superseded', ended_at = ? where id = ?");
  const openAlerts = db.prepare("select id from alerts where state = 'open' and deployment_id = ?");
  const addDeployment = db.prepare(
    `insert into deployments (model, model_version, environment, owner_team, role, status, deployment_date,
       training_data_cutoff, ended_at, endpoint, tags, ttl_extension_seconds, created_at, created_by)
     values (?, ?, ?, ?, ?, 'active', ?, ?, null, null, '{}', 0, ?, 'bench') returning id`,
  );
  const addEvent = db.prepare(
    "insert into deployment_events (deployment_id, model, environment, type, actor, at, data) values (?, ?, ?, ?, 'bench', ?, ?)",
  );
  const write = db.transaction((first: number, n: number) => {
    for (let i = first; i < first + n; i++) {
      const body = registrationBody(i);
      const now = Date.now();
      const cutoff = Date.parse(body.training_data_cutoff);
      const role = body.role ?? "primary";
      if (!findModel.get(body.model)) addModel.run(body.model, body.owner_team, now);
      if (!findVersion.get(body.model, body.model_version)) {
        addVersion.run(body.model, body.model_version, cutoff, now);
      }
      const primary =
        role === "primary"
          ? (findPrimary.get(body.model, body.environment) as
              | { id: number; model_version: string }
              | undefined)
          : undefined;
      if (primary) {
        end.run(now, primary.id);
        openAlerts.all(primary.id);
      }
      const { id } = addDeployment.get(
        body.model,
        body.model_version,
        body.environment,
        body.owner_team,
        role,
        now,
        cutoff,
        now,
      ) as { id: number };
      const deployed = { model_version: body.model_version, role, supersedes: primary?.id ?? null };
      addEvent.run(id, body.model, body.environment, "deployed", now, JSON.stringify(deployed));
      if (primary) {
        const superseded = { model_version: primary.model_version, superseded_by: id };
        addEvent.run(primary.id, body.model, body.environment, "superseded", now, JSON.stringify(superseded));
      }
    }
  });
  const cpu = process.cpuUsage();
  const started = performance.now();
  for (let first = 0; first < count; first += batch) write(first, Math.min(batch, count - first));
  const seconds = (performance.now() - started) / 1000;
  const used = process.cpuUsage(cpu);
  db.close();
  return {
    registrations: count,
    batch,
    per_s: count / seconds,
    cpu_us_per_registration: (used.user + used.system) / count,
  };
}

await main();
