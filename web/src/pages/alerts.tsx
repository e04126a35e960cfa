import { useState } from "preact/hooks";
import { FINDING_KINDS } from "../../../src/core/finding";
import { PERSON_CLOSES, ResolveAlertButton } from "../actions/resolve-alert-button";
import { ReviewButton } from "../actions/review-button";
import { api } from "../api";
import { Badge, Link, useData } from "../components";
import { setQuery, useLocation } from "../router";
import {
  Empty,
  FilterSelect,
  ListStatus,
  RefreshButton,
  Segmented,
  Tally,
  TimeAgo,
  usePagedList,
} from "./list-parts";
import "./alerts.css";

/** An alert as GET /v1/alerts answers it (src/http/lifecycle-schemas.ts). */
interface AlertItem {
  id: number;
  deployment_id: number;
  kind: string;
  state: "open" | "resolved";
  severity: string;
  policy: string;
  model: string;
  model_version: string;
  environment: string;
  owner_team: string;
  summary: string;
  opened_at: string;
  last_notified_at: string | null;
  notifications: number;
  resolved_at: string | null;
  resolution: string | null;
}

type StateFilter = "open" | "resolved" | "all";
const SEVERITY_ORDER = ["critical", "error", "warning", "info"];

/**
 * Alerts: the findings that reached people, open ones first. The URL holds the filters (`state`,
 * `kind`, `team`) so a link shows the same list. The API filters by state and team; the kind is
 * picked out of the loaded pages, as the API has no kind filter.
 */
export function AlertsPage() {
  const { query } = useLocation();
  const state = (
    ["open", "resolved", "all"].includes(query.get("state") ?? "") ? query.get("state") : "open"
  ) as StateFilter;
  const kind = query.get("kind") ?? "";
  const team = query.get("team") ?? "";
  const list = usePagedList<AlertItem>("/v1/alerts", {
    state: state === "all" ? undefined : state,
    owner_team: team || undefined,
    limit: 500,
  });
  const teams = useData(() => api.get<{ teams: Record<string, unknown> }>("/v1/fleet"), []);
  const [notice, setNotice] = useState<string>();
  const items = list.items ?? [];
  const shown = (kind ? items.filter((a) => a.kind === kind) : items).slice().sort(byUrgency);
  const kinds = countBy(items, (a) => a.kind);
  const open = items.filter((a) => a.state === "open");
  return (
    <section class="alerts-page">
      <div class="page-head">
        <h1>Alerts</h1>
        <span class="sub">
          Findings that reached people; open until resolved by a review, a fix or the deployment's end.
        </span>
      </div>
      {list.items ? (
        <Tally
          items={[
            {
              label: state === "resolved" ? "resolved" : "open",
              value: state === "resolved" ? items.length : open.length,
              tone: open.length ? "bad" : "ok",
            },
            ...SEVERITY_ORDER.filter((s) => open.some((a) => a.severity === s)).map((s) => ({
              label: s,
              value: open.filter((a) => a.severity === s).length,
              tone: s === "warning" ? ("warn" as const) : s === "info" ? undefined : ("bad" as const),
            })),
            { label: "deployments", value: new Set(shown.map((a) => a.deployment_id)).size },
          ]}
        />
      ) : null}
      <div class="toolbar">
        <Segmented<StateFilter>
          label="State"
          value={state}
          options={[
            { value: "open", label: "Open" },
            { value: "resolved", label: "Resolved" },
            { value: "all", label: "All" },
          ]}
          onChange={(value) => setQuery({ state: value === "open" ? null : value })}
        />
        <FilterSelect
          label="Kind"
          value={kind}
          all="Every kind"
          options={FINDING_KINDS.map((k) => ({
            value: k,
            label: kinds.has(k) ? `${k} (${kinds.get(k)})` : k,
          }))}
          onChange={(value) => setQuery({ kind: value })}
        />
        <FilterSelect
          label="Team"
          value={team}
          all="Every team"
          options={Object.keys(teams.data?.teams ?? {})
            .sort()
            .map((t) => ({ value: t, label: t }))}
          onChange={(value) => setQuery({ team: value })}
        />
        <span class="spacer" />
        <RefreshButton list={list} />
      </div>
      <ListStatus list={list} what="alerts" notice={notice} />
      {!list.items ? null : shown.length === 0 ? (
        <Empty title={emptyTitle(state, kind, team)}>
          {kind || team ? (
            <Link href="/alerts">Show every open alert</Link>
          ) : state === "open" ? (
            <>
              The last sweep found nothing that needs people. See <Link href="/sweeps">the sweep log</Link>.
            </>
          ) : null}
        </Empty>
      ) : (
        <AlertTable
          alerts={shown}
          onReviewed={(alert) => {
            setNotice(`Reviewed ${alert.model} ${alert.model_version} in ${alert.environment}.`);
            list.reload();
          }}
          onResolved={(alert) => {
            setNotice(`Resolved the '${alert.kind}' alert of ${alert.model} ${alert.model_version}.`);
            list.reload();
          }}
        />
      )}
      {list.hasMore ? (
        <div class="more">
          <button type="button" onClick={list.more}>
            Load older alerts
          </button>
          <span class="muted">{items.length} loaded</span>
        </div>
      ) : null}
    </section>
  );
}

function AlertTable({
  alerts,
  onReviewed,
  onResolved,
}: {
  alerts: AlertItem[];
  onReviewed: (alert: AlertItem) => void;
  onResolved: (alert: AlertItem) => void;
}) {
  return (
    <div class="table-wrap">
      <table class="grid alerts-table">
        <thead>
          <tr>
            <th>Severity</th>
            <th>Kind</th>
            <th>Deployment</th>
            <th>Team</th>
            <th>What</th>
            <th>Opened</th>
            <th>Last notified</th>
            <th>State</th>
            <th>
              <span class="visually-hidden">Actions</span>
            </th>
          </tr>
        </thead>
        <tbody>
          {alerts.map((alert) => (
            <tr key={alert.id} data-alert={alert.id}>
              <td>
                <span class={`badge sev-${alert.severity}`}>{alert.severity}</span>
              </td>
              <td>
                <span class="badge kind">{alert.kind}</span>
              </td>
              <td>
                <Link
                  href={`/models/${encodeURIComponent(alert.model)}?environment=${encodeURIComponent(alert.environment)}`}
                >
                  {alert.model}
                </Link>{" "}
                <span class="mono">{alert.model_version}</span>
                <span class="sub-line">
                  {alert.environment} · deployment {alert.deployment_id}
                </span>
              </td>
              <td>{alert.owner_team}</td>
              <td class="summary" title={alert.summary}>
                {finding(alert)}
              </td>
              <td>
                <TimeAgo iso={alert.opened_at} />
              </td>
              <td>
                <TimeAgo iso={alert.last_notified_at} empty="not yet" />
                {alert.notifications > 1 ? <span class="sub-line">{alert.notifications} notices</span> : null}
              </td>
              <td>
                <Badge kind="state" value={alert.state} />
                {alert.state === "resolved" ? (
                  <span class="sub-line">
                    {alert.resolution?.replaceAll("_", " ")} <TimeAgo iso={alert.resolved_at} />
                  </span>
                ) : null}
              </td>
              <td class="actions">
                {alert.state !== "open" ? null : PERSON_CLOSES.has(alert.kind) ? (
                  <ResolveAlertButton compact alert={alert} onDone={() => onResolved(alert)} />
                ) : (
                  <ReviewButton
                    compact
                    deployment={{
                      id: alert.deployment_id,
                      model: alert.model,
                      model_version: alert.model_version,
                      environment: alert.environment,
                    }}
                    onDone={() => onReviewed(alert)}
                  />
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

/** The summary without the deployment it names, which its own column shows: "is expired: 94d of 90d (106%)". */
function finding(alert: AlertItem): string {
  const prefix = `${alert.model} ${alert.model_version} in ${alert.environment} `;
  return alert.summary.startsWith(prefix) ? alert.summary.slice(prefix.length) : alert.summary;
}

/** Open before resolved, then the most severe, then the newest. */
function byUrgency(a: AlertItem, b: AlertItem): number {
  return (
    Number(a.state !== "open") - Number(b.state !== "open") ||
    rank(a.severity) - rank(b.severity) ||
    Date.parse(b.opened_at) - Date.parse(a.opened_at) ||
    b.id - a.id
  );
}

const rank = (severity: string) => {
  const i = SEVERITY_ORDER.indexOf(severity);
  return i === -1 ? SEVERITY_ORDER.length : i;
};

function emptyTitle(state: StateFilter, kind: string, team: string): string {
  const what = [state === "all" ? "" : state, kind ? `'${kind}'` : ""].filter(Boolean).join(" ");
  return `No ${what ? `${what} ` : ""}alerts${team ? ` for team ${team}` : ""}`;
}

function countBy<T>(items: T[], key: (item: T) => string): Map<string, number> {
  const counts = new Map<string, number>();
  for (const item of items) counts.set(key(item), (counts.get(key(item)) ?? 0) + 1);
  return counts;
}
