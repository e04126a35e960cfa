import type { FieldIssue } from "../core/errors.js";

/**
 * A server's problem+json answer, kept whole so the CLI can name the bad fields. Its own module
 * so that the CLI's error handling does not load the HTTP client for commands that never use it.
 */
export class RemoteError extends Error {
  override name = "RemoteError";
  constructor(
    readonly status: number,
    message: string,
    readonly issues: FieldIssue[] = [],
  ) {
    super(message);
  }
}
