import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type { AuditSubject, AuditTrail } from "../registry/audit-trail.js";

/** How one mutating route is audited: its action's name and what it changes. */
interface AuditedRoute {
  action: string;
  /** What the route changes, read before the handler runs and again after it answered. */
  subject?: (request: FastifyRequest) => AuditSubject;
  /** For work with no record to read (a sweep, a retry): the answer is the `after`. */
  outcome?: true;
  /** Who acts when the route takes no bearer token (a signed webhook). */
  actor?: string;
}

const deployment = (request: FastifyRequest): AuditSubject => ({
  kind: "deployment",
  id: Number((request.params as { id: unknown }).id),
});

/** A model in the environment its body names (the routes' schemas default it to production). */
const modelIn =
  (name: (request: FastifyRequest) => unknown) =>
  (request: FastifyRequest): AuditSubject => ({
    kind: "model",
    name: String(name(request)),
    environment: String((request.body as { environment?: unknown }).environment ?? "production"),
  });

/**
 * Every route that changes something, by `METHOD url` as fastify names it. A test holds this
 * table and UNAUDITED_WRITES to every mutating route the app serves, so a new route without a
 * decision fails it.
 */
export const AUDITED_ROUTES: Readonly<Record<string, AuditedRoute>> = {
  "POST /v1/deployments": {
    action: "deployment.register",
    subject: modelIn((request) => (request.body as { model?: unknown }).model),
  },
  "POST /v1/deployments/:id/retire": { action: "deployment.retire", subject: deployment },
  "POST /v1/deployments/:id/review": { action: "deployment.review", subject: deployment },
  "POST /v1/deployments/:id/reference": { action: "deployment.reference", subject: deployment },
  "PUT /v1/models/:name/golden": {
    action: "model.golden",
    subject: modelIn((request) => (request.params as { name: unknown }).name),
  },
  "POST /v1/models/:name/rollback": {
    action: "model.rollback",
    subject: modelIn((request) => (request.params as { name: unknown }).name),
  },
  "POST /v1/alerts/:id/resolve": {
    action: "alert.resolve",
    subject: (request) => ({ kind: "alert", id: Number((request.params as { id: unknown }).id) }),
  },
  "POST /v1/deliveries/retry": { action: "deliveries.retry", outcome: true },
  "POST /v1/sweeps": { action: "sweep.run", outcome: true },
  "POST /v1/policies/reload": { action: "policies.reload", subject: () => ({ kind: "policies" }) },
  "POST /v1/hooks/mlflow": { action: "mlflow.webhook", outcome: true, actor: "webhook:mlflow" },
};

/**
 * Routes that write but are not audited, each with why: telemetry that serving endpoints and
 * gateways send many times a minute (an audit row each would outgrow every other table and says
 * nothing a person did; the data itself is the record), and POSTs that change nothing.
 */
export const UNAUDITED_WRITES: Readonly<Record<string, string>> = {
  "POST /v1/deployments/:id/heartbeat": "telemetry: liveness from the serving endpoint",
  "POST /v1/deployments/:id/metrics": "telemetry: performance points",
  "POST /v1/deployments/:id/samples": "telemetry: feature samples for drift",
  "POST /v1/feedback": "telemetry: ground truth for served requests",
  "POST /v1/traffic": "telemetry: gateways' traffic reports",
  "POST /v1/models/:name/gate": "changes nothing: a verdict (readOnly)",
  "POST /k8s/admission": "changes nothing: an admission verdict",
};

interface PendingAudit {
  route: AuditedRoute;
  subject: AuditSubject | null;
  before: unknown;
}

declare module "fastify" {
  interface FastifyRequest {
    pendingAudit?: PendingAudit;
  }
}

/**
 * Records each successful change made through the API in the audit log, with the record it
 * changed read before the handler and after it answered. Refused and failed requests record
 * nothing: they changed nothing, and the log (with the access log at debug) says who was refused.
 *
 * The trade-off: the row is written after the change commits, not in its transaction, so a crash
 * between the two loses the row (the change itself is kept, with its events), and a concurrent
 * change between the reads can show in `before` or `after`. In exchange one hook audits every
 * route, with no change to the domain's transactions. The answer waits for the row, so an
 * acknowledged change has its audit row unless the row's own write failed, which is logged.
 */
export function auditHooks(app: FastifyInstance, audit: AuditTrail): void {
  app.addHook("preHandler", async function auditBefore(request) {
    const route = AUDITED_ROUTES[`${request.method} ${request.routeOptions.url}`];
    if (!route) return;
    const subject = route.subject?.(request) ?? null;
    request.pendingAudit = { route, subject, before: await audit.snapshot(subject) };
  });
  app.addHook("onSend", async function auditAfter(request, reply, payload) {
    const pending = request.pendingAudit;
    if (!pending || reply.statusCode >= 300 || reply.getHeader("idempotent-replayed") === "true") {
      return payload;
    }
    try {
      const after = pending.route.outcome ? answerOf(payload) : await audit.snapshot(pending.subject);
      await audit.record(changeOf(request, reply, pending), pending.before, after);
    } catch (error) {
      request.log.error({ err: error }, "the audit log could not record a change");
    }
    return payload;
  });
}

function changeOf(request: FastifyRequest, reply: FastifyReply, pending: PendingAudit) {
  return {
    actor: request.actor?.name ?? pending.route.actor ?? "anonymous",
    action: pending.route.action,
    subject: pending.subject,
    origin: "http" as const,
    client_ip: request.ip,
    user_agent: request.headers["user-agent"] ?? null,
    method: request.method,
    // Without the query string, where a calendar's token may ride.
    path: request.url.split("?")[0] ?? request.url,
    status: reply.statusCode,
  };
}

function answerOf(payload: unknown): unknown {
  if (typeof payload !== "string") return null;
  try {
    return JSON.parse(payload);
  } catch {
    return null;
  }
}
