import { createServer } from "node:net";
import type { Command } from "commander";
import type { Config } from "../config.js";
import { InputError } from "../core/errors.js";
import { DEFAULT_ANONYMOUS_RATE, DEFAULT_TOKEN_RATE, type Rate } from "../core/rate.js";
import type { RunningServer, ServeOptions } from "../http/server.js";
import { type EgressFlag, egressOption, egressPolicyOf } from "./egress-flag.js";
import { boundHeapGrowth } from "./heap.js";
import { configOf, type Io } from "./io.js";
import {
  cidrListFlag,
  type DatabaseFlag,
  databaseOption,
  durationFlag,
  flagOrElse,
  millisecondsFlag,
  positiveInt,
  rateFlag,
  timeoutFlag,
} from "./options.js";
import { assertMlflowUrl } from "./sync-mlflow.js";

export interface ServeFlags extends DatabaseFlag, EgressFlag {
  port?: number;
  host?: string;
  publicRead?: boolean;
  policies?: string;
  sweepCron?: string;
  sweepLease?: number;
  publicUrl?: string;
  k8sAdmission?: boolean;
  tlsCert?: string;
  tlsKey?: string;
  mlflowWebhookSecret?: string;
  mlflowUrl?: string;
  mlflowAlias?: string;
  mlflowEnvironment?: string;
  mlflowSyncEvery?: number;
  /** null (`off`) arrives as "": see offOrValue. */
  rateLimit?: Rate | "";
  /** null (`off`) arrives as "": see offOrValue. */
  anonymousRateLimit?: Rate | "";
  trustProxy?: string[];
  pgConnectTimeout?: number;
  /** null (`off`) arrives as "": see offOrValue. */
  pgQueryTimeout?: number | "";
}

export function serveCommand(program: Command, io: Io): void {
  databaseOption(
    egressOption(program.command("serve"))
      .summary("serve the API on http://127.0.0.1:8080")
      .option("--port <n>", "port (default: $TENURE_PORT, else 8080)", positiveInt("--port", 65_535))
      .option("--host <host>", "address to listen on (default: $TENURE_HOST, else 127.0.0.1)")
      .option("--public-read", "let anyone read without a token (changes still need one)")
      .option("--policies <file>", "the YAML policy file (default: $TENURE_POLICIES, else built-in defaults)")
      .option(
        "--sweep-cron <expr>",
        "when the sweep runs, cron in UTC (default: $TENURE_SWEEP_CRON, else 0 0 * * *: daily)",
      )
      .option(
        "--sweep-lease <duration>",
        "how long a sweep's lease lasts unless renewed: a replica killed mid-sweep delays the next by at most this (default: $TENURE_SWEEP_LEASE, else 30s)",
        durationFlag("--sweep-lease"),
      )
      .option(
        "--public-url <url>",
        "the URL people reach this server at, for links (default: $TENURE_PUBLIC_URL)",
      )
      .option(
        "--k8s-admission",
        "serve Kubernetes' admission webhook at POST /k8s/admission, which takes no token: reach it only from the API server (default: $TENURE_K8S_ADMISSION=1)",
      )
      .option("--tls-cert <file>", "serve HTTPS with this PEM certificate (default: $TENURE_TLS_CERT)")
      .option("--tls-key <file>", "the PEM key of --tls-cert (default: $TENURE_TLS_KEY)")
      .option(
        "--mlflow-webhook-secret <secret>",
        "take MLflow's webhooks signed with this secret at POST /v1/hooks/mlflow (default: $TENURE_MLFLOW_WEBHOOK_SECRET, better: ps shows flags)",
      )
      .option(
        "--mlflow-url <url>",
        "the MLflow tracking server: synced every --mlflow-sync-every, and where the webhook reads versions' tags (default: $TENURE_MLFLOW_URL; token: $TENURE_MLFLOW_TOKEN)",
      )
      .option(
        "--mlflow-alias <alias>",
        "the MLflow alias whose version serves (default: $TENURE_MLFLOW_ALIAS, else champion)",
      )
      .option(
        "--mlflow-environment <env>",
        "the environment that version serves in (default: $TENURE_MLFLOW_ENVIRONMENT, else production)",
      )
      .option(
        "--mlflow-sync-every <duration>",
        "time between MLflow syncs (default: $TENURE_MLFLOW_SYNC_EVERY, else 5m)",
        durationFlag("--mlflow-sync-every"),
      )
      .option(
        "--rate-limit <rate>",
        `requests each token may make, such as 50/s or 3000/m, or off; over it, 429 with Retry-After (default: $TENURE_RATE_LIMIT, else ${DEFAULT_TOKEN_RATE})`,
        rateFlag("--rate-limit"),
      )
      .option(
        "--anonymous-rate-limit <rate>",
        `requests each client address may make without a valid token (default: $TENURE_ANONYMOUS_RATE_LIMIT, else ${DEFAULT_ANONYMOUS_RATE})`,
        rateFlag("--anonymous-rate-limit"),
      )
      .option(
        "--trust-proxy <cidrs>",
        "reverse proxies (comma-separated CIDRs) whose X-Forwarded-For names the client's address, for the audit log and the per-address rate limit (default: $TENURE_TRUST_PROXY, else none: the socket's address)",
        cidrListFlag("--trust-proxy"),
      )
      .option(
        "--pg-connect-timeout <duration>",
        "PostgreSQL: how long to wait for a connection before a request is answered 503 (default: $TENURE_PG_CONNECT_TIMEOUT, else 5s)",
        millisecondsFlag("--pg-connect-timeout"),
      )
      .option(
        "--pg-query-timeout <duration>",
        "PostgreSQL: how long a statement may wait for its answer before a request is answered 503, or off (default: $TENURE_PG_QUERY_TIMEOUT, else 30s)",
        timeoutFlag("--pg-query-timeout"),
      ),
  ).action(async (flags: ServeFlags) => {
    const config = await configOf(io);
    const tlsCert = flags.tlsCert ?? config.tlsCert;
    const tlsKey = flags.tlsKey ?? config.tlsKey;
    if ((tlsCert === undefined) !== (tlsKey === undefined)) {
      throw new InputError(
        tlsCert === undefined
          ? "--tls-key needs --tls-cert (or TENURE_TLS_CERT): HTTPS takes both"
          : "--tls-cert needs --tls-key (or TENURE_TLS_KEY): HTTPS takes both",
      );
    }
    await serveUntilSignal({
      ...processSettings(config),
      databaseUrl: flags.database ?? config.databaseUrl,
      host: flags.host ?? config.host,
      port: flags.port ?? config.port,
      publicRead: flags.publicRead ?? false,
      policies: flags.policies ?? config.policies,
      sweepCron: flags.sweepCron ?? config.sweepCron,
      sweepLeaseSeconds: flags.sweepLease ?? config.sweepLease,
      publicUrl: flags.publicUrl ?? config.publicUrl,
      k8sAdmission: flags.k8sAdmission ?? config.k8sAdmission,
      ...(tlsCert !== undefined && tlsKey !== undefined
        ? { tls: { certFile: tlsCert, keyFile: tlsKey } }
        : {}),
      mlflow: {
        webhookSecret: flags.mlflowWebhookSecret ?? config.mlflowWebhookSecret,
        url: flags.mlflowUrl ?? config.mlflowUrl,
        token: config.mlflowToken,
        alias: flags.mlflowAlias ?? config.mlflowAlias,
        environment: flags.mlflowEnvironment ?? config.mlflowEnvironment,
      },
      mlflowSync: await mlflowSyncOf(flags, config, io.env),
      egress: await egressPolicyOf(flags, config),
      tokenRate: flagOrElse(flags.rateLimit, config.tokenRate),
      anonymousRate: flagOrElse(flags.anonymousRateLimit, config.anonymousRate),
      trustProxy: flags.trustProxy ?? config.trustProxy,
      ...(flags.pgConnectTimeout === undefined ? {} : { pgConnectTimeoutMs: flags.pgConnectTimeout }),
      pgQueryTimeoutMs: flagOrElse(flags.pgQueryTimeout, config.pgQueryTimeoutMs),
      env: io.env,
    });
  });
}

/**
 * The server's MLflow sync: on whenever MLflow's URL is set, with the webhook's alias and
 * environment; MLflow's own credential variables count, as in `tenure sync mlflow`.
 */
async function mlflowSyncOf(flags: ServeFlags, config: Config, env: NodeJS.ProcessEnv) {
  const url = flags.mlflowUrl ?? config.mlflowUrl;
  if (!url) {
    if (flags.mlflowSyncEvery !== undefined) {
      throw new InputError("--mlflow-sync-every needs --mlflow-url (or TENURE_MLFLOW_URL)");
    }
    return undefined;
  }
  assertMlflowUrl("--mlflow-url", url);
  const { mlflowCredentials } = await import("../integrations/mlflow/mlflow-client.js");
  const environment = flags.mlflowEnvironment ?? config.mlflowEnvironment;
  return {
    url,
    credentials: mlflowCredentials(config.mlflowToken, env),
    everySeconds: flags.mlflowSyncEvery ?? config.mlflowSyncEvery ?? 300,
    mapping: {
      aliases: [{ alias: flags.mlflowAlias ?? config.mlflowAlias, environment }],
      stageEnvironment: environment,
      tags: { owner_team: "owner_team", training_data_cutoff: "training_data_cutoff" },
    },
  };
}

export interface ServeProcessOptions extends ServeOptions {
  /** V8's --heap-growing-percent for the process; FLEET_HEAP_GROWING_PERCENT when absent. */
  heapGrowingPercent?: number;
}

/** What the environment sets of any server this process runs, whatever its flags. */
export function processSettings(config: Config) {
  return {
    logLevel: config.logLevel,
    backgroundCheckpoints: config.backgroundCheckpoints,
    preparedStatements: config.preparedStatements,
    pgConnectTimeoutMs: config.pgConnectTimeoutMs,
    pgQueryTimeoutMs: config.pgQueryTimeoutMs,
    heapGrowingPercent: config.heapGrowingPercent,
  } satisfies Partial<ServeProcessOptions>;
}

/**
 * Serves until SIGTERM or SIGINT, then drains in-flight requests and closes the database.
 * SIGHUP reloads the policy file.
 */
export async function serveUntilSignal(options: ServeProcessOptions): Promise<void> {
  boundHeapGrowth(options.heapGrowingPercent);
  const { startServer } = await import("../http/server.js");
  // Taken before start-up: SIGHUP's default action would end the process.
  let server: RunningServer | undefined;
  let reloadWhenReady = false;
  const reload = () => {
    if (server) server.reloadPolicies();
    else reloadWhenReady = true;
  };
  process.on("SIGHUP", reload);
  try {
    server = await startServer(options);
  } catch (error) {
    process.off("SIGHUP", reload);
    throw portInUse(error, options.host, options.port) ?? error;
  }
  if (reloadWhenReady) server.reloadPolicies();
  const running = server;
  await new Promise<void>((resolve) => {
    const stop = () => {
      process.off("SIGTERM", stop);
      process.off("SIGINT", stop);
      process.off("SIGHUP", reload);
      running.close().then(resolve, (error: unknown) => {
        running.app.log.error({ err: error }, "shutdown failed");
        resolve();
      });
    };
    process.on("SIGTERM", stop);
    process.on("SIGINT", stop);
  });
}

/** Fails with one clear line when something already listens on the port. */
export function assertPortFree(host: string, port: number): Promise<void> {
  return new Promise((done, fail) => {
    const probe = createServer();
    probe.once("error", (error) => fail(portInUse(error, host, port) ?? error));
    probe.listen({ host, port, exclusive: true }, () => probe.close(() => done()));
  });
}

function portInUse(error: unknown, host: string, port: number): Error | undefined {
  if ((error as NodeJS.ErrnoException).code !== "EADDRINUSE") return undefined;
  return new Error(
    `port ${port} on ${host} is in use: stop what listens there, or choose another with --port`,
  );
}
