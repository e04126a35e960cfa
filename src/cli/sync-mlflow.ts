import type { Command } from "commander";
import type { Io } from "./io.js";

/** Placeholder until the mlflow source lands: the command is listed and says so. */
export function syncMlflowCommand(sync: Command, _io: Io): void {
  sync
    .command("mlflow")
    .summary("not built yet")
    .action(() => {
      throw new Error("tenure sync mlflow is not built yet");
    });
}
