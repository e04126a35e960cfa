/**
 * A server's SQLite connection hands WAL checkpoints to a thread of its own.
 *
 * In WAL mode every commit appends pages to the -wal file, and once it holds
 * `wal_autocheckpoint` pages (1,000 by default) the committing connection copies them back into
 * the database and syncs both files, in the middle of that commit, on the server's one thread
 * (what that costs: BENCHMARKS.md, registry session 4). A checkpointer thread with its own
 * connection runs PASSIVE checkpoints instead, which never block a writer or a reader, so the
 * server's thread only appends. The server's connection keeps a far larger `wal_autocheckpoint` as a backstop, should
 * the thread ever fall behind.
 */
import { createRequire } from "node:module";
import { Worker } from "node:worker_threads";

/** How often the thread checks for pages to copy while writes come in, in ms. */
const BUSY_INTERVAL_MS = 25;
/** How often it checks once the WAL stopped growing: an idle server costs next to nothing. */
const IDLE_INTERVAL_MS = 1_000;

/** The server connection's own checkpoint threshold while the thread runs (pages). */
export const BACKSTOP_CHECKPOINT_PAGES = 16_000;

export interface Checkpointer {
  /** Runs one last checkpoint and ends the thread; resolves once it has. */
  stop(): Promise<void>;
}

/**
 * The thread's code. It is evaluated (CommonJS), so it loads the SQLite driver by the absolute
 * path the server resolved, and it runs the same way from src/ under tsx and from dist/.
 */
const WORKER_SOURCE = `
const { parentPort, workerData } = require("node:worker_threads");
const Database = require(workerData.driver);
const db = new Database(workerData.file);
db.pragma("busy_timeout = 5000");
let timer;
let stopping = false;
let lastFrames = -1;
/** Copies what it can; answers the frames the WAL holds, or -1 when the checkpoint failed. */
function checkpoint() {
  try {
    const [result] = db.pragma("wal_checkpoint(PASSIVE)");
    return result ? result.log : 0;
  } catch (error) {
    parentPort.postMessage({ error: String((error && error.message) || error) });
    return -1;
  }
}
/** Polls fast while the WAL grows, slowly once it stops (it resets only at the next write). */
function loop() {
  if (stopping) return;
  const frames = checkpoint();
  const growing = frames >= 0 && frames !== lastFrames;
  lastFrames = frames;
  timer = setTimeout(loop, growing ? workerData.busy : workerData.idle);
}
parentPort.on("message", (message) => {
  if (message !== "stop") return;
  stopping = true;
  clearTimeout(timer);
  checkpoint();
  db.close();
  parentPort.close();
});
loop();
`;

/**
 * Starts the checkpointer thread for the SQLite file, once the server's connection has set WAL
 * mode. `onFailure` hears once if the thread fails (its driver would not load, a checkpoint
 * failed) and has stopped: the caller then goes back to in-line checkpoints.
 */
export function startCheckpointer(file: string, onFailure: (message: string) => void): Checkpointer {
  const driver = createRequire(import.meta.url).resolve("better-sqlite3");
  const worker = new Worker(WORKER_SOURCE, {
    eval: true,
    workerData: {
      driver,
      file,
      busy: BUSY_INTERVAL_MS,
      idle: IDLE_INTERVAL_MS,
    },
  });
  // The thread must never keep the process alive on its own.
  worker.unref();
  let stopping = false;
  let failed = false;
  const fail = (message: string) => {
    if (stopping || failed) return;
    failed = true;
    onFailure(message);
    void worker.terminate();
  };
  const exited = new Promise<void>((resolve) => worker.once("exit", () => resolve()));
  worker.on("error", (error) => fail(error.message));
  worker.on("message", (message: { error?: string }) => {
    if (message.error) fail(message.error);
  });
  worker.once("exit", (code) => fail(`the checkpointer thread exited with code ${code}`));
  return {
    async stop() {
      if (stopping) return exited;
      stopping = true;
      // Held now: a process with nothing else left to do must wait for the last checkpoint.
      worker.ref();
      if (!failed) worker.postMessage("stop");
      await exited;
    },
  };
}
