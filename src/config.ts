import { z } from "zod";
import { cidrItems, parseCidr } from "./cidr.js";
import { parseDuration, parseMilliseconds } from "./core/duration.js";
import { InputError } from "./core/errors.js";
import { DEFAULT_ANONYMOUS_RATE, DEFAULT_TOKEN_RATE, parseRate } from "./core/rate.js";

/**
 * The environment, parsed once with one schema: every TENURE_* variable that the CLI and the
 * server read, typed, with its default. A bad value is refused with the variable's name rather
 * than left to fail (or be ignored) where it is used. Only commands that need it load this file:
 * `tenure --version`, `--help` and `tenure drift` start without zod.
 */

/** Every day at 00:00 UTC. */
export const DEFAULT_SWEEP_CRON = "0 0 * * *";

/** The default database of the CLI and the server: a SQLite file in the working folder. */
export const DEFAULT_DATABASE = "./tenure.db";

/** The MLflow alias whose version serves, by default. */
export const DEFAULT_MLFLOW_ALIAS = "champion";

/** The environment the MLflow alias's version serves in, by default. */
export const DEFAULT_MLFLOW_ENVIRONMENT = "production";

const wholeNumber = (min: number, max: number) =>
  z
    .string()
    .regex(/^\d+$/, `must be a whole number from ${min} to ${max}`)
    .transform(Number)
    .refine((n) => n >= min && n <= max, `must be a whole number from ${min} to ${max}`);

const onByDefault = () =>
  z
    .enum(["0", "1"], { error: "must be 0 (off) or 1 (on)" })
    .default("1")
    .transform((value) => value === "1");

const offByDefault = () =>
  z
    .enum(["0", "1"], { error: "must be 0 (off) or 1 (on)" })
    .default("0")
    .transform((value) => value === "1");

const httpUrl = z.url({ protocol: /^https?$/, error: "must be an http:// or https:// URL" });

const duration = z
  .string()
  .refine((text) => parseDuration(text) !== undefined, "must be a duration such as 5m or 1h")
  .transform((text) => parseDuration(text) ?? 0);

const rate = z
  .string()
  .refine((text) => parseRate(text) !== undefined, "must be a rate such as 50/s, 3000/m or 100000/h, or off")
  .transform((text) => parseRate(text) ?? null);

// A URL is shown in logs and messages: credentials belong in the token, never in it.
const mlflowUrl = httpUrl.refine(
  (url) => !/^https?:\/\/[^/]*@/.test(url),
  "must not carry credentials: set TENURE_MLFLOW_TOKEN, or MLflow's MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD",
);

/** A timeout up to an hour, such as 30s, 500ms or 2m; with `off`, null when `off` is allowed. */
const timeout = (offAllowed: boolean) =>
  z
    .string()
    .refine(
      (text) =>
        (offAllowed && text.trim() === "off") ||
        (parseMilliseconds(text) ?? Number.POSITIVE_INFINITY) <= 3_600_000,
      `must be a duration such as 30s, 500ms or 2m, at most 60m${offAllowed ? ", or off" : ""}`,
    )
    .transform((text) => parseMilliseconds(text) ?? null);

const cidrList = z
  .string()
  .refine(
    (text) => cidrItems(text).every((item) => parseCidr(item) !== undefined),
    "must be a comma-separated list of CIDRs such as 10.0.0.0/8,127.0.0.1/32",
  )
  .transform(cidrItems);

const EnvironmentSchema = z
  .object({
    TENURE_DATABASE_URL: z.string().default(DEFAULT_DATABASE),
    TENURE_POLICIES: z.string().optional(),
    TENURE_URL: httpUrl.optional(),
    TENURE_TOKEN: z.string().optional(),
    TENURE_HOST: z.string().default("127.0.0.1"),
    TENURE_PORT: wholeNumber(1, 65_535).default(8080),
    TENURE_PUBLIC_URL: httpUrl.optional(),
    TENURE_SWEEP_CRON: z.string().default(DEFAULT_SWEEP_CRON),
    TENURE_SWEEP_LEASE: duration.optional(),
    TENURE_LOG_LEVEL: z
      .enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"], {
        error: "must be one of fatal, error, warn, info, debug, trace, silent",
      })
      .default("info"),
    TENURE_HEAP_GROWING_PERCENT: wholeNumber(1, 1_000).optional(),
    TENURE_BACKGROUND_CHECKPOINTS: onByDefault(),
    TENURE_PG_PREPARED_STATEMENTS: onByDefault(),
    TENURE_PG_CONNECT_TIMEOUT: timeout(false).optional(),
    TENURE_PG_QUERY_TIMEOUT: timeout(true).optional(),
    TENURE_K8S_ADMISSION: offByDefault(),
    TENURE_TLS_CERT: z.string().optional(),
    TENURE_TLS_KEY: z.string().optional(),
    TENURE_MLFLOW_URL: mlflowUrl.optional(),
    TENURE_MLFLOW_TOKEN: z.string().optional(),
    TENURE_MLFLOW_ALIAS: z.string().default(DEFAULT_MLFLOW_ALIAS),
    TENURE_MLFLOW_ENVIRONMENT: z.string().default(DEFAULT_MLFLOW_ENVIRONMENT),
    TENURE_MLFLOW_WEBHOOK_SECRET: z.string().optional(),
    TENURE_MLFLOW_SYNC_EVERY: duration.optional(),
    TENURE_ALLOW_PRIVATE_EGRESS: offByDefault(),
    TENURE_EGRESS_ALLOW: cidrList.optional(),
    TENURE_RATE_LIMIT: rate.prefault(DEFAULT_TOKEN_RATE),
    TENURE_ANONYMOUS_RATE_LIMIT: rate.prefault(DEFAULT_ANONYMOUS_RATE),
    TENURE_TRUST_PROXY: cidrList.optional(),
  })
  .transform((env) => ({
    databaseUrl: env.TENURE_DATABASE_URL,
    /** The policy file; null means the built-in defaults. */
    policies: env.TENURE_POLICIES ?? null,
    /** The server the client commands talk to; without it they open the database themselves. */
    url: env.TENURE_URL,
    token: env.TENURE_TOKEN,
    host: env.TENURE_HOST,
    port: env.TENURE_PORT,
    publicUrl: env.TENURE_PUBLIC_URL,
    sweepCron: env.TENURE_SWEEP_CRON,
    /** Seconds a sweep's lease lasts unless renewed; the sweeper's default when absent. */
    sweepLease: env.TENURE_SWEEP_LEASE,
    logLevel: env.TENURE_LOG_LEVEL,
    /** V8's --heap-growing-percent for a process that works on the whole fleet; its own default when absent. */
    heapGrowingPercent: env.TENURE_HEAP_GROWING_PERCENT,
    backgroundCheckpoints: env.TENURE_BACKGROUND_CHECKPOINTS,
    preparedStatements: env.TENURE_PG_PREPARED_STATEMENTS,
    /** PostgreSQL: ms to connect before a request is refused 503; the driver's default (5 s) when absent. */
    pgConnectTimeoutMs: env.TENURE_PG_CONNECT_TIMEOUT ?? undefined,
    /** PostgreSQL: ms a statement may wait for its answer; null: no limit; the driver's default (30 s) when absent. */
    pgQueryTimeoutMs: env.TENURE_PG_QUERY_TIMEOUT,
    /** Serve Kubernetes' admission webhook (POST /k8s/admission). */
    k8sAdmission: env.TENURE_K8S_ADMISSION,
    /** The server's TLS certificate and key, PEM files; plain HTTP without them. */
    tlsCert: env.TENURE_TLS_CERT,
    tlsKey: env.TENURE_TLS_KEY,
    /** The MLflow tracking server the MLflow sync and webhook read. */
    mlflowUrl: env.TENURE_MLFLOW_URL,
    /** Sent to MLflow as a bearer token; never logged. */
    mlflowToken: env.TENURE_MLFLOW_TOKEN,
    /** The alias whose version serves. */
    mlflowAlias: env.TENURE_MLFLOW_ALIAS,
    /** The environment that version serves in. */
    mlflowEnvironment: env.TENURE_MLFLOW_ENVIRONMENT,
    /** The secret MLflow signs webhook deliveries with; POST /v1/hooks/mlflow is off without it. */
    mlflowWebhookSecret: env.TENURE_MLFLOW_WEBHOOK_SECRET,
    /** Seconds between the server's MLflow syncs; 5 minutes when absent. */
    mlflowSyncEvery: env.TENURE_MLFLOW_SYNC_EVERY,
    /** Let outbound calls reach loopback, private and link-local addresses (not metadata services). */
    allowPrivateEgress: env.TENURE_ALLOW_PRIVATE_EGRESS,
    /** CIDRs outbound calls may always reach, metadata services included when listed. */
    egressAllow: env.TENURE_EGRESS_ALLOW ?? [],
    /** Requests per token that `serve` takes; null: no limit. */
    tokenRate: env.TENURE_RATE_LIMIT,
    /** Requests per client address without a valid token that `serve` takes; null: no limit. */
    anonymousRate: env.TENURE_ANONYMOUS_RATE_LIMIT,
    /** CIDRs of reverse proxies whose X-Forwarded-For names the client; none: the socket's address. */
    trustProxy: env.TENURE_TRUST_PROXY ?? [],
  }));

export type Config = z.output<typeof EnvironmentSchema>;

/**
 * Parses the TENURE_* variables of `env`. An empty variable counts as unset, as `VAR= tenure …`
 * means in a shell. Throws an InputError naming each bad variable.
 */
export function parseConfig(env: Record<string, string | undefined>): Config {
  const set = Object.fromEntries(
    Object.entries(env).filter(([name, value]) => name.startsWith("TENURE_") && value !== ""),
  );
  const parsed = EnvironmentSchema.safeParse(set);
  if (parsed.success) return parsed.data;
  const issues = parsed.error.issues.map((issue) => ({
    field: String(issue.path[0] ?? "environment"),
    message: issue.message,
  }));
  throw new InputError(issues.map((i) => `${i.field} ${i.message}`).join("; "), issues);
}

const parsedOnce = new WeakMap<object, Config>();

/** The configuration of `env`, parsed the first time it is asked for and kept for the process. */
export function configFrom(env: Record<string, string | undefined>): Config {
  let config = parsedOnce.get(env);
  if (!config) {
    config = parseConfig(env);
    parsedOnce.set(env, config);
  }
  return config;
}
