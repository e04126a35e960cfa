import { z } from "zod";
import { instant } from "../registry/deployment-input.js";

/**
 * What a manual sweep may ask for: `POST /v1/sweeps` validates its body with it, and
 * `tenure sweep` its flags before it opens the database or calls a server, so both refuse the
 * same input the same way.
 */
export const SweepBody = z.strictObject({
  at: instant()
    .optional()
    .describe(
      "evaluate the fleet at this time instead of now: a past time replays for real, a future one is a preview",
    ),
  dry_run: z
    .boolean()
    .optional()
    .describe("a preview: evaluate and count what the sweep would do, write nothing, send nothing"),
});

export type SweepBody = z.infer<typeof SweepBody>;
