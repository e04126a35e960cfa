import { existsSync, readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { semiSpaceChosen } from "../../src/cli/young-generation.js";
import { startGatewayProcess } from "../support/gateway-process.js";
import { pollUntil, runTenure, tempDir, waitUntilRefused } from "../support/process.js";

/** The pids a process started, from /proc (Linux). */
function childrenOf(pid: number): number[] {
  const text = readFileSync(`/proc/${pid}/task/${pid}/children`, "utf8").trim();
  return text === "" ? [] : text.split(" ").map(Number);
}

const commandLine = (pid: number) => readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0");
const running = (pid: number) =>
  existsSync(`/proc/${pid}`) && !/^State:\s+Z/m.test(readFileSync(`/proc/${pid}/status`, "utf8"));

describe("semiSpaceChosen", () => {
  it("sees the flag on node's command line or in NODE_OPTIONS, in either spelling, and nothing else", () => {
    expect(semiSpaceChosen(["--max-semi-space-size=32"], undefined)).toBe(true);
    expect(semiSpaceChosen([], "--inspect --max_semi_space_size=8")).toBe(true);
    expect(semiSpaceChosen(["--max-old-space-size=512"], "--enable-source-maps")).toBe(false);
    expect(semiSpaceChosen([], undefined)).toBe(false);
  });
});

describe.skipIf(process.platform !== "linux")("tenure gateway's young generation", () => {
  const dir = tempDir();
  const database = `${dir.path}/tenure.db`;

  beforeAll(async () => {
    expect((await runTenure(["init", "--database", database], { cwd: dir.path })).code).toBe(0);
  });
  afterAll(() => dir.remove());

  it("serves from a child started with a 64 MiB semi-space, and SIGTERM to the command stops both, exit 0", async () => {
    const gateway = await startGatewayProcess({ cwd: dir.path, args: ["--database", database] });
    const parent = gateway.child.pid as number;
    const [child] = childrenOf(parent);
    expect(child).toEqual(expect.any(Number));
    expect(commandLine(child as number)).toContain("--max-semi-space-size=64");
    expect((await fetch(`${gateway.url}/healthz`)).status).toBe(200);
    await gateway.stop();
    expect(gateway.child.exitCode).toBe(0);
    await pollUntil("the child to have stopped", () => (running(child as number) ? undefined : true));
    expect(gateway.stdout()).toContain("tenure gateway listening on");
  });

  it("stops its child when the command is killed outright (SIGKILL): nothing keeps the port", async () => {
    const gateway = await startGatewayProcess({ cwd: dir.path, args: ["--database", database] });
    const [child] = childrenOf(gateway.child.pid as number);
    gateway.child.kill("SIGKILL");
    await pollUntil("the orphaned child to stop", () => (running(child as number) ? undefined : true));
    expect(await waitUntilRefused(Number(new URL(gateway.url).port))).toBe(true);
  });

  it("runs in one process when the caller chose the semi-space (NODE_OPTIONS)", async () => {
    const gateway = await startGatewayProcess({
      cwd: dir.path,
      args: ["--database", database],
      env: { NODE_OPTIONS: "--max-semi-space-size=32" },
    });
    try {
      expect(childrenOf(gateway.child.pid as number)).toEqual([]);
      expect((await fetch(`${gateway.url}/healthz`)).status).toBe(200);
    } finally {
      await gateway.stop();
    }
    expect(gateway.child.exitCode).toBe(0);
  });
});
