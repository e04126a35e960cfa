import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { METRIC_NAME, MODEL_VERSION } from "../../src/sdk/record-checks.js";
import { type FieldSpec, SDK_ROUTES, type SdkRoute } from "../../src/sdk/routes.js";
import { type ListeningTenure, listeningTenure } from "../support/sdk-servers.js";

/*
 * The SDK's client builds every request from its route table, so holding the table against the
 * OpenAPI document a real server publishes holds the client: a path, a method or a body field
 * renamed, added or dropped on either side, or a field that became required, fails here.
 */

interface Schema {
  type?: string;
  properties?: Record<string, Schema>;
  required?: string[];
  items?: Schema;
  pattern?: string;
}

interface Operation {
  parameters?: { name: string; in: string }[];
  requestBody?: { content: Record<string, { schema: Schema }> };
  responses: Record<string, { content?: Record<string, { schema: Schema }> }>;
}

type Document = { paths: Record<string, Record<string, Operation>> };

/** A body schema's fields as the route table writes them. */
function fieldsOf(schema: Schema): Record<string, FieldSpec> {
  const required = new Set(schema.required ?? []);
  return Object.fromEntries(
    Object.entries(schema.properties ?? {}).map(([name, field]) => {
      const items = field.type === "array" && field.items?.properties ? fieldsOf(field.items) : undefined;
      return [name, items ? { required: required.has(name), items } : { required: required.has(name) }];
    }),
  );
}

/** Where the table and the document disagree, one line each; empty when they agree. */
function differences(routes: Record<string, SdkRoute>, document: Document): string[] {
  const found: string[] = [];
  for (const [name, route] of Object.entries(routes)) {
    const operation = document.paths[route.path]?.[route.method.toLowerCase()];
    if (!operation) {
      found.push(`${name}: ${route.method} ${route.path} is not served`);
      continue;
    }
    const schema = operation.requestBody?.content["application/json"]?.schema;
    const served = schema ? fieldsOf(schema) : undefined;
    if (JSON.stringify(sorted(served)) !== JSON.stringify(sorted(route.body))) {
      found.push(
        `${name}: body ${JSON.stringify(route.body)} but the server takes ${JSON.stringify(served)}`,
      );
    }
    const query = new Set((operation.parameters ?? []).filter((p) => p.in === "query").map((p) => p.name));
    for (const parameter of route.query ?? []) {
      if (!query.has(parameter)) found.push(`${name}: query parameter ${parameter} is not taken`);
    }
    const answer = operation.responses["200"]?.content?.["application/json"]?.schema;
    for (const field of route.reads) {
      if (!answer?.properties?.[field]) found.push(`${name}: the answer has no ${field}`);
    }
  }
  return found;
}

/** The same fields in name order at every level, so key order does not count as a difference. */
function sorted(fields: Readonly<Record<string, FieldSpec>> | undefined): unknown {
  if (fields === undefined) return null;
  return Object.keys(fields)
    .sort()
    .map((name) => {
      const spec = fields[name] as FieldSpec;
      return [name, spec.required, sorted(spec.items)];
    });
}

describe("the SDK's client against /openapi.json of a running Tenure", () => {
  let tenure: ListeningTenure;
  let document: Document;

  beforeAll(async () => {
    tenure = await listeningTenure("sqlite");
    const response = await fetch(`${tenure.url}/openapi.json`);
    expect(response.status).toBe(200);
    document = (await response.json()) as Document;
  });
  afterAll(() => tenure?.close());

  it("calls only routes the server serves, with the body fields it takes, and reads fields it answers", () => {
    expect(Object.keys(SDK_ROUTES).length).toBe(6);
    expect(differences(SDK_ROUTES, document)).toEqual([]);
  });

  it("reads of a deployment that every item of the list has too", () => {
    const list =
      document.paths["/v1/deployments"]?.get?.responses["200"]?.content?.["application/json"]?.schema;
    const item = list?.properties?.items?.items?.properties ?? {};
    expect(SDK_ROUTES.deployment.reads.filter((field) => !(field in item))).toEqual([]);
  });

  it("fails on a drifted table: a renamed field, a lost one, a wrong required flag and a wrong path are each named", () => {
    const drifted: Record<string, SdkRoute> = {
      ...SDK_ROUTES,
      heartbeat: { ...SDK_ROUTES.heartbeat, body: { version: { required: false } } },
      metrics: {
        ...SDK_ROUTES.metrics,
        body: { points: { required: true, items: { name: { required: true }, value: { required: true } } } },
      },
      feedback: { ...SDK_ROUTES.feedback, body: { items: { required: false } } },
      samples: { ...SDK_ROUTES.samples, path: "/v1/deployments/{id}/sample" },
    };
    const found = differences(drifted, document);
    expect(found.map((line) => line.split(":")[0]).sort()).toEqual([
      "feedback",
      "heartbeat",
      "metrics",
      "samples",
    ]);
  });

  it("checks metric names and served versions with the patterns the API publishes", () => {
    const points =
      document.paths["/v1/deployments/{id}/metrics"]?.post?.requestBody?.content["application/json"]?.schema
        .properties?.points?.items?.properties;
    expect(points?.name?.pattern).toBe(METRIC_NAME.source);
    const heartbeat =
      document.paths["/v1/deployments/{id}/heartbeat"]?.post?.requestBody?.content["application/json"]
        ?.schema;
    expect(heartbeat?.properties?.served_version?.pattern).toBe(MODEL_VERSION.source);
  });
});
