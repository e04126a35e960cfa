import { mkdtempSync, rmSync } from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc, { type Arbitrary } from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { InputError } from "../../src/core/errors.js";
import { EgressPolicy } from "../../src/egress-policy.js";
import { loadKubeConfig } from "../../src/integrations/kubernetes/kube-config.js";
import { KubernetesApi } from "../../src/integrations/kubernetes/kubernetes-api.js";
import { KubernetesError } from "../../src/integrations/kubernetes/kubernetes-failures.js";
import { observedOf } from "../../src/integrations/kubernetes/kubernetes-reconcile.js";
import { listWorkloads } from "../../src/integrations/kubernetes/kubernetes-watcher.js";
import { MlflowClient, MlflowError } from "../../src/integrations/mlflow/mlflow-client.js";
import { defaultMlflowMapping } from "../../src/integrations/mlflow/mlflow-observations.js";
import { observeMlflow } from "../../src/integrations/mlflow/mlflow-source.js";
import { OutboundError } from "../../src/integrations/outbound-http.js";
import { deploymentOf, inferenceServiceOf, kubeconfigFile } from "../support/fake-kubernetes.js";
import { mangledText, mutated, NASTY_VALUES } from "../support/schema-arbitrary.js";

/** The fakes listen on 127.0.0.1: private egress is allowed here, as a test opts in. */
const egress = EgressPolicy.allowPrivate();

/*
 * What MLflow's REST API and Kubernetes' list API answer, generated and broken, fed to the sync
 * readers through a local server: each read ends (within a deadline: a server that pages forever
 * must not hold a sync forever) with observations or with the integration's own error
 * (MlflowError, KubernetesError, InputError), never a TypeError or another crash.
 */

const SEED = Number(process.env.FUZZ_SEED ?? 0x19fb);
const NOW = Date.parse("2026-11-25T12:00:00.000Z");
const DEADLINE_MS = 3000;

/** A server that answers every request with the body the property drew, per path prefix. */
interface Answering {
  url: string;
  answer: (path: string) => { status: number; body: string };
  /** Requests answered so far: a read refused before it left (egress policy) adds none. */
  answered: number;
  close(): Promise<void>;
}

async function startAnswering(): Promise<Answering> {
  const self: Answering = {
    url: "",
    answer: () => ({ status: 200, body: "{}" }),
    answered: 0,
    close: () => new Promise((done) => server.close(() => done())),
  };
  const server = http.createServer((request, response) => {
    self.answered++;
    const { status, body } = self.answer(request.url ?? "/");
    response.writeHead(status, { "content-type": "application/json" });
    response.end(body);
  });
  await new Promise<void>((done) => server.listen(0, "127.0.0.1", done));
  self.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return self;
}

/** The read's outcome: done, or the integration's own error. Any other error, or no end by the deadline, fails. */
async function settle(read: () => Promise<unknown>, own: (error: unknown) => boolean): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<"hung">((done) => {
    timer = setTimeout(() => done("hung"), DEADLINE_MS);
  });
  try {
    const result = await Promise.race([read().then(() => "done" as const), deadline]);
    if (result === "hung") throw new Error(`the read did not end within ${DEADLINE_MS} ms`);
  } catch (error) {
    if (!own(error)) throw error;
  } finally {
    clearTimeout(timer);
  }
}

const tags = fc.array(
  fc.record({
    key: fc.constantFrom("owner_team", "training_data_cutoff", "x"),
    value: fc.constantFrom("risk", "2026-09-01", ""),
  }),
  { maxLength: 3 },
);
const versions = fc.record(
  {
    name: fc.constantFrom("fraud-gbm", "Fraud GBM"),
    version: fc.oneof(fc.constantFrom("1", "2", "3"), fc.integer({ min: 1, max: 5 })),
    creation_timestamp: fc.oneof(fc.integer({ min: 0, max: NOW }), fc.constant(String(NOW - 86_400_000))),
    last_updated_timestamp: fc.integer({ min: 0, max: NOW }),
    current_stage: fc.constantFrom("None", "Staging", "Production", "Archived"),
    status: fc.constant("READY"),
    tags,
    aliases: fc.array(fc.constantFrom("champion", "challenger"), { maxLength: 2 }),
  },
  { requiredKeys: ["name", "version"] },
);
const registeredModels = fc.record(
  {
    name: fc.constantFrom("fraud-gbm", "Fraud GBM", "recsys"),
    creation_timestamp: fc.integer({ min: 0, max: NOW }),
    tags,
    aliases: fc.array(
      fc.record({ alias: fc.constantFrom("champion", "x"), version: fc.constantFrom("1", "2", "3") }),
      {
        maxLength: 2,
      },
    ),
    latest_versions: fc.array(versions, { maxLength: 2 }),
  },
  { requiredKeys: ["name"] },
);
/** Page tokens: mostly none, so that paging ends; a token makes the server repeat the same page. */
const pageTokens = fc.oneof(
  { weight: 6, arbitrary: fc.constant(undefined) },
  { weight: 1, arbitrary: fc.constantFrom("", "next") },
);

function answers<T>(valid: Arbitrary<T>): Arbitrary<string> {
  return fc.oneof(
    { weight: 4, arbitrary: valid.map((v) => JSON.stringify(v)) },
    { weight: 5, arbitrary: mutated(valid).map((v) => JSON.stringify(v) ?? "null") },
    { weight: 1, arbitrary: mangledText(valid.map((v) => JSON.stringify(v))) },
    { weight: 1, arbitrary: NASTY_VALUES.map((v) => JSON.stringify(v) ?? "") },
  );
}

const mlflowAnswers = fc.record({
  models: answers(
    fc.record(
      { registered_models: fc.array(registeredModels, { maxLength: 3 }), next_page_token: pageTokens },
      { requiredKeys: [] },
    ),
  ),
  versions: answers(
    fc.record(
      { model_versions: fc.array(versions, { maxLength: 4 }), next_page_token: pageTokens },
      { requiredKeys: [] },
    ),
  ),
  status: fc.oneof(
    { weight: 8, arbitrary: fc.constant(200) },
    { weight: 1, arbitrary: fc.constantFrom(400, 404, 204) },
  ),
});

const workloadObjects = fc.oneof(
  fc
    .record({
      name: fc.constantFrom("fraud-gbm", "recsys", ""),
      model: fc.constantFrom("fraud-gbm", "Fraud", ""),
      version: fc.constantFrom("3.2.0", "", "x y"),
      cutoff: fc.constantFrom("2026-09-01", "2026-13-40", ""),
      team: fc.constantFrom("risk", "", "RISK"),
      available: fc.boolean(),
    })
    .map((w) =>
      deploymentOf({ ...w, rollout: w.available ? { available: "2026-11-20T00:00:00Z" } : "progressing" }),
    ),
  fc
    .record({
      name: fc.constantFrom("fraud-kserve"),
      model: fc.constantFrom("fraud-gbm"),
      version: fc.constantFrom("3.3.0"),
    })
    .map((w) => inferenceServiceOf({ ...w, cutoff: "2026-09-01", team: "risk", ready: true } as never)),
);

const kubernetesAnswers = answers(
  fc.record({
    apiVersion: fc.constant("apps/v1"),
    kind: fc.constant("DeploymentList"),
    metadata: fc.record(
      { resourceVersion: fc.constantFrom("100", ""), continue: pageTokens },
      { requiredKeys: [] },
    ),
    items: fc.array(workloadObjects, { maxLength: 3 }),
  }),
);

describe("answers of MLflow's REST API and Kubernetes' list API, generated and mutated, fed to the sync readers", () => {
  let server: Answering;
  let dir: string;
  beforeAll(async () => {
    server = await startAnswering();
    dir = mkdtempSync(join(tmpdir(), "tenure-sync-fuzz-"));
  });
  afterAll(async () => {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("end the MLflow read with observations or an MlflowError, never a crash or an endless read", async () => {
    const client = new MlflowClient({ url: server.url, outbound: { attempts: 1, timeoutMs: 1000, egress } });
    await fc.assert(
      fc.asyncProperty(mlflowAnswers, async ({ models, versions, status }) => {
        server.answer = (path) => ({ status, body: path.includes("model-versions") ? versions : models });
        const before = server.answered;
        await settle(
          () => observeMlflow(client, { mapping: defaultMlflowMapping(), now: () => NOW }),
          (error) =>
            error instanceof MlflowError || error instanceof OutboundError || error instanceof InputError,
        );
        // The read reached the server: an error from a request refused before it left is no answer fuzzed.
        expect(server.answered).toBeGreaterThan(before);
      }),
      { numRuns: 200, seed: SEED, endOnFailure: true },
    );
  }, 60_000);

  function kubernetesApi(): KubernetesApi {
    const kubeconfig = kubeconfigFile(dir, { server: server.url, token: "fuzz-token" });
    return new KubernetesApi(loadKubeConfig({ KUBECONFIG: kubeconfig }), {
      egress,
      namespace: null,
      attempts: 1,
      timeoutMs: 1000,
    });
  }

  it("end the Kubernetes list with a reconciliation or a KubernetesError, never a crash or an endless list", async () => {
    const api = kubernetesApi();
    await fc.assert(
      fc.asyncProperty(kubernetesAnswers, async (body) => {
        server.answer = () => ({ status: 200, body });
        const before = server.answered;
        await settle(
          async () => {
            const snapshot = await listWorkloads(api, new AbortController().signal);
            observedOf(snapshot, { namespace: null, environment: "production" }, NOW);
          },
          (error) => error instanceof KubernetesError || error instanceof InputError,
        );
        // The list reached the server: an error from a request refused before it left is no answer fuzzed.
        expect(server.answered).toBeGreaterThan(before);
      }),
      { numRuns: 150, seed: SEED, endOnFailure: true },
    );
  }, 60_000);

  it("refuse a page token MLflow already gave, rather than page forever", async () => {
    server.answer = (path) => ({
      status: 200,
      body: path.includes("model-versions")
        ? "{}"
        : JSON.stringify({ registered_models: [], next_page_token: "again" }),
    });
    const client = new MlflowClient({ url: server.url, outbound: { attempts: 1, egress } });
    await expect(observeMlflow(client, { mapping: defaultMlflowMapping(), now: () => NOW })).rejects.toThrow(
      /page token it had given before/,
    );
  });

  it("refuse a continue token the Kubernetes API already gave, rather than list forever", async () => {
    server.answer = () => ({
      status: 200,
      body: JSON.stringify({ items: [], metadata: { continue: "again" } }),
    });
    await expect(listWorkloads(kubernetesApi(), new AbortController().signal)).rejects.toThrow(
      /continue token it had given before/,
    );
  });

  it("refuse a Kubernetes list whose items are not a list with a KubernetesError", async () => {
    for (const items of [5, { a: 1 }, "ab", true]) {
      server.answer = () => ({ status: 200, body: JSON.stringify({ items, metadata: {} }) });
      const before = server.answered;
      await expect(
        listWorkloads(kubernetesApi(), new AbortController().signal),
        JSON.stringify(items),
      ).rejects.toThrow(KubernetesError);
      // Refused for what the server answered, not for a request that never reached it.
      expect(server.answered, JSON.stringify(items)).toBeGreaterThan(before);
    }
  });
});
