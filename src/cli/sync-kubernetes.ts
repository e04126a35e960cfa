import type { Command } from "commander";
import type { Io } from "./io.js";

/** Placeholder until the kubernetes source lands: the command is listed and says so. */
export function syncKubernetesCommand(sync: Command, _io: Io): void {
  sync
    .command("kubernetes")
    .summary("not built yet")
    .action(() => {
      throw new Error("tenure sync kubernetes is not built yet");
    });
}
