import {
  CustomObjectsApi,
  type KubeConfig,
  Observable,
  type RequestContext,
  type ResponseContext,
  Watch,
} from "@kubernetes/client-node";
import { backoffMs } from "../../alerts/dispatcher.js";
import { defaultEgress, type EgressPolicy } from "../../egress-policy.js";
import { abortableSleep, OUTBOUND_DEFAULTS } from "../outbound-http.js";
import { guardKubeConfig } from "./kube-config.js";
import { type Failure, failureOf, KubernetesError, statusOf, watchError } from "./kubernetes-failures.js";
import { MODEL_LABEL, WORKLOAD_KINDS, type WorkloadKind } from "./kubernetes-workload.js";

/**
 * The Kubernetes API as a sync reads it, through @kubernetes/client-node: it carries whatever the
 * kubeconfig asks for (client certificates, a CA, exec plugins, a pod's service account), which
 * a plain fetch cannot. Every kind is read through CustomObjectsApi's generic
 * `/apis/{group}/{version}/{plural}` paths, as plain JSON: the shape a watch delivers, so lists and
 * events are read by one schema. Calls follow the outbound policy of outbound-http.ts (a timeout
 * per attempt; 408, 429, 5xx and network errors retried with backoff and jitter; Retry-After
 * honoured) and no message carries a header, where the token is.
 */

/** One kind's objects at one resourceVersion, every page of them. */
export interface WorkloadList {
  items: unknown[];
  resourceVersion: string;
}

export interface WatchEvent {
  type: "ADDED" | "MODIFIED" | "DELETED" | "BOOKMARK";
  object: unknown;
}

/**
 * How a watch ended without an error: the server closed it (open the next one from the last
 * resourceVersion), or said the resourceVersion is too old (410 Gone: list again).
 */
export type WatchEnd = "closed" | "expired";

export interface KubernetesApiOptions {
  /** The one namespace to read; all of them when null. */
  namespace: string | null;
  /** Per attempt of a list page. */
  timeoutMs?: number;
  attempts?: number;
  baseDelayMs?: number;
  maxDelayMs?: number;
  /** Asked of the server: it ends a watch after this long and the sync opens the next. */
  watchTimeoutSeconds?: number;
  /** A watch that hears nothing this long (not even a bookmark) is taken for dead. */
  watchIdleMs?: number;
  onRetry?: (retry: { what: string; attempt: number; delay_ms: number; reason: string }) => void;
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
  random?: () => number;
  /** Where the client may connect; strict (no private address) when absent. */
  egress?: EgressPolicy;
}

const WATCH_TIMEOUT_SECONDS = 300;
/** Lists are paged (`limit`/`continue`) so a large cluster never answers in one huge body. */
const PAGE_SIZE = 500;

export class KubernetesApi {
  private readonly objects: CustomObjectsApi;
  private readonly watcher: Watch;
  private readonly settings: Required<Omit<KubernetesApiOptions, "onRetry" | "namespace" | "egress">>;

  constructor(
    kubeconfig: KubeConfig,
    private readonly options: KubernetesApiOptions,
  ) {
    guardKubeConfig(kubeconfig, options.egress ?? defaultEgress());
    this.objects = kubeconfig.makeApiClient(CustomObjectsApi);
    this.watcher = new Watch(kubeconfig);
    this.settings = {
      timeoutMs: options.timeoutMs ?? OUTBOUND_DEFAULTS.timeoutMs,
      attempts: options.attempts ?? OUTBOUND_DEFAULTS.attempts,
      baseDelayMs: options.baseDelayMs ?? OUTBOUND_DEFAULTS.baseDelayMs,
      maxDelayMs: options.maxDelayMs ?? OUTBOUND_DEFAULTS.maxDelayMs,
      watchTimeoutSeconds: options.watchTimeoutSeconds ?? WATCH_TIMEOUT_SECONDS,
      watchIdleMs:
        options.watchIdleMs ?? ((options.watchTimeoutSeconds ?? WATCH_TIMEOUT_SECONDS) + 60) * 1000,
      sleep: options.sleep ?? abortableSleep,
      random: options.random ?? Math.random,
    };
  }

  /** The path of a kind's collection, in the namespace read or across all of them. */
  pathOf(kind: WorkloadKind): string {
    const { group, version, plural } = WORKLOAD_KINDS[kind];
    const namespace = this.options.namespace;
    return namespace === null
      ? `/apis/${group}/${version}/${plural}`
      : `/apis/${group}/${version}/namespaces/${encodeURIComponent(namespace)}/${plural}`;
  }

  /**
   * Every labelled object of a kind, page by page. Null when the API does not serve the kind
   * (404 for a CRD that is not installed). A continue token that expired mid-way (410) starts
   * the list again: a list is one snapshot, or a watch from its resourceVersion could miss events.
   */
  async list(kind: WorkloadKind, signal: AbortSignal): Promise<WorkloadList | null> {
    const { group, version, plural, optional } = WORKLOAD_KINDS[kind];
    const what = `GET ${this.pathOf(kind)}`;
    const items: unknown[] = [];
    let next: string | undefined;
    const continues = new Set<string>();
    for (let restarts = 0; ; ) {
      let page: unknown;
      try {
        const query = {
          group,
          version,
          plural,
          labelSelector: MODEL_LABEL,
          limit: PAGE_SIZE,
          _continue: next,
        };
        const namespace = this.options.namespace;
        page = await this.call(what, signal, (options) =>
          namespace === null
            ? this.objects.listCustomObjectForAllNamespaces(query, options)
            : this.objects.listNamespacedCustomObject({ ...query, namespace }, options),
        );
      } catch (error) {
        const status = error instanceof KubernetesError ? error.status : null;
        if (status === 404 && optional && next === undefined) return null;
        if (status === 410 && next !== undefined && restarts < 3) {
          restarts++;
          items.length = 0;
          next = undefined;
          continues.clear();
          continue;
        }
        throw error;
      }
      const { items: pageItems, metadata } = pageOf(page, what);
      items.push(...pageItems);
      next = metadata.continue || undefined;
      if (next === undefined) return { items, resourceVersion: metadata.resourceVersion ?? "" };
      // The API server never hands back a continue token twice in one list; an answer that does
      // (a broken proxy, a cache) would have the list page forever.
      if (continues.has(next)) {
        throw new KubernetesError(`${what}: the API answered a continue token it had given before`, null);
      }
      continues.add(next);
    }
  }

  /**
   * Watches a kind from `resourceVersion` (with bookmarks) and hands each event to `onEvent`
   * until the server closes the stream, says the version expired (410 Gone, as an ERROR event
   * or as the answer's status), or `signal` stops it. Any other failure rejects, to be retried.
   */
  watch(
    kind: WorkloadKind,
    resourceVersion: string,
    onEvent: (event: WatchEvent) => void,
    signal: AbortSignal,
  ): Promise<WatchEnd> {
    const path = this.pathOf(kind);
    const query = {
      labelSelector: MODEL_LABEL,
      resourceVersion,
      allowWatchBookmarks: true,
      timeoutSeconds: this.settings.watchTimeoutSeconds,
    };
    return new Promise((resolve, reject) => {
      let controller: AbortController | undefined;
      let outcome: { end: WatchEnd } | { error: Error } | undefined;
      let settled = false;
      let idle: NodeJS.Timeout | undefined;
      const end = (result: { end: WatchEnd } | { error: Error }) => {
        outcome ??= result;
        controller?.abort();
        if (settled) return;
        settled = true;
        clearTimeout(idle);
        signal.removeEventListener("abort", onStop);
        if ("error" in outcome) reject(outcome.error);
        else resolve(outcome.end);
      };
      const onStop = () => end({ end: "closed" });
      // Bookmarks come about every minute: silence far longer than the server's own timeout is a
      // connection that died without closing (a NAT that dropped it), not a quiet cluster.
      const arm = () => {
        clearTimeout(idle);
        idle = setTimeout(() => {
          end({
            error: new KubernetesError(
              `watch ${path}: nothing heard for ${Math.round(this.settings.watchIdleMs / 1000)}s`,
              null,
            ),
          });
        }, this.settings.watchIdleMs);
      };
      if (signal.aborted) return resolve("closed");
      signal.addEventListener("abort", onStop, { once: true });
      arm();
      this.watcher
        .watch(
          path,
          query,
          (type: string, object: unknown) => {
            arm();
            if (type === "ERROR") {
              const status = statusOf(object);
              end(
                status.code === 410
                  ? { end: "expired" }
                  : { error: new KubernetesError(`watch ${path}: ${status.text}`, status.code) },
              );
            } else if (type === "ADDED" || type === "MODIFIED" || type === "DELETED" || type === "BOOKMARK") {
              onEvent({ type, object });
            }
          },
          (error: unknown) => {
            if (error === null || error === undefined) return end({ end: "closed" });
            const status = (error as { statusCode?: unknown }).statusCode;
            if (status === 410) return end({ end: "expired" });
            end({ error: watchError(path, error) });
          },
        )
        .then(
          (c) => {
            controller = c;
            if (settled) c.abort();
          },
          (error: unknown) => end({ error: watchError(path, error) }),
        );
    });
  }

  /** One call, with a timeout per attempt and retries on what another attempt may fix. */
  private async call<T>(
    what: string,
    signal: AbortSignal,
    request: (options: RequestOptions) => Promise<T>,
  ): Promise<T> {
    const s = this.settings;
    for (let attempt = 1; ; attempt++) {
      const timeout = AbortSignal.timeout(s.timeoutMs);
      let failure: Failure;
      try {
        return await request(withSignal(AbortSignal.any([timeout, signal])));
      } catch (error) {
        if (signal.aborted) throw new KubernetesError(`${what}: stopped`, null);
        failure = failureOf(error, timeout.aborted, s.timeoutMs);
      }
      const retryAfter = failure.retryAfterMs;
      const last =
        attempt >= s.attempts ||
        !failure.retry ||
        (retryAfter !== null && retryAfter > OUTBOUND_DEFAULTS.maxRetryAfterMs);
      if (last) throw new KubernetesError(`${what} failed: ${failure.reason}`, failure.status);
      const backoff = backoffMs(
        attempt,
        { max_attempts: s.attempts, base_delay_ms: s.baseDelayMs, max_delay_ms: s.maxDelayMs },
        s.random(),
      );
      const delay = Math.max(backoff, retryAfter ?? 0);
      this.options.onRetry?.({ what, attempt, delay_ms: delay, reason: failure.reason });
      await s.sleep(delay, signal);
    }
  }
}

/**
 * A list answer's items and paging, checked: the API server's answer is trusted to be JSON, not to
 * be a list (a proxy's error page, another API at that path), and `items` that is not an array
 * would otherwise throw a TypeError from deep in the sync.
 */
function pageOf(
  page: unknown,
  what: string,
): { items: unknown[]; metadata: { continue?: string; resourceVersion?: string } } {
  const { items, metadata } = (page ?? {}) as { items?: unknown; metadata?: unknown };
  if (items !== undefined && items !== null && !Array.isArray(items)) {
    throw new KubernetesError(
      `${what}: the answer's items are not a list: is this a Kubernetes API server?`,
      null,
    );
  }
  const meta = (metadata !== null && typeof metadata === "object" ? metadata : {}) as Record<string, unknown>;
  const text = (value: unknown) => (typeof value === "string" ? value : undefined);
  return {
    items: items ?? [],
    metadata: { continue: text(meta.continue), resourceVersion: text(meta.resourceVersion) },
  };
}

type RequestOptions = Parameters<CustomObjectsApi["listNamespacedCustomObject"]>[1];

/**
 * Per-call options that give the request an abort signal. client-node 1.x takes per-call
 * middleware in its Observable form (its own small stub), hence the wrapping.
 */
function withSignal(signal: AbortSignal): RequestOptions {
  return {
    middleware: [
      {
        pre: (context: RequestContext) => {
          context.setSignal(signal);
          return new Observable(Promise.resolve(context));
        },
        post: (context: ResponseContext) => new Observable(Promise.resolve(context)),
      },
    ],
    middlewareMergeStrategy: "append",
  };
}
