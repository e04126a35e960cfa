import { writeFileSync } from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";

/**
 * A local server that answers the Kubernetes list and watch APIs as documented
 * (https://kubernetes.io/docs/reference/using-api/api-concepts/): collections at
 * `/apis/{group}/{version}[/namespaces/{ns}]/{plural}` filtered by `labelSelector`, paged by
 * `limit` and `continue`, answered as `{kind: "DeploymentList", metadata: {resourceVersion}}`;
 * `?watch=true&resourceVersion=N` streams newline-delimited `{"type", "object"}` events from after
 * N (ADDED, MODIFIED, DELETED, BOOKMARK when asked with allowWatchBookmarks), a version older than
 * the compacted history is an ERROR event carrying a 410 Expired Status, and an API the cluster
 * does not serve (KServe's CRD not installed) is a 404 Status. Requests need the bearer token.
 */

export type FakeKind = "Deployment" | "StatefulSet" | "InferenceService";

const KINDS: Record<FakeKind, { group: string; version: string; plural: string }> = {
  Deployment: { group: "apps", version: "v1", plural: "deployments" },
  StatefulSet: { group: "apps", version: "v1", plural: "statefulsets" },
  InferenceService: { group: "serving.kserve.io", version: "v1beta1", plural: "inferenceservices" },
};

// biome-ignore lint/suspicious/noExplicitAny: Kubernetes objects are free-form JSON here.
type KubeObject = Record<string, any>;

interface HistoryEvent {
  rv: number;
  kind: FakeKind;
  type: "ADDED" | "MODIFIED" | "DELETED";
  object: KubeObject;
  /** A MODIFIED object's state before, so a watcher can tell one that left its selector. */
  previous?: KubeObject;
}

interface Watcher {
  kind: FakeKind;
  namespace: string | null;
  selector: string | null;
  bookmarks: boolean;
  response: http.ServerResponse;
}

export interface RecordedRequest {
  path: string;
  query: URLSearchParams;
  watch: boolean;
}

export interface FakeKubernetes {
  url: string;
  token: string;
  /** Every request, in order. */
  requests: RecordedRequest[];
  /** Whether the InferenceService CRD is installed (default true). */
  serveInferenceServices: boolean;
  /** Creates or replaces an object; watchers get ADDED or MODIFIED (DELETED when it leaves their selector). */
  apply(kind: FakeKind, object: KubeObject): void;
  remove(kind: FakeKind, namespace: string, name: string): void;
  /** Forgets the history so far: a watch from an older resourceVersion gets 410 Expired. */
  compact(): void;
  /** Sends a BOOKMARK with the current resourceVersion to watchers that asked for them. */
  bookmark(): void;
  /** Cuts every open watch mid-stream, as a dropped connection would. */
  dropWatches(): void;
  /** The next `count` list requests are answered with `status` (and its headers), as a busy server would. */
  failLists(count: number, status: number, headers?: Record<string, string>): void;
  /** Open watch streams now. */
  watching(): number;
  /** A kubeconfig naming this server as context `fake` (current, unless `current` names another). */
  writeKubeconfig(dir: string, options?: { current?: string; token?: string }): string;
  close(): Promise<void>;
}

export async function startFakeKubernetes(): Promise<FakeKubernetes> {
  const token = "fake-service-account-token";
  const objects = new Map<string, { kind: FakeKind; object: KubeObject }>();
  const history: HistoryEvent[] = [];
  const watchers = new Set<Watcher>();
  const requests: RecordedRequest[] = [];
  let rv = 100;
  let compactedAt = 0;
  let failures: { count: number; status: number; headers: Record<string, string> } = {
    count: 0,
    status: 500,
    headers: {},
  };

  const keyOf = (kind: FakeKind, namespace: string, name: string) => `${kind}/${namespace}/${name}`;

  const send = (event: HistoryEvent) => {
    for (const w of watchers) {
      if (w.kind !== event.kind || !inNamespace(event.object, w.namespace)) continue;
      const type = typeFor(event, w.selector);
      if (type) writeEvent(w.response, type, event.object);
    }
  };

  const fake: FakeKubernetes = {
    url: "",
    token,
    requests,
    serveInferenceServices: true,
    apply(kind, input) {
      const object = structuredClone(input);
      object.metadata.namespace ??= "default";
      const key = keyOf(kind, object.metadata.namespace, object.metadata.name);
      const before = objects.get(key);
      rv++;
      object.metadata.resourceVersion = String(rv);
      object.metadata.uid ??= before?.object.metadata.uid ?? `uid-${rv}`;
      object.metadata.creationTimestamp ??=
        before?.object.metadata.creationTimestamp ?? new Date().toISOString();
      objects.set(key, { kind, object });
      const event: HistoryEvent = {
        rv,
        kind,
        type: before ? "MODIFIED" : "ADDED",
        object,
        previous: before?.object,
      };
      history.push(event);
      send(event);
    },
    remove(kind, namespace, name) {
      const key = keyOf(kind, namespace, name);
      const before = objects.get(key);
      if (!before) return;
      objects.delete(key);
      rv++;
      const object = structuredClone(before.object);
      object.metadata.resourceVersion = String(rv);
      const event: HistoryEvent = { rv, kind, type: "DELETED", object };
      history.push(event);
      send(event);
    },
    compact() {
      compactedAt = rv;
      history.length = 0;
    },
    bookmark() {
      for (const w of watchers) {
        if (!w.bookmarks) continue;
        const { group, version } = KINDS[w.kind];
        writeEvent(w.response, "BOOKMARK", {
          kind: w.kind,
          apiVersion: `${group}/${version}`,
          metadata: { resourceVersion: String(rv) },
        });
      }
    },
    dropWatches() {
      for (const w of watchers) w.response.destroy();
      watchers.clear();
    },
    failLists(count, status, headers = {}) {
      failures = { count, status, headers };
    },
    watching: () => watchers.size,
    writeKubeconfig(dir, options = {}) {
      const file = join(dir, "kubeconfig");
      writeFileSync(
        file,
        [
          "apiVersion: v1",
          "kind: Config",
          "clusters:",
          "- name: fake",
          "  cluster:",
          `    server: ${fake.url}`,
          // client-node refuses plain http unless told TLS checks are off, as kubectl's flag says.
          "    insecure-skip-tls-verify: true",
          "- name: nowhere",
          "  cluster:",
          "    server: http://127.0.0.1:9",
          "    insecure-skip-tls-verify: true",
          "users:",
          "- name: tenure-sync",
          "  user:",
          `    token: ${options.token ?? token}`,
          "contexts:",
          "- name: fake",
          "  context:",
          "    cluster: fake",
          "    user: tenure-sync",
          "- name: elsewhere",
          "  context:",
          "    cluster: nowhere",
          "    user: tenure-sync",
          `current-context: ${options.current ?? "fake"}`,
          "",
        ].join("\n"),
      );
      return file;
    },
    close: () =>
      new Promise((done) => {
        for (const w of watchers) w.response.destroy();
        watchers.clear();
        server.closeAllConnections();
        server.close(() => done());
      }),
  };

  const server = http.createServer((request, response) => {
    const url = new URL(request.url ?? "/", "http://fake");
    const watch = url.searchParams.get("watch") === "true" || url.searchParams.get("watch") === "1";
    requests.push({ path: url.pathname, query: url.searchParams, watch });
    if (request.headers.authorization !== `Bearer ${token}`) {
      return status(response, 401, "Unauthorized", "Unauthorized");
    }
    const route = routeOf(url.pathname);
    if (!route || (route.kind === "InferenceService" && !fake.serveInferenceServices)) {
      return status(response, 404, "NotFound", "the server could not find the requested resource");
    }
    if (request.method !== "GET") return status(response, 405, "MethodNotAllowed", "only GET is served");
    const selector = url.searchParams.get("labelSelector");
    if (watch) {
      const from = Number(url.searchParams.get("resourceVersion") ?? "0");
      response.writeHead(200, { "content-type": "application/json", "transfer-encoding": "chunked" });
      // The API server flushes a watch's headers at once, events or not.
      response.flushHeaders();
      if (from !== 0 && from < compactedAt) {
        writeEvent(response, "ERROR", {
          kind: "Status",
          apiVersion: "v1",
          metadata: {},
          status: "Failure",
          message: `too old resource version: ${from} (${compactedAt})`,
          reason: "Expired",
          code: 410,
        });
        response.end();
        return;
      }
      const watcher: Watcher = {
        kind: route.kind,
        namespace: route.namespace,
        selector,
        bookmarks: url.searchParams.get("allowWatchBookmarks") === "true",
        response,
      };
      if (from === 0) {
        // Without a version a watch starts with every object as ADDED (the API's "Any" semantics).
        for (const { kind, object } of objects.values()) {
          if (kind === route.kind && inNamespace(object, route.namespace) && matches(object, selector)) {
            writeEvent(response, "ADDED", object);
          }
        }
      } else {
        for (const event of history) {
          if (event.rv <= from || event.kind !== route.kind || !inNamespace(event.object, route.namespace))
            continue;
          const type = typeFor(event, selector);
          if (type) writeEvent(response, type, event.object);
        }
      }
      watchers.add(watcher);
      const timeout = Number(url.searchParams.get("timeoutSeconds") ?? "0");
      const timer = timeout > 0 ? setTimeout(() => response.end(), timeout * 1000) : undefined;
      response.on("close", () => {
        clearTimeout(timer);
        watchers.delete(watcher);
      });
      return;
    }
    if (failures.count > 0) {
      failures.count--;
      response.writeHead(failures.status, { "content-type": "application/json", ...failures.headers });
      response.end(
        JSON.stringify({
          kind: "Status",
          apiVersion: "v1",
          metadata: {},
          status: "Failure",
          message: failures.status === 429 ? "the server is busy, try again" : "internal error",
          reason: failures.status === 429 ? "TooManyRequests" : "InternalError",
          code: failures.status,
        }),
      );
      return;
    }
    const items = [...objects.values()]
      .filter(({ kind, object }) => kind === route.kind && inNamespace(object, route.namespace))
      .filter(({ object }) => matches(object, selector))
      .map(({ object }) => object)
      .sort((a, b) =>
        `${a.metadata.namespace}/${a.metadata.name}`.localeCompare(
          `${b.metadata.namespace}/${b.metadata.name}`,
        ),
      );
    const limit = Number(url.searchParams.get("limit") ?? "0");
    const next = url.searchParams.get("continue");
    let start = 0;
    let listRv = rv;
    if (next) {
      const parsed = JSON.parse(Buffer.from(next, "base64url").toString("utf8")) as {
        rv: number;
        offset: number;
      };
      if (parsed.rv < compactedAt) {
        return status(response, 410, "Expired", "The provided continue parameter is too old");
      }
      start = parsed.offset;
      listRv = parsed.rv;
    }
    const end = limit > 0 ? Math.min(items.length, start + limit) : items.length;
    const { group, version } = KINDS[route.kind];
    response.writeHead(200, { "content-type": "application/json" });
    response.end(
      JSON.stringify({
        kind: `${route.kind}List`,
        apiVersion: `${group}/${version}`,
        metadata: {
          resourceVersion: String(listRv),
          ...(end < items.length
            ? {
                continue: Buffer.from(JSON.stringify({ rv: listRv, offset: end })).toString("base64url"),
                remainingItemCount: items.length - end,
              }
            : {}),
        },
        items: items.slice(start, end),
      }),
    );
  });
  await new Promise<void>((done) => server.listen(0, "127.0.0.1", done));
  fake.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return fake;
}

function routeOf(path: string): { kind: FakeKind; namespace: string | null } | null {
  for (const [kind, { group, version, plural }] of Object.entries(KINDS) as [
    FakeKind,
    (typeof KINDS)[FakeKind],
  ][]) {
    const prefix = `/apis/${group}/${version}/`;
    if (!path.startsWith(prefix)) continue;
    const rest = path.slice(prefix.length).split("/");
    if (rest.length === 1 && rest[0] === plural) return { kind, namespace: null };
    if (rest.length === 3 && rest[0] === "namespaces" && rest[2] === plural) {
      return { kind, namespace: decodeURIComponent(rest[1] ?? "") };
    }
  }
  return null;
}

function inNamespace(object: KubeObject, namespace: string | null): boolean {
  return namespace === null || object.metadata.namespace === namespace;
}

/** Equality-based selectors and existence (`key`, `key=value`, `key!=value`, `!key`), comma-joined. */
function matches(object: KubeObject, selector: string | null): boolean {
  if (!selector) return true;
  const labels: Record<string, string> = object.metadata.labels ?? {};
  return selector.split(",").every((term) => {
    const t = term.trim();
    if (t.startsWith("!")) return !(t.slice(1) in labels);
    const unequal = t.split("!=");
    if (unequal.length === 2) return labels[unequal[0] ?? ""] !== unequal[1];
    const equal = t.split(/==?/);
    if (equal.length === 2) return labels[equal[0] ?? ""] === equal[1];
    return t in labels;
  });
}

/** What a watcher with `selector` sees of an event: an object entering or leaving it is ADDED or DELETED. */
function typeFor(event: HistoryEvent, selector: string | null): HistoryEvent["type"] | null {
  const now = matches(event.object, selector);
  if (event.type !== "MODIFIED") return now ? event.type : null;
  const before = event.previous !== undefined && matches(event.previous, selector);
  if (before && now) return "MODIFIED";
  if (now) return "ADDED";
  return before ? "DELETED" : null;
}

function writeEvent(response: http.ServerResponse, type: string, object: KubeObject): void {
  if (!response.writableEnded && !response.destroyed) response.write(`${JSON.stringify({ type, object })}\n`);
}

function status(response: http.ServerResponse, code: number, reason: string, message: string): void {
  response.writeHead(code, { "content-type": "application/json" });
  response.end(
    JSON.stringify({
      kind: "Status",
      apiVersion: "v1",
      metadata: {},
      status: "Failure",
      message,
      reason,
      code,
    }),
  );
}

/** Rollout states a test can put a workload in. */
export type FakeRollout =
  /** Rolled out: the rollout's condition says when. */
  { available: string } | "progressing" | "failed";

export interface FakeWorkload {
  name: string;
  namespace?: string;
  model?: string;
  /** Annotations besides the model label; absent keys are left out. */
  version?: string;
  cutoff?: string;
  team?: string;
  environment?: string;
  replicas?: number;
  generation?: number;
  rollout: FakeRollout;
}

function metadataOf(w: FakeWorkload): KubeObject {
  const annotations: Record<string, string> = {};
  if (w.version !== undefined) annotations["tenure.dev/model-version"] = w.version;
  if (w.cutoff !== undefined) annotations["tenure.dev/training-data-cutoff"] = w.cutoff;
  if (w.team !== undefined) annotations["tenure.dev/owner-team"] = w.team;
  if (w.environment !== undefined) annotations["tenure.dev/environment"] = w.environment;
  return {
    name: w.name,
    namespace: w.namespace ?? "ml",
    generation: w.generation ?? 2,
    labels: { app: w.name, ...(w.model === undefined ? {} : { "tenure.dev/model": w.model }) },
    annotations,
  };
}

/** A Deployment as the controller reports it at that point of its rollout. */
export function deploymentOf(w: FakeWorkload): KubeObject {
  const replicas = w.replicas ?? 3;
  const generation = w.generation ?? 2;
  const created = "2026-01-05T09:00:00Z";
  const rollout = w.rollout;
  const status =
    typeof rollout === "object"
      ? {
          observedGeneration: generation,
          replicas,
          updatedReplicas: replicas,
          readyReplicas: replicas,
          availableReplicas: replicas,
          conditions: [
            {
              type: "Available",
              status: "True",
              lastUpdateTime: created,
              lastTransitionTime: created,
              reason: "MinimumReplicasAvailable",
              message: "Deployment has minimum availability.",
            },
            {
              type: "Progressing",
              status: "True",
              lastUpdateTime: rollout.available,
              lastTransitionTime: created,
              reason: "NewReplicaSetAvailable",
              message: `ReplicaSet "${w.name}-7d9f8b6c5d" has successfully progressed.`,
            },
          ],
        }
      : {
          observedGeneration: generation,
          replicas: replicas + 1,
          updatedReplicas: 1,
          readyReplicas: replicas,
          availableReplicas: replicas,
          unavailableReplicas: 1,
          conditions: [
            {
              type: "Available",
              status: "True",
              lastUpdateTime: created,
              lastTransitionTime: created,
              reason: "MinimumReplicasAvailable",
              message: "Deployment has minimum availability.",
            },
            rollout === "failed"
              ? {
                  type: "Progressing",
                  status: "False",
                  lastUpdateTime: "2026-03-01T10:10:00Z",
                  lastTransitionTime: "2026-03-01T10:10:00Z",
                  reason: "ProgressDeadlineExceeded",
                  message: `ReplicaSet "${w.name}-5f6d7c8b9a" has timed out progressing.`,
                }
              : {
                  type: "Progressing",
                  status: "True",
                  lastUpdateTime: "2026-03-01T10:00:00Z",
                  lastTransitionTime: created,
                  reason: "ReplicaSetUpdated",
                  message: `ReplicaSet "${w.name}-5f6d7c8b9a" is progressing.`,
                },
          ],
        };
  return {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: metadataOf(w),
    spec: {
      replicas,
      progressDeadlineSeconds: 600,
      selector: { matchLabels: { app: w.name } },
      template: {
        metadata: { labels: { app: w.name } },
        spec: {
          containers: [{ name: "server", image: `registry.example/${w.name}:${w.version ?? "latest"}` }],
        },
      },
    },
    status,
  };
}

/** A StatefulSet: rolled out when its update revision is current and every replica is ready. */
export function statefulSetOf(w: FakeWorkload): KubeObject {
  const replicas = w.replicas ?? 2;
  const rolledOut = typeof w.rollout === "object";
  return {
    apiVersion: "apps/v1",
    kind: "StatefulSet",
    metadata: metadataOf(w),
    spec: { replicas, serviceName: w.name, selector: { matchLabels: { app: w.name } } },
    status: {
      observedGeneration: w.generation ?? 2,
      replicas,
      readyReplicas: rolledOut ? replicas : replicas - 1,
      currentReplicas: rolledOut ? replicas : replicas - 1,
      updatedReplicas: rolledOut ? replicas : 1,
      currentRevision: `${w.name}-6c9b7d5f4`,
      updateRevision: rolledOut ? `${w.name}-6c9b7d5f4` : `${w.name}-84f7c9d6b`,
      collisionCount: 0,
    },
  };
}

/** A KServe InferenceService: Ready True since the rollout, with its URL. */
export function inferenceServiceOf(w: FakeWorkload): KubeObject {
  const rollout = w.rollout;
  const ready =
    typeof rollout === "object"
      ? { type: "Ready", status: "True", lastTransitionTime: rollout.available }
      : {
          type: "Ready",
          status: rollout === "failed" ? "False" : "Unknown",
          reason: "RevisionMissing",
          message: "Revision is not ready yet",
          lastTransitionTime: "2026-03-01T10:00:00Z",
        };
  const namespace = w.namespace ?? "ml";
  return {
    apiVersion: "serving.kserve.io/v1beta1",
    kind: "InferenceService",
    metadata: metadataOf(w),
    spec: { predictor: { model: { modelFormat: { name: "sklearn" }, storageUri: "gs://models/x" } } },
    status: {
      observedGeneration: w.generation ?? 2,
      url: `http://${w.name}.${namespace}.example.com`,
      conditions: [
        { type: "IngressReady", status: "True", lastTransitionTime: "2026-01-05T09:00:00Z" },
        { type: "PredictorReady", status: ready.status, lastTransitionTime: ready.lastTransitionTime },
        ready,
      ],
    },
  };
}
