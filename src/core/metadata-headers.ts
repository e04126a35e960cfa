/**
 * The metadata headers that say which deployment answered a request: the gateway stamps them on
 * every answer it proxies, and the SDK on every answer a model server gives. One spelling for
 * both (DESIGN.md, "Gateway response headers"), so a client reads them the same way whichever
 * stamped them.
 */

/** What the headers tell, as the registry records it; times in ms since the epoch. */
export interface StampedDeployment {
  model: string;
  model_version: string;
  deployment_id: number;
  deployment_date: number;
  training_data_cutoff: number;
  owner_team: string;
}

/** What Node accepts in a header value: visible ASCII, spaces and tabs, obs-text (RFC 9110 §5.5). */
const HEADER_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;

/** True when the text can be sent as a header value as it is; setting one that cannot throws. */
export function isHeaderValue(text: string): boolean {
  return HEADER_VALUE.test(text);
}

/**
 * The metadata headers as a flat name/value list (lowercase names, as Node sends them best),
 * in a fixed order. A field that is absent, or that cannot be a header value, is left out:
 * a partial stamp is true as far as it goes, a wrong one is not.
 */
export function metadataHeaders(deployment: Partial<StampedDeployment>): string[] {
  const list: string[] = [];
  const add = (name: string, value: string | undefined) => {
    if (value !== undefined && isHeaderValue(value)) list.push(name, value);
  };
  add("tenure-model", deployment.model);
  add("tenure-model-version", deployment.model_version);
  add("tenure-deployment-id", deployment.deployment_id?.toString());
  add("tenure-deployment-date", isoOrUndefined(deployment.deployment_date));
  add("tenure-training-data-cutoff", isoOrUndefined(deployment.training_data_cutoff));
  add("tenure-owner-team", deployment.owner_team);
  return list;
}

/** `Tenure-Deployment-Age`: whole seconds since the deployment date, never negative. */
export function deploymentAgeSeconds(deploymentDate: number, now: number): number {
  return Math.max(0, Math.floor((now - deploymentDate) / 1000));
}

function isoOrUndefined(ms: number | undefined): string | undefined {
  return ms === undefined || !Number.isFinite(ms) ? undefined : new Date(ms).toISOString();
}
