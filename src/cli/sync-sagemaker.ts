import type { Command } from "commander";
import type { Io } from "./io.js";

/** Placeholder until the sagemaker source lands: the command is listed and says so. */
export function syncSagemakerCommand(sync: Command, _io: Io): void {
  sync
    .command("sagemaker")
    .summary("not built yet")
    .action(() => {
      throw new Error("tenure sync sagemaker is not built yet");
    });
}
