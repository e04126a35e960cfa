import type { FieldIssue } from "../core/errors.js";
import type { GateDecision } from "../core/gate.js";
import type { RotReport } from "../core/rot-report.js";
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
import type { ListResult, Registration } from "../registry/registry.js";
import { RemoteError } from "./remote-error.js";
import type {
  CheckResult,
  ListOptions,
  Page,
  RollbackResult,
  SweepOptions,
  SweepOutcome,
  TenureClient,
} from "./tenure-client.js";

/** The client commands against a Tenure server, over its HTTP API with a bearer token. */
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
