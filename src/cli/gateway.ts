import { hostname } from "node:os";
import type { Command } from "commander";
import { InputError } from "../core/errors.js";
import type { RouteSource } from "../gateway/route-source.js";
import type { TrafficSink } from "../gateway/traffic-meter.js";
import { ChildExited } from "./child-exited.js";
import { configOf, type Io } from "./io.js";
import {
  byteSizeFlag,
  type DatabaseFlag,
  databaseOption,
  flagOrElse,
  fractionFlag,
  millisecondsFlag,
  positiveInt,
  timeoutFlag,
} from "./options.js";

interface GatewayFlags extends DatabaseFlag {
  port: number;
  host?: string;
  environment: string;
  registry?: string;
  token?: string;
  upstreamTimeout: number;
  shadowSample: number;
  shadowMaxBody: number;
  versionHeader: string;
  flushInterval: number;
  pgConnectTimeout?: number;
  /** null (`off`) arrives as "": see offOrValue. */
  pgQueryTimeout?: number | "";
}

/** `tenure gateway`: the reverse proxy in front of the model servers (src/gateway/). */
export function gatewayCommand(program: Command, io: Io): void {
  databaseOption(
    program
      .command("gateway")
      .summary("route /{model}/… to each model's live deployment, stamping every answer with it")
      .option("--port <n>", "port to listen on", positiveInt("--port", 65_535), 8081)
      .option("--host <host>", "address to listen on (default: $TENURE_HOST, else 127.0.0.1)")
      .option("--environment <environment>", "the environment whose deployments it routes to", "production")
      .option("--registry <url>", "read the routes from a Tenure server instead of the database")
      .option(
        "--token <token>",
        "the server's token, with --registry: scope write, to report traffic (default: $TENURE_TOKEN)",
      )
      .option(
        "--upstream-timeout <duration>",
        "how long a model server may take to answer, or pause while answering (30s, 500ms)",
        millisecondsFlag("--upstream-timeout"),
        30_000,
      )
      .option(
        "--shadow-sample <share>",
        "the share of requests a model's shadows see, 0 to 1",
        fractionFlag("--shadow-sample"),
        1,
      )
      .option(
        "--shadow-max-body <size>",
        "larger request bodies are not mirrored to shadows (1MiB, 512KiB)",
        byteSizeFlag("--shadow-max-body"),
        1_048_576,
      )
      .option("--version-header <name>", "the header a model server states its version in", "X-Model-Version")
      .option(
        "--flush-interval <duration>",
        "how often the traffic counts go to the registry (5s, 500ms)",
        millisecondsFlag("--flush-interval"),
        5_000,
      )
      .option(
        "--pg-connect-timeout <duration>",
        "PostgreSQL: how long to wait for a connection; a silent route listener is checked every two of these (default: $TENURE_PG_CONNECT_TIMEOUT, else 5s)",
        millisecondsFlag("--pg-connect-timeout"),
      )
      .option(
        "--pg-query-timeout <duration>",
        "PostgreSQL: how long a statement (a route read, a traffic report) may wait for its answer, or off (default: $TENURE_PG_QUERY_TIMEOUT, else 30s)",
        timeoutFlag("--pg-query-timeout"),
      ),
  ).action(async (flags: GatewayFlags) => {
    // V8 sizes the young generation only at start-up: the gateway runs as a child that has its own.
    const { GATEWAY_SEMI_SPACE_MB, rerunWithSemiSpace } = await import("./young-generation.js");
    const code = await rerunWithSemiSpace(GATEWAY_SEMI_SPACE_MB, io.env);
    if (code !== undefined) throw new ChildExited(code);
    const { SLUG_PATTERN } = await import("../registry/deployment-words.js");
    if (!SLUG_PATTERN.test(flags.environment)) {
      throw new InputError(
        `--environment must be a slug such as production, not ${JSON.stringify(flags.environment)}`,
      );
    }
    if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(flags.versionHeader)) {
      throw new InputError("--version-header must be a header name such as X-Model-Version");
    }
    if (flags.registry !== undefined && flags.database !== undefined) {
      throw new InputError(
        "--database and --registry cannot be used together: the routes come from one of them",
      );
    }
    for (const [flag, value] of [
      ["--pg-connect-timeout", flags.pgConnectTimeout],
      ["--pg-query-timeout", flags.pgQueryTimeout],
    ] as const) {
      if (flags.registry !== undefined && value !== undefined) {
        throw new InputError(
          `${flag} cannot be used with --registry: it sets the gateway's own database connection`,
        );
      }
    }
    const config = await configOf(io);
    const { pino } = await import("pino");
    const log = pino({ level: config.logLevel, redact: ["token", "headers.authorization"] });
    const registry = await openRoutes(flags, io, config, log);
    await serveGatewayUntilSignal(flags, io, config.host, registry, log);
  });
}

type Logger = import("pino").Logger;

/** Where the routes come from and the traffic counts go, and how to let go of both. */
interface Registry {
  source: RouteSource;
  sink: TrafficSink;
  close: () => Promise<void>;
  /** What the start-up line says of the database's settings (PostgreSQL's timeouts). */
  settings?: Record<string, unknown>;
}

/**
 * The routes from the database (the registry's own) or from a registry server, and the traffic
 * reports to the same place.
 */
async function openRoutes(
  flags: GatewayFlags,
  io: Io,
  config: Awaited<ReturnType<typeof configOf>>,
  log: Logger,
): Promise<Registry> {
  const events = {
    routesChanged: (table: { version: string; routable: number }, previous: { version: string }) =>
      log.info(
        { route_version: table.version, previous: previous.version, routes: table.routable },
        "routes changed",
      ),
    registryLost: (error: unknown) =>
      log.error({ err: error }, "the registry is lost; the gateway keeps serving its last routes"),
    registryRestored: () => log.info("the registry is back"),
  };
  if (flags.registry !== undefined) {
    const token = flags.token ?? config.token;
    if (token === undefined) throw new InputError("--registry needs --token (or TENURE_TOKEN): a read token");
    let url: URL;
    try {
      url = new URL(flags.registry);
    } catch {
      throw new InputError("--registry must be an http:// or https:// URL");
    }
    if (url.protocol !== "http:" && url.protocol !== "https:") {
      throw new InputError("--registry must be an http:// or https:// URL");
    }
    const { RemoteRouteSource } = await import("../gateway/remote-route-source.js");
    const { RemoteTrafficSink } = await import("../gateway/traffic-sinks.js");
    const source = new RemoteRouteSource({
      registry: url.toString(),
      token,
      environment: flags.environment,
      events,
    });
    const sink = new RemoteTrafficSink({ registry: url.toString(), token });
    return { source, sink, close: () => source.close() };
  }
  const { openContext } = await import("../context.js");
  const url = flags.database ?? config.databaseUrl;
  // The flags, else TENURE_PG_CONNECT_TIMEOUT and TENURE_PG_QUERY_TIMEOUT, as `tenure serve` reads them.
  const connectTimeoutMs = flags.pgConnectTimeout ?? config.pgConnectTimeoutMs;
  const queryTimeoutMs = flagOrElse(flags.pgQueryTimeout, config.pgQueryTimeoutMs);
  const context = await openContext(url, {
    env: io.env,
    preparedStatements: config.preparedStatements,
    connectTimeoutMs,
    queryTimeoutMs,
    logger: log,
    // A gateway routes an existing registry: a typo in --database must not serve an empty one.
    mustExist: true,
  });
  const { LocalRouteSource } = await import("../gateway/route-changes.js");
  const { LocalTrafficSink } = await import("../gateway/traffic-sinks.js");
  const source = new LocalRouteSource({
    url,
    connectTimeoutMs,
    stores: context.stores,
    environment: flags.environment,
    events,
  });
  const name = `gateway:${hostname()}:${flags.port}`;
  const sink = new LocalTrafficSink(context.traffic, { name, key_scope: name, team: null });
  // With the database at hand, the gateway judges canaries and guardrails as `tenure serve`
  // does, so that a gateway without a server still rolls back a failing canary; several
  // processes on one database claim each analysis once.
  const analysis = new AbortController();
  const analyzing = context.canaryAnalyzer(context.stores.traffic).run(analysis.signal);
  // The timeouts in force, so that an operator can see which of flag, variable and default won.
  const settings = context.database.timeouts;
  return {
    source,
    sink,
    settings,
    close: async () => {
      analysis.abort();
      await analyzing;
      await source.close();
      await context.close();
    },
  };
}

async function serveGatewayUntilSignal(
  flags: GatewayFlags,
  io: Io,
  defaultHost: string,
  registry: Registry,
  log: Logger,
): Promise<void> {
  const { source, sink } = registry;
  const { startGateway } = await import("../gateway/gateway.js");
  const { TrafficMeter } = await import("../gateway/traffic-meter.js");
  const { assertPortFree } = await import("./serve.js");
  const host = flags.host ?? defaultHost;
  const meter = new TrafficMeter({
    sink,
    gateway: `${hostname()}:${flags.port}`,
    environment: flags.environment,
    flushIntervalMs: flags.flushInterval,
    logger: log,
  });
  // Shadow pairs ride in the meter's traffic reports, to the database or the registry server.
  const { ShadowMirror } = await import("../gateway/shadow-mirror.js");
  const mirror = new ShadowMirror({
    sink: meter,
    timeoutMs: flags.upstreamTimeout,
    onError: (shadow, requestId, error) =>
      log.warn(
        { request_id: requestId, model: shadow.model, deployment_id: shadow.deployment_id, err: error },
        "a shadow did not answer its copy",
      ),
  });
  const stopMirror = () => mirror.close();
  // So do the predictions of models with a canary, which labels later score for its analyses.
  const { CanaryRecorder } = await import("../gateway/canary-recorder.js");
  const recorder = new CanaryRecorder({ sink: meter });
  // The meter sends its last report before the registry (the database, when opened here) closes.
  const closeRoutes = async () => {
    await meter.close();
    await registry.close();
  };
  let gateway: Awaited<ReturnType<typeof startGateway>>;
  try {
    // A worker of node:cluster shares its primary's listening socket, which is taken by design.
    const { default: cluster } = await import("node:cluster");
    if (!cluster.isWorker) await assertPortFree(host, flags.port);
    await source.start();
    gateway = await startGateway({
      host,
      port: flags.port,
      routes: source,
      upstreamTimeoutMs: flags.upstreamTimeout,
      shadowSample: flags.shadowSample,
      shadowMaxBody: flags.shadowMaxBody,
      versionHeader: flags.versionHeader,
      keepCanaryAnswers: true,
      observers: [meter, mirror, recorder],
      log,
    });
  } catch (error) {
    await stopMirror();
    await closeRoutes();
    throw error;
  }
  const { table } = source;
  io.out(`tenure gateway listening on ${gateway.url} for ${flags.environment}: ${table.routable} route(s)\n`);
  log.info(
    {
      url: gateway.url,
      environment: flags.environment,
      routes: table.routable,
      route_version: table.version,
      ...registry.settings,
    },
    "tenure gateway is serving",
  );
  const { onParentGone } = await import("./young-generation.js");
  await new Promise<void>((resolve) => {
    const stop = () => {
      process.off("SIGTERM", stop);
      process.off("SIGINT", stop);
      process.off("disconnect", stop);
      resolve();
    };
    process.on("SIGTERM", stop);
    process.on("SIGINT", stop);
    onParentGone(stop, io.env);
  });
  await gateway.close();
  await stopMirror();
  await closeRoutes();
}
