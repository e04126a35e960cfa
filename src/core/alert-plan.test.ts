import { describe, expect, it } from "vitest";
import { acknowledgedKinds, planAlerts } from "./alert-plan.js";
import type { Finding } from "./finding.js";

const DAY = 86_400_000;
const finding = (kind: Finding["kind"]): Finding => ({
  kind,
  severity: "warning",
  summary: kind,
  detail: {},
});
const evaluated = (id: number, ...kinds: Finding["kind"][]) => ({
  deployment_id: id,
  findings: kinds.map(finding),
  repeat_interval_seconds: 86_400,
});

describe("planAlerts", () => {
  it("opens an alert for a finding that has none", () => {
    const plan = planAlerts([evaluated(1, "due")], [], 10 * DAY);
    expect(plan.open).toEqual([{ deployment_id: 1, finding: finding("due") }]);
    expect(plan.remind).toEqual([]);
    expect(plan.resolve).toEqual([]);
  });

  it("does not repeat an open alert within its repeat interval: two sweeps on one day notify once", () => {
    const open = [{ id: 7, deployment_id: 1, kind: "due", last_notified_at: 10 * DAY }];
    const plan = planAlerts([evaluated(1, "due")], open, 10 * DAY + 12 * 3_600_000);
    expect(plan).toEqual({ open: [], remind: [], resolve: [] });
  });

  it("repeats an open alert once the repeat interval has passed", () => {
    const open = [{ id: 7, deployment_id: 1, kind: "due", last_notified_at: 10 * DAY }];
    const plan = planAlerts([evaluated(1, "due")], open, 11 * DAY);
    expect(plan.remind).toEqual([{ alert_id: 7, deployment_id: 1, finding: finding("due") }]);
  });

  it("resolves a due alert as escalated when the deployment expires, and opens the expired one", () => {
    const open = [{ id: 7, deployment_id: 1, kind: "due", last_notified_at: 10 * DAY }];
    const plan = planAlerts([evaluated(1, "expired")], open, 15 * DAY);
    expect(plan.open).toEqual([{ deployment_id: 1, finding: finding("expired") }]);
    expect(plan.resolve).toEqual([{ alert_id: 7, deployment_id: 1, resolution: "escalated" }]);
  });

  it("resolves an alert whose finding went away as cleared, and leaves other deployments' alerts alone", () => {
    const open = [
      { id: 7, deployment_id: 1, kind: "data_stale", last_notified_at: DAY },
      { id: 8, deployment_id: 2, kind: "due", last_notified_at: DAY },
    ];
    const plan = planAlerts([evaluated(1)], open, 2 * DAY);
    expect(plan.resolve).toEqual([{ alert_id: 7, deployment_id: 1, resolution: "cleared" }]);
  });
});

describe("planAlerts and the kinds a sweep never concludes", () => {
  it("leaves open an alert a canary or a guardrail opened, though the sweep's findings never include it", () => {
    const open = [
      { id: 1, deployment_id: 1, kind: "canary_paused", last_notified_at: 0 },
      { id: 2, deployment_id: 1, kind: "canary_failed", last_notified_at: 0 },
      { id: 3, deployment_id: 1, kind: "guardrail", last_notified_at: 0 },
      { id: 4, deployment_id: 1, kind: "silent", last_notified_at: 0 },
    ];
    const plan = planAlerts([evaluated(1, "due")], open, 2 * DAY);
    expect(plan.resolve).toEqual([{ alert_id: 4, deployment_id: 1, resolution: "cleared" }]);
    expect(plan.remind).toEqual([]);
  });
});

describe("acknowledgedKinds", () => {
  const thresholds = { due_at: 24 * DAY, expires_at: 30 * DAY };

  it("holds a review made after the threshold it crossed", () => {
    expect(acknowledgedKinds([{ kind: "due", resolved_at: 25 * DAY }], thresholds)).toEqual(new Set(["due"]));
  });

  it("lets an alert open again once an extension moved the threshold past the review", () => {
    const extended = { due_at: 48 * DAY, expires_at: 60 * DAY };
    expect(acknowledgedKinds([{ kind: "due", resolved_at: 25 * DAY }], extended)).toEqual(new Set());
  });

  it("acknowledges only age kinds, and a reviewed due alert does not silence expiry", () => {
    const reviewed = [
      { kind: "due", resolved_at: 25 * DAY },
      { kind: "silent", resolved_at: 25 * DAY },
    ];
    expect(acknowledgedKinds(reviewed, thresholds)).toEqual(new Set(["due"]));
  });

  it("opens no alert for an acknowledged kind", () => {
    const plan = planAlerts([{ ...evaluated(1, "due"), acknowledged: new Set(["due"]) }], [], 26 * DAY);
    expect(plan.open).toEqual([]);
  });
});
