/**
 * The registry's words and formats, without their zod schemas: the CLI reads these at start-up,
 * and loading zod for `tenure --help` or `tenure drift` would only slow them down.
 */

/** Names of models, teams and environments: lowercase slugs, safe in URLs, labels and file names. */
export const SLUG_PATTERN = /^[a-z0-9][a-z0-9._-]{0,127}$/;

/** How far ahead of the server's clock a deployment_date may be: clocks drift, a little. */
export const FUTURE_TOLERANCE_MS = 5 * 60 * 1000;

/** Parses an instant as validated by `instant()` (a date is midnight UTC) to epoch milliseconds. */
export function instantToMs(value: string): number {
  return Date.parse(/^\d{4}-\d{2}-\d{2}$/.test(value) ? `${value}T00:00:00Z` : value);
}
