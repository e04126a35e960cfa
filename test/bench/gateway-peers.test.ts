import { readdirSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { type ChildServer, startChildServer } from "../../bench/lib/child-server.js";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const started: ChildServer[] = [];

afterAll(async () => {
  await Promise.all(started.map((server) => server.stop(2_000)));
});

async function start(name: string, args: string[]): Promise<ChildServer> {
  const server = await startChildServer({ name, cwd: ROOT, args: ["--import", "tsx", ...args] });
  started.push(server);
  return server;
}

/** The pids whose parent is `pid` and whose command line names `script`, from /proc. */
function childrenOf(pid: number, script: string): number[] {
  return readdirSync("/proc")
    .filter((entry) => /^\d+$/.test(entry))
    .filter((entry) => {
      try {
        const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
        const parent = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
        return parent === pid && readFileSync(`/proc/${entry}/cmdline`, "utf8").includes(script);
      } catch {
        return false;
      }
    })
    .map(Number);
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function predict(url: string) {
  const response = await fetch(url, { method: "POST", body: '{"features":{"x":1}}' });
  return {
    status: response.status,
    version: response.headers.get("x-model-version"),
    body: await response.json(),
  };
}

describe("the gateway benchmark's Node peers", () => {
  it("forward /{model}/{rest} to the upstream's /{rest} with query and body, one process or two, and a stopped cluster leaves no worker", async () => {
    const upstream = await start("upstream", [
      "bench/lib/gateway-upstream.ts",
      "--port",
      "{port}",
      "--version",
      "7.1",
    ]);
    const floor = await start("floor", [
      "bench/lib/proxy-floor.ts",
      "--port",
      "{port}",
      "--upstream",
      upstream.url,
    ]);
    const httpProxy = await start("http-proxy", [
      "bench/lib/proxy-http-proxy.ts",
      "--port",
      "{port}",
      "--upstream",
      upstream.url,
    ]);
    const cluster = await start("floor x2", [
      "bench/lib/cluster.ts",
      "--workers",
      "2",
      "--",
      "bench/lib/proxy-floor.ts",
      "--port",
      "{port}",
      "--upstream",
      upstream.url,
    ]);

    for (const server of [floor, httpProxy, cluster]) {
      const answer = await predict(`${server.url}/bench-model/predict?explain=1`);
      expect(answer).toMatchObject({
        status: 200,
        version: "7.1",
        body: { prediction: 0.42, path: "/predict?explain=1", request_bytes: 20 },
      });
    }

    await expect.poll(() => cluster.stderrTail(), { timeout: 20_000 }).toContain("2 workers listening");
    // tsx may run an esbuild service beside the workers: count the workers by their script.
    const workers = childrenOf(cluster.pid, "proxy-floor.ts");
    expect(workers).toHaveLength(2);
    await cluster.stop(5_000);
    await expect.poll(() => workers.filter(alive), { timeout: 5_000 }).toEqual([]);
  });
});
