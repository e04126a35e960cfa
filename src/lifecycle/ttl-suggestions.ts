import { suggestTtl, type TtlEvidence } from "../core/decay/suggest-ttl.js";
import { NotFoundError } from "../core/errors.js";
import type { Policy } from "../core/policy.js";
import type { DeploymentRow } from "../store/schema.js";
import type { Stores } from "../store/stores.js";
import type { ModelDecay } from "./decay-histories.js";
import { ModelDecays } from "./model-decays.js";

/** A model's suggested TTL in one environment, against the TTL in force (`tenure policy suggest`). */
export interface TtlSuggestionView {
  model: string;
  environment: string;
  /** The policy of the deployment that leads (the live primary, else the newest); null without one. */
  policy: string | null;
  /** The TTL that policy gives the model now (its learned or fallback TTL when it is `auto`). */
  current_max_age_seconds: number | null;
  /** Null when the model has no curve, or nothing to judge it against; `reason` says why. */
  suggested_max_age_seconds: number | null;
  reason: string;
  evidence: TtlEvidence | null;
}

/**
 * The suggestion for a model's decay, under `policy` (the lead's by default): judged against the
 * lead deployment's threshold (its target, or the one learned from its baseline), less the
 * performance policy's label delay and the policy's lead time, within its suggestion bounds.
 */
export function suggestionFor(decay: ModelDecay, policy: Policy | null = decay.policy): TtlSuggestionView {
  const base = {
    model: decay.model,
    environment: decay.environment,
    policy: policy?.name ?? null,
    current_max_age_seconds: policy?.max_age_seconds ?? null,
  };
  const none = (reason: string): TtlSuggestionView => ({
    ...base,
    suggested_max_age_seconds: null,
    reason,
    evidence: null,
  });
  const { curve } = decay.fit;
  if (!curve) return none(decay.fit.reason);
  const lead = decay.lead;
  const threshold = lead ? (decay.histories.get(lead.id)?.evaluation.threshold ?? null) : null;
  if (!policy || !decay.performance || threshold === null || !Number.isFinite(threshold)) {
    return none(
      `the leading deployment${lead ? ` ${lead.id}` : ""} has no ${curve.metric} threshold to cross: no target and no baseline`,
    );
  }
  const suggestion = suggestTtl(curve, threshold, policy.max_age_seconds, {
    label_delay_seconds: decay.performance.label_delay_seconds,
    lead_time_seconds: policy.ttl_suggestion.lead_time_seconds,
    min_suggested_seconds: policy.ttl_suggestion.min_suggested_seconds,
    max_suggested_seconds: policy.ttl_suggestion.max_suggested_seconds,
  });
  return { ...base, ...suggestion };
}

/**
 * The suggestion for each model and environment with live deployments, optionally one model's
 * or one environment's. A model that does not exist is a NotFoundError.
 */
export async function listTtlSuggestions(
  stores: Pick<Stores, "forecasts" | "learnedTtls" | "metrics" | "models">,
  policyOf: (row: DeploymentRow) => Policy,
  filter: { model?: string; environment?: string },
  now: number,
): Promise<TtlSuggestionView[]> {
  if (filter.model !== undefined && !(await stores.models.findModel(filter.model))) {
    throw new NotFoundError(`model ${filter.model} does not exist`);
  }
  const pairs = await stores.learnedTtls.liveModelEnvironments(filter);
  const decays = await new ModelDecays(stores, now).decaysOf(policyOf, pairs);
  return decays.map(({ decay }) => suggestionFor(decay));
}
