import {
  DescribeEndpointCommand,
  DescribeEndpointConfigCommand,
  DescribeModelCommand,
  type DescribeModelOutput,
  DescribeModelPackageCommand,
  ListEndpointsCommand,
  ListModelPackageGroupsCommand,
  ListModelPackagesCommand,
  SageMakerClient,
} from "@aws-sdk/client-sagemaker";
import { defaultEgress, type EgressPolicy } from "../../egress-policy.js";
import {
  type ConfigFacts,
  type EndpointFacts,
  type ModelFacts,
  type PackageFacts,
  type SagemakerSnapshot,
  slugOf,
  type VariantFacts,
} from "./sagemaker-observations.js";

/**
 * Attempts per call, the first included. SageMaker's control-plane calls are throttled at a few
 * per second per account; the SDK's standard mode retries `ThrottlingException` (and 5xx and
 * network errors) with jittered backoff from 1 s, so five attempts ride out some 15 s of it.
 */
export const SAGEMAKER_MAX_ATTEMPTS = 5;

export interface SagemakerClientOptions {
  region: string;
  /** A SageMaker-compatible endpoint other than AWS's (a local server, a VPC endpoint). */
  endpoint?: string;
  /** Static credentials; the SDK's default chain (environment, profile, SSO, instance role) when absent. */
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
  maxAttempts?: number;
  /** Where the client may connect; strict (no private address) when absent. */
  egress?: EgressPolicy;
}

/**
 * A SageMaker client with timeouts and the retries above, whose connections go through the
 * egress policy's agents. The SDK's credential providers (the instance metadata service among
 * them) make their own requests, outside these agents: they reach only the addresses the SDK
 * itself knows, never one taken from input.
 */
export function sagemakerClient(options: SagemakerClientOptions): SageMakerClient {
  return new SageMakerClient({
    region: options.region,
    ...(options.endpoint ? { endpoint: options.endpoint } : {}),
    ...(options.credentials ? { credentials: options.credentials } : {}),
    retryMode: "standard",
    maxAttempts: options.maxAttempts ?? SAGEMAKER_MAX_ATTEMPTS,
    requestHandler: {
      connectionTimeout: 5_000,
      requestTimeout: 30_000,
      ...(options.egress ?? defaultEgress()).agents(),
    },
  });
}

export interface ReadOptions {
  region: string;
  /** Only this model package group. */
  group?: string;
  signal?: AbortSignal;
  /** Told as endpoints are read, for a progress bar. */
  onEndpoint?: (done: number, total: number) => void;
}

/** The most a page may hold, for every List call used here. */
const PAGE_SIZE = 100;

/**
 * Reads what the sync needs: the Model Registry's versioned packages (listed, and described only
 * when they serve: the metadata is in the description, and describing a whole registry every
 * round would spend the account's call rate on packages that serve nowhere), then every endpoint
 * in service down to the SageMaker Models its variants run.
 */
export async function readSagemaker(
  client: SageMakerClient,
  options: ReadOptions,
): Promise<SagemakerSnapshot> {
  const api = new Calls(client, options.signal);
  const packages = new Map<string, PackageFacts>();
  for (const group of await api.groups(options.group)) {
    for (const p of await api.packages(group)) packages.set(p.arn.toLowerCase(), p);
  }
  const listed = await api.endpoints();
  const endpoints: EndpointFacts[] = [];
  const models = new Map<string, Promise<ModelFacts | null>>();
  options.onEndpoint?.(0, listed.length);
  for (const [index, summary] of listed.entries()) {
    const endpoint = summary.status === "InService" ? await api.endpoint(summary, models) : summary;
    if (endpoint) endpoints.push(endpoint);
    options.onEndpoint?.(index + 1, listed.length);
  }
  await describeServingPackages(api, packages, endpoints);
  return { region: options.region, group: options.group ?? null, packages, endpoints };
}

/** Reads the metadata of every package that serves; one deleted since it was listed is forgotten. */
async function describeServingPackages(
  api: Calls,
  packages: Map<string, PackageFacts>,
  endpoints: EndpointFacts[],
): Promise<void> {
  const serving = new Set(
    endpoints.flatMap((e) =>
      (e.config?.variants ?? []).flatMap((v) =>
        (v.model?.containers ?? []).flatMap((c) => (c.model_package ? [c.model_package.toLowerCase()] : [])),
      ),
    ),
  );
  for (const key of serving) {
    const known = packages.get(key);
    if (!known) continue;
    const described = await api.describePackage(known.arn);
    if (described === null) packages.delete(key);
    else packages.set(key, described);
  }
}

/** The SageMaker calls, each paged, cancellable and failing with the call's name in its message. */
class Calls {
  constructor(
    private readonly client: SageMakerClient,
    private readonly signal: AbortSignal | undefined,
  ) {}

  async groups(only: string | undefined): Promise<string[]> {
    const names: string[] = [];
    await this.pages("ListModelPackageGroups", async (NextToken) => {
      const page = await this.call("ListModelPackageGroups", (sm, o) =>
        sm.send(
          new ListModelPackageGroupsCommand({ MaxResults: PAGE_SIZE, NextToken, NameContains: only }),
          o,
        ),
      );
      for (const g of page.ModelPackageGroupSummaryList ?? []) {
        if (g.ModelPackageGroupName) names.push(g.ModelPackageGroupName);
      }
      return page.NextToken;
    });
    if (only === undefined) return names;
    // NameContains matches parts of names: only the group named exactly is read.
    const exact = names.find((n) => slugOf(n) === slugOf(only));
    if (exact === undefined) throw new Error(`model package group ${only} does not exist in this region`);
    return [exact];
  }

  async packages(group: string): Promise<PackageFacts[]> {
    const found: PackageFacts[] = [];
    await this.pages("ListModelPackages", async (NextToken) => {
      const page = await this.call("ListModelPackages", (sm, o) =>
        sm.send(
          new ListModelPackagesCommand({
            ModelPackageGroupName: group,
            ModelPackageType: "Versioned",
            MaxResults: PAGE_SIZE,
            NextToken,
          }),
          o,
        ),
      );
      for (const p of page.ModelPackageSummaryList ?? []) {
        if (!p.ModelPackageArn || p.ModelPackageVersion === undefined) continue;
        found.push({
          arn: p.ModelPackageArn,
          group: p.ModelPackageGroupName ?? group,
          version: p.ModelPackageVersion,
          approval: p.ModelApprovalStatus ?? "PendingManualApproval",
          created_at: msOf(p.CreationTime),
          metadata: null,
        });
      }
      return page.NextToken;
    });
    return found;
  }

  /** A package's description: its approval as of now and its metadata; null when it is gone. */
  async describePackage(arn: string): Promise<PackageFacts | null> {
    const p = await this.orGone("DescribeModelPackage", (sm, o) =>
      sm.send(new DescribeModelPackageCommand({ ModelPackageName: arn }), o),
    );
    if (p === null || p.ModelPackageVersion === undefined || !p.ModelPackageGroupName) return null;
    return {
      arn: p.ModelPackageArn ?? arn,
      group: p.ModelPackageGroupName,
      version: p.ModelPackageVersion,
      approval: p.ModelApprovalStatus ?? "PendingManualApproval",
      created_at: msOf(p.CreationTime),
      metadata: p.CustomerMetadataProperties ?? {},
    };
  }

  async endpoints(): Promise<EndpointFacts[]> {
    const found: EndpointFacts[] = [];
    await this.pages("ListEndpoints", async (NextToken) => {
      const page = await this.call("ListEndpoints", (sm, o) =>
        sm.send(
          new ListEndpointsCommand({
            MaxResults: PAGE_SIZE,
            NextToken,
            SortBy: "Name",
            SortOrder: "Ascending",
          }),
          o,
        ),
      );
      for (const e of page.Endpoints ?? []) {
        if (!e.EndpointName || !e.EndpointArn) continue;
        found.push({
          name: e.EndpointName,
          arn: e.EndpointArn,
          status: e.EndpointStatus ?? "OutOfService",
          created_at: msOf(e.CreationTime),
          last_modified_at: msOf(e.LastModifiedTime),
          config: null,
          config_name: null,
        });
      }
      return page.NextToken;
    });
    return found;
  }

  /** An endpoint in service, down to its Models; null when it was deleted since it was listed. */
  async endpoint(
    summary: EndpointFacts,
    models: Map<string, Promise<ModelFacts | null>>,
  ): Promise<EndpointFacts | null> {
    const e = await this.orGone("DescribeEndpoint", (sm, o) =>
      sm.send(new DescribeEndpointCommand({ EndpointName: summary.name }), o),
    );
    if (e === null) return null;
    const described: EndpointFacts = {
      ...summary,
      status: e.EndpointStatus ?? summary.status,
      created_at: msOf(e.CreationTime),
      last_modified_at: msOf(e.LastModifiedTime),
      config_name: e.EndpointConfigName ?? null,
    };
    const configName = e.EndpointConfigName;
    if (described.status !== "InService" || !configName) return described;
    const c = await this.orGone("DescribeEndpointConfig", (sm, o) =>
      sm.send(new DescribeEndpointConfigCommand({ EndpointConfigName: configName }), o),
    );
    if (c === null) return described;
    const running = new Map((e.ProductionVariants ?? []).map((v) => [v.VariantName, v]));
    const variants: VariantFacts[] = [];
    for (const v of c.ProductionVariants ?? []) {
      if (!v.VariantName || !v.ModelName) continue;
      const now = running.get(v.VariantName);
      let model = models.get(v.ModelName);
      if (!model) {
        model = this.model(v.ModelName);
        models.set(v.ModelName, model);
      }
      variants.push({
        name: v.VariantName,
        weight: now?.CurrentWeight ?? v.InitialVariantWeight ?? null,
        images: (now?.DeployedImages ?? []).flatMap((i) => (i.SpecifiedImage ? [i.SpecifiedImage] : [])),
        model_name: v.ModelName,
        model: await model,
      });
    }
    const config: ConfigFacts = { name: configName, created_at: msOf(c.CreationTime), variants };
    return { ...described, config };
  }

  private async model(name: string): Promise<ModelFacts | null> {
    const m = await this.orGone("DescribeModel", (sm, o) =>
      sm.send(new DescribeModelCommand({ ModelName: name }), o),
    );
    if (m === null) return null;
    return { name, created_at: msOf(m.CreationTime), containers: containersOf(m) };
  }

  /** Follows `NextToken` until a page comes without one; a token seen twice would loop, so it stops. */
  private async pages(call: string, page: (token: string | undefined) => Promise<string | undefined>) {
    const seen = new Set<string>();
    for (let token = await page(undefined); token; token = await page(token)) {
      if (seen.has(token)) throw new Error(`SageMaker ${call} returned the same NextToken twice`);
      seen.add(token);
    }
  }

  /**
   * A Describe call, or null when what it names does not exist: SageMaker answers
   * `ValidationException` ("Could not find …") for a name it does not know.
   */
  private async orGone<T>(call: string, send: Send<T>): Promise<T | null> {
    try {
      return await this.call(call, send);
    } catch (error) {
      if (error instanceof SagemakerCallError && error.code === "ValidationException") return null;
      throw error;
    }
  }

  private async call<T>(call: string, send: Send<T>): Promise<T> {
    try {
      return await send(this.client, { abortSignal: this.signal });
    } catch (error) {
      const code = error instanceof Error ? error.name : "Error";
      const message = error instanceof Error ? error.message : String(error);
      throw new SagemakerCallError(`SageMaker ${call} failed: ${code}: ${message}`, code);
    }
  }
}

/** One SDK call, given the client and the options that make it cancellable. */
type Send<T> = (client: SageMakerClient, options: { abortSignal?: AbortSignal }) => Promise<T>;

/** A SageMaker call that failed after the SDK's retries, with AWS's error code. */
export class SagemakerCallError extends Error {
  override name = "SagemakerCallError";
  constructor(
    message: string,
    readonly code: string,
  ) {
    super(message);
  }
}

function containersOf(m: DescribeModelOutput): ModelFacts["containers"] {
  const containers =
    m.Containers && m.Containers.length > 0 ? m.Containers : m.PrimaryContainer ? [m.PrimaryContainer] : [];
  return containers.map((c) => ({
    model_package: c.ModelPackageName ?? null,
    image: c.Image ?? null,
    model_data_url: c.ModelDataUrl ?? null,
  }));
}

function msOf(date: Date | undefined): number {
  return date ? date.getTime() : 0;
}
