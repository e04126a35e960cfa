import type { Command } from "commander";
import type { SyncSource } from "../core/sync-plan.js";
import type { Io } from "./io.js";

type RegisterSource = (sync: Command, io: Io) => void;

/** Each source's subcommand. */
const SOURCES: ReadonlyArray<readonly [name: SyncSource, load: () => Promise<RegisterSource>]> = [
  ["mlflow", async () => (await import("./sync-mlflow.js")).syncMlflowCommand],
  ["sagemaker", async () => (await import("./sync-sagemaker.js")).syncSagemakerCommand],
  ["kubernetes", async () => (await import("./sync-kubernetes.js")).syncKubernetesCommand],
];

/**
 * `tenure sync SOURCE`: each source's module is loaded before commander parses; each loads its
 * system's client only when it runs. Kept apart from sync.ts, which every source imports
 * (runSync, syncOptions): a source importing the file that loads it would be a cycle.
 */
export async function syncCommand(): Promise<(program: Command, io: Io) => void> {
  const sources = await Promise.all(SOURCES.map(([, load]) => load()));
  return (program, io) => {
    const sync = program
      .command("sync")
      .summary("learn deployments from MLflow, SageMaker or Kubernetes, and their ghosts");
    for (const register of sources) register(sync, io);
  };
}
