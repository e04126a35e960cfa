import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type { AuditVia } from "../registry/actor.js";
import type { AuditChange, AuditSubject, AuditTrail } from "../registry/audit-trail.js";

/**
 * How one mutating route is audited. Most changes write their audit row themselves, inside their
 * own transaction (the registry and the lifecycle, told where the change comes from by
 * `Actor.via`); `edge` marks the two recorded here, after the answer: a policy reload changes no
 * database, and an MLflow delivery's outcome spans the transactions of the registrations it made
 * (each of which has its own row).
 */
interface AuditedRoute {
  action: string;
  /** The status a success answers with, recorded before the answer is sent (200 when absent). */
  status?: number;
  /** Recorded here, after the answer: what the route changes, read before the handler and after. */
  edge?: {
    subject?: (request: FastifyRequest) => AuditSubject;
    /** For work with no record to read: the answer is the `after`. */
    outcome?: true;
    /** Who acts when the route takes no bearer token (a signed webhook). */
    actor?: string;
  };
}

/**
 * Every route that changes something, by `METHOD url` as fastify names it. A test holds this
 * table and UNAUDITED_WRITES to every mutating route the app serves, so a new route without a
 * decision fails it.
 */
export const AUDITED_ROUTES: Readonly<Record<string, AuditedRoute>> = {
  "POST /v1/deployments": { action: "deployment.register", status: 201 },
  "POST /v1/deployments/:id/retire": { action: "deployment.retire" },
  "POST /v1/deployments/:id/review": { action: "deployment.review" },
  "POST /v1/deployments/:id/reference": { action: "deployment.reference" },
  "PUT /v1/models/:name/golden": { action: "model.golden" },
  "POST /v1/models/:name/rollback": { action: "model.rollback" },
  "POST /v1/alerts/:id/resolve": { action: "alert.resolve" },
  "POST /v1/deliveries/retry": { action: "deliveries.retry" },
  "POST /v1/sweeps": { action: "sweep.run", status: 201 },
  "POST /v1/policies/reload": { action: "policies.reload", edge: { subject: () => ({ kind: "policies" }) } },
  "POST /v1/hooks/mlflow": {
    action: "mlflow.webhook",
    edge: { outcome: true, actor: "webhook:mlflow" },
  },
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
  action: string;
  edge: NonNullable<AuditedRoute["edge"]>;
  subject: AuditSubject | null;
  before: unknown;
}

declare module "fastify" {
  interface FastifyRequest {
    pendingAudit?: PendingAudit;
  }
}

/**
 * Tells each audited change where it comes from: the request's actor gains `via` (origin `http`,
 * the socket's address, the user agent, the request line and the status a success answers
 * with), and the registry or the lifecycle appends the row in the change's own transaction, so
 * a change commits with its row or neither is written. A refused or failed request writes
 * nothing: its transaction rolls back, row and all. A replayed registration writes nothing either.
 *
 * The few `edge` routes are recorded here after the answer, with the record read before the
 * handler and after it: a crash between the two loses their row, and a concurrent change between
 * the reads can show in it (see docs/AUDIT.md).
 */
export function auditHooks(app: FastifyInstance, audit: AuditTrail): void {
  app.addHook("preHandler", async function auditBefore(request) {
    const route = AUDITED_ROUTES[`${request.method} ${request.routeOptions.url}`];
    if (!route) return;
    if (request.actor) request.actor = { ...request.actor, via: viaOf(request, route.status ?? 200) };
    if (!route.edge) return;
    const subject = route.edge.subject?.(request) ?? null;
    request.pendingAudit = {
      action: route.action,
      edge: route.edge,
      subject,
      before: await audit.snapshot(subject),
    };
  });
  app.addHook("onSend", async function auditAfter(request, reply, payload) {
    const pending = request.pendingAudit;
    if (!pending || reply.statusCode >= 300) return payload;
    try {
      const after = pending.edge.outcome ? answerOf(payload) : await audit.snapshot(pending.subject);
      await audit.record(changeOf(request, reply, pending), pending.before, after);
    } catch (error) {
      request.log.error({ err: error }, "the audit log could not record a change");
    }
    return payload;
  });
}

function viaOf(request: FastifyRequest, status: number): AuditVia {
  return {
    origin: "http",
    client_ip: request.ip,
    user_agent: request.headers["user-agent"] ?? null,
    method: request.method,
    // Without the query string, where a calendar's token may ride.
    path: request.url.split("?")[0] ?? request.url,
    status,
  };
}

function changeOf(request: FastifyRequest, reply: FastifyReply, pending: PendingAudit): AuditChange {
  return {
    ...viaOf(request, reply.statusCode),
    actor: request.actor?.name ?? pending.edge.actor ?? "anonymous",
    action: pending.action,
    subject: pending.subject,
    origin: "http",
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
