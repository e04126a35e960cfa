import { userInfo } from "node:os";
import type { DrainResult } from "../alerts/dispatcher.js";
import type { Context } from "../context.js";
import type { FieldIssue } from "../core/errors.js";
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
import type { Actor } from "../registry/actor.js";
import type { AuditListQuery } from "../registry/audit-input.js";
import type { AuditView } from "../registry/audit-trail.js";
import type { RegisterDeploymentBody } from "../registry/deployment-input.js";
import type { DeploymentView, EventView, ModelView } from "../registry/deployment-view.js";
import { instantToMs } from "../registry/deployment-words.js";
import type { ListQuery, ListResult, Registration } from "../registry/registry.js";
import { egressPolicyOf } from "./egress-flag.js";
import { RemoteError } from "./remote-error.js";

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

export class RemoteClient implements TenureClient {
  constructor(
    private readonly baseUrl: string,
    private readonly token: string | undefined,
  ) {}

  async register(body: RegisterDeploymentBody, idempotencyKey?: string): Promise<Registration> {
    const headers: Record<string, string> = idempotencyKey ? { "idempotency-key": idempotencyKey } : {};
    const response = await this.request("POST", "/v1/deployments", body, headers);
    return {
      deployment: (await response.json()) as DeploymentView,
      replayed: response.headers.get("idempotent-replayed") === "true",
    };
  }
  async list(options: ListOptions): Promise<ListResult> {
    return this.json("GET", `/v1/deployments?${queryString(options)}`);
  }
  fleet(): Promise<FleetView> {
    return this.json("GET", "/v1/fleet");
  }
  get(id: number): Promise<DeploymentView> {
    return this.json("GET", `/v1/deployments/${id}`);
  }
  async events(id: number): Promise<EventView[]> {
    return (await this.json<{ items: EventView[] }>("GET", `/v1/deployments/${id}/events`)).items;
  }
  retire(id: number, reason?: string): Promise<DeploymentView> {
    return this.json("POST", `/v1/deployments/${id}/retire`, reason === undefined ? {} : { reason });
  }
  setGolden(model: string, environment: string, version: string): Promise<ModelView> {
    return this.json("PUT", `/v1/models/${encodeURIComponent(model)}/golden`, {
      environment,
      model_version: version,
    });
  }
  rollback(model: string, environment: string, toVersion?: string, reason?: string): Promise<RollbackResult> {
    return this.json("POST", `/v1/models/${encodeURIComponent(model)}/rollback`, {
      environment,
      ...(toVersion === undefined ? {} : { to_version: toVersion }),
      ...(reason === undefined ? {} : { reason }),
    });
  }
  async sweep(options: SweepOptions): Promise<SweepOutcome> {
    const sweep = await this.json<SweepView>("POST", "/v1/sweeps", {
      ...(options.at === undefined ? {} : { at: options.at }),
      ...(options.dry_run === undefined ? {} : { dry_run: options.dry_run }),
    });
    return { sweep, delivery: null };
  }
  sweeps(limit: number): Promise<Page<SweepView>> {
    return this.json("GET", `/v1/sweeps?limit=${limit}`);
  }
  review(id: number, note: string, extendSeconds?: number): Promise<DeploymentView> {
    return this.json("POST", `/v1/deployments/${id}/review`, {
      note,
      ...(extendSeconds === undefined ? {} : { extend_seconds: extendSeconds }),
    });
  }
  alerts(query: Record<string, string | number | undefined>): Promise<Page<AlertView>> {
    return this.json("GET", `/v1/alerts?${queryString(query)}`);
  }
  resolveAlert(id: number, note: string): Promise<AlertView> {
    return this.json("POST", `/v1/alerts/${id}/resolve`, { note });
  }
  deliveries(query: Record<string, string | number | undefined>): Promise<Page<DeliveryView>> {
    return this.json("GET", `/v1/deliveries?${queryString(query)}`);
  }
  retryDeliveries(ids?: number[]): Promise<{ retried: number }> {
    return this.json("POST", "/v1/deliveries/retry", ids === undefined ? {} : { ids });
  }
  check(query: Record<string, string | undefined>): Promise<CheckResult> {
    return this.json("GET", `/v1/check?${queryString(query)}`);
  }
  explain(id: number): Promise<ExplainView> {
    return this.json("GET", `/v1/deployments/${id}/policy`);
  }
  report(query: { owner_team?: string; since: string }): Promise<RotReport> {
    return this.json("GET", `/v1/report?${queryString(query)}`);
  }

  suggestions(query: { model?: string; environment?: string }): Promise<{ items: TtlSuggestionView[] }> {
    return this.json("GET", `/v1/policy/suggestions?${queryString(query)}`);
  }
  timeline(id: number): Promise<TimelineView> {
    return this.json("GET", `/v1/deployments/${id}/timeline`);
  }
  canary(model: string, environment: string, limit: number): Promise<CanaryView> {
    return this.json(
      "GET",
      `/v1/models/${encodeURIComponent(model)}/canary?${queryString({ environment, limit })}`,
    );
  }
  shadow(model: string, environment: string): Promise<ShadowView> {
    return this.json("GET", `/v1/models/${encodeURIComponent(model)}/shadow?${queryString({ environment })}`);
  }
  gate(model: string, request: GateRequest): Promise<GateDecision> {
    return this.json("POST", `/v1/models/${encodeURIComponent(model)}/gate`, request);
  }

  ghosts(query: Record<string, string | number | undefined>): Promise<Page<GhostView>> {
    return this.json("GET", `/v1/ghosts?${queryString(query)}`);
  }
  reportTraffic(report: TrafficReport): Promise<TrafficReceipt> {
    return this.json("POST", "/v1/traffic", report);
  }
  audit(query: AuditListQuery): Promise<Page<AuditView>> {
    return this.json("GET", `/v1/audit?${queryString(query)}`);
  }
  async close(): Promise<void> {}

  private async json<T>(method: string, path: string, body?: unknown): Promise<T> {
    return (await (await this.request(method, path, body)).json()) as T;
  }

  private async request(
    method: string,
    path: string,
    body?: unknown,
    extraHeaders: Record<string, string> = {},
  ): Promise<Response> {
    const headers: Record<string, string> = { accept: "application/json", ...extraHeaders };
    if (this.token) headers.authorization = `Bearer ${this.token}`;
    if (body !== undefined) headers["content-type"] = "application/json";
    let response: Response;
    try {
      response = await fetch(new URL(path, this.baseUrl), {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(30_000),
      });
    } catch (error) {
      const cause =
        error instanceof Error && error.cause instanceof Error ? error.cause.message : String(error);
      throw new RemoteError(0, `cannot reach ${this.baseUrl}: ${cause}`);
    }
    if (response.ok) return response;
    const text = await response.text();
    let detail = `${response.status} ${response.statusText}`;
    let issues: FieldIssue[] = [];
    try {
      const problem = JSON.parse(text) as { detail?: string; errors?: FieldIssue[] };
      detail = problem.detail ?? detail;
      issues = problem.errors ?? [];
    } catch {
      // Not problem+json (a proxy's error page): the status line says enough.
    }
    throw new RemoteError(response.status, detail, issues);
  }
}

function queryString(options: object): URLSearchParams {
  const query = new URLSearchParams();
  for (const [key, value] of Object.entries(options)) if (value !== undefined) query.set(key, String(value));
  return query;
}

/**
 * TENURE_URL points the client at a server (with TENURE_TOKEN); without it the CLI opens the
 * database itself, as the server would.
 */
export async function clientFrom(
  env: NodeJS.ProcessEnv,
  databaseFlag?: string,
  policiesFlag?: string,
): Promise<TenureClient> {
  // Loaded here, not at start-up: commands that never open a database start faster.
  const { configFrom } = await import("../config.js");
  const config = configFrom(env);
  if (config.url) return new RemoteClient(config.url, config.token);
  const { openContext } = await import("../context.js");
  return new LocalClient(
    await openContext(databaseFlag ?? config.databaseUrl, {
      policies: policiesFlag ?? config.policies,
      env,
      publicUrl: config.publicUrl,
      preparedStatements: config.preparedStatements,
      // A sweep run here delivers its alerts from this process, under the same rule as a server's.
      egress: await egressPolicyOf({}, config),
      // Only init, serve, demo and token create make a database: a typo must not pass a CI gate.
      mustExist: true,
    }),
  );
}
