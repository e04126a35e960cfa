import type { Server as TlsServer } from "node:tls";
import type { FastifyInstance } from "fastify";
import { pino } from "pino";
import { type Context, openContext } from "../context.js";
import {
  DEFAULT_ANONYMOUS_RATE,
  DEFAULT_TOKEN_RATE,
  formatRate,
  parseRate,
  type Rate,
} from "../core/rate.js";
import { EgressPolicy } from "../egress-policy.js";
import { RouteFeed } from "../gateway/route-feed.js";
import type { TrafficWindows } from "../gateway/traffic-windows.js";
import { AdmissionWebhook } from "../integrations/kubernetes/admission-webhook.js";
import type { MlflowSyncSettings } from "../integrations/mlflow/mlflow-sync-loop.js";
import {
  checkMlflowSettings,
  type MlflowSettings,
  mlflowWebhookOf,
} from "../integrations/mlflow/mlflow-webhook.js";
import { DigestScheduler } from "../lifecycle/digest-scheduler.js";
import type { ReloadResult } from "../lifecycle/policy-book.js";
import { DEFAULT_SWEEP_CRON, parseSweepCron, SweepScheduler } from "../lifecycle/sweep-scheduler.js";
import { VERSION } from "../version.js";
import { buildApp } from "./app.js";
import { CertificateFiles } from "./certificate-files.js";
import { PrometheusMetrics, type ScrapeSource } from "./prometheus/prometheus-metrics.js";
import { type ConnectionLimits, DEFAULT_CONNECTION_LIMITS, RateLimits } from "./rate-limit.js";
import { requestLogValue } from "./request-log.js";
import { TokenCache } from "./token-auth.js";

export interface ServeOptions {
  databaseUrl: string;
  host: string;
  port: number;
  publicRead: boolean;
  /** pino's level; `info` when absent. */
  logLevel?: string;
  /** SQLite: WAL checkpoints on a thread of their own (default on). */
  backgroundCheckpoints?: boolean;
  /** PostgreSQL: prepared statements (default on). */
  preparedStatements?: boolean;
  /** PostgreSQL: ms to wait for a connection before a request is answered 503 (5 s when absent). */
  pgConnectTimeoutMs?: number;
  /** PostgreSQL: ms a statement may wait for its answer before 503; null: no limit (30 s when absent). */
  pgQueryTimeoutMs?: number | null;
  /** Where the JSON log goes; stdout when absent. */
  logFile?: string;
  /** The policy file; the built-in defaults when null. */
  policies?: string | null;
  /** When the sweep runs (cron, UTC); DEFAULT_SWEEP_CRON when absent. */
  sweepCron?: string;
  /** How long a sweep's lease lasts unless renewed (30 s when absent). */
  sweepLeaseSeconds?: number;
  /** The address people reach this server at, for links in notifications and calendars. */
  publicUrl?: string;
  /** Where `${VAR}` in the policy file is read; none are set when absent. */
  env?: Record<string, string | undefined>;
  /**
   * Where canary analysis and guardrails read traffic: by default the traffic store the gateways
   * report to (POST /v1/traffic); a source that returns undefined turns them off, since an
   * analysis without traffic is never a verdict.
   */
  traffic?: (context: Context) => TrafficWindows | undefined;
  /** How often the canary analyzer looks for due analyses (5 s). */
  canaryPollMs?: number;
  /** Serve Kubernetes' admission webhook, POST /k8s/admission (off by default: it takes no token). */
  k8sAdmission?: boolean;
  /** Serve HTTPS with this certificate and key (PEM files), read again when they change. */
  tls?: { certFile: string; keyFile: string };
  /** How often the TLS files are read again (60 s). */
  tlsReloadMs?: number;
  /** MLflow: with a webhook secret, POST /v1/hooks/mlflow takes MLflow's signed webhooks. */
  mlflow?: MlflowSettings;
  /** Sync from an MLflow registry on a schedule (`--mlflow-url`); off when absent. */
  mlflowSync?: MlflowSyncSettings;
  /**
   * Where outbound calls (alert channels, MLflow) may connect: strict when absent, so a server
   * started without a word reaches no loopback, private or link-local address (docs/egress.md).
   */
  egress?: EgressPolicy;
  /** Requests per token (`--rate-limit`); null: no limit; DEFAULT_TOKEN_RATE when absent. */
  tokenRate?: Rate | null;
  /** Requests per client address without a valid token; null: no limit; DEFAULT_ANONYMOUS_RATE when absent. */
  anonymousRate?: Rate | null;
  /** Head size and slow-client timeouts; each DEFAULT_CONNECTION_LIMITS' when absent. */
  connectionLimits?: Partial<ConnectionLimits>;
  /** CIDRs of reverse proxies whose X-Forwarded-For names the client (`--trust-proxy`); none when absent. */
  trustProxy?: readonly string[];
  /** The clock of the registry, sweeps and digests (epoch ms); the system's when absent. For tests. */
  clock?: () => number;
  /**
   * How often the learned TTLs (`max_age: auto`) are read again from the database (30 s): how far
   * behind a replica that did not sweep may judge by the TTLs before the last sweep.
   */
  learnedTtlRefreshMs?: number;
}

export interface RunningServer {
  app: FastifyInstance;
  context: Context;
  /** The address it listens on, such as http://127.0.0.1:8080. */
  url: string;
  scheduler: SweepScheduler;
  /** Sends each team's rot report on the policy file's `report` schedule. */
  digests: DigestScheduler;
  /**
   * Reads the policy file again (SIGHUP); keeps the policies in force when it is invalid. A reload
   * that took is audited as `signal:SIGHUP`; one that was refused changed nothing and is only logged.
   */
  reloadPolicies(): ReloadResult;
  /** Stops taking connections, lets in-flight requests finish, then closes the database. */
  close(): Promise<void>;
}

export async function startServer(options: ServeOptions): Promise<RunningServer> {
  const logger = pino(
    {
      level: options.logLevel ?? "info",
      redact: ["req.headers.authorization", "headers.authorization"],
      // Replaces fastify's own `req` serializer: a calendar's `?token=` stays out of access logs.
      serializers: { req: requestLogValue },
    },
    // Synchronous, so the last lines reach the file when the process exits.
    options.logFile ? pino.destination({ dest: options.logFile, mkdir: true, sync: true }) : undefined,
  );
  const scheduleCron = options.sweepCron ?? DEFAULT_SWEEP_CRON;
  // A bad schedule, TLS files that cannot be used, or MLflow settings that cannot work, are refused
  // before anything opens.
  parseSweepCron(scheduleCron);
  checkMlflowSettings(options.mlflow);
  const certificates = options.tls
    ? new CertificateFiles(options.tls.certFile, options.tls.keyFile)
    : undefined;
  const tls = certificates?.read();
  const publicUrl =
    options.publicUrl ??
    `${tls ? "https" : "http"}://${options.host.includes(":") ? `[${options.host}]` : options.host}:${options.port}`;
  // /metrics: a registry of this server's own, counting what this process does as it happens
  // (the telemetry) and reading the store at each scrape (readFrom, once the context is open).
  const metrics = new PrometheusMetrics({ version: VERSION });
  const egress = options.egress ?? EgressPolicy.strict();
  const context = await openContext(options.databaseUrl, {
    egress,
    telemetry: metrics.telemetry,
    ...(options.clock ? { clock: options.clock } : {}),
    policies: options.policies ?? null,
    env: options.env ?? {},
    publicUrl,
    logger,
    // Off (TENURE_BACKGROUND_CHECKPOINTS=0), commits checkpoint in line, as a CLI command does (README).
    backgroundCheckpoints: options.backgroundCheckpoints ?? true,
    preparedStatements: options.preparedStatements,
    connectTimeoutMs: options.pgConnectTimeoutMs,
    queryTimeoutMs: options.pgQueryTimeoutMs,
    ...(options.sweepLeaseSeconds === undefined ? {} : { sweepLeaseMs: options.sweepLeaseSeconds * 1000 }),
    onCheckpointFailure: (message) =>
      logger.error({ error: message }, "background WAL checkpoints failed; commits checkpoint in line again"),
  });
  metrics.readFrom(scrapeSourceOf(context));
  const routes = new RouteFeed({
    url: options.databaseUrl,
    stores: context.stores,
    connectTimeoutMs: options.pgConnectTimeoutMs,
  });
  const mlflowHook = mlflowWebhookOf(options.mlflow, {
    registry: context.registry,
    receipts: context.stores.webhookReceipts,
    clock: context.clock,
    logger,
    egress,
  });
  const tokenRate = options.tokenRate === undefined ? parseRate(DEFAULT_TOKEN_RATE) : options.tokenRate;
  const anonymousRate =
    options.anonymousRate === undefined ? parseRate(DEFAULT_ANONYMOUS_RATE) : options.anonymousRate;
  const app = await buildApp({
    rateLimits: new RateLimits({
      token: tokenRate ?? null,
      anonymous: anonymousRate ?? null,
      onRefused: (limit) => metrics.onRateLimited(limit),
    }),
    trustProxy: options.trustProxy ?? [],
    connectionLimits: { ...DEFAULT_CONNECTION_LIMITS, ...options.connectionLimits },
    mlflowHook,
    metrics,
    routes,
    publicHost: new URL(publicUrl).hostname,
    registry: context.registry,
    audit: context.audit,
    lifecycle: context.lifecycle,
    drift: context.drift,
    canaries: context.canaries,
    shadow: context.shadow,
    traffic: context.traffic,
    gate: context.gate,
    tokens: new TokenCache(context.stores.tokens, context.clock),
    publicRead: options.publicRead,
    version: VERSION,
    logger,
    admission: options.k8sAdmission
      ? new AdmissionWebhook({
          policies: context.policies,
          models: context.stores.models,
          clock: context.clock,
        })
      : undefined,
    tls,
  });
  let url: string;
  try {
    url = await app.listen({ host: options.host, port: options.port });
  } catch (error) {
    await context.close();
    throw error;
  }
  const scheduler = new SweepScheduler({
    cron: scheduleCron,
    stores: context.stores,
    // Audited as `system` in the sweep's own closing transaction.
    run: (request) => context.lifecycle.sweep(request),
    logger,
    clock: context.clock,
  });
  const digests = new DigestScheduler({
    stores: context.stores,
    schedule: () => context.policies.report,
    channels: () => context.policies.channels,
    report: (since) => context.lifecycle.report({ since }),
    publicUrl,
    clock: context.clock,
    egress,
    logger,
  });
  const certificateWatch = new AbortController();
  certificates?.watch({
    intervalMs: options.tlsReloadMs ?? 60_000,
    signal: certificateWatch.signal,
    // New connections get the new certificate; open ones keep the one they agreed on.
    onChange: (pair) => {
      (app.server as unknown as TlsServer).setSecureContext(pair);
      logger.info({ cert: certificates.certFile }, "TLS certificate reloaded");
    },
    onError: (error) =>
      logger.error({ err: error }, "the TLS files cannot be used; the certificate in use is kept"),
  });
  context.dispatcher.start();
  scheduler.start();
  digests.start();
  // Another replica's sweep may have learned new TTLs: read them again, only while a policy is `auto`.
  const ttlRefresh = setInterval(() => {
    if (!context.policies.learnsTtls) return;
    context.learnedTtls
      .refresh()
      .catch((error: unknown) => logger.warn({ err: error }, "the learned TTLs could not be read again"));
  }, options.learnedTtlRefreshMs ?? 30_000);
  ttlRefresh.unref();
  const mlflowSync = options.mlflowSync
    ? (await import("../integrations/mlflow/mlflow-sync-loop.js")).startMlflowSyncLoop({
        ...options.mlflowSync,
        outbound: { egress },
        // Each registration is audited in its own transaction, as `system` (its actor has no `via`).
        registry: context.registry,
        logger,
        now: context.clock,
      })
    : undefined;
  const traffic = options.traffic ? options.traffic(context) : context.stores.traffic;
  const analysis = new AbortController();
  const analyzing = traffic
    ? context.canaryAnalyzer(traffic, { pollMs: options.canaryPollMs }).run(analysis.signal)
    : Promise.resolve();
  if (!traffic) logger.info("canary analysis and guardrails are off: no traffic source");
  logger.info(
    {
      url,
      database: context.database.location,
      dialect: context.database.dialect,
      version: VERSION,
      policies: context.policies.path ?? "built-in defaults",
      sweep_cron: scheduleCron,
      report_digest: context.policies.report
        ? `${context.policies.report.every} (${context.policies.report.timezone})`
        : "off",
      mlflow_webhook: mlflowHook ? "on" : "off",
      next_sweep: new Date(scheduler.nextSlot() ?? 0).toISOString(),
      k8s_admission: options.k8sAdmission ?? false,
      tls: tls !== undefined,
      rate_limit: formatRate(tokenRate),
      anonymous_rate_limit: formatRate(anonymousRate),
      trust_proxy: options.trustProxy ?? [],
      // PostgreSQL's timeouts in force, so that an operator can see which of flag, variable and default won.
      ...context.database.timeouts,
    },
    "tenure is serving",
  );
  let closing: Promise<void> | undefined;
  return {
    app,
    context,
    url,
    scheduler,
    digests,
    reloadPolicies() {
      const before = context.policies.digest();
      const { result, ttlChanges } = context.lifecycle.reloadPolicies("signal:SIGHUP");
      // A signal cannot wait for them either: the TTL changes are recorded in the background.
      ttlChanges.catch((error: unknown) =>
        logger.error({ err: error }, "the TTL changes of the policy reload could not be recorded"),
      );
      if (result.ok) {
        logger.info({ ...result, path: context.policies.path }, "policies reloaded");
        // A signal cannot wait for the row: it is written in the background, and a failure logged.
        context.audit
          .record(
            {
              actor: "signal:SIGHUP",
              action: "policies.reload",
              subject: { kind: "policies" },
              origin: "signal",
            },
            before,
            context.policies.digest(),
          )
          .catch((error: unknown) =>
            logger.error({ err: error }, "the audit log could not record the policy reload"),
          );
      } else
        logger.error(
          { errors: result.errors, path: context.policies.path },
          "the policy file is not valid; the policies in force are kept",
        );
      return result;
    },
    close() {
      closing ??= (async () => {
        certificateWatch.abort();
        clearInterval(ttlRefresh);
        await scheduler.stop();
        await digests.stop();
        await mlflowSync?.stop();
        // Long polls answer at once rather than hold the close for up to their wait.
        await routes.close();
        analysis.abort();
        await analyzing;
        await app.close();
        await context.close();
        logger.info("tenure stopped");
      })();
      return closing;
    },
  };
}

/** What /metrics reads of the store at each scrape: the fleet rows and three small counts. */
export function scrapeSourceOf(context: Pick<Context, "lifecycle" | "stores">): ScrapeSource {
  return {
    fleetRows: () => context.lifecycle.fleetRows({}),
    openAlerts: () => context.stores.alerts.countOpenAlertsBySeverity(),
    lastSweeps: () => context.stores.sweeps.lastFinished(),
    waitingDeliveries: () => context.stores.outbox.countWaiting(),
  };
}
