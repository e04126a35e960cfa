import type { Logger } from "pino";
import { z } from "zod";
import { InputError, UnauthenticatedError, UnavailableError } from "../../core/errors.js";
import { isoTime } from "../../core/iso-time.js";
import type { ServingObservation } from "../../core/sync-plan.js";
import type { EgressPolicy } from "../../egress-policy.js";
import type { Actor } from "../../registry/actor.js";
import type { Registry } from "../../registry/registry.js";
import type { WebhookReceiptStore } from "../../store/webhook-receipt-store.js";
import { OutboundError } from "../outbound-http.js";
import { applySync, livePrimaries, type SyncReport, type SyncTarget } from "../sync-applier.js";
import { tenureModelName } from "./mlflow-observations.js";
import { DEFAULT_MLFLOW_TOLERANCE_MS, verifyMlflowDelivery } from "./mlflow-signature.js";
import {
  lookUpMlflowVersion,
  type MlflowConnection,
  type MlflowVersionFacts,
} from "./mlflow-version-lookup.js";

/** What the webhook did with a delivery: the answer of `POST /v1/hooks/mlflow`. */
export interface MlflowHookAnswer {
  delivery_id: string;
  /** MLflow's `entity.action`: `model_version_alias.created`. */
  event: string;
  /**
   * - `recorded`: the alias moved to a version, registered as serving since the delivery's time;
   * - `unchanged`: that version already serves;
   * - `held`: the version lacks mandatory metadata, or the registry refused it (see `report`);
   * - `ignored`: nothing to do (another alias, an event Tenure does not act on, an alias moved on);
   * - `duplicate`: this delivery was taken before; a replay changes nothing.
   */
  outcome: "recorded" | "unchanged" | "held" | "ignored" | "duplicate";
  detail: string;
  /** What the sync plan did, as `tenure sync --json` reports it; null when nothing was planned. */
  report: SyncReport | null;
}

export interface MlflowWebhookOptions {
  /** The secret the MLflow webhook was given: deliveries are signed with it. */
  secret: string;
  /** Where each version's tags are read: an alias delivery carries no metadata. */
  mlflow: MlflowConnection;
  /** The alias whose version serves (`champion`). */
  alias: string;
  /** The environment it serves in (`production`). */
  environment: string;
  /** The tags that carry the mandatory metadata, on the version or its registered model. */
  tags?: { owner_team: string; training_data_cutoff: string };
  registry: Pick<Registry, "list" | "register">;
  receipts: WebhookReceiptStore;
  clock: () => number;
  toleranceMs?: number;
  logger?: Pick<Logger, "info" | "warn">;
}

/** How the events name who registered a deployment from a delivery. */
/** Its registrations are audited as arriving through the API (the delivery itself has a row of its own). */
const ACTOR: Actor = {
  name: "mlflow-webhook",
  key_scope: "mlflow-webhook",
  team: null,
  scope: "write",
  via: { origin: "http", method: "POST", path: "/v1/hooks/mlflow", status: 200 },
};

const SOURCE = "mlflow";

/** MLflow's envelope (mlflow/webhooks/delivery.py); fields MLflow may add later are let through. */
const Envelope = z.object({
  entity: z.string(),
  action: z.string(),
  /** ISO 8601 with microseconds and an offset (Python's `isoformat()`), taken when sent. */
  timestamp: z.string().optional(),
  data: z.record(z.string(), z.unknown()),
});
type Envelope = z.output<typeof Envelope>;

// MLflow's payloads (mlflow/webhooks/types.py) give versions as strings; a number is taken too.
const text = z.union([z.string(), z.number().transform(String)]);
const AliasCreated = z.object({ name: z.string(), alias: z.string(), version: text });
const AliasDeleted = z.object({ name: z.string(), alias: z.string() });
const TagSet = z.object({ name: z.string(), version: text, key: z.string(), value: z.string() });

/**
 * Receives MLflow's model registry webhooks: verifies each delivery's signature and time, takes
 * each delivery id once, and records an alias move to the served version as a deployment that
 * started at the delivery's time (`exact`), the moment MLflow itself never stores.
 */
export class MlflowWebhook {
  private readonly client: SyncTarget;
  private readonly tags: { owner_team: string; training_data_cutoff: string };

  constructor(private readonly options: MlflowWebhookOptions) {
    const registry = options.registry;
    this.client = {
      list: (query) => registry.list({ ...query, sort: "-age", limit: query.limit ?? 500 }),
      register: (body) => registry.register(body, ACTOR),
    };
    this.tags = options.tags ?? { owner_team: "owner_team", training_data_cutoff: "training_data_cutoff" };
  }

  /**
   * Handles one delivery, given its body's bytes as sent. Throws an UnauthenticatedError for a
   * signature that does not match or a time outside the tolerance, an InputError for a signed
   * body that is not MLflow's envelope, and an UnavailableError when MLflow does not answer: the
   * delivery is then given back, so that MLflow's retry of it is taken.
   */
  async receive(
    body: Buffer,
    headers: Record<string, string | string[] | undefined>,
  ): Promise<MlflowHookAnswer> {
    const now = this.options.clock();
    const tolerance = this.options.toleranceMs ?? DEFAULT_MLFLOW_TOLERANCE_MS;
    const verified = verifyMlflowDelivery({
      secret: this.options.secret,
      headers,
      body,
      now,
      toleranceMs: tolerance,
    });
    if (!verified.ok) throw new UnauthenticatedError(verified.reason);
    const envelope = parseEnvelope(body);
    const event = `${envelope.entity}.${envelope.action}`;
    const delivery = { delivery_id: verified.delivery_id, event };
    const claimed = await this.options.receipts.claim(
      { source: SOURCE, delivery_id: verified.delivery_id, signed_at: verified.signed_at, received_at: now },
      now - tolerance,
    );
    if (!claimed) {
      return {
        ...delivery,
        outcome: "duplicate",
        detail: "this delivery was taken before; a replay changes nothing",
        report: null,
      };
    }
    // The envelope's time is MLflow's, to the microsecond; the header's is whole seconds.
    const sentAt = Date.parse(envelope.timestamp ?? "");
    const at = Number.isFinite(sentAt) ? sentAt : verified.signed_at;
    try {
      return { ...delivery, ...(await this.handle(event, envelope, at)) };
    } catch (error) {
      // Nothing was registered (a registration's own failure is in the report, not thrown).
      await this.options.receipts.release(SOURCE, verified.delivery_id);
      throw error;
    }
  }

  private async handle(event: string, envelope: Envelope, at: number): Promise<Outcome> {
    switch (event) {
      case "model_version_alias.created":
        return this.aliasCreated(parseData(AliasCreated, envelope), at);
      case "model_version_alias.deleted":
        return this.aliasDeleted(parseData(AliasDeleted, envelope));
      case "model_version_tag.set":
        return this.tagSet(parseData(TagSet, envelope));
      case "model_version.created":
        return ignored("a new version serves nothing until the served alias points at it");
      default:
        return ignored(`Tenure does not act on ${event}`);
    }
  }

  private async aliasCreated(data: z.output<typeof AliasCreated>, at: number): Promise<Outcome> {
    if (data.alias !== this.options.alias) return otherAlias(data.alias, this.options.alias);
    const facts = await this.lookUp(data.name, data.version);
    if (!facts) return ignored(`MLflow no longer has version ${data.version} of ${data.name}`);
    const now = facts.aliases[data.alias];
    if (now !== data.version) {
      // A late delivery (a retry) must not undo a newer move; that move's own delivery records it.
      return ignored(
        now === undefined
          ? `the alias ${data.alias} of ${data.name} was deleted since this delivery`
          : `the alias ${data.alias} of ${data.name} has moved on to version ${now} since this delivery`,
      );
    }
    return this.apply(this.observation(facts, data.alias, at, "exact"));
  }

  /**
   * The deployment stays: an alias deleted says nothing of what serves now (perhaps the version
   * still does, until a rollout replaces it). A person retires it when it no longer serves.
   */
  private async aliasDeleted(data: z.output<typeof AliasDeleted>): Promise<Outcome> {
    if (data.alias !== this.options.alias) return otherAlias(data.alias, this.options.alias);
    const environment = this.options.environment;
    const live = (await livePrimaries(this.client, [environment])).find(
      (l) => l.model === tenureModelName(data.name),
    );
    const detail = live
      ? `the alias ${data.alias} of ${data.name} was deleted in MLflow; deployment ${live.id} (version ` +
        `${live.model_version}) stays live in ${environment}, since what serves now is unknown: ` +
        `retire it with \`tenure retire ${live.id}\` once nothing serves it`
      : `the alias ${data.alias} of ${data.name} was deleted in MLflow; no deployment of it is live in ${environment}`;
    this.options.logger?.warn(
      { model: data.name, alias: data.alias, deployment_id: live?.id ?? null },
      detail,
    );
    return ignored(detail);
  }

  /**
   * A tag that carries mandatory metadata, set on the version the alias points at, may complete
   * a version that was held for lacking it. When the alias moved is not kept, so the version is
   * observed as a sync first sees one: since its creation, or, superseding another, since now.
   */
  private async tagSet(data: z.output<typeof TagSet>): Promise<Outcome> {
    if (data.key !== this.tags.owner_team && data.key !== this.tags.training_data_cutoff) {
      return ignored(`the tag ${data.key} carries no mandatory metadata`);
    }
    const facts = await this.lookUp(data.name, data.version);
    if (!facts) return ignored(`MLflow no longer has version ${data.version} of ${data.name}`);
    if (facts.aliases[this.options.alias] !== data.version) {
      return ignored(
        `version ${data.version} of ${data.name} is not the one ${this.options.alias} points at`,
      );
    }
    return this.apply(
      this.observation(facts, this.options.alias, facts.creation_timestamp, "version_created"),
    );
  }

  private async lookUp(name: string, version: string): Promise<MlflowVersionFacts | null> {
    try {
      return await lookUpMlflowVersion(this.options.mlflow, name, version);
    } catch (error) {
      if (!(error instanceof OutboundError)) throw error;
      this.options.logger?.warn({ error: error.message }, "MLflow did not answer the webhook's look-up");
      throw new UnavailableError(
        `MLflow did not answer (${error.message}); MLflow retries the delivery, and a scheduled sync reconciles`,
      );
    }
  }

  private observation(
    facts: MlflowVersionFacts,
    alias: string,
    since: number,
    basis: ServingObservation["basis"],
  ): ServingObservation {
    const tag = (key: string) => facts.version_tags[key] ?? facts.model_tags[key] ?? null;
    return {
      source: SOURCE,
      ref: `models:/${facts.name}@${alias}`,
      // Named as the sync names it, so both see one deployment (`Fraud GBM` is `fraud-gbm`).
      model: tenureModelName(facts.name),
      model_version: facts.version,
      environment: this.options.environment,
      owner_team: tag(this.tags.owner_team),
      training_data_cutoff: tag(this.tags.training_data_cutoff),
      since,
      basis,
    };
  }

  private async apply(observation: ServingObservation): Promise<Outcome> {
    const report = await applySync(this.client, SOURCE, [observation], {
      dryRun: false,
      environments: [observation.environment],
      now: this.options.clock,
    });
    const what = `version ${observation.model_version} of ${observation.model}`;
    const registered = report.registered[0];
    if (registered) {
      const detail = `${what} serves in ${registered.environment} since ${registered.deployment_date} (${registered.basis})`;
      this.options.logger?.info({ deployment_id: registered.deployment_id, ref: observation.ref }, detail);
      return { outcome: "recorded", detail, report };
    }
    if (report.unchanged > 0) return { outcome: "unchanged", detail: `${what} already serves`, report };
    const missing = report.findings.find((f) => f.kind === "missing_metadata");
    const refused = report.errors[0];
    const detail = missing
      ? `${what} lacks ${missing.missing.join(" and ")} (MLflow tags ${missing.missing
          .map((m) => this.tags[m as keyof typeof this.tags] ?? m)
          .join(", ")} on the version or its model): not registered until they are set`
      : `${what} was refused: ${refused?.message ?? "no reason given"}`;
    this.options.logger?.warn({ ref: observation.ref, at: isoTime(observation.since) }, detail);
    return { outcome: "held", detail, report };
  }
}

type Outcome = Pick<MlflowHookAnswer, "outcome" | "detail" | "report">;

function ignored(detail: string): Outcome {
  return { outcome: "ignored", detail, report: null };
}

function otherAlias(alias: string, served: string): Outcome {
  return ignored(`the alias ${alias} is not the served alias (${served})`);
}

function parseEnvelope(body: Buffer): Envelope {
  let value: unknown;
  try {
    value = JSON.parse(body.toString("utf8"));
  } catch {
    throw new InputError("the delivery's body is not JSON");
  }
  const parsed = Envelope.safeParse(value);
  if (!parsed.success) throw inputErrorOf(parsed.error, "");
  return parsed.data;
}

function parseData<T extends z.ZodType>(schema: T, envelope: Envelope): z.output<T> {
  const parsed = schema.safeParse(envelope.data);
  if (!parsed.success) throw inputErrorOf(parsed.error, "data.");
  return parsed.data;
}

function inputErrorOf(error: z.ZodError, prefix: string): InputError {
  const issues = error.issues.map((i) => ({ field: `${prefix}${i.path.join(".")}`, message: i.message }));
  return new InputError(
    `the delivery is not MLflow's webhook envelope: ${issues.map((i) => `${i.field} ${i.message}`).join("; ")}`,
    issues,
  );
}

/** How `tenure serve` is told about MLflow: flags over TENURE_MLFLOW_* (src/config.ts). */
export interface MlflowSettings {
  webhookSecret?: string;
  url?: string;
  token?: string;
  alias: string;
  environment: string;
}

/**
 * Refuses a webhook secret without MLflow's URL, at start-up: an alias delivery carries no
 * metadata, so the webhook could register nothing.
 */
export function checkMlflowSettings(settings: MlflowSettings | undefined): void {
  if (settings?.url !== undefined && !isHttpUrl(settings.url)) {
    throw new InputError(`--mlflow-url must be an http:// or https:// URL, not ${settings.url}`);
  }
  if (settings?.webhookSecret && !settings.url) {
    throw new InputError(
      "--mlflow-webhook-secret needs --mlflow-url (or TENURE_MLFLOW_URL): the webhook reads each version's tags from MLflow",
    );
  }
}

function isHttpUrl(text: string): boolean {
  try {
    return ["http:", "https:"].includes(new URL(text).protocol);
  } catch {
    return false;
  }
}

/** The webhook of a server's settings: none without a secret. */
export function mlflowWebhookOf(
  settings: MlflowSettings | undefined,
  deps: Pick<MlflowWebhookOptions, "registry" | "receipts" | "clock" | "logger"> & { egress?: EgressPolicy },
): MlflowWebhook | undefined {
  checkMlflowSettings(settings);
  if (!settings?.webhookSecret || !settings.url) return undefined;
  const { egress, ...rest } = deps;
  return new MlflowWebhook({
    ...rest,
    secret: settings.webhookSecret,
    mlflow: {
      url: settings.url,
      token: settings.token,
      // MLflow waits 30 s for an answer and retries a 5xx itself: a short look-up, two tries.
      outbound: {
        timeoutMs: 5_000,
        attempts: 2,
        maxDelayMs: 1_000,
        maxRetryAfterMs: 2_000,
        ...(egress ? { egress } : {}),
      },
    },
    alias: settings.alias,
    environment: settings.environment,
  });
}
