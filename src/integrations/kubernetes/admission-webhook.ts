import type { PolicySource } from "../../core/policy.js";
import { SLUG_PATTERN } from "../../registry/deployment-words.js";
import type { ModelStore } from "../../store/model-store.js";
import { type AdmissionJudgement, judgeAdmission } from "./admission-judgement.js";
import {
  type AdmissionReviewRequest,
  type AdmissionReviewResponse,
  admissionResponse,
} from "./admission-review.js";
import { MODEL_LABEL } from "./workload-metadata.js";

export interface AdmissionWebhookOptions {
  /** The policies in force (the server's policy book, reloaded in place on SIGHUP). */
  policies: PolicySource;
  /** Where the registry keeps models and their owner teams. */
  models: Pick<ModelStore, "findModel">;
  clock: () => number;
  /** How long the owner lookup may take before its check is skipped; 250 ms when absent. */
  lookupTimeoutMs?: number;
}

/** What happened to the registry lookup of the model's owner. */
export type OwnerLookup = "not-needed" | "found" | "unknown-model" | "timed-out" | "failed";

export interface AdmissionOutcome {
  review: AdmissionReviewResponse;
  judgement: AdmissionJudgement;
  owner_lookup: OwnerLookup;
  /** Why the lookup failed, for the log. */
  lookup_error?: unknown;
}

/**
 * Kubernetes' validating admission webhook for labelled workloads. It has no side effects
 * (`sideEffects: None`): it reads the policies and one model row and writes nothing, so a
 * `dryRun` request is judged exactly like any other and nothing is left behind by either.
 *
 * The API server waits for the answer while a user waits for kubectl, so nothing slow sits on
 * the path: the decision needs no database at all, and the one lookup (the model's registered
 * owner, which only ever adds a warning) is given up after a short time, or when the database
 * fails, rather than fail or delay the admission.
 */
export class AdmissionWebhook {
  private readonly lookupTimeoutMs: number;

  constructor(private readonly options: AdmissionWebhookOptions) {
    this.lookupTimeoutMs = options.lookupTimeoutMs ?? 250;
  }

  async review(review: AdmissionReviewRequest): Promise<AdmissionOutcome> {
    const request = review.request;
    const model = modelToLookUp(review);
    const lookup = model === undefined ? { result: "not-needed" as const } : await this.ownerOf(model);
    const judgement = judgeAdmission(request, {
      now: this.options.clock(),
      policyFor: (subject) => this.options.policies.policyFor(subject),
      registeredOwner: lookup.result === "found" ? lookup.owner : undefined,
    });
    return {
      review: admissionResponse(request.uid, judgement.verdict),
      judgement,
      owner_lookup: lookup.result,
      ...(lookup.result === "failed" ? { lookup_error: lookup.error } : {}),
    };
  }

  private async ownerOf(
    model: string,
  ): Promise<
    | { result: "found"; owner: string }
    | { result: "unknown-model" | "timed-out" }
    | { result: "failed"; error: unknown }
  > {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<{ result: "timed-out" }>((done) => {
      timer = setTimeout(() => done({ result: "timed-out" }), this.lookupTimeoutMs);
    });
    const found = this.options.models.findModel(model).then(
      (row) =>
        row ? { result: "found" as const, owner: row.owner_team } : { result: "unknown-model" as const },
      (error: unknown) => ({ result: "failed" as const, error }),
    );
    try {
      return await Promise.race([found, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }
}

/** The model whose registered owner the judgement compares, when the request is one it judges. */
function modelToLookUp(review: AdmissionReviewRequest): string | undefined {
  const { operation, object, subResource } = review.request;
  if ((operation !== "CREATE" && operation !== "UPDATE") || subResource) return undefined;
  const model = object?.metadata?.labels?.[MODEL_LABEL];
  return model !== undefined && SLUG_PATTERN.test(model) ? model : undefined;
}
