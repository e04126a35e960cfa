import http, { type IncomingHttpHeaders } from "node:http";
import type { AddressInfo } from "node:net";

/** One model version as the fake holds it. */
export interface FakeVersion {
  /** Epoch ms, as MLflow's int64 `creation_timestamp`. */
  creation_timestamp: number;
  tags?: Record<string, string>;
}

export interface FakeModel {
  tags?: Record<string, string>;
  /** Alias → version. */
  aliases?: Record<string, string>;
  versions: Record<string, FakeVersion>;
}

export interface MlflowVersions {
  /** The base URL, as `--mlflow-url` takes it. */
  url: string;
  /** The registry the fake answers from: change it as MLflow would change. */
  models: Map<string, FakeModel>;
  /** Requests as received: path with query, and headers. */
  requests: { path: string; headers: IncomingHttpHeaders }[];
  /** While set, every request is answered 503, as an MLflow behind a restarting proxy. */
  setDown(down: boolean): void;
  close(): Promise<void>;
}

/**
 * A minimal MLflow tracking server on 127.0.0.1 for what the webhook reads: `GET
 * /api/2.0/mlflow/model-versions/get` and `registered-models/get`, answered with MLflow's field
 * names (int64 ms timestamps, tags as `{key, value}` lists, aliases as `{alias, version}`, empty
 * repeated fields left out), and `RESOURCE_DOES_NOT_EXIST` (404) for what it does not hold.
 */
export async function startMlflowVersions(): Promise<MlflowVersions> {
  const models = new Map<string, FakeModel>();
  const requests: MlflowVersions["requests"] = [];
  let down = false;
  const server = http.createServer((request, response) => {
    const url = new URL(request.url ?? "/", "http://mlflow.invalid");
    requests.push({ path: `${url.pathname}${url.search}`, headers: request.headers });
    const send = (status: number, body: unknown) => {
      response.writeHead(status, { "content-type": "application/json" });
      response.end(JSON.stringify(body));
    };
    if (down) return send(503, { error_code: "TEMPORARILY_UNAVAILABLE", message: "Service Unavailable" });
    const name = url.searchParams.get("name");
    if (request.method !== "GET") return send(405, { error_code: "BAD_REQUEST", message: "method" });
    if (name === null) {
      return send(400, {
        error_code: "INVALID_PARAMETER_VALUE",
        message: "Missing value for required parameter 'name'.",
      });
    }
    const model = models.get(name);
    if (url.pathname === "/api/2.0/mlflow/registered-models/get") {
      if (!model) return notFound(send, `Registered Model with name=${name} not found`);
      return send(200, { registered_model: registeredModel(name, model) });
    }
    if (url.pathname === "/api/2.0/mlflow/model-versions/get") {
      const version = url.searchParams.get("version") ?? "";
      const found = model?.versions[version];
      if (!model || !found)
        return notFound(send, `Model Version (name=${name}, version=${version}) not found`);
      return send(200, { model_version: modelVersion(name, version, model, found) });
    }
    return send(404, { error_code: "ENDPOINT_NOT_FOUND", message: `no endpoint ${url.pathname}` });
  });
  await new Promise<void>((done) => server.listen(0, "127.0.0.1", done));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    models,
    requests,
    setDown: (value) => {
      down = value;
    },
    close: () =>
      new Promise((done) => {
        server.closeAllConnections();
        server.close(() => done());
      }),
  };
}

function notFound(send: (status: number, body: unknown) => void, message: string): void {
  send(404, { error_code: "RESOURCE_DOES_NOT_EXIST", message });
}

/** MLflow leaves empty repeated fields out of its JSON. */
function repeated<T>(key: string, items: T[]): Record<string, T[]> {
  return items.length === 0 ? {} : { [key]: items };
}

function tagList(tags: Record<string, string> | undefined) {
  return Object.entries(tags ?? {}).map(([key, value]) => ({ key, value }));
}

function registeredModel(name: string, model: FakeModel) {
  const created = Math.min(...Object.values(model.versions).map((v) => v.creation_timestamp));
  return {
    name,
    creation_timestamp: created,
    last_updated_timestamp: created,
    ...repeated("tags", tagList(model.tags)),
    ...repeated(
      "aliases",
      Object.entries(model.aliases ?? {}).map(([alias, version]) => ({ alias, version })),
    ),
  };
}

function modelVersion(name: string, version: string, model: FakeModel, found: FakeVersion) {
  return {
    name,
    version,
    creation_timestamp: found.creation_timestamp,
    last_updated_timestamp: found.creation_timestamp,
    current_stage: "None",
    description: "",
    source: `models:/m-${version}`,
    run_id: "",
    status: "READY",
    ...repeated("tags", tagList(found.tags)),
    ...repeated(
      "aliases",
      Object.entries(model.aliases ?? {})
        .filter(([, v]) => v === version)
        .map(([alias]) => alias),
    ),
  };
}
