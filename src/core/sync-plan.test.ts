import { describe, expect, it } from "vitest";
import { type LivePrimary, planSync, type ServingObservation } from "./sync-plan.js";

const DAY = 86_400_000;
const NOW = Date.parse("2026-12-07T00:00:00Z");

const seen = (over: Partial<ServingObservation> = {}): ServingObservation => ({
  source: "mlflow",
  ref: "models:/fraud-gbm@champion",
  model: "fraud-gbm",
  model_version: "3",
  environment: "production",
  owner_team: "risk",
  training_data_cutoff: "2026-10-01",
  since: NOW - 40 * DAY,
  basis: "version_created",
  ...over,
});

const live = (over: Partial<LivePrimary> = {}): LivePrimary => ({
  id: 7,
  model: "fraud-gbm",
  environment: "production",
  model_version: "3",
  deployment_date: NOW - 30 * DAY,
  tags: {},
  ...over,
});

describe("planSync", () => {
  it("registers a first sight at the version's creation, so its age is never understated", () => {
    const plan = planSync([seen()], [], { now: NOW });
    expect(plan.register).toEqual([
      expect.objectContaining({
        supersedes: null,
        deployment_date: NOW - 40 * DAY,
        basis: "version_created",
      }),
    ]);
    expect(plan.unchanged).toEqual([]);
  });

  it("changes nothing when the live primary already serves the observed version", () => {
    const plan = planSync([seen()], [live()], { now: NOW });
    expect(plan).toEqual({ register: [], unchanged: [seen()], findings: [] });
  });

  it("a moved alias supersedes the live primary at the time it was discovered", () => {
    const plan = planSync([seen({ model_version: "4", since: NOW - 2 * DAY })], [live()], { now: NOW });
    expect(plan.register).toEqual([
      expect.objectContaining({
        supersedes: { id: 7, model_version: "3" },
        deployment_date: NOW,
        basis: "discovered",
      }),
    ]);
  });

  it("keeps an exact time of a move, but never one before the deployment it supersedes", () => {
    const exact = planSync([seen({ model_version: "4", since: NOW - DAY, basis: "exact" })], [live()], {
      now: NOW,
    });
    expect(exact.register[0]).toMatchObject({ deployment_date: NOW - DAY, basis: "exact" });
    const before = planSync([seen({ model_version: "4", since: NOW - 90 * DAY, basis: "exact" })], [live()], {
      now: NOW,
    });
    expect(before.register[0]).toMatchObject({ deployment_date: NOW, basis: "discovered" });
  });

  it("never dates a deployment in the future", () => {
    const plan = planSync([seen({ since: NOW + DAY, basis: "exact" })], [], { now: NOW });
    expect(plan.register[0]?.deployment_date).toBe(NOW);
  });

  it("reports a version without its owner or training cutoff and never invents them", () => {
    const plan = planSync([seen({ owner_team: null, training_data_cutoff: "" })], [], { now: NOW });
    expect(plan.register).toEqual([]);
    expect(plan.findings).toEqual([
      {
        kind: "missing_metadata",
        ref: "models:/fraud-gbm@champion",
        model: "fraud-gbm",
        model_version: "3",
        missing: ["owner_team", "training_data_cutoff"],
      },
    ]);
  });

  it("names what to set in the system's own terms when the observation says where each field is kept", () => {
    const hinted = seen({
      owner_team: null,
      metadata_hints: { owner_team: "tag `team` (owner_team)" },
    });
    const plan = planSync([hinted], [], { now: NOW });
    expect(plan.findings).toEqual([
      expect.objectContaining({ missing: ["owner_team"], hints: ["tag `team` (owner_team)"] }),
    ]);
  });

  it("needs no metadata to see that the live version still serves", () => {
    const plan = planSync([seen({ owner_team: null, training_data_cutoff: null })], [live()], { now: NOW });
    expect(plan.findings).toEqual([]);
    expect(plan.unchanged).toHaveLength(1);
  });

  it("keeps the first of two observations that disagree and reports the other", () => {
    const stage = seen({ ref: "models:/fraud-gbm/Production", model_version: "2" });
    const plan = planSync([seen(), stage], [], { now: NOW });
    expect(plan.register.map((r) => r.observation.model_version)).toEqual(["3"]);
    expect(plan.findings).toEqual([
      expect.objectContaining({
        kind: "conflict",
        model_version: "2",
        kept: { ref: seen().ref, model_version: "3" },
      }),
    ]);
  });

  it("two observations of one version are one, with no conflict", () => {
    const plan = planSync([seen(), seen({ ref: "models:/fraud-gbm/Production" })], [], { now: NOW });
    expect(plan.register).toHaveLength(1);
    expect(plan.findings).toEqual([]);
  });

  it("a live primary in the sync's scope that nothing serves is a zombie; one outside is not judged", () => {
    const mine = live({
      id: 8,
      model: "churn",
      tags: { "tenure.dev/source": "mlflow", "tenure.dev/source-ref": "x" },
    });
    const other = live({ id: 9, model: "typed-by-hand" });
    const plan = planSync([seen()], [live(), mine, other], {
      now: NOW,
      zombieScope: (l) => l.tags["tenure.dev/source"] === "mlflow",
    });
    expect(plan.findings).toEqual([
      {
        kind: "zombie",
        ref: "x",
        deployment_id: 8,
        model: "churn",
        environment: "production",
        model_version: "3",
      },
    ]);
  });

  it("an environment is its own scope: the same model in staging is another deployment", () => {
    const plan = planSync([seen({ environment: "staging" })], [live()], { now: NOW });
    expect(plan.register).toEqual([expect.objectContaining({ supersedes: null })]);
  });
});
