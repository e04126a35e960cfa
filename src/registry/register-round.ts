import { createHash } from "node:crypto";
import { z } from "zod";
import { ConflictError, InputError } from "../core/errors.js";
import { ROLES, STATUSES } from "../core/words.js";
import { storedDeployments } from "../store/deployment-store.js";
import { parseStoredJson } from "../store/json-columns.js";
import type { DeploymentRow } from "../store/schema.js";
import type { Stores } from "../store/stores.js";
import type { AuditTrail } from "./audit-trail.js";
import type { RegisterDeploymentBody } from "./deployment-input.js";
import { type DeploymentView, iso } from "./deployment-view.js";
import type { PendingRegistration } from "./pending-registration.js";
import {
  type Accepted,
  auditEntriesOf,
  baselinesOf,
  canariesOf,
  eventsOf,
  newRow,
  pairKey,
} from "./round-rows.js";
import type { Outcome } from "./write-batcher.js";

export type { PendingRegistration } from "./pending-registration.js";

export interface Registration {
  deployment: DeploymentView;
  /** True when an Idempotency-Key matched an earlier registration and this is its answer. */
  replayed: boolean;
}

/** A stable hash of a registration body, to tell a retry from a reuse of its Idempotency-Key. */
export function hashRequest(body: RegisterDeploymentBody): string {
  const sorted = Object.fromEntries(Object.entries(body).sort(([a], [b]) => a.localeCompare(b)));
  return createHash("sha256").update(JSON.stringify(sorted)).digest("hex");
}

/**
 * Splits registrations into rounds in which no model and no idempotency key appears twice, in
 * arrival order: a round can then be decided from one read of the registry's state, and the
 * rounds, run one after another, give the same result as registering one by one.
 */
export function splitRounds(items: PendingRegistration[]): number[][] {
  const rounds: { indexes: number[]; keys: Set<string> }[] = [];
  items.forEach((item, index) => {
    const keys = [`model:${item.body.model}`, ...(item.scope_key ? [`key:${item.scope_key}`] : [])];
    // An item goes after the last round that holds any of its keys, never before it.
    let last = -1;
    rounds.forEach((round, r) => {
      if (keys.some((k) => round.keys.has(k))) last = r;
    });
    let round = rounds[last + 1];
    if (!round) {
      round = { indexes: [], keys: new Set() };
      rounds.push(round);
    }
    round.indexes.push(index);
    for (const k of keys) round.keys.add(k);
  });
  return rounds.map((r) => r.indexes);
}

/** How a stored row is shown, judged by its own policy. */
export type ViewOf = (row: DeploymentRow, now: number) => DeploymentView;

/** What ending deployments did to their alerts: how many it resolved, and the notifications it queued. */
export interface EndedAlerts {
  alerts: number;
  notifications: number;
}

/** Nothing resolved, nothing queued: what a change that ended no deployment, or had no alerts to end, did. */
export const NO_ENDED_ALERTS: EndedAlerts = Object.freeze({ alerts: 0, notifications: 0 });

/**
 * Told, inside the transaction, of deployments that just ended (their alerts end with them);
 * answers what it did, so a caller that counts (a sweep's totals) counts those alerts too.
 */
export type OnEnded = (tx: Stores, ended: DeploymentRow[], at: number) => Promise<EndedAlerts>;

/**
 * Registers a round (distinct models, distinct idempotency keys) inside a transaction with a
 * fixed number of statements, whatever its size: reads of the models, versions, live primaries
 * and stored answers it touches, then one write of each kind. Every refusal is decided before
 * the first write, so refused items leave nothing behind.
 */
export async function registerRound(
  tx: Stores,
  items: PendingRegistration[],
  viewOf: ViewOf,
  onEnded?: OnEnded,
  audit?: AuditTrail,
): Promise<Outcome<Registration>[]> {
  const models = [...new Set(items.map((i) => i.body.model))];
  const scopeKeys = items.flatMap((i) => (i.scope_key ? [i.scope_key] : []));
  const canaryPairs = items
    .filter((i) => i.body.canary !== undefined)
    .map((i) => ({ model: i.body.model, environment: i.body.environment }));
  const [stored, knownModels, primaries, versions, ids, liveCanaries] = await Promise.all([
    tx.idempotency.findStoredResponses(scopeKeys),
    tx.models.findModels(models),
    // Only an immediate primary supersedes anything (see decide); a canary names the primary
    // it is measured against.
    tx.deployments.findLivePrimaries([
      ...items
        .filter((i) => i.body.role === "primary" && !i.scheduled)
        .map((i) => ({ model: i.body.model, environment: i.body.environment })),
      ...canaryPairs,
    ]),
    tx.models.findVersions(items.map((i) => ({ model: i.body.model, model_version: i.body.model_version }))),
    // PostgreSQL: the new rows' ids now, so that their events need not wait for the insert.
    tx.deployments.reserveDeploymentIds(items.length),
    tx.canaries.liveCanaries(canaryPairs),
  ]);
  const canaryBy = new Map(liveCanaries.map((c) => [pairKey(c.model, c.environment), c]));
  const storedBy = new Map(stored.map((s) => [s.scope_key, s]));
  const modelBy = new Map(knownModels.map((m) => [m.name, m]));
  const primaryBy = new Map(primaries.map((p) => [pairKey(p.model, p.environment), p]));
  const versionBy = new Map(versions.map((v) => [pairKey(v.model, v.model_version), v]));

  const outcomes: Outcome<Registration>[] = [];
  const accepted: Accepted[] = [];
  const acceptedAt: number[] = [];
  items.forEach((item, index) => {
    try {
      const replay = item.scope_key ? storedBy.get(item.scope_key) : undefined;
      if (replay) {
        if (replay.request_hash !== item.request_hash) {
          throw new ConflictError("this Idempotency-Key was already used for a different registration");
        }
        outcomes[index] = {
          ok: true,
          value: { deployment: storedResponse(replay.response), replayed: true },
        };
        return;
      }
      const running = item.body.canary
        ? canaryBy.get(pairKey(item.body.model, item.body.environment))
        : undefined;
      if (running) {
        throw new ConflictError(
          `${item.body.model} has a canary in ${item.body.environment} already (deployment ${running.deployment_id}, ${running.state}): end it first`,
        );
      }
      accepted.push(decide(item, modelBy, primaryBy, versionBy));
      acceptedAt.push(index);
    } catch (error) {
      outcomes[index] = { ok: false, error };
    }
  });

  const registrations = await write(tx, accepted, modelBy, versionBy, ids, {
    viewOf,
    onEnded,
    primaryBy,
    audit,
  });
  registrations.forEach((registration, i) => {
    outcomes[acceptedAt[i] as number] = { ok: true, value: registration };
  });
  return outcomes;
}

/**
 * What an idempotent replay reads back from idempotency_keys.response: the deployment as it was
 * first answered. Its full schema belongs to http/, which registry/ does not import; checking its
 * identity is enough to refuse a row that is not a deployment, and the rest is sent as stored.
 */
const StoredResponse = z.looseObject({
  id: z.number().int(),
  model: z.string(),
  model_version: z.string(),
  environment: z.string(),
  owner_team: z.string(),
  role: z.enum(ROLES),
  status: z.enum(STATUSES),
});

function storedResponse(text: string): DeploymentView {
  return parseStoredJson("idempotency_response", StoredResponse, text) as unknown as DeploymentView;
}

/** Decides one registration against the state read for its round; throws its refusal. */
function decide(
  item: PendingRegistration,
  modelBy: Map<string, { owner_team: string }>,
  primaryBy: Map<string, DeploymentRow>,
  versionBy: Map<string, { training_data_cutoff: number }>,
): Accepted {
  const { body } = item;
  const model = modelBy.get(body.model);
  if (model && model.owner_team !== body.owner_team) {
    throw new ConflictError(
      `model ${body.model} is owned by team ${model.owner_team}, not ${body.owner_team}`,
    );
  }
  // A scheduled promotion supersedes nothing yet: the sweep that carries it out will.
  const superseded =
    body.role === "primary" && !item.scheduled
      ? primaryBy.get(pairKey(body.model, body.environment))
      : undefined;
  if (superseded && superseded.deployment_date > item.deployment_date) {
    throw new ConflictError(
      `deployment_date ${iso(item.deployment_date)} is before that of the live primary ` +
        `${superseded.id} (${iso(superseded.deployment_date)}) it would supersede`,
    );
  }
  const version = versionBy.get(pairKey(body.model, body.model_version));
  if (version && version.training_data_cutoff !== item.training_data_cutoff) {
    throw new InputError("a model version has one training_data_cutoff", [
      {
        field: "training_data_cutoff",
        message: `${body.model} ${body.model_version} was registered with training_data_cutoff ${iso(version.training_data_cutoff)}`,
      },
    ]);
  }
  return { item, superseded };
}

/**
 * Writes an accepted round. Its statements are issued together and awaited together (on
 * PostgreSQL they leave in one write, see pipelinedTransactions); the database runs them in the
 * order they are issued, since each store method sends its statement when it is called. The old
 * primaries end before their successors are inserted, as the one-live-primary index requires.
 * With ids reserved (PostgreSQL), the new rows are known before the insert is answered and
 * their events go with it; otherwise (SQLite, whose insert answers at once) the events follow.
 */
async function write(
  tx: Stores,
  accepted: Accepted[],
  modelBy: Map<string, unknown>,
  versionBy: Map<string, unknown>,
  ids: number[] | undefined,
  { viewOf, onEnded, primaryBy, audit }: WriteOptions,
): Promise<Registration[]> {
  if (accepted.length === 0) return [];
  const supersessions = accepted.flatMap(({ item, superseded }) =>
    superseded ? [{ id: superseded.id, ended_at: item.deployment_date }] : [],
  );
  const endedRows = accepted.flatMap(({ item, superseded }) =>
    superseded ? [{ ...superseded, status: "superseded" as const, ended_at: item.deployment_date }] : [],
  );
  const newRows = accepted.map(({ item }) => newRow(item));
  // PostgreSQL pipelines a transaction's statements; SQLite answers each at once.
  const together = tx.traits.pipelined;
  const first = inTurn(together, [
    () =>
      tx.models.insertModels(
        accepted
          .filter(({ item }) => !modelBy.has(item.body.model))
          .map(({ item }) => ({
            name: item.body.model,
            owner_team: item.body.owner_team,
            created_at: item.now,
          })),
      ),
    () =>
      tx.models.insertVersions(
        accepted
          .filter(({ item }) => !versionBy.has(pairKey(item.body.model, item.body.model_version)))
          .map(({ item }) => ({
            model: item.body.model,
            model_version: item.body.model_version,
            training_data_cutoff: item.training_data_cutoff,
            created_at: item.now,
          })),
      ),
    () => tx.deployments.endDeployments("superseded", supersessions),
    async () => {
      if (onEnded && endedRows.length > 0) await onEnded(tx, endedRows, accepted[0]?.item.now ?? 0);
    },
    () => tx.deployments.insertDeployments(newRows, ids),
  ] as const);
  // Awaited below; should building what follows throw first, its failure is not unhandled.
  first.catch(() => {});
  const rows = ids ? storedDeployments(newRows, ids) : inOrder(accepted, (await first)[4]);
  const registrations = accepted.map(({ item }, i) => ({
    deployment: viewOf(rows[i] as DeploymentRow, item.now),
    replayed: false,
  }));
  const rest = inTurn(together, [
    // First, so that any later statement's failure visibly takes the rows with it.
    () => tx.audit.appendAll(audit ? auditEntriesOf(audit, accepted, rows) : []),
    () => tx.deployments.appendEvents(eventsOf(accepted, rows)),
    () => tx.metrics.insertBaselines(baselinesOf(accepted, rows)),
    () => tx.canaries.insertCanaries(canariesOf(accepted, rows, primaryBy)),
    () =>
      tx.idempotency.storeResponses(
        accepted.flatMap(({ item }, i) => {
          const registration = registrations[i];
          return item.scope_key && registration
            ? [
                {
                  scope_key: item.scope_key,
                  request_hash: item.request_hash,
                  status_code: 201,
                  response: JSON.stringify(registration.deployment),
                  created_at: item.now,
                },
              ]
            : [];
        }),
      ),
  ] as const);
  const [[, , ended]] = await Promise.all([first, rest]);
  if (ended !== supersessions.length) {
    // The locks make this impossible; if it happens, the batch is replayed one by one.
    throw new Error(`expected to supersede ${supersessions.length} deployments, superseded ${ended}`);
  }
  return registrations;
}

interface WriteOptions {
  viewOf: ViewOf;
  onEnded: OnEnded | undefined;
  primaryBy: Map<string, DeploymentRow>;
  audit: AuditTrail | undefined;
}

/**
 * Runs statements in the order given: issued all at once and awaited together where the
 * database pipelines them (PostgreSQL, see pipelinedTransactions), else each after the one
 * before, stopping at the first that fails, as a sequence of awaits does. SQLite answers each
 * statement at once; carrying on past a failed one there only made a failed attempt longer.
 */
async function inTurn<T extends readonly unknown[]>(
  together: boolean,
  statements: { readonly [K in keyof T]: () => Promise<T[K]> },
): Promise<T> {
  if (together) return (await Promise.all(statements.map((statement) => statement()))) as unknown as T;
  const results: unknown[] = [];
  for (const statement of statements) results.push(await statement());
  return results as unknown as T;
}

/** The inserted rows in the order of the registrations: a round holds each model once. */
function inOrder(accepted: Accepted[], rows: DeploymentRow[]): DeploymentRow[] {
  const rowBy = new Map(rows.map((row) => [row.model, row]));
  return accepted.map(({ item }) => {
    const row = rowBy.get(item.body.model);
    if (!row) throw new Error(`the insert returned no row for ${item.body.model}`);
    return row;
  });
}
