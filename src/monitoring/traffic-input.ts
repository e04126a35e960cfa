import { z } from "zod";
import { decimalInt, slug } from "../registry/deployment-input.js";

/**
 * What the ghost list may ask for: `GET /v1/ghosts` validates its query with it, and
 * `tenure ghosts` its flags before it opens the database or calls a server.
 */
export const GhostsQuery = z.strictObject({
  environment: slug().optional(),
  limit: decimalInt(1, 500).default(50),
  /** Where the previous page ended, as its `next_cursor` said. */
  cursor: z.string().max(1024).optional(),
});
export type GhostsQuery = z.infer<typeof GhostsQuery>;

/** A page's `next_cursor`, read back: the ghost the next page starts after. */
export const GhostCursorJson = z.tuple([
  z.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
  z.string().min(1).max(128),
  z.string().min(1).max(128),
]);
