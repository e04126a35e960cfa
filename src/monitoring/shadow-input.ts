import { z } from "zod";
import { finite, slug } from "../registry/deployment-input.js";

/** `POST /v1/feedback`: ground truth by request id, up to 10,000 labels a request. */
export const FeedbackBody = z.strictObject({
  items: z
    .array(
      z.strictObject({
        request_id: z
          .string()
          .min(1)
          .max(256)
          .describe("the request id the gateway answered with (Tenure-Request-Id)"),
        label: z
          .union([z.string().min(1).max(1024), finite(), z.boolean()])
          .describe("the ground truth: a class (string or boolean) or a number"),
      }),
    )
    .min(1, "must hold at least one item")
    .max(10_000, "at most 10,000 items a request"),
});

/** `GET /v1/models/{name}/shadow?environment=E`, and `tenure shadow MODEL --env E`. */
export const ShadowQuery = z.strictObject({ environment: slug().default("production") });
