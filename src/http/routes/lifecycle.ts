import type { FastifyInstance } from "fastify";
import type { ZodTypeProvider } from "fastify-type-provider-zod";
import { z } from "zod";
import { renderCalendar } from "../../core/calendar.js";
import { ForbiddenError, UnprocessableError } from "../../core/errors.js";
import { isoTime } from "../../core/iso-time.js";
import type { Lifecycle } from "../../lifecycle/lifecycle.js";
import { SweepBody } from "../../lifecycle/sweep-input.js";
import { finite, freeText, instant, instantToMs, metricName, slug } from "../../registry/deployment-input.js";
import { actorOf, requireAdmin } from "../auth.js";
import { Explain, Fleet, LifecycleList, Sweep, SweepList, Timeline } from "../lifecycle-schemas.js";
import { Deployment, decimalInt, problemResponses } from "../schemas.js";
import { IdParams } from "./deployments.js";

/** Ten years: an extension beyond that is a typo, not a review. */
const MAX_EXTENSION_SECONDS = 10 * 365 * 86_400;

const ReviewBody = z.strictObject({
  note: freeText(2000).min(1, "must say what was checked").describe("what the reviewer checked"),
  extend_seconds: z
    .number()
    .int("must be a whole number of seconds")
    .min(0)
    .max(MAX_EXTENSION_SECONDS, "must be at most ten years")
    .optional()
    .describe("adds to this deployment's TTL"),
});

const MetricsBody = z.strictObject({
  points: z
    .array(
      z.strictObject({
        name: metricName(),
        value: finite(),
        timestamp: instant().optional().describe("when the value was measured; default: receipt time"),
        sample_size: z
          .number()
          .int()
          .min(1)
          .max(1_000_000_000)
          .optional()
          .describe("how many predictions it covers (default 1)"),
      }),
    )
    .min(1, "must hold at least one point")
    .max(10_000, "at most 10,000 points a request"),
});

const Scope = z.strictObject({
  owner_team: slug().optional(),
  environment: slug().optional(),
});

export function lifecycleRoutes(app: FastifyInstance, lifecycle: Lifecycle, publicHost: string): void {
  const r = app.withTypeProvider<ZodTypeProvider>();

  r.post(
    "/v1/sweeps",
    {
      schema: {
        summary: "Run a sweep now",
        description:
          "Evaluates every live deployment, raises and resolves alerts, carries out due promotions (201). 409 while another sweep runs. " +
          "With `dry_run`, or an `at` after the server's time, a preview (200, `dry_run: true`): the same evaluation and counts, nothing written, nothing sent.",
        tags: ["lifecycle"],
        body: SweepBody,
        response: { 200: Sweep, 201: Sweep, ...problemResponses(400, 401, 403, 409) },
      },
    },
    async (request, reply) => {
      const actor = actorOf(request);
      if (actor.team !== null) {
        throw new ForbiddenError("a sweep covers every team: use a token that is not bound to one");
      }
      const at = request.body.at === undefined ? undefined : instantToMs(request.body.at);
      const sweep = await lifecycle.sweep({
        at,
        dry_run: request.body.dry_run,
        trigger: "manual",
        actor: actor.name,
      });
      return reply.code(sweep.dry_run ? 200 : 201).send(sweep);
    },
  );

  r.get(
    "/v1/sweeps",
    {
      schema: {
        summary: "The sweep log (the heartbeat history), newest first",
        tags: ["lifecycle"],
        querystring: z.strictObject({
          limit: decimalInt(1, 500).default(50),
          cursor: decimalInt(1, 2_147_483_647).optional(),
        }),
        response: { 200: SweepList, ...problemResponses(400, 401) },
      },
    },
    async (request) => lifecycle.sweeps(request.query.limit, request.query.cursor),
  );

  r.post(
    "/v1/deployments/:id/review",
    {
      schema: {
        summary: "Review a deployment: acknowledge its age, optionally extend its TTL",
        tags: ["lifecycle"],
        params: IdParams,
        body: ReviewBody,
        response: { 200: Deployment, ...problemResponses(400, 401, 403, 404, 409) },
      },
    },
    async (request) => lifecycle.review(request.params.id, actorOf(request), request.body),
  );

  r.post(
    "/v1/deployments/:id/heartbeat",
    {
      schema: {
        summary: "Liveness from the serving endpoint",
        tags: ["lifecycle"],
        params: IdParams,
        body: z.strictObject({}),
        response: {
          200: z.object({ deployment_id: z.number().int(), last_heartbeat_at: z.string() }),
          ...problemResponses(400, 401, 403, 404, 409),
        },
      },
    },
    async (request) => lifecycle.heartbeat(request.params.id, actorOf(request)),
  );

  r.post(
    "/v1/deployments/:id/metrics",
    {
      // 10,000 points run to about 1 MiB of JSON: room for them, still bounded.
      bodyLimit: 4 * 1024 * 1024,
      schema: {
        summary: "Performance points of a deployment, up to 10,000 a request",
        description:
          "Idempotent per deployment, name and timestamp: a retry changes nothing and a corrected value replaces the first. " +
          "Points carry their own timestamp (default: receipt time), so late labels land in their own window.",
        tags: ["monitoring"],
        params: IdParams,
        body: MetricsBody,
        response: {
          200: z.object({ deployment_id: z.number().int(), accepted: z.number().int() }),
          ...problemResponses(400, 401, 403, 404, 413),
        },
      },
    },
    async (request) =>
      lifecycle.recordMetrics(
        request.params.id,
        actorOf(request),
        request.body.points.map((p) => ({
          ...p,
          timestamp: p.timestamp === undefined ? undefined : instantToMs(p.timestamp),
        })),
      ),
  );

  r.get(
    "/v1/deployments/:id/timeline",
    {
      schema: {
        summary:
          "Deployment age, data age, metrics with target and baseline, drift and stage changes on one time axis",
        tags: ["monitoring"],
        params: IdParams,
        response: { 200: Timeline, ...problemResponses(400, 401, 404) },
      },
    },
    async (request) => lifecycle.timeline(request.params.id),
  );

  r.get(
    "/v1/deployments/:id/policy",
    {
      schema: {
        summary: "Which policy governs a deployment, why, and its review and expiry dates",
        tags: ["lifecycle"],
        params: IdParams,
        response: { 200: Explain, ...problemResponses(400, 401, 404) },
      },
    },
    async (request) => lifecycle.explain(request.params.id),
  );

  r.post(
    "/v1/policies/reload",
    {
      schema: {
        summary: "Read the policy file again; an invalid file keeps the policies in force (422)",
        tags: ["lifecycle"],
        body: z.strictObject({}),
        response: {
          200: z.object({ ok: z.literal(true), policies: z.number().int(), channels: z.number().int() }),
          ...problemResponses(401, 403, 422),
        },
      },
    },
    async (request) => {
      requireAdmin(request);
      const result = lifecycle.reloadPolicies();
      if (!result.ok) {
        throw new UnprocessableError(
          "the policy file is not valid; the policies in force are kept",
          result.errors.map((e) => ({ field: `line ${e.line}, column ${e.column}`, message: e.message })),
        );
      }
      return result;
    },
  );

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

  r.get(
    "/v1/fleet",
    {
      schema: {
        summary: "Live deployments by stage, team and environment, and open alerts by kind",
        tags: ["lifecycle"],
        response: { 200: Fleet, ...problemResponses(401) },
      },
    },
    async () => lifecycle.fleet(),
  );

  r.get(
    "/v1/check",
    {
      schema: {
        summary: "The CI gate: live deployments in scope at or past a stage",
        tags: ["lifecycle"],
        querystring: Scope.extend({ fail_on: z.enum(["due", "expired", "stale"]).default("expired") }),
        response: {
          200: z.object({
            ok: z.boolean(),
            fail_on: z.string(),
            checked: z.number().int(),
            offenders: z.array(Deployment.extend({ reasons: z.array(z.string()) })),
          }),
          ...problemResponses(400, 401),
        },
      },
    },
    async (request) => lifecycle.check(request.query),
  );
}
