import type { Actor } from "../../registry/actor.js";
import type { Registry } from "../../registry/registry.js";
import type { OutboundOptions } from "../outbound-http.js";
import { applySync, type SyncReport, type SyncTarget } from "../sync-applier.js";
import { MlflowClient, type MlflowCredentials } from "./mlflow-client.js";
import { defaultMlflowMapping, type MlflowMapping } from "./mlflow-observations.js";
import { observeMlflow } from "./mlflow-source.js";

/** What `tenure serve --mlflow-url` syncs, and how often. */
export interface MlflowSyncSettings {
  url: string;
  credentials?: MlflowCredentials;
  everySeconds: number;
  /** The default mapping (alias `champion` and the Production stage in production) when absent. */
  mapping?: MlflowMapping;
}

interface LoopLogger {
  info(fields: object, message: string): void;
  error(fields: object, message: string): void;
}

export interface MlflowSyncLoopOptions extends MlflowSyncSettings {
  /** The server's own registry: registrations are recorded as the actor `sync:mlflow`. */
  registry: Pick<Registry, "list" | "register">;
  logger: LoopLogger;
  now?: () => number;
  /** Tests shorten the interval below a second and the retries' waits. */
  everyMs?: number;
  outbound?: OutboundOptions;
  /** Told after each round, for tests. */
  onRound?: (outcome: { report: SyncReport } | { error: string }) => void;
}

export interface MlflowSyncLoop {
  /** Stops waiting and cancels a round under way, then resolves once it has ended. */
  stop(): Promise<void>;
}

/**
 * Syncs from MLflow at once and then every interval, inside the server, until stopped. A round
 * that fails (MLflow down, a refused answer) is logged and the next interval tries again: the
 * sync is what reconciles lost webhook deliveries, so it must outlive any one outage.
 */
export function startMlflowSyncLoop(options: MlflowSyncLoopOptions): MlflowSyncLoop {
  const stop = new AbortController();
  const now = options.now ?? Date.now;
  const intervalMs = options.everyMs ?? options.everySeconds * 1000;
  const mapping = options.mapping ?? defaultMlflowMapping();
  const target = registryTarget(options.registry);
  const client = new MlflowClient({
    url: options.url,
    credentials: options.credentials,
    outbound: { ...options.outbound, signal: stop.signal },
  });
  options.logger.info({ mlflow: client.origin, every_seconds: intervalMs / 1000 }, "mlflow sync scheduled");
  const round = async () => {
    try {
      const observed = await observeMlflow(client, { mapping, now, signal: stop.signal });
      const report = await applySync(target, "mlflow", observed.observations, {
        dryRun: false,
        environments: observed.environments,
        findings: observed.findings,
        zombieScope: observed.zombieScope,
        now,
      });
      options.logger.info(
        {
          mlflow: client.origin,
          observed: report.observed,
          registered: report.registered.map((r) => ({
            model: r.model,
            model_version: r.model_version,
            ref: r.ref,
          })),
          unchanged: report.unchanged,
          findings: report.findings,
          errors: report.errors,
        },
        "mlflow sync",
      );
      options.onRound?.({ report });
    } catch (error) {
      if (stop.signal.aborted) return;
      const message = error instanceof Error ? error.message : String(error);
      options.logger.error(
        { mlflow: client.origin, error: message },
        `mlflow sync failed; trying again in ${Math.round(intervalMs / 1000)} s`,
      );
      options.onRound?.({ error: message });
    }
  };
  const running = (async () => {
    do {
      await round();
    } while (await pause(intervalMs, stop.signal));
  })();
  return {
    async stop() {
      stop.abort();
      await running;
    },
  };
}

const SYNC_ACTOR: Actor = { name: "sync:mlflow", key_scope: "sync:mlflow", team: null, scope: "admin" };

/** The registry as a sync target, acting as the sync itself, so events say where they came from. */
function registryTarget(registry: Pick<Registry, "list" | "register">): SyncTarget {
  return {
    list: (query) => registry.list({ sort: "-age", limit: 100, ...query }),
    register: (body) => registry.register(body, SYNC_ACTOR),
  };
}

/** Waits `ms`; resolves false at once when stopped. */
function pause(ms: number, signal: AbortSignal): Promise<boolean> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve(false);
    const timer = setTimeout(() => {
      signal.removeEventListener("abort", abort);
      resolve(true);
    }, ms);
    function abort() {
      clearTimeout(timer);
      resolve(false);
    }
    signal.addEventListener("abort", abort, { once: true });
  });
}
