/**
 * The fleet view's state as the URL holds it (`/?team=risk&stage=expired&q=fraud&sort=-age`), and
 * the pure work on it: filtering and sorting every live deployment in memory. No DOM here, so the
 * unit tests run it in Node.
 */

export const STAGES = ["fresh", "due", "expired"] as const;
export const VERDICTS = ["keep", "review", "retrain", "retire"] as const;

/** One row of `GET /v1/fleet/deployments`. */
export interface FleetItem {
  id: number;
  model: string;
  model_version: string;
  environment: string;
  owner_team: string;
  role: string;
  deployment_date: string;
  training_data_cutoff: string;
  endpoint: string | null;
  age: {
    deployment_age_seconds: number;
    data_age_seconds: number;
    performance_age_seconds: number | null;
    ttl_seconds: number;
    ttl_fraction: number;
    stage: string | null;
    health_score: number | null;
    verdict: string | null;
    policy: string;
    exempt: boolean;
    /** When the deployment will cross its performance threshold by its model's decay curve; null with the reason. */
    forecast: {
      metric: string;
      breach_at: string;
      breach_in_seconds: number;
      interval_seconds: [number, number | null];
      slope_per_day: number;
      based_on_deployments: number;
      based_on_windows: number;
    } | null;
    forecast_reason: string | null;
  };
  review_at_seconds: number;
  max_data_age_seconds: number | null;
  performance: {
    state: string | null;
    drop: number | null;
    metric: string;
    value: number | null;
    target: number | null;
    baseline: number | null;
    at: string | null;
  } | null;
  drift: { state: string; share: number | null } | null;
  last_heartbeat_at: string | null;
  last_traffic_at: string | null;
  open_alerts: number;
  open_alert_kinds: string[];
}

export interface FleetRows {
  generated_at: string;
  items: FleetItem[];
}

/** Where a word sits in an order from good to bad; words not listed sort after, null last. */
function rank(order: readonly string[], value: string | null | undefined): number {
  if (value === null || value === undefined) return -1;
  const i = order.indexOf(value);
  return i === -1 ? order.length : i;
}

const PERFORMANCE_ORDER = ["ok", "insufficient_data", "degraded"];
const DRIFT_ORDER = ["stable", "possible", "error", "drifted"];
const ROLE_ORDER = ["primary", "canary", "shadow"];

/**
 * The sortable columns: each reads a number or a string from a row. Numbers sort low to high and
 * strings alphabetically before the direction applies; missing values (-1 or "") sort first
 * ascending, so "worst first" (descending) never leads with rows that say nothing.
 */
export const SORT_KEYS = {
  model: (d: FleetItem) => d.model,
  version: (d: FleetItem) => d.model_version,
  environment: (d: FleetItem) => d.environment,
  team: (d: FleetItem) => d.owner_team,
  role: (d: FleetItem) => rank(ROLE_ORDER, d.role),
  age: (d: FleetItem) => d.age.deployment_age_seconds,
  ttl: (d: FleetItem) => d.age.ttl_fraction,
  data_age: (d: FleetItem) => d.age.data_age_seconds,
  // Within a stage, the further through its TTL the later.
  stage: (d: FleetItem) => rank(STAGES, d.age.stage) + Math.min(d.age.ttl_fraction, 9.99) / 10,
  health: (d: FleetItem) => d.age.health_score ?? -1,
  verdict: (d: FleetItem) => rank(VERDICTS, d.age.verdict),
  performance: (d: FleetItem) => rank(PERFORMANCE_ORDER, d.performance?.state),
  drift: (d: FleetItem) => rank(DRIFT_ORDER, d.drift?.state) + (d.drift?.share ?? 0) / 10,
  traffic: (d: FleetItem) => (d.last_traffic_at ? Date.parse(d.last_traffic_at) : -1),
  alerts: (d: FleetItem) => d.open_alerts,
  // Soonest first; a deployment with no forecast sorts as never breaching.
  breach: (d: FleetItem) => d.age.forecast?.breach_in_seconds ?? Number.POSITIVE_INFINITY,
} satisfies Record<string, (d: FleetItem) => number | string>;

export type SortKey = keyof typeof SORT_KEYS;

export interface Sort {
  key: SortKey;
  descending: boolean;
}

/** Oldest first: the fleet's first question is what has served longest without a look. */
export const DEFAULT_SORT: Sort = { key: "age", descending: true };

export interface FleetQuery {
  team: string | null;
  environment: string | null;
  stage: string | null;
  verdict: string | null;
  q: string;
  sort: Sort;
}

/** `-age` → age, descending; `model` → model, ascending; anything else → the default. */
export function parseSort(text: string | null | undefined): Sort {
  if (!text) return DEFAULT_SORT;
  const descending = text.startsWith("-");
  const key = descending ? text.slice(1) : text;
  return Object.hasOwn(SORT_KEYS, key) ? { key: key as SortKey, descending } : DEFAULT_SORT;
}

export function sortParam(sort: Sort): string {
  return `${sort.descending ? "-" : ""}${sort.key}`;
}

/** The view a URL asks for; unknown values are kept (they match nothing), empty ones dropped. */
export function parseFleetQuery(query: URLSearchParams): FleetQuery {
  const word = (name: string) => query.get(name)?.trim() || null;
  return {
    team: word("team"),
    environment: word("environment"),
    stage: word("stage"),
    verdict: word("verdict"),
    q: query.get("q")?.trim() ?? "",
    sort: parseSort(query.get("sort")),
  };
}

/** The direction a column sorts in when first clicked: worst first for clocks and findings. */
export function firstDirection(key: SortKey): boolean {
  return !["model", "version", "environment", "team", "role", "health", "breach"].includes(key);
}

/** A header click: the same column flips, another starts in its first direction. */
export function nextSort(current: Sort, key: SortKey): Sort {
  return current.key === key
    ? { key, descending: !current.descending }
    : { key, descending: firstDirection(key) };
}

/** Every filter but the stage: the stage counts on top are taken after these. */
export function matchesBesidesStage(
  d: FleetItem,
  query: FleetQuery,
  needle = query.q.toLowerCase(),
): boolean {
  return (
    (query.team === null || d.owner_team === query.team) &&
    (query.environment === null || d.environment === query.environment) &&
    (query.verdict === null || d.age.verdict === query.verdict) &&
    (needle === "" || d.model.includes(needle))
  );
}

export interface FilteredFleet {
  /** The rows the filters keep, sorted. */
  rows: FleetItem[];
  /** Rows per stage under every filter but the stage, so each count says what clicking it shows. */
  stages: Record<(typeof STAGES)[number], number>;
  /** Rows under every filter but the stage. */
  beforeStage: number;
}

/** Filters and sorts in one pass over the fleet; a few milliseconds for 10,000 rows. */
export function filterFleet(items: readonly FleetItem[], query: FleetQuery): FilteredFleet {
  const needle = query.q.toLowerCase();
  const stages = { fresh: 0, due: 0, expired: 0 };
  const rows: FleetItem[] = [];
  let beforeStage = 0;
  for (const d of items) {
    if (!matchesBesidesStage(d, query, needle)) continue;
    beforeStage++;
    const stage = d.age.stage;
    if (stage === "fresh" || stage === "due" || stage === "expired") stages[stage]++;
    if (query.stage === null || stage === query.stage) rows.push(d);
  }
  return { rows: sortFleet(rows, query.sort), stages, beforeStage };
}

/**
 * Sorts a copy. Keys are read once per row (a Schwartzian transform) rather than once per
 * comparison; ties fall back to model, environment and id so the order is stable across reloads.
 */
export function sortFleet(items: readonly FleetItem[], sort: Sort): FleetItem[] {
  const read = SORT_KEYS[sort.key];
  const keyed = items.map((d) => ({ d, k: read(d) }));
  const sign = sort.descending ? -1 : 1;
  keyed.sort((a, b) => {
    if (a.k !== b.k) return (a.k < b.k ? -1 : 1) * sign;
    return tieBreak(a.d, b.d);
  });
  return keyed.map((e) => e.d);
}

function tieBreak(a: FleetItem, b: FleetItem): number {
  if (a.model !== b.model) return a.model < b.model ? -1 : 1;
  if (a.environment !== b.environment) return a.environment < b.environment ? -1 : 1;
  return a.id - b.id;
}

/** The distinct values of a field, sorted: the options of a filter's select. */
export function distinct(items: readonly FleetItem[], read: (d: FleetItem) => string): string[] {
  return [...new Set(items.map(read))].sort();
}
