import { accessSync, constants } from "node:fs";

/**
 * Whether a program a suite needs is installed (Chromium, promtool, Prometheus). A user's fresh
 * machine may lack it: the suite is skipped with one line saying what to install. Under CI=true
 * `.ci/run` installs it, so a missing program is a failure there, never a silent skip.
 */
export function hasExternalTool(path: string, install: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    if (process.env.CI === "true") {
      throw new Error(`${path} is required under CI=true (${install}) but is not installed`);
    }
    process.stdout.write(`skipping tests that need ${path}: it is not installed (${install})\n`);
    return false;
  }
}
