/** What a secret is replaced with in text meant for logs, errors and API answers. */
export const REDACTED = "***";

/**
 * Secrets shorter than this are not searched for: a short header value (`1`, `json`) would
 * shred every message it occurs in, and no credential worth the name is that short.
 */
const MIN_SECRET_LENGTH = 8;

/**
 * `text` with every occurrence of each secret replaced by `***`, longest first (so a secret
 * that contains another goes whole). Outside systems echo what they were sent in their errors
 * (a proxy's request dump, a debugging endpoint), and those errors reach logs and the API.
 */
export function redactSecrets(text: string, secrets: readonly (string | undefined)[]): string {
  const found = secrets
    .filter((s): s is string => s !== undefined && s.length >= MIN_SECRET_LENGTH)
    .sort((a, b) => b.length - a.length);
  let redacted = text;
  for (const secret of found) redacted = redacted.split(secret).join(REDACTED);
  return redacted;
}

/**
 * The secret parts of HTTP header values: for an `Authorization`-style `<scheme> <credentials>`
 * the credentials (so `Bearer ***` still says which scheme was refused), else the whole value.
 */
export function headerSecrets(headers: Readonly<Record<string, string>>): string[] {
  return Object.values(headers).map((value) => /^[A-Za-z][\w.+-]* +(\S.*)$/.exec(value)?.[1] ?? value);
}
