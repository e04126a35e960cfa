/**
 * Domain errors carry no HTTP: the HTTP error handler and the CLI each map them in one place.
 */

/** One bad or missing field of an input, named by its path (`training_data_cutoff`, `points.3.value`). */
export interface FieldIssue {
  field: string;
  message: string;
}

export class InputError extends Error {
  override name = "InputError";
  constructor(
    message: string,
    readonly issues: FieldIssue[] = [],
  ) {
    super(message);
  }
}

/** The request is well formed but what it points at is not usable (an invalid policy file to reload). */
export class UnprocessableError extends Error {
  override name = "UnprocessableError";
  constructor(
    message: string,
    readonly issues: FieldIssue[] = [],
  ) {
    super(message);
  }
}

export class NotFoundError extends Error {
  override name = "NotFoundError";
}

export class ConflictError extends Error {
  override name = "ConflictError";
}

/** The caller is known but may not do this (a team token touching another team's model). */
export class ForbiddenError extends Error {
  override name = "ForbiddenError";
}

/** The caller is not known: no credentials, or credentials that match nothing. */
export class UnauthenticatedError extends Error {
  override name = "UnauthenticatedError";
}

/**
 * A token that was valid and has passed its expiry: worth telling its holder, who needs a new
 * one rather than a corrected one.
 */
export class TokenExpiredError extends UnauthenticatedError {
  override name = "TokenExpiredError";
}

/** A caller over its share of requests: worth retrying once its share refills. */
export class RateLimitedError extends Error {
  override name = "RateLimitedError";
}

/** A system this one depends on (MLflow, for its webhook) does not answer now: worth retrying. */
export class UnavailableError extends Error {
  override name = "UnavailableError";
}

/**
 * A sweep that failed part-way (its database refused a write): a server fault, but one whose
 * message tells the caller what it left behind. The fault itself is in `cause`, for the log.
 */
export class SweepFailedError extends Error {
  override name = "SweepFailedError";
  constructor(
    readonly sweep_id: number,
    cause: unknown,
  ) {
    super(
      `sweep ${sweep_id} failed part-way and is logged as failed with its error (GET /v1/sweeps, tenure sweep --history); ` +
        "what it had finished stays done, and the next sweep does the rest",
      { cause },
    );
  }
}
