import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { Teardown } from "../../bench/lib/teardown.js";

const TEARDOWN_MODULE = fileURLToPath(new URL("../../bench/lib/teardown.ts", import.meta.url));

/** A run that makes a folder and starts a child process, says where they are, then waits to be stopped. */
const INTERRUPTED_RUN = `
import { spawn } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { withTeardown } from ${JSON.stringify(TEARDOWN_MODULE)};
await withTeardown(async (teardown) => {
  const dir = teardown.folder(mkdtempSync(join(tmpdir(), "tenure-teardown-")));
  const child = teardown.process(spawn(process.execPath, ["-e", "setInterval(() => {}, 1000)"]), "sleeper");
  process.stdout.write(JSON.stringify({ dir, pid: child.pid }) + "\\n");
  await new Promise(() => setInterval(() => {}, 1000));
});
`;

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe("the benchmarks' teardown", () => {
  it("undoes every step once, newest first, and carries on past a step that fails", async () => {
    const teardown = new Teardown();
    const undone: string[] = [];
    teardown.add("first", () => {
      undone.push("first");
    });
    teardown.add("failing", () => {
      throw new Error("stuck");
    });
    teardown.add("last", async () => {
      undone.push("last");
    });
    await Promise.all([teardown.run(), teardown.run()]);
    await teardown.run();
    expect(undone).toEqual(["last", "first"]);
  });

  it("on SIGTERM stops the run's child processes, removes its folders and exits 130", async () => {
    const run = spawn(process.execPath, ["--import", "tsx", "--input-type=module", "-e", INTERRUPTED_RUN], {
      stdio: ["ignore", "pipe", "inherit"],
    });
    const exited = new Promise<number | null>((resolve) => run.once("exit", (code) => resolve(code)));
    const [line] = await createInterface({ input: run.stdout })
      [Symbol.asyncIterator]()
      .next()
      .then((r) => [r.value]);
    const { dir, pid } = JSON.parse(String(line)) as { dir: string; pid: number };
    expect(existsSync(dir)).toBe(true);
    expect(alive(pid)).toBe(true);

    run.kill("SIGTERM");

    expect(await exited).toBe(130);
    expect(existsSync(dir)).toBe(false);
    expect(alive(pid)).toBe(false);
  });
});
