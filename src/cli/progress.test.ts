import { describe, expect, it } from "vitest";
import type { Io } from "./io.js";
import { progressBar, sweepProgress } from "./progress.js";

/** A stand-in for a terminal's stderr: it says it is a TTY and keeps what is drawn on it. */
function fakeTerminal(): { stream: NodeJS.WriteStream; drawn: () => string } {
  let text = "";
  const stream = {
    isTTY: true,
    columns: 100,
    write: (chunk: string) => {
      text += chunk;
      return true;
    },
    cursorTo: () => true,
    clearLine: () => true,
    moveCursor: () => true,
    clearScreenDown: () => true,
  } as unknown as NodeJS.WriteStream;
  return { stream, drawn: () => text };
}

const io = (err: boolean, stream?: NodeJS.WriteStream, env: NodeJS.ProcessEnv = {}): Io => ({
  out: () => {},
  err: () => {},
  env,
  terminal: { out: err, err },
  progressStream: stream,
});

describe("progressBar", () => {
  it("draws nothing, and says so, when stderr is not a terminal", async () => {
    const { stream, drawn } = fakeTerminal();
    const progress = await progressBar(io(false, stream));
    progress.start("work", 10);
    progress.increment();
    progress.stop();
    expect(progress.active).toBe(false);
    expect(drawn()).toBe("");
  });

  it("draws nothing on a dumb terminal", async () => {
    const { stream } = fakeTerminal();
    expect((await progressBar(io(true, stream, { TERM: "dumb" }))).active).toBe(false);
  });

  it("draws the label, the count and the total on a terminal, and sizes in bytes when asked", async () => {
    const { stream, drawn } = fakeTerminal();
    const progress = await progressBar(io(true, stream), "bytes");
    progress.start("reading", 2 * 1024 * 1024);
    progress.update(1024 * 1024);
    progress.stop();
    expect(progress.active).toBe(true);
    expect(drawn()).toMatch(/reading .*50% 1\.0 MiB\/2\.0 MiB/);
  });
});

describe("sweepProgress", () => {
  it("grows the total when a sweep reads more deployments than were counted before it", async () => {
    const { stream, drawn } = fakeTerminal();
    const progress = await progressBar(io(true, stream));
    const onProgress = sweepProgress(progress, 10);
    onProgress(12);
    progress.stop();
    expect(drawn()).toMatch(/100% 12\/12/);
  });
});
