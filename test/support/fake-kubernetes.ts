import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { deploymentOf, type FakeWorkload, type KubeObject } from "./fake-workloads.js";

/** The workloads the fake serves, built in fake-workloads.ts, importable from here with it. */
export {
  daysAgo,
  deploymentOf,
  type FakeRollout,
  type FakeWorkload,
  inferenceServiceOf,
  kubeTime,
  registrable,
  statefulSetOf,
  TRAINING_CUTOFF,
} from "./fake-workloads.js";

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
  /** Applies the Deployment `deploymentOf(workload)` describes. */
  deploy(workload: FakeWorkload): void;
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
  /**
   * A kubeconfig naming this server as context `fake` (current, unless `current` names another),
   * with this server's token unless `token` gives another; written in a folder of the fake's own,
   * removed on close. Returns its path.
   */
  writeKubeconfig(options?: { current?: string; token?: string }): string;
  /** Closes the server and every watch, and removes the kubeconfig's folder. */
  close(): Promise<void>;
}

export async function startFakeKubernetes(): Promise<FakeKubernetes> {
  const token = "fake-service-account-token";
  const objects = new Map<string, { kind: FakeKind; object: KubeObject }>();
  const history: HistoryEvent[] = [];
  const watchers = new Set<Watcher>();
  const requests: RecordedRequest[] = [];
  const folder = mkdtempSync(join(tmpdir(), "tenure-k8s-"));
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
    deploy(workload) {
      fake.apply("Deployment", deploymentOf(workload));
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
    writeKubeconfig: (options = {}) =>
      kubeconfigFile(folder, { server: fake.url, token: options.token ?? token, current: options.current }),
    close: () =>
      new Promise((done) => {
        for (const w of watchers) w.response.destroy();
        watchers.clear();
        server.closeAllConnections();
        server.close(() => {
          rmSync(folder, { recursive: true, force: true });
          done();
        });
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

/**
 * A kubeconfig file in `dir` naming `server` as context `fake`, reached with `token`, and a context
 * `elsewhere` on a server that answers nothing; `fake` is current unless `current` names another.
 * Returns its path.
 */
export function kubeconfigFile(
  dir: string,
  options: { server: string; token: string; current?: string },
): string {
  const file = join(dir, "kubeconfig");
  writeFileSync(
    file,
    [
      "apiVersion: v1",
      "kind: Config",
      "clusters:",
      "- name: fake",
      "  cluster:",
      `    server: ${options.server}`,
      // client-node refuses plain http unless told TLS checks are off, as kubectl's flag says.
      "    insecure-skip-tls-verify: true",
      "- name: nowhere",
      "  cluster:",
      "    server: http://127.0.0.1:9",
      "    insecure-skip-tls-verify: true",
      "users:",
      "- name: tenure-sync",
      "  user:",
      `    token: ${options.token}`,
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
