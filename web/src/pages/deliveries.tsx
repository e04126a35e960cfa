import { Fragment } from "preact";
import { useState } from "preact/hooks";
import { ActionButton, explainRefusal } from "../actions/action-button";
import { RetryDeliveryButton } from "../actions/retry-delivery-button";
import { api } from "../api";
import { Badge, Confirm, Link, useData } from "../components";
import { setQuery, useLocation } from "../router";
import {
  durationMs,
  Empty,
  ListStatus,
  RefreshButton,
  Segmented,
  Tally,
  TimeAgo,
  usePagedList,
} from "./list-parts";
import "./deliveries.css";

/** A delivery as GET /v1/deliveries answers it (src/http/lifecycle-schemas.ts). */
interface DeliveryItem {
  id: number;
  alert_id: number;
  channel: string;
  action: string;
  state: "pending" | "delivered" | "failed";
  attempts: number;
  next_attempt_at: string | null;
  last_error: string | null;
  created_at: string;
  delivered_at: string | null;
  attempt_log: { at: string; duration_ms: number; status_code: number | null; error: string | null }[];
}

interface AlertBrief {
  id: number;
  kind: string;
  model: string;
  model_version: string;
  environment: string;
}

type StateFilter = "all" | "pending" | "failed" | "delivered";

/**
 * Deliveries: every notification in the outbox, with its attempts. A failed one is dead-lettered
 * and waits for a person to retry it; a pending one with attempts is retrying with backoff.
 * `?state=failed` is the dead letter.
 */
export function DeliveriesPage() {
  const { query } = useLocation();
  const raw = query.get("state") ?? "";
  const state = (["pending", "failed", "delivered"].includes(raw) ? raw : "all") as StateFilter;
  const list = usePagedList<DeliveryItem>("/v1/deliveries", {
    state: state === "all" ? undefined : state,
    limit: 200,
  });
  // The alerts name what each delivery was about; one page of the newest covers the outbox's.
  const alerts = useData(
    () =>
      api
        .get<{ items: AlertBrief[] }>("/v1/alerts", { limit: 500 })
        .then((page) => new Map(page.items.map((a) => [a.id, a]))),
    [],
  );
  const [open, setOpen] = useState<Set<number>>(new Set());
  const [notice, setNotice] = useState<string>();
  const items = list.items ?? [];
  const toggle = (id: number) => {
    const next = new Set(open);
    if (next.has(id)) next.delete(id);
    else next.add(id);
    setOpen(next);
  };
  return (
    <section class="deliveries-page">
      <div class="page-head">
        <h1>Deliveries</h1>
        <span class="sub">
          Notices sent to Slack, PagerDuty and webhooks, with every attempt. Failed ones wait for a retry.
        </span>
      </div>
      {list.items && state === "all" ? (
        <Tally
          items={[
            { label: "delivered", value: items.filter((d) => d.state === "delivered").length, tone: "ok" },
            {
              label: "retrying",
              value: items.filter((d) => d.state === "pending" && d.attempts > 0).length,
              tone: "warn",
            },
            { label: "queued", value: items.filter((d) => d.state === "pending" && d.attempts === 0).length },
            { label: "failed", value: items.filter((d) => d.state === "failed").length, tone: "bad" },
          ]}
        />
      ) : null}
      <div class="toolbar">
        <Segmented<StateFilter>
          label="State"
          value={state}
          options={[
            { value: "all", label: "All" },
            { value: "pending", label: "Pending" },
            { value: "failed", label: "Failed" },
            { value: "delivered", label: "Delivered" },
          ]}
          onChange={(value) => setQuery({ state: value === "all" ? null : value })}
        />
        <span class="spacer" />
        {state === "failed" && items.length > 1 ? (
          <RetryAllButton
            shown={items.length}
            onDone={(retried) => {
              setNotice(`${retried} failed deliveries are queued again; the server sends them now.`);
              list.reload();
            }}
          />
        ) : null}
        <RefreshButton list={list} />
      </div>
      <ListStatus list={list} what="deliveries" notice={notice} />
      {!list.items ? null : items.length === 0 ? (
        <Empty
          title={
            state === "failed"
              ? "No failed deliveries"
              : state === "all"
                ? "No deliveries yet"
                : `No ${state} deliveries`
          }
        >
          {state === "failed"
            ? "Every notice reached its channel or is still being retried."
            : "Notices appear here when an alert opens, reminds or resolves on a policy that routes it to a channel."}
        </Empty>
      ) : (
        <div class="table-wrap">
          <table class="grid deliveries-table">
            <thead>
              <tr>
                <th class="num">ID</th>
                <th>About</th>
                <th>Channel</th>
                <th>Notice</th>
                <th>State</th>
                <th class="num">Attempts</th>
                <th>Last error</th>
                <th>Next retry</th>
                <th>Created</th>
                <th>
                  <span class="visually-hidden">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {items.map((d) => (
                <Fragment key={d.id}>
                  <DeliveryRow
                    delivery={d}
                    alert={alerts.data?.get(d.alert_id)}
                    expanded={open.has(d.id)}
                    onToggle={() => toggle(d.id)}
                    onRetried={(retried) => {
                      setNotice(
                        retried > 0
                          ? `Delivery ${d.id} is queued again; the server sends it now.`
                          : `Delivery ${d.id} was no longer failed: nothing was queued.`,
                      );
                      list.reload();
                    }}
                  />
                  {open.has(d.id) ? <AttemptLog delivery={d} /> : null}
                </Fragment>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {list.hasMore ? (
        <div class="more">
          <button type="button" onClick={list.more}>
            Load older deliveries
          </button>
          <span class="muted">{items.length} loaded</span>
        </div>
      ) : null}
    </section>
  );
}

function DeliveryRow({
  delivery: d,
  alert,
  expanded,
  onToggle,
  onRetried,
}: {
  delivery: DeliveryItem;
  alert: AlertBrief | undefined;
  expanded: boolean;
  onToggle: () => void;
  onRetried: (retried: number) => void;
}) {
  const retrying = d.state === "pending" && d.attempts > 0;
  return (
    <tr data-delivery={d.id} class={d.state === "failed" ? "row-failed" : undefined}>
      <td class="num mono">{d.id}</td>
      <td>
        {alert ? (
          <>
            <span class="badge kind">{alert.kind}</span>{" "}
            <Link
              href={`/models/${encodeURIComponent(alert.model)}?environment=${encodeURIComponent(alert.environment)}`}
            >
              {alert.model}
            </Link>{" "}
            <span class="mono">{alert.model_version}</span>
            <span class="sub-line">
              alert {d.alert_id} · {alert.environment}
            </span>
          </>
        ) : (
          <span class="muted">alert {d.alert_id}</span>
        )}
      </td>
      <td class="mono">{d.channel}</td>
      <td>{d.action}</td>
      <td>
        <Badge kind="state" value={retrying ? "retrying" : d.state} />
        {d.state === "delivered" ? (
          <span class="sub-line">
            <TimeAgo iso={d.delivered_at} />
          </span>
        ) : null}
      </td>
      <td class="num">
        {d.attempts > 0 ? (
          <button
            type="button"
            class="link-button"
            aria-expanded={expanded}
            onClick={onToggle}
            title="Show every attempt"
          >
            {expanded ? "▾" : "▸"} {d.attempts}
          </button>
        ) : (
          <span class="muted">0</span>
        )}
      </td>
      <td class="clip error-text" title={d.last_error ?? undefined}>
        {d.last_error ?? <span class="muted">—</span>}
      </td>
      <td>{d.state === "pending" ? <TimeAgo iso={d.next_attempt_at} /> : <span class="muted">—</span>}</td>
      <td>
        <TimeAgo iso={d.created_at} />
      </td>
      <td class="actions">
        {d.state === "failed" ? <RetryDeliveryButton compact delivery={d} onDone={onRetried} /> : null}
      </td>
    </tr>
  );
}

function AttemptLog({ delivery }: { delivery: DeliveryItem }) {
  return (
    <tr class="attempt-log">
      <td />
      <td colSpan={9}>
        <table class="attempts" aria-label={`Attempts of delivery ${delivery.id}`}>
          <thead>
            <tr>
              <th class="num">#</th>
              <th>When</th>
              <th class="num">Took</th>
              <th class="num">Status</th>
              <th>Error</th>
            </tr>
          </thead>
          <tbody>
            {delivery.attempt_log.map((a, i) => (
              <tr key={a.at}>
                <td class="num">{i + 1}</td>
                <td>
                  <TimeAgo iso={a.at} />
                </td>
                <td class="num">{durationMs(a.duration_ms)}</td>
                <td class="num mono">{a.status_code ?? "—"}</td>
                <td class="error-text">{a.error ?? <span class="muted">none</span>}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </td>
    </tr>
  );
}

/** Every dead-lettered delivery queued again at once (POST /v1/deliveries/retry with no ids). */
function RetryAllButton({ shown, onDone }: { shown: number; onDone: (retried: number) => void }) {
  return (
    <ActionButton
      label="Retry every failed…"
      verb="retry"
      dialog={(close) => (
        <Confirm
          title="Retry every failed delivery"
          action="Send them again"
          onClose={close}
          onConfirm={async () => {
            try {
              onDone((await api.post<{ retried: number }>("/v1/deliveries/retry", {})).retried);
            } catch (error) {
              throw explainRefusal(error);
            }
          }}
        >
          <div class="consequences">
            <p class="consequence">
              Send every failed delivery again ({shown} shown here, and any older ones): each goes back to{" "}
              <strong>pending</strong> with its attempts reset to 0, and the server sends them now.
            </p>
            <ul class="consequence-details">
              <li>A channel that still refuses dead-letters them again after their last attempt.</li>
              <li>Retrying needs an admin token that is not bound to a team.</li>
            </ul>
          </div>
        </Confirm>
      )}
    />
  );
}
