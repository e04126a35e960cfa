import { userInfo } from "node:os";
import type { Context } from "../context.js";
import type { AlertState, DeliveryState } from "../core/words.js";
import type { TrafficReport } from "../gateway/traffic-report.js";
import type { GateRequest } from "../lifecycle/gate-input.js";
import type { Actor } from "../registry/actor.js";
import type { AuditListQuery } from "../registry/audit-input.js";
import type { RegisterDeploymentBody } from "../registry/deployment-input.js";
import { instantToMs } from "../registry/deployment-words.js";
import type { ListQuery } from "../registry/registry.js";
import type { ListOptions, SweepOptions, SweepOutcome, TenureClient } from "./tenure-client.js";

/** The local user, as events name them when the CLI writes to the database directly. */
export function localActor(): Actor {
  let user = "unknown";
  try {
    user = userInfo().username;
  } catch {
    // A container user without a passwd entry has no name; events still say it was the CLI.
  }
  // Its changes are audited as `local`, in their own transactions, as the API's are as `http`.
  return { name: `cli:${user}`, key_scope: `cli:${user}`, team: null, via: { origin: "local" } };
}

/** The client commands against the database, opened in this process, as the local user. */
export class LocalClient implements TenureClient {
  private readonly actor = localActor();
  constructor(private readonly context: Context) {}

  register(body: RegisterDeploymentBody, idempotencyKey?: string) {
    return this.context.registry.register(body, this.actor, idempotencyKey);
  }
  list(options: ListOptions) {
    const query: ListQuery = { ...options, sort: options.sort ?? "-age", limit: options.limit ?? 100 };
    return this.context.registry.list(query);
  }
  fleet() {
    return this.context.lifecycle.fleet();
  }
  get(id: number) {
    return this.context.registry.get(id);
  }
  events(id: number) {
    return this.context.registry.events(id);
  }
  retire(id: number, reason?: string) {
    return this.context.registry.retire(id, this.actor, reason);
  }
  setGolden(model: string, environment: string, version: string) {
    return this.context.registry.setGolden(model, environment, version, this.actor);
  }
  rollback(model: string, environment: string, toVersion?: string, reason?: string) {
    return this.context.registry.rollback(model, environment, this.actor, { to_version: toVersion, reason });
  }
  async sweep(options: SweepOptions): Promise<SweepOutcome> {
    const at = options.at === undefined ? undefined : instantToMs(options.at);
    const sweep = await this.context.lifecycle.sweep({
      at,
      dry_run: options.dry_run,
      trigger: "manual",
      actor: this.actor.name,
      via: this.actor.via,
      onProgress: options.onProgress,
    });
    // Without a server, this process is the only one that can deliver what the sweep queued; a
    // preview sends nothing, not even what other commands queued.
    const delivery =
      options.deliverForMs === undefined || sweep.dry_run
        ? null
        : await this.context.dispatcher.drain(options.deliverForMs);
    return { sweep, delivery };
  }
  sweeps(limit: number) {
    return this.context.lifecycle.sweeps(limit);
  }
  review(id: number, note: string, extendSeconds?: number) {
    return this.context.lifecycle.review(id, this.actor, { note, extend_seconds: extendSeconds });
  }
  alerts(query: {
    state?: AlertState;
    owner_team?: string;
    deployment_id?: number;
    limit: number;
    cursor?: string;
  }) {
    return this.context.lifecycle.alerts({
      ...query,
      cursor: query.cursor === undefined ? undefined : Number(query.cursor),
    });
  }
  resolveAlert(id: number, note: string) {
    return this.context.lifecycle.resolveAlert(id, this.actor, note);
  }
  deliveries(query: { state?: DeliveryState; limit: number; cursor?: string }) {
    return this.context.lifecycle.deliveries({
      ...query,
      cursor: query.cursor === undefined ? undefined : Number(query.cursor),
    });
  }
  retryDeliveries(ids?: number[]) {
    return this.context.lifecycle.retryDeliveries(this.actor, ids);
  }
  check(query: { owner_team?: string; environment?: string; fail_on: "due" | "expired" | "stale" }) {
    return this.context.lifecycle.check(query);
  }
  explain(id: number) {
    return this.context.lifecycle.explain(id);
  }
  async report(query: { owner_team?: string; since: string }) {
    const { ReportQuery } = await import("../lifecycle/lifecycle-input.js");
    return this.context.lifecycle.report(ReportQuery.parse(query));
  }

  suggestions(query: { model?: string; environment?: string }) {
    return this.context.lifecycle.suggestions(query);
  }
  timeline(id: number) {
    return this.context.lifecycle.timeline(id);
  }
  canary(model: string, environment: string, limit: number) {
    return this.context.canaries.get(model, environment, limit);
  }
  shadow(model: string, environment: string) {
    return this.context.shadow.compare(model, environment);
  }
  gate(model: string, request: GateRequest) {
    return this.context.gate.judge(model, request);
  }

  ghosts(query: { environment?: string; limit: number; cursor?: string }) {
    return this.context.traffic.ghosts(query);
  }
  reportTraffic(report: TrafficReport) {
    // Telemetry, as POST /v1/traffic: not audited (see UNAUDITED_WRITES).
    return this.context.traffic.record(report, this.actor);
  }
  audit(query: AuditListQuery) {
    const { since, cursor, ...filters } = query;
    return this.context.audit.list({
      ...filters,
      ...(since === undefined ? {} : { since: instantToMs(since) }),
      ...(cursor === undefined ? {} : { before_id: cursor }),
    });
  }
  close() {
    return this.context.close();
  }
}
