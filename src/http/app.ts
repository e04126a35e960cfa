import swagger from "@fastify/swagger";
import Fastify, {
  type FastifyBaseLogger,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
  type FastifyServerOptions,
  LogController,
} from "fastify";
import { jsonSchemaTransform, validatorCompiler, type ZodTypeProvider } from "fastify-type-provider-zod";
import { z } from "zod";
import type { Canaries } from "../gateway/canaries.js";
import type { RouteFeed } from "../gateway/route-feed.js";
import type { AdmissionWebhook } from "../integrations/kubernetes/admission-webhook.js";
import type { MlflowWebhook } from "../integrations/mlflow/mlflow-webhook.js";
import type { Lifecycle } from "../lifecycle/lifecycle.js";
import type { PromotionGate } from "../lifecycle/promotion-gate.js";
import type { DriftMonitor } from "../monitoring/drift-monitor.js";
import type { ShadowMonitor } from "../monitoring/shadow-monitor.js";
import type { TrafficMonitor } from "../monitoring/traffic-monitor.js";
import type { AuditTrail } from "../registry/audit-trail.js";
import type { Registry } from "../registry/registry.js";
import { auditHooks } from "./audit-hook.js";
import { bearerAuth } from "./auth.js";
import { assertBodyType, JSON_TYPE, parseJsonBody } from "./body-types.js";
import { registerDashboard } from "./dashboard.js";
import { answerClientError, problem, sendProblem, toProblem } from "./problem.js";
import type { PrometheusMetrics } from "./prometheus/prometheus-metrics.js";
import {
  type ConnectionLimits,
  connectionOptions,
  DEFAULT_CONNECTION_LIMITS,
  nodeServerOptions,
  type RateLimits,
} from "./rate-limit.js";
import { admissionRoutes } from "./routes/admission.js";
import { alertRoutes } from "./routes/alerts.js";
import { auditRoutes } from "./routes/audit.js";
import { calendarRoutes } from "./routes/calendar.js";
import { canaryRoutes } from "./routes/canaries.js";
import { checkRoutes } from "./routes/check.js";
import { deliveryRoutes } from "./routes/deliveries.js";
import { deploymentRoutes } from "./routes/deployments.js";
import { fleetRoutes } from "./routes/fleet.js";
import { gateRoutes } from "./routes/gate.js";
import { heartbeatRoutes } from "./routes/heartbeats.js";
import { metricRoutes } from "./routes/metrics.js";
import { mlflowHookRoutes } from "./routes/mlflow-hook.js";
import { modelHistoryRoutes } from "./routes/model-history.js";
import { modelRoutes } from "./routes/models.js";
import { policyRoutes } from "./routes/policies.js";
import { prometheusRoutes } from "./routes/prometheus.js";
import { referenceRoutes } from "./routes/references.js";
import { reportRoutes } from "./routes/report.js";
import { reviewRoutes } from "./routes/reviews.js";
import { routeRoutes } from "./routes/routes.js";
import { sampleRoutes } from "./routes/samples.js";
import { shadowRoutes } from "./routes/shadow.js";
import { sweepRoutes } from "./routes/sweeps.js";
import { timelineRoutes } from "./routes/timelines.js";
import { trafficRoutes } from "./routes/traffic.js";
import { problemResponses } from "./schemas.js";
import type { TokenCache } from "./token-auth.js";
import { trustedProxies } from "./trusted-proxies.js";

export interface AppOptions {
  registry: Registry;
  /** Where every change made through the API is recorded (GET /v1/audit). */
  audit: AuditTrail;
  lifecycle: Lifecycle;
  drift: DriftMonitor;
  canaries: Canaries;
  shadow: ShadowMonitor;
  traffic: TrafficMonitor;
  gate: PromotionGate;
  tokens: TokenCache;
  /** The routes gateways read (`GET /v1/routes`); the route is absent without it. */
  routes?: RouteFeed;
  /** The host named in calendar UIDs (from the public URL). */
  publicHost?: string;
  publicRead: boolean;
  version: string;
  /** What `GET /metrics` serves; the route is absent without it. */
  metrics?: PrometheusMetrics;
  /** MLflow's webhooks (`POST /v1/hooks/mlflow`); the route answers 404 without it. */
  mlflowHook?: MlflowWebhook;
  /** The built dashboard's folder; dist/web by default. */
  dashboardRoot?: string;
  logger?: FastifyBaseLogger;
  /** Kubernetes' admission webhook (`POST /k8s/admission`); the route is absent without it. */
  admission?: AdmissionWebhook;
  /** Serve HTTPS with this key and certificate (PEM); plain HTTP without. */
  tls?: { key: Buffer; cert: Buffer };
  /** Request rates per token and per client address (429); no limit without. */
  rateLimits?: RateLimits;
  /** The listening server's head size limit and slow-client timeouts; DEFAULT_CONNECTION_LIMITS without. */
  connectionLimits?: ConnectionLimits;
  /**
   * CIDRs of the reverse proxies whose X-Forwarded-For gives the client's address (`request.ip`,
   * which the audit log and the per-address rate limit read); none without: the socket's peer.
   */
  trustProxy?: readonly string[];
}

/** 1 MiB: registrations are small; anything larger is a mistake or an attack (413). */
const BODY_LIMIT = 1024 * 1024;

/**
 * Builds the HTTP API. Nothing here listens: `tenure serve` does, and tests use `app.inject`.
 */
export async function buildApp(options: AppOptions): Promise<FastifyInstance> {
  const limits = options.connectionLimits ?? DEFAULT_CONNECTION_LIMITS;
  const trustProxy = trustedProxies(options.trustProxy ?? []);
  const fastifyOptions = {
    bodyLimit: BODY_LIMIT,
    ...(trustProxy ? { trustProxy } : {}),
    ...connectionOptions(limits),
    clientErrorHandler: answerClientError,
    ...(options.logger ? { loggerInstance: options.logger } : { logger: false }),
    // Clients may send ids and limits as strings in paths and queries; zod coerces them.
    routerOptions: { maxParamLength: 256 },
    // On SIGTERM the server stops accepting connections and finishes every request it has
    // accepted, including those arriving on open keep-alive connections: none is refused.
    return503OnClosing: false,
    // Bad percent-escapes and over-long path parameters are answered like every other error.
    frameworkErrors: (error, request, reply) => {
      sendProblem(reply as FastifyReply, toProblem(error, request as FastifyRequest));
    },
    // Two log lines per request would cost the hot read path more than the route itself;
    // access logs come with TENURE_LOG_LEVEL=debug.
    logController: new LogController({
      disableRequestLogging: !options.logger || !["debug", "trace"].includes(options.logger.level),
    }),
  } satisfies FastifyServerOptions;
  // Fastify types an HTTPS instance apart from an HTTP one; the routes use neither server's own API.
  const app = options.tls
    ? (Fastify({
        ...fastifyOptions,
        https: { ...options.tls, ...nodeServerOptions(limits) },
      }) as unknown as FastifyInstance)
    : Fastify(fastifyOptions);
  // Fastify's JSON parser reports a `__proto__` key as "not valid JSON"; this one says what it
  // refuses and why. Fastify's text/plain parser would hand a JSON route a string to validate.
  app.removeContentTypeParser([JSON_TYPE, "text/plain"]);
  app.addContentTypeParser(JSON_TYPE, { parseAs: "string" }, function jsonBody(_request, body, done) {
    try {
      done(null, parseJsonBody(body as string));
    } catch (error) {
      done(error as Error, undefined);
    }
  });
  // Before the body is read, so a client over its limit costs no parsing. Requests with a token
  // were counted by their authentication (onRequest, earlier); this counts the rest.
  if (options.rateLimits) app.addHook("preParsing", options.rateLimits.unauthenticated());
  // A callback hook: it runs on every request, and an async one costs a promise each time.
  app.addHook("preParsing", function acceptedBodyType(request, _reply, payload, done) {
    try {
      assertBodyType(request);
      done(null, payload);
    } catch (error) {
      done(error as Error);
    }
  });
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(() => (data) => JSON.stringify(data));
  // A POST whose body fields are all optional may come with no body at all.
  app.addHook("preValidation", async function defaultEmptyBody(request) {
    if (request.method === "POST" && request.body === undefined) request.body = {};
  });
  app.setErrorHandler((error, request, reply) => sendProblem(reply, toProblem(error, request)));
  // On the root, so that every scope below (the API, the signed webhooks) is audited alike.
  auditHooks(app, options.audit);
  app.setNotFoundHandler((request, reply) =>
    sendProblem(
      reply,
      problem(404, "not-found", `no route for ${request.method} ${request.url.split("?")[0]}`),
    ),
  );

  await app.register(swagger, {
    openapi: {
      openapi: "3.1.0",
      info: {
        title: "Tenure",
        version: options.version,
        description:
          "How long every ML model has served, how old its data is, and whether it still performs.",
      },
      components: {
        securitySchemes: { bearer: { type: "http", scheme: "bearer" } },
      },
      security: [{ bearer: [] }],
    },
    transform: jsonSchemaTransform,
    transformObject: (document) =>
      optionalEmptyBodies("openapiObject" in document ? document.openapiObject : {}),
  });

  const r = app.withTypeProvider<ZodTypeProvider>();
  r.get(
    "/healthz",
    {
      schema: {
        summary: "Ready to serve",
        tags: ["system"],
        security: [],
        response: {
          200: z.object({ status: z.literal("ok"), version: z.string() }),
          ...problemResponses(503),
        },
      },
    },
    async (_request, reply) => {
      try {
        await options.registry.ping();
      } catch (error) {
        reply.log.warn({ err: error }, "health check: the database does not answer");
        return sendProblem(reply, problem(503, "unavailable", "the database does not answer"));
      }
      return { status: "ok" as const, version: options.version };
    },
  );
  r.get("/openapi.json", { schema: { hide: true } }, async () => app.swagger());
  await registerDashboard(app, {
    version: options.version,
    ...(options.dashboardRoot ? { root: options.dashboardRoot } : {}),
  });

  const bearer = bearerAuth({ tokens: options.tokens, publicRead: options.publicRead });
  const authenticate = options.rateLimits ? options.rateLimits.guard(bearer) : bearer;
  const metrics = options.metrics;
  if (metrics) {
    await app.register(async function prometheus(scope) {
      scope.addHook("onRequest", authenticate);
      prometheusRoutes(scope, metrics);
    });
  }

  // Outside the bearer scope: the Kubernetes API server sends no token (see routes/admission.ts).
  if (options.admission) admissionRoutes(app, options.admission);
  // Signed webhooks authenticate by their signature, outside the bearer token's scope.
  await app.register(async function hooks(scope) {
    mlflowHookRoutes(scope, options.mlflowHook);
  });

  await app.register(async function v1(scope) {
    scope.addHook("onRequest", authenticate);
    deploymentRoutes(scope, options.registry);
    modelRoutes(scope, options.registry);
    canaryRoutes(scope, options.canaries);
    sweepRoutes(scope, options.lifecycle);
    reviewRoutes(scope, options.lifecycle);
    heartbeatRoutes(scope, options.lifecycle);
    metricRoutes(scope, options.lifecycle);
    timelineRoutes(scope, options.lifecycle);
    modelHistoryRoutes(scope, options.lifecycle);
    policyRoutes(scope, options.lifecycle);
    calendarRoutes(scope, options.lifecycle, options.publicHost ?? "tenure.local");
    fleetRoutes(scope, options.lifecycle);
    checkRoutes(scope, options.lifecycle);
    reportRoutes(scope, options.lifecycle);
    gateRoutes(scope, options.gate);
    alertRoutes(scope, options.lifecycle);
    deliveryRoutes(scope, options.lifecycle);
    sampleRoutes(scope, options.drift);
    referenceRoutes(scope, options.drift);
    if (options.routes) routeRoutes(scope, options.routes);
    shadowRoutes(scope, options.shadow);
    trafficRoutes(scope, options.traffic);
    auditRoutes(scope, options.audit);
  });

  return app;
}

/** Marks request bodies with no required field as optional, as `defaultEmptyBody` serves them. */
function optionalEmptyBodies<T>(document: T): T {
  const paths = (document as { paths?: Record<string, Record<string, OpenApiOperation>> }).paths ?? {};
  for (const operations of Object.values(paths)) {
    for (const operation of Object.values(operations)) {
      const body = operation.requestBody;
      const schema = body?.content?.["application/json"]?.schema;
      if (body && schema && !schema.required?.length) body.required = false;
    }
  }
  return document;
}

interface OpenApiOperation {
  requestBody?: { required?: boolean; content?: Record<string, { schema?: { required?: string[] } }> };
}
