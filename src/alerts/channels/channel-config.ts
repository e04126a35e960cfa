import { z } from "zod";
import { parseDuration } from "../../core/duration.js";

/** One channel of a policy file's `channels`: where notifications go and how they are sent. */
export type ChannelConfig = z.infer<typeof ChannelConfigSchema>;

const duration = z.string().refine((text) => parseDuration(text) !== undefined, {
  message: "must be a duration such as 90d, 36h, 2w (units s m h d w)",
});

export const ChannelConfigSchema = z.discriminatedUnion("type", [
  z.strictObject({
    type: z.literal("slack"),
    url: z.url({ protocol: /^https?$/ }),
    timeout: duration.optional(),
  }),
  z.strictObject({
    type: z.literal("pagerduty"),
    // PagerDuty's integration (routing) keys are 32 characters; it answers 400 to any other.
    routing_key: z
      .string()
      .length(32, "must be the 32-character integration key of a PagerDuty Events API v2 integration"),
    url: z.url({ protocol: /^https?$/ }).optional(),
    timeout: duration.optional(),
  }),
  z
    .strictObject({
      type: z.literal("webhook"),
      url: z.url({ protocol: /^https?$/ }),
      secret: z.string().min(16, "must be at least 16 characters").optional(),
      timeout: duration.optional(),
      template: z.string().max(64_000).optional(),
      // Header names are RFC 9110 tokens and values hold no control characters (§5.5), checked
      // here so that a bad header is a policy file error, not a delivery that fails forever.
      headers: z
        .record(
          z.string().regex(/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/, "must be an HTTP header name"),
          z.string().refine((value) => ![...value].some((c) => c !== "\t" && (c < " " || c === "\x7f")), {
            message: "must not contain control characters",
          }),
        )
        .optional(),
      content_type: z.string().optional(),
    })
    .refine((c) => c.template === undefined || !isJsonType(c.content_type) || templateIsJson(c.template), {
      message: "the template must be JSON once its {{placeholders}} are filled (or set content_type)",
      path: ["template"],
    }),
]);

function isJsonType(contentType: string | undefined): boolean {
  return contentType === undefined || /\bjson\b/i.test(contentType);
}

/** Placeholders fill in as JSON-escaped text: checking with any text tells whether the result is JSON. */
function templateIsJson(template: string): boolean {
  try {
    JSON.parse(template.replace(/\{\{[^{}]*\}\}/g, "x"));
    return true;
  } catch {
    return false;
  }
}
