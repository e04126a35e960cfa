import type { FastifyInstance } from "fastify";
import type { ZodTypeProvider } from "fastify-type-provider-zod";
import type { Lifecycle } from "../../lifecycle/lifecycle.js";
import { AlertsQuery, ResolveAlertBody } from "../../lifecycle/lifecycle-input.js";
import { IdParams } from "../../registry/registry-input.js";
import { actorOf } from "../auth.js";
import { Alert, AlertList } from "../lifecycle-schemas.js";
import { problemResponses } from "../schemas.js";

export function alertRoutes(app: FastifyInstance, lifecycle: Lifecycle): void {
  const r = app.withTypeProvider<ZodTypeProvider>();

  r.get(
    "/v1/alerts",
    {
      schema: {
        summary: "Alerts, newest first",
        tags: ["alerts"],
        querystring: AlertsQuery,
        response: { 200: AlertList, ...problemResponses(400, 401) },
      },
    },
    async (request) => lifecycle.alerts(request.query),
  );

  r.post(
    "/v1/alerts/:id/resolve",
    {
      schema: {
        summary: "Close an alert that no sweep closes (a canary rolled back or paused, a guardrail)",
        description:
          "Alerts a sweep concludes (due, expired, data_stale, silent, degraded, drifted, forecast_breach, version_mismatch) " +
          "close when their condition ends, an age alert with a review: closing one by hand is 409.",
        tags: ["alerts"],
        params: IdParams,
        body: ResolveAlertBody,
        response: { 200: Alert, ...problemResponses(400, 401, 403, 404, 409) },
      },
    },
    async (request) => lifecycle.resolveAlert(request.params.id, actorOf(request), request.body.note),
  );
}
