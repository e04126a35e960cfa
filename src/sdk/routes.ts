/**
 * The routes of Tenure's API a model server speaks, and the shapes it sends and reads. The client
 * builds every request from `SDK_ROUTES`, and a test holds the table against a running server's
 * `/openapi.json`: a field renamed or added on either side fails it. The types below and the
 * table are held together by `satisfies FieldsOf<…>`, so the three cannot drift apart.
 */

/** `POST /v1/deployments/{id}/heartbeat` */
export interface HeartbeatBody {
  /** The version the endpoint serves; one that differs from the registry's is a version mismatch. */
  served_version?: string;
}

export interface HeartbeatResult {
  deployment_id: number;
  last_heartbeat_at: string;
  /** The served version differs from the registered one. */
  version_mismatch: boolean;
}

/** One performance point. Points carry their own timestamp so a retry or a late one lands in its window. */
export interface MetricPoint {
  name: string;
  value: number;
  /** ISO 8601; default: when Tenure receives it. */
  timestamp?: string;
  /** How many predictions it covers (default 1). */
  sample_size?: number;
}

/** `POST /v1/deployments/{id}/metrics` */
export interface MetricsBody {
  points: MetricPoint[];
}

export interface MetricsResult {
  deployment_id: number;
  accepted: number;
}

/** One row of live features: name to value. */
export type FeatureRow = Record<string, number | string | boolean | null>;

/** `POST /v1/deployments/{id}/samples` */
export interface SamplesBody {
  rows: FeatureRow[];
  /** When the rows were served (ISO 8601); default: when Tenure receives them. */
  timestamp?: string;
}

export interface SamplesResult {
  deployment_id: number;
  accepted: number;
  /** The UTC day the rows were counted in. */
  day: string;
}

/** Ground truth for one served request. */
export interface FeedbackItem {
  /** The request id the answer went out with (the gateway's Tenure-Request-Id, or the server's own). */
  request_id: string;
  /** A class (string or boolean) or a number. */
  label: string | number | boolean;
}

/** `POST /v1/feedback` */
export interface FeedbackBody {
  items: FeedbackItem[];
}

export interface FeedbackResult {
  accepted: number;
}

/** The fields of a deployment the SDK reads (the API sends more). */
export interface DeploymentRecord {
  id: number;
  model: string;
  model_version: string;
  environment: string;
  owner_team: string;
  role: "primary" | "shadow" | "canary";
  status: "scheduled" | "active" | "superseded" | "rolled_back" | "retired";
  deployment_date: string;
  training_data_cutoff: string;
  endpoint: string | null;
}

export interface DeploymentPage {
  items: DeploymentRecord[];
  next_cursor: string | null;
}

/**
 * A request body's fields as data: whether each is required, and for a list of objects with
 * named fields, the fields of its items. A list of free-form records (feature rows) is opaque.
 */
export type FieldsOf<T> = {
  readonly [K in keyof T]-?: { readonly required: object extends Pick<T, K> ? false : true } & ItemsOf<T[K]>;
};

type ItemsOf<V> =
  NonNullable<V> extends readonly (infer E)[]
    ? E extends object
      ? string extends keyof E
        ? object
        : { readonly items: FieldsOf<E> }
      : object
    : object;

/** One field of a request body, as the table and the test read it. */
export interface FieldSpec {
  readonly required: boolean;
  readonly items?: Readonly<Record<string, FieldSpec>>;
}

/** A route the SDK calls: method, path template (OpenAPI's `{id}`), body fields, query names, fields read back. */
export interface SdkRoute {
  readonly method: "GET" | "POST";
  readonly path: string;
  readonly body?: Readonly<Record<string, FieldSpec>>;
  readonly query?: readonly string[];
  /** Top-level fields of the 200 answer the SDK reads. */
  readonly reads: readonly string[];
}

const DEPLOYMENT_FIELDS = [
  "id",
  "model",
  "model_version",
  "environment",
  "owner_team",
  "role",
  "status",
  "deployment_date",
  "training_data_cutoff",
  "endpoint",
] as const satisfies readonly (keyof DeploymentRecord)[];

export const SDK_ROUTES = {
  heartbeat: {
    method: "POST",
    path: "/v1/deployments/{id}/heartbeat",
    body: { served_version: { required: false } } satisfies FieldsOf<HeartbeatBody>,
    reads: ["deployment_id", "last_heartbeat_at", "version_mismatch"],
  },
  metrics: {
    method: "POST",
    path: "/v1/deployments/{id}/metrics",
    body: {
      points: {
        required: true,
        items: {
          name: { required: true },
          value: { required: true },
          timestamp: { required: false },
          sample_size: { required: false },
        },
      },
    } satisfies FieldsOf<MetricsBody>,
    reads: ["deployment_id", "accepted"],
  },
  samples: {
    method: "POST",
    path: "/v1/deployments/{id}/samples",
    body: { rows: { required: true }, timestamp: { required: false } } satisfies FieldsOf<SamplesBody>,
    reads: ["deployment_id", "accepted", "day"],
  },
  feedback: {
    method: "POST",
    path: "/v1/feedback",
    body: {
      items: { required: true, items: { request_id: { required: true }, label: { required: true } } },
    } satisfies FieldsOf<FeedbackBody>,
    reads: ["accepted"],
  },
  deployment: {
    method: "GET",
    path: "/v1/deployments/{id}",
    reads: DEPLOYMENT_FIELDS,
  },
  deployments: {
    method: "GET",
    path: "/v1/deployments",
    query: ["model", "environment", "role", "status", "limit", "cursor"],
    reads: ["items", "next_cursor"],
  },
} as const satisfies Record<string, SdkRoute>;

export type SdkRouteName = keyof typeof SDK_ROUTES;
