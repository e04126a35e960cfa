import { Badge } from "../components";
import { count, shortTime } from "../format";
import { durationMs, Empty, ListStatus, RefreshButton, Tally, TimeAgo, usePagedList } from "./list-parts";
import "./sweeps.css";

/** A sweep as GET /v1/sweeps answers it (src/http/lifecycle-schemas.ts). */
interface SweepItem {
  id: number;
  state: "running" | "done" | "failed";
  trigger: string;
  actor: string;
  evaluated_at: string;
  scheduled_for: string | null;
  started_at: string;
  finished_at: string | null;
  duration_ms: number | null;
  deployments: number;
  stages: Record<string, number>;
  findings: Record<string, number>;
  promotions: number;
  retirements: number;
  alerts_opened: number;
  alerts_resolved: number;
  notifications: number;
  error: string | null;
}

const STAGES = ["fresh", "due", "expired"] as const;

/**
 * Sweeps: the heartbeat log. Each sweep judged every live deployment at one instant; the list says
 * when, why (schedule, startup catch-up, promotion, manual), how long it took, the fleet by stage,
 * what it found, and the alerts it opened and resolved. A gap in the log is a missed heartbeat.
 */
export function SweepsPage() {
  const list = usePagedList<SweepItem>("/v1/sweeps", { limit: 100 });
  const items = list.items ?? [];
  const last = items[0];
  return (
    <section class="sweeps-page">
      <div class="page-head">
        <h1>Sweeps</h1>
        <span class="sub">
          The heartbeat: each sweep judges every live deployment and raises or resolves alerts.
        </span>
      </div>
      {last ? (
        <Tally
          items={[
            { label: "last sweep", value: relativeShort(last.started_at) },
            { label: "took", value: durationMs(last.duration_ms) },
            { label: "live", value: count(last.deployments) },
            { label: "due", value: last.stages.due ?? 0, tone: last.stages.due ? "warn" : undefined },
            {
              label: "expired",
              value: last.stages.expired ?? 0,
              tone: last.stages.expired ? "bad" : undefined,
            },
            { label: "findings", value: sum(last.findings) },
          ]}
        />
      ) : null}
      <div class="toolbar">
        <span class="muted">
          {list.items ? `${items.length} sweep${items.length === 1 ? "" : "s"}, newest first` : ""}
        </span>
        <span class="spacer" />
        <RefreshButton list={list} />
      </div>
      <ListStatus list={list} what="the sweep log" />
      {!list.items ? null : items.length === 0 ? (
        <Empty title="No sweep has run yet">
          A server sweeps on its schedule and at start-up; <code>tenure sweep</code> runs one now.
        </Empty>
      ) : (
        <div class="table-wrap">
          <table class="grid sweeps-table">
            <thead>
              <tr>
                <th class="num">#</th>
                <th>Started</th>
                <th>Trigger</th>
                <th>State</th>
                <th class="num">Took</th>
                <th class="num">Live</th>
                <th>By stage</th>
                <th>Findings</th>
                <th class="num" title="alerts opened and resolved">
                  Alerts +/−
                </th>
                <th class="num">Notices</th>
                <th class="num">Changes</th>
              </tr>
            </thead>
            <tbody>
              {items.map((s) => (
                <tr key={s.id} data-sweep={s.id}>
                  <td class="num mono">{s.id}</td>
                  <td>
                    {shortTime(s.started_at)}
                    <span class="sub-line">
                      <TimeAgo iso={s.started_at} />
                    </span>
                  </td>
                  <td>
                    <span class="trigger">{s.trigger}</span>
                    <span class="sub-line" title={s.actor}>
                      {s.scheduled_for ? `scheduled ${shortTime(s.scheduled_for)}` : s.actor}
                    </span>
                  </td>
                  <td>
                    <Badge kind="state" value={s.state} />
                    {s.error ? (
                      <span class="sub-line error-text" title={s.error}>
                        {s.error}
                      </span>
                    ) : null}
                  </td>
                  <td class="num">{durationMs(s.duration_ms)}</td>
                  <td class="num">{count(s.deployments)}</td>
                  <td>
                    <StageBar stages={s.stages} />
                  </td>
                  <td class="findings">
                    {Object.keys(s.findings).length === 0 ? (
                      <span class="muted">none</span>
                    ) : (
                      Object.entries(s.findings)
                        .sort((a, b) => b[1] - a[1])
                        .map(([kind, n]) => (
                          <span key={kind} class="finding">
                            <span class="finding-kind">{kind.replaceAll("_", " ")}</span> <strong>{n}</strong>
                          </span>
                        ))
                    )}
                  </td>
                  <td class="num">
                    <span title="alerts opened">+{s.alerts_opened}</span>{" "}
                    <span class="muted" title="alerts resolved">
                      −{s.alerts_resolved}
                    </span>
                  </td>
                  <td class="num">{s.notifications}</td>
                  <td class="num">
                    <Changes sweep={s} />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {list.hasMore ? (
        <div class="more">
          <button type="button" onClick={list.more}>
            Load older sweeps
          </button>
        </div>
      ) : null}
    </section>
  );
}

/** The fleet by stage as a thin stacked bar with its numbers: colour and word together. */
function StageBar({ stages }: { stages: Record<string, number> }) {
  const total = STAGES.reduce((n, s) => n + (stages[s] ?? 0), 0);
  return (
    <div class="stage-mix">
      <div class="stage-bar" aria-hidden="true">
        {STAGES.map((s) =>
          stages[s] ? (
            <span key={s} class={`seg seg-${s}`} style={{ flexGrow: stages[s] / Math.max(1, total) }} />
          ) : null,
        )}
      </div>
      <span class="stage-counts">
        {STAGES.map((s) => (
          <span key={s} class={`stage-count stage-count-${s}`}>
            {stages[s] ?? 0} {s}
          </span>
        ))}
      </span>
    </div>
  );
}

function Changes({ sweep }: { sweep: SweepItem }) {
  const parts = [
    sweep.promotions ? `${sweep.promotions} promoted` : "",
    sweep.retirements ? `${sweep.retirements} retired` : "",
  ].filter(Boolean);
  return parts.length ? <span>{parts.join(", ")}</span> : <span class="muted">—</span>;
}

function sum(counts: Record<string, number>): number {
  return Object.values(counts).reduce((a, b) => a + b, 0);
}

function relativeShort(iso: string): string {
  const seconds = Math.max(0, Math.round((Date.now() - Date.parse(iso)) / 1000));
  if (seconds < 60) return "now";
  if (seconds < 3600) return `${Math.floor(seconds / 60)}m ago`;
  if (seconds < 86_400) return `${Math.floor(seconds / 3600)}h ago`;
  return `${Math.floor(seconds / 86_400)}d ago`;
}
