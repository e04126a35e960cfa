import { useMemo, useState } from "preact/hooks";
import { RollbackButton, SetGoldenButton } from "../actions";
import { ApiError, api } from "../api";
import { ErrorBox, Link, Loading, useData } from "../components";
import { useLocation } from "../router";
import "./model.css";
import type { PlotFrame } from "./model/age-performance";
import { AgePerformancePanel } from "./model/age-performance-panel";
import { CanaryPanel, ShadowPanel } from "./model/comparisons";
import { DeploymentTimeline } from "./model/deployment-timeline";
import { DriftPanel } from "./model/drift-panel";
import { EventHistory } from "./model/event-history";
import { LiveTable } from "./model/live-table";
import type {
  Canary,
  Deployment,
  Model,
  ModelDrift,
  ModelEvent,
  ModelPerformance,
  ShadowComparison,
} from "./model/model-types";

const DRIFT_DAYS = 30;

/** The model's environments, production first, then by name. */
function environmentsOf(model: Model, deployments: Deployment[]): string[] {
  const names = new Set([
    ...model.environments.map((e) => e.environment),
    ...deployments.map((d) => d.environment),
  ]);
  return [...names].sort((a, b) => (a === "production" ? -1 : b === "production" ? 1 : a.localeCompare(b)));
}

function hrefFor(name: string, environment: string, query: URLSearchParams): string {
  const next = new URLSearchParams(query);
  next.set("environment", environment);
  next.delete("metric");
  return `/models/${encodeURIComponent(name)}?${next.toString()}`;
}

/** A model: its timeline, Age vs Performance, drift, shadow and canary, events (issue 17, point 2). */
export function ModelPage({ name }: { name: string }) {
  const { query } = useLocation();
  const path = `/v1/models/${encodeURIComponent(name)}`;
  const model = useData(() => api.get<Model>(path), [name]);
  const deployments = useData(
    // Newest first: past a page, the oldest deployments are the ones left off the timeline.
    () => api.get<{ items: Deployment[] }>("/v1/deployments", { model: name, sort: "age", limit: 500 }),
    [name],
  );
  const events = useData(() => api.get<{ items: ModelEvent[] }>(`${path}/events`), [name]);

  if (model.error) {
    const missing = model.error instanceof ApiError && model.error.status === 404;
    return (
      <section class="model-page">
        <Crumbs name={name} />
        <h1>{name}</h1>
        <ErrorBox error={model.error} />
        {missing ? (
          <p>
            Tenure knows no model by this name. <Link href="/">Back to the fleet</Link>
          </p>
        ) : null}
      </section>
    );
  }
  if (!model.data || !deployments.data) {
    return (
      <section class="model-page">
        <Crumbs name={name} />
        <h1>{name}</h1>
        <ErrorBox error={deployments.error} />
        {deployments.error ? null : <Loading what="the model" />}
      </section>
    );
  }
  const environments = environmentsOf(model.data, deployments.data.items);
  const asked = query.get("environment");
  const environment =
    asked ?? (environments.includes("production") ? "production" : (environments[0] ?? "production"));
  return (
    <section class="model-page">
      <Crumbs name={name} />
      <div class="model-title">
        <h1>{name}</h1>
        <span class="muted">
          owned by <strong>{model.data.owner_team}</strong> · {model.data.versions.length} version
          {model.data.versions.length === 1 ? "" : "s"}
        </span>
      </div>
      <nav class="env-tabs" aria-label="Environments">
        {environments.map((e) => (
          <Link key={e} href={hrefFor(name, e, query)} class={e === environment ? "active" : undefined}>
            {e}
          </Link>
        ))}
        {environments.includes(environment) ? null : <span class="env-missing">{environment}</span>}
      </nav>
      <EnvironmentView
        key={environment}
        name={name}
        environment={environment}
        model={model.data}
        deployments={deployments.data.items.filter((d) => d.environment === environment)}
        events={events}
        metric={query.get("metric")}
        onChanged={() => {
          model.reload();
          deployments.reload();
          events.reload();
        }}
      />
    </section>
  );
}

function Crumbs({ name }: { name: string }) {
  return (
    <nav class="crumbs" aria-label="Breadcrumb">
      <Link href="/">Fleet</Link> <span aria-hidden="true">/</span> <span>{name}</span>
    </nav>
  );
}

function EnvironmentView({
  name,
  environment,
  model,
  deployments,
  events,
  metric,
  onChanged,
}: {
  name: string;
  environment: string;
  model: Model;
  deployments: Deployment[];
  events: ReturnType<typeof useData<{ items: ModelEvent[] }>>;
  metric: string | null;
  /** After an action: the model, its deployments and events are read again. */
  onChanged: () => void;
}) {
  const path = `/v1/models/${encodeURIComponent(name)}`;
  const now = useMemo(() => Date.now(), [name, environment]);
  const perf = useData(
    () => api.get<ModelPerformance>(`${path}/performance`, { environment, metric }),
    [name, environment, metric],
  );
  const drift = useData(
    () => api.get<ModelDrift>(`${path}/drift`, { environment, days: DRIFT_DAYS }),
    [name, environment],
  );
  const shadow = useData(
    () => api.get<ShadowComparison>(`${path}/shadow`, { environment }),
    [name, environment],
  );
  const hasCanary = deployments.some((d) => d.role === "canary");
  const canary = useData(
    () =>
      // Without a canary deployment there is nothing to ask for (and no 404 in the console).
      (hasCanary ? api.get<Canary>(`${path}/canary`, { environment }) : Promise.resolve(null)).catch(
        (error: unknown) => {
          // No canary in this environment is an answer, not a failure.
          if (error instanceof ApiError && error.status === 404) return null;
          throw error;
        },
      ),
    [name, environment],
  );
  const [frame, setFrame] = useState<PlotFrame | null>(null);
  const env = model.environments.find((e) => e.environment === environment);
  const golden = env?.golden_version ?? null;
  const primary = env?.live.find((d) => d.role === "primary");
  const changed = () => {
    onChanged();
    perf.reload();
    drift.reload();
  };
  const versions = new Map(deployments.map((d) => [d.id, d.model_version]));
  const envEvents = (events.data?.items ?? []).filter((e) => e.environment === environment);
  return (
    <>
      <div class="card env-head">
        <div class="env-head-row">
          <h2>
            {environment}
            <span class="muted env-golden">
              golden version: {golden ? <strong>★ {golden}</strong> : "none set"}
            </span>
          </h2>
          <div class="model-actions" data-slot="environment-actions" data-environment={environment}>
            {primary && primary.model_version !== golden ? (
              <SetGoldenButton
                model={name}
                environment={environment}
                model_version={primary.model_version}
                onDone={changed}
              />
            ) : null}
            <RollbackButton
              model={name}
              environment={environment}
              currentVersion={primary?.model_version ?? null}
              goldenVersion={golden}
              onDone={changed}
            />
          </div>
        </div>
        <LiveTable
          live={env?.live ?? []}
          perf={perf.data}
          drift={drift.data}
          environment={environment}
          onChanged={changed}
        />
      </div>

      <AgePerformancePanel
        perf={perf}
        golden={golden}
        now={now}
        live={env?.live ?? []}
        environment={environment}
        onFrame={setFrame}
      />

      <section class="card panel" aria-labelledby="timeline">
        <h2 id="timeline">Deployments</h2>
        {deployments.length === 0 ? (
          <p class="muted">
            No deployment of {name} in {environment}.
          </p>
        ) : (
          <DeploymentTimeline
            deployments={deployments}
            events={envEvents}
            golden={golden}
            now={now}
            frame={frame}
          />
        )}
      </section>

      <div class="panel-pair">
        <section class="card panel" aria-labelledby="drift">
          <h2 id="drift">Drift per feature</h2>
          <p class="hint">Each day's live inputs against the reference, over the last {DRIFT_DAYS} days.</p>
          <ErrorBox error={drift.error} />
          {drift.data ? <DriftPanel drift={drift.data} /> : drift.error ? null : <Loading what="drift" />}
        </section>
        <section class="card panel" aria-labelledby="comparisons">
          <h2 id="comparisons">Shadow and canary</h2>
          <h3>Shadow</h3>
          <ErrorBox error={shadow.error} />
          {shadow.data ? (
            <ShadowPanel shadow={shadow.data} environment={environment} />
          ) : shadow.error ? null : (
            <Loading what="shadow comparisons" />
          )}
          <h3>Canary</h3>
          <ErrorBox error={canary.error} />
          {canary.data !== undefined ? (
            <CanaryPanel canary={canary.data} environment={environment} now={now} />
          ) : canary.error ? null : (
            <Loading what="the canary" />
          )}
        </section>
      </div>

      <section class="card panel" aria-labelledby="events">
        <h2 id="events">Events</h2>
        <ErrorBox error={events.error} />
        {events.data ? (
          <EventHistory events={envEvents} versionOf={(id) => versions.get(id)} now={now} />
        ) : events.error ? null : (
          <Loading what="events" />
        )}
      </section>
    </>
  );
}
