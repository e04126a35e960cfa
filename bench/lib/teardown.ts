/**
 * The one teardown of the benchmarks: what a run starts or makes (child processes, scratch
 * databases, temp folders) is registered as it comes, and undone in reverse order when the run
 * ends, fails or is interrupted (Ctrl-C, SIGTERM), so that no server, database or folder is left.
 */
import type { ChildProcess } from "node:child_process";
import { rmSync } from "node:fs";
import { stopProcess } from "./child-server.js";
import type { ScratchDatabase } from "./scratch-database.js";

/** How long a child has to exit on SIGTERM before it is killed. */
const GRACE_MS = 5_000;

export class Teardown {
  readonly #steps: { what: string; undo: () => Promise<void> | void }[] = [];
  #done: Promise<void> | undefined;

  /** Undoes `what` at teardown, after everything registered later. */
  add(what: string, undo: () => Promise<void> | void): void {
    this.#steps.push({ what, undo });
  }

  /** A server (or anything with `stop`) to stop; stopping it earlier is fine, it stops once. */
  server<T extends { name: string; stop(graceMs?: number): Promise<void> }>(server: T): T {
    this.add(`stopping ${server.name}`, () => server.stop(GRACE_MS));
    return server;
  }

  process(child: ChildProcess, name: string): ChildProcess {
    this.add(`stopping ${name}`, () => stopProcess(child, GRACE_MS));
    return child;
  }

  database<T extends ScratchDatabase>(database: T): T {
    this.add(`dropping ${database.url}`, () => database.drop());
    return database;
  }

  folder(path: string): string {
    this.add(`removing ${path}`, () => rmSync(path, { recursive: true, force: true }));
    return path;
  }

  /**
   * Undoes every step once, newest first; a step that fails is reported on stderr and the rest
   * still run, so that one stuck server does not leave a database behind.
   */
  run(): Promise<void> {
    this.#done ??= this.#undoAll();
    return this.#done;
  }

  async #undoAll(): Promise<void> {
    for (let step = this.#steps.pop(); step; step = this.#steps.pop()) {
      try {
        await step.undo();
      } catch (error) {
        process.stderr.write(
          `teardown: ${step.what} failed: ${error instanceof Error ? error.message : error}\n`,
        );
      }
    }
  }
}

/**
 * Runs `work` with a teardown that runs when it returns or throws, and on SIGINT or SIGTERM
 * meanwhile (then the process exits 130, as a shell reports an interrupted command).
 */
export async function withTeardown<T>(work: (teardown: Teardown) => Promise<T>): Promise<T> {
  const teardown = new Teardown();
  const interrupt = () => {
    void teardown.run().finally(() => process.exit(130));
  };
  process.once("SIGINT", interrupt);
  process.once("SIGTERM", interrupt);
  try {
    return await work(teardown);
  } finally {
    process.off("SIGINT", interrupt);
    process.off("SIGTERM", interrupt);
    await teardown.run();
  }
}
