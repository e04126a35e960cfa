/**
 * The bare PostgreSQL write server, a third peer of the registry benchmark (PostgreSQL only): the
 * floor's route (bench/floor-server.ts: Fastify 5, the same zod body, no auth, no logging), whose
 * registrations are stored in the rows Tenure stores, in the cheapest way this stack allows.
 * Registrations that arrive together share a transaction (up to 64, two transactions in flight),
 * each transaction is two round trips on a pipelined connection (BEGIN with the locks, the reads
 * and the new ids; then every write with the COMMIT), and every statement is a named prepared
 * statement whose text does not change with the batch's size (one array a column), planned once
 * (PostgreSQL's generic plans: forcing a plan per execution measured 1,419–1,717 against
 * 1,773–2,098 registrations/s). No idempotency keys, no conflict checks beyond the rows' own, no
 * views, no policies, no auth: what a server that stores the same rows on the same schema and
 * does nothing else reaches on this machine, beside the floor that stores nothing.
 *
 * `--variant` takes something more away, to see what each part of the schema costs here:
 * `no-foreign-keys` drops the three foreign keys (deployments and versions to models, events to
 * deployments), `no-list-indexes` drops them and every index that serves only lists and history
 * (what is left: the primary keys and the one-live-primary index), `async-commit` keeps the
 * schema but does not wait for the WAL to reach the disk at COMMIT (synchronous_commit = off: a
 * crash may lose the last commits). None of these is acceptable for Tenure; they bound what the
 * schema and durability cost.
 *
 *   node --import tsx bench/lib/bare-postgres-server.ts --port 8082 --database postgres://… [--variant V]
 */
import pg from "pg";
import { z } from "zod";
import type { RegisterDeploymentBody as Body } from "../../dist/registry/deployment-input.js";
import { RegisterDeploymentBody } from "../../dist/registry/deployment-input.js";
import { openDatabase } from "../../dist/store/database.js";
import { migrateToLatest } from "../../dist/store/migrate.js";
import { BARE_VARIANTS, type BareVariant } from "./bare-variants.js";
import { PORT_OPTION, parseScriptOptions } from "./bench-options.js";
import { serveFloor } from "./floor-app.js";

const DROP_FOREIGN_KEYS =
  "alter table deployments drop constraint deployments_model_fkey; " +
  "alter table deployment_events drop constraint deployment_events_deployment_id_fkey; " +
  "alter table model_versions drop constraint model_versions_model_fkey;";

/** What each variant changes in the freshly migrated database, before the first registration. */
const VARIANT_SQL: Record<BareVariant, string> = {
  schema: "",
  "no-foreign-keys": DROP_FOREIGN_KEYS,
  "no-list-indexes":
    `${DROP_FOREIGN_KEYS} drop index deployments_age, deployments_environment_age, deployments_live_age, ` +
    "deployments_team_age, deployments_scheduled, deployment_events_deployment, deployment_events_model_own;",
  "async-commit": "",
};

const flags = parseScriptOptions("bare-postgres-server", {
  port: PORT_OPTION,
  database: {
    schema: z.string().regex(/^postgres(ql)?:\/\//),
    value: "postgres://…",
    help: "a scratch database of its own, which it migrates",
  },
  variant: {
    schema: z.enum(BARE_VARIANTS).default("schema"),
    value: BARE_VARIANTS.join("|"),
    help: "the schema as Tenure's, or with something taken away",
  },
});
const url = flags.database;
const variant: BareVariant = flags.variant;

/** Transactions in flight and registrations in one, as Tenure's registry batches them. */
const SLOTS = 2;
const MAX_BATCH = 64;
const ACTOR = "token:bench";

const STATEMENTS = {
  lock:
    "select pg_advisory_xact_lock(h) from (select distinct hashtextextended(k, 0) as h " +
    "from unnest($1::text[]) as k order by h) as locks",
  models: "select name from models where name = any($1::text[])",
  primaries:
    "select id, model, environment, model_version from deployments where model = any($1::text[]) " +
    "and (case when status = 'active' and role = 'primary' then 0 else id end) = 0",
  versions:
    "select model, model_version from model_versions " +
    "where model = any($1::text[]) and model_version = any($2::text[])",
  ids: "select nextval(pg_get_serial_sequence('deployments', 'id'))::int as id from generate_series(1, $1)",
  insertModels:
    "insert into models (name, owner_team, created_at) " +
    "select * from unnest($1::text[], $2::text[], $3::bigint[]) on conflict do nothing",
  insertVersions:
    "insert into model_versions (model, model_version, training_data_cutoff, created_at) " +
    "select * from unnest($1::text[], $2::text[], $3::bigint[], $4::bigint[]) on conflict do nothing",
  supersede:
    "update deployments d set status = 'superseded', ended_at = u.ended_at " +
    "from unnest($1::int[], $2::bigint[]) as u(id, ended_at) where d.id = u.id and d.status = 'active'",
  openAlerts: "select id from alerts where state = 'open' and deployment_id = any($1::int[])",
  insertDeployments:
    "insert into deployments (id, model, model_version, environment, owner_team, role, status, " +
    "deployment_date, training_data_cutoff, endpoint, tags, created_at, created_by) select * from " +
    "unnest($1::int[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], " +
    "$8::bigint[], $9::bigint[], $10::text[], $11::text[], $12::bigint[], $13::text[])",
  insertEvents:
    "insert into deployment_events (deployment_id, model, environment, type, actor, at, data) " +
    "select * from unnest($1::int[], $2::text[], $3::text[], $4::text[], $5::text[], $6::bigint[], $7::text[])",
} as const;

interface Pending {
  body: Body;
  at: number;
  done: (row: StoredRow) => void;
  fail: (error: unknown) => void;
}

interface StoredRow {
  id: number;
  model: string;
  model_version: string;
  environment: string;
  owner_team: string;
  role: string;
  status: "active";
  deployment_date: number;
  training_data_cutoff: number;
  endpoint: string | null;
  tags: string;
  created_at: number;
  created_by: string;
}

pg.types.setTypeParser(20, (value: string) => Number(value));
const migrating = openDatabase(url);
await migrateToLatest(migrating);
await migrating.close();
const free: pg.Client[] = [];
for (let i = 0; i < SLOTS + 1; i++) {
  const client = new pg.Client({ connectionString: url, pipeline: true } as pg.ClientConfig);
  await client.connect();
  if (i === 0 && VARIANT_SQL[variant]) await client.query(VARIANT_SQL[variant]);
  if (variant === "async-commit") await client.query("set synchronous_commit = off");
  free.push(client);
}
/** The third connection refreshes statistics as the table grows, as Tenure's FreshStatistics does. */
const statistics = free.pop() as pg.Client;
let grown = 0;
let rowsAtLastAnalyze = 0;
let analyzing = false;
let queue: Pending[] = [];

function run<R>(client: pg.Client, name: keyof typeof STATEMENTS, parameters: unknown[]): Promise<R[]> {
  return client.query({ name, text: STATEMENTS[name], values: parameters }).then((r) => r.rows as R[]);
}

/** Statements issued in one synchronous run leave in one write (as sendPerTick in Tenure's store). */
function corkForThisTick(client: pg.Client): void {
  const stream = (
    client as unknown as { connection: { stream: NodeJS.WritableStream & { cork(): void; uncork(): void } } }
  ).connection.stream;
  stream.cork();
  process.nextTick(() => stream.uncork());
}

const column = <T, K extends keyof T>(rows: T[], key: K): T[K][] => rows.map((row) => row[key]);

async function store(client: pg.Client, items: Pending[]): Promise<StoredRow[]> {
  const bodies = items.map((item) => item.body);
  const models = bodies.map((b) => b.model);
  corkForThisTick(client);
  const begun = client.query("begin");
  const reads = Promise.all([
    run(client, "lock", [bodies.map((b) => `${b.model} ${b.environment}`)]),
    run<{ name: string }>(client, "models", [models]),
    run<{ id: number; model: string; environment: string; model_version: string }>(client, "primaries", [
      bodies.filter((b) => b.role === "primary").map((b) => b.model),
    ]),
    run<{ model: string; model_version: string }>(client, "versions", [
      models,
      [...new Set(bodies.map((b) => b.model_version))],
    ]),
    run<{ id: number }>(client, "ids", [bodies.length]),
  ]);
  await begun;
  const [, knownModels, primaries, versions, ids] = await reads;
  const known = new Set(knownModels.map((m) => m.name));
  const knownVersions = new Set(versions.map((v) => `${v.model} ${v.model_version}`));
  const primaryOf = new Map(primaries.map((p) => [`${p.model} ${p.environment}`, p]));
  const rows: StoredRow[] = items.map(({ body, at }, i) => ({
    id: ids[i]?.id ?? 0,
    model: body.model,
    model_version: body.model_version,
    environment: body.environment,
    owner_team: body.owner_team,
    role: body.role,
    status: "active",
    deployment_date: at,
    training_data_cutoff: Date.parse(body.training_data_cutoff),
    endpoint: body.endpoint ?? null,
    tags: JSON.stringify(body.tags ?? {}),
    created_at: at,
    created_by: ACTOR,
  }));
  const ended: { id: number; ended_at: number }[] = [];
  const events: {
    deployment_id: number;
    model: string;
    environment: string;
    type: string;
    at: number;
    data: string;
  }[] = [];
  for (const row of rows) {
    const old = row.role === "primary" ? primaryOf.get(`${row.model} ${row.environment}`) : undefined;
    const common = { model: row.model, environment: row.environment, at: row.created_at };
    events.push({
      ...common,
      deployment_id: row.id,
      type: "deployed",
      data: JSON.stringify({ model_version: row.model_version, role: row.role, supersedes: old?.id ?? null }),
    });
    if (old) {
      ended.push({ id: old.id, ended_at: row.deployment_date });
      events.push({
        ...common,
        deployment_id: old.id,
        type: "superseded",
        data: JSON.stringify({ model_version: old.model_version, superseded_by: row.id }),
      });
    }
  }
  const newModels = rows.filter((r) => !known.has(r.model));
  const newVersions = rows.filter((r) => !knownVersions.has(`${r.model} ${r.model_version}`));
  corkForThisTick(client);
  const writes: Promise<unknown>[] = [];
  if (newModels.length > 0) {
    writes.push(
      run(client, "insertModels", [
        column(newModels, "model"),
        column(newModels, "owner_team"),
        column(newModels, "created_at"),
      ]),
    );
  }
  if (newVersions.length > 0) {
    writes.push(
      run(client, "insertVersions", [
        column(newVersions, "model"),
        column(newVersions, "model_version"),
        column(newVersions, "training_data_cutoff"),
        column(newVersions, "created_at"),
      ]),
    );
  }
  if (ended.length > 0) {
    writes.push(run(client, "supersede", [column(ended, "id"), column(ended, "ended_at")]));
    writes.push(run(client, "openAlerts", [column(ended, "id")]));
  }
  writes.push(
    run(client, "insertDeployments", [
      column(rows, "id"),
      column(rows, "model"),
      column(rows, "model_version"),
      column(rows, "environment"),
      column(rows, "owner_team"),
      column(rows, "role"),
      column(rows, "status"),
      column(rows, "deployment_date"),
      column(rows, "training_data_cutoff"),
      column(rows, "endpoint"),
      column(rows, "tags"),
      column(rows, "created_at"),
      column(rows, "created_by"),
    ]),
    run(client, "insertEvents", [
      column(events, "deployment_id"),
      column(events, "model"),
      column(events, "environment"),
      column(events, "type"),
      events.map(() => ACTOR),
      column(events, "at"),
      column(events, "data"),
    ]),
    client.query("commit"),
  );
  await Promise.all(writes);
  return rows;
}

/** Up to MAX_BATCH waiting registrations, stopping before a model seen twice (one read decides it). */
function nextBatch(): Pending[] {
  const models = new Set<string>();
  let n = 0;
  while (n < queue.length && n < MAX_BATCH && !models.has((queue[n] as Pending).body.model)) {
    models.add((queue[n] as Pending).body.model);
    n++;
  }
  const batch = queue.slice(0, n);
  queue = queue.slice(n);
  return batch;
}

function pump(): void {
  while (free.length > 0 && queue.length > 0) {
    const client = free.pop() as pg.Client;
    const items = nextBatch();
    store(client, items)
      .then(
        (rows) => {
          items.forEach((item, i) => {
            item.done(rows[i] as StoredRow);
          });
          refreshStatistics(rows.length);
        },
        async (error: unknown) => {
          await client.query("rollback").catch(() => {});
          for (const item of items) item.fail(error);
        },
      )
      .finally(() => {
        free.push(client);
        pump();
      });
  }
}

function refreshStatistics(rows: number): void {
  grown += rows;
  if (analyzing || grown < Math.max(1_000, rowsAtLastAnalyze * 0.2)) return;
  analyzing = true;
  rowsAtLastAnalyze += grown;
  grown = 0;
  statistics
    .query("analyze deployments, deployment_events, models, model_versions")
    .catch(() => {})
    .finally(() => {
      analyzing = false;
    });
}

await serveFloor({
  port: flags.port,
  routes: (app) => {
    app.post("/v1/deployments", { schema: { body: RegisterDeploymentBody } }, async (request, reply) => {
      const row = await new Promise<StoredRow>((done, fail) => {
        queue.push({ body: request.body, at: Date.now(), done, fail });
        if (queue.length === 1) setImmediate(pump);
      });
      return reply.code(201).send(row);
    });
  },
  onClose: () => Promise.all([...free, statistics].map((c) => c.end())),
});
