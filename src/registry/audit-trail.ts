import { z } from "zod";
import { isoTime } from "../core/iso-time.js";
import type { AuditOrigin } from "../core/words.js";
import type { AuditQuery } from "../store/audit-store.js";
import { parseStoredJson } from "../store/json-columns.js";
import type { AuditRow } from "../store/schema.js";
import type { Stores } from "../store/stores.js";

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
 * database, or a signal, with who made it, from where, and the changed record before and after.
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
    const row = await stores.audit.append({
      at: this.options.clock(),
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
    });
    return toAuditView(row);
  }

  /**
   * Runs a change and records it with the subject read before and after: how the CLI's changes on
   * the database are audited. `subjectAfter` names a subject known only once the change is made.
   */
  async around<T>(
    change: AuditChange,
    work: () => Promise<T>,
    outcome: { subjectAfter?: (result: T) => AuditSubject | null; skip?: (result: T) => boolean } = {},
  ): Promise<T> {
    const before = await this.snapshot(change.subject);
    const result = await work();
    if (outcome.skip?.(result)) return result;
    const subject = outcome.subjectAfter?.(result) ?? change.subject;
    await this.record({ ...change, subject }, before, await this.snapshot(subject));
    return result;
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
