import { z } from "zod";
import { OutboundError, type OutboundOptions, requestJson } from "../outbound-http.js";

/**
 * A small reader of MLflow's model registry REST API (mlflow/protos/model_registry.proto): the
 * registered models with their tags and aliases, and each model's versions. Every call goes
 * through requestJson (timeouts, retries with backoff on 429 and 5xx, Retry-After), and no message
 * it throws carries the credentials.
 */

/** How MLflow's own client authenticates: a bearer token (Databricks) or HTTP basic (MLflow's auth app). */
export type MlflowCredentials =
  | { kind: "bearer"; token: string }
  | { kind: "basic"; username: string; password: string };

export interface MlflowClientOptions {
  /** The tracking server's base URL, such as https://mlflow.example.com or a Databricks workspace. */
  url: string;
  credentials?: MlflowCredentials;
  outbound?: OutboundOptions;
  /**
   * Results asked for per page. MLflow allows at most 1000 registered models a page; model
   * versions allow 200,000, but Databricks stops at 10,000, so MLflow's own client asks for 1000.
   */
  pageSize?: { models?: number; versions?: number };
}

export const MLFLOW_PAGE_LIMITS = { models: 1000, versions: 1000 } as const;

export interface MlflowRegisteredModel {
  name: string;
  creation_timestamp: number | null;
  last_updated_timestamp: number | null;
  tags: Record<string, string>;
  /** Aliases (MLflow ≥ 2.3): which version each points to. */
  aliases: { alias: string; version: string }[];
  /** The newest version in each stage; null when the server did not send the field. */
  latest_versions: MlflowModelVersion[] | null;
}

export interface MlflowModelVersion {
  name: string;
  version: string;
  /** Epoch ms; null when the server did not say. */
  creation_timestamp: number | null;
  last_updated_timestamp: number | null;
  /** The legacy stage (`None`, `Staging`, `Production`, `Archived`), deprecated since MLflow 2.9. */
  current_stage: string | null;
  status: string | null;
  tags: Record<string, string>;
  aliases: string[];
}

/** MLflow answered with an error of its own (`{"error_code": …, "message": …}`) or could not be read. */
export class MlflowError extends Error {
  override name = "MlflowError";
  constructor(
    message: string,
    /** MLflow's error code, such as RESOURCE_DOES_NOT_EXIST; null when the answer carried none. */
    readonly error_code: string | null,
    /** The HTTP status; null when no answer came. */
    readonly status: number | null,
  ) {
    super(message);
  }
}

// proto int64 fields: MLflow's own server writes them as JSON numbers, but the proto3 JSON mapping
// (Databricks, older servers, gateways in between) writes them as strings.
const int64 = z
  .union([z.number().int(), z.string().regex(/^-?\d+$/)])
  .transform(Number)
  .pipe(z.number().refine(Number.isSafeInteger, "must be a safe integer"));

// Proto2 `optional` fields and empty repeated fields are left out of the JSON altogether.
const tagList = z
  .array(z.object({ key: z.string(), value: z.string().optional() }))
  .optional()
  .transform((tags) => Object.fromEntries((tags ?? []).map((t) => [t.key, t.value ?? ""])));

const ModelVersionWire = z.object({
  name: z.string(),
  version: z.union([z.string(), z.number()]).transform(String),
  creation_timestamp: int64.optional(),
  last_updated_timestamp: int64.optional(),
  current_stage: z.string().optional(),
  status: z.string().optional(),
  tags: tagList,
  aliases: z.array(z.string()).optional(),
});

const RegisteredModelWire = z.object({
  name: z.string(),
  creation_timestamp: int64.optional(),
  last_updated_timestamp: int64.optional(),
  tags: tagList,
  aliases: z
    .array(z.object({ alias: z.string(), version: z.union([z.string(), z.number()]).transform(String) }))
    .optional(),
  latest_versions: z.array(ModelVersionWire).optional(),
});

const SearchRegisteredModelsWire = z.object({
  registered_models: z.array(RegisteredModelWire).optional(),
  next_page_token: z.string().optional(),
});

const GetRegisteredModelWire = z.object({ registered_model: RegisteredModelWire });

const SearchModelVersionsWire = z.object({
  model_versions: z.array(ModelVersionWire).optional(),
  next_page_token: z.string().optional(),
});

const MlflowErrorBody = z.object({ error_code: z.string(), message: z.string().optional() });

export class MlflowClient {
  private readonly base: URL;
  private readonly headers: Record<string, string>;
  private readonly secrets: string[];

  constructor(private readonly options: MlflowClientOptions) {
    this.base = new URL(options.url.endsWith("/") ? options.url : `${options.url}/`);
    const credentials = options.credentials;
    this.headers = credentials ? { authorization: authorizationOf(credentials) } : {};
    this.secrets = !credentials
      ? []
      : credentials.kind === "bearer"
        ? [credentials.token]
        : [credentials.password, authorizationOf(credentials)];
  }

  /** The server's address as messages show it: no path beyond the base, never credentials. */
  get origin(): string {
    return `${this.base.origin}${this.base.pathname.replace(/\/$/, "")}`;
  }

  /** Every registered model, ordered by name, page by page (registered-models/search). */
  async *registeredModels(): AsyncGenerator<MlflowRegisteredModel> {
    const pageSize = this.options.pageSize?.models ?? MLFLOW_PAGE_LIMITS.models;
    const tokens = this.pageTokens("registered-models/search");
    let pageToken: string | undefined;
    do {
      const page = await this.get(
        "registered-models/search",
        { max_results: String(pageSize), order_by: "name ASC", page_token: pageToken },
        SearchRegisteredModelsWire,
      );
      for (const model of page.registered_models ?? []) yield registeredModelOf(model);
      pageToken = tokens.next(page.next_page_token);
    } while (pageToken);
  }

  /** One registered model (registered-models/get); null when MLflow has none of that name. */
  async registeredModel(name: string): Promise<MlflowRegisteredModel | null> {
    try {
      const found = await this.get("registered-models/get", { name }, GetRegisteredModelWire);
      return registeredModelOf(found.registered_model);
    } catch (error) {
      if (error instanceof MlflowError && error.error_code === "RESOURCE_DOES_NOT_EXIST") return null;
      throw error;
    }
  }

  /** Every version of one registered model, page by page (model-versions/search). */
  async modelVersions(name: string): Promise<MlflowModelVersion[]> {
    const pageSize = this.options.pageSize?.versions ?? MLFLOW_PAGE_LIMITS.versions;
    const versions: MlflowModelVersion[] = [];
    const tokens = this.pageTokens("model-versions/search");
    let pageToken: string | undefined;
    do {
      const page = await this.get(
        "model-versions/search",
        { filter: nameFilter(name), max_results: String(pageSize), page_token: pageToken },
        SearchModelVersionsWire,
      );
      versions.push(...(page.model_versions ?? []).map(modelVersionOf));
      pageToken = tokens.next(page.next_page_token);
    } while (pageToken);
    return versions;
  }

  /**
   * The page tokens of one search, each taken once: a server (or a proxy caching the answer) that
   * hands back a token already followed would have the sync page forever, so it is refused.
   */
  private pageTokens(path: string): { next(token: string | undefined): string | undefined } {
    const seen = new Set<string>();
    return {
      next: (token) => {
        if (!token) return undefined;
        if (seen.has(token)) {
          throw new MlflowError(
            `${this.origin} answered ${path} with a page token it had given before: its pages never end`,
            null,
            200,
          );
        }
        seen.add(token);
        return token;
      },
    };
  }

  private async get<T extends z.ZodType>(
    path: string,
    query: Record<string, string | undefined>,
    schema: T,
  ): Promise<z.output<T>> {
    const url = new URL(`api/2.0/mlflow/${path}`, this.base);
    for (const [key, value] of Object.entries(query))
      if (value !== undefined) url.searchParams.set(key, value);
    let body: unknown;
    try {
      body = await requestJson({ url, headers: this.headers }, this.options.outbound);
    } catch (error) {
      throw this.errorOf(error, path);
    }
    const parsed = schema.safeParse(body ?? {});
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      const where = issue?.path.join(".") || "the answer";
      throw new MlflowError(
        `${this.origin} answered ${path} with something MLflow would not send (${where}: ${issue?.message}): is it an MLflow tracking server?`,
        null,
        200,
      );
    }
    return parsed.data;
  }

  private errorOf(error: unknown, path: string): Error {
    if (!(error instanceof OutboundError)) return error instanceof Error ? error : new Error(String(error));
    const mlflow = MlflowErrorBody.safeParse(error.body);
    const tries = error.attempts > 1 ? ` (after ${error.attempts} attempts)` : "";
    let message: string;
    if (mlflow.success) {
      message = `MLflow at ${this.origin} refused ${path}: ${mlflow.data.error_code}${mlflow.data.message ? `: ${mlflow.data.message}` : ""}`;
    } else if (error.status === null) {
      message = `cannot reach MLflow at ${this.origin}: ${error.message.replace(/^.*? failed: /, "")}${tries}`;
    } else if (error.status < 300) {
      message = `${this.origin} answered ${path} with something that is not JSON: is --url an MLflow tracking server?`;
    } else if (error.status === 401 || error.status === 403) {
      message = `MLflow at ${this.origin} refused the credentials (HTTP ${error.status}): set --token, or MLFLOW_TRACKING_TOKEN or MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD`;
    } else if (error.status === 404) {
      message = `no MLflow model registry at ${this.origin} (HTTP 404 for ${path}): is --url the tracking server's address?`;
    } else {
      message = `MLflow at ${this.origin} failed ${path}: ${error.message.replace(/^.*? failed: /, "")}${tries}`;
    }
    return new MlflowError(
      this.redact(message),
      mlflow.success ? mlflow.data.error_code : null,
      error.status,
    );
  }

  /** A server may echo what it was sent: no message leaves with a credential in it. */
  private redact(message: string): string {
    let text = message;
    for (const secret of this.secrets) if (secret) text = text.split(secret).join("***");
    return text;
  }
}

/**
 * The credentials to send: a token given to Tenure, else what MLflow's own client reads from the
 * environment (basic auth when MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD are both set,
 * else MLFLOW_TRACKING_TOKEN as a bearer token); none without any.
 */
export function mlflowCredentials(
  token: string | undefined,
  env: Record<string, string | undefined>,
): MlflowCredentials | undefined {
  if (token) return { kind: "bearer", token };
  const username = env.MLFLOW_TRACKING_USERNAME;
  const password = env.MLFLOW_TRACKING_PASSWORD;
  if (username && password) return { kind: "basic", username, password };
  const tracking = env.MLFLOW_TRACKING_TOKEN;
  return tracking ? { kind: "bearer", token: tracking } : undefined;
}

function authorizationOf(credentials: MlflowCredentials): string {
  if (credentials.kind === "bearer") return `Bearer ${credentials.token}`;
  return `Basic ${Buffer.from(`${credentials.username}:${credentials.password}`).toString("base64")}`;
}

/**
 * MLflow's search filter for one name. Its filter grammar quotes strings with single or double
 * quotes and has no escape, so a name with a single quote is quoted with double quotes.
 */
export function nameFilter(name: string): string {
  return name.includes("'") ? `name="${name}"` : `name='${name}'`;
}

function registeredModelOf(wire: z.output<typeof RegisteredModelWire>): MlflowRegisteredModel {
  return {
    name: wire.name,
    creation_timestamp: wire.creation_timestamp ?? null,
    last_updated_timestamp: wire.last_updated_timestamp ?? null,
    tags: wire.tags,
    aliases: wire.aliases ?? [],
    latest_versions: wire.latest_versions ? wire.latest_versions.map(modelVersionOf) : null,
  };
}

function modelVersionOf(wire: z.output<typeof ModelVersionWire>): MlflowModelVersion {
  return {
    name: wire.name,
    version: wire.version,
    creation_timestamp: wire.creation_timestamp ?? null,
    last_updated_timestamp: wire.last_updated_timestamp ?? null,
    current_stage: wire.current_stage ?? null,
    status: wire.status ?? null,
    tags: wire.tags,
    aliases: wire.aliases ?? [],
  };
}
