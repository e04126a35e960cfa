import { describe, expect, it } from "vitest";
import {
  composeRotReport,
  forecastFromDetail,
  type ReportAlert,
  type ReportDeployment,
} from "./rot-report.js";
import { renderReportMarkdown, renderReportText, teamLines } from "./rot-report-render.js";

const DAY = 86_400;
const NOW = Date.parse("2026-12-07T09:00:00.000Z");

function deployment(overrides: Partial<ReportDeployment> & { id: number }): ReportDeployment {
  const age = overrides.deployment_age_seconds ?? 10 * DAY;
  const ttl = overrides.ttl_seconds ?? 90 * DAY;
  return {
    ttl_fraction: Math.round((age / ttl) * 10_000) / 10_000,
    model: `m${overrides.id}`,
    model_version: "1.0.0",
    environment: "production",
    owner_team: "risk",
    role: "primary",
    deployment_age_seconds: 10 * DAY,
    data_age_seconds: 20 * DAY,
    ttl_seconds: 90 * DAY,
    stage: "fresh",
    exempt: false,
    max_data_age_seconds: null,
    performance: null,
    drift: null,
    forecast: null,
    ...overrides,
  };
}

function alert(overrides: Partial<ReportAlert> & { deployment_id: number; kind: string }): ReportAlert {
  return {
    state: "open",
    model: `m${overrides.deployment_id}`,
    model_version: "1.0.0",
    environment: "production",
    owner_team: "risk",
    summary: "",
    detail: {},
    opened_at: NOW - DAY * 1000,
    resolved_at: null,
    resolution: null,
    ...overrides,
  };
}

describe("the rot report's composition", () => {
  it("lists an expired deployment with its overdue time, and says whether it expired within the period", () => {
    const report = composeRotReport({
      now: NOW,
      since_seconds: 7 * DAY,
      deployments: [
        deployment({ id: 1, deployment_age_seconds: 33 * DAY, ttl_seconds: 30 * DAY, stage: "expired" }),
        deployment({ id: 2, deployment_age_seconds: 60 * DAY, ttl_seconds: 30 * DAY, stage: "expired" }),
        deployment({
          id: 3,
          deployment_age_seconds: 60 * DAY,
          ttl_seconds: 30 * DAY,
          stage: "expired",
          exempt: true,
        }),
      ],
      alerts: [],
    });
    const [team] = report.teams;
    expect(team?.expired.map((e) => [e.deployment_id, e.overdue_seconds, e.in_period])).toEqual([
      [2, 30 * DAY, false],
      [1, 3 * DAY, true],
    ]);
    expect(team?.expired[1]?.expired_at).toBe("2026-12-04T09:00:00.000Z");
  });

  it("lists what expired in the period and has ended since, from its expired alert, after what is still live", () => {
    const report = composeRotReport({
      now: NOW,
      since_seconds: 7 * DAY,
      deployments: [
        deployment({ id: 1, deployment_age_seconds: 33 * DAY, ttl_seconds: 30 * DAY, stage: "expired" }),
      ],
      alerts: [
        alert({
          deployment_id: 7,
          kind: "expired",
          state: "resolved",
          resolution: "retired",
          opened_at: NOW - 2 * DAY * 1000,
          resolved_at: NOW - DAY * 1000,
        }),
        // Opened before the period: not listed.
        alert({ deployment_id: 8, kind: "expired", state: "resolved", opened_at: NOW - 9 * DAY * 1000 }),
      ],
    });
    expect(
      report.teams[0]?.expired.map((e) => [e.deployment_id, e.current, e.in_period, e.resolution]),
    ).toEqual([
      [1, true, true, null],
      [7, false, true, "retired"],
    ]);
  });

  it("lists as due what is due now or expires within 14 days, soonest first, and not what expires later", () => {
    const report = composeRotReport({
      now: NOW,
      since_seconds: 7 * DAY,
      deployments: [
        deployment({ id: 1, deployment_age_seconds: 80 * DAY, ttl_seconds: 90 * DAY, stage: "due" }),
        deployment({ id: 2, deployment_age_seconds: 28 * DAY, ttl_seconds: 30 * DAY, stage: "due" }),
        deployment({ id: 3, deployment_age_seconds: 200 * DAY, ttl_seconds: 365 * DAY, stage: "fresh" }),
        deployment({ id: 4, deployment_age_seconds: 100 * DAY, ttl_seconds: 110 * DAY, stage: "fresh" }),
      ],
      alerts: [],
    });
    expect(report.teams[0]?.due.map((d) => [d.deployment_id, d.expires_in_seconds])).toEqual([
      [2, 2 * DAY],
      [1, 10 * DAY],
      [4, 10 * DAY],
    ]);
  });

  it("reads forecast breaches from the deployment's forecast within 14 days, else from an open forecast_breach finding", () => {
    const soon = {
      metric: "auc",
      breach_at: "2026-12-12T09:00:00.000Z",
      breach_in_seconds: 5 * DAY,
      interval_seconds: [3 * DAY, null] as [number, null],
      slope_per_day: -0.004,
      source: "forecast" as const,
      reason: null,
    };
    const report = composeRotReport({
      now: NOW,
      since_seconds: 7 * DAY,
      deployments: [
        deployment({ id: 1, forecast: soon }),
        deployment({ id: 2, forecast: { ...soon, breach_in_seconds: 40 * DAY } }),
        deployment({ id: 3 }),
      ],
      alerts: [
        alert({
          deployment_id: 3,
          kind: "forecast_breach",
          detail: {
            metric: "auc",
            breach_at: "2026-12-10T09:00:00.000Z",
            breach_in_seconds: 999,
            interval_seconds: [DAY, 6 * DAY],
            slope_per_day: -0.01,
            reason: "loses 0.01 a day",
          },
        }),
        alert({ deployment_id: 2, kind: "forecast_breach", state: "resolved", detail: soon }),
      ],
    });
    expect(report.teams[0]?.forecast_breaches).toEqual([
      expect.objectContaining({
        deployment_id: 3,
        breach_in_seconds: 3 * DAY,
        source: "finding",
        interval_seconds: [DAY, 6 * DAY],
      }),
      expect.objectContaining({ deployment_id: 1, breach_in_seconds: 5 * DAY, source: "forecast" }),
    ]);
  });

  it("a finding's detail that lacks its breach time is no forecast, not a NaN", () => {
    expect(forecastFromDetail({ metric: "auc" }, NOW)).toBeUndefined();
    expect(forecastFromDetail({ metric: "auc", breach_at: "soon" }, NOW)).toBeUndefined();
  });

  it("lists what is degraded or drifted now, and what was in the period and recovered, with its numbers", () => {
    const report = composeRotReport({
      now: NOW,
      since_seconds: 7 * DAY,
      deployments: [
        deployment({
          id: 1,
          performance: { state: "degraded", metric: "auc", value: 0.88, target: 0.92, drop: 0.05 },
        }),
        deployment({
          id: 2,
          performance: { state: "ok", metric: "auc", value: 0.95, target: 0.92, drop: 0 },
        }),
        deployment({ id: 3, drift: { state: "drifted", share: 0.6 } }),
      ],
      alerts: [
        alert({
          deployment_id: 2,
          kind: "degraded",
          state: "resolved",
          resolution: "cleared",
          resolved_at: NOW - 3600_000,
          detail: { metric: "auc", value: 0.9, threshold: 0.92 },
        }),
        // Before the period: not listed.
        alert({ deployment_id: 4, kind: "drifted", opened_at: NOW - 30 * DAY * 1000 }),
      ],
    });
    const [team] = report.teams;
    expect(team?.degraded).toEqual([
      expect.objectContaining({ deployment_id: 1, current: true, value: 0.88, target: 0.92, drop: 0.05 }),
      expect.objectContaining({
        deployment_id: 2,
        current: false,
        in_period: true,
        value: 0.9,
        target: 0.92,
      }),
    ]);
    expect(team?.drifted).toEqual([expect.objectContaining({ deployment_id: 3, current: true, share: 0.6 })]);
  });

  it("names the oldest models and the stalest data, each list at most five, one team at a time", () => {
    const deployments = Array.from({ length: 7 }, (_, i) =>
      deployment({ id: i + 1, deployment_age_seconds: (i + 1) * DAY, data_age_seconds: (10 - i) * DAY }),
    );
    deployments.push(deployment({ id: 99, owner_team: "growth", deployment_age_seconds: 500 * DAY }));
    const report = composeRotReport({ now: NOW, since_seconds: 7 * DAY, deployments, alerts: [] });
    expect(report.teams.map((t) => [t.owner_team, t.live])).toEqual([
      ["growth", 1],
      ["risk", 7],
    ]);
    const risk = report.teams[1];
    expect(risk?.oldest.map((o) => o.deployment_id)).toEqual([7, 6, 5, 4, 3]);
    expect(risk?.stalest_data.map((o) => o.deployment_id)).toEqual([1, 2, 3, 4, 5]);
  });
});

describe("the rot report's renderings", () => {
  const report = composeRotReport({
    now: NOW,
    since_seconds: 7 * DAY,
    deployments: [
      deployment({
        id: 12,
        model: "fraud|gbm",
        deployment_age_seconds: 41 * DAY,
        ttl_seconds: 30 * DAY,
        stage: "expired",
      }),
    ],
    alerts: [],
  });

  it("text: an aligned table per section with human units, and `none` for an empty one", () => {
    const text = renderReportText(report);
    expect(text).toContain("== risk ==  1 live; 1 expired");
    expect(text).toContain(
      "Expired (1)\n  ID  MODEL      VERSION  ENV         AGE  TTL  OVERDUE  EXPIRED AT",
    );
    expect(text).toContain("\n  12  fraud|gbm  1.0.0    production  41d  30d      11d  2026-11-26 09:00Z");
    expect(text).toContain("Degraded (0)  none");
  });

  it("markdown: headings and pipe tables a ticket renders, a `|` in a name escaped", () => {
    const markdown = renderReportMarkdown(report);
    expect(markdown).toContain("## risk\n");
    expect(markdown).toContain("### Expired (1)\n\n| ID | Model | Version | Env | Age | TTL | Overdue |");
    expect(markdown).toContain("|---:|---|---|---|---:|---:|---:|---|---|");
    expect(markdown).toContain("| 12 | fraud\\|gbm | 1.0.0 | production | 41d | 30d | 11d |");
    expect(markdown).toContain("### Degraded (0)\n\n_None._");
  });

  it("chat lines: one sentence per item, empty sections left out", () => {
    const team = report.teams[0];
    if (!team) throw new Error("one team");
    expect(teamLines(report, team)).toEqual([
      { title: "Expired (1)", lines: ["fraud|gbm 1.0.0 (production, #12): 41d old, TTL 30d, 11d overdue"] },
      { title: "Oldest models (1)", lines: ["fraud|gbm 1.0.0 (production, #12): 41d of 30d (137%)"] },
      { title: "Stalest training data (1)", lines: ["fraud|gbm 1.0.0 (production, #12): data 20d old"] },
    ]);
  });
});
