import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { Io } from "../../src/cli/io.js";
import { main } from "../../src/cli/main.js";
import { type Context, openContext } from "../../src/context.js";
import { EgressPolicy } from "../../src/egress-policy.js";
import { loadKubeConfig } from "../../src/integrations/kubernetes/kube-config.js";
import { KubernetesApi } from "../../src/integrations/kubernetes/kubernetes-api.js";
import { fingerprintOf } from "../../src/integrations/kubernetes/kubernetes-reconcile.js";
import { WorkloadWatcher } from "../../src/integrations/kubernetes/kubernetes-watcher.js";
import type { SyncReport } from "../../src/integrations/sync-applier.js";
import type { Actor } from "../../src/registry/actor.js";
import { createTestDatabase, dialects, type TestDatabase } from "../support/databases.js";
import {
  daysAgo,
  deploymentOf,
  type FakeKubernetes,
  inferenceServiceOf,
  kubeTime,
  registrable,
  startFakeKubernetes,
  statefulSetOf,
  TRAINING_CUTOFF,
} from "../support/fake-kubernetes.js";
import { pollUntil } from "../support/process.js";

const ACTOR: Actor = { name: "test", key_scope: "test", team: null };

describe.each(dialects())(
  "tenure sync kubernetes against a cluster's API, on %s",
  { timeout: 60_000 },
  (dialect) => {
    let database: TestDatabase;
    let context: Context;
    let cluster: FakeKubernetes;

    beforeEach(async () => {
      database = await createTestDatabase(dialect);
      context = await openContext(database.url);
      cluster = await startFakeKubernetes();
    });
    afterEach(async () => {
      await cluster.close();
      await context.close();
      await database.drop();
    });

    /** The CLI in this process, on the test's database, with KUBECONFIG pointing at the fake cluster. */
    async function sync(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
      return syncWithKubeconfig({}, args);
    }

    /** `sync`, with the kubeconfig's token or current context changed. */
    async function syncWithKubeconfig(
      kubeconfig: { token?: string; current?: string },
      args: string[],
    ): Promise<{ code: number; stdout: string; stderr: string }> {
      let stdout = "";
      let stderr = "";
      const io: Io = {
        out: (text) => {
          stdout += text;
        },
        err: (text) => {
          stderr += text;
        },
        env: { KUBECONFIG: cluster.writeKubeconfig(kubeconfig), TENURE_ALLOW_PRIVATE_EGRESS: "1" },
      };
      const code = await main(
        ["node", "tenure", "sync", "kubernetes", ...args, "--database", database.url],
        io,
      );
      return { code, stdout, stderr };
    }

    async function syncReport(...args: string[]): Promise<SyncReport> {
      const run = await sync("--json", ...args);
      expect(run.code, run.stderr).toBe(0);
      return JSON.parse(run.stdout) as SyncReport;
    }

    async function live(model: string, environment = "production") {
      const page = await context.registry.list({
        model,
        environment,
        status: "active",
        sort: "-age",
        limit: 10,
      });
      return page.items;
    }

    it("registers a Deployment when its rollout is available, at the time its Progressing condition says (exact), tagged with where it came from", async () => {
      const rolledOut = daysAgo(3);
      cluster.deploy(registrable("fraud-gbm", "3.2.0", { available: rolledOut }));

      const report = await syncReport();

      expect(report.registered).toEqual([
        expect.objectContaining({
          model: "fraud-gbm",
          model_version: "3.2.0",
          environment: "production",
          deployment_date: new Date(rolledOut).toISOString(),
          basis: "exact",
          supersedes: null,
          ref: "deployment/ml/fraud-gbm",
        }),
      ]);
      const [deployment] = await live("fraud-gbm");
      expect(deployment).toMatchObject({
        model_version: "3.2.0",
        owner_team: "risk",
        deployment_date: new Date(rolledOut).toISOString(),
        tags: {
          "tenure.dev/source": "kubernetes",
          "tenure.dev/source-ref": "deployment/ml/fraud-gbm",
          "tenure.dev/deployment-date-basis": "exact",
        },
      });
      // The list asked the API for labelled workloads only, across all namespaces.
      const lists = cluster.requests.filter((r) => !r.watch);
      expect(lists.map((r) => r.path)).toEqual([
        "/apis/apps/v1/deployments",
        "/apis/apps/v1/statefulsets",
        "/apis/serving.kserve.io/v1beta1/inferenceservices",
      ]);
      expect(lists.every((r) => r.query.get("labelSelector") === "tenure.dev/model")).toBe(true);
    });

    it("does not register a rollout still in progress: it is reported pending, and registered at its own time once available", async () => {
      cluster.deploy(registrable("fraud-gbm", "3.2.0", "progressing"));

      const first = await syncReport();
      expect(first.registered).toEqual([]);
      expect(first.findings).toEqual([]);
      expect(first.pending).toEqual([
        {
          ref: "deployment/ml/fraud-gbm",
          model: "fraud-gbm",
          model_version: "3.2.0",
          environment: "production",
          detail: "1 of 3 replicas updated",
        },
      ]);
      expect(await live("fraud-gbm")).toEqual([]);

      const rolledOut = kubeTime(Date.now() - 60_000);
      cluster.deploy(registrable("fraud-gbm", "3.2.0", { available: rolledOut }));
      const second = await syncReport();
      expect(second.pending).toEqual([]);
      expect(second.registered).toEqual([
        expect.objectContaining({
          model_version: "3.2.0",
          deployment_date: new Date(rolledOut).toISOString(),
          basis: "exact",
        }),
      ]);
    });

    it("changes nothing on a second sync of the same cluster", async () => {
      cluster.deploy(registrable("fraud-gbm", "3.2.0", { available: daysAgo(1) }));
      await syncReport();
      const events = await context.registry.events((await live("fraud-gbm"))[0]?.id ?? 0);

      const again = await syncReport();

      expect(again).toMatchObject({ observed: 1, registered: [], unchanged: 1, findings: [], errors: [] });
      const [deployment] = await live("fraud-gbm");
      expect(await context.registry.events(deployment?.id ?? 0)).toEqual(events);
    });

    it("registers a new version rolled out as superseding the one before it, at the new rollout's time", async () => {
      const first = daysAgo(10);
      const second = daysAgo(1);
      cluster.deploy(registrable("fraud-gbm", "3.2.0", { available: first }));
      await syncReport();
      const [old] = await live("fraud-gbm");

      cluster.deploy(registrable("fraud-gbm", "3.3.0", { available: second }, { generation: 3 }));
      const report = await syncReport();

      expect(report.registered).toEqual([
        expect.objectContaining({
          model_version: "3.3.0",
          deployment_date: new Date(second).toISOString(),
          basis: "exact",
          supersedes: { id: old?.id, model_version: "3.2.0" },
        }),
      ]);
      expect((await live("fraud-gbm")).map((d) => d.model_version)).toEqual(["3.3.0"]);
      expect((await context.registry.get(old?.id ?? 0)).status).toBe("superseded");
    });

    it("reads StatefulSets (dated by the sync that sees them rolled out) and InferenceServices (dated by Ready, with their URL), in the environment their annotation names", async () => {
      const ready = daysAgo(2);
      cluster.apply("StatefulSet", statefulSetOf(registrable("ranker", "7", { available: "" })));
      cluster.apply(
        "InferenceService",
        inferenceServiceOf(
          registrable(
            "churn",
            "1.4.0",
            { available: ready },
            { namespace: "serving", environment: "staging" },
          ),
        ),
      );
      const before = Date.now();

      const report = await syncReport();

      const byModel = Object.fromEntries(report.registered.map((r) => [r.model, r]));
      expect(byModel.ranker).toMatchObject({
        ref: "statefulset/ml/ranker",
        basis: "discovered",
        environment: "production",
      });
      expect(Date.parse(byModel.ranker?.deployment_date ?? "")).toBeGreaterThanOrEqual(
        Math.floor(before / 1000) * 1000,
      );
      expect(byModel.churn).toMatchObject({
        ref: "inferenceservice/serving/churn",
        basis: "exact",
        environment: "staging",
        deployment_date: new Date(ready).toISOString(),
      });
      const [churn] = await live("churn", "staging");
      expect(churn?.endpoint).toBe("http://churn.serving.example.com");
    });

    it("reports a labelled workload that serves without its annotations as a ghost naming what is missing, and records it where GET /v1/ghosts shows it", async () => {
      cluster.deploy({
        name: "upsell",
        model: "upsell",
        version: "0.9.0",
        rollout: { available: daysAgo(1) },
      });

      const report = await syncReport();

      expect(report.registered).toEqual([]);
      expect(report.findings).toEqual([
        {
          kind: "ghost",
          ref: "deployment/ml/upsell",
          model: "upsell",
          environment: "production",
          model_version: "0.9.0",
          detail: "lacks tenure.dev/training-data-cutoff, tenure.dev/owner-team",
        },
      ]);
      const ghosts = await context.traffic.ghosts({ limit: 10 });
      expect(ghosts.items).toEqual([
        expect.objectContaining({
          model: "upsell",
          environment: "production",
          requests: 0,
          last_gateway: "sync:kubernetes",
        }),
      ]);
    });

    it("reports a workload serving another version than the registry's, without the annotations to register it, as a ghost and a version mismatch", async () => {
      const { deployment } = await context.registry.register(
        {
          model: "fraud-gbm",
          model_version: "3.2.0",
          training_data_cutoff: TRAINING_CUTOFF,
          owner_team: "risk",
          environment: "production",
          role: "primary",
          deployment_date: daysAgo(20),
        },
        ACTOR,
      );
      cluster.deploy({
        name: "fraud-gbm",
        model: "fraud-gbm",
        version: "3.3.0",
        team: "risk",
        rollout: { available: daysAgo(1) },
      });

      const report = await syncReport();

      expect(report.findings).toEqual([
        expect.objectContaining({
          kind: "ghost",
          model_version: "3.3.0",
          detail: "lacks tenure.dev/training-data-cutoff",
        }),
        {
          kind: "version_mismatch",
          ref: "deployment/ml/fraud-gbm",
          deployment_id: deployment.id,
          model: "fraud-gbm",
          environment: "production",
          registered_version: "3.2.0",
          serving_version: "3.3.0",
        },
      ]);
      expect((await live("fraud-gbm")).map((d) => d.model_version)).toEqual(["3.2.0"]);
    });

    it("reports a failed rollout of another version than the live primary's as a version mismatch, and one in progress as pending only", async () => {
      cluster.deploy(registrable("fraud-gbm", "3.2.0", { available: daysAgo(5) }));
      cluster.deploy(registrable("ranker", "7", { available: daysAgo(5) }));
      await syncReport();
      const [fraud] = await live("fraud-gbm");

      cluster.deploy(registrable("fraud-gbm", "3.3.0", "failed"));
      cluster.deploy(registrable("ranker", "8", "progressing"));
      const report = await syncReport();

      expect(report.registered).toEqual([]);
      expect(report.findings).toEqual([
        expect.objectContaining({
          kind: "version_mismatch",
          ref: "deployment/ml/fraud-gbm",
          deployment_id: fraud?.id,
          registered_version: "3.2.0",
          serving_version: "3.3.0",
        }),
      ]);
      expect(report.pending.map((p) => [p.ref, p.detail])).toEqual([
        [
          "deployment/ml/fraud-gbm",
          'rollout failed: ReplicaSet "fraud-gbm-5f6d7c8b9a" has timed out progressing.',
        ],
        ["deployment/ml/ranker", "1 of 3 replicas updated"],
      ]);
    });

    it("reports a live primary registered from the cluster whose workload is gone (or scaled to zero) as a zombie, and not one registered by hand or outside --namespace", async () => {
      cluster.deploy(registrable("fraud-gbm", "3.2.0", { available: daysAgo(5) }));
      cluster.deploy(registrable("ranker", "7", { available: daysAgo(5) }));
      cluster.deploy(registrable("churn", "2", { available: daysAgo(5) }, { namespace: "other" }));
      await syncReport();
      await context.registry.register(
        {
          model: "by-hand",
          model_version: "1",
          training_data_cutoff: TRAINING_CUTOFF,
          owner_team: "risk",
          environment: "production",
          role: "primary",
        },
        ACTOR,
      );
      const [fraud] = await live("fraud-gbm");
      const [ranker] = await live("ranker");

      cluster.remove("Deployment", "ml", "fraud-gbm");
      cluster.deploy(registrable("ranker", "7", { available: daysAgo(5) }, { replicas: 0 }));
      cluster.remove("Deployment", "other", "churn");
      const report = await syncReport("--namespace", "ml");

      expect([...report.findings].sort((a, b) => a.ref.localeCompare(b.ref))).toEqual([
        {
          kind: "zombie",
          ref: "deployment/ml/fraud-gbm",
          deployment_id: fraud?.id,
          model: "fraud-gbm",
          environment: "production",
          model_version: "3.2.0",
        },
        {
          kind: "zombie",
          ref: "deployment/ml/ranker",
          deployment_id: ranker?.id,
          model: "ranker",
          environment: "production",
          model_version: "7",
        },
      ]);
      expect(report.notes).toContain("deployment/ml/ranker: scaled to zero, serves nothing");
      expect(cluster.requests.filter((r) => !r.watch).at(-1)?.path).toBe(
        "/apis/serving.kserve.io/v1beta1/namespaces/ml/inferenceservices",
      );
    });

    it("skips InferenceServices with a note when the cluster lacks KServe's CRD, and syncs the rest", async () => {
      cluster.serveInferenceServices = false;
      cluster.deploy(registrable("fraud-gbm", "3.2.0", { available: daysAgo(1) }));

      const report = await syncReport();

      expect(report.registered.map((r) => r.model)).toEqual(["fraud-gbm"]);
      expect(report.notes).toEqual([
        "the cluster does not serve serving.kserve.io/v1beta1 (its CRD is not installed): no InferenceService was read",
      ]);
    });

    it("registers nothing and records no ghost in a dry run, and says what it would do", async () => {
      cluster.deploy(registrable("fraud-gbm", "3.2.0", { available: daysAgo(1) }));
      cluster.deploy({ name: "upsell", model: "upsell", rollout: { available: daysAgo(1) } });

      const run = await sync("--dry-run");

      expect(run.code, run.stderr).toBe(0);
      expect(run.stdout).toContain(
        "kubernetes (dry run): 1 serving, 1 would register, 0 unchanged, 1 to look at",
      );
      expect(run.stdout).toMatch(
        /\+ fraud-gbm 3\.2\.0 in production; since .* \(exact\) \[deployment\/ml\/fraud-gbm\]/,
      );
      expect(run.stdout).toContain(
        "ghost: upsell serves in production [deployment/ml/upsell] but is not registered: lacks tenure.dev/model-version, tenure.dev/training-data-cutoff, tenure.dev/owner-team",
      );
      expect(await live("fraud-gbm")).toEqual([]);
      expect((await context.traffic.ghosts({ limit: 10 })).items).toEqual([]);
    });

    it("reads every page of a large list and rides out a throttled (429, Retry-After) and a failing (500) API", async () => {
      for (let i = 0; i < 520; i++) {
        cluster.deploy(
          registrable(`model-${i}`, "1", "progressing", { name: `model-${String(i).padStart(3, "0")}` }),
        );
      }
      cluster.failLists(1, 429, { "retry-after": "1" });

      const report = await syncReport();

      expect(report.pending).toHaveLength(520);
      const deploymentLists = cluster.requests.filter((r) => r.path === "/apis/apps/v1/deployments");
      expect(deploymentLists.map((r) => r.query.has("continue"))).toEqual([false, false, true]);
      expect(deploymentLists.every((r) => r.query.get("limit") === "500")).toBe(true);

      cluster.failLists(2, 500);
      const run = await sync("--json");
      expect(run.code, run.stderr).toBe(0);
      expect(run.stderr).toContain(
        "GET /apis/apps/v1/deployments: HTTP 500: internal error; trying again in",
      );
    });

    it("fails with the API's own words when it refuses the token, and never prints the token", async () => {
      const { code, stderr } = await syncWithKubeconfig({ token: "wrong-token-123" }, []);
      expect(code).toBe(1);
      expect(stderr).toBe("tenure: GET /apis/apps/v1/deployments failed: HTTP 401\n");
      expect(stderr).not.toContain("wrong-token-123");
    });
  },
);

describe("following a cluster: list, then watch from the list's resourceVersion", { timeout: 30_000 }, () => {
  let cluster: FakeKubernetes;
  let stop: AbortController;
  const logged: string[] = [];

  beforeEach(async () => {
    cluster = await startFakeKubernetes();
    stop = new AbortController();
    logged.length = 0;
  });
  afterEach(async () => {
    stop.abort();
    await cluster.close();
  });

  function follow(): { watcher: WorkloadWatcher; versions: () => Promise<string[]> } {
    const api = new KubernetesApi(loadKubeConfig({ KUBECONFIG: cluster.writeKubeconfig() }), {
      egress: EgressPolicy.allowPrivate(),
      namespace: null,
    });
    const watcher = new WorkloadWatcher(api, {
      fingerprint: (snapshot) => fingerprintOf(snapshot, "production"),
      debounceMs: 50,
      baseDelayMs: 20,
      maxDelayMs: 100,
      log: (line) => logged.push(line),
    });
    const versions = async () => {
      const snapshot = await watcher.snapshot(stop.signal);
      return snapshot.objects
        .map(({ object }) => {
          const o = object as { metadata: { name: string; annotations?: Record<string, string> } };
          return `${o.metadata.name}@${o.metadata.annotations?.["tenure.dev/model-version"]}`;
        })
        .sort();
    };
    return { watcher, versions };
  }

  it("wakes for a rollout that becomes available, not for a status update that changes nothing a sync reads", async () => {
    cluster.deploy(registrable("fraud-gbm", "3.3.0", "progressing"));
    const { watcher, versions } = follow();
    expect(await versions()).toEqual(["fraud-gbm@3.3.0"]);
    await pollUntil("the watches to open", () => (cluster.watching() === 3 ? true : undefined));
    const watches = cluster.requests.filter((r) => r.watch);
    expect(
      watches.every(
        (r) => r.query.get("resourceVersion") === "101" && r.query.get("allowWatchBookmarks") === "true",
      ),
    ).toBe(true);

    let woke = false;
    const next = watcher.next(stop.signal, false).then((due) => {
      woke = due;
    });
    // Churn: another replica becomes ready, the rollout still in progress.
    const churn = deploymentOf(registrable("fraud-gbm", "3.3.0", "progressing"));
    churn.status.readyReplicas = 2;
    cluster.apply("Deployment", churn);
    cluster.bookmark();
    // Nothing to poll for: it must not wake. Six debounce periods is long enough to have woken.
    await new Promise((r) => setTimeout(r, 300));
    expect(woke).toBe(false);

    cluster.deploy(registrable("fraud-gbm", "3.3.0", { available: kubeTime(Date.now()) }));
    await next;
    expect(woke).toBe(true);
  });

  it("lists again when its resourceVersion has expired (410 Gone), so what changed meanwhile, deletions included, is seen", async () => {
    cluster.deploy(registrable("a", "1", "progressing"));
    cluster.deploy(registrable("b", "1", "progressing"));
    const { versions } = follow();
    expect(await versions()).toEqual(["a@1", "b@1"]);
    await pollUntil("the watches to open", () => (cluster.watching() === 3 ? true : undefined));

    // The connection drops; meanwhile b is deleted and the server forgets that history.
    cluster.dropWatches();
    cluster.remove("Deployment", "ml", "b");
    cluster.deploy(registrable("c", "1", "progressing"));
    cluster.compact();

    await pollUntil("the list after 410 Gone", async () => {
      const now = await versions();
      return now.join() === "a@1,c@1" ? now : undefined;
    });
    const deploymentRequests = cluster.requests.filter((r) => r.path === "/apis/apps/v1/deployments");
    expect(deploymentRequests.filter((r) => !r.watch)).toHaveLength(2);
  });

  it("opens a dropped watch again from the last resourceVersion it saw, missing nothing", async () => {
    cluster.deploy(registrable("a", "1", "progressing"));
    const { versions } = follow();
    await versions();
    await pollUntil("the watches to open", () => (cluster.watching() === 3 ? true : undefined));
    cluster.deploy(registrable("a", "2", "progressing"));
    await pollUntil("the change to arrive", async () =>
      (await versions()).join() === "a@2" ? true : undefined,
    );

    cluster.dropWatches();
    cluster.deploy(registrable("a", "3", "progressing"));

    await pollUntil("the change made while disconnected", async () =>
      (await versions()).join() === "a@3" ? true : undefined,
    );
    const rewatch = cluster.requests.filter((r) => r.watch && r.path === "/apis/apps/v1/deployments").at(-1);
    expect(rewatch?.query.get("resourceVersion")).toBe("102");
    expect(cluster.requests.filter((r) => !r.watch && r.path === "/apis/apps/v1/deployments")).toHaveLength(
      1,
    );
  });

  it("stops every watch when stopped", async () => {
    const { versions } = follow();
    await versions();
    await pollUntil("the watches to open", () => (cluster.watching() === 3 ? true : undefined));
    stop.abort();
    await pollUntil("the watches to close", () => (cluster.watching() === 0 ? true : undefined));
  });
});
