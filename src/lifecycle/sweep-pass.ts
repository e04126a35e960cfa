import type { AlertWrites } from "../alerts/incidents.js";
import type { AgeStage } from "../core/age.js";
import type { Actor } from "../registry/actor.js";
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
  alerts_resolved: number;
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
 */
export function countingWrites(stores: Stores): AlertWrites {
  return {
    alerts: {
      openAlertsFor: (ids) => stores.alerts.openAlertsFor(ids),
      insertAlerts: async (alerts) =>
        alerts.map((a) => ({
          ...a,
          id: 0,
          detail: JSON.stringify(a.detail),
          state: "open",
          last_notified_at: a.opened_at,
          notifications: 1,
          resolved_at: null,
          resolution: null,
        })),
      markReminded: async () => {},
      resolveAlerts: async (ids, at, resolution) =>
        (await stores.alerts.findAlerts(ids))
          .filter((a) => a.state === "open")
          .map((a) => ({ ...a, state: "resolved", resolved_at: at, resolution })),
    },
    outbox: { insertDeliveries: async () => {} },
  };
}
