import type { ComponentChildren } from "preact";
import { useEffect, useMemo, useRef } from "preact/hooks";
import { api } from "../api";
import { ErrorBox, Loading, useData } from "../components";
import {
  type FleetItem,
  type FleetQuery,
  type FleetRows,
  filterFleet,
  nextSort,
  parseFleetQuery,
  type SortKey,
  sortParam,
} from "../fleet-query";
import { shortTime } from "../format";
import { onLinkClick, setQuery, useLocation } from "../router";
import { useVirtualRows } from "../use-virtual-rows";
import {
  AgeBar,
  Alerts,
  BreachIn,
  DataAge,
  Drift,
  Health,
  LastTraffic,
  Performance,
  Stage,
} from "./fleet-cells";
import { exact, Filters, StageCounts } from "./fleet-filters";
import "./fleet.css";

const ROW_HEIGHT = 36;
const HEADER_HEIGHT = 34;
/** The mark the browser test reads: navigation start to the first rows on screen. */
export const FIRST_ROWS_MARK = "tenure:fleet-first-rows";

interface Column {
  key: SortKey;
  label: string;
  num?: boolean;
  /** What the column holds, when its short label does not say it all. */
  what?: string;
  cell: (d: FleetItem, now: number) => ComponentChildren;
}

const COLUMNS: Column[] = [
  {
    key: "model",
    label: "Model",
    cell: (d) => (
      <a
        href={`/models/${encodeURIComponent(d.model)}?environment=${encodeURIComponent(d.environment)}`}
        title={`${d.model} in ${d.environment}`}
        onClick={onLinkClick}
      >
        {d.model}
      </a>
    ),
  },
  {
    key: "version",
    label: "Version",
    cell: (d) => (
      <span class="mono" title={d.model_version}>
        {d.model_version}
      </span>
    ),
  },
  { key: "environment", label: "Environment", cell: (d) => d.environment },
  { key: "team", label: "Team", cell: (d) => d.owner_team },
  {
    key: "role",
    label: "Role",
    cell: (d) => <span class={d.role === "primary" ? "muted" : "role-other"}>{d.role}</span>,
  },
  { key: "age", label: "Age / TTL", cell: (d) => <AgeBar d={d} /> },
  {
    key: "breach",
    label: "Breach in",
    what: "forecast breach of the performance target",
    num: true,
    cell: (d) => <BreachIn d={d} />,
  },
  { key: "data_age", label: "Data age", num: true, cell: (d) => <DataAge d={d} /> },
  { key: "stage", label: "Stage", cell: (d) => <Stage d={d} /> },
  { key: "health", label: "Health", cell: (d) => <Health d={d} /> },
  { key: "performance", label: "Performance", cell: (d) => <Performance d={d} /> },
  { key: "drift", label: "Drift", cell: (d) => <Drift d={d} /> },
  {
    key: "traffic",
    label: "Traffic",
    what: "last traffic",
    num: true,
    cell: (d, now) => <LastTraffic d={d} now={now} />,
  },
  { key: "alerts", label: "Alerts", num: true, cell: (d) => <Alerts d={d} /> },
];

const loadFleet = () => api.get<FleetRows>("/v1/fleet/deployments");

/**
 * Asked for as soon as the bundle runs when the page opens on the fleet, rather than after the
 * first paint: the API computes the fleet while the shell renders. Taken by the first FleetPage.
 */
let early: Promise<FleetRows> | undefined = window.location.pathname === "/" ? loadFleet() : undefined;
// Handled by whoever takes it; a page that never shows the fleet (a sign-in first) ignores it.
early?.catch(() => undefined);

function takeFleet(): Promise<FleetRows> {
  const promise = early ?? loadFleet();
  early = undefined;
  return promise;
}

/** The fleet: every live deployment as a row (issue 17, point 1); the URL holds the view. */
export function FleetPage() {
  const { query: params } = useLocation();
  const query = useMemo(() => parseFleetQuery(params), [params]);
  const { data, error, loading, reload } = useData(takeFleet, []);
  if (!data) {
    return (
      <section class="fleet">
        <h1>Fleet</h1>
        {error ? <ErrorBox error={error} /> : loading ? <Loading what="the fleet" /> : null}
      </section>
    );
  }
  return <FleetTable data={data} query={query} reload={reload} loading={loading} error={error} />;
}

function FleetTable({
  data,
  query,
  reload,
  loading,
  error,
}: {
  data: FleetRows;
  query: FleetQuery;
  reload: () => void;
  loading: boolean;
  error: unknown;
}) {
  const filtered = useMemo(() => filterFleet(data.items, query), [data, query]);
  const now = Date.parse(data.generated_at);
  const filtering = query.team || query.environment || query.stage || query.verdict || query.q;
  return (
    <section class="fleet">
      <div class="fleet-head">
        <h1>Fleet</h1>
        <p class="muted">
          {exact(data.items.length)} live deployment{data.items.length === 1 ? "" : "s"} · ages as of{" "}
          {shortTime(data.generated_at)}{" "}
          <button type="button" class="fleet-refresh" onClick={reload} disabled={loading}>
            {loading ? "Refreshing…" : "Refresh"}
          </button>
        </p>
        <StageCounts filtered={filtered} query={query} />
      </div>
      <ErrorBox error={error} />
      <Filters items={data.items} query={query} shown={filtered.rows.length} total={data.items.length} />
      {data.items.length === 0 ? (
        <div class="card fleet-empty">
          <strong>No live deployments yet.</strong>
          <p class="muted">
            Register one with <code>tenure register</code> or <code>POST /v1/deployments</code>; it shows here
            with its clocks.
          </p>
        </div>
      ) : (
        <Grid rows={filtered.rows} query={query} now={now} filtering={Boolean(filtering)} />
      )}
    </section>
  );
}

function Grid({
  rows,
  query,
  now,
  filtering,
}: {
  rows: FleetItem[];
  query: FleetQuery;
  now: number;
  filtering: boolean;
}) {
  const {
    scrollRef,
    rows: visible,
    totalHeight,
    scrollToTop,
  } = useVirtualRows({
    count: rows.length,
    rowHeight: ROW_HEIGHT,
    headerHeight: HEADER_HEIGHT,
  });
  // A new filter or order starts at the top.
  const viewKey = `${query.team}|${query.environment}|${query.stage}|${query.verdict}|${query.q}|${sortParam(query.sort)}`;
  useEffect(() => scrollToTop(), [viewKey]);
  const marked = useRef(false);
  useEffect(() => {
    if (marked.current || visible.length === 0) return;
    marked.current = true;
    performance.mark(FIRST_ROWS_MARK);
  });
  return (
    <div class="fleet-scroll" ref={scrollRef}>
      <table class="fleet-table" aria-label="Live deployments" aria-rowcount={rows.length + 1}>
        <thead>
          <tr class="fleet-row fleet-header" aria-rowindex={1}>
            {COLUMNS.map((c) => (
              <HeaderCell key={c.key} column={c} query={query} />
            ))}
          </tr>
        </thead>
        <tbody class="fleet-body" style={{ height: `${rows.length === 0 ? 0 : totalHeight}px` }}>
          {visible.map((v) => {
            const d = rows[v.index] as FleetItem;
            return (
              <tr
                key={d.id}
                class="fleet-row"
                aria-rowindex={v.index + 2}
                data-id={d.id}
                style={{ transform: `translateY(${v.start - HEADER_HEIGHT}px)` }}
              >
                {COLUMNS.map((c) => (
                  <td key={c.key} class={`c-${c.key}${c.num ? " num" : ""}`}>
                    {c.cell(d, now)}
                  </td>
                ))}
              </tr>
            );
          })}
        </tbody>
      </table>
      {rows.length === 0 ? (
        <p class="fleet-none">
          {filtering ? "No live deployment matches these filters." : "No live deployments."}
        </p>
      ) : null}
    </div>
  );
}

function HeaderCell({ column, query }: { column: Column; query: FleetQuery }) {
  const active = query.sort.key === column.key;
  const direction = active ? (query.sort.descending ? "descending" : "ascending") : "none";
  return (
    <th scope="col" aria-sort={direction} class={`c-${column.key}${column.num ? " num" : ""}`}>
      <button
        type="button"
        class={active ? "sort active" : "sort"}
        onClick={() => setQuery({ sort: sortParam(nextSort(query.sort, column.key)) })}
        title={`Sort by ${column.what ?? column.label.toLowerCase()}`}
      >
        {column.label}
        {active ? (
          <span class="sort-arrow" aria-hidden="true">
            {query.sort.descending ? "▼" : "▲"}
          </span>
        ) : null}
      </button>
    </th>
  );
}
