import { retryAfterMs } from "../core/retry-after.js";
import { VERSION } from "../version.js";
import { backoffDelay, pause } from "./backoff.js";
import {
  type DeploymentPage,
  type DeploymentRecord,
  type FeatureRow,
  type FeedbackItem,
  type FeedbackResult,
  type HeartbeatBody,
  type HeartbeatResult,
  type MetricPoint,
  type MetricsResult,
  type SamplesResult,
  SDK_ROUTES,
  type SdkRouteName,
} from "./routes.js";

export interface TenureClientOptions {
  /** Tenure's base URL, such as `http://tenure:8080`. */
  url: string;
  /** A bearer token with the `write` scope (heartbeats, metrics, samples and feedback change state). */
  token?: string;
  /** How long one attempt may take, in ms (default 5,000): a slow Tenure is a failed attempt, not a stuck caller. */
  timeoutMs?: number;
  /** Attempts after the first on a network error, 408, 429 or 5xx (default 2). */
  retries?: number;
  /** The first retry waits up to this many ms, doubling each time (default 200). */
  baseDelayMs?: number;
  /** No wait between attempts is longer (default 5,000); a longer `Retry-After` ends the call instead. */
  maxDelayMs?: number;
  /** Node's global fetch unless given (an undici `fetch` with its own dispatcher, say). */
  fetch?: typeof fetch;
}

export interface CallOptions {
  /** Ends the call, waits included, when it aborts. */
  signal?: AbortSignal;
  /**
   * The SDK's own calls: its waits between attempts do not keep the process open. A caller who
   * awaits the call (the default) keeps it open until the answer, or the process would exit mid-call.
   */
  background?: boolean;
}

/** A field the server named as wrong, from a problem+json `errors` list. */
export interface FieldProblem {
  field: string;
  message: string;
}

/**
 * A call that did not succeed. `status` is 0 when no answer came (refused, reset, timed out).
 * Its message names the method, the path and the server's detail; never the token.
 */
export class TenureRequestError extends Error {
  override readonly name = "TenureRequestError";
  constructor(
    readonly status: number,
    message: string,
    readonly errors: FieldProblem[] = [],
    /** The server's `Retry-After` in ms, when it sent one. */
    readonly retryAfterMs: number | null = null,
  ) {
    super(message);
  }

  /** True when trying again later may succeed: no answer, 408, 429 or a 5xx. */
  get transient(): boolean {
    return isTransient(this.status);
  }
}

const isTransient = (status: number) => status === 0 || status === 408 || status === 429 || status >= 500;

/**
 * A typed client for the routes a model server uses: its deployment, liveness heartbeats,
 * metrics, feature samples and feedback. Every call has a timeout, retries a transient failure
 * with backoff, and honours `Retry-After`.
 */
export class TenureClient {
  /** The base URL without credentials, for messages. */
  readonly origin: string;
  private readonly base: URL;
  private readonly token: string | undefined;
  private readonly timeoutMs: number;
  private readonly retries: number;
  private readonly baseDelayMs: number;
  private readonly maxDelayMs: number;
  private readonly fetch: typeof fetch;

  constructor(options: TenureClientOptions) {
    // fetch refuses URLs with credentials, and messages must not show them: the token is the way in.
    this.base = new URL(options.url.endsWith("/") ? options.url : `${options.url}/`);
    this.base.username = "";
    this.base.password = "";
    this.origin = this.base.toString().replace(/\/$/, "");
    this.token = options.token;
    this.timeoutMs = options.timeoutMs ?? 5_000;
    this.retries = options.retries ?? 2;
    this.baseDelayMs = options.baseDelayMs ?? 200;
    this.maxDelayMs = options.maxDelayMs ?? 5_000;
    this.fetch = options.fetch ?? globalThis.fetch;
  }

  /** One deployment by id. */
  async deployment(id: number, options: CallOptions = {}): Promise<DeploymentRecord> {
    return this.call("deployment", { id }, undefined, {}, options);
  }

  /**
   * The live deployment of a model in an environment with the role (default primary), or null.
   * With `served_version`, a live one of that version is preferred: a canary server finds its
   * canary, and a server still on an old version finds the primary it disagrees with.
   */
  async findDeployment(
    query: { model: string; environment?: string; role?: DeploymentRecord["role"]; served_version?: string },
    options: CallOptions = {},
  ): Promise<DeploymentRecord | null> {
    const page = await this.call<DeploymentPage>(
      "deployments",
      {},
      undefined,
      {
        model: query.model,
        environment: query.environment ?? "production",
        role: query.role ?? "primary",
        status: "active",
        limit: "50",
      },
      options,
    );
    const items = page.items;
    return items.find((d) => d.model_version === query.served_version) ?? items[0] ?? null;
  }

  /** A liveness heartbeat, with the version the endpoint serves when given. */
  heartbeat(id: number, body: HeartbeatBody = {}, options: CallOptions = {}): Promise<HeartbeatResult> {
    return this.call("heartbeat", { id }, body, {}, options);
  }

  /** Performance points, up to 10,000 a call. */
  metrics(id: number, points: MetricPoint[], options: CallOptions = {}): Promise<MetricsResult> {
    return this.call("metrics", { id }, { points }, {}, options);
  }

  /** Live feature rows, up to 10,000 a call, served at `timestamp` (default: now). */
  samples(
    id: number,
    rows: FeatureRow[],
    timestamp?: string,
    options: CallOptions = {},
  ): Promise<SamplesResult> {
    return this.call(
      "samples",
      { id },
      timestamp === undefined ? { rows } : { rows, timestamp },
      {},
      options,
    );
  }

  /** Ground truth by request id, up to 10,000 items a call. */
  feedback(items: FeedbackItem[], options: CallOptions = {}): Promise<FeedbackResult> {
    return this.call("feedback", {}, { items }, {}, options);
  }

  private async call<T>(
    route: SdkRouteName,
    params: Record<string, number>,
    body: object | undefined,
    query: Record<string, string>,
    options: CallOptions,
  ): Promise<T> {
    const { method, path } = SDK_ROUTES[route];
    const url = new URL(
      path.replace(/\{(\w+)\}/g, (_, name: string) => encodeURIComponent(String(params[name]))).slice(1),
      this.base,
    );
    for (const [name, value] of Object.entries(query)) url.searchParams.set(name, value);
    const headers: Record<string, string> = {
      accept: "application/json",
      "user-agent": `tenure-sdk/${VERSION}`,
    };
    if (this.token !== undefined) headers.authorization = `Bearer ${this.token}`;
    if (body !== undefined) headers["content-type"] = "application/json";
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const what = `${method} ${path.replace("{id}", String(params.id))}`;
    for (let attempt = 0; ; attempt++) {
      const failure = await this.attempt(url, method, headers, payload, what, options.signal);
      if (!(failure instanceof TenureRequestError)) return failure as T;
      if (!failure.transient || attempt >= this.retries || options.signal?.aborted) throw failure;
      const wait = Math.max(
        backoffDelay(attempt + 1, this.baseDelayMs, this.maxDelayMs),
        failure.retryAfterMs ?? 0,
      );
      // A server that asks for a longer pause than we would make gets it from our caller, not a stuck call.
      if (wait > this.maxDelayMs) throw failure;
      await pause(wait, options.signal, options.background !== true);
    }
  }

  /** One attempt: the parsed answer, or the failure as an error value so the loop can decide. */
  private async attempt(
    url: URL,
    method: string,
    headers: Record<string, string>,
    payload: string | undefined,
    what: string,
    signal: AbortSignal | undefined,
  ): Promise<unknown> {
    const timeout = AbortSignal.timeout(this.timeoutMs);
    let response: Response;
    try {
      response = await this.fetch(url, {
        method,
        headers,
        body: payload,
        signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
      });
    } catch (error) {
      const reason = timeout.aborted ? `no answer within ${this.timeoutMs} ms` : causeOf(error);
      return new TenureRequestError(0, `${what} to ${this.origin} failed: ${reason}`);
    }
    let text: string;
    try {
      text = await response.text();
    } catch (error) {
      return new TenureRequestError(
        0,
        `${what} to ${this.origin} failed reading the answer: ${causeOf(error)}`,
      );
    }
    if (response.ok) {
      try {
        return JSON.parse(text) as unknown;
      } catch {
        return new TenureRequestError(response.status, `${what}: the answer is not JSON`);
      }
    }
    let detail = `${response.status} ${response.statusText}`;
    let errors: FieldProblem[] = [];
    try {
      const problem = JSON.parse(text) as { detail?: unknown; errors?: unknown };
      if (typeof problem.detail === "string") detail = `${response.status} ${problem.detail}`;
      if (Array.isArray(problem.errors)) errors = problem.errors as FieldProblem[];
    } catch {
      // Not problem+json (a proxy's error page): the status line says enough.
    }
    return new TenureRequestError(
      response.status,
      `${what}: ${detail}`,
      errors,
      retryAfterMs(response.headers.get("retry-after"), Date.now()),
    );
  }
}

/** What a failed fetch says about why, without the request (which holds the token) in it. */
function causeOf(error: unknown): string {
  if (error instanceof Error) {
    const cause = error.cause instanceof Error ? error.cause.message : undefined;
    return cause ?? error.message;
  }
  return String(error);
}
