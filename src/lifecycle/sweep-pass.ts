import type { AlertWrites } from "../alerts/incidents.js";
import type { AgeStage } from "../core/age.js";
import type { Actor } from "../registry/actor.js";
import type { AlertRow } from "../store/schema.js";
import type { Stores } from "../store/stores.js";
import { ModelDecays } from "./model-decays.js";

/** The actor of what a sweep does on its own (promotions, retirements). */
export const SWEEP_ACTOR: Actor = { name: "tenure:sweep", key_scope: "tenure:sweep", team: null };

/** A new pass at `at`: a sweep, or with `dryRun` a preview that writes nothing. */
export function newPass(
  stores: Stores,
  at: number,
  dryRun: boolean,
  onProgress?: (read: number) => void,
  /** Run first in each transaction of alert writes; throws to refuse them (the sweep lease's fence). */
  fence?: (tx: Stores) => Promise<void>,
): Pass {
  let read = 0;
  return {
    at,
    dryRun,
    read: (rows) => {
      read += rows;
      onProgress?.(read);
    },
    totals: {
      deployments: 0,
      stages: { fresh: 0, due: 0, expired: 0 },
      findings: {},
      retirements: 0,
      alerts_opened: 0,
      alerts_resolved: 0,
      notifications: 0,
    },
    tookOver: new Set(),
    superseded: new Set(),
    decays: new ModelDecays(stores, at),
    fence: async (tx) => {
      if (!dryRun) await fence?.(tx);
    },
    alertWrites: dryRun
      ? (work) => work(countingWrites(stores))
      : (work) =>
          stores.transaction(async (tx) => {
            await fence?.(tx);
            return work(tx);
          }),
  };
}

export type Totals = {
  deployments: number;
  retirements: number;
  stages: Record<AgeStage, number>;
  findings: Record<string, number>;
  alerts_opened: number;
  /**
   * Every alert the pass resolved, those resolved in the transactions of its promotions,
   * take-overs, rollbacks and retirements too.
   */
  alerts_resolved: number;
  /** Every notification it queued, wherever it queued it (the same transactions). */
  notifications: number;
};

/** What one pass keeps while it runs, its own: a preview may run beside a sweep. */
export interface Pass {
  at: number;
  dryRun: boolean;
  /** Counts the live deployments read and judged, for the request's onProgress. */
  read: (rows: number) => void;
  totals: Totals;
  /** Successors that took over from an expired primary during this pass. */
  tookOver: Set<number>;
  /** In a preview: the live primaries its promotions would have superseded. */
  superseded: Set<number>;
  /**
   * The decay curves of the pass, each model's learned once for the TTL learner and the forecasts,
   * let go once the pages have passed the model's newest live deployment.
   */
  decays: ModelDecays;
  /**
   * Run first in each transaction the sweep writes in (the sweep lease's fence): throws to refuse
   * the transaction. A change the sweep makes through the registry calls it in its own.
   */
  fence: (tx: Stores) => Promise<void>;
  /** Alert changes, in one transaction; in a preview, handed a writer that writes nothing. */
  alertWrites: <T>(work: (tx: AlertWrites) => Promise<T>) => Promise<T>;
}

/**
 * The alert writes of a preview: reads go to the store, writes change nothing and return what
 * they would have, so Incidents counts the alerts and the notifications exactly as it would.
 * Like a transaction, it reads what it "wrote": an alert it opened is open to a later read and
 * can be resolved, an alert it resolved is no longer open, and one it amended resolves as amended
 * (a policy retirement opens the expiry's alert, or amends the open one, and resolves it at once).
 */
export function countingWrites(stores: Stores): AlertWrites {
  const opened: AlertRow[] = [];
  const resolved = new Set<number>();
  const amended = new Map<number, Pick<AlertRow, "summary" | "detail">>();
  // Ids no stored alert has, so the alerts opened here are told apart from the store's.
  let nextId = -1;
  return {
    alerts: {
      openAlertsFor: async (ids) => {
        const wanted = new Set(ids);
        const stored = await stores.alerts.openAlertsFor(ids);
        return [...stored, ...opened.filter((a) => wanted.has(a.deployment_id))].filter(
          (a) => !resolved.has(a.id),
        );
      },
      insertAlerts: async (alerts) => {
        const rows = alerts.map(
          (a): AlertRow => ({
            ...a,
            id: nextId--,
            detail: JSON.stringify(a.detail),
            state: "open",
            last_notified_at: a.opened_at,
            notifications: 1,
            resolved_at: null,
            resolution: null,
          }),
        );
        opened.push(...rows);
        return rows;
      },
      markReminded: async () => {},
      amendAlert: async (id, summary, detail) => {
        if (!resolved.has(id)) amended.set(id, { summary, detail: JSON.stringify(detail) });
      },
      resolveAlerts: async (ids, at, resolution) => {
        const pending = new Set(ids.filter((id) => !resolved.has(id)));
        const stored = await stores.alerts.findAlerts([...pending].filter((id) => id > 0));
        const closed = [...stored, ...opened.filter((a) => pending.has(a.id))]
          .filter((a) => a.state === "open")
          .map(
            (a): AlertRow => ({ ...a, ...amended.get(a.id), state: "resolved", resolved_at: at, resolution }),
          );
        for (const a of closed) resolved.add(a.id);
        return closed;
      },
    },
    outbox: { insertDeliveries: async () => {} },
  };
}
