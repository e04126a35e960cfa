import { z } from "zod";
import { isoTime } from "../core/iso-time.js";
import type { AuditOrigin } from "../core/words.js";
import type { AuditQuery, NewAuditEntry } from "../store/audit-store.js";
import { parseStoredJson } from "../store/json-columns.js";
import type { AuditRow } from "../store/schema.js";
import type { Stores } from "../store/stores.js";
import type { Actor } from "./actor.js";

/** What a change touched, so that the trail can read it before and after. */
export type AuditSubject =
  | { kind: "deployment"; id: number }
  /** A model in an environment: its golden version and live deployments (register, golden, rollback). */
  | { kind: "model"; name: string; environment: string }
  | { kind: "alert"; id: number }
  | { kind: "token"; id: number }
  | { kind: "policies" };

/** Who made a change, what it was and where it came from. */
export interface AuditChange {
  actor: string;
  action: string;
  subject: AuditSubject | null;
  origin: AuditOrigin;
  client_ip?: string | null;
  user_agent?: string | null;
  method?: string | null;
  path?: string | null;
  status?: number | null;
}

/** One change on the wire (GET /v1/audit, `tenure audit --json`). */
export interface AuditView {
  id: number;
  at: string;
  actor: string;
  action: string;
  target: string | null;
  origin: AuditOrigin;
  client_ip: string | null;
  user_agent: string | null;
  method: string | null;
  path: string | null;
  status: number | null;
  before: unknown;
  after: unknown;
}

export interface AuditTrailOptions {
  stores: Stores;
  clock: () => number;
  /** The policies in force, named without their text (PolicyBook.digest). */
  policies: { digest(): unknown };
}

/** A user agent is the client's to choose: it is kept, but never at any length. */
const MAX_USER_AGENT = 256;

/**
 * The audit log's one writer and reader: every change made through the API, the CLI on the
 * database, a signal or by Tenure on its own, with who made it, from where, and the changed record
 * before and after. The registry and the lifecycle write through `recordIn`, in the transaction of
 * the change itself (see docs/AUDIT.md).
 * Secrets never enter it: a token's hash is left out of its snapshot, and the policies are named by
 * their file's hash, not their text (which may hold channel URLs and secrets).
 */
export class AuditTrail {
  constructor(private readonly options: AuditTrailOptions) {}

  /** The subject as it stands now, in the given transaction when there is one; null when it does not exist. */
  async snapshot(subject: AuditSubject | null, stores = this.options.stores): Promise<unknown> {
    if (subject === null) return null;
    switch (subject.kind) {
      case "deployment":
        return readable(await stores.deployments.findDeployment(subject.id));
      case "alert":
        return readable((await stores.alerts.findAlerts([subject.id]))[0]);
      case "token": {
        const row = (await stores.tokens.list()).find((t) => t.id === subject.id);
        if (!row) return null;
        const { token_hash: _secret, ...kept } = row;
        return readable(kept);
      }
      case "policies":
        return this.options.policies.digest();
      case "model": {
        const [golden, live] = await Promise.all([
          stores.models.findGolden(subject.name, subject.environment),
          stores.deployments.listLiveForModels([subject.name]),
        ]);
        return {
          golden_version: golden?.model_version ?? null,
          live: live
            .filter((d) => d.environment === subject.environment)
            .sort((a, b) => a.id - b.id)
            .map((d) => ({ id: d.id, model_version: d.model_version, role: d.role, status: d.status })),
        };
      }
    }
  }

  /** Appends one change with its snapshots, in the given transaction when there is one. */
  async record(
    change: AuditChange,
    before: unknown,
    after: unknown,
    stores = this.options.stores,
  ): Promise<AuditView> {
    return toAuditView(await stores.audit.append(this.entryOf(change, before, after)));
  }

  /**
   * Appends, in the transaction `tx` of the change itself, the row of a change `actor` made:
   * the change and its row commit together or not at all. From where comes with the actor
   * (`Actor.via`); without it the change is Tenure's own (`system`).
   */
  async recordIn(
    tx: Stores,
    actor: Actor,
    action: string,
    subject: AuditSubject | null,
    before: unknown,
    after: unknown,
    at?: number,
  ): Promise<void> {
    await tx.audit.append(this.entryOf(changeBy(actor, action, subject), before, after, at));
  }

  /** The row of one change, ready to append: snapshots as JSON text, the user agent bounded. */
  entryOf(change: AuditChange, before: unknown, after: unknown, at = this.options.clock()): NewAuditEntry {
    return {
      at,
      actor: change.actor,
      action: change.action,
      target: targetOf(change.subject),
      origin: change.origin,
      client_ip: change.client_ip ?? null,
      user_agent: change.user_agent?.slice(0, MAX_USER_AGENT) ?? null,
      method: change.method ?? null,
      path: change.path ?? null,
      status: change.status ?? null,
      before: before === null || before === undefined ? null : JSON.stringify(before),
      after: after === null || after === undefined ? null : JSON.stringify(after),
    };
  }

  /** A page of changes, newest first. */
  async list(query: AuditQuery): Promise<{ items: AuditView[]; next_cursor: string | null }> {
    const rows = await this.options.stores.audit.list({ ...query, limit: query.limit + 1 });
    const page = rows.slice(0, query.limit);
    return {
      items: page.map(toAuditView),
      next_cursor: rows.length > query.limit ? String(page.at(-1)?.id) : null,
    };
  }
}

/** Who made a change and from where, as `Actor.via` tells it; Tenure's own work is `system`. */
export function changeBy(actor: Actor, action: string, subject: AuditSubject | null): AuditChange {
  const { origin, ...request } = actor.via ?? { origin: "system" as const };
  return { actor: actor.name, action, subject, origin, ...request };
}

/** A stored row (a deployment's, an alert's) as the log holds it: times as ISO 8601, JSON columns as objects. */
export function snapshotOf(row: object | undefined): Record<string, unknown> | null {
  return readable(row);
}

/** How the log names a subject: `deployment:42`, `model:fraud-gbm/production`, `policies`. */
export function targetOf(subject: AuditSubject | null): string | null {
  if (subject === null) return null;
  switch (subject.kind) {
    case "model":
      return `model:${subject.name}/${subject.environment}`;
    case "policies":
      return "policies";
    default:
      return `${subject.kind}:${subject.id}`;
  }
}

export function toAuditView(row: AuditRow): AuditView {
  return {
    id: row.id,
    at: isoTime(Number(row.at)),
    actor: row.actor,
    action: row.action,
    target: row.target,
    origin: row.origin,
    client_ip: row.client_ip,
    user_agent: row.user_agent,
    method: row.method,
    path: row.path,
    status: row.status,
    before: row.before === null ? null : parseStoredJson("audit_log.before", z.unknown(), row.before),
    after: row.after === null ? null : parseStoredJson("audit_log.after", z.unknown(), row.after),
  };
}

const TIME_FIELD = /(_at|_date|_cutoff|_since)$/;

/**
 * A stored row as people read it: times (epoch ms in the tables) as ISO 8601, and JSON text
 * columns (tags, detail) as the objects they hold.
 */
function readable(row: object | undefined): Record<string, unknown> | null {
  if (!row) return null;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(row)) {
    if (TIME_FIELD.test(key) && value !== null && value !== undefined) out[key] = isoTime(Number(value));
    else if (typeof value === "string" && (value.startsWith("{") || value.startsWith("[")))
      out[key] = parseOrKeep(value);
    else out[key] = value;
  }
  return out;
}

function parseOrKeep(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}
