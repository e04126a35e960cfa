import { Validator } from "@seriousme/openapi-schema-validator";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { registration, startTestApp, type TestApp } from "../support/test-app.js";

/*
 * The OpenAPI document is generated from the same zod schemas that validate requests, so these
 * tests check two things: that it is a valid OpenAPI 3.1 document by the schema validator, and
 * that it describes the routes the contract (DESIGN.md) promises and the server actually serves.
 */

interface Operation {
  summary?: string;
  security?: unknown[];
  parameters?: { name: string; in: string; required?: boolean }[];
  requestBody?: { required?: boolean; content: Record<string, { schema: JsonSchema }> };
  responses: Record<string, { content?: Record<string, { schema: JsonSchema }> }>;
}

interface JsonSchema {
  type?: string;
  required?: string[];
  properties?: Record<string, unknown>;
  additionalProperties?: unknown;
  anyOf?: JsonSchema[];
}

interface Document {
  openapi: string;
  info: { title: string; version: string };
  paths: Record<string, Record<string, Operation>>;
  security?: unknown[];
  components: { securitySchemes: Record<string, unknown> };
}

/** The routes of the v1 contract this server implements, and the public ones it documents. */
const ROUTES = [
  ["post", "/v1/deployments"],
  ["get", "/v1/deployments"],
  ["get", "/v1/deployments/{id}"],
  ["get", "/v1/deployments/{id}/events"],
  ["post", "/v1/deployments/{id}/retire"],
  ["get", "/v1/models"],
  ["get", "/v1/models/{name}"],
  ["get", "/v1/models/{name}/events"],
  ["get", "/v1/models/{name}/canary"],
  ["get", "/v1/models/{name}/performance"],
  ["get", "/v1/models/{name}/drift"],
  ["put", "/v1/models/{name}/golden"],
  ["post", "/v1/models/{name}/rollback"],
  ["post", "/v1/sweeps"],
  ["get", "/v1/sweeps"],
  ["post", "/v1/deployments/{id}/review"],
  ["post", "/v1/deployments/{id}/heartbeat"],
  ["post", "/v1/deployments/{id}/metrics"],
  ["get", "/v1/deployments/{id}/timeline"],
  ["post", "/v1/deployments/{id}/reference"],
  ["get", "/v1/deployments/{id}/reference"],
  ["post", "/v1/deployments/{id}/samples"],
  ["get", "/v1/deployments/{id}/policy"],
  ["post", "/v1/policies/reload"],
  ["get", "/v1/policy/suggestions"],
  ["get", "/v1/lifecycle"],
  ["get", "/v1/calendar.ics"],
  ["get", "/v1/check"],
  ["get", "/v1/fleet"],
  ["get", "/v1/fleet/deployments"],
  ["get", "/v1/routes"],
  ["get", "/v1/alerts"],
  ["post", "/v1/alerts/{id}/resolve"],
  ["get", "/v1/deliveries"],
  ["post", "/v1/deliveries/retry"],
  ["post", "/v1/feedback"],
  ["get", "/v1/models/{name}/shadow"],
  ["get", "/v1/report"],
  ["post", "/v1/models/{name}/gate"],
  ["post", "/v1/traffic"],
  ["get", "/v1/ghosts"],
  ["post", "/v1/hooks/mlflow"],
  ["get", "/v1/audit"],
  ["get", "/healthz"],
  ["get", "/metrics"],
] as const;

const MANDATORY = ["model", "model_version", "training_data_cutoff", "owner_team"];

describe("the OpenAPI document", () => {
  let t: TestApp;
  let doc: Document;
  beforeEach(async () => {
    t = await startTestApp("sqlite", { metrics: true });
    const res = await t.request({ method: "GET", url: "/openapi.json", token: null });
    expect(res.statusCode).toBe(200);
    expect(res.headers["content-type"]).toMatch(/^application\/json/);
    doc = res.json();
  });
  afterEach(async () => {
    await t.close();
  });

  const operation = (method: string, path: string): Operation => {
    const found = doc.paths[path]?.[method];
    if (!found) throw new Error(`${method.toUpperCase()} ${path} is not documented`);
    return found;
  };
  const jsonBody = (method: string, path: string): JsonSchema => {
    const schema = operation(method, path).requestBody?.content["application/json"]?.schema;
    if (!schema) throw new Error(`${method.toUpperCase()} ${path} documents no application/json body`);
    return schema;
  };

  it("is served without a token and is OpenAPI 3.1 by the OpenAPI schema validator", async () => {
    expect(doc.openapi).toMatch(/^3\.1\.\d+$/);
    expect(doc.info).toMatchObject({ title: "Tenure", version: "test" });
    const validator = new Validator();
    const result = await validator.validate(structuredClone(doc) as unknown as Record<string, unknown>);
    expect(result.errors).toBeUndefined();
    expect(result.valid).toBe(true);
    expect(validator.version).toBe("3.1");
  });

  it("is judged by a validator that does refuse a broken document", async () => {
    const broken = structuredClone(doc) as unknown as Record<string, unknown>;
    (broken.paths as Record<string, unknown>)["/v1/models"] = { get: { responses: "none" } };
    const result = await new Validator().validate(broken);
    expect(result.valid).toBe(false);
  });

  it("documents every route of the contract the server implements, each with a summary", () => {
    for (const [method, path] of ROUTES) {
      expect(operation(method, path).summary, `${method} ${path}`).toEqual(expect.any(String));
    }
    const documented = Object.entries(doc.paths).flatMap(([path, ops]) =>
      Object.keys(ops).map((method) => `${method} ${path}`),
    );
    expect(documented.sort()).toEqual(ROUTES.map(([method, path]) => `${method} ${path}`).sort());
  });

  it("documents only routes the server serves: none of them answers 'no route'", async () => {
    for (const [method, path] of ROUTES) {
      const url = path.replace("{id}", "1").replace("{name}", "fraud-gbm");
      const verb = method.toUpperCase() as "GET" | "POST" | "PUT";
      const res = await t.request({ method: verb, url, body: verb === "GET" ? undefined : {} });
      const detail = res.statusCode === 404 ? res.json().detail : "";
      expect(detail, `${verb} ${url}`).not.toMatch(/^no route/);
    }
  });

  it("documents the registration body with the mandatory metadata required and unknown fields refused", () => {
    const body = jsonBody("post", "/v1/deployments");
    expect(operation("post", "/v1/deployments").requestBody?.required).toBe(true);
    expect(body.type).toBe("object");
    expect([...(body.required ?? [])].sort()).toEqual([...MANDATORY].sort());
    expect(Object.keys(body.properties ?? {}).sort()).toEqual(
      [
        ...MANDATORY,
        "environment",
        "deployment_date",
        "scheduled_at",
        "role",
        "endpoint",
        "tags",
        "baseline_metrics",
        "canary",
      ].sort(),
    );
    expect(body.additionalProperties).toBe(false);
    const idempotency = operation("post", "/v1/deployments").parameters?.find((p) => p.in === "header");
    expect(idempotency).toMatchObject({ name: "idempotency-key", required: false });
  });

  it("requires in the registration schema exactly what the server refuses a registration without", async () => {
    for (const field of MANDATORY) {
      const { [field]: _missing, ...rest } = registration();
      const res = await t.request({ method: "POST", url: "/v1/deployments", body: rest });
      expect(res.statusCode, field).toBe(400);
      expect(res.json().errors, field).toEqual([{ field, message: "is required" }]);
    }
    const minimal = Object.fromEntries(MANDATORY.map((field) => [field, registration()[field]]));
    expect((await t.request({ method: "POST", url: "/v1/deployments", body: minimal })).statusCode).toBe(201);
  });

  it("documents the golden and rollback bodies, and golden's required model_version", () => {
    expect(jsonBody("put", "/v1/models/{name}/golden").required).toEqual(["model_version"]);
    expect(Object.keys(jsonBody("put", "/v1/models/{name}/golden").properties ?? {}).sort()).toEqual([
      "environment",
      "model_version",
    ]);
    expect(Object.keys(jsonBody("post", "/v1/models/{name}/rollback").properties ?? {}).sort()).toEqual([
      "environment",
      "reason",
      "to_version",
    ]);
  });

  it("documents the path parameters and the list's filters, sort and paging", () => {
    for (const [method, path] of ROUTES) {
      const names = [...path.matchAll(/\{(\w+)\}/g)].map((m) => m[1]);
      const params = (operation(method, path).parameters ?? []).filter((p) => p.in === "path");
      expect(
        params.map((p) => [p.name, p.required]),
        `${method} ${path}`,
      ).toEqual(names.map((n) => [n, true]));
    }
    const query = (operation("get", "/v1/deployments").parameters ?? []).filter((p) => p.in === "query");
    expect(query.map((p) => p.name).sort()).toEqual(
      ["model", "environment", "owner_team", "role", "status", "stage", "sort", "limit", "cursor"].sort(),
    );
  });

  it("requires a bearer token on every /v1 route and none on /healthz or MLflow's signed webhook", () => {
    expect(doc.components.securitySchemes.bearer).toEqual({ type: "http", scheme: "bearer" });
    expect(doc.security).toEqual([{ bearer: [] }]);
    for (const [method, path] of ROUTES) {
      const op = operation(method, path);
      if (path === "/healthz") expect(op.security).toEqual([]);
      else if (path === "/v1/hooks/mlflow") {
        expect(op.security).toEqual([]);
        expect(Object.keys(op.responses)).toContain("401");
      } else {
        expect(op.security, `${method} ${path}`).toBeUndefined();
        expect(Object.keys(op.responses), `${method} ${path}`).toContain("401");
      }
    }
  });

  it("documents error responses as application/problem+json, the media type the server sends", async () => {
    const served = await t.request({ method: "GET", url: "/v1/deployments/0" });
    expect(served.headers["content-type"]).toMatch(/^application\/problem\+json/);
    const wrong: string[] = [];
    for (const [method, path] of ROUTES) {
      for (const [status, response] of Object.entries(operation(method, path).responses)) {
        if (Number(status) >= 400 && !response.content?.["application/problem+json"]) {
          wrong.push(`${method} ${path} ${status}: ${Object.keys(response.content ?? {}).join(", ")}`);
        }
      }
    }
    expect(wrong).toEqual([]);
  });

  it("documents the retire body as optional, as the route retires without one", async () => {
    const d = (await t.request({ method: "POST", url: "/v1/deployments", body: registration() })).json();
    const retired = await t.request({ method: "POST", url: `/v1/deployments/${d.id}/retire` });
    expect(retired.statusCode).toBe(200);
    expect(operation("post", "/v1/deployments/{id}/retire").requestBody?.required).not.toBe(true);
  });
});
