import { api } from "../api";

/**
 * What the dialogs read before they say what an action will do: the deployment as it stands, the
 * policy's dates and its open alerts. Shapes mirror src/http/schemas.ts and lifecycle-schemas.ts.
 */
export interface DeploymentRef {
  id: number;
  model: string;
  model_version: string;
  environment: string;
}

export interface DeploymentState extends DeploymentRef {
  status: string;
  role: string;
  owner_team: string;
  deployment_date: string;
  age: { deployment_age_seconds: number; ttl_seconds: number; stage: string | null };
}

export interface PolicyDates {
  policy: string;
  exempt: boolean;
  max_age_seconds: number;
  review_at: number;
  ttl_extension_seconds: number;
  due_at: string;
  expires_at: string;
}

export interface OpenAlert {
  id: number;
  kind: string;
  severity: string;
}

export interface ReviewContext {
  deployment: DeploymentState;
  policy: PolicyDates;
  alerts: OpenAlert[];
}

export async function loadReviewContext(id: number): Promise<ReviewContext> {
  const [deployment, policy, alerts] = await Promise.all([
    api.get<DeploymentState>(`/v1/deployments/${id}`),
    api.get<PolicyDates>(`/v1/deployments/${id}/policy`),
    openAlertsOf(id),
  ]);
  return { deployment, policy, alerts };
}

export async function openAlertsOf(id: number): Promise<OpenAlert[]> {
  const page = await api.get<{ items: OpenAlert[] }>("/v1/alerts", {
    deployment_id: id,
    state: "open",
    limit: 500,
  });
  return page.items;
}

/** A review resolves only the age alerts: what it acknowledges is the deployment's age. */
export const AGE_KINDS: ReadonlySet<string> = new Set(["due", "expired"]);

/** "'expired'", "'due' and 'expired'", "'a', 'b' and 'c'": kinds as a sentence names them. */
export function kindList(kinds: string[]): string {
  const quoted = kinds.map((k) => `'${k}'`);
  if (quoted.length <= 1) return quoted.join("");
  return `${quoted.slice(0, -1).join(", ")} and ${quoted.at(-1)}`;
}

export const plural = (n: number, one: string, many: string) => (n === 1 ? one : many);
