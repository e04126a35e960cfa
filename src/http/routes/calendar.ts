import type { FastifyInstance } from "fastify";
import type { ZodTypeProvider } from "fastify-type-provider-zod";
import { z } from "zod";
import { renderCalendar } from "../../core/calendar.js";
import { isoTime } from "../../core/iso-time.js";
import type { Lifecycle } from "../../lifecycle/lifecycle.js";
import { Scope } from "../../lifecycle/lifecycle-input.js";
import { LifecycleList } from "../lifecycle-schemas.js";
import { problemResponses } from "../schemas.js";

/** The lifecycle calendar's dates, as JSON and as an RFC 5545 calendar. */
export function calendarRoutes(app: FastifyInstance, lifecycle: Lifecycle, publicHost: string): void {
  const r = app.withTypeProvider<ZodTypeProvider>();

  r.get(
    "/v1/lifecycle",
    {
      schema: {
        summary: "Every live deployment's review and expiry dates, soonest expiry first",
        tags: ["lifecycle"],
        querystring: Scope,
        response: { 200: LifecycleList, ...problemResponses(400, 401) },
      },
    },
    async (request) => ({
      items: (await lifecycle.entries(request.query)).map((e) => ({
        ...e,
        due_at: isoTime(e.due_at),
        expires_at: isoTime(e.expires_at),
      })),
    }),
  );

  r.get(
    "/v1/calendar.ics",
    {
      // Calendar apps subscribe with a bare URL and cannot send headers: this route alone takes
      // a read token in `?token=`.
      config: { queryToken: true },
      schema: {
        summary: "The lifecycle calendar (RFC 5545): review and expiry dates of live deployments",
        description:
          "Subscribe from a calendar app. Calendar apps cannot send headers: pass a read token as ?token=.",
        tags: ["lifecycle"],
        querystring: Scope.extend({ token: z.string().max(512).optional() }),
        response: {
          200: { description: "text/calendar", content: { "text/calendar": { schema: z.string() } } },
          ...problemResponses(400, 401),
        },
      },
    },
    async (request, reply) => {
      const entries = await lifecycle.entries(request.query);
      const name = ["Tenure", request.query.owner_team, request.query.environment].filter(Boolean).join(": ");
      const body = renderCalendar(entries, { now: Date.now(), name, host: publicHost });
      return reply.type("text/calendar; charset=utf-8").header("cache-control", "max-age=300").send(body);
    },
  );
}
