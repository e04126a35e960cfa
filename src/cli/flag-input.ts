import type { z } from "zod";
import { InputError } from "../core/errors.js";

/**
 * Validates a command's flags with the schema the API validates the same request with, before
 * the command opens the database or calls a server: the CLI refuses what the server refuses,
 * either way. Issues name the API's fields, as a server's do; main.ts writes both as the
 * flags that set them (flag-names.ts). `flags` names the few fields a command sets with another
 * flag than the table's (`tenure ls --model`, where `tenure deploy` takes MODEL).
 */
export function parseFlags<S extends z.ZodType>(
  schema: S,
  input: Record<string, unknown>,
  message: string,
  flags: Readonly<Record<string, string>> = {},
): z.infer<S> {
  const parsed = schema.safeParse(input);
  if (parsed.success) return parsed.data;
  const issues = parsed.error.issues.map((issue) => {
    const field = String(issue.path[0] ?? "");
    const missing = issue.path.length === 1 && input[field] === undefined;
    const path = [flags[field] ?? field, ...issue.path.slice(1).map(String)].join(".");
    return { field: path, message: missing ? "is required" : issue.message };
  });
  throw new InputError(message, issues);
}
