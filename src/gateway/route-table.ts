import type { IncomingHttpHeaders } from "node:http";
import { isHeaderValue, metadataHeaders } from "../core/metadata-headers.js";
import type { CanaryRoute, ModelRoutes, RouteTarget } from "./exchange.js";
import type { RouteSnapshot, SnapshotTarget } from "./route-snapshot.js";

/** A deployment the gateway forwards to, with what each request to it reuses, worked out once. */
export interface Upstream {
  target: RouteTarget;
  /** `http://host:port` of its endpoint, the key of undici's connection pool. */
  origin: string;
  /** The endpoint's path without a trailing slash (`/v1` for `http://m:8080/v1/`), or "". */
  base_path: string;
  /** The metadata headers every answer it gives carries, as a flat name/value list. */
  stamp: readonly string[];
}

/** One model's routes as the proxy uses them. */
export interface ModelEntry {
  routes: ModelRoutes;
  primary: Upstream | null;
  /** The canary when it takes a share (weight > 0); null otherwise. */
  canary: Upstream | null;
  canary_weight: number;
  sticky_header: string | null;
}

/**
 * The routes of one environment, built once per change and then only read: a request finds its
 * model with one Map lookup and never touches the registry.
 */
export class RouteTable {
  readonly version: string;
  readonly environment: string;
  /** Models with a live primary to route to. */
  readonly routable: number;
  private readonly models = new Map<string, ModelEntry>();

  constructor(snapshot: RouteSnapshot) {
    this.version = snapshot.route_version;
    this.environment = snapshot.environment;
    const byModel = new Map<string, SnapshotTarget[]>();
    for (const target of snapshot.targets) {
      if (upstreamOf(target) === null) continue;
      const list = byModel.get(target.model);
      if (list) list.push(target);
      else byModel.set(target.model, [target]);
    }
    for (const model of snapshot.models) this.models.set(model, entryOf(model, byModel.get(model) ?? []));
    // A target whose model is not in the list (a snapshot read between two statements) is known.
    for (const [model, targets] of byModel) {
      if (!this.models.has(model)) this.models.set(model, entryOf(model, targets));
    }
    let routable = 0;
    for (const entry of this.models.values()) if (entry.primary) routable++;
    this.routable = routable;
  }

  /** The model's routes; undefined when the registry does not know the model (a ghost). */
  lookup(model: string): ModelEntry | undefined {
    return this.models.get(model);
  }

  /** An empty table, for a gateway that has not read its routes yet. */
  static empty(environment: string): RouteTable {
    return new RouteTable({ environment, route_version: "", models: [], targets: [] });
  }
}

/**
 * Who answers this request: the canary for its share of requests, the primary otherwise. With a
 * sticky header present, the share is chosen by a hash of its value, so one client stays on one
 * side for as long as the weight holds; without it, at random.
 */
export function pick(entry: ModelEntry, headers: IncomingHttpHeaders): Upstream | null {
  if (entry.canary === null) return entry.primary;
  let draw: number;
  const sticky = entry.sticky_header === null ? undefined : headers[entry.sticky_header];
  if (typeof sticky === "string" && sticky !== "") draw = fnv1a(sticky) % 100;
  else draw = Math.random() * 100;
  return draw < entry.canary_weight ? entry.canary : entry.primary;
}

/** FNV-1a, 32 bits: stable across processes and replicas, so replicas split a client alike. */
export function fnv1a(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}

function entryOf(model: string, targets: SnapshotTarget[]): ModelEntry {
  const primaryTarget = targets.find((t) => t.role === "primary");
  // The newest canary counts; a model normally has at most one.
  const canaryTarget = targets.filter((t) => t.role === "canary").at(-1);
  const shadows = targets.filter((t) => t.role === "shadow").map(plainTarget);
  const weight = clampWeight(canaryTarget?.traffic_weight ?? 0);
  const canary: CanaryRoute | null = canaryTarget
    ? { target: plainTarget(canaryTarget), weight, sticky_header: lowerOrNull(canaryTarget.sticky_header) }
    : null;
  const primary = primaryTarget ? upstreamOf(primaryTarget) : null;
  return {
    routes: { model, primary: primary?.target ?? null, canary, shadows },
    primary,
    // Without a primary there is nothing to split with: the canary alone does not take over.
    canary: canaryTarget && weight > 0 && primary ? upstreamOf(canaryTarget) : null,
    canary_weight: weight,
    sticky_header: canary?.sticky_header ?? null,
  };
}

function clampWeight(weight: number): number {
  return Number.isFinite(weight) ? Math.min(100, Math.max(0, weight)) : 0;
}

function lowerOrNull(header: string | null): string | null {
  return header === null || header === "" ? null : header.toLowerCase();
}

function plainTarget(t: SnapshotTarget): RouteTarget {
  return {
    deployment_id: t.deployment_id,
    model: t.model,
    model_version: t.model_version,
    environment: t.environment,
    owner_team: t.owner_team,
    role: t.role,
    deployment_date: t.deployment_date,
    training_data_cutoff: t.training_data_cutoff,
    endpoint: t.endpoint,
  };
}

/** The upstream of a target, or null when its endpoint is not an http(s) URL. */
function upstreamOf(t: SnapshotTarget): Upstream | null {
  let url: URL;
  try {
    url = new URL(t.endpoint);
  } catch {
    return null;
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") return null;
  const target = plainTarget(t);
  // A version or team that cannot be a header value cannot be stamped: not routed to.
  if (!isHeaderValue(target.model_version) || !isHeaderValue(target.owner_team)) return null;
  return {
    target,
    origin: url.origin,
    base_path: url.pathname.replace(/\/+$/, ""),
    stamp: metadataHeaders({
      model: target.model,
      model_version: target.model_version,
      deployment_id: target.deployment_id,
      deployment_date: target.deployment_date,
      training_data_cutoff: target.training_data_cutoff,
      owner_team: target.owner_team,
    }),
  };
}
