import { createHash, randomBytes } from "node:crypto";

/**
 * How an API token is made and how it is kept: the CLI makes tokens, the HTTP layer checks them,
 * and both store and look them up by hash, so neither depends on the other for it.
 */

/** Tokens look like `tnr_` + 43 base64url characters (256 random bits). */
export function generateToken(): string {
  return `tnr_${randomBytes(32).toString("base64url")}`;
}

/** The token as stored: a token is shown once and never kept, only its SHA-256 (hex). */
export function hashToken(token: string): string {
  return createHash("sha256").update(token).digest("hex");
}
