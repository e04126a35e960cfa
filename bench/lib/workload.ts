/**
 * The registration workload: deterministic bodies over MODELS models in ENVIRONMENTS, so a run
 * registers the same fleet every time. Consecutive indexes walk through every (model,
 * environment) pair before one comes round again, so a pair is never registered twice at once
 * (which, with deployment_date defaulting to receipt time, could legitimately lose a race with
 * 409) and every pass after the first supersedes the previous pass's primaries.
 */
export const MODELS = 2_000;
export const ENVIRONMENTS = ["production", "staging", "eu-production"] as const;

const DOMAINS = [
  "fraud",
  "churn",
  "ranking",
  "pricing",
  "recsys",
  "credit-risk",
  "eta",
  "search",
  "ads-ctr",
  "forecast",
];
const ALGORITHMS = ["gbm", "xgb", "lgbm", "bert", "two-tower", "mlp", "logreg", "tft"];
const TEAMS = [
  "risk-ml",
  "growth",
  "search-relevance",
  "payments",
  "ads",
  "logistics",
  "personalization",
  "forecasting",
  "trust-safety",
  "pricing",
  "marketplace",
  "platform-ml",
];

/** 2025-01-06, a Monday: training data cutoffs are weekly snapshots from here on. */
const CUTOFF_BASE_MS = Date.UTC(2025, 0, 6);
const WEEK_MS = 7 * 86_400_000;

export interface RegistrationBody {
  model: string;
  model_version: string;
  training_data_cutoff: string;
  owner_team: string;
  environment: string;
  role?: "shadow" | "canary";
}

export function modelName(m: number): string {
  return `${DOMAINS[m % DOMAINS.length]}-${ALGORITHMS[Math.floor(m / DOMAINS.length) % ALGORITHMS.length]}-${m}`;
}

export function ownerTeam(m: number): string {
  return TEAMS[m % TEAMS.length] ?? "platform-ml";
}

/** The i-th registration of the run. */
export function registrationBody(i: number): RegistrationBody {
  const pairs = MODELS * ENVIRONMENTS.length;
  const pair = i % pairs;
  const pass = Math.floor(i / pairs);
  const m = pair % MODELS;
  // A version is trained once and promoted through the environments: same version, same cutoff.
  const body: RegistrationBody = {
    model: modelName(m),
    model_version: `${1 + (m % 4)}.${pass}.0`,
    training_data_cutoff: new Date(CUTOFF_BASE_MS + (pass * 2 + (m % 3)) * WEEK_MS).toISOString(),
    owner_team: ownerTeam(m),
    environment: ENVIRONMENTS[Math.floor(pair / MODELS)] ?? "production",
  };
  // One registration in ten is a shadow or a canary beside the primary, as rollouts go; which
  // pairs get one changes from pass to pass.
  const turn = (pair + pass * 7) % 20;
  if (turn === 7) body.role = "shadow";
  if (turn === 13) body.role = "canary";
  return body;
}
