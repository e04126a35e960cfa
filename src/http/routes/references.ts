import type { FastifyInstance } from "fastify";
import { validatorCompiler, type ZodTypeProvider } from "fastify-type-provider-zod";
import { z } from "zod";
import { parseDataset } from "../../monitoring/dataset-reader.js";
import type { DriftMonitor } from "../../monitoring/drift-monitor.js";
import { IdParams } from "../../registry/registry-input.js";
import { actorOf } from "../auth.js";
import { problemResponses } from "../schemas.js";
import { Row } from "./samples.js";

const ReferenceBody = z.strictObject({
  rows: z.array(Row).min(1, "must hold at least one row").max(1_000_000),
});

const ReferenceView = z.object({
  deployment_id: z.number().int(),
  source: z.string(),
  features: z.array(
    z.object({
      feature: z.string(),
      kind: z.enum(["numeric", "categorical"]),
      seen: z.number(),
      kept: z.number(),
    }),
  ),
});

/** A reference may be a whole training sample: larger than the API's other bodies. */
const REFERENCE_BODY_LIMIT = 64 * 1024 * 1024;

const FILE_TYPES = ["text/csv", "application/x-ndjson", "application/jsonl"];

export function referenceRoutes(app: FastifyInstance, drift: DriftMonitor): void {
  // A reference comes as JSON {rows}, or as the file a data scientist already has.
  for (const type of FILE_TYPES) {
    if (!app.hasContentTypeParser(type)) {
      app.addContentTypeParser(
        type,
        { parseAs: "buffer", bodyLimit: REFERENCE_BODY_LIMIT },
        (_request, body, done) => done(null, { file: body, format: type === "text/csv" ? "csv" : "jsonl" }),
      );
    }
  }
  const r = app.withTypeProvider<ZodTypeProvider>();

  r.post(
    "/v1/deployments/:id/reference",
    {
      bodyLimit: REFERENCE_BODY_LIMIT,
      config: { bodyTypes: ["application/json", ...FILE_TYPES] },
      // CSV and JSON Lines bodies are read by the dataset reader, not by a JSON schema.
      validatorCompiler: (route) => {
        // The route's typed schema is the zod one the provider's compiler expects.
        const zod = validatorCompiler(route as unknown as Parameters<typeof validatorCompiler>[0]);
        return (data) => (isFileBody(data) ? { value: data } : zod(data));
      },
      schema: {
        summary: "Upload the reference distribution: a training sample as JSON {rows}, CSV or JSON Lines",
        tags: ["monitoring"],
        params: IdParams,
        body: ReferenceBody,
        response: { 200: ReferenceView, ...problemResponses(400, 401, 403, 404, 409, 413, 415, 422) },
      },
    },
    async (request) => {
      const body = request.body as z.infer<typeof ReferenceBody> | { file: Buffer; format: "csv" | "jsonl" };
      const actor = actorOf(request);
      if (!("file" in body)) return drift.putReference(request.params.id, actor, body.rows);
      const dataset = parseDataset(body.file, body.format, "the body");
      return drift.putReferenceDataset(request.params.id, actor, dataset.data);
    },
  );

  r.get(
    "/v1/deployments/:id/reference",
    {
      schema: {
        summary: "The features of a deployment's drift reference",
        tags: ["monitoring"],
        params: IdParams,
        response: { 200: ReferenceView, ...problemResponses(400, 401, 404) },
      },
    },
    async (request) => drift.reference(request.params.id),
  );
}

function isFileBody(data: unknown): data is { file: Buffer; format: "csv" | "jsonl" } {
  return (
    typeof data === "object" &&
    data !== null &&
    "file" in data &&
    Buffer.isBuffer((data as { file: unknown }).file)
  );
}
