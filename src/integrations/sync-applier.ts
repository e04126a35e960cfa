import { isoTime } from "../core/iso-time.js";
import {
  type LivePrimary,
  type PlannedRegistration,
  type PlanOptions,
  planSync,
  type ServingObservation,
  SYNC_TAGS,
  type SyncFinding,
  type SyncPlan,
  type SyncSource,
} from "../core/sync-plan.js";
import type { TrafficReport } from "../gateway/traffic-report.js";
import type { TrafficReceipt } from "../monitoring/traffic-monitor.js";
import { RegisterDeploymentBody } from "../registry/deployment-input.js";
import type { DeploymentView } from "../registry/deployment-view.js";
import type { Registration } from "../registry/register-round.js";
import type { ListQuery, ListResult } from "../registry/registry.js";

/**
 * What a sync needs of the registry: the CLI's client (the database, or a server through its
 * API) and the server's own registry both answer it.
 */
export interface SyncTarget {
  list(
    query: Omit<ListQuery, "sort" | "limit"> & Partial<Pick<ListQuery, "sort" | "limit">>,
  ): Promise<ListResult>;
  register(body: RegisterDeploymentBody): Promise<Registration>;
  /** Where a sync's ghosts join the gateways' (GET /v1/ghosts); without it they are only reported. */
  reportTraffic?(report: TrafficReport): Promise<TrafficReceipt>;
}

/** What one sync did (or, with `dry_run`, would do): the answer of `tenure sync … --json`. */
export interface SyncReport {
  source: SyncSource;
  dry_run: boolean;
  started_at: string;
  finished_at: string;
  /** Observations read from the system. */
  observed: number;
  registered: SyncRegistration[];
  unchanged: number;
  findings: SyncFinding[];
  /** Seen, not serving yet: a rollout in progress or stuck. Registered once it serves. */
  pending: SyncPending[];
  /** What the sync could not read or chose to skip, in a sentence each (an API the system lacks). */
  notes: string[];
  /** Registrations the registry refused (bad metadata, another team's model), one per observation. */
  errors: { ref: string; model: string; model_version: string; message: string }[];
}

export interface SyncPending {
  ref: string;
  model: string;
  model_version: string | null;
  environment: string;
  /** Where it stands, in the system's words: `2 of 3 replicas updated`, `rollout failed: …`. */
  detail: string;
}

export interface SyncRegistration {
  ref: string;
  model: string;
  model_version: string;
  environment: string;
  deployment_date: string;
  basis: PlannedRegistration["basis"];
  supersedes: { id: number; model_version: string } | null;
  /** The new deployment's id; null in a dry run. */
  deployment_id: number | null;
}

export interface ApplyOptions extends Omit<PlanOptions, "now"> {
  dryRun: boolean;
  /** Only these environments' live primaries are read; every environment observed when absent. */
  environments?: string[];
  /**
   * Findings the sync made itself (ghosts, version mismatches), reported with the plan's; a
   * function is given the live primaries the plan was made against, for findings that compare.
   */
  findings?: SyncFinding[] | ((live: readonly LivePrimary[]) => SyncFinding[]);
  pending?: SyncPending[];
  notes?: string[];
  /** Told after each registration, for a progress bar. */
  onRegistered?: (done: number, total: number) => void;
  now: () => number;
}

/**
 * Plans a sync against the registry's live primaries and carries it out through `client` (the
 * database, or a server through its API: the same registrations either way). A registration the
 * registry refuses is reported and the rest go on: one bad version never stops a fleet's sync.
 */
export async function applySync(
  client: SyncTarget,
  source: SyncSource,
  observations: ServingObservation[],
  options: ApplyOptions,
): Promise<SyncReport> {
  const started = options.now();
  const environments = options.environments ?? [...new Set(observations.map((o) => o.environment))];
  const live = await livePrimaries(client, environments);
  const plan: SyncPlan = planSync(observations, live, { now: started, zombieScope: options.zombieScope });
  const report: SyncReport = {
    source,
    dry_run: options.dryRun,
    started_at: isoTime(started),
    finished_at: isoTime(started),
    observed: observations.length,
    registered: [],
    unchanged: plan.unchanged.length,
    findings: [...ownFindings(options.findings, live), ...plan.findings],
    pending: options.pending ?? [],
    notes: options.notes ?? [],
    errors: [],
  };
  for (const planned of plan.register) {
    const o = planned.observation;
    const refuse = (message: string) =>
      report.errors.push({ ref: o.ref, model: o.model, model_version: o.model_version, message });
    // Validated here as the API validates it: the local registry trusts what it is given.
    const body = RegisterDeploymentBody.safeParse(bodyOf(planned));
    if (!body.success) {
      refuse(body.error.issues.map((i) => `${i.path.join(".")} ${i.message}`).join("; "));
    } else if (options.dryRun) {
      report.registered.push(registrationOf(planned, null));
    } else {
      try {
        const { deployment } = await client.register(body.data);
        report.registered.push(registrationOf(planned, deployment.id));
      } catch (error) {
        refuse(error instanceof Error ? error.message : String(error));
      }
    }
    options.onRegistered?.(report.registered.length + report.errors.length, plan.register.length);
  }
  if (!options.dryRun) await recordGhosts(client, report, started);
  report.finished_at = isoTime(options.now());
  return report;
}

function ownFindings(findings: ApplyOptions["findings"], live: readonly LivePrimary[]): SyncFinding[] {
  return typeof findings === "function" ? findings(live) : (findings ?? []);
}

/**
 * A sync's ghosts join the gateways' at GET /v1/ghosts (DESIGN: "from gateways and syncs"), as a
 * report of no requests from `sync:<source>`: seen serving, not asked for. Ghosts that cannot be
 * recorded are said in a note: the findings and the registrations stand.
 */
async function recordGhosts(client: SyncTarget, report: SyncReport, at: number): Promise<void> {
  const ghosts = report.findings.filter((f) => f.kind === "ghost");
  if (ghosts.length === 0 || !client.reportTraffic) return;
  try {
    await client.reportTraffic({
      gateway: `sync:${report.source}`,
      deployments: [],
      ghosts: ghosts.map((g) => ({
        model: g.model,
        environment: g.environment,
        requests: 0,
        first_seen: at,
        last_seen: at,
      })),
      pairs: [],
      predictions: [],
    });
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    report.notes.push(`the ghosts could not be recorded for GET /v1/ghosts: ${reason}`);
  }
}

/** Every live primary of the environments, page by page. */
export async function livePrimaries(client: SyncTarget, environments: string[]): Promise<LivePrimary[]> {
  const live: LivePrimary[] = [];
  for (const environment of environments) {
    let cursor: string | undefined;
    do {
      const page = await client.list({ environment, role: "primary", status: "active", limit: 500, cursor });
      live.push(...page.items.map(livePrimaryOf));
      cursor = page.next_cursor ?? undefined;
    } while (cursor);
  }
  return live;
}

function livePrimaryOf(d: DeploymentView): LivePrimary {
  return {
    id: d.id,
    model: d.model,
    environment: d.environment,
    model_version: d.model_version,
    deployment_date: Date.parse(d.deployment_date),
    tags: d.tags,
  };
}

function registrationOf(planned: PlannedRegistration, id: number | null): SyncRegistration {
  const o = planned.observation;
  return {
    ref: o.ref,
    model: o.model,
    model_version: o.model_version,
    environment: o.environment,
    deployment_date: isoTime(planned.deployment_date),
    basis: planned.basis,
    supersedes: planned.supersedes,
    deployment_id: id,
  };
}

function bodyOf(planned: PlannedRegistration) {
  const o = planned.observation;
  return {
    model: o.model,
    model_version: o.model_version,
    environment: o.environment,
    owner_team: o.owner_team ?? "",
    training_data_cutoff: o.training_data_cutoff ?? "",
    deployment_date: isoTime(planned.deployment_date),
    role: "primary" as const,
    ...(o.endpoint ? { endpoint: o.endpoint } : {}),
    tags: {
      [SYNC_TAGS.source]: o.source,
      // Tag values are at most 256 characters; a longer reference is still recognisable cut.
      [SYNC_TAGS.ref]: o.ref.slice(0, 256),
      [SYNC_TAGS.basis]: planned.basis,
    },
  };
}
