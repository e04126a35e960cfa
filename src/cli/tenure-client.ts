import type { DrainResult } from "../alerts/dispatcher.js";
import type { GateDecision } from "../core/gate.js";
import type { RotReport } from "../core/rot-report.js";
import type { AlertState, DeliveryState } from "../core/words.js";
import type { CanaryView } from "../gateway/canaries.js";
import type { TrafficReport } from "../gateway/traffic-report.js";
import type { GateRequest } from "../lifecycle/gate-input.js";
import type { ExplainView, FleetView, TimelineView } from "../lifecycle/lifecycle.js";
import type { AlertView, DeliveryView, SweepView } from "../lifecycle/lifecycle-view.js";
import type { TtlSuggestionView } from "../lifecycle/ttl-suggestions.js";
import type { ShadowView } from "../monitoring/shadow-monitor.js";
import type { GhostView, TrafficReceipt } from "../monitoring/traffic-monitor.js";
import type { AuditListQuery } from "../registry/audit-input.js";
import type { AuditView } from "../registry/audit-trail.js";
import type { RegisterDeploymentBody } from "../registry/deployment-input.js";
import type { DeploymentView, EventView, ModelView } from "../registry/deployment-view.js";
import type { ListQuery, ListResult, Registration } from "../registry/registry.js";

/**
 * What the client commands ask of Tenure, and in which shapes: the same whether they open the
 * database (local-client.ts) or talk to a server (remote-client.ts); client.ts picks one.
 */

export interface Page<T> {
  items: T[];
  next_cursor: string | null;
}

export interface CheckResult {
  ok: boolean;
  fail_on: string;
  checked: number;
  offenders: (DeploymentView & { reasons: string[] })[];
}

export interface SweepOptions {
  at?: string;
  dry_run?: boolean;
  /** Local mode: how long to deliver what the sweep queued (a preview queues and sends nothing). */
  deliverForMs?: number;
  /** Local mode: told how many live deployments the sweep has read so far (a server's sweep is one request). */
  onProgress?: (read: number) => void;
}

export interface SweepOutcome {
  sweep: SweepView;
  /** What this process delivered before it returned (local mode only; a server delivers its own). */
  delivery: DrainResult | null;
}

/** A list query as the CLI builds it: the registry's, with its defaults left to the registry. */
export type ListOptions = Omit<ListQuery, "sort" | "limit"> & Partial<Pick<ListQuery, "sort" | "limit">>;

export interface RollbackResult {
  deployment: DeploymentView;
  rolled_back: DeploymentView | null;
}

/** What the client commands need, whether they open the database or talk to a server. */
export interface TenureClient {
  register(body: RegisterDeploymentBody, idempotencyKey?: string): Promise<Registration>;
  list(options: ListOptions): Promise<ListResult>;
  /** Live deployments counted by stage, team and environment (GET /v1/fleet). */
  fleet(): Promise<FleetView>;
  get(id: number): Promise<DeploymentView>;
  events(id: number): Promise<EventView[]>;
  retire(id: number, reason?: string): Promise<DeploymentView>;
  setGolden(model: string, environment: string, version: string): Promise<ModelView>;
  rollback(model: string, environment: string, toVersion?: string, reason?: string): Promise<RollbackResult>;
  sweep(options: SweepOptions): Promise<SweepOutcome>;
  sweeps(limit: number): Promise<Page<SweepView>>;
  review(id: number, note: string, extendSeconds?: number): Promise<DeploymentView>;
  alerts(query: {
    state?: AlertState;
    owner_team?: string;
    deployment_id?: number;
    limit: number;
    cursor?: string;
  }): Promise<Page<AlertView>>;
  resolveAlert(id: number, note: string): Promise<AlertView>;
  deliveries(query: { state?: DeliveryState; limit: number; cursor?: string }): Promise<Page<DeliveryView>>;
  retryDeliveries(ids?: number[]): Promise<{ retried: number }>;
  check(query: {
    owner_team?: string;
    environment?: string;
    fail_on: "due" | "expired" | "stale";
  }): Promise<CheckResult>;
  explain(id: number): Promise<ExplainView>;
  /** The rot report of a team or of every team, over the last `since` (a duration, such as 7d). */
  report(query: { owner_team?: string; since: string }): Promise<RotReport>;
  /** The TTL each model's decay suggests (GET /v1/policy/suggestions). */
  suggestions(query: { model?: string; environment?: string }): Promise<{ items: TtlSuggestionView[] }>;
  timeline(id: number): Promise<TimelineView>;
  /** A model's newest canary in an environment, with its newest `limit` analyses. */
  canary(model: string, environment: string, limit: number): Promise<CanaryView>;
  /** Each live shadow of a model against its primary (GET /v1/models/{name}/shadow). */
  shadow(model: string, environment: string): Promise<ShadowView>;
  /** May a candidate version replace the live primary? (POST /v1/models/{name}/gate; changes nothing.) */
  gate(model: string, request: GateRequest): Promise<GateDecision>;
  /** Requests for models the registry does not know (GET /v1/ghosts). */
  ghosts(query: { environment?: string; limit: number; cursor?: string }): Promise<Page<GhostView>>;
  /** A traffic report as a gateway sends it (POST /v1/traffic): how a sync records its ghosts. */
  reportTraffic(report: TrafficReport): Promise<TrafficReceipt>;
  /** The audit log, newest first (GET /v1/audit; an unbound admin token on a server). */
  audit(query: AuditListQuery): Promise<Page<AuditView>>;
  close(): Promise<void>;
}
