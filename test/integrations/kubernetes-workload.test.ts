import { describe, expect, it } from "vitest";
import { reconcileWorkloads } from "../../src/integrations/kubernetes/kubernetes-reconcile.js";
import { readWorkload, type Workload } from "../../src/integrations/kubernetes/kubernetes-workload.js";
import { deploymentOf, inferenceServiceOf, statefulSetOf } from "../support/fake-kubernetes.js";

const NOW = Date.parse("2026-06-01T12:00:00Z");
const read = (kind: Parameters<typeof readWorkload>[0], object: unknown) =>
  readWorkload(kind, object, { environment: "production", now: NOW });
const workload = (kind: Parameters<typeof readWorkload>[0], object: unknown): Workload => {
  const outcome = read(kind, object);
  if (!("workload" in outcome)) throw new Error(outcome.skipped);
  return outcome.workload;
};
const full = { model: "fraud-gbm", version: "3.2.0", cutoff: "2026-01-31", team: "risk" };

describe("a Deployment's rollout, as kubectl rollout status judges it", () => {
  it("is available at its Progressing condition's NewReplicaSetAvailable update, exactly", () => {
    const w = workload(
      "Deployment",
      deploymentOf({ name: "a", ...full, rollout: { available: "2026-05-30T08:15:00Z" } }),
    );
    expect(w.rollout).toEqual({
      state: "available",
      since: Date.parse("2026-05-30T08:15:00Z"),
      basis: "exact",
    });
    expect(w).toMatchObject({
      ref: "deployment/ml/a",
      model_version: "3.2.0",
      owner_team: "risk",
      environment: "production",
    });
  });

  it("is in progress while the controller has not observed the latest generation, even with every replica available", () => {
    const o = deploymentOf({ name: "a", ...full, rollout: { available: "2026-05-30T08:15:00Z" } });
    o.metadata.generation = 3;
    expect(workload("Deployment", o).rollout).toEqual({
      state: "progressing",
      detail: "the controller has not acted on the latest spec yet",
    });
  });

  it("is in progress while old replicas are still terminating, and while updated ones are not yet available", () => {
    const terminating = deploymentOf({ name: "a", ...full, rollout: { available: "2026-05-30T08:15:00Z" } });
    terminating.status.replicas = 4;
    expect(workload("Deployment", terminating).rollout).toEqual({
      state: "progressing",
      detail: "1 old replicas pending termination",
    });
    const unavailable = deploymentOf({ name: "a", ...full, rollout: { available: "2026-05-30T08:15:00Z" } });
    unavailable.status.availableReplicas = 2;
    expect(workload("Deployment", unavailable).rollout).toEqual({
      state: "progressing",
      detail: "2 of 3 updated replicas available",
    });
  });

  it("has failed past its progress deadline", () => {
    expect(
      workload("Deployment", deploymentOf({ name: "a", ...full, rollout: "failed" })).rollout.state,
    ).toBe("failed");
  });

  it("without a progress deadline (no Progressing condition), is dated by Available's last transition", () => {
    const o = deploymentOf({ name: "a", ...full, rollout: { available: "2026-05-30T08:15:00Z" } });
    o.status.conditions = o.status.conditions.filter((c: { type: string }) => c.type !== "Progressing");
    expect(workload("Deployment", o).rollout).toEqual({
      state: "available",
      since: Date.parse("2026-01-05T09:00:00Z"),
      basis: "exact",
    });
  });

  it("with no condition at all, is dated by the sync that sees it (discovered)", () => {
    const o = deploymentOf({ name: "a", ...full, rollout: { available: "2026-05-30T08:15:00Z" } });
    delete o.status.conditions;
    expect(workload("Deployment", o).rollout).toEqual({
      state: "available",
      since: NOW,
      basis: "discovered",
    });
  });

  it("serves nothing scaled to zero or being deleted", () => {
    expect(
      workload(
        "Deployment",
        deploymentOf({ name: "a", ...full, replicas: 0, rollout: { available: "2026-05-30T08:15:00Z" } }),
      ).rollout,
    ).toEqual({
      state: "idle",
      detail: "scaled to zero",
    });
    const deleting = deploymentOf({ name: "a", ...full, rollout: { available: "2026-05-30T08:15:00Z" } });
    deleting.metadata.deletionTimestamp = "2026-06-01T11:00:00Z";
    expect(workload("Deployment", deleting).rollout).toEqual({ state: "idle", detail: "being deleted" });
  });
});

describe("StatefulSets and InferenceServices", () => {
  it("a StatefulSet is rolled out when its update revision is current and every replica ready, dated by the sync", () => {
    expect(
      workload("StatefulSet", statefulSetOf({ name: "s", ...full, rollout: { available: "" } })).rollout,
    ).toEqual({
      state: "available",
      since: NOW,
      basis: "discovered",
    });
    expect(
      workload("StatefulSet", statefulSetOf({ name: "s", ...full, rollout: "progressing" })).rollout,
    ).toEqual({
      state: "progressing",
      detail: "1 of 2 replicas updated",
    });
  });

  it("an InferenceService serves from its Ready condition's last transition to True, at its URL; not ready is a rollout under way", () => {
    const ready = workload(
      "InferenceService",
      inferenceServiceOf({ name: "i", ...full, rollout: { available: "2026-05-20T00:00:00Z" } }),
    );
    expect(ready.rollout).toEqual({
      state: "available",
      since: Date.parse("2026-05-20T00:00:00Z"),
      basis: "exact",
    });
    expect(ready.endpoint).toBe("http://i.ml.example.com");
    expect(
      workload("InferenceService", inferenceServiceOf({ name: "i", ...full, rollout: "failed" })).rollout,
    ).toEqual({
      state: "progressing",
      detail: "not ready: RevisionMissing: Revision is not ready yet",
    });
  });
});

describe("what a labelled object says, and what is skipped", () => {
  it("takes the environment from its annotation, else the default; refuses one that is no environment's name", () => {
    expect(
      workload(
        "Deployment",
        deploymentOf({ name: "a", ...full, environment: "staging", rollout: "progressing" }),
      ).environment,
    ).toBe("staging");
    expect(
      read(
        "Deployment",
        deploymentOf({ name: "a", ...full, environment: "Prod EU", rollout: "progressing" }),
      ),
    ).toEqual({
      skipped: 'deployment/ml/a: tenure.dev/environment "Prod EU" is not an environment\'s name',
    });
  });

  it("skips a workload an operator manages (it is read where it is declared), one with an empty model label, and an unreadable object", () => {
    const owned = deploymentOf({ name: "a", ...full, rollout: "progressing" });
    owned.metadata.ownerReferences = [
      { kind: "InferenceService", name: "fraud", controller: true, apiVersion: "x", uid: "u" },
    ];
    expect(read("Deployment", owned)).toEqual({
      skipped: "deployment/ml/a: managed by InferenceService fraud, read there",
    });
    expect(
      read("Deployment", deploymentOf({ name: "a", ...full, model: "", rollout: "progressing" })),
    ).toEqual({
      skipped: "deployment/ml/a: its tenure.dev/model label is empty: no model to name",
    });
    expect(read("Deployment", { metadata: { namespace: "ml", name: "x", labels: "nope" } })).toMatchObject({
      skipped: expect.stringMatching(/^a Deployment ml\/x that cannot be read: /),
    });
  });
});

describe("reconciling workloads with the registry's live primaries", () => {
  const live = (id: number, model: string, version: string, ref: string) => ({
    id,
    model,
    environment: "production",
    model_version: version,
    deployment_date: NOW - 86_400_000,
    tags: { "tenure.dev/source": "kubernetes", "tenure.dev/source-ref": ref },
  });

  it("keeps the newest rollout first when two workloads serve one model, so the plan reports the other as a conflict", () => {
    const older = workload(
      "Deployment",
      deploymentOf({ name: "blue", ...full, rollout: { available: "2026-05-01T00:00:00Z" } }),
    );
    const newer = workload(
      "Deployment",
      deploymentOf({
        name: "green",
        ...full,
        version: "3.3.0",
        rollout: { available: "2026-05-20T00:00:00Z" },
      }),
    );
    const r = reconcileWorkloads([older, newer], { namespace: null, environment: "production", absent: [] });
    expect(r.observations.map((o) => o.ref)).toEqual(["deployment/ml/green", "deployment/ml/blue"]);
  });

  it("does not call a workload that serves the registry's live version a ghost for lacking annotations", () => {
    const w = workload(
      "Deployment",
      deploymentOf({
        name: "a",
        model: "fraud-gbm",
        version: "3.2.0",
        rollout: { available: "2026-05-01T00:00:00Z" },
      }),
    );
    const r = reconcileWorkloads([w], { namespace: null, environment: "production", absent: [] });
    expect(r.findings([live(1, "fraud-gbm", "3.2.0", "deployment/ml/a")])).toEqual([]);
    expect(r.findings([])).toEqual([expect.objectContaining({ kind: "ghost" })]);
  });

  it("judges zombies only among registrations from this cluster's kinds and namespace, and not while a rollout keeps old replicas serving", () => {
    const rolling = workload(
      "Deployment",
      deploymentOf({ name: "b", ...full, model: "ranker", rollout: "progressing" }),
    );
    const r = reconcileWorkloads([rolling], {
      namespace: "ml",
      environment: "production",
      absent: ["InferenceService"],
    });
    expect(r.zombieScope(live(1, "fraud-gbm", "3.2.0", "deployment/ml/a"))).toBe(true);
    expect(r.zombieScope(live(2, "ranker", "7", "deployment/ml/b"))).toBe(false);
    expect(r.zombieScope(live(3, "churn", "1", "deployment/other/c"))).toBe(false);
    expect(r.zombieScope(live(4, "upsell", "1", "inferenceservice/ml/d"))).toBe(false);
    expect(r.zombieScope({ ...live(5, "by-hand", "1", "deployment/ml/e"), tags: {} })).toBe(false);
  });
});
