import http from "node:http";
import type { AddressInfo } from "node:net";

/**
 * A local MLflow tracking server's model registry, answering as MLflow's REST API documents
 * (mlflow/protos/model_registry.proto, mlflow/server/handlers.py): GET
 * /api/2.0/mlflow/registered-models/search, registered-models/get and model-versions/search;
 * int64 timestamps in epoch ms (as numbers, as MLflow's server writes them, or as strings, as the
 * proto3 JSON mapping does); offset page tokens; empty repeated fields left out; errors as
 * `{"error_code", "message"}` with MLflow's statuses. Tests arrange the registry and inject failures.
 */
export interface FakeMlflowOptions {
  /** How int64 fields are written: numbers (MLflow), strings (proto3 JSON, Databricks), or each answer the other way. */
  int64?: "number" | "string" | "alternate";
  /** Answers at most this many results a page whatever max_results asks, with a next_page_token. */
  pageCap?: number;
  /** The credentials every request must carry. */
  auth?: { bearer: string } | { username: string; password: string };
}

export interface RecordedRequest {
  method: string;
  path: string;
  query: Record<string, string>;
  authorization: string | undefined;
}

/** A failure to answer instead of the real one: MLflow's own error, or a proxy's. */
export interface InjectedFailure {
  status: number;
  error_code?: string;
  message?: string;
  retryAfter?: string;
  /** Only for requests to this path, such as `model-versions/search`; any when absent. */
  path?: string;
  /** How many requests it answers (1). */
  times?: number;
}

interface Version {
  version: string;
  creation_timestamp: number;
  last_updated_timestamp: number;
  current_stage: string;
  tags: Map<string, string>;
  run_id: string;
}

interface Model {
  name: string;
  creation_timestamp: number;
  last_updated_timestamp: number;
  tags: Map<string, string>;
  aliases: Map<string, string>;
  versions: Version[];
}

export interface FakeMlflow {
  url: string;
  requests: RecordedRequest[];
  createModel(name: string, tags?: Record<string, string>): void;
  /** A new version (1, 2, 3, …); returns its number. */
  createVersion(
    name: string,
    options?: { tags?: Record<string, string>; created?: number; stage?: string },
  ): string;
  setAlias(name: string, alias: string, version: string): void;
  deleteAlias(name: string, alias: string): void;
  setStage(name: string, version: string, stage: string): void;
  setModelTag(name: string, key: string, value: string): void;
  setVersionTag(name: string, version: string, key: string, value: string): void;
  deleteModel(name: string): void;
  fail(failure: InjectedFailure): void;
  close(): Promise<void>;
}

const API = "/api/2.0/mlflow/";
const MODELS_MAX_RESULTS = 1000;
const VERSIONS_MAX_RESULTS = 200_000;

class MlflowApiError extends Error {
  constructor(
    readonly status: number,
    readonly error_code: string,
    message: string,
  ) {
    super(message);
  }
}

export async function startFakeMlflow(options: FakeMlflowOptions = {}): Promise<FakeMlflow> {
  const models = new Map<string, Model>();
  const requests: RecordedRequest[] = [];
  const failures: (InjectedFailure & { left: number })[] = [];
  let answers = 0;

  const model = (name: string) => {
    const found = models.get(name);
    if (!found) throw new Error(`the fake has no model ${name}`);
    return found;
  };
  const version = (name: string, number: string) => {
    const found = model(name).versions.find((v) => v.version === number);
    if (!found) throw new Error(`the fake has no version ${number} of ${name}`);
    return found;
  };

  const server = http.createServer((request, response) => {
    const url = new URL(request.url ?? "/", "http://fake");
    const path = url.pathname.startsWith(API) ? url.pathname.slice(API.length) : url.pathname;
    requests.push({
      method: request.method ?? "",
      path,
      query: Object.fromEntries(url.searchParams),
      authorization: request.headers.authorization,
    });
    request.resume();
    const send = (status: number, body: unknown, headers: Record<string, string> = {}) => {
      response.writeHead(status, { "content-type": "application/json", ...headers });
      response.end(JSON.stringify(body));
    };
    const failure = failures.find((f) => f.left > 0 && (f.path === undefined || f.path === path));
    if (failure) {
      failure.left -= 1;
      const body = failure.error_code
        ? { error_code: failure.error_code, message: failure.message ?? failure.error_code }
        : { message: failure.message ?? "injected failure" };
      send(failure.status, body, failure.retryAfter ? { "retry-after": failure.retryAfter } : {});
      return;
    }
    if (!authorized(request.headers.authorization, options.auth)) {
      send(
        401,
        {
          error_code: "UNAUTHENTICATED",
          message: "Credential was not sent or was of an unsupported type for this API.",
        },
        options.auth && "username" in options.auth ? { "www-authenticate": 'Basic realm="mlflow"' } : {},
      );
      return;
    }
    const route = ROUTES[path];
    if (!url.pathname.startsWith(API) || !route) {
      // Flask's own page for a route MLflow does not have.
      response.writeHead(404, { "content-type": "text/html; charset=utf-8" });
      response.end("<!doctype html>\n<html lang=en>\n<title>404 Not Found</title>\n<h1>Not Found</h1>\n");
      return;
    }
    if (request.method !== "GET") {
      response.writeHead(405, { "content-type": "text/html; charset=utf-8", allow: "GET" });
      response.end("<title>405 Method Not Allowed</title>");
      return;
    }
    try {
      const asStrings = options.int64 === "string" || (options.int64 === "alternate" && answers++ % 2 === 1);
      send(200, route(url.searchParams, asStrings));
    } catch (error) {
      if (error instanceof MlflowApiError) {
        send(error.status, { error_code: error.error_code, message: error.message });
      } else {
        send(500, { error_code: "INTERNAL_ERROR", message: String(error) });
      }
    }
  });

  const ROUTES: Record<string, (query: URLSearchParams, asStrings: boolean) => unknown> = {
    "registered-models/search": (query, asStrings) => {
      const maxResults = maxResultsOf(query, 100, MODELS_MAX_RESULTS);
      const filter = query.get("filter");
      let list = [...models.values()];
      if (filter) {
        const name = nameOfFilter(filter);
        list = list.filter((m) => m.name === name);
      }
      const orderBy = query.getAll("order_by");
      const descending = orderBy.some((o) => /^name\s+DESC$/i.test(o.trim()));
      for (const o of orderBy) {
        if (!/^name(\s+(ASC|DESC))?$/i.test(o.trim())) {
          throw new MlflowApiError(400, "INVALID_PARAMETER_VALUE", `Invalid order_by clause '${o}'.`);
        }
      }
      list.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0) * (descending ? -1 : 1));
      const { page, next } = paged(list, query.get("page_token"), maxResults, options.pageCap);
      return withoutEmpty({
        registered_models: page.map((m) => registeredModelJson(m, asStrings)),
        next_page_token: next,
      });
    },
    "registered-models/get": (query, asStrings) => {
      const name = query.get("name");
      if (!name) {
        throw new MlflowApiError(
          400,
          "INVALID_PARAMETER_VALUE",
          "Missing value for required parameter 'name'.",
        );
      }
      const found = models.get(name);
      if (!found) {
        throw new MlflowApiError(
          404,
          "RESOURCE_DOES_NOT_EXIST",
          `Registered Model with name=${name} not found`,
        );
      }
      return { registered_model: registeredModelJson(found, asStrings) };
    },
    "model-versions/search": (query, asStrings) => {
      const maxResults = maxResultsOf(query, VERSIONS_MAX_RESULTS, VERSIONS_MAX_RESULTS);
      const filter = query.get("filter");
      const name = filter ? nameOfFilter(filter) : null;
      const list = [...models.values()]
        .filter((m) => name === null || m.name === name)
        .flatMap((m) => [...m.versions].reverse().map((v) => ({ m, v })));
      const { page, next } = paged(list, query.get("page_token"), maxResults, options.pageCap);
      return withoutEmpty({
        model_versions: page.map(({ m, v }) => modelVersionJson(m, v, asStrings)),
        next_page_token: next,
      });
    },
  };

  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  const touch = (m: Model) => {
    m.last_updated_timestamp = Date.now();
  };
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    createModel(name, tags = {}) {
      const now = Date.now();
      models.set(name, {
        name,
        creation_timestamp: now,
        last_updated_timestamp: now,
        tags: new Map(Object.entries(tags)),
        aliases: new Map(),
        versions: [],
      });
    },
    createVersion(name, { tags = {}, created = Date.now(), stage = "None" } = {}) {
      const m = model(name);
      const number = String(m.versions.length + 1);
      m.versions.push({
        version: number,
        creation_timestamp: created,
        last_updated_timestamp: created,
        current_stage: stage,
        tags: new Map(Object.entries(tags)),
        run_id: `run${number}`,
      });
      touch(m);
      return number;
    },
    setAlias(name, alias, number) {
      version(name, number);
      model(name).aliases.set(alias, number);
      touch(model(name));
    },
    deleteAlias(name, alias) {
      model(name).aliases.delete(alias);
    },
    setStage(name, number, stage) {
      const v = version(name, number);
      v.current_stage = stage;
      v.last_updated_timestamp = Date.now();
    },
    setModelTag(name, key, value) {
      model(name).tags.set(key, value);
    },
    setVersionTag(name, number, key, value) {
      version(name, number).tags.set(key, value);
    },
    deleteModel(name) {
      models.delete(name);
    },
    fail(failure) {
      failures.push({ ...failure, left: failure.times ?? 1 });
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function authorized(header: string | undefined, auth: FakeMlflowOptions["auth"]): boolean {
  if (!auth) return true;
  if ("bearer" in auth) return header === `Bearer ${auth.bearer}`;
  return header === `Basic ${Buffer.from(`${auth.username}:${auth.password}`).toString("base64")}`;
}

/** max_results as MLflow checks it: a positive integer no larger than the endpoint's threshold. */
function maxResultsOf(query: URLSearchParams, fallback: number, threshold: number): number {
  const text = query.get("max_results");
  if (text === null) return fallback;
  const value = Number(text);
  if (!/^\d+$/.test(text) || value < 1) {
    throw new MlflowApiError(
      400,
      "INVALID_PARAMETER_VALUE",
      `Invalid value ${text} for parameter 'max_results' supplied. It must be a positive integer`,
    );
  }
  if (value > threshold) {
    throw new MlflowApiError(
      400,
      "INVALID_PARAMETER_VALUE",
      `Invalid value for request parameter max_results. It must be at most ${threshold}, but got value ${value}`,
    );
  }
  return value;
}

/** The one filter the fake knows: `name='x'` or `name="x"`, strings quoted as MLflow's grammar does. */
function nameOfFilter(filter: string): string {
  const match = /^\s*name\s*=\s*(?:'([^']*)'|"([^"]*)")\s*$/.exec(filter);
  if (!match) {
    throw new MlflowApiError(400, "INVALID_PARAMETER_VALUE", `Invalid filter '${filter}'.`);
  }
  return (match[1] ?? match[2]) as string;
}

/** MLflow's page tokens: base64 of `{"offset": n}`. */
function paged<T>(
  list: T[],
  token: string | null,
  maxResults: number,
  cap: number | undefined,
): { page: T[]; next: string | undefined } {
  let offset = 0;
  if (token) {
    try {
      const parsed = JSON.parse(Buffer.from(token, "base64").toString("utf8")) as { offset?: unknown };
      if (typeof parsed.offset !== "number") throw new Error("no offset");
      offset = parsed.offset;
    } catch {
      throw new MlflowApiError(400, "INVALID_PARAMETER_VALUE", "Invalid page token, could not base64-decode");
    }
  }
  const size = Math.min(maxResults, cap ?? maxResults);
  const page = list.slice(offset, offset + size);
  const end = offset + page.length;
  const next =
    end < list.length ? Buffer.from(JSON.stringify({ offset: end })).toString("base64") : undefined;
  return { page, next };
}

function int64(value: number, asStrings: boolean): number | string {
  return asStrings ? String(value) : value;
}

/** Proto JSON leaves out unset fields and empty repeated ones. */
function withoutEmpty(object: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(object).filter(([, v]) => v !== undefined && !(Array.isArray(v) && v.length === 0)),
  );
}

function tagsJson(tags: Map<string, string>) {
  return [...tags].map(([key, value]) => ({ key, value }));
}

function registeredModelJson(m: Model, asStrings: boolean) {
  // MLflow's latest_versions: the newest version of each stage, `None` included.
  const latest = new Map<string, Version>();
  for (const v of m.versions) latest.set(v.current_stage, v);
  return withoutEmpty({
    name: m.name,
    creation_timestamp: int64(m.creation_timestamp, asStrings),
    last_updated_timestamp: int64(m.last_updated_timestamp, asStrings),
    latest_versions: [...latest.values()].map((v) => modelVersionJson(m, v, asStrings)),
    tags: tagsJson(m.tags),
    aliases: [...m.aliases].map(([alias, version]) => ({ alias, version })),
  });
}

function modelVersionJson(m: Model, v: Version, asStrings: boolean) {
  return withoutEmpty({
    name: m.name,
    version: v.version,
    creation_timestamp: int64(v.creation_timestamp, asStrings),
    last_updated_timestamp: int64(v.last_updated_timestamp, asStrings),
    current_stage: v.current_stage,
    description: "",
    source: `models:/m-${v.run_id}`,
    run_id: v.run_id,
    status: "READY",
    tags: tagsJson(v.tags),
    aliases: [...m.aliases].filter(([, number]) => number === v.version).map(([alias]) => alias),
  });
}
