import { z } from "zod";
import { OutboundError, type OutboundOptions, requestJson } from "../outbound-http.js";

/** Where MLflow's REST API is, and how to call it. */
export interface MlflowConnection {
  /** The tracking server's base URL (`https://mlflow.example.com`, or one with a path prefix). */
  url: string;
  /** Sent as a bearer token; never in a message or a log. */
  token?: string;
  outbound?: OutboundOptions;
}

/** What MLflow holds of one model version and its registered model, as the webhook needs it. */
export interface MlflowVersionFacts {
  name: string;
  version: string;
  /** Epoch ms. */
  creation_timestamp: number;
  version_tags: Record<string, string>;
  model_tags: Record<string, string>;
  /** Each alias of the registered model, and the version it points at now. */
  aliases: Record<string, string>;
}

// int64 fields come as JSON numbers from MLflow's server; some proxies turn them into strings.
const int64 = z.union([z.number(), z.string().regex(/^\d+$/).transform(Number)]);
const Tags = z
  .array(z.object({ key: z.string(), value: z.string().optional() }))
  .optional()
  .transform((tags) => Object.fromEntries((tags ?? []).map((t) => [t.key, t.value ?? ""])));

/** `GET /api/2.0/mlflow/model-versions/get`; empty repeated fields are left out of MLflow's JSON. */
const ModelVersionAnswer = z.object({
  model_version: z.object({
    name: z.string(),
    version: z.string(),
    creation_timestamp: int64,
    tags: Tags,
  }),
});

/** `GET /api/2.0/mlflow/registered-models/get`. */
const RegisteredModelAnswer = z.object({
  registered_model: z.object({
    name: z.string(),
    tags: Tags,
    aliases: z
      .array(z.object({ alias: z.string(), version: z.string() }))
      .optional()
      .transform((aliases) => Object.fromEntries((aliases ?? []).map((a) => [a.alias, a.version]))),
  }),
});

/**
 * Reads a model version and its registered model from MLflow: tags of both (the mandatory
 * metadata may sit on either) and where each alias points now. Null when MLflow says one of them
 * does not exist (`RESOURCE_DOES_NOT_EXIST`, 404); any other failure throws an OutboundError.
 */
export async function lookUpMlflowVersion(
  connection: MlflowConnection,
  name: string,
  version: string,
): Promise<MlflowVersionFacts | null> {
  try {
    const [versionAnswer, modelAnswer] = await Promise.all([
      call(connection, "model-versions/get", { name, version }),
      call(connection, "registered-models/get", { name }),
    ]);
    const mv = parseAnswer(ModelVersionAnswer, versionAnswer, "model-versions/get").model_version;
    const rm = parseAnswer(RegisteredModelAnswer, modelAnswer, "registered-models/get").registered_model;
    return {
      name: mv.name,
      version: mv.version,
      creation_timestamp: mv.creation_timestamp,
      version_tags: mv.tags,
      model_tags: rm.tags,
      aliases: rm.aliases,
    };
  } catch (error) {
    if (error instanceof OutboundError && error.status === 404) return null;
    throw error;
  }
}

function call(connection: MlflowConnection, path: string, query: Record<string, string>): Promise<unknown> {
  const base = connection.url.endsWith("/") ? connection.url : `${connection.url}/`;
  const url = new URL(`api/2.0/mlflow/${path}`, base);
  for (const [key, value] of Object.entries(query)) url.searchParams.set(key, value);
  return requestJson(
    {
      url,
      headers: connection.token ? { authorization: `Bearer ${connection.token}` } : {},
    },
    connection.outbound,
  );
}

function parseAnswer<T extends z.ZodType>(schema: T, answer: unknown, path: string): z.output<T> {
  const parsed = schema.safeParse(answer);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  throw new OutboundError(
    `MLflow's answer to ${path} is not as its REST API documents: ${issue?.path.join(".")} ${issue?.message}`,
    200,
    null,
    1,
  );
}
