import { describe, expect, it } from "vitest";
import {
  DEFAULT_SORT,
  type FleetItem,
  filterFleet,
  nextSort,
  parseFleetQuery,
  parseSort,
  sortFleet,
  sortParam,
} from "../../web/src/fleet-query.js";

const DAY = 86_400;

function item(
  id: number,
  over: Partial<FleetItem> & { days?: number; stage?: string; verdict?: string },
): FleetItem {
  const { days = 10, stage = "fresh", verdict = "keep", ...rest } = over;
  return {
    id,
    model: `model-${id}`,
    model_version: "1.0",
    environment: "production",
    owner_team: "risk",
    role: "primary",
    deployment_date: "2026-01-01T00:00:00.000Z",
    training_data_cutoff: "2025-12-01T00:00:00.000Z",
    endpoint: null,
    age: {
      deployment_age_seconds: days * DAY,
      data_age_seconds: (days + 30) * DAY,
      performance_age_seconds: null,
      ttl_seconds: 90 * DAY,
      ttl_fraction: days / 90,
      stage,
      health_score: 100 - days / 4,
      verdict,
      policy: "default",
      exempt: false,
      forecast: null,
      forecast_reason: "no sweep has forecast it yet",
    },
    review_at_seconds: 72 * DAY,
    max_data_age_seconds: null,
    performance: null,
    drift: null,
    last_heartbeat_at: null,
    last_traffic_at: null,
    open_alerts: 0,
    open_alert_kinds: [],
    ...rest,
  };
}

const fleet = [
  item(1, { model: "fraud-gbm", days: 400, stage: "expired", verdict: "retire", open_alerts: 2 }),
  item(2, { model: "churn-xgb", days: 80, stage: "due", verdict: "review", owner_team: "growth" }),
  item(3, { model: "fraud-lr", days: 5, environment: "staging" }),
  item(4, { model: "ctr-dnn", days: 80, stage: "due", owner_team: "ads" }),
  item(5, { model: "aml-graph", days: 120, stage: "expired", verdict: "review" }),
];

describe("the fleet view's URL", () => {
  it("reads every filter and the order, and drops empty values", () => {
    const query = parseFleetQuery(
      new URLSearchParams(
        "team=risk&environment=production&stage=expired&verdict=retire&q=%20fraud%20&sort=-age",
      ),
    );
    expect(query).toEqual({
      team: "risk",
      environment: "production",
      stage: "expired",
      verdict: "retire",
      q: "fraud",
      sort: { key: "age", descending: true },
    });
    expect(parseFleetQuery(new URLSearchParams("team=&q="))).toMatchObject({ team: null, q: "" });
  });

  it("sorts oldest first without a sort, and falls back to it for a column it does not know", () => {
    expect(parseSort(null)).toEqual(DEFAULT_SORT);
    expect(DEFAULT_SORT).toEqual({ key: "age", descending: true });
    expect(parseSort("-nonsense")).toEqual(DEFAULT_SORT);
    expect(parseSort("__proto__")).toEqual(DEFAULT_SORT);
    expect(parseSort("model")).toEqual({ key: "model", descending: false });
    expect(sortParam(parseSort("-data_age"))).toBe("-data_age");
  });

  it("flips a column clicked again, and starts another in its first direction: worst first for clocks", () => {
    expect(nextSort({ key: "age", descending: true }, "age")).toEqual({ key: "age", descending: false });
    expect(nextSort({ key: "age", descending: false }, "age")).toEqual({ key: "age", descending: true });
    expect(nextSort(DEFAULT_SORT, "model")).toEqual({ key: "model", descending: false });
    expect(nextSort(DEFAULT_SORT, "alerts")).toEqual({ key: "alerts", descending: true });
    // The least healthy first.
    expect(nextSort(DEFAULT_SORT, "health")).toEqual({ key: "health", descending: false });
  });
});

describe("filtering and sorting the fleet in memory", () => {
  const all = parseFleetQuery(new URLSearchParams());

  it("keeps every row without filters, oldest first", () => {
    const { rows, stages, beforeStage } = filterFleet(fleet, all);
    expect(rows.map((d) => d.id)).toEqual([1, 5, 2, 4, 3]);
    expect(stages).toEqual({ fresh: 1, due: 2, expired: 2 });
    expect(beforeStage).toBe(5);
  });

  it("breaks ties by model, so equal ages keep one order across reloads", () => {
    const ids = sortFleet(fleet, { key: "age", descending: true }).map((d) => d.id);
    // churn-xgb and ctr-dnn are both 80 days old.
    expect(ids.indexOf(2)).toBeLessThan(ids.indexOf(4));
    expect(sortFleet(fleet, { key: "age", descending: false }).map((d) => d.id)).toEqual([3, 2, 4, 5, 1]);
  });

  it("applies team, environment, verdict and a name search together, and counts stages before the stage filter", () => {
    const query = parseFleetQuery(new URLSearchParams("team=risk&q=FRAUD&stage=expired"));
    const { rows, stages, beforeStage } = filterFleet(fleet, query);
    expect(rows.map((d) => d.id)).toEqual([1]);
    expect(stages).toEqual({ fresh: 1, due: 0, expired: 1 });
    expect(beforeStage).toBe(2);
    expect(filterFleet(fleet, parseFleetQuery(new URLSearchParams("environment=staging"))).rows).toHaveLength(
      1,
    );
    expect(
      filterFleet(fleet, parseFleetQuery(new URLSearchParams("verdict=review"))).rows.map((d) => d.id),
    ).toEqual([5, 2]);
    expect(filterFleet(fleet, parseFleetQuery(new URLSearchParams("team=nobody"))).rows).toEqual([]);
  });

  it("orders stages fresh, due, expired and words by their severity, missing values first ascending", () => {
    expect(sortFleet(fleet, { key: "stage", descending: true }).map((d) => d.age.stage)).toEqual([
      "expired",
      "expired",
      "due",
      "due",
      "fresh",
    ]);
    const verdicts = sortFleet(fleet, { key: "verdict", descending: true }).map((d) => d.age.verdict);
    expect(verdicts[0]).toBe("retire");
    expect(verdicts.at(-1)).toBe("keep");
    const withDrift = [
      item(10, { drift: { state: "drifted", share: 0.4 } }),
      item(11, { drift: null }),
      item(12, { drift: { state: "stable", share: 0 } }),
    ];
    expect(sortFleet(withDrift, { key: "drift", descending: false }).map((d) => d.id)).toEqual([11, 12, 10]);
  });

  it("sorts by breach in soonest first from its first click, deployments without a forecast last", () => {
    const forecast = (days: number) => ({
      metric: "auc",
      breach_at: "2027-01-01T00:00:00.000Z",
      breach_in_seconds: days * DAY,
      interval_seconds: [days * DAY, null] as [number, number | null],
      slope_per_day: -0.001,
      based_on_deployments: 2,
      based_on_windows: 30,
    });
    const base = item(23, {});
    const rows = [
      item(20, { age: { ...base.age, forecast: forecast(40) } }),
      item(21, { age: { ...base.age, forecast: null, forecast_reason: "no curve" } }),
      item(22, { age: { ...base.age, forecast: forecast(3) } }),
      base,
    ];
    const first = nextSort(DEFAULT_SORT, "breach");
    expect(first).toEqual({ key: "breach", descending: false });
    expect(sortFleet(rows, first).map((d) => d.id)).toEqual([22, 20, 21, 23]);
    expect(sortFleet(rows, nextSort(first, "breach")).map((d) => d.id)).toEqual([21, 23, 20, 22]);
    expect(parseSort("breach")).toEqual(first);
  });

  it("sorts and filters 10,000 rows without changing the input", () => {
    const big = Array.from({ length: 10_000 }, (_, i) =>
      item(i + 1, { days: (i * 7919) % 500, owner_team: i % 3 === 0 ? "risk" : "ads" }),
    );
    const before = big.map((d) => d.id);
    const { rows } = filterFleet(big, parseFleetQuery(new URLSearchParams("team=risk&sort=-data_age")));
    expect(rows).toHaveLength(3334);
    for (let i = 1; i < rows.length; i++) {
      expect((rows[i - 1] as FleetItem).age.data_age_seconds).toBeGreaterThanOrEqual(
        (rows[i] as FleetItem).age.data_age_seconds,
      );
    }
    expect(big.map((d) => d.id)).toEqual(before);
  });
});
