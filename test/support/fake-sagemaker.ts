import { randomUUID } from "node:crypto";
import http from "node:http";
import type { AddressInfo } from "node:net";

/**
 * A local server that answers the SageMaker API calls `tenure sync sagemaker` makes exactly as
 * SageMaker does on the wire: the AWS JSON 1.1 protocol (`POST /`, `X-Amz-Target:
 * SageMaker.<Operation>`, `Content-Type: application/x-amz-json-1.1`), member names and shapes of
 * the service model, timestamps as epoch seconds, `NextToken` paging, and errors as a 400 with
 * `{"__type": …, "message": …}` (`ValidationException` for a name it does not know,
 * `ThrottlingException` when asked to throttle). Requests must be SigV4-signed for the region.
 */
export interface FakeSagemaker {
  url: string;
  region: string;
  account: string;
  state: FakeState;
  /** Every call answered, in order (throttled ones included). */
  calls: FakeCall[];
  /** The next `count` calls of `operation` are answered 400 ThrottlingException. */
  throttle(operation: string, count: number): void;
  group(name: string, createdAt: number): string;
  /** A versioned package of `group`, numbered after the group's last; returns its ARN. */
  modelPackage(
    group: string,
    options: {
      approval?: FakePackage["approval"];
      metadata?: Record<string, string>;
      createdAt: number;
      image?: string;
      modelDataUrl?: string;
    },
  ): string;
  /** A SageMaker Model made from a package (its ARN) or from an image of its own. */
  model(
    name: string,
    from: { packageArn: string } | { image: string; modelDataUrl?: string },
    createdAt: number,
  ): void;
  /** An endpoint with a config of its own (`<name>-config-1`). */
  endpoint(
    name: string,
    variants: FakeVariantInput[],
    options: { createdAt: number; status?: string; configCreatedAt?: number },
  ): void;
  /** UpdateEndpoint to a new config (`<name>-config-N`) at `at`. */
  updateEndpoint(name: string, variants: FakeVariantInput[], at: number): void;
  close(): Promise<void>;
}

export interface FakeCall {
  operation: string;
  input: Record<string, unknown>;
  status: number;
}

export interface FakeVariantInput {
  variant?: string;
  model: string;
  weight?: number;
}

export interface FakePackage {
  group: string;
  version: number;
  arn: string;
  approval: "Approved" | "PendingManualApproval" | "Rejected";
  metadata?: Record<string, string>;
  createdAt: number;
  image: string;
  modelDataUrl: string;
}

export interface FakeModel {
  name: string;
  arn: string;
  createdAt: number;
  container: { ModelPackageName?: string; Image?: string; ModelDataUrl?: string };
}

export interface FakeConfig {
  name: string;
  arn: string;
  createdAt: number;
  variants: { VariantName: string; ModelName: string; InitialVariantWeight: number }[];
}

export interface FakeEndpoint {
  name: string;
  arn: string;
  config: string;
  status: string;
  createdAt: number;
  lastModifiedAt: number;
}

export interface FakeState {
  groups: { name: string; arn: string; createdAt: number }[];
  packages: FakePackage[];
  models: FakeModel[];
  configs: FakeConfig[];
  endpoints: FakeEndpoint[];
}

export const FAKE_CREDENTIALS = { accessKeyId: "AKIAFAKESAGEMAKER01", secretAccessKey: "fake-secret-key" };

/** Starts the server; every List call answers at most `pageSize` items a page, to force paging. */
export async function startFakeSagemaker(
  options: { region?: string; account?: string; pageSize?: number } = {},
): Promise<FakeSagemaker> {
  const region = options.region ?? "us-east-1";
  const account = options.account ?? "123456789012";
  const pageSize = options.pageSize ?? 2;
  const state: FakeState = { groups: [], packages: [], models: [], configs: [], endpoints: [] };
  const calls: FakeCall[] = [];
  const throttled = new Map<string, number>();
  const arn = (kind: string, name: string) =>
    `arn:aws:sagemaker:${region}:${account}:${kind}/${name.toLowerCase()}`;
  const api = new FakeApi(state, pageSize);

  const server = http.createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", () => {
      const target = String(request.headers["x-amz-target"] ?? "");
      const operation = target.startsWith("SageMaker.") ? target.slice("SageMaker.".length) : target;
      let input: Record<string, unknown> = {};
      const answer = (status: number, body: unknown) => {
        calls.push({ operation, input, status });
        const text = JSON.stringify(body);
        response.writeHead(status, {
          "content-type": "application/x-amz-json-1.1",
          "content-length": Buffer.byteLength(text),
          "x-amzn-requestid": randomUUID(),
        });
        response.end(text);
      };
      const fail = (type: string, message: string) => answer(400, { __type: type, message });
      if (request.method !== "POST" || request.url !== "/") {
        return fail("UnknownOperationException", "The requested operation is not supported.");
      }
      if (request.headers["content-type"] !== "application/x-amz-json-1.1") {
        return fail("SerializationException", "Expected Content-Type application/x-amz-json-1.1");
      }
      const problem = signatureProblem(request.headers, region);
      if (problem) return fail(problem.type, problem.message);
      try {
        input = JSON.parse(Buffer.concat(chunks).toString("utf8") || "{}") as Record<string, unknown>;
      } catch {
        return fail("SerializationException", "Start of structure or map found where not expected.");
      }
      const left = throttled.get(operation) ?? 0;
      if (left > 0) {
        throttled.set(operation, left - 1);
        return fail("ThrottlingException", "Rate exceeded");
      }
      const handler = api.handler(operation);
      if (!handler) return fail("UnknownOperationException", `${target} is not an operation of SageMaker`);
      const result = handler(input);
      if ("error" in result) return fail(result.error, result.message);
      answer(200, result.body);
    });
  });
  await new Promise<void>((listening) => server.listen(0, "127.0.0.1", listening));
  const { port } = server.address() as AddressInfo;

  const configNumber = new Map<string, number>();
  const makeConfig = (endpoint: string, variants: FakeVariantInput[], createdAt: number) => {
    const n = (configNumber.get(endpoint) ?? 0) + 1;
    configNumber.set(endpoint, n);
    const name = `${endpoint}-config-${n}`;
    state.configs.push({
      name,
      arn: arn("endpoint-config", name),
      createdAt,
      variants: variants.map((v, i) => ({
        VariantName: v.variant ?? (i === 0 ? "AllTraffic" : `Variant${i + 1}`),
        ModelName: v.model,
        InitialVariantWeight: v.weight ?? 1,
      })),
    });
    return name;
  };

  return {
    url: `http://127.0.0.1:${port}`,
    region,
    account,
    state,
    calls,
    throttle: (operation, count) => throttled.set(operation, count),
    group(name, createdAt) {
      const groupArn = arn("model-package-group", name);
      state.groups.push({ name, arn: groupArn, createdAt });
      return groupArn;
    },
    modelPackage(group, p) {
      const version = state.packages.filter((q) => q.group === group).length + 1;
      const packageArn = arn("model-package", `${group}/${version}`);
      state.packages.push({
        group,
        version,
        arn: packageArn,
        approval: p.approval ?? "Approved",
        metadata: p.metadata,
        createdAt: p.createdAt,
        image: p.image ?? `${account}.dkr.ecr.${region}.amazonaws.com/${group}:${version}`,
        modelDataUrl: p.modelDataUrl ?? `s3://models/${group}/${version}/model.tar.gz`,
      });
      return packageArn;
    },
    model(name, from, createdAt) {
      const container =
        "packageArn" in from
          ? { ModelPackageName: from.packageArn }
          : { Image: from.image, ...(from.modelDataUrl ? { ModelDataUrl: from.modelDataUrl } : {}) };
      state.models.push({ name, arn: arn("model", name), createdAt, container });
    },
    endpoint(name, variants, o) {
      const config = makeConfig(name, variants, o.configCreatedAt ?? o.createdAt);
      state.endpoints.push({
        name,
        arn: arn("endpoint", name),
        config,
        status: o.status ?? "InService",
        createdAt: o.createdAt,
        lastModifiedAt: o.createdAt + 300_000,
      });
    },
    updateEndpoint(name, variants, at) {
      const endpoint = state.endpoints.find((e) => e.name === name);
      if (!endpoint) throw new Error(`no endpoint ${name}`);
      endpoint.config = makeConfig(name, variants, at);
      endpoint.lastModifiedAt = at + 300_000;
    },
    close: () =>
      new Promise<void>((closed) => {
        server.closeAllConnections();
        server.close(() => closed());
      }),
  };
}

type Result = { body: unknown } | { error: string; message: string };

/** The operations, over the state, as SageMaker's API reference describes them. */
class FakeApi {
  constructor(
    private readonly state: FakeState,
    private readonly pageSize: number,
  ) {}

  handler(operation: string): ((input: Record<string, unknown>) => Result) | undefined {
    const handlers: Record<string, (input: Record<string, unknown>) => Result> = {
      ListModelPackageGroups: (i) => this.listModelPackageGroups(i),
      ListModelPackages: (i) => this.listModelPackages(i),
      DescribeModelPackage: (i) => this.describeModelPackage(i),
      ListEndpoints: (i) => this.listEndpoints(i),
      DescribeEndpoint: (i) => this.describeEndpoint(i),
      DescribeEndpointConfig: (i) => this.describeEndpointConfig(i),
      DescribeModel: (i) => this.describeModel(i),
    };
    return handlers[operation];
  }

  private listModelPackageGroups(input: Record<string, unknown>): Result {
    const contains = typeof input.NameContains === "string" ? input.NameContains : "";
    const groups = this.state.groups
      .filter((g) => g.name.includes(contains))
      .sort((a, b) => a.createdAt - b.createdAt || a.name.localeCompare(b.name));
    return this.page(input, groups, "ModelPackageGroupSummaryList", (g) => ({
      ModelPackageGroupName: g.name,
      ModelPackageGroupArn: g.arn,
      CreationTime: seconds(g.createdAt),
      ModelPackageGroupStatus: "Completed",
    }));
  }

  private listModelPackages(input: Record<string, unknown>): Result {
    const group = input.ModelPackageGroupName;
    // Versioned packages live in groups; with no group SageMaker lists versioned ones only when
    // ModelPackageType asks for them.
    const versioned =
      group !== undefined || input.ModelPackageType === "Versioned" || input.ModelPackageType === "Both";
    const packages = this.state.packages
      .filter((p) => versioned && (group === undefined || p.group === group))
      .filter((p) => input.ModelApprovalStatus === undefined || p.approval === input.ModelApprovalStatus)
      .sort((a, b) => a.createdAt - b.createdAt || a.version - b.version);
    return this.page(input, packages, "ModelPackageSummaryList", (p) => ({
      ModelPackageName: p.group,
      ModelPackageGroupName: p.group,
      ModelPackageVersion: p.version,
      ModelPackageArn: p.arn,
      CreationTime: seconds(p.createdAt),
      ModelPackageStatus: "Completed",
      ModelApprovalStatus: p.approval,
    }));
  }

  private describeModelPackage(input: Record<string, unknown>): Result {
    const name = String(input.ModelPackageName ?? "");
    // A versioned package is named by its ARN: its name alone is the group's, shared by every version.
    const p = this.state.packages.find((q) => q.arn === name.toLowerCase());
    if (!p) return { error: "ValidationException", message: `ModelPackage ${name} does not exist.` };
    return {
      body: {
        ModelPackageName: p.group,
        ModelPackageGroupName: p.group,
        ModelPackageVersion: p.version,
        ModelPackageArn: p.arn,
        CreationTime: seconds(p.createdAt),
        InferenceSpecification: {
          Containers: [{ Image: p.image, ImageDigest: "sha256:0f0e", ModelDataUrl: p.modelDataUrl }],
          SupportedContentTypes: ["text/csv"],
          SupportedResponseMIMETypes: ["text/csv"],
        },
        ModelPackageStatus: "Completed",
        ModelPackageStatusDetails: { ValidationStatuses: [], ImageScanStatuses: [] },
        CertifyForMarketplace: false,
        ModelApprovalStatus: p.approval,
        ...(p.metadata ? { CustomerMetadataProperties: p.metadata } : {}),
        LastModifiedTime: seconds(p.createdAt),
      },
    };
  }

  private listEndpoints(input: Record<string, unknown>): Result {
    const contains = typeof input.NameContains === "string" ? input.NameContains : "";
    const byName = input.SortBy === "Name";
    // ListEndpoints sorts by CreationTime, newest first, unless told otherwise.
    const descending = input.SortOrder !== "Ascending";
    const endpoints = this.state.endpoints
      .filter((e) => e.name.includes(contains))
      .filter((e) => input.StatusEquals === undefined || e.status === input.StatusEquals)
      .sort((a, b) => {
        const order = byName ? a.name.localeCompare(b.name) : a.createdAt - b.createdAt;
        return descending ? -order : order;
      });
    return this.page(input, endpoints, "Endpoints", (e) => ({
      EndpointName: e.name,
      EndpointArn: e.arn,
      CreationTime: seconds(e.createdAt),
      LastModifiedTime: seconds(e.lastModifiedAt),
      EndpointStatus: e.status,
    }));
  }

  private describeEndpoint(input: Record<string, unknown>): Result {
    const e = this.state.endpoints.find((x) => x.name === input.EndpointName);
    if (!e)
      return {
        error: "ValidationException",
        message: `Could not find endpoint "${String(input.EndpointName)}".`,
      };
    const config = this.state.configs.find((c) => c.name === e.config);
    return {
      body: {
        EndpointName: e.name,
        EndpointArn: e.arn,
        EndpointConfigName: e.config,
        ProductionVariants: (config?.variants ?? []).map((v) => ({
          VariantName: v.VariantName,
          DeployedImages: this.imagesOf(v.ModelName).map((image) => ({
            SpecifiedImage: image,
            ResolvedImage: `${image.split(":")[0]}@sha256:0f0e`,
            ResolutionTime: seconds(e.lastModifiedAt),
          })),
          CurrentWeight: v.InitialVariantWeight,
          DesiredWeight: v.InitialVariantWeight,
          CurrentInstanceCount: 1,
          DesiredInstanceCount: 1,
        })),
        EndpointStatus: e.status,
        CreationTime: seconds(e.createdAt),
        LastModifiedTime: seconds(e.lastModifiedAt),
      },
    };
  }

  private describeEndpointConfig(input: Record<string, unknown>): Result {
    const c = this.state.configs.find((x) => x.name === input.EndpointConfigName);
    if (!c) {
      return {
        error: "ValidationException",
        message: `Could not find endpoint configuration "${String(input.EndpointConfigName)}".`,
      };
    }
    return {
      body: {
        EndpointConfigName: c.name,
        EndpointConfigArn: c.arn,
        ProductionVariants: c.variants.map((v) => ({
          ...v,
          InitialInstanceCount: 1,
          InstanceType: "ml.m5.large",
        })),
        CreationTime: seconds(c.createdAt),
        EnableNetworkIsolation: false,
      },
    };
  }

  private describeModel(input: Record<string, unknown>): Result {
    const m = this.state.models.find((x) => x.name === input.ModelName);
    if (!m)
      return { error: "ValidationException", message: `Could not find model "${String(input.ModelName)}".` };
    return {
      body: {
        ModelName: m.name,
        PrimaryContainer: { ...m.container, Mode: "SingleModel", Environment: {} },
        ExecutionRoleArn: `arn:aws:iam::${m.arn.split(":")[4]}:role/sagemaker-execution`,
        CreationTime: seconds(m.createdAt),
        ModelArn: m.arn,
        EnableNetworkIsolation: false,
      },
    };
  }

  /** The image a Model's container runs: its own, or its package's. */
  private imagesOf(modelName: string): string[] {
    const m = this.state.models.find((x) => x.name === modelName);
    if (!m) return [];
    if (m.container.Image) return [m.container.Image];
    const p = this.state.packages.find((q) => q.arn === m.container.ModelPackageName?.toLowerCase());
    return p ? [p.image] : [];
  }

  /** One page of `items`: at most MaxResults (1–100) and at most the forced page size. */
  private page<T>(
    input: Record<string, unknown>,
    items: T[],
    member: string,
    shape: (item: T) => unknown,
  ): Result {
    const max = input.MaxResults;
    if (max !== undefined && (typeof max !== "number" || !Number.isInteger(max) || max < 1 || max > 100)) {
      return {
        error: "ValidationException",
        message: `1 validation error detected: Value '${String(max)}' at 'maxResults' failed to satisfy constraint: Member must have value less than or equal to 100`,
      };
    }
    let offset = 0;
    if (input.NextToken !== undefined) {
      const decoded = decodeToken(input.NextToken);
      if (decoded === null) return { error: "ValidationException", message: "Invalid pagination token" };
      offset = decoded;
    }
    const size = Math.min(typeof max === "number" ? max : 10, this.pageSize);
    const slice = items.slice(offset, offset + size);
    const next = offset + size < items.length ? { NextToken: encodeToken(offset + size) } : {};
    return { body: { [member]: slice.map(shape), ...next } };
  }
}

/** AWS JSON timestamps: epoch seconds, with the milliseconds as a fraction. */
function seconds(ms: number): number {
  return ms / 1000;
}

function encodeToken(offset: number): string {
  return Buffer.from(JSON.stringify({ offset, nonce: randomUUID() })).toString("base64");
}

function decodeToken(token: unknown): number | null {
  if (typeof token !== "string") return null;
  try {
    const parsed = JSON.parse(Buffer.from(token, "base64").toString("utf8")) as { offset?: unknown };
    return typeof parsed.offset === "number" && Number.isInteger(parsed.offset) && parsed.offset >= 0
      ? parsed.offset
      : null;
  } catch {
    return null;
  }
}

/**
 * What is wrong with a request's SigV4 signature, as far as a fake can tell without the secret's
 * arithmetic: the scheme, the access key, and a scope for this region and SageMaker.
 */
function signatureProblem(
  headers: http.IncomingHttpHeaders,
  region: string,
): { type: string; message: string } | null {
  const incomplete = (message: string) => ({ type: "IncompleteSignatureException", message });
  const authorization = String(headers.authorization ?? "");
  const match =
    /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/([^/]+)\/aws4_request, SignedHeaders=([^,]+), Signature=[0-9a-f]{64}$/.exec(
      authorization,
    );
  if (!match) return incomplete("Authorization header requires a SigV4 signature.");
  if (match[1] !== FAKE_CREDENTIALS.accessKeyId) {
    return {
      type: "UnrecognizedClientException",
      message: "The security token included in the request is invalid.",
    };
  }
  if (match[3] !== region)
    return incomplete(`Credential should be scoped to a valid region, not '${match[3]}'.`);
  if (match[4] !== "sagemaker")
    return incomplete("Credential should be scoped to correct service: 'sagemaker'.");
  if (!headers["x-amz-date"]) {
    return incomplete("Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.");
  }
  if (!match[5]?.split(";").includes("x-amz-target")) return incomplete("X-Amz-Target must be signed.");
  return null;
}
