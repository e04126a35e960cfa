import { z } from "zod";
import { ROLES } from "../core/words.js";
import { type RouteSnapshot, type SnapshotTarget, withVersion } from "./route-snapshot.js";

/**
 * The routes of one environment on the wire (`GET /v1/routes`): what a gateway in remote mode
 * reads from a registry server. Times are ISO 8601 as everywhere in the API.
 */
const timestamp = z.iso.datetime({ offset: true });

export const WireTarget = z.object({
  deployment_id: z.number().int().min(1),
  model: z.string().min(1).max(128),
  model_version: z.string().min(1).max(128),
  environment: z.string().min(1).max(128),
  owner_team: z.string().min(1).max(128),
  role: z.enum(ROLES),
  deployment_date: timestamp,
  training_data_cutoff: timestamp,
  endpoint: z.url({ protocol: /^https?$/ }),
  traffic_weight: z.number().min(0).max(100).nullable(),
  sticky_header: z.string().min(1).max(256).nullable(),
});
export type WireTarget = z.infer<typeof WireTarget>;

export const WireRoutes = z.object({
  environment: z.string(),
  route_version: z
    .string()
    .describe("names the content: unchanged routes keep it, so `since` can wait for a change"),
  models: z.array(z.string()).describe("every registered model: a request for another is a ghost"),
  targets: z.array(WireTarget).describe("the live deployments with an endpoint"),
});
export type WireRoutes = z.infer<typeof WireRoutes>;

export function toWire(snapshot: RouteSnapshot): WireRoutes {
  return {
    environment: snapshot.environment,
    route_version: snapshot.route_version,
    models: snapshot.models,
    targets: snapshot.targets.map((t) => ({
      ...t,
      deployment_date: new Date(t.deployment_date).toISOString(),
      training_data_cutoff: new Date(t.training_data_cutoff).toISOString(),
    })),
  };
}

/** The envelope a gateway checks before it looks at any target. */
const Envelope = z.object({
  environment: z.string().min(1),
  route_version: z.string().min(1),
  models: z.array(z.string().min(1).max(128)),
  targets: z.array(z.unknown()),
});

/**
 * A snapshot read from a server, checked target by target: a target that lacks mandatory
 * metadata (or has a bad endpoint) is skipped, never routed to, and the rest still serve.
 * Throws when the envelope itself is not a routes answer.
 */
export function fromWire(body: unknown): { snapshot: RouteSnapshot; skipped: number } {
  const envelope = Envelope.parse(body);
  const targets: SnapshotTarget[] = [];
  let skipped = 0;
  for (const raw of envelope.targets) {
    const parsed = WireTarget.safeParse(raw);
    if (!parsed.success) {
      skipped++;
      continue;
    }
    targets.push({
      ...parsed.data,
      deployment_date: Date.parse(parsed.data.deployment_date),
      training_data_cutoff: Date.parse(parsed.data.training_data_cutoff),
    });
  }
  const snapshot = withVersion(envelope.environment, envelope.models, targets);
  // The server's version names what it sent; keep it so `since` matches on the next poll.
  return { snapshot: { ...snapshot, route_version: envelope.route_version }, skipped };
}
