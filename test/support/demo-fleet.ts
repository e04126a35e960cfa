import { expect } from "vitest";
import { runTenure, type ServeProcess, startServe } from "./process.js";

/** What points a command at the demo's fleet in its folder: its database and its policy file. */
export const DEMO_FLAGS = ["--database", "demo.db", "--policies", "demo-policies.yaml"];

/** Seeds `tenure demo`'s fleet in `cwd`: demo.db and demo-policies.yaml, no server. */
export async function seedDemo(cwd: string): Promise<void> {
  const seeded = await runTenure(["demo", "--seed-only", "--database", "demo.db"], { cwd });
  expect(seeded.code, seeded.stderr).toBe(0);
}

/** `tenure serve` on the fleet `seedDemo` left in `cwd`, under its policies, its reads public. */
export function serveDemo(cwd: string): Promise<ServeProcess> {
  return startServe({
    cwd,
    database: "demo.db",
    extraArgs: ["--public-read", "--policies", "demo-policies.yaml"],
  });
}
