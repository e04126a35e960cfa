import { type ChildProcess, spawn } from "node:child_process";
import { cleanEnv, freePort, TENURE_BIN } from "./process.js";

/** `tenure gateway` running as a child process. */
export interface GatewayProcess {
  url: string;
  child: ChildProcess;
  stdout(): string;
  stderr(): string;
  stop(): Promise<void>;
}

/** Starts `tenure gateway` on a free port and resolves once it prints that it listens. */
export async function startGatewayProcess(options: {
  cwd: string;
  args: string[];
  env?: Record<string, string | undefined>;
  timeoutMs?: number;
}): Promise<GatewayProcess> {
  const port = await freePort();
  const child = spawn(process.execPath, [TENURE_BIN, "gateway", "--port", String(port), ...options.args], {
    cwd: options.cwd,
    env: cleanEnv(options.env),
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout?.setEncoding("utf8");
  child.stderr?.setEncoding("utf8");
  child.stderr?.on("data", (chunk: string) => {
    stderr += chunk;
  });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`tenure gateway did not start:\n${stdout}\n${stderr}`));
    }, options.timeoutMs ?? 20_000);
    child.stdout?.on("data", (chunk: string) => {
      stdout += chunk;
      if (stdout.includes("tenure gateway listening on")) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`tenure gateway exited with ${code}:\n${stdout}\n${stderr}`));
    });
  });
  return {
    url: `http://127.0.0.1:${port}`,
    child,
    stdout: () => stdout,
    stderr: () => stderr,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
      await exited;
    },
  };
}
