import { MODEL_VERSION } from "./record-checks.js";
import type { DeploymentRecord } from "./routes.js";
import type { TenureClientOptions } from "./tenure-client.js";

/** Where the SDK says what it could not do. `console` fits, and so does a pino logger. */
export interface SdkLogger {
  warn(message: string): void;
  info?(message: string): void;
}

export interface TenureSdkOptions extends TenureClientOptions {
  /** This server's deployment, by id... */
  deploymentId?: number;
  /** ...or by model: the live deployment of the model in the environment with the role. */
  model?: string;
  /** Default `production`. */
  environment?: string;
  /** Default `primary`; a canary or shadow server says so. */
  role?: DeploymentRecord["role"];
  /**
   * The version this server serves, from its own artifact: sent with every heartbeat (a version
   * that differs from the registry's is a version mismatch) and stamped as Tenure-Model-Version.
   */
  servedVersion?: string;
  /** Between liveness heartbeats, in ms (default 60,000); 0 sends none. */
  heartbeatIntervalMs?: number;
  /** Between sends of what is buffered, in ms (default 5,000). */
  flushIntervalMs?: number;
  /** Items a request carries at most, and the count that sends a batch at once (default 500, at most 10,000). */
  batchSize?: number;
  /** Items of each kind held while Tenure cannot take them (default 10,000); past it the oldest are dropped. */
  maxBuffered?: number;
  /** Default `console`; null says nothing. The SDK logs changes (unavailable, available again, dropped), not every failure. */
  logger?: SdkLogger | null;
  /** The clock the deployment age and the default timestamps read (default `Date.now`). */
  clock?: () => number;
}

/** The options with every default filled in. */
export type SdkSettings = TenureSdkOptions &
  Required<
    Pick<
      TenureSdkOptions,
      | "environment"
      | "role"
      | "heartbeatIntervalMs"
      | "flushIntervalMs"
      | "batchSize"
      | "maxBuffered"
      | "clock"
    >
  > & { logger: SdkLogger | null };

/** The API takes at most this many items a request. */
const MAX_BATCH = 10_000;

/**
 * The options with their defaults, checked. A misconfiguration is the one thing the SDK throws,
 * and it throws at start-up, not in a request.
 */
export function settingsOf(options: TenureSdkOptions): SdkSettings {
  const problem = (message: string) => new TypeError(`tenure: ${message}`);
  if (options.deploymentId === undefined && options.model === undefined) {
    throw problem("give deploymentId, or model (and environment) to find the live deployment");
  }
  if (
    options.deploymentId !== undefined &&
    !(Number.isInteger(options.deploymentId) && options.deploymentId >= 1)
  ) {
    throw problem("deploymentId must be a whole number ≥ 1");
  }
  if (options.servedVersion !== undefined && !MODEL_VERSION.test(options.servedVersion)) {
    throw problem("servedVersion must be a version as the registry writes them (letters, digits, . _ + -)");
  }
  const positive = (name: string, value: number | undefined, zeroMeansOff = false) => {
    if (value !== undefined && !(Number.isFinite(value) && (value > 0 || (zeroMeansOff && value === 0)))) {
      throw problem(`${name} must be a positive number`);
    }
  };
  positive("heartbeatIntervalMs", options.heartbeatIntervalMs, true);
  positive("flushIntervalMs", options.flushIntervalMs);
  positive("timeoutMs", options.timeoutMs);
  const batchSize = options.batchSize ?? 500;
  if (!(Number.isInteger(batchSize) && batchSize >= 1 && batchSize <= MAX_BATCH)) {
    throw problem(`batchSize must be a whole number from 1 to ${MAX_BATCH} (the API's limit a request)`);
  }
  const maxBuffered = options.maxBuffered ?? 10_000;
  if (!(Number.isInteger(maxBuffered) && maxBuffered >= 1)) {
    throw problem("maxBuffered must be a whole number ≥ 1");
  }
  return {
    ...options,
    environment: options.environment ?? "production",
    role: options.role ?? "primary",
    heartbeatIntervalMs: options.heartbeatIntervalMs ?? 60_000,
    flushIntervalMs: options.flushIntervalMs ?? 5_000,
    batchSize,
    maxBuffered,
    logger: options.logger === undefined ? console : options.logger,
    clock: options.clock ?? Date.now,
  };
}
