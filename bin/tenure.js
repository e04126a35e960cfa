#!/usr/bin/env node
import { main } from "../dist/cli/main.js";

// A reader that stops early (`tenure ls | head`) closes the pipe: stop quietly, as Unix tools do,
// instead of printing a stack trace for EPIPE.
process.stdout.on("error", (error) => {
  if (error.code === "EPIPE") process.exit(process.exitCode ?? 0);
  throw error;
});

main(process.argv).then(
  (code) => {
    process.exitCode = code;
  },
  (error) => {
    process.stderr.write(`tenure: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 1;
  },
);
