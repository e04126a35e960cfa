import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { type FakeMlflow, startFakeMlflow } from "../support/fake-mlflow.js";
import {
  expectOneLineFailure,
  lines,
  pollUntil,
  type RunResult,
  runTenure,
  startServe,
  tempDir,
} from "../support/process.js";
import { startReceiver } from "../support/receivers.js";

const DAY = 86_400_000;

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** A fake MLflow on 127.0.0.1 with one champion, a fresh database, and the CLI with private egress off. */
async function setUp(): Promise<{
  mlflow: FakeMlflow;
  tenure(env: Record<string, string>, ...args: string[]): Promise<RunResult>;
}> {
  const dir = tempDir();
  const mlflow = await startFakeMlflow();
  cleanups.push(
    () => dir.remove(),
    () => mlflow.close(),
  );
  mlflow.createModel("fraud");
  const version = mlflow.createVersion("fraud", {
    created: Date.now() - 30 * DAY,
    tags: { owner_team: "risk", training_data_cutoff: "2026-06-30" },
  });
  mlflow.setAlias("fraud", "champion", version);
  const database = join(dir.path, "tenure.db");
  const tenure = (env: Record<string, string>, ...args: string[]) =>
    runTenure([...args, "--database", database], {
      cwd: dir.path,
      env: { TENURE_ALLOW_PRIVATE_EGRESS: "0", ...env },
    });
  expect((await tenure({}, "init")).code).toBe(0);
  return { mlflow, tenure };
}

describe("tenure's outbound calls refuse private addresses unless allowed (CLI as a process)", () => {
  it("tenure sync mlflow refuses an MLflow on 127.0.0.1 by default, in one line, and MLflow hears nothing", async () => {
    const { mlflow, tenure } = await setUp();
    const result = await tenure({}, "sync", "mlflow", "--url", mlflow.url);
    const line = expectOneLineFailure(result, 1);
    expect(line).toMatch(/^tenure: /);
    expect(line).toContain("egress refused: 127.0.0.1 is loopback");
    expect(line).toContain("--allow-private-egress");
    expect(mlflow.requests).toEqual([]);
  });

  it("--allow-private-egress, TENURE_ALLOW_PRIVATE_EGRESS=1 and TENURE_EGRESS_ALLOW=127.0.0.1/32 each let the same sync through", async () => {
    const { mlflow, tenure } = await setUp();
    const runs = [
      await tenure({}, "sync", "mlflow", "--url", mlflow.url, "--allow-private-egress", "--dry-run"),
      await tenure({ TENURE_ALLOW_PRIVATE_EGRESS: "1" }, "sync", "mlflow", "--url", mlflow.url, "--dry-run"),
      await tenure(
        { TENURE_EGRESS_ALLOW: "10.0.0.0/8, 127.0.0.1/32" },
        "sync",
        "mlflow",
        "--url",
        mlflow.url,
      ),
    ];
    for (const run of runs) expect(run.code, run.stderr).toBe(0);
    const listed = await tenure({}, "ls", "--json");
    const { items } = JSON.parse(listed.stdout) as { items: { model: string }[] };
    expect(items.map((i) => i.model)).toEqual(["fraud"]);
  });

  it("tenure serve with private egress off (the default) dead-letters an alert to a channel on 127.0.0.1, naming the refusal, and the channel hears nothing", async () => {
    const receiver = await startReceiver("slack");
    const dir = tempDir();
    cleanups.push(
      () => dir.remove(),
      () => receiver.close(),
    );
    const policies = join(dir.path, "policies.yaml");
    writeFileSync(
      policies,
      `channels:\n  slack: { type: slack, url: "${receiver.url}", timeout: 1s }\npolicies:\n  - name: short\n    max_age: 10d\n    notify: { due: [slack], expired: [slack] }\n`,
    );
    const database = join(dir.path, "tenure.db");
    const env = { TENURE_ALLOW_PRIVATE_EGRESS: "0", TENURE_POLICIES: policies };
    const tenure = (...args: string[]) =>
      runTenure([...args, "--database", database], { cwd: dir.path, env });
    expect((await tenure("init")).code).toBe(0);
    const past = new Date(Date.now() - 40 * DAY).toISOString();
    const deployed = await tenure(
      "deploy",
      "fraud",
      "1",
      "--team",
      "risk",
      "--trained-through",
      past.slice(0, 10),
      "--deployed-at",
      past,
    );
    expect(deployed.code, deployed.stderr).toBe(0);
    const token = (await tenure("token", "create", "--scope", "admin")).stdout.trim();
    const server = await startServe({ cwd: dir.path, database, env });
    cleanups.push(async () => {
      await server.stop();
    });
    // The server sweeps at start (a fresh database was never swept), and delivers what it found.
    const failed = await pollUntil("the delivery to be dead-lettered", async () => {
      const res = await fetch(`${server.url}/v1/deliveries?state=failed`, {
        headers: { authorization: `Bearer ${token}` },
      });
      const { items } = (await res.json()) as {
        items: { attempts: number; attempt_log: { error: string }[] }[];
      };
      return items.length > 0 ? items : undefined;
    });
    expect(failed).toHaveLength(1);
    expect(failed[0]).toMatchObject({ attempts: 1 });
    expect(failed[0]?.attempt_log[0]?.error).toContain("egress refused: 127.0.0.1 is loopback");
    expect(receiver.received).toEqual([]);
  });

  it("a TENURE_EGRESS_ALLOW that is not a list of CIDRs is refused in one line with exit 2", async () => {
    const { tenure } = await setUp();
    const result = await tenure(
      { TENURE_EGRESS_ALLOW: "10.0.0.0/8,intranet" },
      "sync",
      "mlflow",
      "--url",
      "http://x",
    );
    const line = expectOneLineFailure(result, 2);
    expect(line).toContain("TENURE_EGRESS_ALLOW must be a comma-separated list of CIDRs");
  });

  it("serve and every sync offer --allow-private-egress in their help", async () => {
    const dir = tempDir();
    cleanups.push(() => dir.remove());
    for (const command of [["serve"], ["sync", "mlflow"], ["sync", "sagemaker"], ["sync", "kubernetes"]]) {
      const help = await runTenure([...command, "--help"], { cwd: dir.path });
      expect(
        lines(help.stdout).some((l) => l.includes("--allow-private-egress")),
        command.join(" "),
      ).toBe(true);
    }
  });
});
